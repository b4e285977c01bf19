//! The one place that reads daft's environment variables. None of them can switch off trust.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result};

/// Variables that only make sense between a shim and `daft hook`; jobs and previous hooks never
/// see them.
pub(crate) const SHIM_VARS: [&str; 3] = ["DAFT_BIN", "DAFT_PREVIOUS_HOOKS", "DAFT_ADOPTED_HOOKS"];

/// Whether git reached daft through a shim (hooks-path mode), which exports
/// `DAFT_PREVIOUS_HOOKS` (empty for git's default hooks directory). In config mode git runs
/// the other hooks itself and daft chains nothing.
pub(crate) fn via_shim() -> bool {
    std::env::var_os("DAFT_PREVIOUS_HOOKS").is_some()
}

/// The hooks directory that was in effect before daft, as the shim exported it. Empty or
/// unset means git's default, `<git-common-dir>/hooks`.
pub(crate) fn previous_hooks() -> Option<OsString> {
    std::env::var_os("DAFT_PREVIOUS_HOOKS").filter(|value| !value.is_empty())
}

/// Where `daft install` keeps hooks other tools wrote into its hooks directory, as the shim
/// exported it.
pub(crate) fn adopted_hooks() -> Option<OsString> {
    std::env::var_os("DAFT_ADOPTED_HOOKS").filter(|value| !value.is_empty())
}

/// Whether the terminal's character set is UTF-8, as the locale says (`LC_ALL`, else
/// `LC_CTYPE`, else `LANG`). Without one, daft prints only ASCII.
pub(crate) fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .is_some_and(|value| {
            let value = value.to_ascii_lowercase();
            value.contains("utf-8") || value.contains("utf8")
        })
}

/// Whether colour is allowed (<https://no-color.org>; a dumb terminal has none either).
pub(crate) fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
        || std::env::var_os("TERM").is_some_and(|term| term == "dumb")
}

/// The user's home directory.
pub(crate) fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set")
}

/// Where a global install keeps its shims: `$XDG_DATA_HOME/daft`, or `~/.local/share/daft`.
pub(crate) fn data_dir() -> Result<PathBuf> {
    match std::env::var_os("XDG_DATA_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("daft")),
        None => Ok(home()?.join(".local/share/daft")),
    }
}

/// Where daft keeps what belongs to the user across clones (the port leases):
/// `$XDG_STATE_HOME/daft`, or `~/.local/state/daft`.
pub(crate) fn state_dir() -> Result<PathBuf> {
    match std::env::var_os("XDG_STATE_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("daft")),
        None => Ok(home()?.join(".local/state/daft")),
    }
}

/// The worktree to copy from, when the user names one (`DAFT_SOURCE_WORKTREE`).
pub(crate) fn source_worktree() -> Option<PathBuf> {
    std::env::var_os("DAFT_SOURCE_WORKTREE")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}
