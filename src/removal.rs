//! A worktree that is gone, however it went — `daft remove`, `git worktree remove`, `rm -rf`
//! with or without `git worktree prune` — gets its `worktree-post-remove` jobs run once, and
//! its ports back. git has no hook for it, so daft notices: the worktree's supervisor if one is
//! alive, otherwise the next daft call anywhere in the clone, which looks over the clone's
//! index (one read and a `stat` each).
//!
//! Where a worktree is, and whether it is gone, is `whereabouts`' to say. A worktree that is
//! missing for a moment (its `.git` file left its file system: deleted, or moved to another)
//! gets a watcher (`daft __await-removal`) that tears it down once it is gone, so nothing waits
//! for a later daft call.
//!
//! A removal seen while the worktree's supervisor lives is left to it, with a watcher that
//! tears down should the supervisor die before it does. The first process to rename the
//! worktree's directory under `removed/` owns its teardown, so it happens once. Processes its jobs left behind with no daft process to own them are
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
use crate::whereabouts::{Whereabouts, locate};

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
    // Whatever comes of it, the shims' list then holds only what is there.
    let _ = registry::write_paths(state, &entries);
    for entry in &entries {
        let whereabouts = match here {
            Some((id, root)) if id == entry.id => Whereabouts::Moved(root.to_owned()),
            _ => locate(state, entry),
        };
        let identity = || crate::worktree::Identity {
            id: entry.id.clone(),
            admin: Some(entry.admin.clone()),
        };
        match whereabouts {
            Whereabouts::Elsewhere | Whereabouts::Unknown => {}
            Whereabouts::Alive => {
                printer.notice(&format!(
                    "the worktree {} left its place and file system, and git is used wherever it went: it is kept; `git worktree repair` in its new place tells git (and daft) where it is",
                    entry.path.display()
                ));
                crate::whereabouts::told(state, &entry.id);
            }
            Whereabouts::Here => {
                // Moved away and back (another file system and back: another `.git` file):
                // anchored again.
                let same = entry
                    .path
                    .join(".git")
                    .symlink_metadata()
                    .is_ok_and(|m| m.ino() == entry.ino);
                if !same {
                    let _ = registry::update(state, &identity(), &entry.path, |_| {});
                }
            }
            Whereabouts::Moved(to) if to == entry.path => {}
            Whereabouts::Moved(to) => {
                if crate::worktree::git_path(state.common_dir(), &entry.admin).as_deref()
                    != Some(to.as_path())
                {
                    printer.notice(&format!(
                        "the worktree {} is now {} (another file system); daft follows it there — `git worktree repair {}` tells git",
                        entry.path.display(),
                        to.display(),
                        crate::escape::shell_quote(&to)
                    ));
                }
                let _ = registry::update(state, &identity(), &to, |_| {});
            }
            Whereabouts::Missing => {
                if let Err(err) = await_detached(state, &entry.id) {
                    printer.warn(&format!("{err:#}"));
                }
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
/// none). A worktree whose supervisor is alive is left to it (it ends its jobs and reports),
/// with a watcher that does the teardown should the supervisor die first.
pub(crate) fn tear_down(state: &State, id: &str, printer: &Printer) -> Result<()> {
    if claim_and_tear_down(state, id, printer)? == Teardown::LeftToSupervisor {
        await_detached(state, id)?;
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Teardown {
    Done,
    /// A live supervisor owns jobs there: it tears down when it has ended them.
    LeftToSupervisor,
}

fn claim_and_tear_down(state: &State, id: &str, printer: &Printer) -> Result<Teardown> {
    let live = state.worktree(id);
    let Ok(Some(record)) = Record::read(&live) else {
        // Nothing daft ran there can be torn down; forget it.
        let _ = registry::change_index(state, |e| e.retain(|e| e.id != id));
        let _ = fs::remove_dir_all(live.path());
        return Ok(Teardown::Done);
    };
    if supervised(&live) {
        return Ok(Teardown::LeftToSupervisor);
    }
    let removed = state.removed(id);
    fs::create_dir_all(state.removed_dir())?;
    if fs::rename(live.path(), removed.path()).is_err() {
        return Ok(Teardown::Done); // someone else claimed it first
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
    Ok(Teardown::Done)
}

/// Whether a live, running daft process (a supervisor) still owns jobs of the worktree in
/// `dir`. A stopped one (SIGSTOP) does not count: it cannot act, and must not make a removal
/// impossible.
fn supervised(dir: &crate::state::WorktreeDir) -> bool {
    runs::list(dir).iter().any(|run| {
        run.jobs().iter().any(|job| {
            !job.status.is_final() && job.owner.alive() && !crate::platform::stopped(job.owner.pid)
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
            if crate::platform::stopped(job.owner.pid) {
                crate::platform::signal_process(job.owner, crate::platform::Signal::Kill);
            }
            if job.status.is_final() {
                continue;
            }
            if let Some(process) = job.process.filter(|p| p.alive()) {
                groups.push(process);
            }
            groups.extend(crate::leftovers::listed(&run, &job.name));
            job.status = Status::Cancelled;
            job.reason = Some(
                "its worktree was removed while no daft process looked after it (its supervisor was killed or stopped); its processes were ended".into(),
            );
            job.ended_at = Some(runs::now());
            let _ = run.write_job(&job);
        }
    }
    crate::platform::end_detached(&groups);
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

/// How long a watcher waits for a removal another tool announced; after it, the next daft
/// call in the clone notices, as for any removal.
const AWAIT_FOR: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Starts a detached `daft __await-removal` for worktree `id`, unless one watches it already:
/// it tears the worktree down as soon as it is gone (a missing worktree, or one whose removal
/// another tool announced: an agent app, worktrunk).
pub(crate) fn await_detached(state: &State, id: &str) -> Result<()> {
    if watched(state, id) {
        return Ok(());
    }
    let exe = crate::platform::own_exe().context("cannot find daft's own executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__await-removal")
        .arg(state.common_dir())
        .arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    crate::platform::spawn_detached(&mut cmd)
        .context("cannot start the watch for the worktree's removal")?;
    Ok(())
}

/// Whether a watcher holds worktree `id`'s watch lock.
fn watched(state: &State, id: &str) -> bool {
    let path = state.worktree(id).watch_lock();
    std::fs::File::open(&path)
        .is_ok_and(|file| matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

/// `daft __await-removal COMMON_DIR ID`: watches worktree `id` until it is gone (deleted,
/// forgotten by git, announced and missing), then tears it down, once. It stops watching a
/// worktree that turns out to live on (unless its removal was announced: then the tool that
/// announced it is still at work).
pub(crate) fn await_removal(common_dir: &Path, id: &str) -> u8 {
    let state = State::of(common_dir);
    let dir = state.worktree(id);
    let Ok(lock) = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.watch_lock())
    else {
        return 0;
    };
    if lock.try_lock().is_err() {
        return 0; // another watcher has it
    }
    let printer = Printer::stderr();
    let deadline = std::time::Instant::now() + AWAIT_FOR;
    while std::time::Instant::now() < deadline {
        let bytes = registry::index_bytes(&state);
        let Some(entry) = registry::entries(&bytes).find(|e| e.id == id) else {
            return 0; // torn down already (or never known): nothing left to do
        };
        match locate(&state, &entry) {
            Whereabouts::Gone => {
                // A supervisor that dies before its teardown leaves it to this watch.
                if !matches!(
                    claim_and_tear_down(&state, id, &printer),
                    Ok(Teardown::LeftToSupervisor)
                ) {
                    return 0;
                }
            }
            Whereabouts::Missing => {}
            _ if dir.removing().exists() => {}
            _ => return 0,
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    0
}
