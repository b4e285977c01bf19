//! Runs the jobs of one event that are ours to run, as fast as their `needs` allow: starts each
//! process, waits for it on its own thread, applies timeouts (TERM to the job's process group,
//! KILL after a grace period), and keeps every job's record up to date. The hook drives it for
//! synchronous jobs, the supervisor for background ones; each adds its own messages.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::config::{EventConfig, FailMode};
use crate::job::{self, Context};
use crate::printer::Printer;
use crate::runs::{JobRecord, Pid, Run, Status, now};
use crate::schedule::{Outcome, Schedule};
use crate::sys;

/// How long a job has between SIGTERM and SIGKILL.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// What wakes the engine's loop.
pub(crate) enum Msg {
    /// A job's process exited.
    Exited(usize, ExitStatus),
    /// The hook got SIGINT or SIGTERM.
    Signal(i32),
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
    output_done: Option<Receiver<()>>,
}

pub(crate) struct Engine {
    pub(crate) run: Run,
    ctx: Context,
    pub(crate) event: EventConfig,
    pub(crate) records: Vec<JobRecord>,
    schedule: Schedule,
    running: HashMap<usize, Process>,
    output: Output,
    stdin: Option<Arc<Vec<u8>>>,
    owner: Pid,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    /// Jobs that reached a final status since the last [`Engine::take_finished`].
    finished: Vec<usize>,
    write_failed: bool,
    /// Set by the first failure under `fail_mode: abort`.
    aborted: bool,
    /// Jobs skipped by their own condition.
    by_condition: Vec<usize>,
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
    ) -> Self {
        let owner = Pid::current();
        let records = event
            .jobs
            .iter()
            .map(|job| JobRecord::pending(&job.name, job.background, owner))
            .collect();
        // `parallel: false` is one at a time in file order, whatever the priorities.
        let priority = event
            .jobs
            .iter()
            .map(|job| {
                if event.parallel == crate::config::Parallel::Sequential {
                    0
                } else {
                    job.priority
                }
            })
            .collect();
        let schedule = Schedule::new(
            event.needs(),
            priority,
            ours.to_vec(),
            event.parallel.limit(),
        );
        let (tx, rx) = mpsc::channel();
        let mut engine = Self {
            run,
            ctx,
            event,
            records,
            schedule,
            running: HashMap::new(),
            output,
            stdin: stdin.map(Arc::new),
            owner,
            tx,
            rx,
            finished: Vec::new(),
            write_failed: false,
            aborted: false,
            by_condition: Vec::new(),
        };
        for i in (0..ours.len()).filter(|&i| ours[i]) {
            engine.write(i);
        }
        engine
    }

    /// For other threads that feed the loop (signals, the hook's reports).
    pub(crate) fn sender(&self) -> Sender<Msg> {
        self.tx.clone()
    }

    /// Starts every job that is ready, up to the limit.
    pub(crate) fn start_ready(&mut self) {
        while let Some(i) = self.schedule.next() {
            self.start(i);
        }
    }

    /// Whether nothing of ours is running or waiting.
    pub(crate) fn is_idle(&self) -> bool {
        self.running.is_empty() && self.schedule.is_done()
    }

    /// Waits for the next message, at most until the nearest deadline or `tick`.
    pub(crate) fn wait(&mut self, tick: Duration) -> Option<Msg> {
        let now = Instant::now();
        let next = self
            .running
            .values()
            .flat_map(|p| [p.deadline, p.kill_at])
            .flatten()
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
                self.external_done(i, ok);
                None
            }
            other => Some(other),
        }
    }

    /// Jobs that ended since last asked, in the order they ended.
    pub(crate) fn take_finished(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.finished)
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
        self.stop_waiting(reason);
        let running: Vec<usize> = self.running.keys().copied().collect();
        for i in running {
            self.signal(i, Status::Cancelled, reason);
        }
    }

    /// Stops jobs not yet started; they are recorded `skipped` with `reason`.
    pub(crate) fn stop_waiting(&mut self, reason: &str) {
        for i in self.schedule.stop() {
            let record = &mut self.records[i];
            record.status = Status::Skipped;
            record.reason = Some(reason.to_owned());
            self.write(i);
            self.finished.push(i);
        }
    }

    /// Whether job `i` has its final outcome.
    pub(crate) fn is_settled(&self, i: usize) -> bool {
        self.schedule.is_settled(i)
    }

    /// Cancels one running job.
    pub(crate) fn cancel(&mut self, i: usize, reason: &str) {
        if self.running.contains_key(&i) {
            self.signal(i, Status::Cancelled, reason);
        }
    }

    /// The worktree moved: jobs that start from now on start there.
    pub(crate) fn moved_to(&mut self, path: camino::Utf8PathBuf) {
        self.ctx.worktree = path;
    }

    /// Indices of running jobs.
    pub(crate) fn running(&self) -> Vec<usize> {
        self.running.keys().copied().collect()
    }

    fn signal(&mut self, i: usize, status: Status, reason: &str) {
        let Some(process) = self.running.get_mut(&i) else {
            return;
        };
        if process.ending.is_none() {
            process.ending = Some((status, reason.to_owned()));
            process.kill_at = Some(Instant::now() + GRACE);
            sys::kill_group(process.pid, sys::SIGTERM);
        }
    }

    fn enforce_deadlines(&mut self) {
        let now = Instant::now();
        let mut expired = Vec::new();
        for (&i, process) in &mut self.running {
            if process.kill_at.is_some_and(|at| at <= now) {
                sys::kill_group(process.pid, sys::SIGKILL);
                process.kill_at = None;
            } else if process.ending.is_none() && process.deadline.is_some_and(|at| at <= now) {
                expired.push(i);
            }
        }
        for i in expired {
            let limit = self.event.jobs[i]
                .timeout
                .map(crate::duration::human)
                .unwrap_or_default();
            self.signal(
                i,
                Status::TimedOut,
                &format!("ran past its timeout of {limit}"),
            );
        }
    }

    fn start(&mut self, i: usize) {
        let job = &self.event.jobs[i];
        if self.run.cancel_marker(&job.name).exists() {
            return self.set_final(
                i,
                Status::Cancelled,
                None,
                Some("cancelled by `daft hooks cancel` before it started".into()),
            );
        }
        let cmd = match job::command(job, &self.ctx) {
            Ok(Ok(cmd)) => cmd,
            Ok(Err(why)) => return self.skip_by_condition(i, why),
            Err(reason) => return self.set_final(i, Status::Failed, None, Some(reason)),
        };
        let tx = self.tx.clone();
        let printer = match &self.output {
            Output::Printed(printer) => Some(Arc::clone(printer)),
            Output::Logged => None,
        };
        let spawned = job::spawn(
            cmd,
            &self.run.log_path(&job.name),
            printer.map(|p| (job.name.clone(), p)),
            self.stdin.clone(),
            move |status| {
                let _ = tx.send(Msg::Exited(i, status));
            },
        );
        let (pid, output_done) = match spawned {
            Ok(spawned) => spawned,
            Err(reason) => return self.set_final(i, Status::Failed, None, Some(reason)),
        };
        let started = Instant::now();
        self.running.insert(
            i,
            Process {
                pid,
                started,
                deadline: job.timeout.map(|t| started + t),
                kill_at: None,
                ending: None,
                output_done,
            },
        );
        let record = &mut self.records[i];
        record.status = Status::Running;
        record.process = Some(Pid::of(pid).unwrap_or(Pid { pid, start: 0 }));
        record.owner = self.owner;
        record.started_at = Some(now());
        self.write(i);
    }

    fn exited(&mut self, i: usize, exit: ExitStatus) {
        let Some(process) = self.running.remove(&i) else {
            return;
        };
        if let Some(done) = process.output_done {
            // Let the last lines arrive, but never wait on a straggler that keeps the pipe open.
            let _ = done.recv_timeout(Duration::from_millis(200));
        }
        let code = exit.code().or_else(|| exit.signal().map(|s| 128 + s));
        let name = &self.event.jobs[i].name;
        let ending = process.ending.or_else(|| {
            // `daft hooks cancel` may signal the job before we have seen its request.
            self.run.cancel_marker(name).exists().then(|| {
                (
                    Status::Cancelled,
                    "cancelled by `daft hooks cancel`".to_owned(),
                )
            })
        });
        let (status, reason) = match ending {
            Some((status, reason)) => {
                // It was told to stop: whatever of its group is left goes now.
                sys::kill_group(process.pid, sys::SIGKILL);
                (status, Some(reason))
            }
            None if exit.success() => (Status::Succeeded, None),
            None => (
                Status::Failed,
                exit.signal().map(|s| format!("killed by signal {s}")),
            ),
        };
        self.set_final(i, status, code, reason);
    }

    /// A job run elsewhere (a synchronous job, seen from the supervisor) finished.
    fn external_done(&mut self, i: usize, ok: bool) {
        self.after(
            i,
            if ok {
                Outcome::Succeeded
            } else {
                Outcome::NotSucceeded
            },
        );
    }

    /// A job reached a final status: record it and let the schedule move on.
    fn set_final(
        &mut self,
        i: usize,
        status: Status,
        exit_code: Option<i32>,
        reason: Option<String>,
    ) {
        let record = &mut self.records[i];
        record.status = status;
        record.exit_code = exit_code;
        record.reason = reason;
        record.owner = self.owner;
        if record.started_at.is_some() {
            record.ended_at = Some(now());
        }
        self.write(i);
        self.finished.push(i);
        let outcome = if status == Status::Succeeded {
            Outcome::Succeeded
        } else {
            Outcome::NotSucceeded
        };
        self.after(i, outcome);
        if matches!(status, Status::Failed | Status::TimedOut)
            && self.event.fail_mode == FailMode::Abort
            && !self.aborted
        {
            self.aborted = true;
            let name = &self.event.jobs[i].name;
            self.stop(&format!(
                "stopped because `{name}` failed (fail_mode: abort)"
            ));
        }
    }

    /// Job `i`'s own `only:`/`skip:` says it is not to run: it is skipped, and counts as done
    /// for the jobs that need it.
    fn skip_by_condition(&mut self, i: usize, why: String) {
        let record = &mut self.records[i];
        record.status = Status::Skipped;
        record.reason = Some(why);
        record.owner = self.owner;
        self.write(i);
        self.finished.push(i);
        self.by_condition.push(i);
        self.after(i, Outcome::Succeeded);
    }

    /// Whether job `i` ended in a way its dependents may go on from.
    pub(crate) fn went_well(&self, i: usize) -> bool {
        self.records[i].status == Status::Succeeded || self.by_condition.contains(&i)
    }

    /// Whether a failure stopped the rest (`fail_mode: abort`).
    pub(crate) fn aborted(&self) -> bool {
        self.aborted
    }

    fn after(&mut self, i: usize, outcome: Outcome) {
        for (skipped, need) in self.schedule.finish(i, outcome) {
            let reason = format!(
                "needs `{}`, which did not succeed",
                self.event.jobs[need].name
            );
            let record = &mut self.records[skipped];
            record.status = Status::Skipped;
            record.reason = Some(reason);
            record.owner = self.owner;
            self.write(skipped);
            self.finished.push(skipped);
        }
    }

    /// Writes job `i`'s record. A failure (a full or read-only disk) is told once and does not
    /// stop the jobs.
    fn write(&mut self, i: usize) {
        if let Err(err) = self.run.write_job(&self.records[i])
            && !self.write_failed
        {
            self.write_failed = true;
            let message = format!("cannot record job status ({err:#}); jobs still run");
            match &self.output {
                Output::Printed(printer) => printer.warn(&message),
                Output::Logged => eprintln!("daft: warning: {message}"),
            }
        }
    }

    /// How long job `i` ran, if it did.
    pub(crate) fn elapsed(&self, i: usize) -> Option<Duration> {
        let record = &self.records[i];
        Some(Duration::from_secs_f64(
            (record.ended_at? - record.started_at?).max(0.0),
        ))
    }
}
