//! One worktree as its jobs see it: where it is, who it is whatever its path (an identity from
//! git's administrative directory for it, `<common>/worktrees/<name>`, or the common dir for the
//! main worktree), its branch and commit, and the worktree files are carried from. Unlike
//! [`Repo`] its paths are UTF-8: they go into environment variables and records.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::repo::Repo;
use crate::state::State;

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
        let label = match (&admin, &repo.work_tree) {
            (Some(name), _) => name.clone(),
            (None, Some(tree)) => tree
                .file_name()
                .map_or_else(|| "main".into(), |n| n.to_string_lossy().into_owned()),
            (None, None) => "bare".into(),
        };
        Self::made(&repo.git_dir, admin, &label)
    }

    /// The identity of the linked worktree git calls `admin` in the clone at `common_dir`, as
    /// its administrative directory is now (one removed and made again is another worktree).
    pub(crate) fn of_admin(common_dir: &Path, admin: &str) -> Result<Self> {
        let dir = common_dir.join("worktrees").join(admin);
        Self::made(&dir, Some(admin.to_owned()), admin)
    }

    fn made(git_dir: &Path, admin: Option<String>, label: &str) -> Result<Self> {
        let meta = git_dir
            .metadata()
            .with_context(|| format!("cannot read {}", git_dir.display()))?;
        // The inode, and the birth time where the file system keeps one: git's directory for a
        // worktree removed and made again may get the same inode number, never the same birth.
        let born = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let ino = format!("{}.{born}", meta.ino());
        let digest = Sha256::digest(format!("{}\0{ino}", admin.as_deref().unwrap_or("")));
        Ok(Self {
            id: format!("{}_{}", slug(label), crate::escape::hex(&digest[..3])),
            admin,
        })
    }

    /// Whether `id` is one daft could have made: what is read back from records is checked.
    pub(crate) fn valid_id(id: &str) -> bool {
        let Some((slug, hash)) = id.rsplit_once('_') else {
            return false;
        };
        !slug.is_empty()
            && slug.len() <= 23
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && hash.len() == 6
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
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

/// A worktree with a work tree, its paths in UTF-8.
#[derive(Debug, Clone)]
pub(crate) struct Worktree {
    /// Absolute work tree root.
    pub(crate) root: Utf8PathBuf,
    /// Absolute git common dir: shared by every worktree of the clone.
    pub(crate) common_dir: Utf8PathBuf,
    /// Who it is, whatever its path.
    pub(crate) identity: Identity,
    pub(crate) repo: Repo,
}

impl Worktree {
    /// The worktree around `dir`, for commands.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        Self::of(&Repo::discover(dir)?)
    }

    /// The worktree of `repo`; fails when it has none or its paths are not UTF-8.
    pub(crate) fn of(repo: &Repo) -> Result<Self> {
        let root = repo.work_tree()?;
        Ok(Self {
            root: utf8(root)?,
            common_dir: utf8(&repo.common_dir)?,
            identity: Identity::of(repo)?,
            repo: repo.clone(),
        })
    }

    pub(crate) fn state(&self) -> State {
        State::of(self.common_dir.as_std_path())
    }

    /// Whether its files are checked out: `git worktree add --no-checkout` makes a worktree
    /// with no index and no files, until a checkout (or `git reset --hard`) puts them there.
    pub(crate) fn checked_out(&self) -> bool {
        self.repo.git_dir.join("index").exists()
            || self
                .details()
                .is_ok_and(|details| details.commit.is_empty())
    }

    /// The branch (empty when detached), commit and main worktree, for a job's environment.
    pub(crate) fn details(&self) -> Result<Details> {
        let options = gix::open::Options::isolated();
        let repo = gix::open_opts(&self.repo.git_dir, options)
            .with_context(|| format!("cannot open the git repository at {}", self.root))?;
        let branch = repo
            .head_name()
            .ok()
            .flatten()
            .map(|name| name.shorten().to_string())
            .unwrap_or_default();
        let commit = repo.head_id().map(|id| id.to_string()).unwrap_or_default();
        let main_worktree = repo
            .main_repo()
            .ok()
            .and_then(|main| main.workdir().map(ToOwned::to_owned))
            .map(|path| std::fs::canonicalize(self.root.as_std_path().join(&path)).unwrap_or(path))
            .and_then(|path| utf8(&path).ok());
        Ok(Details {
            branch,
            commit,
            main_worktree,
        })
    }
}

/// Facts about a worktree that only jobs need.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Details {
    /// Empty when detached.
    pub(crate) branch: String,
    pub(crate) commit: String,
    /// `None` for a bare repository, which has no main worktree.
    pub(crate) main_worktree: Option<Utf8PathBuf>,
}

/// The worktree files are carried from (SPEC §3.1), and a sentence for the user when the
/// `DAFT_SOURCE_WORKTREE` in the environment was not used. That variable is honoured only when
/// it names a worktree of this clone: a shell that once ran `eval "$(daft env)"` in another
/// repository must not carry that repository's files into this one. Without it: the main
/// worktree, else (a bare repository) the worktree that has the default branch checked out.
pub(crate) fn source_worktree(
    repo: &Repo,
    details: &Details,
) -> (Option<Utf8PathBuf>, Option<String>) {
    let mut ignored = None;
    if let Some(path) = crate::env::source_worktree() {
        match Repo::discover(&path) {
            Ok(other) if other.common_dir == repo.common_dir && other.work_tree.is_some() => {
                if let Ok(path) = utf8(other.work_tree.as_deref().unwrap_or(&path)) {
                    return (Some(path), None);
                }
            }
            _ => {
                ignored = Some(format!(
                    "ignored DAFT_SOURCE_WORKTREE={}: it is not a worktree of this clone (left over from `eval \"$(daft env)\"` in another repository?); copying from this clone's own source worktree",
                    crate::escape::shell_quote(&path)
                ));
            }
        }
    }
    if let Some(main) = &details.main_worktree {
        return (Some(main.clone()), ignored);
    }
    (default_branch_worktree(repo), ignored)
}

/// The worktree of a bare repository that has its default branch (`HEAD`) checked out.
fn default_branch_worktree(repo: &Repo) -> Option<Utf8PathBuf> {
    let head = crate::git::output(&repo.common_dir, &["symbolic-ref", "-q", "HEAD"]).ok()?;
    let list = crate::git::output(&repo.common_dir, &["worktree", "list", "--porcelain"]).ok()?;
    let mut path = None;
    for line in list.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            path = Some(p.to_owned());
        } else if line.strip_prefix("branch ") == Some(head.as_str()) {
            return path.map(Into::into);
        }
    }
    None
}

/// The linked worktrees git knows in the clone, by git's name for each, with where git
/// thinks each is. Read from git's administrative files: no process.
pub(crate) fn linked(common_dir: &Path) -> Vec<(String, Option<PathBuf>)> {
    let Ok(entries) = std::fs::read_dir(common_dir.join("worktrees")) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Option<PathBuf>)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .map(|admin| {
            let path = git_path(common_dir, &admin);
            (admin, path)
        })
        .collect();
    out.sort();
    out
}

/// Where the worktree git calls `admin` is, as git's administrative files say (`gitdir`
/// points at its `.git` file); `None` when git no longer knows it.
pub(crate) fn git_path(common_dir: &Path, admin: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt as _;
    let admin_dir = common_dir.join("worktrees").join(admin);
    let gitdir = std::fs::read(admin_dir.join("gitdir")).ok()?;
    let gitdir = gitdir.strip_suffix(b"\n").unwrap_or(&gitdir);
    let dot_git = Path::new(std::ffi::OsStr::from_bytes(gitdir));
    let dot_git = if dot_git.is_relative() {
        admin_dir.join(dot_git)
    } else {
        dot_git.to_owned()
    };
    dot_git.parent().map(Path::to_owned)
}

/// Whether the `.git` file at `dot_git` makes its directory the worktree git calls `admin`
/// in the clone at `common_dir` (wherever that directory is now).
pub(crate) fn names_admin(dot_git: &Path, common_dir: &Path, admin: &str) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(meta) = dot_git.symlink_metadata() else {
        return false;
    };
    if !meta.is_file() || meta.len() > 4096 {
        return false;
    }
    let Ok(text) = std::fs::read(dot_git) else {
        return false;
    };
    let Some(target) = text.strip_prefix(b"gitdir: ") else {
        return false;
    };
    let target = target.strip_suffix(b"\n").unwrap_or(target);
    let target = Path::new(std::ffi::OsStr::from_bytes(target));
    let target = dot_git.parent().unwrap_or(Path::new("/")).join(target);
    let want = common_dir.join("worktrees").join(admin);
    target == want || std::fs::canonicalize(&target).ok() == std::fs::canonicalize(&want).ok()
}

/// `path` as UTF-8, or an error saying daft cannot run jobs there.
pub(crate) fn utf8(path: &Path) -> Result<Utf8PathBuf> {
    Utf8Path::from_path(path)
        .map(ToOwned::to_owned)
        .ok_or_else(|| {
            anyhow!(
                "{} is not valid UTF-8; daft runs jobs only in UTF-8 paths",
                crate::escape::visible(path.as_os_str().as_encoded_bytes())
            )
        })
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
            assert!(Identity::valid_id(&format!("{s}_0a1b2c")), "{s}");
        }
        assert!(!Identity::valid_id("../x_0a1b2c"));
        assert!(!Identity::valid_id("x_0a1b2"));
    }
}
