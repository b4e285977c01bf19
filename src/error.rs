//! The errors a user can fix themselves, and the exit codes they map to.

use std::path::{Path, PathBuf};

/// Bad arguments or a request that makes no sense here. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// A problem in a `daft.yml`: where it is and what was expected. Exit code 2.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) struct ConfigError {
    pub(crate) path: PathBuf,
    /// 1-based line and column, where known.
    pub(crate) location: Option<(usize, usize)>,
    pub(crate) message: String,
    /// The job the problem is about, to point at its line when the parser gave none.
    pub(crate) job: Option<String>,
}

impl ConfigError {
    pub(crate) fn new(path: &Path, message: String) -> Self {
        Self {
            path: path.to_owned(),
            location: None,
            message,
            job: None,
        }
    }
}

impl std::fmt::Display for ConfigError {
    /// Shown, never interpreted: the path and the message may hold anything the file holds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = crate::escape::text(&self.path.to_string_lossy());
        let message = crate::escape::text(&self.message);
        match self.location {
            Some((line, column)) => write!(f, "{path}:{line}:{column}: {message}"),
            None => write!(f, "{path}: {message}"),
        }
    }
}

/// Usage and config errors exit 2, everything else 1.
pub(crate) fn exit_code(err: &anyhow::Error) -> u8 {
    let is_users = err
        .chain()
        .any(|cause| cause.is::<UsageError>() || cause.is::<ConfigError>());
    if is_users { 2 } else { 1 }
}

/// Shorthand for returning a [`UsageError`].
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(anyhow::Error::new($crate::error::UsageError(format!($($arg)*))))
    };
}
pub(crate) use usage;
