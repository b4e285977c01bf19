//! Every mistake in a config, in file order, for `daft validate`. The parser stops at the first
//! one, so after each the smallest part around it is set aside and the file is read again: the
//! one path of a `copy:` list, else the one key of a job (a key the job cannot do without gets
//! a harmless stand-in value), else the whole job (a stand-in of the same name, so `needs` still
//! find it), else the entry outside any job. The part is found by its place in the YAML
//! ([`spans`]), in block and flow style alike; it is blanked, line breaks kept, so every line
//! number stays as it was. A YAML syntax error ends the search: what follows it cannot be read
//! as anything in particular.

use super::spans::{self, Step};
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
        let next = (!syntax).then(|| set_aside(&text, &err)).flatten();
        problems.push(err);
        match next {
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

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// `text` with the smallest part around mistake `err` set aside: the one path of a `copy:`
/// list, else the one key of a job (a key the job cannot do without gets a harmless stand-in
/// value), else the whole job (a stand-in of the same name), else the entry outside any job.
/// `None` when nothing can be.
fn set_aside(text: &str, err: &ConfigError) -> Option<String> {
    let (line, column) = err.location?;
    let root = spans::tree(text)?;
    let steps = spans::path_to(&root, spans::offset(text, line, column)?);
    let Some(job) = (0..steps.len()).rev().find(|&i| is_job(&steps, i)) else {
        let entry = steps
            .iter()
            .rev()
            .find(|step| matches!(step, Step::Entry { .. }))?;
        return Some(overwrite(text, entry, ""));
    };
    let entry = steps.get(job + 1);
    let key = entry.filter(|_| is_about_a_key(&err.message));
    let path = entry
        .filter(|_| err.message.contains(".copy["))
        .filter(|entry| matches!(entry, Step::Entry { key, .. } if key.scalar() == Some("copy")))
        .and_then(|_| steps.get(job + 2));
    [
        path.map(|path| set_aside_path(text, path)),
        key.map(|key| set_aside_key(text, key)),
        Some(set_aside_job(text, &steps[job])),
    ]
    .into_iter()
    .flatten()
    .find(|next| next != text)
}

/// Whether step `i` is an item of a `jobs:` list.
fn is_job(steps: &[Step<'_>], i: usize) -> bool {
    matches!(steps[i], Step::Item { .. })
        && i > 0
        && matches!(&steps[i - 1], Step::Entry { key, .. } if key.scalar() == Some("jobs"))
}

/// Whether a mistake is one key's (`jobs[0].timeout: …`, an unknown or repeated key) rather
/// than the whole job's (a missing key, keys that do not go together).
fn is_about_a_key(message: &str) -> bool {
    let path = message.split(": ").next().unwrap_or_default();
    !path.ends_with(']') || message.contains("unknown field") || message.contains("appears twice")
}

/// A path of a `copy:` list replaced by a stand-in path as long as it.
fn set_aside_path(text: &str, path: &Step<'_>) -> String {
    let written = &text[path.range()];
    let width = written.lines().next().unwrap_or_default().chars().count();
    overwrite(text, path, &"x".repeat(width.max(1)))
}

/// A job's key blanked or, for a key the job needs or that other keys depend on, given a
/// stand-in value.
fn set_aside_key(text: &str, key: &Step<'_>) -> String {
    let Step::Entry { key: name, .. } = key else {
        return overwrite(text, key, "");
    };
    let stand_in = match name.scalar().unwrap_or_default() {
        "name" => format!("name: {}", unreadable(text, key)),
        "run" => "run: \"true\"".to_owned(),
        "copy" => "copy: [daft-set-aside]".to_owned(),
        // `nice`, `yield` and `ready` go with it: the job stays background.
        "background" => "background: true".to_owned(),
        _ => String::new(),
    };
    overwrite(text, key, &stand_in)
}

/// A job replaced by a stand-in of its name, so `needs` still find it.
fn set_aside_job(text: &str, job: &Step<'_>) -> String {
    let Step::Item { item, .. } = job else {
        return overwrite(text, job, "");
    };
    let name = item
        .get("name")
        .and_then(spans::Node::scalar)
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
        .map_or_else(|| unreadable(text, job), str::to_owned);
    overwrite(text, job, &format!("{{ name: {name}, run: \"true\" }}"))
}

/// A stand-in name that says where it stands.
fn unreadable(text: &str, step: &Step<'_>) -> String {
    let line = text[..step.range().start].matches('\n').count() + 1;
    format!("daft-unreadable-{line}")
}

/// `text` with `step` blanked and `stand_in` written where it began. Line breaks are kept, and
/// the columns of what follows on its lines as far as the stand-in allows. A step blanked
/// inside `{ }` or `[ ]` takes its comma with it.
fn overwrite(text: &str, step: &Step<'_>, stand_in: &str) -> String {
    let mut range = step.range();
    if stand_in.is_empty() && step.in_flow() {
        let after = &text[range.end..];
        let gap = after.len() - after.trim_start().len();
        if after[gap..].starts_with(',') {
            range.end += gap + 1;
        }
    }
    let blank: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    let first_line = blank.find('\n').unwrap_or(blank.len());
    let kept = stand_in.len().min(first_line);
    format!(
        "{}{stand_in}{}{}",
        &text[..range.start],
        &blank[kept..],
        &text[range.end..]
    )
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use proptest::prelude::*;

    use super::*;

    /// Mistakes a job's keys can make, each one mistake whatever else is wrong with the job.
    const KEY_MISTAKES: [&str; 6] = [
        "background: sometimes",
        "timeout: 5 minutes",
        "priority: high",
        "colour: red",
        "root: ../outside",
        "env: [A]",
    ];

    /// Mistakes a whole job makes, found once the file is read, and how many each is.
    const JOB_MISTAKES: [(&[&str], usize); 6] = [
        (&["run: 'true'", "nice: false"], 1),
        (&["run: 'true'", "needs: [ghost]"], 1),
        (&["run: 'true'", "from: ../elsewhere"], 1),
        (&["copy: [../secret, /etc/passwd]"], 2),
        (
            &["run: 'true'", "background: true", "ready: { port: nope }"],
            1,
        ),
        (
            &[
                "run: 'true'",
                "ready: { run: 'true' }",
                "background: true",
                "timeout: 1m",
            ],
            1,
        ),
    ];

    /// One job of a config, with some of [`KEY_MISTAKES`] (distinct keys) or one of
    /// [`JOB_MISTAKES`].
    #[derive(Debug, Clone)]
    struct Job {
        keys: Vec<usize>,
        whole: Option<usize>,
        /// Written `- { name: …, … }` rather than a key a line.
        flow: bool,
    }

    /// A config of `jobs`, and how many mistakes it holds.
    fn with_mistakes(jobs: &[Job]) -> (String, usize) {
        let mut text = String::from("ports: [web]\nhooks:\n  worktree-post-create:\n    jobs:\n");
        let mut count = 0;
        for (i, job) in jobs.iter().enumerate() {
            let name = format!("name: j{i}");
            let mut keys = vec![name.as_str()];
            if let Some(kind) = job.whole {
                keys.extend(JOB_MISTAKES[kind].0);
                count += JOB_MISTAKES[kind].1;
            } else {
                keys.push("run: 'true'");
                let mut mistakes = job.keys.clone();
                mistakes.sort_unstable();
                mistakes.dedup();
                keys.extend(mistakes.iter().map(|&key| KEY_MISTAKES[key]));
                count += mistakes.len();
            }
            if job.flow {
                let _ = writeln!(text, "      - {{ {} }}", keys.join(", "));
            } else {
                let _ = writeln!(text, "      - {}", keys.join("\n        "));
            }
        }
        (text, count)
    }

    fn job() -> impl Strategy<Value = Job> {
        (
            prop::collection::vec(0..KEY_MISTAKES.len(), 0..4),
            prop::option::of(0..JOB_MISTAKES.len()),
            any::<bool>(),
        )
            .prop_map(|(keys, whole, flow)| Job { keys, whole, flow })
    }

    fn problems(text: &str) -> Vec<ConfigError> {
        Sources::of(text).problems()
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

    #[test]
    fn flow_style_jobs_are_set_aside_a_key_at_a_time() {
        let text = indoc::indoc! {"
            hooks:
              post-checkout:
                jobs: [{ name: a, run: 'true', bogus: 2 }, { name: b, run: 'true', other: 3 }]
              worktree-post-create:
                jobs:
                  - { name: c, run: 'true', timeout: banana }
                  - name: d
                    run: 'true'
                    needs: [c, nosuch]
        "};
        let found: Vec<String> = problems(text).iter().map(ToString::to_string).collect();
        let unknown = "expected one of `name`, `run`, `copy`, `from`, `background`, `needs`, `priority`, `env`, `root`, `timeout`, `only`, `skip`, `nice`, `yield`, `carry_times`, `ready`";
        assert_eq!(
            found,
            [
                format!("daft.yml:3:36: hooks.post-checkout.jobs[0]: unknown field `bogus`, {unknown}"),
                format!("daft.yml:3:72: hooks.post-checkout.jobs[1]: unknown field `other`, {unknown}"),
                "daft.yml:6:42: hooks.worktree-post-create.jobs[0].timeout: `banana` is not a duration; expected e.g. 30s, 10m, 1h30m or 500ms".to_owned(),
                // The job set aside above keeps its name: `c` is found.
                "daft.yml:7:9: hooks.worktree-post-create: job `d`: needs `nosuch`, which is not a job of this event (jobs: c, d)".to_owned(),
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn validate_reports_every_independent_mistake(
            jobs in prop::collection::vec(job(), 1..6)
        ) {
            let (text, count) = with_mistakes(&jobs);
            let found = problems(&text);
            prop_assert_eq!(found.len(), count, "{}\n{:#?}", text, found);
        }
    }
}
