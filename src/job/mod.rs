//! One job as one process: `sh -c <run>` in its root, in its own process group, with the
//! environment SPEC §3 promises (git's repository-local variables removed, `DAFT_*` added, the
//! job's `env` expanded), its output in its log, and on the terminal when it is printed.

mod spawn;

pub(crate) use spawn::{NotStarted, Output, Started, note_path, spawn, spawn_check, take_note};

use std::collections::BTreeMap;
use std::ffi::OsString;

use std::os::unix::process::CommandExt as _;
use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::config::{Action, CopyItem, Job};
use crate::event::Event;
use crate::git;
use crate::worktree::{Details, Identity};

/// Where and why jobs run: everything a job's environment is made from. The supervisor gets
/// it in the run's plan, so background jobs see the same as synchronous ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Context {
    pub(crate) event: Event,
    /// The worktree the event is about (`DAFT_WORKTREE`).
    pub(crate) worktree: Utf8PathBuf,
    /// Where jobs run when that is not the worktree: `worktree-post-remove` runs in the main
    /// worktree, its own being gone.
    #[serde(default)]
    pub(crate) run_in: Option<Utf8PathBuf>,
    pub(crate) identity: Identity,
    pub(crate) common_dir: Utf8PathBuf,
    pub(crate) details: Details,
    /// The worktree files are carried from (`DAFT_SOURCE_WORKTREE`), when there is one.
    #[serde(default)]
    pub(crate) source: Option<Utf8PathBuf>,
    /// The worktree's leased ports, by name.
    #[serde(default)]
    pub(crate) ports: BTreeMap<String, u16>,
    /// The fingerprint of the trusted config the jobs come from.
    #[serde(default)]
    pub(crate) config: Option<String>,
    /// (a setup run late) Why the worktree counts as in use: no times are carried into it.
    #[serde(default)]
    pub(crate) in_use: Option<String>,
    pub(crate) hook_args: Vec<String>,
}

impl Context {
    /// Where jobs run (before their own `root:`).
    pub(crate) fn base_dir(&self) -> &Utf8Path {
        self.run_in.as_deref().unwrap_or(&self.worktree)
    }
}

/// A job ready to start: its command, and the condition commands that must have their say
/// first, in order.
pub(crate) struct Prepared {
    pub(crate) cmd: Command,
    pub(crate) checks: Vec<(crate::conditions::Check, Command)>,
    /// (a service) How it is told ready.
    pub(crate) ready: Option<crate::service::Test>,
}

/// Builds the command for `job` of run `run`. Fails with a sentence for the job's record when
/// its root is missing or leaves the work tree, or its condition says it is not to run
/// (`Ok(Err(reason))`).
pub(crate) fn command(
    job: &Job,
    ctx: &Context,
    run: &str,
    log: &std::path::Path,
) -> Result<Result<Prepared, String>, String> {
    let dir = working_dir(job, ctx.base_dir())?;
    let env = environment(job, ctx, run);
    if let Err(why) =
        crate::conditions::check(job, &ctx.details.branch, ctx.base_dir().as_std_path(), &env)
    {
        return Ok(Err(why));
    }
    let ready = crate::service::Test::of(job, &ctx.ports, dir.clone().into(), &env)?;
    let checks = crate::conditions::checks(job)
        .into_iter()
        .map(|check| {
            let cmd = check.command(&env, dir.as_std_path());
            (check, cmd)
        })
        .collect();
    let mut cmd = match &job.action {
        Action::Run(run) => {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(run);
            cmd
        }
        // A copy is daft itself, so it is a process like any job: cancelled, timed, logged.
        Action::Copy { items, from } => {
            let source = match (from, &ctx.source) {
                (Some(from), _) => ctx.worktree.join(from),
                (None, Some(source)) => source.clone(),
                (None, None) => {
                    return Err(
                        "there is no worktree to copy from (a bare repository without the default branch checked out): set `from:` or DAFT_SOURCE_WORKTREE".into(),
                    );
                }
            };
            let exe = crate::platform::own_exe()
                .map_err(|err| format!("cannot find daft's own executable: {err}"))?;
            let mut cmd = Command::new(exe);
            cmd.arg("__copy")
                .arg("--from")
                .arg(source.as_str())
                .arg("--to")
                .arg(ctx.worktree.as_str())
                .arg("--note")
                .arg(note_path(log));
            match job.carry_times {
                Some(true) => cmd.arg("--carry-times=always"),
                Some(false) => cmd.arg("--carry-times=never"),
                None => cmd.arg("--carry-times=auto"),
            };
            if let Some(why) = &ctx.in_use {
                cmd.arg("--in-use").arg(why);
            }
            for item in items {
                if let CopyItem::Include(file) = item {
                    cmd.arg("--include").arg(file);
                }
            }
            cmd.arg("--")
                .args(items.iter().filter_map(|item| match item {
                    CopyItem::Path(path) => Some(path),
                    CopyItem::Include(_) => None,
                }));
            cmd
        }
    };
    // PWD as a shell sets it, for this job's own directory (not whatever git's caller had).
    cmd.current_dir(&dir)
        .env_clear()
        .envs(env)
        .env("PWD", dir.as_str())
        .process_group(0);
    if job.background && job.nice {
        crate::platform::run_in_background(&mut cmd);
    }
    Ok(Ok(Prepared { cmd, checks, ready }))
}

fn working_dir(job: &Job, worktree: &Utf8Path) -> Result<Utf8PathBuf, String> {
    let Some(root) = &job.root else {
        return Ok(worktree.to_owned());
    };
    let dir = worktree.join(root);
    let real = dir
        .canonicalize_utf8()
        .map_err(|_| format!("root `{root}` does not exist in the work tree ({dir})"))?;
    let top = worktree
        .canonicalize_utf8()
        .unwrap_or_else(|_| worktree.to_owned());
    if !real.starts_with(&top) {
        return Err(format!(
            "root `{root}` leads outside the work tree (to {real}); jobs run only inside it"
        ));
    }
    if !real.is_dir() {
        return Err(format!("root `{root}` is not a directory"));
    }
    Ok(real)
}

/// The process environment without git's repository-local variables and any `DAFT_*` it
/// inherited (values a shell got from `eval "$(daft env)"` elsewhere, the shim's and the shell
/// integration's own), plus this job's `DAFT_*`, plus its `env` with `${NAME}` expanded (later
/// entries see earlier ones).
fn environment(job: &Job, ctx: &Context, run: &str) -> BTreeMap<OsString, OsString> {
    let mut vars: BTreeMap<OsString, OsString> = std::env::vars_os()
        .filter(|(name, _)| {
            !name.as_encoded_bytes().starts_with(b"DAFT_")
                && name
                    .to_str()
                    .is_none_or(|name| !git::is_local_env_var(name))
        })
        .collect();
    let main = ctx
        .details
        .main_worktree
        .as_ref()
        .map_or("", |path| path.as_str());
    let source = ctx.source.as_ref().map_or("", |path| path.as_str());
    let daft = [
        ("DAFT_EVENT", ctx.event.name()),
        ("DAFT_JOB", job.name.as_str()),
        ("DAFT_WORKTREE", ctx.worktree.as_str()),
        ("DAFT_WORKTREE_ID", ctx.identity.id.as_str()),
        ("DAFT_BRANCH", ctx.details.branch.as_str()),
        ("DAFT_COMMIT", ctx.details.commit.as_str()),
        ("DAFT_MAIN_WORKTREE", main),
        ("DAFT_GIT_COMMON_DIR", ctx.common_dir.as_str()),
        ("DAFT_SOURCE_WORKTREE", source),
        ("DAFT_RUN", run),
    ];
    for (name, value) in daft {
        vars.insert(name.into(), value.into());
    }
    for (name, port) in &ctx.ports {
        vars.insert(crate::ports::variable(name).into(), port.to_string().into());
    }
    vars.insert("DAFT_HOOK_ARGS".into(), ctx.hook_args.join(" ").into());
    for (name, value) in &job.env {
        let expanded = expand(value, |name| {
            vars.get(std::ffi::OsStr::new(name))
                .map(|v| v.to_string_lossy().into_owned())
        });
        vars.insert(name.into(), expanded.into());
    }
    vars
}

/// Replaces `${NAME}` with its value (empty when unset); `$${` stands for a literal `${`.
fn expand(value: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some((name, after)) = rest.strip_prefix("${").and_then(|r| r.split_once('}'))
        {
            out.push_str(&lookup(name).unwrap_or_default());
            rest = after;
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_names_and_keeps_escaped_ones() {
        let lookup = |name: &str| (name == "HOME").then(|| "/home/me".to_owned());
        assert_eq!(
            expand("${HOME}/.cache/sccache", lookup),
            "/home/me/.cache/sccache"
        );
        assert_eq!(expand("$${HOME} costs $5", lookup), "${HOME} costs $5");
        assert_eq!(expand("${UNSET}x", lookup), "x");
        assert_eq!(expand("${unterminated", lookup), "${unterminated");
    }
}
