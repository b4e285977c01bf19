//! What git just did: the event a hook call stands for (SPEC §2), as a type. git's own hooks
//! and daft's own events are parsed once, from their names, and carry their properties (can
//! it veto, does it read stdin) with them, so no caller tests a name's prefix.

use std::ffi::OsString;
use std::path::Path;

use crate::repo::Repo;

macro_rules! hooks {
    ($($variant:ident = $name:literal,)*) => {
        /// A hook git knows (githooks(5)).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) enum Hook { $($variant,)* }

        impl Hook {
            pub(crate) const ALL: &[Hook] = &[$(Hook::$variant,)*];

            pub(crate) fn name(self) -> &'static str {
                match self { $(Hook::$variant => $name,)* }
            }
        }
    };
}

hooks! {
    ApplypatchMsg = "applypatch-msg",
    PreApplypatch = "pre-applypatch",
    PostApplypatch = "post-applypatch",
    PreCommit = "pre-commit",
    PreMergeCommit = "pre-merge-commit",
    PrepareCommitMsg = "prepare-commit-msg",
    CommitMsg = "commit-msg",
    PostCommit = "post-commit",
    PreRebase = "pre-rebase",
    PostCheckout = "post-checkout",
    PostMerge = "post-merge",
    PrePush = "pre-push",
    PreReceive = "pre-receive",
    Update = "update",
    ProcReceive = "proc-receive",
    PostReceive = "post-receive",
    PostUpdate = "post-update",
    ReferenceTransaction = "reference-transaction",
    PushToCheckout = "push-to-checkout",
    PreAutoGc = "pre-auto-gc",
    PostRewrite = "post-rewrite",
    SendemailValidate = "sendemail-validate",
    FsmonitorWatchman = "fsmonitor-watchman",
    P4Changelist = "p4-changelist",
    P4PrepareChangelist = "p4-prepare-changelist",
    P4PostChangelist = "p4-post-changelist",
    P4PreSubmit = "p4-pre-submit",
    PostIndexChange = "post-index-change",
}

impl Hook {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|hook| hook.name() == name)
    }

    /// Whether git takes the hook's exit status as a veto.
    pub(crate) fn can_veto(self) -> bool {
        use Hook::{
            ApplypatchMsg, CommitMsg, P4Changelist, P4PreSubmit, P4PrepareChangelist,
            PreApplypatch, PreAutoGc, PreCommit, PreMergeCommit, PrePush, PreRebase, PreReceive,
            PrepareCommitMsg, ProcReceive, PushToCheckout, ReferenceTransaction, SendemailValidate,
            Update,
        };
        matches!(
            self,
            ApplypatchMsg
                | PreApplypatch
                | PreCommit
                | PreMergeCommit
                | PrepareCommitMsg
                | CommitMsg
                | PreRebase
                | PrePush
                | PreReceive
                | Update
                | ProcReceive
                | ReferenceTransaction
                | PushToCheckout
                | PreAutoGc
                | SendemailValidate
                | P4Changelist
                | P4PrepareChangelist
                | P4PreSubmit
        )
    }

    /// Whether git gives the hook data on stdin. The data is streamed to the previous hook
    /// and, only when a trusted config has jobs for the hook, kept for them.
    pub(crate) fn reads_stdin(self) -> bool {
        matches!(
            self,
            Hook::PrePush
                | Hook::PostRewrite
                | Hook::PreReceive
                | Hook::PostReceive
                | Hook::ReferenceTransaction
        )
    }
}

/// An event a `daft.yml` can give jobs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Event {
    /// `git worktree add`: a linked worktree's setup.
    WorktreePostCreate,
    /// `git clone` (with a global install).
    PostClone,
    /// Run by `daft remove` in the worktree, before git removes it.
    WorktreePreRemove,
    /// Once after a worktree is gone, however it went.
    WorktreePostRemove,
    /// A git hook under its own name.
    Git(Hook),
}

impl Event {
    /// daft's own events, which are not git hooks.
    pub(crate) const DAFT: [Event; 4] = [
        Event::WorktreePostCreate,
        Event::PostClone,
        Event::WorktreePreRemove,
        Event::WorktreePostRemove,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::WorktreePostCreate => "worktree-post-create",
            Self::PostClone => "post-clone",
            Self::WorktreePreRemove => "worktree-pre-remove",
            Self::WorktreePostRemove => "worktree-post-remove",
            Self::Git(hook) => hook.name(),
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::DAFT
            .into_iter()
            .find(|event| event.name() == name)
            .or_else(|| Hook::parse(name).map(Self::Git))
    }

    /// Every event, daft's first.
    pub(crate) fn all() -> impl Iterator<Item = Event> {
        Self::DAFT
            .into_iter()
            .chain(Hook::ALL.iter().copied().map(Self::Git))
    }

    /// daft's own events' names, for messages.
    pub(crate) fn daft_names() -> String {
        Self::DAFT.map(Event::name).join(", ")
    }

    /// Whether a failure is a veto, so jobs abort on the first failure by default.
    pub(crate) fn can_veto(self) -> bool {
        match self {
            Self::WorktreePreRemove => true,
            Self::Git(hook) => hook.can_veto(),
            _ => false,
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event `{name}`")))
    }
}

/// An object id of all zeros, in either hash length: what git passes as the old HEAD when there
/// was none.
pub(crate) fn is_null_id(id: &str) -> bool {
    (id.len() == 40 || id.len() == 64) && id.bytes().all(|b| b == b'0')
}

/// Whether a hook call is a `post-checkout` from no commit: a new worktree or a clone.
pub(crate) fn from_nothing(hook: Hook, args: &[OsString]) -> bool {
    hook == Hook::PostCheckout
        && args
            .first()
            .and_then(|old| old.to_str())
            .is_some_and(is_null_id)
}

/// Which event a hook call is. A `post-checkout` from no commit is a new worktree (in a
/// linked worktree) or a clone (in the main one), unless the HEAD reflog says it was a switch
/// away from an unborn branch (`git switch --orphan`), which is a plain `post-checkout`.
pub(crate) fn detect(hook: Hook, args: &[OsString], repo: &Repo) -> Event {
    if !from_nothing(hook, args) {
        return Event::Git(hook);
    }
    let last = last_reflog_message(&repo.git_dir);
    let switched = last
        .as_deref()
        .is_some_and(|message| message.starts_with("checkout: moving from "));
    if repo.is_linked() {
        if switched {
            Event::Git(hook)
        } else {
            Event::WorktreePostCreate
        }
    } else if last.is_none_or(|message| message.starts_with("clone: ")) {
        Event::PostClone
    } else {
        Event::Git(hook)
    }
}

/// The message of the newest entry of `git_dir/logs/HEAD`, if there is a reflog.
fn last_reflog_message(git_dir: &Path) -> Option<String> {
    let log = std::fs::read(git_dir.join("logs/HEAD")).ok()?;
    let last = log.trim_ascii_end().rsplit(|&b| b == b'\n').next()?;
    let message = last.splitn(2, |&b| b == b'\t').nth(1).unwrap_or_default();
    Some(String::from_utf8_lossy(message).into_owned())
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
    fn events_parse_from_their_names_and_know_their_properties() {
        for event in Event::all() {
            assert_eq!(Event::parse(event.name()), Some(event));
        }
        assert_eq!(Hook::ALL.len(), 28);
        assert_eq!(Event::parse("nope"), None);
        assert!(Event::parse("pre-commit").unwrap().can_veto());
        assert!(Event::WorktreePreRemove.can_veto());
        assert!(!Event::WorktreePostCreate.can_veto());
        assert!(!Event::Git(Hook::PostCheckout).can_veto());
        assert!(Hook::PrePush.reads_stdin() && !Hook::PreCommit.reads_stdin());
    }
}
