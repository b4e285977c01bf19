//! The detached part of an event, seen from the hook. The hook starts `daft __supervise
//! <run>` in a new session (no terminal, stdin a pipe of ours, output to a log: nothing of
//! git's), tells it through that pipe how the synchronous jobs went, and returns; the
//! supervisor (`supervisor`) does the rest.

use std::fs::File;
use std::io::Write as _;
use std::process::{ChildStdin, Command, Stdio};

use anyhow::{Context as _, Result};

use crate::files::write_atomically;
use crate::platform;
use crate::resolve::Plan;
use crate::runs::{JobRecord, Pid, Run};

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
pub(crate) fn spawn(run: &Run, plan: &Plan, stdin: Option<&[u8]>) -> Result<Supervisor> {
    write_atomically(run.dir.join("plan.json"), &serde_json::to_vec(plan)?)?;
    if let Some(data) = stdin {
        write_atomically(run.dir.join("stdin"), data)?;
    }
    let log = File::create(run.dir.join("supervisor.log"))
        .context("cannot create the supervisor's log")?;
    let exe = platform::own_exe().context("cannot find daft's own executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("__supervise")
        .arg(&run.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(log);
    let mut child = platform::spawn_detached(&mut cmd).context("cannot start the supervisor")?;
    let owner = Pid::of(child.id()).unwrap_or(Pid {
        pid: child.id(),
        start: 0,
    });
    // Recorded before the supervisor may touch them (it waits for "go"), and owned by it, so
    // `log show` never sees them orphaned.
    for job in plan
        .event
        .jobs
        .iter()
        .filter(|job| job.background || plan.detached)
    {
        run.write_job(&JobRecord::pending(&job.name, job.background, owner))?;
    }
    let mut pipe = child.stdin.take().context("the supervisor has no stdin")?;
    let _ = writeln!(pipe, "go");
    Ok(Supervisor { pipe })
}

/// Starts a supervisor for jobs that are all background and that no hook waits on (a removed
/// worktree's teardown).
pub(crate) fn spawn_detached(run: &Run, plan: &Plan) -> Result<()> {
    // Dropping the handle closes the pipe: the supervisor knows no hook will report.
    spawn(run, plan, None).map(drop)
}
