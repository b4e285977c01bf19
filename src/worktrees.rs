//! The worktrees of a clone as daft knows them. A worktree's identity comes from git's
//! administrative directory for it (`<common>/worktrees/<name>`, the common dir itself for the
//! main worktree), never from its path, so `git worktree move` or `mv` + `git worktree repair`
//! keep its runs, logs, ports and running jobs. Under `<common>/daft/worktrees/<id>/` daft
//! keeps its runs and a small record (where it was last seen, its branch, its ports, the
//! trusted config it was set up with), which is what lets a worktree that is gone — however it
//! went — be told from one that moved.

use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::files::write_atomically;
use crate::repo::Repo;

/// Who a worktree is, whatever its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    /// Short, stable, safe in file and database names: `feat_3fa9c2`.
    pub(crate) id: String,
    /// git's name for it (`<common>/worktrees/<name>`); `None` for the main worktree.
    pub(crate) admin: Option<String>,
}

impl Identity {
    /// The identity of `repo`'s worktree.
    pub(crate) fn of(repo: &Repo) -> Result<Self> {
        let admin = repo.is_linked().then(|| {
            repo.git_dir
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let ino = repo
            .git_dir
            .metadata()
            .with_context(|| format!("cannot read {}", repo.git_dir.display()))?
            .ino();
        let label = match (&admin, &repo.work_tree) {
            (Some(name), _) => name.clone(),
            (None, Some(tree)) => tree
                .file_name()
                .map_or_else(|| "main".into(), |n| n.to_string_lossy().into_owned()),
            (None, None) => "bare".into(),
        };
        let digest = Sha256::digest(format!("{}\0{ino}", admin.as_deref().unwrap_or("")));
        Ok(Self {
            id: format!("{}_{}", slug(&label), crate::trust::hex(&digest[..3])),
            admin,
        })
    }
}

/// Lower-case letters, digits and `_`, starting with a letter, at most 20 characters.
fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
        if out.len() >= 20 {
            break;
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    if out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out
    } else {
        format!("wt{}{out}", if out.is_empty() { "" } else { "_" })
    }
}

/// Where daft keeps what belongs to worktree `id`.
pub(crate) fn dir(common_dir: &Path, id: &str) -> PathBuf {
    root(common_dir).join(id)
}

pub(crate) fn root(common_dir: &Path) -> PathBuf {
    common_dir.join("daft").join("worktrees")
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
    /// Its `worktree-post-create` ran (through a hook or by hand).
    #[serde(default)]
    pub(crate) set_up: bool,
    /// It was made without a hook, and the user has been told how to set it up.
    #[serde(default)]
    pub(crate) told_not_set_up: bool,
    /// The trusted config (its fingerprint) it last ran with: where its
    /// `worktree-post-remove` jobs come from.
    #[serde(default)]
    pub(crate) config: Option<String>,
}

impl Record {
    fn path(common_dir: &Path, id: &str) -> PathBuf {
        dir(common_dir, id).join("worktree.json")
    }

    /// The record of worktree `id`, if daft has one.
    pub(crate) fn read(common_dir: &Path, id: &str) -> Option<Self> {
        let bytes = fs::read(Self::path(common_dir, id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub(crate) fn write(&self, common_dir: &Path) -> Result<()> {
        write_atomically(
            Self::path(common_dir, &self.identity.id),
            &serde_json::to_vec_pretty(self)?,
        )
    }
}

/// Notes that worktree `identity` is at `path` on `branch`, for a run of `event` about to
/// start there with the trusted config `config` (its fingerprint).
pub(crate) fn seen(
    common_dir: &Path,
    identity: &Identity,
    path: &Path,
    branch: &str,
    event: &str,
    config: Option<&str>,
) -> Result<()> {
    let old = Record::read(common_dir, &identity.id);
    let set_up =
        event == crate::event::WORKTREE_POST_CREATE || old.as_ref().is_some_and(|r| r.set_up);
    let config = config
        .map(str::to_owned)
        .or_else(|| old.as_ref().and_then(|r| r.config.clone()));
    if old.as_ref().is_some_and(|r| {
        r.path == path && r.branch == branch && r.set_up == set_up && r.config == config
    }) {
        return Ok(());
    }
    let moved = old.as_ref().is_none_or(|r| r.path != path);
    Record {
        identity: identity.clone(),
        path: path.to_owned(),
        branch: branch.to_owned(),
        set_up,
        told_not_set_up: old.is_some_and(|r| r.told_not_set_up),
        config,
    }
    .write(common_dir)?;
    if moved && let Some(admin) = &identity.admin {
        let ino = path.metadata().map_or(0, |m| m.ino());
        let entry = Entry {
            id: identity.id.clone(),
            admin: admin.clone(),
            ino,
            path: path.to_owned(),
        };
        change_index(common_dir, |entries| {
            entries.retain(|e| e.id != entry.id);
            entries.push(entry);
        })?;
    }
    Ok(())
}

/// A linked worktree daft has run something in, as the removal sweep needs it: one file for
/// all, so that looking for worktrees that are gone costs one read and a `stat` each. Each
/// entry is four NUL-terminated fields (id, git's name, inode, path): a path may hold any
/// byte but NUL, and reading it takes no parser.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: String,
    /// git's name for it.
    pub(crate) admin: String,
    /// Its root directory's inode: a worktree moved by hand keeps it.
    pub(crate) ino: u64,
    pub(crate) path: PathBuf,
}

fn index_path(common_dir: &Path) -> PathBuf {
    root(common_dir).join("index")
}

/// The index's bytes, as [`entries`] reads them; empty when there is none.
pub(crate) fn index_bytes(common_dir: &Path) -> Vec<u8> {
    fs::read(index_path(common_dir)).unwrap_or_default()
}

/// The entries of an index: `(id, admin, inode, path)` fields, each ended by a NUL. An entry
/// cut short (a damaged file) is dropped.
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
            let entry = Entry {
                id: String::from_utf8(id.to_vec()).ok()?,
                admin: String::from_utf8(admin.to_vec()).ok()?,
                ino: std::str::from_utf8(ino).ok()?.parse().ok()?,
                path: PathBuf::from(std::ffi::OsStr::from_bytes(path)),
            };
            if !entry.id.is_empty() {
                return Some(entry);
            }
        }
    })
}

/// The linked worktrees daft knows in the clone.
pub(crate) fn index(common_dir: &Path) -> Vec<Entry> {
    entries(&index_bytes(common_dir)).collect()
}

/// Changes the index under its lock.
pub(crate) fn change_index(common_dir: &Path, f: impl FnOnce(&mut Vec<Entry>)) -> Result<()> {
    fs::create_dir_all(root(common_dir))?;
    let _lock = crate::trust::open_lock(&root(common_dir).join("index.lock"))?;
    let mut entries = index(common_dir);
    f(&mut entries);
    let mut bytes = Vec::new();
    for e in &entries {
        for field in [
            e.id.as_bytes(),
            e.admin.as_bytes(),
            e.ino.to_string().as_bytes(),
        ] {
            bytes.extend_from_slice(field);
            bytes.push(0);
        }
        bytes.extend_from_slice(e.path.as_os_str().as_bytes());
        bytes.push(0);
    }
    write_atomically(index_path(common_dir), &bytes)
}

/// Whether `repo` is a linked worktree whose trusted config has `worktree-post-create` jobs
/// that never ran there: one no hook announced (made by a libgit2 tool, with `--no-checkout`,
/// or before daft was installed). A hook does not run them on its own: a switch or a commit
/// is no moment to start a long setup unasked. The user is told how.
pub(crate) fn needs_setup(repo: &Repo) -> bool {
    let (Some(root), true) = (repo.work_tree.as_deref(), repo.is_linked()) else {
        return false;
    };
    let Ok(identity) = Identity::of(repo) else {
        return false;
    };
    if Record::read(&repo.common_dir, &identity.id).is_some_and(|r| r.set_up) {
        return false;
    }
    let Ok(Some(sources)) = crate::config::Sources::find(root) else {
        return false;
    };
    let store = crate::trust::Store::new(&repo.common_dir);
    store.status(&crate::trust::Fingerprint::of(&sources)) == crate::trust::Status::Trusted
        && sources
            .parse()
            .is_ok_and(|config| config.event(crate::event::WORKTREE_POST_CREATE).is_some())
}

/// Says once, in a worktree that needs it, how to set it up.
pub(crate) fn tell_if_not_set_up(repo: &Repo, printer: &crate::printer::Printer) {
    if !needs_setup(repo) {
        return;
    }
    let (Ok(identity), Some(root)) = (Identity::of(repo), repo.work_tree.as_deref()) else {
        return;
    };
    let old = Record::read(&repo.common_dir, &identity.id);
    if old.as_ref().is_some_and(|r| r.told_not_set_up) {
        return;
    }
    printer.notice(&format!(
        "this worktree was never set up (no hook announced it: made by a tool that runs no hooks, with --no-checkout, or before daft was installed); run its setup with: cd {} && daft hooks run worktree-post-create",
        crate::escape::shell_quote(root)
    ));
    let record = Record {
        identity,
        path: root.to_owned(),
        branch: old.as_ref().map(|r| r.branch.clone()).unwrap_or_default(),
        set_up: false,
        told_not_set_up: true,
        config: old.and_then(|r| r.config),
    };
    let _ = record.write(&repo.common_dir);
}

/// Where the worktree with git name `admin` is now, as git's administrative files say
/// (`gitdir` points at its `.git` file); `None` when git no longer knows it.
pub(crate) fn current_path(common_dir: &Path, admin: &str) -> Option<PathBuf> {
    let gitdir = fs::read(common_dir.join("worktrees").join(admin).join("gitdir")).ok()?;
    let gitdir = gitdir.strip_suffix(b"\n").unwrap_or(&gitdir);
    let dot_git = Path::new(std::ffi::OsStr::from_bytes(gitdir));
    let dot_git = if dot_git.is_relative() {
        common_dir.join("worktrees").join(admin).join(dot_git)
    } else {
        dot_git.to_owned()
    };
    dot_git.parent().map(Path::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_in_file_and_database_names() {
        assert_eq!(slug("feature/Login-Page"), "feature_login_page");
        assert_eq!(slug("123"), "wt_123");
        assert_eq!(slug("ü"), "wt");
        assert_eq!(
            slug("a-very-long-branch-name-indeed"),
            "a_very_long_branch_n"
        );
        for label in ["x", "--", "Ω", "1-2"] {
            let s = slug(label);
            assert!(s.starts_with(|c: char| c.is_ascii_lowercase()), "{s}");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            );
        }
    }
}
