//! Where the supervisor's worktree is, each turn: still there, moved (its jobs follow it), or
//! gone — as `whereabouts` judges it.

use camino::Utf8PathBuf;

use crate::state::State;
use crate::whereabouts::Whereabouts;
use crate::worktree::Identity;

/// Where the supervisor's worktree is: its path, checked each turn, and — when nothing is
/// there any more — what `whereabouts` makes of it (moved, missing for a moment, gone).
pub(super) struct Place {
    pub(super) path: Utf8PathBuf,
}

pub(super) enum Where {
    Here,
    Moved(Utf8PathBuf),
    Removed,
}

impl Place {
    pub(super) fn new(path: Utf8PathBuf) -> Self {
        Self { path }
    }

    pub(super) fn check(&mut self, state: &State, identity: &Identity) -> Where {
        if self.path.join(".git").symlink_metadata().is_ok() {
            return Where::Here;
        }
        let Some(admin) = &identity.admin else {
            return Where::Here; // a main worktree moved by hand: nothing to follow
        };
        let bytes = crate::registry::index_bytes(state);
        // Not in daft's index (the clone itself may be gone): what git knows decides.
        let entry = crate::registry::entries(&bytes)
            .find(|e| e.id == identity.id)
            .unwrap_or_else(|| crate::registry::Entry {
                id: identity.id.clone(),
                admin: admin.clone(),
                ino: 0,
                path: self.path.clone().into_std_path_buf(),
            });
        let whereabouts = match crate::whereabouts::locate(state, &entry) {
            // Already recorded at its new place (by a daft call from there).
            Whereabouts::Here => Whereabouts::Moved(entry.path),
            other => other,
        };
        match whereabouts {
            Whereabouts::Gone => Where::Removed,
            Whereabouts::Moved(to) => match Utf8PathBuf::from_path_buf(to) {
                Ok(to) if to != self.path => {
                    self.path = to.clone();
                    Where::Moved(to)
                }
                _ => Where::Here,
            },
            // Moved by hand, or missing for a moment: keep going.
            _ => Where::Here,
        }
    }
}
