//! Trees that cannot be moved: ones that record the source worktree's absolute path, so that a
//! copy in the new worktree would quietly use the main one's files. A Python virtual
//! environment (`pyvenv.cfg`, its scripts' `#!` lines, `activate`) is refused with what to run
//! instead; any other small text file that holds the source worktree's path is named in the
//! job's summary. A cargo target directory is not flagged: its dep-info files and build-script
//! records hold absolute paths too, but cargo finds its sources by paths relative to the
//! workspace and rewrites the recorded `OUT_DIR` prefix when `target/` moves (`root-output`),
//! so a copied `target/` builds as its source did. It is told by what cargo writes into every
//! target directory: `CACHEDIR.TAG` ("created by cargo"), `.rustc_info.json`, `.cargo-lock`.

use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::fs::Dir;

use super::tree::Tree;

/// Files larger than this are not text a tool wrote a path into.
const SMALL: u64 = 64 * 1024;
/// The most a copy reads to look for paths.
const BUDGET: u64 = 64 * 1024 * 1024;

/// Why `dir` (at `rel`) must not be copied, if it is a Python virtual environment.
pub(super) fn venv(dir: &Dir, rel: &Path) -> Option<String> {
    let is_venv = dir
        .symlink_metadata("pyvenv.cfg")
        .is_ok_and(|meta| meta.is_file());
    is_venv.then(|| {
        format!(
            "{} is a Python virtual environment, which records the source worktree's path (pyvenv.cfg, the #! line of every script, activate): copied, it would run the main worktree's packages and install into it. Not copied; make it in the new worktree instead: `uv sync --frozen` (or `python -m venv {} && {}/bin/pip install -r requirements.txt`)",
            rel.display(),
            rel.display(),
            rel.display()
        )
    })
}

/// Whether what is copied is looked through for the source worktree's path.
pub(super) enum Scan {
    /// A cargo target directory, which records paths it relocates itself.
    Off,
    On {
        needle: Vec<u8>,
        read: AtomicU64,
    },
}

impl Scan {
    /// Whether the tree is (in) a cargo target directory.
    pub(super) fn cargo(&self) -> bool {
        matches!(self, Self::Off)
    }

    /// How to look at the tree at `rel` of `src`.
    pub(super) fn for_tree(src: &Tree, rel: &Path) -> Self {
        let cargo = rel
            .ancestors()
            .filter_map(|at| src.dir_at(at).ok())
            .any(|dir| cargo_target(&dir));
        if cargo {
            return Self::Off;
        }
        Self::On {
            needle: src.root.as_os_str().as_encoded_bytes().to_vec(),
            read: AtomicU64::new(0),
        }
    }

    /// Whether `file` (of `len` bytes) is a small text file that holds the source's path.
    pub(super) fn points_back(&self, file: &std::fs::File, len: u64) -> bool {
        let Self::On { needle, read } = self else {
            return false;
        };
        if len == 0 || len > SMALL || read.fetch_add(len, Ordering::Relaxed) > BUDGET {
            return false;
        }
        let mut bytes = vec![0; len as usize];
        if file.read_exact_at(&mut bytes, 0).is_err() {
            return false;
        }
        let text = !bytes[..bytes.len().min(1024)].contains(&0);
        text && bytes.windows(needle.len()).any(|w| w == needle.as_slice())
    }
}

/// Whether `dir` is (in) a cargo target directory.
fn cargo_target(dir: &Dir) -> bool {
    let tag = dir
        .read_to_string("CACHEDIR.TAG")
        .is_ok_and(|text| text.contains("cargo"));
    tag || dir.symlink_metadata(".rustc_info.json").is_ok()
        || dir.symlink_metadata(".cargo-lock").is_ok()
}
