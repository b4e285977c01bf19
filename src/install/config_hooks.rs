//! Config mode: daft registered with git's config-based hooks (git ≥ 2.54), one
//! `hook.daft-<event>` per event it needs. git runs the repository's own hooks and every other
//! tool's as it would without daft; daft chains nothing and owns no hooks directory.
//!
//! The registered command is a linked name of daft kept outside the repository (`link`,
//! `place`): moving or renaming the repository, deleting or upgrading the binary leave it
//! working, and git runs it without a shell. A registration that may outlive what it names —
//! one a global install makes in a clone's own config, which `daft uninstall --global` may not
//! reach (the clone moved, or is elsewhere) — is a guarded shell line instead: where daft is
//! gone it says what to do and lets git carry on, so no commit is ever blocked by it.

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

/// How a registration reaches daft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// The linked name itself: nothing between git and daft.
    Direct,
    /// A shell line that checks the linked name is still there.
    Guarded,
}

/// What git runs for `hook`, for the install whose files are in `place`.
pub(crate) fn command(place: &Path, bin: &Path, hook: Hook, scope: &str, reach: Reach) -> OsString {
    match (super::link::command(place, bin, hook), reach) {
        (Some(path), Reach::Direct) => path.into_os_string(),
        (Some(path), Reach::Guarded) => guarded(&path, &[], hook, scope),
        (None, _) => guarded(bin, &[b"hook", hook.name().as_bytes()], hook, scope),
    }
}

/// The shell line git runs for `hook` (git appends `"$@"`, the hook's arguments): `program`
/// when it is there, else a line on stderr and exit 0.
fn guarded(program: &Path, args: &[&[u8]], hook: Hook, scope: &str) -> OsString {
    let event = hook.name();
    let program_q = crate::escape::sh_word(program.as_os_str().as_bytes());
    let message = format!(
        "daft: {} is gone, so daft's {event} jobs did not run; reinstall daft, or take it out of git: git config {scope} --remove-section hook.{}",
        program.display(),
        friendly_name(hook)
    );
    let mut line = b"f() { if [ -x ".to_vec();
    line.extend_from_slice(&program_q);
    line.extend_from_slice(b" ]; then exec ");
    line.extend_from_slice(&program_q);
    for arg in args {
        line.push(b' ');
        line.extend_from_slice(&crate::escape::sh_word(arg));
    }
    line.extend_from_slice(b" \"$@\"; fi; printf '%s\\n' ");
    line.extend_from_slice(&crate::escape::sh_word(message.as_bytes()));
    line.extend_from_slice(b" >&2; }; f");
    OsString::from_vec(line)
}

/// Registers `hook` in the config of `scope` (run in `dir`), for the install whose files are
/// in `place`.
pub(crate) fn register(
    dir: &Path,
    scope: &str,
    place: &Path,
    bin: &Path,
    hook: Hook,
    reach: Reach,
) -> Result<()> {
    let cmd = command(place, bin, hook, scope, reach);
    set(
        dir,
        scope,
        &friendly_name(hook),
        &cmd,
        &[hook.name().into()],
    )
}

/// Writes one registration: its command and its events.
fn set(dir: &Path, scope: &str, name: &str, command: &OsString, events: &[OsString]) -> Result<()> {
    let mut cmd = git::command(dir);
    cmd.arg("config")
        .arg(scope)
        .arg(format!("hook.{name}.command"))
        .arg(command);
    run(cmd)?;
    for (i, event) in events.iter().enumerate() {
        let mut cmd = git::command(dir);
        cmd.args(["config", scope]);
        if i == 0 {
            cmd.arg("--replace-all");
        } else {
            cmd.arg("--add");
        }
        cmd.arg(format!("hook.{name}.event")).arg(event);
        run(cmd)?;
    }
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
        &target.place,
        bin,
        Hook::PostCheckout,
        Reach::Direct,
    )
}

/// A registration as it was, to put back.
pub(super) struct Taken {
    name: String,
    command: OsString,
    events: Vec<OsString>,
}

/// Takes every registration of daft out of `scope` (run in `dir`): all of them, or — when
/// git refuses one — none (those taken are put back) and an error.
pub(super) fn take_out(dir: &Path, scope: &str) -> Result<Vec<Taken>> {
    let mut taken = Vec::new();
    for (name, command) in registered(dir, scope)? {
        let events = git::config_get(
            dir,
            &[scope, "--get-all", &format!("hook.daft-{name}.event")],
        )?
        .unwrap_or_default()
        .lines()
        .map(OsString::from)
        .collect();
        let this = Taken {
            name: format!("daft-{name}"),
            command: command.into(),
            events,
        };
        if !unregister(dir, scope, &name)? {
            put_back(dir, scope, &taken);
            bail!(
                "git would not take hook.{} out of its {} config; daft changed nothing",
                this.name,
                scope.trim_start_matches('-')
            );
        }
        taken.push(this);
    }
    Ok(taken)
}

/// Puts back what [`take_out`] took (as far as git lets it).
pub(super) fn put_back(dir: &Path, scope: &str, taken: &[Taken]) {
    for registration in taken {
        let _ = set(
            dir,
            scope,
            &registration.name,
            &registration.command,
            &registration.events,
        );
    }
}

/// The lines that say what [`take_out`] took.
pub(super) fn said(taken: &[Taken], scope: &str) -> Vec<String> {
    taken
        .iter()
        .map(|t| {
            format!(
                "removed hook.{} from git's {} config",
                t.name,
                scope.trim_start_matches('-')
            )
        })
        .collect()
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
