//! Which hook names get a shim (hooks-path mode). git starts a process for every hook file
//! that exists — about a millisecond each, whatever the file is — and one `git switch` fires up
//! to ten hooks. So a repository install shims only the names that have something behind them:
//!
//! - always: `post-checkout` (it carries new worktrees, and notices changes, below), the
//!   receive-side hooks (`pre-receive`, `update`, `post-receive`, `post-update`: a server's
//!   hook must never stop being enforced, and they never fire on a switch or a commit), and
//!   the hooks of rarer commands (`git am`, `git send-email`, `git p4`, `git gc --auto`);
//! - the hooks of everyday commands (commit, merge, rebase, push, every ref update and index
//!   write) only when a trusted config names them, or a hook is there under that name in the
//!   previous hooks directory or among the adopted ones.
//!
//! The set is brought in line at `daft install`, `daft trust` and `daft untrust`, at every daft
//! command, and whenever the previous hooks directory (or the adopted one) changed since the
//! last time: the `post-checkout` shim compares their times with a stamp and starts daft when
//! they are newer. So a hook added by hand to `.git/hooks` runs from the next checkout, switch
//! or worktree add (or daft command) on. A global install, which cannot list every
//! repository's hooks, and one chained to a relative `core.hooksPath` (one directory per
//! worktree) keep a shim under every name.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::{Record, Target};
use crate::event::Hook;
use crate::files::{remove_if_present, write_atomically};
use crate::shim::{PASS_THROUGH, is_shim};
use crate::state::State;

/// The hooks of everyday commands: shimmed only when something is behind them.
const EVERYDAY: [Hook; 11] = [
    Hook::PreCommit,
    Hook::PreMergeCommit,
    Hook::PrepareCommitMsg,
    Hook::CommitMsg,
    Hook::PostCommit,
    Hook::PreRebase,
    Hook::PostMerge,
    Hook::PrePush,
    Hook::ReferenceTransaction,
    Hook::PostRewrite,
    Hook::PostIndexChange,
];

/// Whether an install keeps only the shims it needs: a repository install whose previous
/// hooks are in one directory (git's own, or an absolute `core.hooksPath`).
pub(super) fn partial(target: &Target, chain: Option<&str>) -> bool {
    !target.global && chain.is_none_or(|dir| Path::new(dir).is_absolute())
}

/// The previous hooks directory of a repository install: `chain`, else `<common>/hooks`.
fn previous_dir(target: &Target, chain: Option<&str>) -> PathBuf {
    chain.map_or_else(
        || {
            target
                .daft_dir
                .parent()
                .unwrap_or(&target.daft_dir)
                .join("hooks")
        },
        PathBuf::from,
    )
}

/// The hook names that get a shim.
pub(super) fn needed(target: &Target, chain: Option<&str>, partial: bool) -> BTreeSet<Hook> {
    let all = Hook::ALL
        .iter()
        .copied()
        .filter(|hook| !PASS_THROUGH.contains(hook));
    if !partial {
        return all.collect();
    }
    let previous = previous_dir(target, chain);
    let adopted = target.adopted_dir();
    let events = target.daft_dir.join("events");
    all.filter(|hook| {
        !EVERYDAY.contains(hook)
            || [&previous, &adopted, &events]
                .iter()
                .any(|dir| dir.join(hook.name()).symlink_metadata().is_ok())
    })
    .collect()
}

/// Writes `text` under every name of `names` that holds no other tool's file (and under the
/// names other tools gave daft's shims, `pre-commit.legacy`, so those keep calling the current
/// daft), and takes daft's shims away from every other hook name.
pub(super) fn write(dir: &Path, text: &[u8], names: &BTreeSet<Hook>) -> Result<()> {
    let renamed = fs::read_dir(dir)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            is_shim(path)
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| Hook::parse(n).is_none())
        })
        .collect::<Vec<_>>();
    let wanted = names.iter().map(|hook| dir.join(hook.name()));
    for path in wanted.chain(renamed) {
        if path.symlink_metadata().is_ok() && !is_shim(&path) {
            continue; // another tool's hook: adopted, or chaining to ours
        }
        if fs::read(&path).is_ok_and(|old| old == text) {
            continue;
        }
        write_atomically(&path, text)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    for hook in Hook::ALL.iter().filter(|hook| !names.contains(hook)) {
        let path = dir.join(hook.name());
        if !PASS_THROUGH.contains(hook) && is_shim(&path) {
            remove_if_present(&path)?;
        }
    }
    Ok(())
}

/// Brings a repository install's shims in line with what is behind them, when the previous
/// hooks directory, the adopted one or the trusted events changed since it was last done
/// (one `stat` each otherwise). `force`: whatever changed.
pub(crate) fn sync(state: &State, force: bool) -> Result<()> {
    let target = Target::at(state);
    let Ok(Some(record)) = target.read_record() else {
        return Ok(());
    };
    if record.mode != super::Mode::HooksPath || !record.partial {
        return Ok(());
    }
    let stamp = state.shims_synced();
    let since = stamp.symlink_metadata().and_then(|m| m.modified()).ok();
    let chain = record.chain.as_deref();
    // Followed where it is a link (`.git/hooks` → a committed `.githooks/`): what counts is
    // the directory's time, where a new hook shows.
    let changed = |dir: &Path| {
        dir.metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| since.is_none_or(|since| at > since))
    };
    let watched = [
        previous_dir(&target, chain),
        target.adopted_dir(),
        target.daft_dir.join("events"),
    ];
    if !force && !watched.iter().any(|dir| changed(dir)) {
        return Ok(());
    }
    // The stamp gets a time before the look: a change while looking is seen next time. (File
    // times come from a coarse clock, a few milliseconds behind: hence the margin.)
    let looked_at = std::time::SystemTime::now() - std::time::Duration::from_millis(50);
    rewrite(&target, &record)?;
    write_atomically(&stamp, b"")?;
    fs::File::options()
        .write(true)
        .open(&stamp)
        .and_then(|file| file.set_modified(looked_at))
        .with_context(|| format!("cannot set the time of {}", stamp.display()))
}

/// The shim's text for this install.
pub(super) fn text(target: &Target, bin: &Path, chain: Option<&str>, partial: bool) -> Vec<u8> {
    let fill = |text: &[u8], from: &str, to: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() + to.len());
        let mut rest = text;
        while let Some(at) = rest.windows(from.len()).position(|w| w == from.as_bytes()) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(to);
            rest = &rest[at + from.len()..];
        }
        out.extend_from_slice(rest);
        out
    };
    let text = fill(
        crate::shim::TEXT.as_bytes(),
        "@BIN@",
        &crate::escape::sh_word(bin.as_os_str().as_bytes()),
    );
    let text = fill(
        &text,
        "@PREVIOUS@",
        &crate::escape::sh_word(chain.unwrap_or("").as_bytes()),
    );
    let text = fill(
        &text,
        "@ADOPTED@",
        &crate::escape::sh_word(target.adopted_dir().as_os_str().as_bytes()),
    );
    fill(&text, "@PARTIAL@", if partial { b"1" } else { b"''" })
}

/// Writes the shims `record`'s install needs.
fn rewrite(target: &Target, record: &Record) -> Result<()> {
    let bin = match &record.bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()?,
    };
    let chain = record.chain.as_deref();
    let text = text(target, &bin, chain, record.partial);
    write(
        &target.hooks_dir(),
        &text,
        &needed(target, chain, record.partial),
    )
}
