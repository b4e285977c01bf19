//! The bookkeeping of one event's jobs, without a process in sight: which job may start, what
//! each one's record says, what follows when one ends (its dependents skipped, the rest
//! stopped under `fail_mode: abort`). The engine feeds it what happened and carries out what
//! it asks (start this job, cancel that one, write these records); so all of it is tested
//! here, with no process spawned.

use crate::config::{EventConfig, FailMode, Parallel};
use crate::runs::{JobRecord, Pid, Status};
use crate::schedule::{Outcome, Schedule};

/// What the ledger asks its driver to do, besides writing records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Signal the running job to stop; record it with this status and reason when it ends.
    Cancel(usize, Status, String),
}

pub(crate) struct Ledger {
    pub(crate) records: Vec<JobRecord>,
    schedule: Schedule,
    fail_mode: FailMode,
    /// Whose records these are: the process that writes them.
    owner: Pid,
    /// Jobs that reached a final status since the last [`Ledger::take_finished`].
    finished: Vec<usize>,
    /// Records changed since the last [`Ledger::take_dirty`].
    dirty: Vec<usize>,
    effects: Vec<Effect>,
    running: Vec<usize>,
    /// Set by the first failure under `fail_mode: abort`.
    aborted: bool,
    /// Which jobs are services (`ready:`).
    services: Vec<bool>,
}

impl Ledger {
    /// `ours[i]`: whether job `i` is started here (the others are run elsewhere and only
    /// reported).
    pub(crate) fn new(event: &EventConfig, ours: &[bool], owner: Pid) -> Self {
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
                if event.parallel == Parallel::Sequential {
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
        Self {
            records,
            schedule,
            fail_mode: event.fail_mode,
            owner,
            finished: Vec::new(),
            dirty: (0..ours.len()).filter(|&i| ours[i]).collect(),
            effects: Vec::new(),
            running: Vec::new(),
            aborted: false,
            services: event.jobs.iter().map(|job| job.ready.is_some()).collect(),
        }
    }

    /// The next job to start, if one may start now; it counts as running from here on.
    pub(crate) fn next(&mut self) -> Option<usize> {
        let i = self.schedule.next()?;
        self.running.push(i);
        Some(i)
    }

    /// Job `i`'s process started.
    pub(crate) fn started(&mut self, i: usize, process: Pid, at: f64) {
        let record = &mut self.records[i];
        record.status = if self.services[i] {
            Status::Starting
        } else {
            Status::Running
        };
        record.process = Some(process);
        record.owner = self.owner;
        record.started_at = Some(at);
        self.dirty.push(i);
    }

    /// Service `i` is ready: what needs it may start.
    pub(crate) fn ready(&mut self, i: usize, at: f64) {
        let record = &mut self.records[i];
        if record.status != Status::Starting {
            return;
        }
        record.status = Status::Ready;
        if let Some(service) = &mut record.service {
            service.ready_at = Some(at);
        }
        // It stays among the running jobs: a stop still cancels it.
        self.dirty.push(i);
        self.schedule.serve(i);
    }

    /// Job `i` could not be started for now (the system is out of processes or threads): it
    /// waits again, and no more jobs than are running now start at once.
    pub(crate) fn later(&mut self, i: usize) {
        self.running.retain(|&r| r != i);
        self.schedule.unstart(i);
        self.schedule.set_limit(self.running.len());
    }

    /// Whether job `i` may wait for another job to end before it is tried again.
    pub(crate) fn others_running(&self, i: usize) -> bool {
        self.running.iter().any(|&r| r != i)
    }

    /// Job `i` reached its final status.
    pub(crate) fn ended(
        &mut self,
        i: usize,
        status: Status,
        exit_code: Option<i32>,
        reason: Option<String>,
        at: f64,
    ) {
        self.running.retain(|&r| r != i);
        let record = &mut self.records[i];
        record.status = status;
        record.exit_code = exit_code;
        record.reason = reason;
        record.owner = self.owner;
        if record.started_at.is_some() {
            record.ended_at = Some(at);
        }
        self.dirty.push(i);
        self.finished.push(i);
        let outcome = if status.went_well() {
            Outcome::Succeeded
        } else {
            Outcome::NotSucceeded
        };
        self.after(i, outcome);
        if matches!(status, Status::Failed | Status::TimedOut)
            && self.fail_mode == FailMode::Abort
            && !self.aborted
        {
            self.aborted = true;
            let name = self.records[i].name.clone();
            self.stop(&format!(
                "stopped because `{name}` failed (fail_mode: abort)"
            ));
        }
    }

    /// Job `i`'s own `only:`/`skip:` says it is not to run.
    pub(crate) fn skipped_by_condition(&mut self, i: usize, why: String) {
        self.ended(i, Status::SkippedByCondition, None, Some(why), 0.0);
    }

    /// A job run elsewhere (a synchronous job, seen from the supervisor) ended.
    pub(crate) fn reported(&mut self, i: usize, went_well: bool) {
        let outcome = if went_well {
            Outcome::Succeeded
        } else {
            Outcome::NotSucceeded
        };
        self.after(i, outcome);
    }

    /// Stops what has not started (skipped, with `reason`) and asks for the running jobs to be
    /// cancelled.
    pub(crate) fn stop(&mut self, reason: &str) {
        self.stop_waiting(reason);
        for &i in &self.running {
            self.effects
                .push(Effect::Cancel(i, Status::Cancelled, reason.to_owned()));
        }
    }

    /// Stops the jobs that have not started; they are recorded `skipped` with `reason`.
    pub(crate) fn stop_waiting(&mut self, reason: &str) {
        for i in self.schedule.stop() {
            let record = &mut self.records[i];
            record.status = Status::Skipped;
            record.reason = Some(reason.to_owned());
            record.owner = self.owner;
            self.dirty.push(i);
            self.finished.push(i);
        }
    }

    fn after(&mut self, i: usize, outcome: Outcome) {
        for (skipped, need) in self.schedule.finish(i, outcome) {
            let reason = format!("needs `{}`, which did not succeed", self.records[need].name);
            let record = &mut self.records[skipped];
            record.status = Status::Skipped;
            record.reason = Some(reason);
            record.owner = self.owner;
            self.dirty.push(skipped);
            self.finished.push(skipped);
        }
    }

    /// Whether job `i` has its final outcome (or never will start).
    pub(crate) fn is_settled(&self, i: usize) -> bool {
        self.schedule.is_settled(i)
    }

    /// Whether nothing of ours is waiting or running.
    pub(crate) fn is_done(&self) -> bool {
        self.schedule.is_done()
    }

    pub(crate) fn aborted(&self) -> bool {
        self.aborted
    }

    pub(crate) fn take_finished(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.finished)
    }

    /// The records to write, each once, in the order they changed.
    pub(crate) fn take_dirty(&mut self) -> Vec<usize> {
        let mut seen = Vec::new();
        for i in std::mem::take(&mut self.dirty) {
            if !seen.contains(&i) {
                seen.push(i);
            }
        }
        seen
    }

    pub(crate) fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Action, Job};

    fn job(name: &str, needs: &[&str]) -> Job {
        Job {
            name: name.into(),
            action: Action::Run("true".into()),
            background: false,
            needs: needs.iter().map(|n| (*n).to_owned()).collect(),
            env: Vec::new(),
            root: None,
            timeout: None,
            priority: 0,
            only: None,
            skip: None,
            nice: true,
            yields: true,
            carry_times: None,
            ready: None,
        }
    }

    fn event(fail_mode: FailMode, jobs: Vec<Job>) -> EventConfig {
        EventConfig {
            fail_mode,
            parallel: Parallel::AtMost(8),
            jobs,
        }
    }

    const ME: Pid = Pid { pid: 1, start: 1 };

    fn started(ledger: &mut Ledger) -> Vec<usize> {
        let mut out = Vec::new();
        while let Some(i) = ledger.next() {
            ledger.started(
                i,
                Pid {
                    pid: 100 + i as u32,
                    start: 1,
                },
                1.0,
            );
            out.push(i);
        }
        out
    }

    #[test]
    fn a_failure_skips_its_dependents_and_abort_cancels_the_rest() {
        // a, b run; c needs a; d needs c.
        let jobs = vec![
            job("a", &[]),
            job("b", &[]),
            job("c", &["a"]),
            job("d", &["c"]),
        ];
        let mut ledger = Ledger::new(&event(FailMode::Abort, jobs), &[true; 4], ME);
        assert_eq!(started(&mut ledger), [0, 1]);
        ledger.ended(0, Status::Failed, Some(3), None, 2.0);
        let statuses: Vec<Status> = ledger.records.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Failed,
                Status::Running,
                Status::Skipped,
                Status::Skipped
            ]
        );
        assert_eq!(
            ledger.records[2].reason.as_deref(),
            Some("needs `a`, which did not succeed")
        );
        assert_eq!(
            ledger.take_effects(),
            [Effect::Cancel(
                1,
                Status::Cancelled,
                "stopped because `a` failed (fail_mode: abort)".into()
            )]
        );
        assert!(ledger.aborted());
        ledger.ended(1, Status::Cancelled, Some(143), Some("stopped".into()), 3.0);
        assert!(ledger.is_done());
        assert_eq!(ledger.take_finished(), [0, 2, 3, 1]);
    }

    #[test]
    fn warn_lets_independent_jobs_go_on_and_a_condition_counts_as_done() {
        let jobs = vec![job("a", &[]), job("b", &["a"]), job("c", &[])];
        let mut ledger = Ledger::new(&event(FailMode::Warn, jobs), &[true; 3], ME);
        let first = ledger.next().unwrap();
        assert_eq!(first, 0);
        ledger.skipped_by_condition(0, "only: CI not set".into());
        assert_eq!(started(&mut ledger), [1, 2]);
        ledger.ended(2, Status::Failed, Some(1), None, 2.0);
        assert!(ledger.take_effects().is_empty(), "warn cancels nothing");
        ledger.ended(1, Status::Succeeded, Some(0), None, 2.0);
        assert!(ledger.is_done());
        assert_eq!(ledger.records[0].status, Status::SkippedByCondition);
        // Each changed record is written once per batch.
        let dirty = ledger.take_dirty();
        assert_eq!(dirty, [0, 1, 2]);
    }

    #[test]
    fn a_job_that_cannot_start_for_now_waits_for_one_that_runs() {
        let jobs = vec![job("a", &[]), job("b", &[]), job("c", &[])];
        let mut ledger = Ledger::new(&event(FailMode::Warn, jobs), &[true; 3], ME);
        assert_eq!(ledger.next(), Some(0));
        ledger.started(0, Pid { pid: 10, start: 1 }, 1.0);
        assert_eq!(ledger.next(), Some(1));
        // No process for b: it waits, and only one job runs at a time from now on.
        assert!(ledger.others_running(1));
        ledger.later(1);
        assert_eq!(ledger.next(), None);
        ledger.ended(0, Status::Succeeded, Some(0), None, 2.0);
        assert_eq!(ledger.next(), Some(1));
        assert_eq!(ledger.next(), None);
    }

    #[test]
    fn a_service_releases_its_dependents_when_ready_and_is_still_cancelled_by_a_stop() {
        let mut server = job("server", &[]);
        server.background = true;
        server.ready = Some(crate::config::Ready {
            probe: crate::config::Probe::Port("web".into()),
            within: crate::config::READY_WITHIN,
        });
        let mut check = job("check", &["server"]);
        check.background = true;
        let mut ledger = Ledger::new(&event(FailMode::Warn, vec![server, check]), &[true; 2], ME);
        assert_eq!(started(&mut ledger), [0]);
        assert_eq!(ledger.records[0].status, Status::Starting);
        ledger.ready(0, 2.0);
        assert_eq!(ledger.records[0].status, Status::Ready);
        assert_eq!(started(&mut ledger), [1]);
        ledger.ended(1, Status::Succeeded, Some(0), None, 3.0);
        assert!(!ledger.is_done(), "a ready service still runs");
        ledger.stop("its worktree was removed");
        assert_eq!(
            ledger.take_effects(),
            [Effect::Cancel(
                0,
                Status::Cancelled,
                "its worktree was removed".into()
            )]
        );
        ledger.ended(0, Status::Cancelled, Some(143), None, 4.0);
        assert!(ledger.is_done());
        assert_eq!(ledger.records[1].status, Status::Succeeded);
    }

    #[test]
    fn jobs_reported_from_elsewhere_gate_ours() {
        let mut background = job("b", &["a"]);
        background.background = true;
        let jobs = vec![job("a", &[]), background];
        let mut ledger = Ledger::new(&event(FailMode::Warn, jobs), &[false, true], ME);
        assert_eq!(ledger.next(), None);
        ledger.reported(0, false);
        assert_eq!(ledger.records[1].status, Status::Skipped);
        assert!(ledger.is_done());
    }
}
