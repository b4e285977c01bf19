//! Ending a job: signalled (TERM to its process group, KILL after the grace period), its
//! deadlines kept, its end noticed — a condition's end decides whether the job goes on — and
//! recorded once, with what it left half-done swept.
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::time::Instant;

use super::GRACE;
use crate::job;
use crate::platform::{self, Signal};
use crate::runs::{Status, now};

impl super::Engine {
    pub(super) fn signal(&mut self, i: usize, status: Status, reason: &str) {
        let Some(process) = self.running.get_mut(&i) else {
            return;
        };
        if process.ending.is_none() {
            process.ending = Some((status, reason.to_owned()));
            process.kill_at = Some(Instant::now() + GRACE);
            platform::signal_group(process.pid, Signal::Term);
        }
    }

    pub(super) fn enforce_deadlines(&mut self) {
        let now = Instant::now();
        let mut expired = Vec::new();
        for (&i, process) in &mut self.running {
            if process.kill_at.is_some_and(|at| at <= now) {
                platform::signal_group(process.pid, Signal::Kill);
                process.kill_at = None;
            } else if let Some((_, expired)) = &mut process.check
                && !*expired
                && process.deadline.is_some_and(|at| at <= now)
            {
                // A condition is a quick check: past its limit it does not hold.
                *expired = true;
                platform::signal_group(process.pid, Signal::Kill);
            } else if process.ending.is_none()
                && process.check.is_none()
                && process.deadline.is_some_and(|at| at <= now)
            {
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

    pub(super) fn exited(&mut self, i: usize, exit: ExitStatus) {
        let Some(process) = self.running.remove(&i) else {
            return;
        };
        // A condition that ended on its own has its say; the job goes on or is skipped.
        if let (Some((check, expired)), None) = (&process.check, &process.ending)
            && !self.run.cancel_marker(&self.event.jobs[i].name).exists()
        {
            let exited_ok = (!expired).then(|| exit.success());
            match check.verdict(exited_ok) {
                Ok(()) => {
                    self.launch(i);
                }
                Err(why) => {
                    self.pending.remove(&i);
                    self.ledger.skipped_by_condition(i, why);
                }
            }
            self.flush();
            return;
        }
        self.pending.remove(&i);
        self.probing.remove(&i);
        if let Some(output) = process.output_done {
            output.drain();
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
                platform::signal_group(process.pid, Signal::Kill);
                (status, Some(reason))
            }
            None if self.event.jobs[i].ready.is_some() => {
                (Status::Failed, Some(self.service_ended(i, exit)))
            }
            None if exit.success() => (Status::Succeeded, None),
            None => (
                Status::Failed,
                exit.signal().map(|s| format!("killed by signal {s}")),
            ),
        };
        self.end(i, status, code, reason);
    }

    /// Why a service that ended by itself failed: it was to run until its worktree goes.
    fn service_ended(&self, i: usize, exit: ExitStatus) -> String {
        let how = match (exit.code(), exit.signal()) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "ended".to_owned(),
        };
        let job = &self.event.jobs[i].name;
        if self.ledger.records[i].status == Status::Ready {
            format!(
                "stopped serving ({how}) after it was ready; daft does not restart a service by itself (a crash loop would hide the crash): `daft hooks run {} --job {job}` starts it again",
                self.ctx.event.name()
            )
        } else {
            format!("ended ({how}) before it was ready")
        }
    }

    pub(super) fn end(
        &mut self,
        i: usize,
        status: Status,
        code: Option<i32>,
        reason: Option<String>,
    ) {
        // A copy that did not finish may have left a file half-written: not for long.
        if let (crate::config::Action::Copy { items, .. }, false) =
            (&self.event.jobs[i].action, status.went_well())
        {
            crate::copy::sweep(self.ctx.worktree.as_std_path(), items);
        }
        self.ledger.ended(i, status, code, reason, now());
        if let Some(note) = job::take_note(&self.run.log_path(&self.event.jobs[i].name)) {
            self.ledger.records[i].note = Some(note);
        }
        self.flush();
    }
}
