//! A work tree as a capability: every read and write of a copy goes through directory handles
//! opened without following symlinks (`cap-std`, which uses `openat2(RESOLVE_BENEATH)` where
//! the kernel has it), one component at a time. A symlink anywhere under either root —
//! committed by a branch, or planted while the copy runs — is never gone through: nothing
//! outside the two work trees is read or written.

use std::io;
use std::path::{Component, Path, PathBuf};

use cap_fs_ext::DirExt as _;
use cap_std::fs::Dir;

/// One work tree root, opened.
pub(super) struct Tree {
    /// Its absolute path, for messages and for what git is asked about it.
    pub(super) root: PathBuf,
    pub(super) dir: Dir,
}

impl Tree {
    pub(super) fn open(root: &Path) -> io::Result<Self> {
        Ok(Self {
            root: root.to_owned(),
            dir: Dir::open_ambient_dir(root, cap_std::ambient_authority())?,
        })
    }

    /// The directory at `rel` (empty: the root), every component a real directory.
    pub(super) fn dir_at(&self, rel: &Path) -> io::Result<Dir> {
        let mut dir = self.dir.try_clone()?;
        let mut at = PathBuf::new();
        for part in normal_parts(rel)? {
            at.push(part);
            dir = dir
                .open_dir_nofollow(part)
                .map_err(|err| through(&at, err))?;
        }
        Ok(dir)
    }
}

/// Makes directory `name` in `dir` with `mode` (an existing one is fine); says whether it
/// made it.
pub(super) fn make_dir(dir: &Dir, name: &Path, mode: u32) -> io::Result<bool> {
    use cap_std::fs::DirBuilderExt as _;
    let mut builder = cap_std::fs::DirBuilder::new();
    builder.mode(mode & 0o7777);
    match dir.create_dir_with(name, &builder) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        other => other.map(|()| true),
    }
}

/// The components of a relative path that stays inside the tree.
fn normal_parts(rel: &Path) -> io::Result<Vec<&Path>> {
    rel.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(part) => Ok(Path::new(part)),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} leaves the work tree", rel.display()),
            )),
        })
        .collect()
}

/// The error for a path `at` that is not a directory to go through (a symlink, a file).
fn through(at: &Path, err: io::Error) -> io::Error {
    if crate::platform::through_a_link(&err) {
        return io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symlink (or not a directory), and daft copies nothing through links",
                at.display()
            ),
        );
    }
    err
}

/// `rel` split into its parent and its last component.
pub(super) fn split(rel: &Path) -> (&Path, &Path) {
    let name = rel.file_name().map_or(rel, Path::new);
    (rel.parent().unwrap_or(Path::new("")), name)
}
