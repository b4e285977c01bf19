//! Config mode's way in, at no cost: git runs `<place>/bin/<hook>` itself, without a shell.
//! That name is a symlink to `<daft dir>/bin/daft`, a hard link of the installed binary: one
//! that is deleted (`cargo uninstall`) or replaced (an upgrade) leaves this one working, so
//! no guard is needed in front of it — the guard (`sh -c 'if [ -x …'`) cost more than daft
//! itself. The link follows upgrades: `bin/daft.source` points at the installed binary, and
//! when that is another file than the link, the link is made again.
//!
//! Where a hard link cannot be made (daft's directory on another file system than the
//! binary) or the path holds characters git would hand to a shell, the guarded shell line is
//! registered instead.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::event::Hook;

fn bin_dir(place: &Path) -> PathBuf {
    place.join("bin")
}

/// The command to register for `hook`: the linked name, when it can be made and git will
/// run it without a shell.
pub(super) fn command(place: &Path, bin: &Path, hook: Hook) -> Option<PathBuf> {
    let dir = bin_dir(place);
    let path = dir.join(hook.name());
    let plain = path
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+,@".contains(b));
    if !plain {
        return None;
    }
    ensure(&dir, bin).ok()?;
    match fs::read_link(&path) {
        Ok(to) if to == Path::new("daft") => {}
        _ => {
            let _ = crate::files::remove_if_present(&path);
            std::os::unix::fs::symlink("daft", &path).ok()?;
        }
    }
    Some(path)
}

/// `dir/daft` as a hard link of `bin`, and `dir/daft.source` pointing at `bin`.
fn ensure(dir: &Path, bin: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let link = dir.join("daft");
    let source = dir.join("daft.source");
    if !same_file(&link, bin) {
        let tmp = dir.join(format!(".daft.{}", std::process::id()));
        let _ = crate::files::remove_if_present(&tmp);
        fs::hard_link(bin, &tmp)?;
        fs::rename(&tmp, &link)?;
    }
    if fs::read_link(&source).ok().as_deref() != Some(bin) {
        let _ = crate::files::remove_if_present(&source);
        std::os::unix::fs::symlink(bin, &source)?;
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Called by daft run through a linked name (`argv[0]` is `<dir>/<hook>`): when the installed
/// binary is another file now (upgraded), links it again for the next call. Two `stat`s.
pub(crate) fn follow_upgrade(argv0: &Path) {
    let Some(dir) = argv0.parent() else {
        return;
    };
    let source = dir.join("daft.source");
    let link = dir.join("daft");
    if let Ok(bin) = fs::read_link(&source)
        && bin.exists()
        && !same_file(&link, &bin)
    {
        let _ = ensure(dir, &bin);
    }
}

/// Takes the linked names away (uninstall).
pub(super) fn remove(place: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(bin_dir(place)) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}
