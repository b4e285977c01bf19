//! The detached part of an event. The hook starts `daft __supervise <run>` in a new session
//! (no terminal, stdin a pipe of ours, output to a log: nothing of git's), tells it through
//! that pipe how the synchronous jobs went, and returns. The supervisor runs the background
//! jobs as their `needs` allow, records each one, applies timeouts, and cancels them when their
//! worktree disappears or `daft hooks cancel` asks.

use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use std::os::unix::fs::MetadataExt as _;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::config::EventConfig;
use crate::engine::{Engine, Msg, Output};
use crate::files::write_atomically;
use crate::job::Context;
use crate::runs::{self, JobRecord, Pid, Run, Status, Unseen};
use crate::sys;
use crate::worktrees::{self, Identity};

/// What the supervisor needs to run the background jobs, written into the run directory.
#[derive(Serialize, Deserialize)]
struct Plan {
    ctx: Context,
    event: EventConfig,
}

/// The hook's end of the pipe to a supervisor. Dropping it tells the supervisor that the hook
/// is done.
pub(crate) struct Supervisor {
    pipe: ChildStdin,
}

impl Supervisor {
    /// Reports a synchronous job's outcome.
    pub(crate) fn report(&mut self, job: usize, ok: bool) {
        let _ = writeln!(self.pipe, "done {job} {}", if ok { "ok" } else { "fail" });
    }

    /// The hook stops on a failure (`fail_mode: abort`): background jobs not started yet don't start.
    pub(crate) fn abort(&mut self) {
        let _ = writeln!(self.pipe, "abort");
    }
}

/// Starts the supervisor for `run`'s background jobs.
pub(crate) fn spawn(
    run: &Run,
    ctx: &Context,
    event: &EventConfig,
    stdin: Option<&[u8]>,
) -> Result<Supervisor> {
    let plan = Plan {
        ctx: ctx.clone(),
        event: event.clone(),
    };
    write_atomically(run.dir.join("plan.json"), &serde_json::to_vec(&plan)?)?;
    if let Some(data) = stdin {
        write_atomically(run.dir.join("stdin"), data)?;
    }
    let log = File::create(run.dir.join("supervisor.log"))
        .context("cannot create the supervisor's log")?;
    let exe = std::env::current_exe().context("cannot find daft's own executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("__supervise")
        .arg(&run.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: only setsid(2), which is async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(sys::setsid);
    }
    let mut child = cmd.spawn().context("cannot start the supervisor")?;
    let owner = Pid::of(child.id()).unwrap_or(Pid {
        pid: child.id(),
        start: 0,
    });
    // Recorded before the supervisor may touch them (it waits for "go"), and owned by it, so
    // `log show` never sees them orphaned.
    for job in event.jobs.iter().filter(|job| job.background) {
        run.write_job(&JobRecord::pending(&job.name, true, owner))?;
    }
    let mut pipe = child.stdin.take().context("the supervisor has no stdin")?;
    let _ = writeln!(pipe, "go");
    Ok(Supervisor { pipe })
}

/// Starts a supervisor for jobs that are all background and that no hook waits on (a removed
/// worktree's teardown).
pub(crate) fn spawn_detached(run: &Run, ctx: &Context, event: &EventConfig) -> Result<()> {
    // Dropping the handle closes the pipe: the supervisor knows no hook will report.
    spawn(run, ctx, event, None).map(drop)
}

/// `daft __supervise <run>`: the supervisor's whole life.
pub(crate) fn supervise(dir: &Utf8Path) -> Result<u8> {
    let stop_requested = Arc::new(AtomicBool::new(false));
    // A hang-up is not our business (we have no terminal); TERM means cancel everything.
    signal_hook::flag::register(sys::SIGHUP, Arc::new(AtomicBool::new(false)))?;
    signal_hook::flag::register(sys::SIGTERM, Arc::clone(&stop_requested))?;
    signal_hook::flag::register(sys::SIGINT, Arc::clone(&stop_requested))?;

    let run = Run::open(dir)?;
    let plan: Plan = runs::read_json(&dir.join("plan.json"))?;
    let mut lines = BufReader::new(std::io::stdin()).lines();
    let went = matches!(lines.next(), Some(Ok(line)) if line == "go");
    let stdin = fs::read(dir.join("stdin")).ok();
    let ours: Vec<bool> = plan.event.jobs.iter().map(|job| job.background).collect();
    let sync_jobs: Vec<usize> = (0..ours.len()).filter(|&i| !ours[i]).collect();
    let common_dir = plan.ctx.common_dir.clone();
    let identity = plan.ctx.identity.clone();
    let mut place = Place::new(plan.ctx.worktree.clone());
    let tearing_down = plan.ctx.event == crate::event::WORKTREE_POST_REMOVE;
    let mut removed = false;
    let mut engine = Engine::new(run, plan.ctx, plan.event, &ours, Output::Logged, stdin);

    let tx = engine.sender();
    std::thread::spawn(move || relay_reports(went.then_some(lines), &tx));

    loop {
        // After a stop nothing is left waiting, so this starts nothing more.
        engine.start_ready();
        for i in engine.take_finished() {
            let record = &engine.records[i];
            if matches!(record.status, Status::Failed | Status::TimedOut) {
                let unseen = Unseen {
                    job: record.name.clone(),
                    run: engine.run.meta.id.clone(),
                    status: record.status,
                    exit_code: record.exit_code,
                };
                runs::note_failure(&common_dir, &identity.id, &unseen);
            }
        }
        if engine.is_idle() {
            if tearing_down {
                // The removed worktree's ports were kept for its teardown; now they are free.
                let _ = crate::ports::release(common_dir.as_std_path(), &identity.id);
            } else if removed {
                // Its jobs have ended: now the worktree's own teardown.
                crate::removal::sweep(common_dir.as_std_path());
            }
            return Ok(0);
        }
        // Stopping twice is harmless: a job already told to stop keeps its first reason.
        if stop_requested.load(Ordering::Relaxed) {
            engine.stop("the supervisor was told to stop (SIGTERM or SIGINT)");
        }
        // A teardown's worktree is gone by definition: it is not a reason to stop.
        match if tearing_down {
            Where::Here
        } else {
            place.check(&common_dir, &identity)
        } {
            Where::Here => {}
            Where::Moved(to) => {
                eprintln!("daft: the worktree moved to {to}; jobs keep running");
                engine.moved_to(to);
            }
            Where::Removed => {
                removed = true;
                engine.stop("its worktree was removed");
            }
        }
        for i in engine.running() {
            if engine
                .run
                .cancel_marker(&engine.event.jobs[i].name)
                .exists()
            {
                engine.cancel(i, "cancelled by `daft hooks cancel`");
            }
        }
        let Some(msg) = engine.wait(Duration::from_millis(250)) else {
            continue;
        };
        match engine.handle(msg) {
            Some(Msg::Abort) => engine.stop_waiting("a synchronous job failed (fail_mode: abort)"),
            Some(Msg::HookEnded) => {
                // Whatever the hook did not report did not succeed (it was killed, say).
                for &i in &sync_jobs {
                    if !engine.is_settled(i) {
                        engine.handle(Msg::SyncDone(i, false));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Where the supervisor's worktree is. It holds the worktree's directory open: a directory
/// that is deleted has no links left, one that is moved keeps them, so a removal is told
/// apart from a move, which keeps the jobs running.
struct Place {
    path: Utf8PathBuf,
    anchor: Option<File>,
}

enum Where {
    Here,
    Moved(Utf8PathBuf),
    Removed,
}

impl Place {
    fn new(path: Utf8PathBuf) -> Self {
        let anchor = File::open(&path).ok();
        Self { path, anchor }
    }

    fn check(&mut self, common_dir: &Utf8Path, identity: &Identity) -> Where {
        if self.path.join(".git").symlink_metadata().is_ok() {
            return Where::Here;
        }
        let deleted = self
            .anchor
            .as_ref()
            .is_none_or(|dir| dir.metadata().is_ok_and(|meta| meta.nlink() == 0));
        if deleted {
            return Where::Removed;
        }
        let Some(admin) = &identity.admin else {
            return Where::Here; // a main worktree moved by hand: nothing to follow
        };
        match worktrees::current_path(common_dir.as_std_path(), admin) {
            // git forgot it (pruned): it is gone as far as git is concerned.
            None => Where::Removed,
            Some(to) if to.join(".git").exists() => match Utf8PathBuf::from_path_buf(to) {
                Ok(to) => {
                    self.path = to.clone();
                    Where::Moved(to)
                }
                Err(_) => Where::Here,
            },
            // Moved by hand, `git worktree repair` not run yet: keep going.
            Some(_) => Where::Here,
        }
    }
}

/// Turns the hook's reports ("done <job> ok|fail", "abort") into messages for the loop, then
/// says the hook has ended. `None`: the hook died before saying "go".
fn relay_reports(
    lines: Option<impl Iterator<Item = std::io::Result<String>>>,
    tx: &std::sync::mpsc::Sender<Msg>,
) {
    for line in lines.into_iter().flatten().map_while(Result::ok) {
        let mut words = line.split(' ');
        let msg = match (
            words.next(),
            words.next().and_then(|i| i.parse().ok()),
            words.next(),
        ) {
            (Some("done"), Some(i), Some(result)) => Msg::SyncDone(i, result == "ok"),
            (Some("abort"), ..) => Msg::Abort,
            _ => continue,
        };
        let _ = tx.send(msg);
    }
    let _ = tx.send(Msg::HookEnded);
}
