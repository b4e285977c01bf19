//! Config mode: daft registered with git's config-based hooks (git ≥ 2.54), one
//! `hook.daft-<event>` per event it needs. git runs the repository's own hooks and every other
//! tool's as it would without daft; daft chains nothing and owns no hooks directory.
//!
//! The registered command is a hard link of daft kept in daft's own directory (`link`): a
//! deleted or upgraded binary cannot break it, and git runs it without a shell. Where that
//! cannot be, a guarded shell line checks that daft is still there: a deleted binary must not
//! fail every `git switch` or block a commit, so it says what to do and lets git carry on.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::Path;
use std::process::Stdio;

use anyhow::{Result, bail};

use super::Target;
use crate::event::Hook;
use crate::git;

/// The friendly name daft registers a hook under (never a hook name itself: git refuses that).
pub(crate) fn friendly_name(hook: Hook) -> String {
    format!("daft-{}", hook.name())
}

/// What git runs for `hook`: daft's linked name, else the guarded shell line.
pub(crate) fn command(daft_dir: &Path, bin: &Path, hook: Hook, scope: &str) -> OsString {
    match super::link::command(daft_dir, bin, hook) {
        Some(path) => path.into_os_string(),
        None => guarded(bin, hook, scope),
    }
}

/// The shell line git runs for `hook` (git appends `"$@"`, the hook's arguments).
fn guarded(bin: &Path, hook: Hook, scope: &str) -> OsString {
    let event = hook.name();
    let bin_q = crate::escape::sh_word(bin.as_os_str().as_bytes());
    let message = format!(
        "daft: {} is gone, so daft's {event} jobs did not run; reinstall daft, or take it out of git: git config {scope} --remove-section hook.{}",
        bin.display(),
        friendly_name(hook)
    );
    let mut line = b"f() { if [ -x ".to_vec();
    line.extend_from_slice(&bin_q);
    line.extend_from_slice(b" ]; then exec ");
    line.extend_from_slice(&bin_q);
    line.extend_from_slice(format!(" hook {event} \"$@\"; fi; printf '%s\\n' ").as_bytes());
    line.extend_from_slice(&crate::escape::sh_word(message.as_bytes()));
    line.extend_from_slice(b" >&2; }; f");
    OsString::from_vec(line)
}

/// Registers `hook` in the config of `scope` (run in `dir`), for the install whose files are
/// in `daft_dir`.
pub(crate) fn register(
    dir: &Path,
    scope: &str,
    daft_dir: &Path,
    bin: &Path,
    hook: Hook,
) -> Result<()> {
    let name = friendly_name(hook);
    let cmd = command(daft_dir, bin, hook, scope);
    let mut set = git::command(dir);
    set.arg("config")
        .arg(scope)
        .arg(format!("hook.{name}.command"))
        .arg(&cmd);
    run(set)?;
    git::output(
        dir,
        &[
            "config",
            scope,
            "--replace-all",
            &format!("hook.{name}.event"),
            hook.name(),
        ],
    )?;
    Ok(())
}

/// Takes the registration `daft-<name>` out of `scope`, if it is there.
pub(crate) fn unregister(dir: &Path, scope: &str, name: &str) -> Result<bool> {
    let out = git::command(dir)
        .args(["config", scope, "--remove-section"])
        .arg(format!("hook.daft-{name}"))
        .stdin(Stdio::null())
        .output()?;
    Ok(out.status.success())
}

/// The names registered in `scope` (`daft-<name>`), with their commands.
pub(crate) fn registered(dir: &Path, scope: &str) -> Result<Vec<(String, String)>> {
    let Some(out) = git::config_get(dir, &[scope, "--get-regexp", r"^hook\.daft-.*\.command$"])?
    else {
        return Ok(Vec::new());
    };
    Ok(out
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(' ')?;
            let event = key.strip_prefix("hook.daft-")?.strip_suffix(".command")?;
            Some((event.to_owned(), value.to_owned()))
        })
        .collect())
}

/// What every install registers: `post-checkout`, which carries worktree creation and clones.
pub(super) fn register_base(target: &Target, bin: &Path) -> Result<()> {
    register(
        &target.dir,
        target.scope(),
        &target.daft_dir,
        bin,
        Hook::PostCheckout,
    )
}

/// Takes every registration of daft out of the target's scope, and its linked names.
pub(super) fn unregister_all(target: &Target) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    super::link::remove(&target.daft_dir)?;
    for (name, _) in registered(&target.dir, target.scope())? {
        if unregister(&target.dir, target.scope(), &name)? {
            lines.push(format!(
                "removed hook.daft-{name} from git's {} config",
                target.scope().trim_start_matches('-')
            ));
        }
    }
    Ok(lines)
}

fn run(mut cmd: std::process::Command) -> Result<()> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if !out.status.success() {
        bail!(
            "git config failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
