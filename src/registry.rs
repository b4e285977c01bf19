//! What daft records about each worktree of a clone (its `worktree.json`: where it was last
//! seen, its branch, where its setup stands, the trusted config it last ran with) and the
//! clone's index of linked worktrees, which the removal sweep reads in one go.
//!
//! A linked worktree's record comes with an *anchor*: a second hard link to the worktree's
//! `.git` file, kept in daft's directory. A `.git` file moved with its worktree keeps its
//! links; one deleted with it (`rm -rf`, `git worktree remove`) leaves the anchor as its only
//! link, and the anchor holds on to the inode so no new file can reuse its number. So one
//! `stat` tells a moved worktree from a removed one, whatever path it has now.

use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::files::{open_lock, remove_if_present, write_atomically};
use crate::state::{State, WorktreeDir};
use crate::worktree::Identity;

/// How a worktree's setup came to be owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Owed {
    /// Its config was not trusted (or not valid) when it was made.
    NotTrusted,
    /// No hook announced it: `--no-checkout`, a tool that runs no hooks, or made before daft
    /// was installed.
    Unannounced,
}

/// Where a worktree's setup (its `worktree-post-create` jobs) stands, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub(crate) enum Setup {
    /// Owed, and not started.
    Pending { owed: Owed },
    /// Its setup run (the run's id): how it went is that run's business.
    Started { run: String },
}

/// What daft recorded about a worktree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    #[serde(flatten)]
    pub(crate) identity: Identity,
    /// Where it was when daft last saw it.
    pub(crate) path: PathBuf,
    #[serde(default)]
    pub(crate) branch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) setup: Option<Setup>,
    /// The pending-setup notice was given (so it is given once).
    #[serde(default)]
    pub(crate) told_pending: bool,
    /// The trusted config (its fingerprint) it last ran with: where its
    /// `worktree-post-remove` jobs come from.
    #[serde(default)]
    pub(crate) config: Option<String>,
}

/// A record that exists but cannot be read.
#[derive(Debug, Clone)]
pub(crate) struct Damaged(pub(crate) String);

impl Record {
    pub(crate) fn new(identity: Identity, path: PathBuf) -> Self {
        Self {
            identity,
            path,
            branch: String::new(),
            setup: None,
            told_pending: false,
            config: None,
        }
    }

    /// The record in `dir`: `Ok(None)` when there is none.
    pub(crate) fn read(dir: &WorktreeDir) -> Result<Option<Self>, Damaged> {
        let path = dir.record();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Damaged(format!("{}: {err}", path.display()))),
        };
        let record: Self = serde_json::from_slice(&bytes)
            .map_err(|err| Damaged(format!("{} is damaged ({err})", path.display())))?;
        if !Identity::valid_id(&record.identity.id) {
            return Err(Damaged(format!(
                "{} names no worktree daft made",
                path.display()
            )));
        }
        Ok(Some(record))
    }

    pub(crate) fn write(&self, state: &State) -> Result<()> {
        write_atomically(
            state.worktree(&self.identity.id).record(),
            &serde_json::to_vec_pretty(self)?,
        )
    }
}

/// Changes worktree `identity`'s record (made if missing) under the index lock, then keeps the
/// index and the anchor in line with where the worktree is. A damaged record is replaced.
pub(crate) fn update(
    state: &State,
    identity: &Identity,
    path: &Path,
    change: impl FnOnce(&mut Record),
) -> Result<Record> {
    let dir = state.worktree(&identity.id);
    fs::create_dir_all(dir.path())
        .with_context(|| format!("cannot create {}", dir.path().display()))?;
    let _lock = open_lock(&state.index_lock())?;
    let old = Record::read(&dir).ok().flatten();
    let mut record = old
        .clone()
        .unwrap_or_else(|| Record::new(identity.clone(), path.to_owned()));
    path.clone_into(&mut record.path);
    change(&mut record);
    let same = old
        .as_ref()
        .is_some_and(|old| serde_json::to_vec(old).ok() == serde_json::to_vec(&record).ok());
    if !same {
        record.write(state)?;
    }
    if let Some(admin) = &identity.admin {
        let anchor = anchor(&dir, path);
        let entry = Entry {
            id: identity.id.clone(),
            admin: admin.clone(),
            ino: anchor,
            path: path.to_owned(),
        };
        let mut entries = index(state);
        if !entries.contains(&entry) {
            entries.retain(|e| e.id != entry.id);
            entries.push(entry);
            write_index(state, &entries)?;
        }
    }
    Ok(record)
}

/// Links the worktree's `.git` file as `dir`'s anchor (again, if it is not that file any
/// more); returns the inode of the `.git` file, or 0 when it cannot be anchored (another file
/// system: a move is then told from a removal by git's records alone).
fn anchor(dir: &WorktreeDir, worktree: &Path) -> u64 {
    let dot_git = worktree.join(".git");
    let Ok(meta) = dot_git.symlink_metadata() else {
        return 0;
    };
    if !meta.is_file() {
        return 0;
    }
    let anchor = dir.anchor();
    let linked = anchor
        .symlink_metadata()
        .is_ok_and(|a| a.ino() == meta.ino() && a.dev() == meta.dev());
    if !linked {
        let _ = remove_if_present(&anchor);
        if fs::hard_link(&dot_git, &anchor).is_err() {
            return 0;
        }
    }
    meta.ino()
}

/// A linked worktree daft knows, as the removal sweep needs it: one file for all, so that
/// looking for worktrees that are gone costs one read and a `stat` each. Each entry is four
/// NUL-terminated fields (id, git's name, the inode of its `.git` file, path): a path may hold
/// any byte but NUL, and reading it takes no parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: String,
    /// git's name for it.
    pub(crate) admin: String,
    /// The inode of its `.git` file (the anchor's), or 0 when it has no anchor.
    pub(crate) ino: u64,
    pub(crate) path: PathBuf,
}

/// The index's bytes, as [`entries`] reads them; empty when there is none.
pub(crate) fn index_bytes(state: &State) -> Vec<u8> {
    fs::read(state.index()).unwrap_or_default()
}

/// The entries of an index. An entry cut short or not of daft's making (a damaged file) is
/// dropped.
pub(crate) fn entries(bytes: &[u8]) -> impl Iterator<Item = Entry> + '_ {
    let mut fields = bytes.split(|&b| b == 0);
    std::iter::from_fn(move || {
        loop {
            let (id, admin, ino, path) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            let entry = (|| {
                Some(Entry {
                    id: String::from_utf8(id.to_vec()).ok()?,
                    admin: String::from_utf8(admin.to_vec()).ok()?,
                    ino: std::str::from_utf8(ino).ok()?.parse().ok()?,
                    path: PathBuf::from(std::ffi::OsStr::from_bytes(path)),
                })
            })();
            if let Some(entry) = entry.filter(|e| {
                Identity::valid_id(&e.id)
                    && !e.admin.is_empty()
                    && !e.admin.contains('/')
                    && e.path.is_absolute()
            }) {
                return Some(entry);
            }
        }
    })
}

/// The linked worktrees daft knows in the clone.
pub(crate) fn index(state: &State) -> Vec<Entry> {
    entries(&index_bytes(state)).collect()
}

fn write_index(state: &State, entries: &[Entry]) -> Result<()> {
    let mut bytes = Vec::new();
    for e in entries {
        for field in [
            e.id.as_bytes(),
            e.admin.as_bytes(),
            e.ino.to_string().as_bytes(),
            e.path.as_os_str().as_bytes(),
        ] {
            bytes.extend_from_slice(field);
            bytes.push(0);
        }
    }
    write_atomically(state.index(), &bytes)?;
    write_paths(state, entries)
}

/// The paths of `entries` that are there now, one a line, for the hooks-path shims (a path
/// that holds a newline cannot be in it; such a worktree waits for the next daft call).
pub(crate) fn write_paths(state: &State, entries: &[Entry]) -> Result<()> {
    let mut text = Vec::new();
    for entry in entries {
        let path = entry.path.as_os_str().as_bytes();
        if !path.contains(&b'\n') && entry.path.join(".git").symlink_metadata().is_ok() {
            text.extend_from_slice(path);
            text.push(b'\n');
        }
    }
    if fs::read(state.worktree_paths()).ok().as_deref() == Some(&text[..]) {
        return Ok(());
    }
    write_atomically(state.worktree_paths(), &text)
}

/// Changes the index under its lock.
pub(crate) fn change_index(state: &State, f: impl FnOnce(&mut Vec<Entry>)) -> Result<()> {
    fs::create_dir_all(state.worktrees_dir())?;
    let _lock = open_lock(&state.index_lock())?;
    let mut entries = index(state);
    f(&mut entries);
    write_index(state, &entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_drops_what_daft_did_not_write() {
        let good = b"wt_0a1b2c\0wt\x0012\0/tmp/wt\0";
        let mut bytes = good.to_vec();
        bytes.extend_from_slice(b"../../etc_0a1b2c\0wt\x000\0/tmp/x\0");
        bytes.extend_from_slice(b"x_0a1b2c\0a/b\x000\0/tmp/y\0");
        bytes.extend_from_slice(b"y_0a1b2c\0y\x00nope\0/tmp/z\0");
        bytes.extend_from_slice(b"z_0a1b2c\0z\x000\0relative\0");
        bytes.extend_from_slice(b"cut_0a1b2c\0cut");
        let entries: Vec<Entry> = entries(&bytes).collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].ino, 12);
    }
}
