//! What git just did, and where: the event a hook call stands for (SPEC §2) and the worktree
//! it happened in.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use camino::{Utf8Path, Utf8PathBuf};

use crate::repo::Repo;
use crate::worktrees::Identity;

/// daft's own events, made from `post-checkout`.
pub(crate) const WORKTREE_POST_CREATE: &str = "worktree-post-create";
pub(crate) const POST_CLONE: &str = "post-clone";
pub(crate) const POST_CHECKOUT: &str = "post-checkout";
/// Run by `daft remove` in the worktree, before git removes it.
pub(crate) const WORKTREE_PRE_REMOVE: &str = "worktree-pre-remove";
/// Run once after a worktree is gone, however it went.
pub(crate) const WORKTREE_POST_REMOVE: &str = "worktree-post-remove";
/// Events that are not git hooks, for messages.
pub(crate) const DAFT_EVENTS: [&str; 4] = [
    WORKTREE_POST_CREATE,
    POST_CLONE,
    WORKTREE_PRE_REMOVE,
    WORKTREE_POST_REMOVE,
];

/// Every hook git knows (githooks(5)).
pub(crate) const GIT_HOOKS: [&str; 28] = [
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-receive",
    "update",
    "proc-receive",
    "post-receive",
    "post-update",
    "reference-transaction",
    "push-to-checkout",
    "pre-auto-gc",
    "post-rewrite",
    "sendemail-validate",
    "fsmonitor-watchman",
    "p4-changelist",
    "p4-prepare-changelist",
    "p4-post-changelist",
    "p4-pre-submit",
    "post-index-change",
];

/// Whether `name` is an event a `daft.yml` may configure.
pub(crate) fn is_known(name: &str) -> bool {
    DAFT_EVENTS.contains(&name) || GIT_HOOKS.contains(&name)
}

/// Hooks whose exit status is git's veto; their jobs abort on the first failure by default.
pub(crate) fn can_veto(name: &str) -> bool {
    name == WORKTREE_PRE_REMOVE
        || name.starts_with("pre-")
        || name.starts_with("p4-")
        || matches!(
            name,
            "commit-msg"
                | "prepare-commit-msg"
                | "applypatch-msg"
                | "sendemail-validate"
                | "update"
                | "proc-receive"
                | "push-to-checkout"
                | "reference-transaction"
        )
}

/// Hooks that get data from git on stdin. The data is streamed to the previous hook and, only
/// when a trusted config has jobs for the hook, kept for them.
pub(crate) fn reads_stdin(name: &str) -> bool {
    matches!(
        name,
        "pre-push" | "post-rewrite" | "pre-receive" | "post-receive" | "reference-transaction"
    )
}

/// An object id of all zeros, in either hash length: what git passes as the old HEAD when there
/// was none.
pub(crate) fn is_null_id(id: &str) -> bool {
    (id.len() == 40 || id.len() == 64) && id.bytes().all(|b| b == b'0')
}

/// Which daft event a hook call is. A `post-checkout` from no commit is a new worktree (in a
/// linked worktree) or a clone (in the main one), unless the HEAD reflog says it was a switch
/// away from an unborn branch (`git switch --orphan`), which is a plain `post-checkout`.
pub(crate) fn detect(hook: &str, args: &[OsString], repo: &Repo) -> String {
    let from_nothing = args
        .first()
        .and_then(|old| old.to_str())
        .is_some_and(is_null_id);
    if hook != POST_CHECKOUT || !from_nothing {
        return hook.to_owned();
    }
    let last = last_reflog_message(&repo.git_dir);
    let switched = last
        .as_deref()
        .is_some_and(|message| message.starts_with("checkout: moving from "));
    if repo.is_linked() {
        if switched {
            POST_CHECKOUT
        } else {
            WORKTREE_POST_CREATE
        }
    } else if last.is_none_or(|message| message.starts_with("clone: ")) {
        POST_CLONE
    } else {
        POST_CHECKOUT
    }
    .to_owned()
}

/// The message of the newest entry of `git_dir/logs/HEAD`, if there is a reflog.
fn last_reflog_message(git_dir: &Path) -> Option<String> {
    let log = std::fs::read(git_dir.join("logs/HEAD")).ok()?;
    let last = log.trim_ascii_end().rsplit(|&b| b == b'\n').next()?;
    let message = last.splitn(2, |&b| b == b'\t').nth(1).unwrap_or_default();
    Some(String::from_utf8_lossy(message).into_owned())
}

/// The worktree a job runs in, and the facts its jobs are told about it. Unlike [`Repo`] its
/// paths are UTF-8: they go into environment variables and records.
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
        let main_worktree = match repo
            .main_repo()
            .ok()
            .and_then(|main| main.workdir().map(ToOwned::to_owned))
        {
            Some(path) => {
                let path =
                    std::fs::canonicalize(self.root.as_std_path().join(&path)).unwrap_or(path);
                utf8(&path)
                    .map(Utf8PathBuf::into_string)
                    .unwrap_or_default()
            }
            None => String::new(),
        };
        Ok(Details {
            branch,
            commit,
            main_worktree,
        })
    }
}

/// The worktree files are carried from (SPEC §3.1): `DAFT_SOURCE_WORKTREE` if set, else the
/// main worktree, else (a bare repository) the worktree that has the default branch checked
/// out.
pub(crate) fn source_worktree(repo: &Repo, details: &Details) -> Option<std::path::PathBuf> {
    if let Some(path) = crate::env::source_worktree() {
        return Some(path);
    }
    if !details.main_worktree.is_empty() {
        return Some(details.main_worktree.clone().into());
    }
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

/// Facts about a worktree that only jobs need.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Details {
    pub(crate) branch: String,
    pub(crate) commit: String,
    pub(crate) main_worktree: String,
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
    fn null_ids_of_both_hash_lengths() {
        assert!(is_null_id(&"0".repeat(40)));
        assert!(is_null_id(&"0".repeat(64)));
        assert!(!is_null_id(&"0".repeat(39)));
        assert!(!is_null_id(&format!("1{}", "0".repeat(39))));
    }
}
