//! Runs the jobs of one event that are ours to run, as the [`Ledger`] allows: starts each
//! process, notices its end, applies timeouts (TERM to the job's process group, KILL after a
//! grace period), and writes the records the ledger changed. The hook drives it for
//! synchronous jobs, the supervisor for background ones; each adds its own messages.

mod ending;
mod starting;

use std::collections::HashMap;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::conditions::Check;
use crate::config::EventConfig;
use crate::job::Context;
use crate::ledger::{Effect, Ledger};
use crate::printer::Printer;
use crate::runs::{JobRecord, Pid, Run, Status};
use crate::service::Probing;

/// How long a job has between SIGTERM and SIGKILL.
pub(crate) use crate::platform::GRACE;

/// What wakes the engine's loop.
pub(crate) enum Msg {
    /// A job's process exited.
    Exited(usize, ExitStatus),
    /// (Supervisor) the hook reports a synchronous job's outcome.
    SyncDone(usize, bool),
    /// (Supervisor) the hook stopped on a failure under `fail_mode: abort`.
    Abort,
    /// (Supervisor) the hook closed its end: no more reports will come.
    HookEnded,
}

/// Where a job's output goes.
pub(crate) enum Output {
    /// To the terminal through the printer, and to the job's log.
    Printed(Arc<Printer>),
    /// Only to the job's log.
    Logged,
}

struct Process {
    pid: u32,
    started: Instant,
    deadline: Option<Instant>,
    kill_at: Option<Instant>,
    /// Set when we signalled it: how its end is to be recorded.
    ending: Option<(Status, String)>,
    output_done: Option<crate::job::Output>,
    /// The condition this process is, before the job itself runs; and whether it ran past
    /// its limit.
    check: Option<(Check, bool)>,
}

/// A job whose conditions are being checked: its command, and the checks still to come.
struct Pending {
    cmd: std::process::Command,
    checks: std::collections::VecDeque<(Check, std::process::Command)>,
    ready: Option<crate::service::Test>,
}

pub(crate) struct Engine {
    pub(crate) run: Run,
    ctx: Context,
    pub(crate) event: EventConfig,
    ledger: Ledger,
    running: HashMap<usize, Process>,
    output: Output,
    stdin: Option<Arc<Vec<u8>>>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    printer: Arc<Printer>,
    write_failed: bool,
    /// A job that could not start for want of processes, and when it is tried again.
    retry_at: Option<Instant>,
    retries: HashMap<usize, u32>,
    /// Jobs whose conditions run before them.
    pending: HashMap<usize, Pending>,
    /// Services not ready yet.
    probing: HashMap<usize, Probing>,
    /// Where a failure is left for the user to hear of (background runs), and the jobs
    /// whose failure is left there already.
    failures_told_in: Option<crate::state::WorktreeDir>,
    failure_noted: Vec<bool>,
}

impl Engine {
    /// `ours[i]`: whether this engine runs job `i` (the others are run elsewhere).
    pub(crate) fn new(
        run: Run,
        ctx: Context,
        event: EventConfig,
        ours: &[bool],
        output: Output,
        stdin: Option<Vec<u8>>,
        printer: Arc<Printer>,
    ) -> Self {
        let ledger = Ledger::new(&event, ours, Pid::current());
        let (tx, rx) = mpsc::channel();
        let mut engine = Self {
            run,
            ctx,
            event,
            ledger,
            running: HashMap::new(),
            output,
            stdin: stdin.map(Arc::new),
            tx,
            rx,
            printer,
            write_failed: false,
            retry_at: None,
            retries: HashMap::new(),
            pending: HashMap::new(),
            probing: HashMap::new(),
            failures_told_in: None,
            failure_noted: Vec::new(),
        };
        engine.flush();
        engine
    }

    /// Leaves each failure in `owner` for the next daft call there to tell, before the
    /// record that shows the failure is written: whoever sees it failed can hear of it.
    pub(crate) fn leave_failures_in(&mut self, owner: crate::state::WorktreeDir) {
        self.failure_noted = vec![false; self.ledger.records.len()];
        self.failures_told_in = Some(owner);
    }

    /// For other threads that feed the loop (signals, the hook's reports).
    pub(crate) fn sender(&self) -> Sender<Msg> {
        self.tx.clone()
    }

    pub(crate) fn records(&self) -> &[JobRecord] {
        &self.ledger.records
    }

    /// Starts every job that is ready, up to the limit.
    pub(crate) fn start_ready(&mut self) {
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        self.retry_at = None;
        while let Some(i) = self.ledger.next() {
            if !self.start(i) {
                break;
            }
        }
        self.flush();
    }

    /// Whether nothing of ours is running or waiting.
    pub(crate) fn is_idle(&self) -> bool {
        self.running.is_empty() && self.ledger.is_done()
    }

    /// Waits for the next message, at most until the nearest deadline or `tick`.
    pub(crate) fn wait(&mut self, tick: Duration) -> Option<Msg> {
        self.look_at_services();
        let now = Instant::now();
        let next = self
            .running
            .values()
            .flat_map(|p| [p.deadline, p.kill_at])
            .chain([self.retry_at])
            .flatten()
            .chain(self.probing.values().map(Probing::next_look))
            .min();
        let timeout = next.map_or(tick, |at| at.saturating_duration_since(now).min(tick));
        match self.rx.recv_timeout(timeout) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                self.enforce_deadlines();
                None
            }
        }
    }

    /// Handles the messages every engine understands; gives back the others.
    pub(crate) fn handle(&mut self, msg: Msg) -> Option<Msg> {
        match msg {
            Msg::Exited(i, status) => {
                self.exited(i, status);
                None
            }
            Msg::SyncDone(i, ok) => {
                self.ledger.reported(i, ok);
                self.flush();
                None
            }
            other => Some(other),
        }
    }

    /// Jobs that ended since last asked, in the order they ended.
    pub(crate) fn take_finished(&mut self) -> Vec<usize> {
        self.ledger.take_finished()
    }

    /// Elapsed time of each running job, for the live status line.
    pub(crate) fn running_for(&self) -> Vec<(String, Duration)> {
        let mut jobs: Vec<_> = self
            .running
            .iter()
            .map(|(&i, p)| (i, self.event.jobs[i].name.clone(), p.started.elapsed()))
            .collect();
        jobs.sort_by_key(|(i, _, _)| *i);
        jobs.into_iter()
            .map(|(_, name, elapsed)| (name, elapsed))
            .collect()
    }

    /// Stops jobs not yet started (recorded `skipped` with `reason`) and cancels running ones.
    pub(crate) fn stop(&mut self, reason: &str) {
        self.ledger.stop(reason);
        self.flush();
    }

    /// Stops jobs not yet started; they are recorded `skipped` with `reason`.
    pub(crate) fn stop_waiting(&mut self, reason: &str) {
        self.ledger.stop_waiting(reason);
        self.flush();
    }

    /// Whether job `i` has its final outcome.
    pub(crate) fn is_settled(&self, i: usize) -> bool {
        self.ledger.is_settled(i)
    }

    /// Cancels one running job.
    pub(crate) fn cancel(&mut self, i: usize, reason: &str) {
        self.signal(i, Status::Cancelled, reason);
    }

    /// Stops one running job that gives way to the user's own work.
    pub(crate) fn yield_job(&mut self, i: usize, reason: &str) {
        self.signal(i, Status::Yielded, reason);
    }

    /// The worktree moved: jobs that start from now on start there.
    pub(crate) fn moved_to(&mut self, path: camino::Utf8PathBuf) {
        self.ctx.worktree = path;
    }

    /// Indices of running jobs, with their process group.
    pub(crate) fn running(&self) -> Vec<(usize, u32)> {
        self.running.iter().map(|(&i, p)| (i, p.pid)).collect()
    }

    /// The engine's own helper processes (a service's `ready: { run }` under way), each its
    /// own process group: not a job's leftovers, and reaped by the engine.
    pub(crate) fn helpers(&self) -> Vec<u32> {
        self.probing.values().filter_map(Probing::process).collect()
    }

    /// Tells the services that are ready so; one not ready within its time is ended, failed.
    fn look_at_services(&mut self) {
        if self.probing.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut settled = Vec::new();
        for (&i, probing) in &mut self.probing {
            match probing.look(now) {
                crate::service::Look::NotYet => {}
                crate::service::Look::Ready => settled.push((i, None)),
                crate::service::Look::TooLate(why) => settled.push((i, Some(why))),
            }
        }
        for (i, too_late) in settled {
            self.probing.remove(&i);
            match too_late {
                None => self.ledger.ready(i, crate::runs::now()),
                Some(why) => self.signal(i, Status::Failed, &why),
            }
        }
        self.flush();
    }

    /// Whether a failure stopped the rest (`fail_mode: abort`).
    pub(crate) fn aborted(&self) -> bool {
        self.ledger.aborted()
    }

    /// Carries out what the ledger asked for and writes the records it changed. A write that
    /// fails (a full or read-only disk) is told once and does not stop the jobs.
    fn flush(&mut self) {
        for effect in self.ledger.take_effects() {
            match effect {
                Effect::Cancel(i, status, reason) => self.signal(i, status, &reason),
            }
        }
        for i in self.ledger.take_dirty() {
            self.leave_failure(i);
            if let Err(err) = self.run.write_job(&self.ledger.records[i])
                && !self.write_failed
            {
                self.write_failed = true;
                self.printer.warn(&format!(
                    "cannot record job status ({err:#}); jobs still run"
                ));
            }
        }
    }

    fn leave_failure(&mut self, i: usize) {
        let record = &self.ledger.records[i];
        let Some(owner) = &self.failures_told_in else {
            return;
        };
        if !matches!(record.status, Status::Failed | Status::TimedOut) || self.failure_noted[i] {
            return;
        }
        self.failure_noted[i] = true;
        crate::runs::note_failure(
            owner,
            &crate::runs::Unseen {
                job: record.name.clone(),
                run: self.run.meta.id.clone(),
                status: record.status,
                exit_code: record.exit_code,
            },
        );
    }

    /// How long job `i` ran, if it did.
    pub(crate) fn elapsed(&self, i: usize) -> Option<Duration> {
        let record = &self.ledger.records[i];
        Some(Duration::from_secs_f64(
            (record.ended_at? - record.started_at?).max(0.0),
        ))
    }

    /// Whether job `i` ended in a way its dependents may go on from.
    pub(crate) fn went_well(&self, i: usize) -> bool {
        self.ledger.records[i].status.went_well()
    }
}
