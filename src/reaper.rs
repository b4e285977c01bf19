//! The supervisor as the reaper of everything its jobs start. It is a child subreaper
//! (Linux's `PR_SET_CHILD_SUBREAPER`): a process a job leaves behind — the `sleep` of a shell
//! that was killed, a dev server that made a session of its own — becomes the supervisor's
//! child when its parent ends, instead of the machine's init's. The supervisor reaps those
//! (the jobs' own leaders are reaped by the threads that wait for them), and tells which job
//! each belongs to by the `DAFT_RUN` and `DAFT_JOB` its environment inherited, so that a
//! cancel or a removal ends them with their job.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::engine::GRACE;
use crate::runs::{Pid, Run};
use crate::{stop, sys};

/// Makes this process the reaper of its descendants' orphans. Returns whether the platform
/// allows it (Linux does).
pub(crate) fn become_subreaper() -> bool {
    sys::set_child_subreaper()
}

/// Starts a thread that reaps the orphans this process adopted as they end: every ended child
/// but the jobs' own leaders (a process leading a group of this session), which the threads
/// that wait for them reap.
pub(crate) fn reap_adopted() {
    let me = std::process::id();
    let session = sys::stat_fields(me).map_or(0, |s| s.session);
    let _ = std::thread::Builder::new().spawn(move || {
        loop {
            match sys::wait_any_ended() {
                Some(pid) => {
                    let leader = sys::stat_fields(pid)
                        .is_some_and(|s| s.pgrp == pid && s.session == session);
                    if leader {
                        // Its own waiter reaps it; look again in a moment.
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    } else {
                        sys::reap(pid);
                    }
                }
                None => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
        }
    });
}

/// The living processes this process adopted (not the jobs' leaders), by the job of run
/// `run` they came from.
pub(crate) fn adopted(run: &str) -> BTreeMap<String, Vec<Pid>> {
    let me = std::process::id();
    let session = sys::stat_fields(me).map_or(0, |s| s.session);
    let mut out: BTreeMap<String, Vec<Pid>> = BTreeMap::new();
    for pid in sys::children(me) {
        let Some(stat) = sys::stat_fields(pid) else {
            continue;
        };
        if stat.state == 'Z' || (stat.pgrp == pid && stat.session == session) {
            continue;
        }
        let env = sys::environ(pid);
        let of_run = env.iter().any(|(k, v)| k == "DAFT_RUN" && v == run);
        let job = env
            .iter()
            .find(|(k, _)| k == "DAFT_JOB")
            .map(|(_, v)| v.clone());
        if let (true, Some(job)) = (of_run, job) {
            out.entry(job).or_default().push(Pid {
                pid,
                start: stat.start,
            });
        }
    }
    out
}

/// What the run's jobs left behind that the supervisor adopted, by job: listed beside each
/// job's record (so a cancel or a removal can end them even without us), and ended with
/// their job.
#[derive(Default)]
pub(crate) struct Leftovers {
    by_job: BTreeMap<String, Vec<Pid>>,
    /// When SIGKILL follows the SIGTERM they were sent, per job.
    ending: BTreeMap<String, Instant>,
}

impl Leftovers {
    pub(crate) fn refresh(&mut self, run: &Run) {
        let now = adopted(&run.meta.id);
        for (job, procs) in &now {
            if self.by_job.get(job) != Some(procs) {
                stop::write_leftovers(run, job, procs);
            }
        }
        for job in self.by_job.keys().filter(|job| !now.contains_key(*job)) {
            stop::write_leftovers(run, job, &[]);
        }
        self.by_job = now;
        self.ending.retain(|job, _| self.by_job.contains_key(job));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_job.is_empty()
    }

    pub(crate) fn end(&mut self, job: &str) {
        if let Some(procs) = self.by_job.get(job)
            && !self.ending.contains_key(job)
        {
            stop::signal_all(procs, sys::SIGTERM);
            self.ending.insert(job.to_owned(), Instant::now() + GRACE);
        }
    }

    pub(crate) fn end_all(&mut self) {
        let jobs: Vec<String> = self.by_job.keys().cloned().collect();
        for job in jobs {
            self.end(&job);
        }
    }

    pub(crate) fn enforce(&mut self) {
        let now = Instant::now();
        for (job, at) in &self.ending {
            if *at <= now
                && let Some(procs) = self.by_job.get(job)
            {
                stop::signal_all(procs, sys::SIGKILL);
            }
        }
    }
}
