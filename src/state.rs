//! Where daft keeps what it knows, in one screen. Per clone, under `<git-common-dir>/daft/`
//! (nothing in a checked-out tree can write there, and every worktree of the clone sees it):
//!
//! ```text
//! trust/                 records, blobs/<sha256>, lock        the trust store
//! worktrees/index        one entry per linked worktree daft knows (the removal sweep)
//! worktrees/paths        their paths that are there, one a line (the hooks-path shims look)
//! worktrees/<id>/        worktree.json, anchor, setup.lock, unseen-failures, runs/<run>/
//! removed/<id>/          the same, for a worktree that is gone (its teardown's runs)
//! events/<hook>          a marker per git hook a trusted config names (hooks-path shims)
//! seq                    the clone's run counter: runs sort by it, not by the clock
//! hooks/ adopted/ install.json   a repository install (see `install`)
//! unhooked-told          the last "git no longer calls daft" notice given
//! ```
//!
//! Per user, under `$XDG_STATE_HOME/daft/` (`~/.local/state/daft`): `ports.json` and its lock,
//! the port leases of every clone. No other file joins these paths.

use std::path::{Path, PathBuf};

use anyhow::Result;

/// daft's directory in one clone.
#[derive(Debug, Clone)]
pub(crate) struct State {
    root: PathBuf,
}

impl State {
    pub(crate) fn of(common_dir: &Path) -> Self {
        Self {
            root: common_dir.join("daft"),
        }
    }

    /// `<common>/daft` itself (ownership checks, install records).
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The git common dir this state belongs to.
    pub(crate) fn common_dir(&self) -> &Path {
        self.root.parent().unwrap_or(&self.root)
    }

    pub(crate) fn trust_dir(&self) -> PathBuf {
        self.root.join("trust")
    }

    pub(crate) fn events_dir(&self) -> PathBuf {
        self.root.join("events")
    }

    pub(crate) fn worktrees_dir(&self) -> PathBuf {
        self.root.join("worktrees")
    }

    pub(crate) fn index(&self) -> PathBuf {
        self.worktrees_dir().join("index")
    }

    /// The paths of the linked worktrees that are where daft saw them, one a line, for the
    /// hooks-path shims: one that is gone starts daft, which tears it down.
    pub(crate) fn worktree_paths(&self) -> PathBuf {
        self.worktrees_dir().join("paths")
    }

    pub(crate) fn index_lock(&self) -> PathBuf {
        self.worktrees_dir().join("index.lock")
    }

    /// What daft keeps for worktree `id` while it exists.
    pub(crate) fn worktree(&self, id: &str) -> WorktreeDir {
        WorktreeDir(self.worktrees_dir().join(id))
    }

    pub(crate) fn removed_dir(&self) -> PathBuf {
        self.root.join("removed")
    }

    /// What daft keeps for worktree `id` once it is gone.
    pub(crate) fn removed(&self, id: &str) -> WorktreeDir {
        WorktreeDir(self.removed_dir().join(id))
    }

    pub(crate) fn seq(&self) -> PathBuf {
        self.root.join("seq")
    }

    pub(crate) fn seq_lock(&self) -> PathBuf {
        self.root.join("seq.lock")
    }

    /// When the hooks-path shims were last brought in line with what is behind them.
    pub(crate) fn shims_synced(&self) -> PathBuf {
        self.root.join("shims-synced")
    }

    pub(crate) fn unhooked_told(&self) -> PathBuf {
        self.root.join("unhooked-told")
    }
}

/// The directory of one worktree (live or removed).
#[derive(Debug, Clone)]
pub(crate) struct WorktreeDir(PathBuf);

impl WorktreeDir {
    /// A directory the caller chose (a removed worktree found by listing).
    pub(crate) fn at(dir: PathBuf) -> Self {
        Self(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn record(&self) -> PathBuf {
        self.0.join("worktree.json")
    }

    /// A second name of the worktree's `.git` file: its link count tells whether the worktree
    /// still exists anywhere on the file system, whatever path it has now.
    pub(crate) fn anchor(&self) -> PathBuf {
        self.0.join("anchor")
    }

    pub(crate) fn setup_lock(&self) -> PathBuf {
        self.0.join("setup.lock")
    }

    /// When the worktree's files went missing from where daft saw them, and how git's
    /// records of it stood then (a later write there means it lives on somewhere).
    pub(crate) fn missing(&self) -> PathBuf {
        self.0.join("missing.json")
    }

    /// Its removal was announced (`daft remove --prepare`): once it is missing, it is gone.
    pub(crate) fn removing(&self) -> PathBuf {
        self.0.join("removing")
    }

    /// Held by the process that watches for the worktree's removal.
    pub(crate) fn watch_lock(&self) -> PathBuf {
        self.0.join("watch.lock")
    }

    /// In a removed worktree's directory: the clone's counter when it was torn down (its age,
    /// for how many removed worktrees are kept).
    pub(crate) fn removed_number(&self) -> PathBuf {
        self.0.join("removed-number")
    }

    /// Held while a copy job carries modification times into the worktree; `times-run` names
    /// the run that did, so it is done once per run.
    pub(crate) fn times_lock(&self) -> PathBuf {
        self.0.join("times.lock")
    }

    pub(crate) fn times_run(&self) -> PathBuf {
        self.0.join("times-run")
    }

    pub(crate) fn unseen_failures(&self) -> PathBuf {
        self.0.join("unseen-failures")
    }

    pub(crate) fn runs(&self) -> PathBuf {
        self.0.join("runs")
    }
}

/// What belongs to the user across clones: `$XDG_STATE_HOME/daft`, or `~/.local/state/daft`.
pub(crate) struct UserState(PathBuf);

impl UserState {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self(crate::env::state_dir()?))
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.0
    }

    pub(crate) fn ports(&self) -> PathBuf {
        self.0.join("ports.json")
    }

    pub(crate) fn ports_lock(&self) -> PathBuf {
        self.0.join("ports.lock")
    }
}
