//! What a job leaves behind, and whose it is. Every process a job starts inherits its run and
//! name (`DAFT_RUN`, `DAFT_JOB`), so a process that left the job's process group — a dev server
//! that daemonized, `nohup … &`, a build server — is still found in the process table, on
//! Linux and macOS alike, without a subreaper.
//!
//! The rule: a process whose working directory is inside the worktree serves the worktree (a
//! dev server, a watcher): it is ended with its job when the job fails, times out or is
//! cancelled, and with the worktree when that goes. A process that moved its working directory
//! out of the worktree has made itself the user's: a per-user build server (sccache's, Gradle's
//! or Kotlin's daemon daemonize into a directory of their own) that the user's other builds
//! share. daft leaves it running and says so in the job's log. (A process that clears its
//! environment and leaves both its session and the worktree is not found.)

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::platform::{self, GRACE, Pid, Signal, State};
use crate::runs::Run;

/// The processes of run `run` outside the jobs' own processes (`own`), by job: those that
/// serve the worktree at `root`, and those that made themselves the user's (with what they
/// run, for the log).
pub(crate) struct Found {
    pub(crate) worktree: BTreeMap<String, Vec<Pid>>,
    pub(crate) users: BTreeMap<String, Vec<(Pid, String)>>,
}

/// Looks over the process table for run `run`'s processes; those in `known` were the
/// worktree's before (a worktree deleted under them does not make them the user's).
pub(crate) fn find(run: &str, root: &Path, own: &[u32], known: &[Pid]) -> Found {
    let me = std::process::id();
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let mut found = Found {
        worktree: BTreeMap::new(),
        users: BTreeMap::new(),
    };
    for process in platform::processes() {
        if process.pid == me || process.state == State::Zombie || own.contains(&process.pid) {
            continue;
        }
        let env = platform::environ(process.pid);
        let value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        if value("DAFT_RUN") != Some(run) {
            continue;
        }
        let Some(job) = value("DAFT_JOB") else {
            continue;
        };
        let dir = platform::working_dir(process.pid);
        match dir {
            _ if known.contains(&process.id()) => {
                found
                    .worktree
                    .entry(job.to_owned())
                    .or_default()
                    .push(process.id());
            }
            Some(dir) if dir.starts_with(&root) => {
                found
                    .worktree
                    .entry(job.to_owned())
                    .or_default()
                    .push(process.id());
            }
            dir => found.users.entry(job.to_owned()).or_default().push((
                process.id(),
                dir.map_or_else(|| "?".into(), |d| d.display().to_string()),
            )),
        }
    }
    found
}

/// The processes job `job` of `run` left in the worktree, as its supervisor listed them, that
/// are still alive.
pub(crate) fn listed(run: &Run, job: &str) -> Vec<Pid> {
    std::fs::read_to_string(run.procs_path(job))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (pid, start) = line.split_once(' ')?;
            Some(Pid {
                pid: pid.parse().ok()?,
                start: start.parse().ok()?,
            })
        })
        .filter(|p| p.pid > 1 && p.alive())
        .collect()
}

/// Writes the list [`listed`] reads.
fn list(run: &Run, job: &str, procs: &[Pid]) {
    let text = procs.iter().fold(String::new(), |mut text, p| {
        use std::fmt::Write as _;
        let _ = writeln!(text, "{} {}", p.pid, p.start);
        text
    });
    let _ = crate::files::write_atomically(run.procs_path(job), text.as_bytes());
}

/// The supervisor's view of what its run's jobs left behind: listed beside each job's record
/// (so a cancel or a removal can end them even without it), ended with their job when that
/// ends unwell, and with the worktree.
#[derive(Default)]
pub(crate) struct Leftovers {
    by_job: BTreeMap<String, Vec<Pid>>,
    /// Jobs whose leftovers go as soon as they are seen (their job ended unwell).
    doomed: Vec<String>,
    /// When SIGKILL follows the SIGTERM they were sent, per job.
    ending: BTreeMap<String, Instant>,
    /// The user's processes already named in a job's log.
    told: Vec<Pid>,
    looked: Option<Instant>,
}

impl Leftovers {
    /// Looks again (at most once a second unless `now`): what is left, and lists it. Returns
    /// a sentence for each process newly found that is the user's, left running.
    pub(crate) fn refresh(
        &mut self,
        run: &Run,
        root: &Path,
        own: &[u32],
        now: bool,
    ) -> Vec<String> {
        let mut said = Vec::new();
        if !now
            && self
                .looked
                .is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(1))
        {
            return said;
        }
        self.looked = Some(Instant::now());
        let known: Vec<Pid> = self.by_job.values().flatten().copied().collect();
        let found = find(&run.meta.id, root, own, &known);
        for (job, procs) in &found.worktree {
            if self.by_job.get(job) != Some(procs) {
                list(run, job, procs);
            }
        }
        for job in self
            .by_job
            .keys()
            .filter(|job| !found.worktree.contains_key(*job))
        {
            list(run, job, &[]);
        }
        for (job, procs) in &found.users {
            for (pid, dir) in procs {
                if self.told.contains(pid) {
                    continue;
                }
                self.told.push(*pid);
                said.push(format!(
                    "job `{job}` left pid {} running in {dir}, outside the worktree: the user's (a build server its builds share); left alone",
                    pid.pid
                ));
            }
        }
        self.by_job = found.worktree;
        self.ending.retain(|job, _| self.by_job.contains_key(job));
        let doomed: Vec<String> = self.doomed.clone();
        for job in doomed {
            self.end(&job);
        }
        said
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_job.is_empty()
    }

    /// Ends job `job`'s leftovers, now and whenever more of them appear.
    pub(crate) fn end(&mut self, job: &str) {
        if !self.doomed.iter().any(|d| d == job) {
            self.doomed.push(job.to_owned());
        }
        if let Some(procs) = self.by_job.get(job)
            && !self.ending.contains_key(job)
        {
            platform::signal_all(procs, Signal::Term);
            self.ending.insert(job.to_owned(), Instant::now() + GRACE);
        }
    }

    pub(crate) fn end_all(&mut self) {
        let jobs: Vec<String> = self.by_job.keys().cloned().collect();
        for job in jobs {
            self.end(&job);
        }
    }

    /// SIGKILL for what outlived its grace period.
    pub(crate) fn enforce(&mut self) {
        let now = Instant::now();
        for (job, at) in &self.ending {
            if *at <= now
                && let Some(procs) = self.by_job.get(job)
            {
                platform::signal_all(procs, Signal::Kill);
            }
        }
    }
}
