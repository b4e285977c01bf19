//! Where a linked worktree daft knows is now — so that one that exists is never torn down,
//! wherever it went, and one that is gone is torn down once.
//!
//! A worktree is *here* when the `.git` file at the path daft saw names its administrative
//! directory (`<common>/worktrees/<name>`, the same one: made again, it is another worktree),
//! or git keeps it (`git worktree lock`); *moved* when git's own record says where it is now
//! (`git worktree move`, or `mv` and `git worktree repair`); *elsewhere* when its `.git` file
//! still has the second link daft keeps to it (the anchor, see `registry`): it was moved on its
//! file system and git has not been told.
//!
//! It is *gone* when git forgot it (`git worktree remove`, `prune`), or when it is missing and
//! its removal was announced (`daft remove --prepare`). A `.git` file whose anchor is its last
//! link was deleted — or moved to another file system, which copies it there and deletes the
//! original: the two leave the same trace here. So daft looks where such a move puts it — a
//! directory of the same name at the top of another mounted file system, or up to two levels
//! below — and follows it there. Otherwise the worktree is *missing* for [`GRACE`]: if git
//! writes its records meanwhile (its index or `HEAD`: git is used wherever it went) it lives on
//! elsewhere and is kept; otherwise it is gone. A worktree that never had an anchor (it lives
//! on another file system than the clone) and is missing is *unknown*: it may have been renamed
//! in place, so it is kept until git forgets it or its removal is announced.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::registry::Entry;
use crate::state::{State, WorktreeDir};
use crate::worktree::{Identity, git_path, names_admin};

/// How long a worktree whose `.git` file left its file system may show it lives on elsewhere
/// before it counts as deleted.
pub(crate) const GRACE: Duration = Duration::from_secs(3);

/// Where a worktree of the index is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Whereabouts {
    /// Where daft last saw it (or kept by git: locked).
    Here,
    /// Moved, and git knows where.
    Moved(PathBuf),
    /// Moved, and git does not know where: it exists, somewhere.
    Elsewhere,
    /// The same, not told yet: it left its file system, and git is used wherever it went.
    Alive,
    /// Its `.git` file left its file system moments ago: deleted, or moved to another one.
    Missing,
    /// Deleted, or forgotten by git.
    Gone,
    /// Missing without an anchor to tell why, while git still knows it: wait.
    Unknown,
}

/// When a worktree was first seen missing, and when it went (its parent directory's last
/// change: the moment its directory left it).
#[derive(Debug, Serialize, Deserialize)]
struct MissingSince {
    /// Seconds since the epoch.
    since: f64,
    /// Nanoseconds since the epoch.
    went: i128,
    /// git wrote its records since it went: it lives on elsewhere.
    #[serde(default)]
    alive: bool,
    /// The user was told so.
    #[serde(default)]
    told: bool,
}

/// Where the worktree of `entry` is.
pub(crate) fn locate(state: &State, entry: &Entry) -> Whereabouts {
    let common = state.common_dir();
    let admin = common.join("worktrees").join(&entry.admin);
    if !admin.is_dir() {
        return Whereabouts::Gone; // git removed or pruned it
    }
    if Identity::of_admin(common, &entry.admin).map_or(true, |i| i.id != entry.id) {
        return Whereabouts::Gone; // removed, and another made under git's name for it
    }
    let dir = state.worktree(&entry.id);
    let dot_git = entry.path.join(".git");
    let same_file = dot_git
        .symlink_metadata()
        .is_ok_and(|m| entry.ino != 0 && m.ino() == entry.ino);
    if same_file || names_admin(&dot_git, common, &entry.admin) {
        found(&dir);
        return Whereabouts::Here;
    }
    if admin.join("locked").exists() {
        return Whereabouts::Here; // git keeps it: it may be on a drive that is not mounted
    }
    if let Some(to) = git_path(common, &entry.admin)
        && to != entry.path
        && names_admin(&to.join(".git"), common, &entry.admin)
    {
        found(&dir);
        return Whereabouts::Moved(to);
    }
    let anchor_links = (entry.ino != 0)
        .then(|| dir.anchor().symlink_metadata().ok())
        .flatten()
        .filter(|anchor| anchor.ino() == entry.ino)
        .map(|anchor| anchor.nlink());
    if anchor_links.is_some_and(|links| links >= 2) {
        return Whereabouts::Elsewhere;
    }
    if dir.removing().exists() {
        return Whereabouts::Gone; // announced, and now missing
    }
    match anchor_links {
        Some(_) => missing(state, entry, &dir, &admin),
        None => Whereabouts::Unknown,
    }
}

/// A worktree whose `.git` file left its file system: found on another one, or missing for a
/// moment, then alive elsewhere or gone.
fn missing(state: &State, entry: &Entry, dir: &WorktreeDir, admin: &Path) -> Whereabouts {
    let now = seconds(SystemTime::now());
    let record: Option<MissingSince> = fs::read(dir.missing())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let elsewhere = || on_another_file_system(state, entry);
    let Some(record) = record else {
        if let Some(to) = elsewhere() {
            return Whereabouts::Moved(to);
        }
        let went = entry
            .path
            .parent()
            .and_then(|parent| parent.metadata().ok())
            .map_or(0, |m| nanos(&m));
        let record = MissingSince {
            since: now,
            went,
            alive: last_write(admin) >= went,
            told: false,
        };
        write(dir, &record);
        return if record.alive {
            Whereabouts::Alive
        } else {
            Whereabouts::Missing
        };
    };
    match record {
        record if record.alive && record.told => Whereabouts::Elsewhere,
        record if record.alive => Whereabouts::Alive,
        record if last_write(admin) >= record.went => {
            write(
                dir,
                &MissingSince {
                    alive: true,
                    ..record
                },
            );
            Whereabouts::Alive
        }
        record if now - record.since >= GRACE.as_secs_f64() => match elsewhere() {
            Some(to) => Whereabouts::Moved(to),
            None => Whereabouts::Gone,
        },
        _ => Whereabouts::Missing,
    }
}

/// Most directories looked into on one file system.
const SEARCH_BUDGET: usize = 512;

/// Where a move to another file system would have put the worktree of `entry`: a directory of
/// its name at the top of another mounted file system, or one or two levels below, whose
/// `.git` file names it.
fn on_another_file_system(state: &State, entry: &Entry) -> Option<PathBuf> {
    let name = entry.path.file_name()?;
    let home_dev = entry
        .path
        .ancestors()
        .find_map(|dir| dir.metadata().ok())
        .map(|m| m.dev());
    let common = state.common_dir();
    let names = |dir: &Path| names_admin(&dir.join(name).join(".git"), common, &entry.admin);
    for mount in crate::platform::mount_points() {
        if mount.metadata().ok().map(|m| m.dev()) == home_dev {
            continue; // a move on the same file system keeps the anchor's links
        }
        if names(&mount) {
            return Some(mount.join(name));
        }
        let mut budget = SEARCH_BUDGET;
        let mut level = vec![mount];
        for _ in 0..2 {
            let mut next = Vec::new();
            for dir in &level {
                for sub in subdirectories(dir, &mut budget) {
                    if names(&sub) {
                        return Some(sub.join(name));
                    }
                    next.push(sub);
                }
            }
            level = next;
        }
    }
    None
}

/// The directories in `dir` (not through links), as many as `budget` still allows.
fn subdirectories(dir: &Path, budget: &mut usize) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        if *budget == 0 {
            break;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            *budget -= 1;
            out.push(entry.path());
        }
    }
    out
}

/// When git last wrote the records it writes as a worktree is used (its index, `HEAD`). (File
/// times come from a coarse clock: a write in the same tick as the worktree went counts as
/// after it — keeping a worktree is the safe mistake.)
fn last_write(admin: &Path) -> i128 {
    ["index", "HEAD", "logs/HEAD"]
        .iter()
        .filter_map(|name| admin.join(name).metadata().ok())
        .map(|m| nanos(&m))
        .max()
        .unwrap_or(0)
}

fn nanos(meta: &fs::Metadata) -> i128 {
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

fn write(dir: &WorktreeDir, record: &MissingSince) {
    if let Ok(bytes) = serde_json::to_vec(record) {
        let _ = crate::files::write_atomically(dir.missing(), &bytes);
    }
}

/// The user was told that worktree `id` lives on elsewhere ([`Whereabouts::Alive`]).
pub(crate) fn told(state: &State, id: &str) {
    let dir = state.worktree(id);
    let record: Option<MissingSince> = fs::read(dir.missing())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if let Some(record) = record {
        write(
            &dir,
            &MissingSince {
                told: true,
                ..record
            },
        );
    }
}

/// The worktree is where it should be: what was noted while it was missing goes.
fn found(dir: &WorktreeDir) {
    let _ = crate::files::remove_if_present(&dir.missing());
}

fn seconds(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
