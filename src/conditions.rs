//! `only:` and `skip:` (SPEC §3.3): whether a job runs here and now. Checked when the job is
//! ready to start; a job skipped by its own condition counts as done for the jobs that need
//! it, and its record says why.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{Condition, Job};

/// How long a condition's `run` command may take: a condition is a quick check.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// `Ok(())` when `job` is to run; otherwise why it is skipped. `branch` is empty when
/// detached; `env` is the job's environment; `dir` its working directory.
pub(crate) fn check(
    job: &Job,
    branch: &str,
    root: &Path,
    env: &BTreeMap<OsString, OsString>,
    dir: &Path,
) -> Result<(), String> {
    if let Some(only) = &job.only
        && let Some(failing) = parts(only, branch, root, env, dir)
            .into_iter()
            .find(|(holds, _)| !holds)
    {
        return Err(format!("only: {}", failing.1));
    }
    if let Some(skip) = &job.skip
        && let Some(holding) = parts(skip, branch, root, env, dir)
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
    dir: &Path,
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
    if let Some(run) = &condition.run {
        out.push(match succeeds(run, env, dir) {
            Ok(true) => (true, format!("`{run}` exited 0")),
            Ok(false) => (false, format!("`{run}` did not exit 0")),
            Err(why) => (false, format!("`{run}` {why}")),
        });
    }
    out
}

/// Runs a condition's command: `sh -c` in the job's directory and environment, no stdin, its
/// output discarded, for at most [`RUN_LIMIT`].
fn succeeds(run: &str, env: &BTreeMap<OsString, OsString>, dir: &Path) -> Result<bool, String> {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(run)
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|err| format!("could not start: {err}"))?;
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(status.success());
        }
        if Instant::now() >= deadline {
            crate::sys::kill_group(child.id(), crate::sys::SIGKILL);
            let _ = child.wait();
            return Err(format!("ran past {}s", RUN_LIMIT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
