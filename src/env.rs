//! The one place that reads daft's environment variables. None of them can switch off trust.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// Variables that only make sense between a shim and `daft hook`; jobs never see them.
pub(crate) const SHIM_VARS: [&str; 2] = ["DAFT_BIN", "DAFT_PREVIOUS_HOOKS"];

/// The hooks directory that was in effect before daft, as the shim's `daft.env` exported it.
/// Empty or unset means git's default, `<git-common-dir>/hooks`.
pub(crate) fn previous_hooks() -> Option<String> {
    std::env::var("DAFT_PREVIOUS_HOOKS")
        .ok()
        .filter(|value| !value.is_empty())
}

/// Whether colour is allowed (<https://no-color.org>).
pub(crate) fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
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
