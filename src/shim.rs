//! The shim: the small `sh` script (`hooks/shim.sh`) that hooks-path mode installs under git
//! hook names, and what tells daft's files apart from everyone else's — a mark every shim
//! holds, and the pass-through links of the hooks whose mere existence changes what git does.
//! Used by the install (writing and adopting), by the chain of previous hooks (never run a
//! shim as one: that would loop), and by `daft doctor`.

use std::io::Read as _;
use std::path::Path;

use crate::event::Hook;

/// The shim every hook name gets, with `@BIN@`, `@PREVIOUS@` and `@ADOPTED@` to fill in.
pub(crate) const TEXT: &str = include_str!("../hooks/shim.sh");

/// A line every shim holds, so a shim is never taken for a previous hook.
pub(crate) const MARK: &str = "# daft shim:";

/// Hooks whose mere existence changes what git does (`push-to-checkout` replaces git's own
/// update of the work tree; without a `proc-receive` git refuses the push itself). They get
/// a symlink to the previous hook instead of a shim: dangling, so git sees no hook, until
/// that hook exists, and then git runs it directly. daft runs no jobs for them.
pub(crate) const PASS_THROUGH: [Hook; 2] = [Hook::PushToCheckout, Hook::ProcReceive];

/// Whether the file at `path` is one of daft's shims (this version's or an older one).
pub(crate) fn is_shim(path: &Path) -> bool {
    let mut head = [0u8; 8192];
    let read = std::fs::File::open(path)
        .and_then(|mut file| file.read(&mut head))
        .unwrap_or(0);
    head[..read]
        .windows(MARK.len())
        .any(|w| w == MARK.as_bytes())
}

/// Whether daft wrote the file at `path`: a shim, or a pass-through link.
pub(crate) fn is_ours(path: &Path) -> bool {
    is_shim(path) || is_pass_through(path)
}

fn is_pass_through(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default();
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
        && PASS_THROUGH.iter().any(|hook| name == hook.name())
        && std::fs::read_link(path).is_ok_and(|to| to.file_name() == Some(name))
}
