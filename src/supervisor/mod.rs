//! The supervisor's life (`daft __supervise <run>`): it runs a run's background jobs (all of
//! them, for a detached setup) as their `needs` allow, records each one, applies timeouts,
//! ends what they leave in the worktree (`leftovers`), cancels them when `daft hooks cancel`
//! asks or their worktree disappears, and outlives the hook: when the hook dies, what it was
//! running is ended and recorded. That its worktree is gone it reports to its caller, whose
//! business the teardown is.

mod place;
mod reports;

use place::{Place, Where};
use reports::{Reports, first_line};

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::engine::{Engine, Msg, Output};
use crate::event::Event;
use crate::leftovers::Leftovers;
use crate::platform;
use crate::printer::Printer;
use crate::resolve::Plan;
use crate::runs::{self, Pid, Run, Status};
use crate::state::State;
use crate::worktree::Identity;

/// How a supervisor's life ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Every job is done.
    Done,
    /// Its worktree (of the clone at this git common dir) is gone: its jobs were cancelled,
    /// and its teardown is owed.
    WorktreeGone(std::path::PathBuf),
}

/// Everything the supervisor keeps track of besides its engine. (Its yes/no facts are
/// independent of one another.)
#[allow(clippy::struct_excessive_bools)]
struct Supervision {
    engine: Engine,
    printer: Arc<Printer>,
    state: State,
    identity: Identity,
    /// The worktree's directory (its runs' unseen failures go there).
    /// A teardown: its worktree is gone by definition.
    tearing_down: bool,
    place: Place,
    removed: bool,
    /// Jobs the hook runs and reports.
    sync_jobs: Vec<usize>,
    hook_ended: bool,
    /// The session's CPU weight: lowered once only background jobs that yield to the user
    /// are left.
    weight: Weight,
    leftovers: Leftovers,
    /// The log says once that this platform cannot yield.
    said_no_yield: bool,
}

/// `daft __supervise <run>`: the supervisor's whole life.
pub(crate) fn supervise(dir: &Path) -> Result<Ended> {
    let stop_requested = Arc::new(AtomicBool::new(false));
    // A hang-up is not our business (we have no terminal); TERM means cancel everything.
    signal_hook::flag::register(SIGHUP, Arc::new(AtomicBool::new(false)))?;
    signal_hook::flag::register(SIGTERM, Arc::clone(&stop_requested))?;
    signal_hook::flag::register(SIGINT, Arc::clone(&stop_requested))?;
    let printer = Arc::new(Printer::stderr());
    // Where the system allows it, what the jobs leave behind becomes ours to reap when it
    // ends, not init's whenever it gets to it.
    platform::adopt_orphans();
    let run = Run::open(dir);
    if let Some(why) = &run.damaged {
        anyhow::bail!("the run's record is damaged: {why}");
    }
    let plan: Plan = runs::read_json(&dir.join("plan.json"))?;
    let went = first_line(&mut std::io::stdin()).as_deref() == Some("go");
    let mut me = Supervision::new(run, plan, fs::read(dir.join("stdin")).ok(), printer);
    let mut reports = Reports::start(went, me.engine.sender());
    loop {
        for msg in reports.poll() {
            me.handle(msg);
        }
        if let Some(ended) = me.step(&stop_requested) {
            return Ok(ended);
        }
    }
}

/// The CPU weight of the supervisor's session against the user's other sessions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Weight {
    Normal,
    Lowered,
}

impl Supervision {
    fn new(run: Run, plan: Plan, stdin: Option<Vec<u8>>, printer: Arc<Printer>) -> Self {
        let ours: Vec<bool> = plan
            .event
            .jobs
            .iter()
            .map(|job| job.background || plan.detached)
            .collect();
        let sync_jobs: Vec<usize> = (0..ours.len()).filter(|&i| !ours[i]).collect();
        let state = State::of(plan.ctx.common_dir.as_std_path());
        let identity = plan.ctx.identity.clone();
        let tearing_down = plan.ctx.event == Event::WorktreePostRemove;
        let owner = if tearing_down {
            state.removed(&identity.id)
        } else {
            state.worktree(&identity.id)
        };
        let place = Place::new(plan.ctx.worktree.clone());
        let mut engine = Engine::new(
            run,
            plan.ctx,
            plan.event,
            &ours,
            Output::Logged,
            stdin,
            Arc::clone(&printer),
        );
        engine.leave_failures_in(owner);
        Self {
            engine,
            printer,
            state,
            identity,
            tearing_down,
            place,
            removed: false,
            hook_ended: sync_jobs.is_empty(),
            weight: Weight::Normal,
            sync_jobs,
            leftovers: Leftovers::default(),
            said_no_yield: false,
        }
    }

    /// One turn of the loop; the supervisor's end when it has come.
    fn step(&mut self, stop_requested: &AtomicBool) -> Option<Ended> {
        // After a stop nothing is left waiting, so this starts nothing more.
        self.engine.start_ready();
        let finished = self.note_finished();
        let idle = self.engine.is_idle() && self.hook_ended;
        let stopping = stop_requested.load(Ordering::Relaxed);
        self.look_for_leftovers(finished || idle || stopping);
        if idle && self.leftovers.is_empty() {
            return Some(self.end());
        }
        // Stopping twice is harmless: a job already told to stop keeps its first reason.
        if stopping {
            self.engine
                .stop("the supervisor was told to stop (SIGTERM or SIGINT)");
            self.leftovers.end_all();
        }
        let mut leaders: Vec<u32> = self.engine.running().iter().map(|(_, pid)| *pid).collect();
        leaders.extend(self.engine.helpers());
        platform::reap_adopted(&leaders);
        self.lower_when_only_background_is_left();
        self.watch_worktree();
        self.watch_cancels();
        self.watch_locks();
        self.leftovers.enforce();
        if let Some(msg) = self.engine.wait(Duration::from_millis(250)) {
            self.handle(msg);
        }
        None
    }

    /// Once the hook is done and every job left is a niced background one, the supervisor's
    /// session (it and its jobs) yields to the user's other sessions too: a job's nice value
    /// counts only within its session where the kernel shares CPU time by session. Not while
    /// a service is yet to be ready: someone waits for that (`daft hooks wait`, an agent), and
    /// a lowered session on a busy machine would see the server answer tens of seconds late.
    fn lower_when_only_background_is_left(&mut self) {
        if self.weight == Weight::Lowered || !self.hook_ended {
            return;
        }
        let jobs = &self.engine.event.jobs;
        let records = self.engine.records();
        let only_niced = (0..jobs.len()).all(|i| {
            self.engine.is_settled(i)
                || (jobs[i].background
                    && jobs[i].nice
                    && (jobs[i].ready.is_none() || records[i].status == Status::Ready))
        });
        if only_niced {
            self.weight = Weight::Lowered;
            if !platform::lower_session_priority() {
                self.printer.notice(
                    "this system gives daft's session no weight of its own: its background jobs run at the lowest priority, and no lower",
                );
            }
        }
    }

    /// What the jobs left in the worktree (listed, ended with their job); the user's build
    /// servers they started are named once and left alone.
    fn look_for_leftovers(&mut self, now: bool) {
        let mut own: Vec<u32> = self.engine.running().iter().map(|(_, pid)| *pid).collect();
        own.extend(self.engine.helpers());
        let root = self.place.path.clone();
        for line in self
            .leftovers
            .refresh(&self.engine.run, root.as_std_path(), &own, now)
        {
            self.printer.notice(&line);
        }
    }

    /// A job that did not end well takes what it left behind with it. (Its failure was left
    /// for the user to hear of when its record was written.)
    fn note_finished(&mut self) -> bool {
        let finished = self.engine.take_finished();
        let any = !finished.is_empty();
        for i in finished {
            let record = &self.engine.records()[i];
            if !record.status.went_well() {
                let name = record.name.clone();
                self.leftovers.end(&name);
            }
        }
        any
    }

    fn watch_worktree(&mut self) {
        if self.tearing_down {
            return;
        }
        match self.place.check(&self.state, &self.identity) {
            Where::Removed if !self.removed => {
                self.removed = true;
                self.engine.stop("its worktree was removed");
                self.leftovers.end_all();
            }
            Where::Moved(to) => {
                self.printer
                    .notice(&format!("the worktree moved to {to}; jobs keep running"));
                self.engine.moved_to(to);
            }
            Where::Here | Where::Removed => {}
        }
    }

    fn watch_cancels(&mut self) {
        let cancelled: Vec<(usize, String)> = (self.engine.event.jobs.iter().enumerate())
            .filter(|(_, job)| self.engine.run.cancel_marker(&job.name).exists())
            .map(|(i, job)| (i, job.name.clone()))
            .collect();
        for (i, name) in cancelled {
            if self.engine.running().iter().any(|(r, _)| *r == i) {
                self.engine.cancel(i, "cancelled by `daft hooks cancel`");
            }
            self.leftovers.end(&name);
        }
    }

    /// A background job holding a lock the user's own command waits for gives way.
    fn watch_locks(&mut self) {
        let jobs = &self.engine.event.jobs;
        let running: Vec<(usize, u32, &str)> = self
            .engine
            .running()
            .into_iter()
            .filter(|(i, _)| jobs[*i].background && jobs[*i].yields)
            .map(|(i, pgid)| (i, pgid, jobs[i].name.as_str()))
            .collect();
        if running.is_empty() {
            return;
        }
        if !crate::yielding::possible() {
            if !self.said_no_yield {
                self.said_no_yield = true;
                self.printer.notice(
                    "this system shows no one waiting for a lock, so background jobs do not give way to your commands' lock waits",
                );
            }
            return;
        }
        for waiter in crate::yielding::blocking(&running, &self.engine.run.meta.id) {
            self.engine.yield_job(
                waiter.job,
                &format!(
                    "yielded: {} was waiting for a lock it held, so it stopped and left the work to it (what it finished is kept)",
                    waiter.who
                ),
            );
        }
    }

    fn handle(&mut self, msg: Msg) {
        match self.engine.handle(msg) {
            Some(Msg::Abort) => self
                .engine
                .stop_waiting("a synchronous job failed (fail_mode: abort)"),
            Some(Msg::HookEnded) => {
                self.hook_ended = true;
                // Whatever the hook did not report did not succeed: it died (killed, say),
                // and what it was running has no owner but us now.
                for &i in &self.sync_jobs {
                    if !self.engine.is_settled(i) {
                        let job = &self.engine.event.jobs[i];
                        end_orphaned_sync_job(&self.engine.run, &job.name);
                        if let crate::config::Action::Copy { items, .. } = &job.action {
                            crate::copy::sweep(self.place.path.as_std_path(), items);
                        }
                        self.engine.handle(Msg::SyncDone(i, false));
                    }
                }
            }
            _ => {}
        }
    }

    fn end(&mut self) -> Ended {
        // What ended last is reaped here, not left to init (which may take its time).
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while platform::has_children() && std::time::Instant::now() < deadline {
            platform::reap_adopted(&[]);
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.tearing_down {
            // The removed worktree's ports were kept for its teardown; now they are free.
            let _ = crate::ports::release(self.state.common_dir(), &self.identity.id);
        }
        // Removed as the last job ended: said now, not left for a later daft call.
        if !self.removed
            && !self.tearing_down
            && matches!(
                self.place.check(&self.state, &self.identity),
                Where::Removed
            )
        {
            self.removed = true;
        }
        if self.removed {
            Ended::WorktreeGone(self.state.common_dir().to_owned())
        } else {
            Ended::Done
        }
    }
}

/// A synchronous job whose hook died while it ran: its process group is ended and its
/// record says so.
fn end_orphaned_sync_job(run: &Run, name: &str) {
    let mut record = run.job(name);
    if record.status.is_final() {
        return;
    }
    if let Some(process) = record.process.filter(|p| p.alive()) {
        platform::end(&[process], platform::GRACE);
    }
    record.status = Status::Cancelled;
    record.reason = Some(
        "the hook that ran it ended without recording its end (killed?); its processes were ended"
            .into(),
    );
    record.owner = Pid::current();
    record.ended_at = Some(runs::now());
    let _ = run.write_job(&record);
}
