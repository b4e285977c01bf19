//! Every mistake in a config, in file order, for `daft validate`. The parser stops at the first
//! one, so after each the smallest part around it is set aside and the file is read again: the
//! one path of a `copy:` list, else the one key of a job (a key the job cannot do without gets
//! a harmless stand-in value), else the whole job (a stand-in of the same name, so `needs` still
//! find it), else the entry outside any job. Lines are blanked, never removed, so every line
//! number stays as it was. A YAML syntax error ends the search: what follows it cannot be read
//! as anything in particular.

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
        let location = err.location;
        let in_copy = err.message.contains(".copy[");
        problems.push(err);
        if syntax {
            return None;
        }
        let (line, column) = location?;
        let smallest = [
            in_copy
                .then(|| set_aside_path(&text, line, column))
                .flatten(),
            set_aside_key(&text, line),
            set_aside(&text, line),
        ];
        match smallest.into_iter().flatten().find(|next| *next != text) {
            // Nothing left but what was set aside: that is no second mistake.
            Some(next) if next.lines().all(is_blank) => return None,
            Some(next) => text = next,
            None => return None,
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

/// `text` with the path at 1-based `line` and `column` of a `copy:` list replaced by a stand-in
/// path, so the list's other paths are read too.
fn set_aside_path(text: &str, line: usize, column: usize) -> Option<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let row = lines.get_mut(line.checked_sub(1)?)?;
    let start = row
        .char_indices()
        .nth(column.checked_sub(1)?)
        .map(|(at, _)| at)?;
    let rest = &row[start..];
    let len = match rest.chars().next()? {
        quote @ ('"' | '\'') => rest[1..].find(quote).map(|end| end + 2)?,
        _ => rest.find([',', ']', '#']).unwrap_or(rest.len()),
    };
    let value = rest[..len].trim_end();
    if value.is_empty() {
        return None;
    }
    // As long as what it replaces, so the columns after it stay as they were.
    row.replace_range(start..start + value.len(), &"x".repeat(value.len()));
    let mut out = lines.join("\n");
    out.push('\n');
    Some(out)
}

/// `text` with the one key of a job that 1-based `line` is part of set aside: blanked, or, for
/// a key the job needs or that other keys depend on, given a stand-in value. `None` when the
/// line is not inside a job's key (it is the job's first line, or outside any job).
fn set_aside_key(text: &str, line: usize) -> Option<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = line.checked_sub(1)?.min(lines.len().checked_sub(1)?);
    let item = job_item(&lines, at)?;
    if at == item {
        return None;
    }
    let key_indent = indent(&lines[item]) + 2;
    let key = (item + 1..=at)
        .rev()
        .find(|&i| !is_blank(&lines[i]) && indent(&lines[i]) == key_indent)?;
    let name = lines[key].trim_start().split(':').next()?.trim().to_owned();
    let mut end = key + 1;
    while end < lines.len() && (is_blank(&lines[end]) || indent(&lines[end]) > key_indent) {
        end += 1;
    }
    let stand_in = match name.as_str() {
        "name" => Some(format!("name: daft-unreadable-{}", item + 1)),
        "run" => Some("run: \"true\"".to_owned()),
        "copy" => Some("copy: [daft-set-aside]".to_owned()),
        // `nice`, `yield` and `ready` go with it: the job stays background.
        "background" => Some("background: true".to_owned()),
        _ => None,
    };
    for line in &mut lines[key..end] {
        line.clear();
    }
    if let Some(stand_in) = stand_in {
        lines[key] = format!("{}{stand_in}", " ".repeat(key_indent));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Some(out)
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

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use proptest::prelude::*;

    use super::*;

    /// Mistakes a job's keys can make, each one mistake whatever else is wrong with the job.
    const KEY_MISTAKES: [&str; 6] = [
        "        background: sometimes\n",
        "        timeout: 5 minutes\n",
        "        priority: high\n",
        "        colour: red\n",
        "        root: ../outside\n",
        "        env: [A]\n",
    ];

    /// Mistakes a whole job makes, found once the file is read.
    const JOB_MISTAKES: [&str; 6] = [
        "        run: 'true'\n        nice: false\n",
        "        run: 'true'\n        needs: [ghost]\n",
        "        run: 'true'\n        from: ../elsewhere\n",
        "        copy: [../secret, /etc/passwd]\n",
        "        run: 'true'\n        background: true\n        ready: { port: nope }\n",
        "        run: 'true'\n        ready: { run: 'true' }\n        background: true\n        timeout: 1m\n",
    ];

    /// How many mistakes each of [`JOB_MISTAKES`] is.
    const JOB_MISTAKE_COUNTS: [usize; 6] = [1, 1, 1, 2, 1, 1];

    /// A config of jobs, each with some of [`KEY_MISTAKES`] (distinct keys) or one of
    /// [`JOB_MISTAKES`]; and how many mistakes it holds.
    fn with_mistakes(jobs: &[(Vec<usize>, Option<usize>)]) -> (String, usize) {
        let mut text = String::from("ports: [web]\nhooks:\n  worktree-post-create:\n    jobs:\n");
        let mut count = 0;
        for (i, (keys, whole)) in jobs.iter().enumerate() {
            let _ = writeln!(text, "      - name: j{i}");
            if let Some(kind) = whole {
                text.push_str(JOB_MISTAKES[*kind]);
                count += JOB_MISTAKE_COUNTS[*kind];
            } else {
                text.push_str("        run: 'true'\n");
                let mut keys = keys.clone();
                keys.sort_unstable();
                keys.dedup();
                for &key in &keys {
                    text.push_str(KEY_MISTAKES[key]);
                }
                count += keys.len();
            }
        }
        (text, count)
    }

    fn problems(text: &str) -> Vec<ConfigError> {
        Sources {
            main: Source {
                path: "daft.yml".into(),
                bytes: text.as_bytes().to_vec(),
            },
            local: None,
        }
        .problems()
    }

    #[test]
    fn each_of_several_mistakes_in_one_job_is_reported() {
        let text = "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: x\n        background: sometimes\n        timeout: 5 minutes\n      - name: b\n        copy: [../secret, /etc/passwd]\n";
        let found: Vec<String> = problems(text).iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "daft.yml:6:21: hooks.worktree-post-create.jobs[0].background: invalid type: string \"sometimes\", expected a boolean",
                "daft.yml:7:18: hooks.worktree-post-create.jobs[0].timeout: `5 minutes` is not a duration; expected e.g. 30s, 10m, 1h30m or 500ms",
                "daft.yml:9:16: hooks.worktree-post-create.jobs[1].copy[0]: `../secret` leaves the work tree; give a path relative to the work tree root",
                "daft.yml:9:27: hooks.worktree-post-create.jobs[1].copy[1]: `/etc/passwd` leaves the work tree; give a path relative to the work tree root",
            ]
        );
        // A misspelt top-level key is one mistake, not also an empty file.
        let found = problems(
            "hook:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: x\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn validate_reports_every_independent_mistake(
            jobs in prop::collection::vec(
                (prop::collection::vec(0..KEY_MISTAKES.len(), 0..4), prop::option::of(0..JOB_MISTAKES.len())),
                1..6,
            )
        ) {
            let (text, count) = with_mistakes(&jobs);
            let found = problems(&text);
            prop_assert_eq!(found.len(), count, "{}\n{:#?}", text, found);
        }
    }
}
