//! Runs and their records. Each hook call with jobs is a run; each job of it has a record (its
//! status, pid, times) and a log, under the worktree's `runs/<run>/` (see `state`): daft's own
//! files at the top of a run's directory, the jobs' under `jobs/`, so no job name can collide
//! with them. Every record has exactly one writer (the hook for synchronous jobs, the
//! supervisor for background ones) and is replaced atomically, so readers need no lock.
//! Records keep a fixed size on disk, so that when the disk fills a job's end can still be
//! written over its start in place.
//!
//! Runs are numbered by a counter of the clone, not named by the clock: a clock that jumps
//! back cannot make an old run look new. A record that cannot be read is shown as `damaged`,
//! never left out: a missing failure must not read as success.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::files::{open_lock, write_atomically};
pub(crate) use crate::platform::Pid;
use crate::state::{State, WorktreeDir};
use crate::status::sane_time;
pub(crate) use crate::status::{JobRecord, Service, Status, now};

mod prune;

/// Runs kept per worktree, and the size all runs of a clone may take, before the oldest go
/// (see `prune`).
const KEEP_RUNS: usize = 20;
pub(crate) const SIZE_CAP: u64 = 200 * 1024 * 1024;
/// The size every job record takes on disk (JSON, padded with spaces).
const RECORD_SIZE: usize = 4096;

/// What a run was.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunMeta {
    pub(crate) id: String,
    pub(crate) event: String,
    pub(crate) worktree: PathBuf,
    pub(crate) started_at: f64,
    /// In config order.
    pub(crate) jobs: Vec<String>,
}

pub(crate) struct Run {
    pub(crate) dir: PathBuf,
    pub(crate) meta: RunMeta,
    /// Why `run.json` could not be read, when it could not: the jobs are then those that
    /// have records.
    pub(crate) damaged: Option<String>,
}

impl Run {
    /// Starts a new run of `event` in `worktree` under `owner` (a worktree's directory, or a
    /// removed one's), pruning old runs first; `keep` names runs that must stay (the
    /// worktree's setup run). Every job is recorded pending, owned by this process, before
    /// anyone can see the run.
    pub(crate) fn create(
        state: &State,
        owner: &WorktreeDir,
        worktree: &Path,
        event: &str,
        jobs: &[(String, bool)],
        keep: &[&str],
    ) -> Result<Self> {
        let parent = owner.runs();
        // Room for this run's logs at their cap, so the clone stays within its budget while
        // they are written.
        let reserve = jobs.len() as u64 * crate::logfile::CAP;
        prune::prune(state, &parent, keep, reserve);
        let id = format!("{:012}-{}", next_seq(state)?, std::process::id());
        let final_dir = parent.join(&id);
        // Made under a temporary name and renamed whole: no reader sees a run without records.
        let dir = parent.join(format!(".{id}.new"));
        fs::create_dir_all(dir.join("jobs"))
            .with_context(|| format!("cannot create the run directory {}", dir.display()))?;
        let meta = RunMeta {
            id,
            event: event.to_owned(),
            worktree: worktree.to_owned(),
            started_at: now(),
            jobs: jobs.iter().map(|(name, _)| name.clone()).collect(),
        };
        let mut run = Self {
            dir,
            meta,
            damaged: None,
        };
        let owner = Pid::current();
        for (name, background) in jobs {
            run.write_job(&JobRecord::pending(name, *background, owner))?;
        }
        write_json(&run.dir.join("run.json"), &run.meta)?;
        fs::rename(&run.dir, &final_dir)
            .with_context(|| format!("cannot create the run directory {}", final_dir.display()))?;
        run.dir = final_dir;
        Ok(run)
    }

    /// The run in `dir`. A `run.json` that cannot be read gives a damaged run whose jobs are
    /// those with records.
    pub(crate) fn open(dir: &Path) -> Self {
        match read_json::<RunMeta>(&dir.join("run.json")) {
            Ok(mut meta) => {
                meta.started_at = sane_time(Some(meta.started_at)).unwrap_or(0.0);
                Self {
                    dir: dir.to_owned(),
                    meta,
                    damaged: None,
                }
            }
            Err(err) => {
                let id = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let mut jobs: Vec<String> = fs::read_dir(dir.join("jobs"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        name.strip_suffix(".json").map(str::to_owned)
                    })
                    .collect();
                jobs.sort();
                Self {
                    dir: dir.to_owned(),
                    meta: RunMeta {
                        id,
                        event: "(unknown: its record is damaged)".into(),
                        worktree: PathBuf::new(),
                        started_at: 0.0,
                        jobs,
                    },
                    damaged: Some(format!("{err:#}")),
                }
            }
        }
    }

    pub(crate) fn log_path(&self, job: &str) -> PathBuf {
        self.dir.join("jobs").join(format!("{job}.log"))
    }

    /// The processes a job left in the worktree, as its supervisor last saw them.
    pub(crate) fn procs_path(&self, job: &str) -> PathBuf {
        self.dir.join("jobs").join(format!("{job}.procs"))
    }

    fn record_path(&self, job: &str) -> PathBuf {
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
        write_atomically(&path, &bytes)
            .or_else(|err| overwrite_in_place(&path, &bytes).map_err(|_| err))
    }

    /// A job's record, with `lost` resolved and damaged values repaired; a record that cannot
    /// be read is `damaged`. A record being rewritten in place may be read half-written:
    /// reading again gives the whole.
    pub(crate) fn job(&self, name: &str) -> JobRecord {
        let path = self.record_path(name);
        let mut last = String::new();
        for attempt in 0..3 {
            match read_record(&path) {
                Ok(record) if record.name == name => return record.repaired().resolve(),
                Ok(record) => {
                    last = format!(
                        "its record names another job ({})",
                        crate::escape::text(&record.name)
                    );
                }
                Err(err) => last = err,
            }
            if attempt < 2 {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        JobRecord::damaged(name, format!("its record cannot be read: {last}"))
    }

    /// The job records in config order, with `lost` resolved.
    pub(crate) fn jobs(&self) -> Vec<JobRecord> {
        self.meta.jobs.iter().map(|name| self.job(name)).collect()
    }

    /// Where `daft hooks cancel` leaves word for the supervisor that a job's end is a cancellation.
    pub(crate) fn cancel_marker(&self, job: &str) -> PathBuf {
        self.dir.join("jobs").join(format!("{job}.cancel"))
    }
}

/// Reads a job record: the JSON value at its start (what follows is padding, whatever became
/// of it).
fn read_record(path: &Path) -> Result<JobRecord, String> {
    let bytes = fs::read(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => "it is missing".to_owned(),
        _ => err.to_string(),
    })?;
    let mut values = serde_json::Deserializer::from_slice(&bytes).into_iter::<JobRecord>();
    match values.next() {
        Some(Ok(record)) => Ok(record),
        Some(Err(err)) => Err(format!("not a job record ({err})")),
        None => Err("it is empty".to_owned()),
    }
}

/// The runs of one worktree (or removed worktree), newest first.
pub(crate) fn list(owner: &WorktreeDir) -> Vec<Run> {
    let mut dirs = run_dirs(&owner.runs());
    dirs.reverse();
    dirs.iter().map(|dir| Run::open(dir)).collect()
}

/// Run directories under a `runs` directory, oldest first (ids sort by the clone's counter).
fn run_dirs(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut dirs: Vec<_> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|entry| !entry.file_name().as_encoded_bytes().starts_with(b"."))
        .map(|entry| entry.path())
        .collect();
    dirs.sort();
    dirs
}

/// The next number of the clone's run counter, taken under its lock. A counter that cannot
/// be read starts again above every run there is.
pub(crate) fn next_seq(state: &State) -> Result<u64> {
    fs::create_dir_all(state.root())
        .with_context(|| format!("cannot create {}", state.root().display()))?;
    let _lock = open_lock(&state.seq_lock())?;
    let current = fs::read_to_string(state.seq())
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or_else(|| highest_run(state));
    let next = current + 1;
    write_atomically(state.seq(), next.to_string().as_bytes())?;
    Ok(next)
}

/// The highest run number of the clone, from the runs' names.
fn highest_run(state: &State) -> u64 {
    all_run_dirs(state)
        .iter()
        .filter_map(|dir| {
            let name = dir.file_name()?.to_str()?;
            name.split('-').next()?.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Every run directory of the clone, live worktrees' and removed ones'.
fn all_run_dirs(state: &State) -> Vec<PathBuf> {
    [state.worktrees_dir(), state.removed_dir()]
        .iter()
        .filter_map(|root| fs::read_dir(root).ok())
        .flat_map(std::iter::Iterator::flatten)
        .flat_map(|e| run_dirs(&WorktreeDir::at(e.path()).runs()))
        .collect()
}

/// A background failure not yet shown to the user in that worktree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Unseen {
    pub(crate) job: String,
    pub(crate) run: String,
    pub(crate) status: Status,
    pub(crate) exit_code: Option<i32>,
}

/// Leaves word of a background failure for the next daft call in that worktree.
pub(crate) fn note_failure(owner: &WorktreeDir, failure: &Unseen) {
    use std::io::Write as _;
    let line = serde_json::to_string(failure).unwrap_or_default();
    if let Ok(mut file) = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(owner.unseen_failures())
    {
        let _ = writeln!(file, "{line}");
    }
}

/// Takes the unseen background failures of a worktree (so each is told once).
pub(crate) fn take_failures(owner: &WorktreeDir) -> Vec<Unseen> {
    let path = owner.unseen_failures();
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

/// Writes `bytes` over the start of the existing file at `path`, in the blocks it holds: no
/// new space is needed. Only for same-sized records.
fn overwrite_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .custom_flags(crate::platform::NO_FOLLOW)
        .open(path)?;
    if file.metadata()?.len() < bytes.len() as u64 {
        return Err(std::io::Error::other("no room for the record"));
    }
    file.write_all(bytes)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).context("cannot encode a run record")?;
    write_atomically(path, &text)
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if text.iter().all(u8::is_ascii_whitespace) {
        anyhow::bail!("{} is empty", path.display());
    }
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a valid record", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, status: Status) -> JobRecord {
        JobRecord {
            status,
            ..JobRecord::pending(name, true, Pid { pid: 1, start: 1 })
        }
    }

    #[test]
    fn a_record_with_damaged_padding_still_reads_and_a_damaged_one_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let run = Run {
            dir: dir.path().to_owned(),
            meta: RunMeta {
                id: "1".into(),
                event: "x".into(),
                worktree: PathBuf::new(),
                started_at: 0.0,
                jobs: vec!["a".into(), "b".into(), "c".into()],
            },
            damaged: None,
        };
        fs::create_dir_all(dir.path().join("jobs")).unwrap();
        run.write_job(&record("a", Status::Failed)).unwrap();
        // Zero the padding: the JSON at the start is whole.
        let path = run.record_path("a");
        let mut bytes = fs::read(&path).unwrap();
        let end = bytes.iter().position(|&b| b == b' ').unwrap();
        bytes[end..].fill(0);
        fs::write(&path, &bytes).unwrap();
        assert_eq!(run.job("a").status, Status::Failed);
        // Emptied, and never written: damaged, with the reason.
        run.write_job(&record("b", Status::Succeeded)).unwrap();
        fs::write(run.record_path("b"), b"").unwrap();
        let b = run.job("b");
        assert_eq!(b.status, Status::Damaged);
        assert!(b.reason.unwrap().contains("empty"));
        let c = run.job("c");
        assert_eq!(c.status, Status::Damaged);
        assert!(!c.status.went_well() && c.status.is_final());
    }

    #[test]
    fn an_unreadable_run_json_gives_a_damaged_run_with_the_jobs_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("000000000007-1");
        fs::create_dir_all(run_dir.join("jobs")).unwrap();
        fs::write(run_dir.join("run.json"), b"").unwrap();
        fs::write(run_dir.join("jobs/warm.json"), b"{").unwrap();
        let run = Run::open(&run_dir);
        assert!(run.damaged.is_some());
        assert_eq!(run.meta.jobs, ["warm"]);
        assert_eq!(run.jobs()[0].status, Status::Damaged);
    }

    #[test]
    fn run_numbers_grow_whatever_the_clock_says() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::of(dir.path());
        let a = next_seq(&state).unwrap();
        let b = next_seq(&state).unwrap();
        assert!(b > a);
        fs::write(state.seq(), b"garbage").unwrap();
        let owner = state.worktree("x_000000");
        fs::create_dir_all(owner.runs().join("000000000041-9")).unwrap();
        assert_eq!(next_seq(&state).unwrap(), 42);
    }
}
