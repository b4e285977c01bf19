//! Finding `daft.yml` at a work tree root and reading its exact bytes once: what trust hashes
//! is what is parsed and what runs. Nothing here parses; an untrusted config is only read and
//! hashed.

use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// Looked up in this order at the work tree root; the first found wins.
pub(crate) const FILE_NAMES: [&str; 4] = ["daft.yml", "daft.yaml", ".daft.yml", ".daft.yaml"];
/// Untracked overrides, beside the config.
pub(crate) const LOCAL_FILE_NAME: &str = "daft.local.yml";
/// Larger than this is not a config someone wrote: refuse it rather than read it.
pub(crate) const MAX_SIZE: u64 = 256 * 1024;

/// A config file's exact bytes, read once.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) path: PathBuf,
    pub(crate) bytes: Vec<u8>,
}

impl Source {
    /// The path, ready to print: anything a terminal would not show is made visible.
    pub(crate) fn shown(&self) -> String {
        crate::escape::visible(self.path.as_os_str().as_encoded_bytes())
    }
}

/// The config and its local overrides, as found in one work tree.
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    pub(crate) main: Source,
    pub(crate) local: Option<Source>,
}

impl Sources {
    /// The contents the trust store kept for a trusted config (`daft.yml`, and
    /// `daft.local.yml` when it had one).
    pub(crate) fn from_trusted(main: Vec<u8>, local: Option<Vec<u8>>) -> Self {
        Self {
            main: Source {
                path: "daft.yml".into(),
                bytes: main,
            },
            local: local.map(|bytes| Source {
                path: "daft.local.yml".into(),
                bytes,
            }),
        }
    }

    /// Finds the config at `root`. `Ok(None)` when there is none: the common, cheap case.
    pub(crate) fn find(root: &Path) -> Result<Option<Self>, ConfigError> {
        let Some(main) = FILE_NAMES
            .iter()
            .find_map(|name| read_regular(&root.join(name)).transpose())
        else {
            return Ok(None);
        };
        let local = read_regular(&root.join(LOCAL_FILE_NAME))?;
        Ok(Some(Self { main: main?, local }))
    }

    /// Whether either file contains `name` at all: a cheap test before anything else.
    pub(crate) fn mention(&self, name: &str) -> bool {
        std::iter::once(&self.main)
            .chain(&self.local)
            .any(|source| contains(&source.bytes, name.as_bytes()))
    }

    /// The config's file name, for short notices.
    pub(crate) fn file_name(&self) -> String {
        self.main.path.file_name().map_or_else(
            || "daft.yml".to_owned(),
            |name| crate::escape::text(&name.to_string_lossy()),
        )
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Reads `path` if it exists. A symlink is refused: the bytes that run must be the bytes in the
/// work tree, not in a file elsewhere that can change without the tree changing.
fn read_regular(path: &Path) -> Result<Option<Source>, ConfigError> {
    let error = |message: String| ConfigError::new(path, message);
    let meta = match path.symlink_metadata() {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(error(format!("cannot read it: {err}"))),
    };
    if meta.file_type().is_symlink() {
        return Err(error(
            "is a symlink; daft only reads a regular file (copy the target in its place)".into(),
        ));
    }
    if !meta.is_file() {
        return Err(error("is not a regular file".into()));
    }
    if meta.len() > MAX_SIZE {
        return Err(error(format!(
            "is {} bytes; a config is at most {MAX_SIZE} bytes",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|err| error(format!("cannot read it: {err}")))?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(error(format!(
            "is {} bytes; a config is at most {MAX_SIZE} bytes",
            bytes.len()
        )));
    }
    Ok(Some(Source {
        path: path.to_owned(),
        bytes,
    }))
}
