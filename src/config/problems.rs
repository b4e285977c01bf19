//! Every mistake in a config, in file order, for `daft validate`. The parser stops at the first
//! one, so after each the job it is in (or the entry, outside a job) is set aside — replaced by
//! blank lines and a stand-in of the same name, so line numbers and `needs` stay as they were
//! — and the file is read again. A YAML syntax error ends the search: what follows it cannot be
//! read as anything in particular.

use super::{Sources, merge, raw, validate};
use crate::config::Source;
use crate::error::ConfigError;

/// At most this many mistakes are listed: a file with more is not a config with typos.
const MAX_PROBLEMS: usize = 50;

impl Sources {
    /// Every mistake of both files, in file order; empty when the config is valid.
    pub(crate) fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        let main = readable(&self.main, &mut problems);
        let local = self
            .local
            .as_ref()
            .map(|local| readable(local, &mut problems));
        if let Some(mut file) = main {
            match local {
                Some(Some(local)) => merge(&mut file, local),
                Some(None) => return sorted(problems),
                None => {}
            }
            if let Err(errors) = validate(file, &self.main.path) {
                problems.extend(errors.into_iter().map(|err| self.locate(err)));
            }
        }
        sorted(problems)
    }
}

/// `source` read as far as it can be: each mistake noted, and what it was in set aside.
fn readable(source: &Source, problems: &mut Vec<ConfigError>) -> Option<raw::RawFile> {
    let Ok(text) = std::str::from_utf8(&source.bytes) else {
        problems.extend(raw::parse(source).err());
        return None;
    };
    let mut text = text.to_owned();
    for _ in 0..MAX_PROBLEMS {
        let attempt = Source {
            path: source.path.clone(),
            bytes: text.clone().into_bytes(),
        };
        let err = match raw::parse(&attempt) {
            Ok(file) => return Some(file),
            Err(err) => err,
        };
        let syntax = err.message.starts_with("is not valid YAML");
        let line = err.location.map(|(line, _)| line);
        problems.push(err);
        if syntax {
            return None;
        }
        match line.and_then(|line| set_aside(&text, line)) {
            Some(next) if next != text => text = next,
            _ => return None,
        }
    }
    None
}

/// In file order, each mistake once.
fn sorted(mut problems: Vec<ConfigError>) -> Vec<ConfigError> {
    problems.sort_by_key(|p| (p.path.clone(), p.location.unwrap_or((usize::MAX, 0))));
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert((p.path.clone(), p.message.clone())));
    problems
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// `text` with the job around 1-based `line` replaced by a stand-in of its name (or, outside
/// any job, the entry at that line blanked), line count unchanged.
fn set_aside(text: &str, line: usize) -> Option<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = line.checked_sub(1)?.min(lines.len().checked_sub(1)?);
    let (start, stand_in) = match job_item(&lines, at) {
        Some(item) => {
            let name = job_name(&lines, item);
            let pad = " ".repeat(indent(&lines[item]));
            (
                item,
                Some(format!("{pad}- {{ name: {name}, run: \"true\" }}")),
            )
        }
        None => (at, None),
    };
    let own = indent(&lines[start]);
    let mut end = start + 1;
    while end < lines.len() && (is_blank(&lines[end]) || indent(&lines[end]) > own) {
        end += 1;
    }
    for line in &mut lines[start..end] {
        line.clear();
    }
    if let Some(stand_in) = stand_in {
        lines[start] = stand_in;
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Some(out)
}

/// The line of the job (an item of a `jobs:` list) that line `at` is part of.
fn job_item(lines: &[String], at: usize) -> Option<usize> {
    let mut level = indent(&lines[at]) + 1;
    for i in (0..=at).rev() {
        let line = &lines[i];
        if is_blank(line) || indent(line) >= level {
            continue;
        }
        level = indent(line);
        let item = line.trim_start();
        if (item.starts_with("- ") || item == "-") && parent_is_jobs(lines, i) {
            return Some(i);
        }
        if level == 0 {
            break;
        }
    }
    None
}

/// Whether the list item at line `item` belongs to a `jobs:` key.
fn parent_is_jobs(lines: &[String], item: usize) -> bool {
    let own = indent(&lines[item]);
    lines[..item]
        .iter()
        .rev()
        .filter(|l| !is_blank(l))
        .find(|l| indent(l) < own || (indent(l) == own && !l.trim_start().starts_with('-')))
        .is_some_and(|l| l.split('#').next().unwrap_or("").trim() == "jobs:")
}

/// The job's `name:` as written (a stand-in keeps it, so `needs` still finds it).
fn job_name(lines: &[String], item: usize) -> String {
    let own = indent(&lines[item]);
    let first = lines[item]
        .trim_start()
        .trim_start_matches('-')
        .trim_start();
    std::iter::once(first)
        .chain(
            lines[item + 1..]
                .iter()
                .take_while(|l| is_blank(l) || indent(l) > own)
                .map(|l| l.trim_start()),
        )
        .find_map(|l| l.strip_prefix("name:"))
        .map(|n| n.trim().trim_matches(['"', '\'']).to_owned())
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
        .unwrap_or_else(|| format!("daft-unreadable-{}", item + 1))
}
