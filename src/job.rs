//! One job as one process: `sh -c <run>` in its root, in its own process group, with the
//! environment SPEC §3 promises (git's repository-local variables removed, `DAFT_*` added, the
//! job's `env` expanded), its output in its log, and on the terminal when it is printed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::config::{Action, Config, Job};
use crate::event::{Details, Worktree};
use crate::printer::Printer;
use crate::worktrees::Identity;
use crate::{env, git};

/// Where and why jobs run: everything a job's environment is made from. The supervisor gets
/// it in the run's plan, so background jobs see the same as synchronous ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Context {
    pub(crate) event: String,
    /// The worktree the event is about (`DAFT_WORKTREE`).
    pub(crate) worktree: Utf8PathBuf,
    /// Where jobs run when that is not the worktree: `worktree-post-remove` runs in the main
    /// worktree, its own being gone.
    #[serde(default)]
    pub(crate) run_in: Option<Utf8PathBuf>,
    pub(crate) identity: Identity,
    pub(crate) common_dir: Utf8PathBuf,
    pub(crate) details: Details,
    /// The worktree files are carried from (`DAFT_SOURCE_WORKTREE`); empty when there is none.
    #[serde(default)]
    pub(crate) source: String,
    /// The worktree's leased ports, by name.
    #[serde(default)]
    pub(crate) ports: BTreeMap<String, u16>,
    /// The fingerprint of the trusted config the jobs come from.
    #[serde(default)]
    pub(crate) config: Option<String>,
    pub(crate) hook_args: Vec<String>,
}

impl Context {
    /// What jobs of `event` in `wt` are told; `hook_args` are git's. Leases the ports the
    /// config names, if the worktree holds none yet.
    pub(crate) fn new(
        event: String,
        wt: Worktree,
        hook_args: Vec<String>,
        config: &Config,
    ) -> anyhow::Result<Self> {
        let details = wt.details()?;
        let ports =
            crate::ports::lease(wt.common_dir.as_std_path(), &wt.identity.id, &config.ports)?;
        let fingerprint = crate::config::Sources::find(wt.root.as_std_path())
            .ok()
            .flatten()
            .map(|sources| crate::trust::Fingerprint::of(&sources).to_string());
        let source = crate::event::source_worktree(&wt.repo, &details)
            .map(|path| path.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            event,
            details,
            worktree: wt.root,
            run_in: None,
            identity: wt.identity,
            common_dir: wt.common_dir,
            source,
            ports,
            config: fingerprint,
            hook_args,
        })
    }

    /// Where jobs run (before their own `root:`).
    pub(crate) fn base_dir(&self) -> &Utf8Path {
        self.run_in.as_deref().unwrap_or(&self.worktree)
    }
}

/// Builds the command for `job`. Fails with a sentence for the job's record when its root is
/// missing or leaves the work tree, or its condition says it is not to run (`Ok(None)` and
/// the reason).
pub(crate) fn command(job: &Job, ctx: &Context) -> Result<Result<Command, String>, String> {
    let dir = working_dir(job, ctx.base_dir())?;
    let env = environment(job, ctx);
    if let Err(why) = crate::conditions::check(
        job,
        &ctx.details.branch,
        ctx.base_dir().as_std_path(),
        &env,
        dir.as_std_path(),
    ) {
        return Ok(Err(why));
    }
    let mut cmd = match &job.action {
        Action::Run(run) => {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(run);
            cmd
        }
        // A copy is daft itself, so it is a process like any job: cancelled, timed, logged.
        Action::Copy { paths, from } => {
            let source = match from {
                Some(from) => ctx.worktree.join(from).into_std_path_buf(),
                None if !ctx.source.is_empty() => ctx.source.clone().into(),
                None => {
                    return Err(
                        "there is no worktree to copy from (a bare repository without the default branch checked out): set `from:` or DAFT_SOURCE_WORKTREE".into(),
                    );
                }
            };
            let exe = std::env::current_exe()
                .map_err(|err| format!("cannot find daft's own executable: {err}"))?;
            let mut cmd = Command::new(exe);
            cmd.arg("__copy")
                .arg("--from")
                .arg(source)
                .arg("--to")
                .arg(ctx.worktree.as_str())
                .arg("--")
                .args(paths);
            cmd
        }
    };
    cmd.current_dir(&dir).env_clear().envs(env).process_group(0);
    Ok(Ok(cmd))
}

/// Starts `cmd` with its output in the log at `log_path` — and, given a job name and a
/// printer, also on the terminal line by line under that name — and `stdin` fed to it.
/// `on_exit` gets its exit status, from a thread that waits for it. Returns its pid, and
/// (when printing) a channel that signals once all its output is copied; or a sentence for
/// the job's record.
pub(crate) fn spawn(
    mut cmd: Command,
    log_path: &Utf8Path,
    terminal: Option<(String, Arc<Printer>)>,
    stdin: Option<Arc<Vec<u8>>>,
    on_exit: impl FnOnce(ExitStatus) + Send + 'static,
) -> Result<(u32, Option<Receiver<()>>), String> {
    let log =
        File::create(log_path).map_err(|err| format!("cannot create its log {log_path}: {err}"))?;
    let mut output_reader = None;
    let wired = match terminal {
        None => log.try_clone().map(|copy| {
            cmd.stdout(copy).stderr(log);
        }),
        Some((name, printer)) => std::io::pipe().and_then(|(reader, pipe_end)| {
            cmd.stdout(pipe_end.try_clone()?).stderr(pipe_end);
            output_reader = Some((name, printer, reader, log));
            Ok(())
        }),
    };
    wired.map_err(|err| format!("cannot set up its output: {err}"))?;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let spawned = cmd.spawn();
    drop(cmd); // closes our copies of the pipe's write end, so the reader sees EOF
    let mut child = spawned.map_err(|err| format!("cannot start `sh`: {err}"))?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let output_done =
        output_reader.map(|(name, printer, reader, log)| copy_output(name, reader, log, printer));
    let pid = child.id();
    thread::spawn(move || {
        if let Ok(status) = child.wait() {
            on_exit(status);
        }
    });
    Ok((pid, output_done))
}

/// Copies a job's output, line by line, to its log and to the terminal with its name in front.
/// Signals on the returned channel when the job's end of the pipe is closed.
fn copy_output(
    name: String,
    reader: std::io::PipeReader,
    mut log: File,
    printer: Arc<Printer>,
) -> Receiver<()> {
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let _ = log.write_all(&line);
            let text = String::from_utf8_lossy(&line);
            printer.job_line(&name, text.trim_end_matches(['\n', '\r']));
            line.clear();
        }
        let _ = done_tx.send(());
    });
    done_rx
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

/// The process environment without git's repository-local variables and the shim's own, plus
/// `DAFT_*`, plus the job's `env` with `${NAME}` expanded (later entries see earlier ones).
fn environment(job: &Job, ctx: &Context) -> BTreeMap<OsString, OsString> {
    let mut vars: BTreeMap<OsString, OsString> = std::env::vars_os()
        .filter(|(name, _)| {
            name.to_str()
                .is_none_or(|name| !git::is_local_env_var(name) && !env::SHIM_VARS.contains(&name))
        })
        .collect();
    let daft = [
        ("DAFT_EVENT", ctx.event.as_str()),
        ("DAFT_JOB", job.name.as_str()),
        ("DAFT_WORKTREE", ctx.worktree.as_str()),
        ("DAFT_WORKTREE_ID", ctx.identity.id.as_str()),
        ("DAFT_BRANCH", ctx.details.branch.as_str()),
        ("DAFT_COMMIT", ctx.details.commit.as_str()),
        ("DAFT_MAIN_WORKTREE", ctx.details.main_worktree.as_str()),
        ("DAFT_GIT_COMMON_DIR", ctx.common_dir.as_str()),
    ];
    for (name, value) in daft {
        vars.insert(name.into(), value.into());
    }
    vars.insert("DAFT_SOURCE_WORKTREE".into(), ctx.source.clone().into());
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
