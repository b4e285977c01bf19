//! Running the `git` command line, for what gix is not needed for (changing config, adding
//! worktrees), and the list of git's repository-local environment variables.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// `git rev-parse --local-env-vars`: variables that tie a process to one repository. Git sets
/// some of them for hooks; they are removed before running git elsewhere or running a job.
pub(crate) const LOCAL_ENV_VARS: [&str; 15] = [
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
];

/// Whether `name` ties a process to one repository (including `GIT_CONFIG_KEY_<n>` and
/// `GIT_CONFIG_VALUE_<n>`, which come with `GIT_CONFIG_COUNT`).
pub(crate) fn is_local_env_var(name: &str) -> bool {
    LOCAL_ENV_VARS.contains(&name)
        || name.starts_with("GIT_CONFIG_KEY_")
        || name.starts_with("GIT_CONFIG_VALUE_")
}

/// A `git -C dir …` command with the repository-local variables removed, so it acts on `dir`
/// whatever hook it was started from.
pub(crate) fn command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_local_env_var) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// The version of the `git` on PATH, as (major, minor).
pub(crate) fn version() -> Option<(u32, u32)> {
    let out = Command::new("git")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.strip_prefix("git version ")?.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Runs `git -C dir args…` and returns its trimmed stdout; fails with git's own message.
pub(crate) fn output(dir: &Path, args: &[&str]) -> Result<String> {
    let out = command(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("could not run git; is it installed and on PATH?")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_owned())
}

/// Like [`output`], but a git exit status of 1 (a config key that is not set) gives `None`.
pub(crate) fn config_get(dir: &Path, args: &[&str]) -> Result<Option<String>> {
    let out = command(dir)
        .arg("config")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("could not run git; is it installed and on PATH?")?;
    match out.status.code() {
        Some(0) => Ok(Some(
            String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_owned(),
        )),
        Some(1) => Ok(None),
        _ => bail!(
            "git config {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}
