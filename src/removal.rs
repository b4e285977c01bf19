//! A worktree that is gone, however it went — `daft remove`, `git worktree remove`, `rm -rf`
//! with or without `git worktree prune` — gets its `worktree-post-remove` jobs run once, and
//! its ports back. git has no hook for it, so daft notices: the worktree's supervisor if one is
//! alive, otherwise the next daft call anywhere in the clone, which looks over the clone's
//! index (one read and a `stat` each).
//!
//! Where a worktree is, is told by its anchor (see `registry`): the `.git` file of a worktree
//! that moved — `git worktree move`, or `mv` with or without `git worktree repair` — still has
//! its second link; one that was deleted has not. A worktree that has no anchor (its `.git`
//! file is on another file system than the clone) is gone only once git forgets it (`git
//! worktree remove`, `prune`, or `gc`'s prune of worktrees missing for three months): until
//! then daft cannot tell a deleted one from one moved by hand, and waits rather than tear down.
//!
//! The first process to rename the worktree's directory under `removed/` owns its teardown,
//! so it happens once. Processes its jobs left behind with no daft process to own them are
//! ended (a supervisor that was killed), then its teardown jobs run detached.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::printer::Printer;
use crate::registry::{self, Entry, Record};
use crate::resolve::Resolution;
use crate::runs::{self, Pid, Status};
use crate::state::State;

/// Where a worktree of the index is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Whereabouts {
    /// Where daft last saw it (or kept by git: locked).
    Here,
    /// Moved, and git knows where: `git worktree move`, or `mv` + `git worktree repair`.
    Moved(PathBuf),
    /// Moved by hand, not repaired yet: it exists, somewhere.
    Elsewhere,
    /// Deleted, or forgotten by git.
    Gone,
    /// Missing without an anchor to tell why, while git still knows it: wait.
    Unknown,
}

/// Where the worktree of `entry` is.
pub(crate) fn locate(state: &State, entry: &Entry) -> Whereabouts {
    let admin = state.common_dir().join("worktrees").join(&entry.admin);
    if !admin.is_dir() {
        return Whereabouts::Gone; // git removed or pruned it
    }
    let same_file = |dot_git: &Path| {
        dot_git
            .symlink_metadata()
            .is_ok_and(|m| entry.ino == 0 || m.ino() == entry.ino)
    };
    if same_file(&entry.path.join(".git")) {
        return Whereabouts::Here;
    }
    if admin.join("locked").exists() {
        return Whereabouts::Here; // git keeps it: it may be on a drive that is not mounted
    }
    // Asked of git (a process) only when the anchor does not already say it was deleted.
    let moved_to = || {
        crate::worktree::git_path(state.common_dir(), &entry.admin)
            .filter(|to| *to != entry.path && same_file(&to.join(".git")))
    };
    let anchor_links = (entry.ino != 0)
        .then(|| state.worktree(&entry.id).anchor().symlink_metadata().ok())
        .flatten()
        .filter(|anchor| anchor.ino() == entry.ino)
        .map(|anchor| anchor.nlink());
    match anchor_links {
        Some(0 | 1) => Whereabouts::Gone,
        Some(_) => moved_to().map_or(Whereabouts::Elsewhere, Whereabouts::Moved),
        None => moved_to().map_or(Whereabouts::Unknown, Whereabouts::Moved),
    }
}

/// Looks over the clone's worktrees and tears down those that are gone; `here` is the worktree
/// the call comes from (its id and root), which is where it is whatever the index says. Cheap
/// when nothing is gone: one file read and a `stat` per worktree.
pub(crate) fn sweep(state: &State, here: Option<(&str, &Path)>, printer: &Printer) {
    let bytes = registry::index_bytes(state);
    if bytes.is_empty() {
        return;
    }
    let entries: Vec<Entry> = registry::entries(&bytes).collect();
    let all_here = entries.iter().all(|e| {
        e.path
            .join(".git")
            .symlink_metadata()
            .is_ok_and(|m| e.ino == 0 || m.ino() == e.ino)
    });
    let moved_here = |e: &Entry| here.is_some_and(|(id, root)| id == e.id && root != e.path);
    if all_here && !entries.iter().any(moved_here) {
        return;
    }
    for entry in &entries {
        let whereabouts = match here {
            Some((id, root)) if id == entry.id => Whereabouts::Moved(root.to_owned()),
            _ => locate(state, entry),
        };
        match whereabouts {
            Whereabouts::Here | Whereabouts::Elsewhere | Whereabouts::Unknown => {}
            Whereabouts::Moved(to) if to == entry.path => {}
            Whereabouts::Moved(to) => {
                let identity = crate::worktree::Identity {
                    id: entry.id.clone(),
                    admin: Some(entry.admin.clone()),
                };
                let _ = registry::update(state, &identity, &to, |_| {});
            }
            Whereabouts::Gone => {
                if let Err(err) = tear_down(state, &entry.id, printer) {
                    printer.warn(&format!(
                        "the teardown of {} failed: {err:#}",
                        entry.path.display()
                    ));
                }
            }
        }
    }
}

/// Tears down worktree `id`, once: claims it, ends what its jobs left running with no owner,
/// then starts its `worktree-post-remove` jobs (or releases its ports at once when it has
/// none). A worktree whose supervisor is alive is left to it: it ends its jobs and reports.
pub(crate) fn tear_down(state: &State, id: &str, printer: &Printer) -> Result<()> {
    let live = state.worktree(id);
    let Ok(Some(record)) = Record::read(&live) else {
        // Nothing daft ran there can be torn down; forget it.
        let _ = registry::change_index(state, |e| e.retain(|e| e.id != id));
        let _ = fs::remove_dir_all(live.path());
        return Ok(());
    };
    if supervised(&live) {
        return Ok(());
    }
    let removed = state.removed(id);
    fs::create_dir_all(state.removed_dir())?;
    if fs::rename(live.path(), removed.path()).is_err() {
        return Ok(()); // someone else claimed it first
    }
    if let Ok(number) = runs::next_seq(state) {
        let _ =
            crate::files::write_atomically(removed.removed_number(), number.to_string().as_bytes());
    }
    registry::change_index(state, |e| e.retain(|e| e.id != id))?;
    let _ = crate::files::remove_if_present(&removed.anchor());
    end_orphans(&removed);
    let started = post_remove(state, &record, printer)
        .with_context(|| format!("cannot start the worktree-post-remove jobs of {id}"))?;
    if !started {
        crate::ports::release(state.common_dir(), id)?;
    }
    Ok(())
}

/// Whether a live, running daft process (a supervisor) still owns jobs of the worktree in
/// `dir`. A stopped one (SIGSTOP) does not count: it cannot act, and must not make a removal
/// impossible.
fn supervised(dir: &crate::state::WorktreeDir) -> bool {
    runs::list(dir).iter().any(|run| {
        run.jobs().iter().any(|job| {
            !job.status.is_final() && job.owner.alive() && !crate::sys::stopped(job.owner.pid)
        })
    })
}

/// Ends the processes of jobs that no daft process owns any more (their supervisor was
/// killed or stopped): SIGTERM now, SIGKILL after the grace period from a detached helper, and
/// their records say so.
fn end_orphans(dir: &crate::state::WorktreeDir) {
    let mut groups: Vec<Pid> = Vec::new();
    for run in runs::list(dir) {
        for mut job in run.jobs() {
            // A stopped supervisor of a worktree that is gone will never act again.
            if crate::sys::stopped(job.owner.pid) {
                crate::sys::kill_pid(job.owner, crate::sys::SIGKILL);
            }
            if job.status.is_final() {
                continue;
            }
            if let Some(process) = job.process.filter(|p| p.alive()) {
                groups.push(process);
            }
            groups.extend(crate::stop::leftovers(&run, &job.name));
            job.status = Status::Cancelled;
            job.reason = Some(
                "its worktree was removed while no daft process looked after it (its supervisor was killed or stopped); its processes were ended".into(),
            );
            job.ended_at = Some(runs::now());
            let _ = run.write_job(&job);
        }
    }
    crate::stop::end_detached(&groups);
}

/// Starts the `worktree-post-remove` jobs of the removed worktree `record`, detached, in the
/// main worktree. Returns whether there were any.
fn post_remove(state: &State, record: &Record, printer: &Printer) -> Result<bool> {
    let run_in = || main_worktree(state.common_dir());
    let plan = match crate::resolve::teardown(state, record, run_in)? {
        Resolution::Ready(plan) => plan,
        Resolution::Refused(refusal) => {
            printer.notice(&refusal.message);
            return Ok(false);
        }
        Resolution::Nothing(_) => return Ok(false),
    };
    let jobs: Vec<(String, bool)> = plan
        .event
        .jobs
        .iter()
        .map(|job| (job.name.clone(), true))
        .collect();
    let run = runs::Run::create(
        state,
        &state.removed(&record.identity.id),
        &record.path,
        plan.ctx.event.name(),
        &jobs,
        &[],
    )?;
    crate::background::spawn_detached(&run, &plan)?;
    Ok(true)
}

/// The main worktree (for a bare repository, which has none: the directory the common dir is
/// in). Read by gix from the clone's own config, not asked of a git process: a teardown found
/// by a hook runs on that hook's time. gix needs the current directory; where it is gone (the
/// supervisor of a deleted worktree), git is asked.
fn main_worktree(common_dir: &Path) -> Result<camino::Utf8PathBuf> {
    let dir = match gix::open_opts(common_dir, gix::open::Options::isolated()) {
        Ok(repo) => match repo.workdir() {
            Some(dir) => fs::canonicalize(common_dir.join(dir)).unwrap_or_else(|_| dir.to_owned()),
            None => common_dir.parent().unwrap_or(common_dir).to_owned(),
        },
        Err(_) => listed_first(common_dir)?,
    };
    crate::worktree::utf8(&dir)
}

/// The main worktree as `git worktree list` gives it first.
fn listed_first(common_dir: &Path) -> Result<PathBuf> {
    let list = crate::git::output(common_dir, &["worktree", "list", "--porcelain"])?;
    let mut lines = list.lines();
    let first = lines
        .next()
        .and_then(|l| l.strip_prefix("worktree "))
        .map(PathBuf::from);
    let bare = lines.next() == Some("bare");
    Ok(match first {
        Some(path) if !bare => path,
        _ => common_dir.parent().unwrap_or(common_dir).to_owned(),
    })
}

/// The removed worktrees of the clone, for `log show --removed`.
pub(crate) fn removed(state: &State) -> Vec<(Record, crate::state::WorktreeDir)> {
    let Ok(entries) = fs::read_dir(state.removed_dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let id = e.file_name().to_string_lossy().into_owned();
            let dir = state.removed(&id);
            let record = Record::read(&dir).ok().flatten()?;
            (record.identity.id == id).then_some((record, dir))
        })
        .collect()
}

/// How long [`await_removal`] watches for the removal another tool said is coming; after it,
/// the next daft call in the clone notices, as for any removal.
const AWAIT_FOR: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Starts a detached `daft __await-removal` for worktree `id`: another tool (an agent app,
/// worktrunk) removes the worktree itself, and its teardown runs as soon as it is gone.
pub(crate) fn await_detached(state: &State, id: &str) -> Result<()> {
    let exe = crate::sys::own_exe().context("cannot find daft's own executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__await-removal")
        .arg(state.common_dir())
        .arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: only setsid(2), which is async-signal-safe, runs between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, crate::sys::setsid);
    }
    cmd.spawn()
        .context("cannot start the watch for the worktree's removal")?;
    Ok(())
}

/// `daft __await-removal COMMON_DIR ID`: watches worktree `id` until it is gone (deleted,
/// moved into a tool's trash and pruned, forgotten by git), then tears it down, once.
pub(crate) fn await_removal(common_dir: &Path, id: &str) -> u8 {
    let state = State::of(common_dir);
    let printer = Printer::stderr();
    let deadline = std::time::Instant::now() + AWAIT_FOR;
    while std::time::Instant::now() < deadline {
        let bytes = registry::index_bytes(&state);
        let Some(entry) = registry::entries(&bytes).find(|e| e.id == id) else {
            return 0; // torn down already (or never known): nothing left to do
        };
        if locate(&state, &entry) == Whereabouts::Gone {
            let _ = tear_down(&state, id, &printer);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    0
}
