//! Starting a job: its command made, its conditions' commands run first (each a process the
//! loop waits for like any other), then the job itself, in its process group, with its
//! output where it goes; and what happens when the system has no room for another process.
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Msg, Output, Pending, Process};
use crate::job::{self, Started};
use crate::platform::Pid;
use crate::runs::{Status, now};

impl super::Engine {
    /// Starts job `i`; returns false when no more jobs should be tried now.
    pub(super) fn start(&mut self, i: usize) -> bool {
        let job = &self.event.jobs[i];
        if self.run.cancel_marker(&job.name).exists() {
            self.end(
                i,
                Status::Cancelled,
                None,
                Some("cancelled by `daft hooks cancel` before it started".into()),
            );
            return true;
        }
        let log = self.run.log_path(&job.name);
        let prepared = match job::command(job, &self.ctx, &self.run.meta.id, &log) {
            Ok(Ok(prepared)) => prepared,
            Ok(Err(why)) => {
                self.ledger.skipped_by_condition(i, why);
                return true;
            }
            Err(reason) => {
                self.end(i, Status::Failed, None, Some(reason));
                return true;
            }
        };
        self.pending.insert(
            i,
            Pending {
                cmd: prepared.cmd,
                checks: prepared.checks.into(),
                ready: prepared.ready,
            },
        );
        self.launch(i)
    }

    /// Starts job `i`'s next condition, or, when none is left, the job itself. Returns false
    /// when no more jobs should be tried now.
    pub(super) fn launch(&mut self, i: usize) -> bool {
        let Some(mut pending) = self.pending.remove(&i) else {
            return true;
        };
        if let Some((check, cmd)) = pending.checks.pop_front() {
            self.pending.insert(i, pending);
            let tx = self.tx.clone();
            let spawned = job::spawn_check(cmd, move |status| {
                let _ = tx.send(Msg::Exited(i, status));
            });
            return match spawned {
                Ok(pid) => {
                    let started = Instant::now();
                    self.running.insert(
                        i,
                        Process {
                            pid,
                            started,
                            deadline: Some(started + crate::conditions::RUN_LIMIT),
                            kill_at: None,
                            ending: None,
                            output_done: None,
                            check: Some((check, false)),
                        },
                    );
                    self.ledger
                        .started(i, Pid::of(pid).unwrap_or(Pid { pid, start: 0 }), now());
                    true
                }
                Err(not_started) => {
                    self.pending.remove(&i);
                    self.not_started(i, not_started)
                }
            };
        }
        let job = &self.event.jobs[i];
        let log = self.run.log_path(&job.name);
        let cmd = pending.cmd;
        let tx = self.tx.clone();
        let terminal = match &self.output {
            Output::Printed(printer) => Some((job.name.clone(), Arc::clone(printer))),
            Output::Logged => None,
        };
        let spawned = job::spawn(cmd, &log, terminal, self.stdin.clone(), move |status| {
            let _ = tx.send(Msg::Exited(i, status));
        });
        let Started { pid, output_done } = match spawned {
            Ok(started) => started,
            Err(not_started) => return self.not_started(i, not_started),
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
                check: None,
            },
        );
        if let Some(test) = pending.ready {
            self.ledger.records[i].service = Some(test.record());
            let within = job
                .ready
                .as_ref()
                .map_or(crate::config::READY_WITHIN, |r| r.within);
            self.probing
                .insert(i, crate::service::Probing::new(test, within));
        }
        self.ledger
            .started(i, Pid::of(pid).unwrap_or(Pid { pid, start: 0 }), now());
        true
    }

    /// Job `i` (or its condition) could not start. Returns false when no more jobs should be
    /// tried now.
    pub(super) fn not_started(&mut self, i: usize, why: job::NotStarted) -> bool {
        match why {
            job::NotStarted::ForNow(why) => {
                // Out of processes or threads: it waits for a running job to end, or, when
                // none of ours runs, is tried again shortly (and fails after a few seconds).
                let others = self.ledger.others_running(i);
                let tries = self.retries.entry(i).or_insert(0);
                *tries += 1;
                if !others && *tries > 30 {
                    self.end(i, Status::Failed, None, Some(why));
                    return true;
                }
                self.ledger.later(i);
                if !others {
                    self.retry_at = Some(Instant::now() + Duration::from_millis(100));
                }
                false
            }
            job::NotStarted::Never(reason) => {
                self.end(i, Status::Failed, None, Some(reason));
                true
            }
        }
    }
}
