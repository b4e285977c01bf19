//! Which repository a call is about, found the way git finds it: the `GIT_DIR`,
//! `GIT_COMMON_DIR` and `GIT_WORK_TREE` that git exports to a hook (or that a user set) decide,
//! and only without them is the current directory searched. Paths stay bytes (`PathBuf`), so a
//! repository under a non-UTF-8 directory is found like any other. Also whose repository it
//! is: git's ownership rule (`safe.directory`), which daft follows before it runs or trusts
//! anything there.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use crate::escape::shell_quote;

/// Where a repository's pieces are. Paths are absolute.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    /// The work tree's root; `None` for a bare repository.
    pub(crate) work_tree: Option<PathBuf>,
    /// This worktree's git dir (`.git`, or `.git/worktrees/<id>` for a linked worktree).
    pub(crate) git_dir: PathBuf,
    /// Shared by every worktree of the clone.
    pub(crate) common_dir: PathBuf,
    /// The `.git` file of a linked worktree, when there is one.
    gitfile: Option<PathBuf>,
}

impl Repo {
    /// The repository a hook is called for. git runs hooks at the work tree root (a bare
    /// repository's hooks in the git dir) and exports `GIT_DIR` when it is not `.git` there.
    pub(crate) fn for_hook(cwd: &Path) -> Result<Self> {
        if let Some(repo) = Self::from_env(cwd)? {
            return Ok(repo);
        }
        let dot_git = cwd.join(".git");
        if let Some(repo) = Self::at_dot_git(cwd, &dot_git) {
            return Ok(repo);
        }
        if looks_like_git_dir(cwd) {
            return Ok(Self::bare(cwd));
        }
        bail!(
            "{} is not the top of a git work tree (git runs hooks there)",
            cwd.display()
        )
    }

    /// The repository around `cwd`, for a command a user typed: `GIT_DIR` and friends if set,
    /// else the nearest directory upwards with a `.git`, or a bare repository.
    pub(crate) fn discover(cwd: &Path) -> Result<Self> {
        if let Some(repo) = Self::from_env(cwd)? {
            return Ok(repo);
        }
        for dir in cwd.ancestors() {
            if let Some(repo) = Self::at_dot_git(dir, &dir.join(".git")) {
                return Ok(repo);
            }
            if looks_like_git_dir(dir) {
                return Ok(Self::bare(dir));
            }
        }
        bail!(
            "{} is not in a git repository; run this inside one",
            cwd.display()
        )
    }

    fn from_env(cwd: &Path) -> Result<Option<Self>> {
        let Some(git_dir) = var_path("GIT_DIR", cwd) else {
            return Ok(None);
        };
        if !git_dir.is_dir() {
            bail!("GIT_DIR is {}, which is not a directory", git_dir.display());
        }
        let common_dir = var_path("GIT_COMMON_DIR", cwd).unwrap_or_else(|| common_dir_of(&git_dir));
        let work_tree = match var_path("GIT_WORK_TREE", cwd) {
            Some(tree) => Some(tree),
            // Without GIT_WORK_TREE, git's work tree is where it runs the hook; a bare
            // repository runs its hooks inside the git dir.
            None if same_file(cwd, &git_dir) || same_file(cwd, &common_dir) => None,
            None => Some(cwd.to_owned()),
        };
        Ok(Some(Self {
            work_tree: work_tree.map(|t| canonical(&t)),
            git_dir: canonical(&git_dir),
            common_dir: canonical(&common_dir),
            gitfile: None,
        }))
    }

    /// `dir/.git` as a directory (a main worktree) or a `gitdir:` file (a linked worktree).
    fn at_dot_git(dir: &Path, dot_git: &Path) -> Option<Self> {
        let meta = dot_git.metadata().ok()?;
        if meta.is_dir() {
            let common_dir = common_dir_of(dot_git);
            return Some(Self {
                work_tree: Some(dir.to_owned()),
                git_dir: dot_git.to_owned(),
                common_dir: canonical(&common_dir),
                gitfile: None,
            });
        }
        let text = std::fs::read(dot_git).ok()?;
        let target = text.strip_prefix(b"gitdir: ")?;
        let target = target.strip_suffix(b"\n").unwrap_or(target);
        let git_dir = dir.join(bytes_path(target));
        if !git_dir.is_dir() {
            return None;
        }
        let common_dir = common_dir_of(&git_dir);
        Some(Self {
            work_tree: Some(dir.to_owned()),
            git_dir: canonical(&git_dir),
            common_dir: canonical(&common_dir),
            gitfile: Some(dot_git.to_owned()),
        })
    }

    fn bare(dir: &Path) -> Self {
        let dir = canonical(dir);
        Self {
            work_tree: None,
            common_dir: canonical(&common_dir_of(&dir)),
            git_dir: dir,
            gitfile: None,
        }
    }

    /// A main worktree at `root` with its git dir at `root/.git`, taken as it is (tests).
    #[cfg(test)]
    pub(crate) fn at(root: &Path) -> Self {
        Self {
            work_tree: Some(root.to_owned()),
            git_dir: root.join(".git"),
            common_dir: root.join(".git"),
            gitfile: None,
        }
    }

    /// Whether this is a linked worktree (not the main one).
    pub(crate) fn is_linked(&self) -> bool {
        !same_file(&self.git_dir, &self.common_dir)
    }

    /// The work tree root, or a sentence for the user when there is none.
    pub(crate) fn work_tree(&self) -> Result<&Path> {
        self.work_tree.as_deref().ok_or_else(|| {
            anyhow!(
                "{} is a bare repository; daft works in a work tree (cd into a worktree)",
                self.git_dir.display()
            )
        })
    }

    /// Refuses a repository that git would refuse: one owned by another user (its work tree,
    /// `.git` file, git dir or common dir), or whose `daft` directory is, unless the user said
    /// it is safe the way git asks (`safe.directory` in their own or the system's config).
    pub(crate) fn check_owner(&self) -> Result<()> {
        let daft_dir = self.common_dir.join("daft");
        let paths = [
            self.gitfile.as_deref(),
            self.work_tree.as_deref(),
            Some(self.git_dir.as_path()),
            Some(self.common_dir.as_path()),
            daft_dir.exists().then_some(daft_dir.as_path()),
        ];
        let Some((path, owner)) = paths
            .into_iter()
            .flatten()
            .find_map(|path| foreign_owner(path).map(|uid| (path, uid)))
        else {
            return Ok(());
        };
        let id = self.work_tree.as_deref().unwrap_or(&self.git_dir);
        if safe_directory_allows(id) {
            return Ok(());
        }
        bail!(
            "{} is owned by another user (uid {owner}), so daft neither runs nor trusts anything here, as git refuses such a repository (\"dubious ownership\"). If you trust it, tell git: git config --global --add safe.directory {}",
            crate::escape::text(&path.to_string_lossy()),
            shell_quote(id)
        )
    }
}

/// The git common dir of `git_dir`: the target of its `commondir` file, or itself.
fn common_dir_of(git_dir: &Path) -> PathBuf {
    match std::fs::read(git_dir.join("commondir")) {
        Ok(text) => {
            let text = text.strip_suffix(b"\n").unwrap_or(&text);
            git_dir.join(bytes_path(text))
        }
        Err(_) => git_dir.to_owned(),
    }
}

fn looks_like_git_dir(dir: &Path) -> bool {
    dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

fn var_path(name: &str, cwd: &Path) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(|value| cwd.join(PathBuf::from(value)))
}

fn bytes_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStringExt as _;
    PathBuf::from(OsString::from_vec(bytes.to_vec()))
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.metadata(), b.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The uid owning `path` when that is not the current user, by git's rule: root may also act
/// on what `SUDO_UID` owns.
fn foreign_owner(path: &Path) -> Option<u32> {
    let owner = path.symlink_metadata().ok()?.uid();
    let me = crate::platform::effective_uid();
    if owner == me {
        return None;
    }
    if me == 0
        && std::env::var("SUDO_UID")
            .ok()
            .and_then(|id| id.parse::<u32>().ok())
            == Some(owner)
    {
        return None;
    }
    Some(owner)
}

/// Whether `safe.directory` in protected config (system, global, command line; never the
/// repository's own) allows `path`, matched as git matches it.
fn safe_directory_allows(path: &Path) -> bool {
    let Ok(out) = crate::git::command(Path::new("/"))
        .args(["config", "--show-scope", "--get-all", "safe.directory"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return false;
    };
    let path = canonical(path);
    let mut safe = false;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (scope, value) = line.split_once('\t').unwrap_or(("", line));
        if matches!(scope, "local" | "worktree") {
            continue;
        }
        safe = match value {
            "" => false,
            "*" => true,
            value => safe || safe_entry_matches(value, &path),
        };
    }
    safe
}

fn safe_entry_matches(value: &str, path: &Path) -> bool {
    let value = match (value.strip_prefix("~/"), crate::env::home()) {
        (Some(rest), Ok(home)) => home.join(rest),
        _ => PathBuf::from(value),
    };
    if let Some(prefix) = value.to_str().and_then(|v| v.strip_suffix("/*")) {
        let prefix = canonical(Path::new(prefix));
        return path.starts_with(prefix);
    }
    value.is_absolute() && std::fs::canonicalize(&value).is_ok_and(|v| v == path)
}
