//! What git just did, and where: the event a hook call stands for (SPEC §2) and the worktree
//! it happened in, read with gix.

use anyhow::{Context, Result, anyhow};
use camino::{Utf8Path, Utf8PathBuf};

/// daft's own events, made from `post-checkout`.
pub(crate) const WORKTREE_POST_CREATE: &str = "worktree-post-create";
pub(crate) const POST_CLONE: &str = "post-clone";
pub(crate) const POST_CHECKOUT: &str = "post-checkout";

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
    name == WORKTREE_POST_CREATE || name == POST_CLONE || GIT_HOOKS.contains(&name)
}

/// Hooks whose exit status is git's veto; their jobs abort on the first failure by default.
pub(crate) fn can_veto(name: &str) -> bool {
    name.starts_with("pre-")
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

/// Hooks that get data from git on stdin; the data is passed on to the previous hook and jobs.
pub(crate) fn reads_stdin(name: &str) -> bool {
    matches!(
        name,
        "pre-push"
            | "post-rewrite"
            | "pre-receive"
            | "post-receive"
            | "reference-transaction"
            | "proc-receive"
    )
}

/// An object id of all zeros, in either hash length: what git passes as the old HEAD when there
/// was none (a new worktree or a clone).
pub(crate) fn is_null_id(id: &str) -> bool {
    (id.len() == 40 || id.len() == 64) && id.bytes().all(|b| b == b'0')
}

/// Which daft event a hook call is. `is_linked` is asked only when it matters, since it opens
/// the repository.
pub(crate) fn detect(
    hook: &str,
    args: &[String],
    is_linked: impl FnOnce() -> Result<bool>,
) -> Result<String> {
    if hook != POST_CHECKOUT || !args.first().is_some_and(|old| is_null_id(old)) {
        return Ok(hook.to_owned());
    }
    Ok(if is_linked()? {
        WORKTREE_POST_CREATE
    } else {
        POST_CLONE
    }
    .to_owned())
}

/// The worktree a hook runs in, and the facts its jobs are told about it.
#[derive(Debug, Clone)]
pub(crate) struct Worktree {
    /// Absolute work tree root.
    pub(crate) root: Utf8PathBuf,
    /// Absolute git common dir: shared by every worktree of the clone.
    pub(crate) common_dir: Utf8PathBuf,
    pub(crate) linked: bool,
}

impl Worktree {
    /// Opens the repository whose work tree contains `dir`.
    pub(crate) fn open(dir: &Utf8Path) -> Result<Self> {
        let repo = open_repo(dir)?;
        let root = repo
            .workdir()
            .ok_or_else(|| anyhow!("{dir} is in a bare repository; daft needs a work tree"))?;
        Ok(Self {
            root: absolute(dir, root)?,
            common_dir: absolute(dir, repo.common_dir())?,
            linked: repo.kind() == gix::repository::Kind::LinkedWorkTree,
        })
    }

    /// The git common dir of the repository whose work tree root is `dir`. Hooks run on every
    /// checkout, so the usual layouts (`.git` a directory, or a `gitdir:` file with a
    /// `commondir` beside its target) are read directly; anything else asks gix.
    pub(crate) fn common_dir_of(dir: &Utf8Path) -> Result<Utf8PathBuf> {
        let dot_git = dir.join(".git");
        if dot_git.is_dir() {
            return Ok(dot_git);
        }
        let linked = std::fs::read_to_string(&dot_git).ok().and_then(|text| {
            let git_dir = dir.join(text.strip_prefix("gitdir: ")?.trim_end());
            let common = std::fs::read_to_string(git_dir.join("commondir")).ok()?;
            Some(git_dir.join(common.trim_end()))
        });
        match linked {
            Some(common) if common.is_dir() => Ok(common),
            _ => absolute(dir, open_repo(dir)?.common_dir()),
        }
    }

    /// The branch (empty when detached), commit and main worktree, for a job's environment.
    pub(crate) fn details(&self) -> Result<Details> {
        let repo = open_repo(&self.root)?;
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
            Some(path) => absolute(&self.root, &path)?.into_string(),
            None => String::new(),
        };
        Ok(Details {
            branch,
            commit,
            main_worktree,
        })
    }
}

/// Facts about a worktree that only jobs need.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Details {
    pub(crate) branch: String,
    pub(crate) commit: String,
    pub(crate) main_worktree: String,
}

fn open_repo(dir: &Utf8Path) -> Result<gix::Repository> {
    // Isolated: only the repository's own files matter here, not global or system config, and
    // skipping them keeps the hook cheap.
    let options = gix::open::Options::isolated();
    gix::discover_opts(dir, gix::discover::upwards::Options::default(), options)
        .with_context(|| format!("cannot open the git repository at {dir}"))
}

fn absolute(base: &Utf8Path, path: &std::path::Path) -> Result<Utf8PathBuf> {
    let joined = base.as_std_path().join(path);
    let clean = std::fs::canonicalize(&joined).unwrap_or(joined);
    Utf8PathBuf::from_path_buf(clean)
        .map_err(|p| anyhow!("{} is not valid UTF-8; daft needs UTF-8 paths", p.display()))
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

    #[test]
    fn only_a_null_post_checkout_asks_about_the_worktree() {
        let switch = vec!["a".repeat(40), "b".repeat(40), "1".into()];
        let create = vec!["0".repeat(40), "b".repeat(40), "1".into()];
        let never = || -> Result<bool> { panic!("must not open the repository") };
        assert_eq!(
            detect("post-checkout", &switch, never).unwrap(),
            "post-checkout"
        );
        assert_eq!(detect("pre-commit", &[], never).unwrap(), "pre-commit");
        assert_eq!(
            detect("post-checkout", &create, || Ok(true)).unwrap(),
            "worktree-post-create"
        );
        assert_eq!(
            detect("post-checkout", &create, || Ok(false)).unwrap(),
            "post-clone"
        );
    }
}
