//! A worktree that is gone, however it went — `daft remove`, `git worktree remove`, `rm -rf`
//! with or without `git worktree prune` — gets its `worktree-post-remove` jobs run once. git
//! has no hook for it, so daft notices: the worktree's supervisor if one is alive, otherwise
//! the next daft call anywhere in the clone, which looks over the clone's worktrees (one read
//! and a `stat` each). A worktree is gone when git no longer knows it, or its directory no
//! longer exists anywhere daft can see; one moved by hand (same directory inode beside its old
//! place) or locked (perhaps on a drive that is not mounted) is not.
//!
//! The first process to rename the worktree's directory under `<common>/daft/removed/` owns
//! its teardown, so it happens once. The jobs come from the trusted config the worktree last
//! ran with (still trusted), and run detached in the main worktree; the worktree's ports are
//! released when they end.

use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::DirEntryExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use camino::Utf8PathBuf;

use crate::config::Sources;
use crate::event::{self, Details};
use crate::job::Context;
use crate::runs::{self, Run};
use crate::trust::{Fingerprint, Store};
use crate::worktrees::{self, Entry, Record};

/// Looks over the clone's worktrees and tears down those that are gone. Cheap when nothing
/// is: one file read and a `stat` per worktree.
pub(crate) fn sweep(common_dir: &Path) {
    let bytes = worktrees::index_bytes(common_dir);
    if bytes.is_empty() {
        return;
    }
    // The fast path: only the paths, checked without building an entry.
    let mut probe = Vec::with_capacity(256);
    let all_here = bytes.split(|&b| b == 0).skip(3).step_by(4).all(|path| {
        probe.clear();
        probe.extend_from_slice(path);
        probe.extend_from_slice(b"/.git");
        Path::new(std::ffi::OsStr::from_bytes(&probe))
            .symlink_metadata()
            .is_ok()
    });
    if all_here {
        return;
    }
    for entry in worktrees::entries(&bytes) {
        if entry.path.join(".git").symlink_metadata().is_ok() {
            continue;
        }
        match state(common_dir, &entry) {
            State::Here => {}
            State::Moved(to) => {
                let _ = worktrees::change_index(common_dir, |entries| {
                    for e in entries.iter_mut().filter(|e| e.id == entry.id) {
                        e.path.clone_from(&to);
                    }
                });
            }
            State::Gone => {
                if let Err(err) = tear_down(common_dir, &entry.id) {
                    eprintln!(
                        "daft: warning: the teardown of {} failed: {err:#}",
                        entry.path.display()
                    );
                }
            }
        }
    }
}

enum State {
    Here,
    Moved(PathBuf),
    Gone,
}

/// Where the worktree of `entry` is, given that its recorded path no longer holds it.
fn state(common_dir: &Path, entry: &Entry) -> State {
    let admin = common_dir.join("worktrees").join(&entry.admin);
    if !admin.is_dir() {
        return State::Gone; // git removed or pruned it
    }
    if admin.join("locked").exists() {
        return State::Here; // git keeps it: it may be on a drive that is not mounted
    }
    if let Some(now) = worktrees::current_path(common_dir, &entry.admin)
        && now.join(".git").exists()
    {
        return State::Moved(now); // git worktree move, or mv + git worktree repair
    }
    // Moved by hand, not repaired yet: its directory is still beside its old place.
    let beside = entry
        .path
        .parent()
        .and_then(|parent| fs::read_dir(parent).ok());
    if entry.ino != 0
        && beside
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.ino() == entry.ino && e.file_type().is_ok_and(|t| t.is_dir()))
    {
        return State::Here;
    }
    State::Gone
}

/// Tears down worktree `id`, once: claims it, then runs its `worktree-post-remove` jobs (or
/// releases its ports at once when it has none). A worktree whose supervisor is still ending
/// its jobs is left to that supervisor.
pub(crate) fn tear_down(common_dir: &Path, id: &str) -> Result<()> {
    let live = worktrees::dir(common_dir, id);
    let Some(record) = Record::read(common_dir, id) else {
        let _ = worktrees::change_index(common_dir, |e| e.retain(|e| e.id != id));
        return Ok(());
    };
    if supervised(common_dir, id) {
        return Ok(());
    }
    let removed = removed_root(common_dir).join(id);
    fs::create_dir_all(removed_root(common_dir))?;
    if fs::rename(&live, &removed).is_err() {
        return Ok(()); // someone else claimed it first
    }
    worktrees::change_index(common_dir, |e| e.retain(|e| e.id != id))?;
    let started = post_remove(common_dir, &record)
        .with_context(|| format!("cannot start the worktree-post-remove jobs of {id}"))?;
    if !started {
        crate::ports::release(common_dir, id)?;
    }
    Ok(())
}

/// Whether a process daft started for worktree `id` is still alive.
fn supervised(common_dir: &Path, id: &str) -> bool {
    let Ok(common) = camino::Utf8Path::from_path(common_dir).ok_or(()) else {
        return false;
    };
    runs::list(common, id).iter().any(|run| {
        run.jobs()
            .iter()
            .any(|job| !job.status.is_final() && job.owner.alive())
    })
}

/// Where worktrees that are gone keep their runs.
pub(crate) fn removed_root(common_dir: &Path) -> PathBuf {
    common_dir.join("daft").join("removed")
}

/// Starts the `worktree-post-remove` jobs of the removed worktree `record`, detached, in the
/// main worktree. Returns whether there were any.
fn post_remove(common_dir: &Path, record: &Record) -> Result<bool> {
    let Some(fingerprint) = record.config.as_deref().and_then(Fingerprint::parse) else {
        return Ok(false);
    };
    let Some((main, local)) = Store::new(common_dir).contents(&fingerprint) else {
        eprintln!(
            "daft: {} is gone; its worktree-post-remove jobs did not run: the config it had is no longer trusted",
            record.path.display()
        );
        return Ok(false);
    };
    let sources = Sources::from_trusted(main, local);
    let config = sources.parse()?;
    let Some(event) = config.event(event::WORKTREE_POST_REMOVE) else {
        return Ok(false);
    };
    let mut event = event.clone();
    for job in &mut event.jobs {
        job.background = true; // nothing waits for a teardown
    }
    let common = event::utf8(common_dir)?;
    let run_in = main_worktree(common_dir)?;
    let ctx = Context {
        event: event::WORKTREE_POST_REMOVE.to_owned(),
        worktree: event::utf8(&record.path)?,
        run_in: Some(run_in.clone()),
        identity: record.identity.clone(),
        common_dir: common.clone(),
        details: Details {
            branch: record.branch.clone(),
            commit: String::new(),
            main_worktree: run_in.to_string(),
        },
        source: String::new(),
        ports: crate::ports::held(common_dir, &record.identity.id),
        config: record.config.clone(),
        hook_args: Vec::new(),
    };
    let names = event.jobs.iter().map(|job| job.name.clone()).collect();
    let run = Run::create_in(
        &removed_root(common_dir).join(&record.identity.id),
        &common,
        &ctx.worktree,
        event::WORKTREE_POST_REMOVE,
        names,
    )?;
    crate::background::spawn_detached(&run, &ctx, &event)?;
    Ok(true)
}

/// The main worktree, as git lists it first (for a bare repository, which has none: the
/// directory the common dir is in).
fn main_worktree(common_dir: &Path) -> Result<Utf8PathBuf> {
    let list = crate::git::output(common_dir, &["worktree", "list", "--porcelain"])?;
    let mut lines = list.lines();
    let first = lines
        .next()
        .and_then(|l| l.strip_prefix("worktree "))
        .map(PathBuf::from);
    let bare = lines.next() == Some("bare");
    let dir = match first {
        Some(path) if !bare => path,
        _ => common_dir.parent().unwrap_or(common_dir).to_owned(),
    };
    event::utf8(&dir)
}

/// The identity of a removed worktree, for `log show --removed`.
pub(crate) fn removed(common_dir: &Path) -> Vec<Record> {
    let Ok(entries) = fs::read_dir(removed_root(common_dir)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let id = e.file_name().to_string_lossy().into_owned();
            let bytes = fs::read(e.path().join("worktree.json")).ok()?;
            let record: Record = serde_json::from_slice(&bytes).ok()?;
            (record.identity.id == id).then_some(record)
        })
        .collect()
}
