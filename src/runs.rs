//! Runs and their records. Each hook call with jobs is a run; each job of it has a record (its
//! status, pid, times) and a log. They live under
//! `<git-common-dir>/daft/worktrees/<worktree id>/runs/<run>/`, so every worktree of the clone
//! can see them and they follow a worktree that moves: daft's own files at the top of a run's
//! directory, the jobs' under `jobs/`, so no job name can collide with them. Every record has
//! exactly one writer (the hook for synchronous jobs, the supervisor for background ones) and
//! is replaced atomically, so readers need no lock. Records keep a fixed size on disk, so that
//! when the disk fills a job's end can still be written over its start in place.

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::files::write_atomically;
use crate::sys;

/// Runs kept per worktree, and the size all runs of a clone may take, before the oldest go.
const KEEP_RUNS: usize = 20;
const SIZE_CAP: u64 = 200 * 1024 * 1024;
/// The size every job record takes on disk (JSON, padded with spaces).
const RECORD_SIZE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    Pending,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Skipped,
    /// Its process vanished without a recorded end.
    Lost,
}

impl Status {
    pub(crate) fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed-out",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
            Self::Lost => "lost",
        }
    }
}

/// A process, named so that a reused pid is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pid {
    pub(crate) pid: u32,
    pub(crate) start: u64,
}

impl Pid {
    pub(crate) fn of(pid: u32) -> Option<Self> {
        sys::process_start_time(pid).map(|start| Self { pid, start })
    }

    pub(crate) fn current() -> Self {
        Self::of(std::process::id()).unwrap_or(Self {
            pid: std::process::id(),
            start: 0,
        })
    }

    pub(crate) fn alive(self) -> bool {
        sys::process_alive(self.pid, self.start)
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
    /// The job's process, which leads its process group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) process: Option<Pid>,
    /// The process that will record the job's end: the hook or the supervisor.
    pub(crate) owner: Pid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) started_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ended_at: Option<f64>,
}

impl JobRecord {
    pub(crate) fn pending(name: &str, background: bool, owner: Pid) -> Self {
        Self {
            name: name.to_owned(),
            background,
            status: Status::Pending,
            exit_code: None,
            reason: None,
            process: None,
            owner,
            started_at: None,
            ended_at: None,
        }
    }

    /// Whether the job ended so that what needs it may go on: it succeeded, or its own
    /// condition (`only:`/`skip:`) skipped it.
    pub(crate) fn went_well(&self) -> bool {
        self.status == Status::Succeeded
            || (self.status == Status::Skipped
                && self
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("only: ") || r.starts_with("skip: ")))
    }

    /// The record with times no clock could have written (negative, not finite, far in the
    /// future) dropped, so nothing downstream computes with them.
    fn repaired(mut self) -> Self {
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

/// What a run was.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunMeta {
    pub(crate) id: String,
    pub(crate) event: String,
    pub(crate) worktree: Utf8PathBuf,
    pub(crate) started_at: f64,
    /// In config order.
    pub(crate) jobs: Vec<String>,
}

pub(crate) struct Run {
    pub(crate) dir: Utf8PathBuf,
    pub(crate) meta: RunMeta,
}

impl Run {
    /// Starts a new run of `event` in `worktree`, pruning old runs first.
    pub(crate) fn create(
        common_dir: &Utf8Path,
        id: &str,
        worktree: &Utf8Path,
        event: &str,
        jobs: Vec<String>,
    ) -> Result<Self> {
        let owner = common_dir.join("daft").join("worktrees").join(id);
        Self::create_in(owner.as_std_path(), common_dir, worktree, event, jobs)
    }

    /// Starts a new run in `owner`'s `runs` directory (a worktree's, or a removed one's).
    pub(crate) fn create_in(
        owner: &std::path::Path,
        common_dir: &Utf8Path,
        worktree: &Utf8Path,
        event: &str,
        jobs: Vec<String>,
    ) -> Result<Self> {
        let parent = crate::event::utf8(&owner.join("runs"))?;
        prune(common_dir, &parent);
        let started_at = now();
        let id = format!(
            "{:013}-{}",
            (started_at * 1000.0) as u64,
            std::process::id()
        );
        let dir = parent.join(&id);
        fs::create_dir_all(dir.join("jobs"))
            .with_context(|| format!("cannot create the run directory {dir}"))?;
        let meta = RunMeta {
            id,
            event: event.to_owned(),
            worktree: worktree.to_owned(),
            started_at,
            jobs,
        };
        write_json(&dir.join("run.json"), &meta)?;
        Ok(Self { dir, meta })
    }

    pub(crate) fn open(dir: &Utf8Path) -> Result<Self> {
        let mut meta: RunMeta = read_json(&dir.join("run.json"))?;
        meta.started_at = sane_time(Some(meta.started_at)).unwrap_or(0.0);
        Ok(Self {
            dir: dir.to_owned(),
            meta,
        })
    }

    pub(crate) fn log_path(&self, job: &str) -> Utf8PathBuf {
        self.dir.join("jobs").join(format!("{job}.log"))
    }

    fn record_path(&self, job: &str) -> Utf8PathBuf {
        self.dir.join("jobs").join(format!("{job}.json"))
    }

    /// Writes a job's record: atomically, and at a fixed size. When the atomic write fails
    /// (a full disk), the new record is written over the old one in place, in the space the
    /// old one already holds.
    pub(crate) fn write_job(&self, record: &JobRecord) -> Result<()> {
        let mut bytes = serde_json::to_vec(record).context("cannot encode a job record")?;
        if bytes.len() < RECORD_SIZE {
            bytes.resize(RECORD_SIZE - 1, b' ');
            bytes.push(b'\n');
        }
        let path = self.record_path(&record.name);
        write_atomically(path.as_std_path(), &bytes)
            .or_else(|err| overwrite_in_place(&path, &bytes).map_err(|_| err))
    }

    /// A job's record, with `lost` resolved and damaged values repaired. A record being
    /// rewritten in place may be read half-written: reading again gives the whole.
    pub(crate) fn job(&self, name: &str) -> Option<JobRecord> {
        let path = self.record_path(name);
        for attempt in 0..3 {
            match read_json::<JobRecord>(&path) {
                Ok(record) => return Some(record.repaired().resolve()),
                Err(_) if path.exists() && attempt < 2 => {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// The job records in config order, with `lost` resolved.
    pub(crate) fn jobs(&self) -> Vec<JobRecord> {
        self.meta
            .jobs
            .iter()
            .filter_map(|name| self.job(name))
            .collect()
    }

    /// Where `daft hooks cancel` leaves word for the supervisor that a job's end is a cancellation.
    pub(crate) fn cancel_marker(&self, job: &str) -> Utf8PathBuf {
        self.dir.join("jobs").join(format!("{job}.cancel"))
    }
}

/// Where the runs of worktree `id` live.
pub(crate) fn worktree_dir(common_dir: &Utf8Path, id: &str) -> Utf8PathBuf {
    common_dir
        .join("daft")
        .join("worktrees")
        .join(id)
        .join("runs")
}

/// The runs directories of every worktree of the clone.
fn all_worktree_dirs(common_dir: &Utf8Path) -> Vec<Utf8PathBuf> {
    let root = common_dir.join("daft").join("worktrees");
    root.read_dir_utf8().map_or_else(
        |_| Vec::new(),
        |entries| entries.flatten().map(|e| e.path().join("runs")).collect(),
    )
}

/// The runs of one worktree, newest first.
pub(crate) fn list(common_dir: &Utf8Path, id: &str) -> Vec<Run> {
    list_in(&worktree_dir(common_dir, id))
}

/// The runs in a `runs` directory, newest first.
pub(crate) fn list_in(runs_dir: &Utf8Path) -> Vec<Run> {
    let mut dirs = run_dirs(runs_dir);
    dirs.reverse();
    dirs.iter().filter_map(|dir| Run::open(dir).ok()).collect()
}

/// Run directories under one worktree's directory, oldest first (ids sort by time).
fn run_dirs(parent: &Utf8Path) -> Vec<Utf8PathBuf> {
    let Ok(entries) = parent.read_dir_utf8() else {
        return Vec::new();
    };
    let mut dirs: Vec<_> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.path().to_owned())
        .collect();
    dirs.sort();
    dirs
}

/// Drops the oldest finished runs of this worktree beyond [`KEEP_RUNS`], then the oldest
/// finished runs of the clone while all of them take more than [`SIZE_CAP`]. Best effort: a
/// run that cannot be removed now is removed another time.
fn prune(common_dir: &Utf8Path, worktree_dir: &Utf8Path) {
    let finished = |dir: &Utf8Path| {
        Run::open(dir).map_or(true, |run| {
            run.jobs().iter().all(|job| job.status.is_final())
        })
    };
    let mine = run_dirs(worktree_dir);
    let excess = mine.len().saturating_sub(KEEP_RUNS - 1);
    for dir in mine.iter().take(excess).filter(|dir| finished(dir)) {
        let _ = fs::remove_dir_all(dir);
    }
    let mut all: Vec<(String, Utf8PathBuf, u64)> = all_worktree_dirs(common_dir)
        .iter()
        .flat_map(|dir| run_dirs(dir))
        .map(|dir| {
            (
                dir.file_name().unwrap_or_default().to_owned(),
                dir.clone(),
                dir_size(&dir) + dir_size(&dir.join("jobs")),
            )
        })
        .collect();
    let mut total: u64 = all.iter().map(|(_, _, size)| size).sum();
    all.sort();
    for (_, dir, size) in all {
        if total <= SIZE_CAP {
            break;
        }
        if finished(&dir) && fs::remove_dir_all(&dir).is_ok() {
            total -= size;
        }
    }
}

fn dir_size(dir: &Utf8Path) -> u64 {
    dir.read_dir_utf8().map_or(0, |entries| {
        entries
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}

/// A background failure not yet shown to the user in that worktree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Unseen {
    pub(crate) job: String,
    pub(crate) run: String,
    pub(crate) status: Status,
    pub(crate) exit_code: Option<i32>,
}

fn unseen_path(common_dir: &Utf8Path, id: &str) -> Utf8PathBuf {
    common_dir
        .join("daft")
        .join("worktrees")
        .join(id)
        .join("unseen-failures")
}

/// Leaves word of a background failure for the next daft call in that worktree.
pub(crate) fn note_failure(common_dir: &Utf8Path, id: &str, failure: &Unseen) {
    use std::io::Write as _;
    let path = unseen_path(common_dir, id);
    let line = serde_json::to_string(failure).unwrap_or_default();
    if let Ok(mut file) = fs::OpenOptions::new().create(true).append(true).open(&path) {
        let _ = writeln!(file, "{line}");
    }
}

/// Takes the unseen background failures of a worktree (so each is told once).
pub(crate) fn take_failures(common_dir: &Utf8Path, id: &str) -> Vec<Unseen> {
    let path = unseen_path(common_dir, id);
    let taken = path.with_extension(format!("taken-{}", std::process::id()));
    if fs::rename(&path, &taken).is_err() {
        return Vec::new();
    }
    let text = fs::read_to_string(&taken).unwrap_or_default();
    let _ = fs::remove_file(&taken);
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// `time` if it is a Unix time a clock could have written: not before 2000, not more than a
/// day ahead.
fn sane_time(time: Option<f64>) -> Option<f64> {
    time.filter(|t| t.is_finite() && *t >= 946_684_800.0 && *t <= now() + 86_400.0)
}

/// Writes `bytes` over the start of the existing file at `path`, in the blocks it holds: no
/// new space is needed. Only for same-sized records.
fn overwrite_in_place(path: &Utf8Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    if file.metadata()?.len() < bytes.len() as u64 {
        return Err(std::io::Error::other("no room for the record"));
    }
    file.write_all(bytes)
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn write_json<T: Serialize>(path: &Utf8Path, value: &T) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).context("cannot encode a run record")?;
    write_atomically(path.as_std_path(), &text)
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Utf8Path) -> Result<T> {
    let text = fs::read(path).with_context(|| format!("cannot read {path}"))?;
    serde_json::from_slice(&text).with_context(|| format!("{path} is not a valid record"))
}
