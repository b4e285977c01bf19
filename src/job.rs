//! One job as one process: `sh -c <run>` in its root, in its own process group, with the
//! environment SPEC §3 promises (git's repository-local variables removed, `DAFT_*` added, the
//! job's `env` expanded), its output in its log, and on the terminal when it is printed.

use std::collections::BTreeMap;
use std::ffi::OsString;

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::config::{Action, CopyItem, Job};
use crate::event::Event;
use crate::git;
use crate::logfile::LogFile;
use crate::printer::Printer;
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
    Ok(Ok(Prepared { cmd, checks }))
}

/// Starts a condition's command; `on_exit` gets its exit status from a thread that waits for
/// it.
pub(crate) fn spawn_check(
    mut cmd: Command,
    on_exit: impl FnOnce(ExitStatus) + Send + 'static,
) -> Result<u32, NotStarted> {
    let (start_tx, start_rx) = mpsc::channel::<std::process::Child>();
    let waiter = thread::Builder::new()
        .spawn(move || {
            if let Ok(mut child) = start_rx.recv()
                && let Ok(status) = child.wait()
            {
                on_exit(status);
            }
        })
        .map_err(|err| not_started("cannot start a thread to wait for its condition", &err))?;
    match cmd.spawn() {
        Ok(child) => {
            let pid = child.id();
            let _ = start_tx.send(child);
            Ok(pid)
        }
        Err(err) => {
            drop(start_tx);
            let _ = waiter.join();
            Err(not_started("cannot start its condition's `sh`", &err))
        }
    }
}

/// A job's process, started.
pub(crate) struct Started {
    pub(crate) pid: u32,
    /// (printed jobs) Signals once all its output is copied.
    pub(crate) output_done: Option<Receiver<()>>,
}

/// Why a job's process did not start.
pub(crate) enum NotStarted {
    /// The system is out of processes, threads or memory: it may start later.
    ForNow(String),
    /// A sentence for the job's record.
    Never(String),
}

fn not_started(what: &str, err: &std::io::Error) -> NotStarted {
    let why = format!("{what}: {err}");
    match err.raw_os_error() {
        Some(code)
            if [
                rustix::io::Errno::AGAIN,
                rustix::io::Errno::NOMEM,
                rustix::io::Errno::MFILE,
                rustix::io::Errno::NFILE,
            ]
            .contains(&rustix::io::Errno::from_raw_os_error(code)) =>
        {
            NotStarted::ForNow(why)
        }
        _ => NotStarted::Never(why),
    }
}

/// The note a job left beside its log (a copy's warning), taken once.
pub(crate) fn take_note(log: &std::path::Path) -> Option<String> {
    let path = note_path(log);
    let text = std::fs::read_to_string(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(500).collect())
}

/// Where a job's note is kept, beside its log.
pub(crate) fn note_path(log: &std::path::Path) -> std::path::PathBuf {
    log.with_extension("note")
}

/// Starts `cmd` with its output in the log at `log_path` — and, given a job name and a
/// printer, also on the terminal line by line under that name — and `stdin` fed to it.
/// `on_exit` gets its exit status, from a thread that waits for it.
pub(crate) fn spawn(
    mut cmd: Command,
    log_path: &std::path::Path,
    terminal: Option<(String, Arc<Printer>)>,
    stdin: Option<Arc<Vec<u8>>>,
    on_exit: impl FnOnce(ExitStatus) + Send + 'static,
) -> Result<Started, NotStarted> {
    let log = LogFile::create(log_path).map_err(|err| {
        not_started(
            &format!("cannot create its log {}", log_path.display()),
            &err,
        )
    })?;
    // Through daft, so the log keeps its cap.
    let mut reader = None;
    std::io::pipe()
        .and_then(|(read_end, pipe_end)| {
            cmd.stdout(pipe_end.try_clone()?).stderr(pipe_end);
            reader = Some(read_end);
            Ok(())
        })
        .map_err(|err| not_started("cannot set up its output", &err))?;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    // The threads that wait for it and copy its output are made before it starts: a system out
    // of threads must not leave a job running that nobody waits for.
    let (start_tx, start_rx) = mpsc::channel::<std::process::Child>();
    let waiter = thread::Builder::new()
        .spawn(move || {
            if let Ok(mut child) = start_rx.recv()
                && let Ok(status) = child.wait()
            {
                on_exit(status);
            }
        })
        .map_err(|err| not_started("cannot start a thread to wait for it", &err))?;
    let output = match reader {
        Some(reader) => Some(
            relay(reader, LogFile::new(log), terminal, note_path(log_path))
                .map_err(|err| not_started("cannot start a thread for its output", &err))?,
        ),
        None => None,
    };
    let spawned = cmd.spawn();
    drop(cmd); // closes our copies of the pipe's write end, so the reader sees EOF
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            drop(start_tx); // the waiter ends
            let _ = waiter.join();
            return Err(not_started("cannot start `sh`", &err));
        }
    };
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Without a thread for it the pipe is dropped unwritten: the job sees the end of its
        // stdin rather than waiting for it forever.
        let _ = thread::Builder::new().spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let pid = child.id();
    let _ = start_tx.send(child);
    Ok(Started {
        pid,
        output_done: output,
    })
}

/// The longest line shown on the terminal; the rest of a longer one is in the log.
const MAX_LINE: usize = 4096;

/// Copies a job's output into its capped log as it comes, a chunk at a time (so a job that
/// prints without a newline costs no more memory than one chunk), and — given a job name and
/// a printer — to the terminal, line by line under that name, each line cut at [`MAX_LINE`].
/// When the job printed past the log's cap, leaves a note saying so for its record. Signals on
/// the returned channel when the job's end of the pipe is closed.
fn relay(
    mut reader: std::io::PipeReader,
    mut log: LogFile,
    terminal: Option<(String, Arc<Printer>)>,
    note: std::path::PathBuf,
) -> std::io::Result<Receiver<()>> {
    use std::io::Read as _;
    let (done_tx, done_rx) = mpsc::channel();
    thread::Builder::new().spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut line: Vec<u8> = Vec::new();
        let mut cut = false;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let _ = log.write(&buf[..n]);
            let Some((name, printer)) = &terminal else {
                continue;
            };
            for &byte in &buf[..n] {
                if byte == b'\n' {
                    show(printer, name, &line, cut);
                    line.clear();
                    cut = false;
                } else if line.len() < MAX_LINE {
                    line.push(byte);
                } else {
                    cut = true;
                }
            }
        }
        if let Some((name, printer)) = &terminal
            && !line.is_empty()
        {
            show(printer, name, &line, cut);
        }
        let _ = log.flush();
        if let Some(summary) = log.summary() {
            add_note(&note, &summary);
        }
        let _ = done_tx.send(());
    })?;
    Ok(done_rx)
}

/// One line of a job's output on the terminal.
fn show(printer: &Printer, name: &str, line: &[u8], cut: bool) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches('\r');
    if cut {
        printer.job_line(
            name,
            &format!("{text}… (cut: the whole line is in the log)"),
        );
    } else {
        printer.job_line(name, text);
    }
}

/// Adds `text` to the note beside a job's log.
fn add_note(path: &std::path::Path, text: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = if old.trim().is_empty() {
        text.to_owned()
    } else {
        format!("{}; {text}", old.trim())
    };
    let _ = crate::files::write_atomically(path, new.as_bytes());
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
