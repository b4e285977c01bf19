//! Writing files so that a concurrent reader never sees half of one.

use std::fs::{self, File};
use std::io::Write as _;

use anyhow::{Context, Result};
use camino::Utf8Path;

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it into place, so a
/// reader sees the old content or the new, never half of one.
pub(crate) fn write_atomically(path: &Utf8Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Utf8Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {path}"))
}
