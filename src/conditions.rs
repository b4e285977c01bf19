//! `only:` and `skip:` (SPEC §3.3): whether a job runs here and now. Checked when the job is
//! ready to start — the branch, files and variables at once, a `run:` command as a process the
//! engine starts and judges when it ends; a job skipped by its own condition counts as done for
//! the jobs that need it, and its record says why.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::config::{Condition, Job};

/// `Ok(())` when `job` may run as far as the parts of its conditions that need no command
/// say (`branch`, `files`, `env`); otherwise why it is skipped. `branch` is empty when
/// detached; `env` is the job's environment. The `run:` parts are [`checks`].
pub(crate) fn check(
    job: &Job,
    branch: &str,
    root: &Path,
    env: &BTreeMap<OsString, OsString>,
) -> Result<(), String> {
    if let Some(only) = &job.only
        && let Some(failing) = parts(only, branch, root, env)
            .into_iter()
            .find(|(holds, _)| !holds)
    {
        return Err(format!("only: {}", failing.1));
    }
    if let Some(skip) = &job.skip
        && let Some(holding) = parts(skip, branch, root, env)
            .into_iter()
            .find(|(holds, _)| *holds)
    {
        return Err(format!("skip: {}", holding.1));
    }
    Ok(())
}

/// Each part of a condition that is given: whether it holds, and a sentence saying how.
fn parts(
    condition: &Condition,
    branch: &str,
    root: &Path,
    env: &BTreeMap<OsString, OsString>,
) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    if !condition.branch.is_empty() {
        let matches = condition.branch.iter().any(|glob| {
            globset::Glob::new(glob).is_ok_and(|g| g.compile_matcher().is_match(branch))
        });
        let globs = condition.branch.join(", ");
        out.push(match (matches, branch.is_empty()) {
            (true, _) => (true, format!("the branch `{branch}` matches {globs}")),
            (false, true) => (
                false,
                format!("no branch is checked out (detached), so none matches {globs}"),
            ),
            (false, false) => (
                false,
                format!("the branch `{branch}` matches none of {globs}"),
            ),
        });
    }
    if !condition.files.is_empty() {
        let missing: Vec<&str> = condition
            .files
            .iter()
            .filter(|file| root.join(file).symlink_metadata().is_err())
            .map(String::as_str)
            .collect();
        out.push(if missing.is_empty() {
            (true, format!("{} exist", condition.files.join(", ")))
        } else {
            (false, format!("{} missing", missing.join(", ")))
        });
    }
    if !condition.env.is_empty() {
        let unset: Vec<&str> = condition
            .env
            .iter()
            .filter(|name| env.get(OsStr::new(name)).is_none_or(|v| v.is_empty()))
            .map(String::as_str)
            .collect();
        out.push(if unset.is_empty() {
            (true, format!("{} set", condition.env.join(", ")))
        } else {
            (false, format!("{} not set", unset.join(", ")))
        });
    }
    out
}

/// How long a condition's `run` command may take: a condition is a quick check.
pub(crate) const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A condition's `run` command, for the engine to start like any process (so a cancel, a
/// timeout or Ctrl-C is handled while it runs) and to judge once it ends.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    /// From `only:` (it must exit 0) rather than `skip:` (exiting 0 skips the job).
    pub(crate) only: bool,
    pub(crate) run: String,
}

impl Check {
    /// `Ok(())` when the job may go on; otherwise why it is skipped. `exited_ok` is `None`
    /// when the command ran past [`RUN_LIMIT`] (it then does not hold).
    pub(crate) fn verdict(&self, exited_ok: Option<bool>) -> Result<(), String> {
        let run = &self.run;
        match (self.only, exited_ok) {
            (true, Some(true)) | (false, Some(false) | None) => Ok(()),
            (true, Some(false)) => Err(format!("only: `{run}` did not exit 0")),
            (true, None) => Err(format!("only: `{run}` ran past {}s", RUN_LIMIT.as_secs())),
            (false, Some(true)) => Err(format!("skip: `{run}` exited 0")),
        }
    }

    /// Its command: `sh -c` in the job's directory and environment, in a process group of its
    /// own, no stdin, its output discarded.
    pub(crate) fn command(&self, env: &BTreeMap<OsString, OsString>, dir: &Path) -> Command {
        use std::os::unix::process::CommandExt as _;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.run)
            .current_dir(dir)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        cmd
    }
}

/// The `run:` commands of `job`'s conditions, `only:`'s first.
pub(crate) fn checks(job: &Job) -> Vec<Check> {
    let only = job
        .only
        .as_ref()
        .and_then(|c| c.run.clone())
        .map(|run| Check { only: true, run });
    let skip = job
        .skip
        .as_ref()
        .and_then(|c| c.run.clone())
        .map(|run| Check { only: false, run });
    only.into_iter().chain(skip).collect()
}
