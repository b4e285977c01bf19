//! What a job's record says: its status, the process that runs it and the one that owns the
//! record, its times, why it ended as it did. How a record reads when what it names is gone
//! (`lost`) or when it cannot be read at all (`damaged`) is decided here.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::platform::Pid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    Pending,
    Running,
    /// (a service) Running, not ready yet.
    Starting,
    /// (a service) Running and ready: done, for `daft hooks wait` and the jobs that need it.
    Ready,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    /// Not run: a job it needs did not succeed, or the run was stopped.
    Skipped,
    /// Not run: its own `only:`/`skip:` said so. Counts as done for the jobs that need it.
    SkippedByCondition,
    /// (background) Stopped because a process of the user's waited for a lock it held: the
    /// user's own command is doing its work. Not a failure; its dependents do not run.
    Yielded,
    /// Its process vanished without a recorded end.
    Lost,
    /// Its record cannot be read: what happened is unknown.
    Damaged,
}

impl Status {
    pub(crate) fn is_final(self) -> bool {
        !matches!(
            self,
            Self::Pending | Self::Running | Self::Starting | Self::Ready
        )
    }

    /// Whether there is nothing more to wait for: it ended, or it is a service that is ready.
    pub(crate) fn settled(self) -> bool {
        self.is_final() || self == Self::Ready
    }

    /// Whether the job ended so that what needs it may go on.
    pub(crate) fn went_well(self) -> bool {
        matches!(self, Self::Succeeded | Self::SkippedByCondition)
    }

    /// Whether it ended in a way that is no failure of the run (a yield is not).
    pub(crate) fn no_failure(self) -> bool {
        self.went_well() || matches!(self, Self::Yielded | Self::Ready)
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed-out",
            Self::Cancelled => "cancelled",
            Self::Skipped | Self::SkippedByCondition => "skipped",
            Self::Yielded => "yielded",
            Self::Lost => "lost",
            Self::Damaged => "damaged",
        }
    }
}

/// One job of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JobRecord {
    pub(crate) name: String,
    pub(crate) background: bool,
    pub(crate) status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exit_code: Option<i32>,
    /// Why it was skipped, failed to start, was cancelled or was lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// What the job said about how it went, for the summary (a copy's warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
    /// The job's process, which leads its process group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) process: Option<Pid>,
    /// The process that will record the job's end: the hook or the supervisor.
    pub(crate) owner: Pid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) started_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ended_at: Option<f64>,
    /// (a service) What tells it is ready, and since when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) service: Option<Service>,
}

/// A service's readiness, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Service {
    /// The port it serves on, when that is how it is told ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) port: Option<u16>,
    /// How it is told ready: `port web (4711)`, or `` `CMD` exits 0 ``.
    pub(crate) probe: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ready_at: Option<f64>,
}

impl JobRecord {
    pub(crate) fn pending(name: &str, background: bool, owner: Pid) -> Self {
        Self {
            name: name.to_owned(),
            background,
            status: Status::Pending,
            exit_code: None,
            reason: None,
            note: None,
            process: None,
            owner,
            started_at: None,
            ended_at: None,
            service: None,
        }
    }

    /// What is shown for a job whose record cannot be read.
    pub(crate) fn damaged(name: &str, why: String) -> Self {
        Self {
            status: Status::Damaged,
            reason: Some(why),
            ..Self::pending(name, false, Pid { pid: 0, start: 0 })
        }
    }

    /// The record with times no clock could have written (negative, not finite, far in the
    /// future) dropped, so nothing downstream computes with them.
    pub(crate) fn repaired(mut self) -> Self {
        let (started, ended) = (sane_time(self.started_at), sane_time(self.ended_at));
        if (started, ended) != (self.started_at, self.ended_at) {
            self.reason
                .get_or_insert_with(|| "its record was damaged; times dropped".into());
        }
        self.started_at = started;
        self.ended_at = ended.filter(|end| started.is_none_or(|start| *end >= start));
        self
    }

    /// The status as it really is: a job recorded as pending or running whose process and owner
    /// are both gone is `lost`.
    pub(crate) fn resolve(mut self) -> Self {
        if self.status.is_final() {
            return self;
        }
        let job_alive = self.process.is_some_and(Pid::alive);
        if !job_alive && !self.owner.alive() {
            self.status = Status::Lost;
            self.reason =
                Some("its process ended without a recorded result (daft was killed?)".into());
        }
        self
    }
}

/// `time` if it is a Unix time a clock could have written: not before 2000, not more than a
/// day ahead.
pub(crate) fn sane_time(time: Option<f64>) -> Option<f64> {
    time.filter(|t| t.is_finite() && *t >= 946_684_800.0 && *t <= now() + 86_400.0)
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
