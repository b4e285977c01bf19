//! What daft keeps of past runs, so that what a new run looks over stays small however long
//! the clone has been used: the last [`KEEP_RUNS`] runs per worktree, the last
//! [`KEEP_REMOVED`] removed worktrees, and all of it within [`SIZE_CAP`]. A run still going
//! (a job not in a final state) or named as kept is never dropped.

use std::fs;
use std::path::{Path, PathBuf};

use super::{KEEP_RUNS, Run, SIZE_CAP, all_run_dirs, run_dirs};
use crate::state::{State, WorktreeDir};

/// Removed worktrees whose records and runs are kept (for `log show --removed`).
const KEEP_REMOVED: usize = 20;

/// Drops the oldest finished runs of this worktree beyond [`KEEP_RUNS`], the oldest removed
/// worktrees beyond [`KEEP_REMOVED`], then the oldest finished runs of the clone while all of
/// them take more than [`SIZE_CAP`] less `reserve`. Best effort: what cannot be removed now is
/// removed another time. Runs named in `keep` stay.
pub(super) fn prune(state: &State, worktree_runs: &Path, keep: &[&str], reserve: u64) {
    let removable = |dir: &Path| {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        !keep.contains(&name)
            && Run::open(dir)
                .jobs()
                .iter()
                .all(|job| job.status.is_final())
    };
    let mine = run_dirs(worktree_runs);
    let excess = mine.len().saturating_sub(KEEP_RUNS - 1);
    for dir in mine.iter().take(excess).filter(|dir| removable(dir)) {
        let _ = fs::remove_dir_all(dir);
    }
    forget_old_removed(state, &removable);
    let mut all: Vec<(String, PathBuf, u64)> = all_run_dirs(state)
        .into_iter()
        .map(|dir| {
            let name = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let size = dir_size(&dir) + dir_size(&dir.join("jobs"));
            (name, dir, size)
        })
        .collect();
    let mut total: u64 = all.iter().map(|(_, _, size)| size).sum();
    all.sort();
    for (_, dir, size) in all {
        if total <= SIZE_CAP.saturating_sub(reserve) {
            break;
        }
        if removable(&dir) && fs::remove_dir_all(&dir).is_ok() {
            total -= size;
        }
    }
}

/// Forgets the removed worktrees beyond the newest [`KEEP_REMOVED`] — their records and runs
/// — once every run of theirs has ended (a teardown still running keeps its worktree). Age is
/// the clone's counter when it was torn down (else its newest run's), not a clock.
fn forget_old_removed(state: &State, removable: &dyn Fn(&Path) -> bool) {
    let Ok(entries) = fs::read_dir(state.removed_dir()) else {
        return;
    };
    let dirs: Vec<WorktreeDir> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| WorktreeDir::at(e.path()))
        .collect();
    if dirs.len() <= KEEP_REMOVED {
        return;
    }
    let mut aged: Vec<(u64, WorktreeDir)> = dirs.into_iter().map(|dir| (age(&dir), dir)).collect();
    aged.sort_by_key(|(age, _)| *age);
    let excess = aged.len() - KEEP_REMOVED;
    for (_, dir) in aged.into_iter().take(excess) {
        if run_dirs(&dir.runs()).iter().all(|run| removable(run)) {
            let _ = fs::remove_dir_all(dir.path());
        }
    }
}

/// A removed worktree's age: the clone's counter when it was torn down, else its newest run's.
fn age(dir: &WorktreeDir) -> u64 {
    fs::read_to_string(dir.removed_number())
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| {
            run_dirs(&dir.runs())
                .last()
                .map_or(0, |run| run_number(run))
        })
}

/// The counter part of a run directory's name (`000000000012-4242`).
fn run_number(dir: &Path) -> u64 {
    dir.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}
