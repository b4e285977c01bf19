//! Putting a file in its place: the temporary name it is written under, putting it at its
//! final name without ever replacing what appeared there, sweeping what a killed copy left,
//! symlinks as they are, and times as the source has them.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use cap_fs_ext::SystemTimeSpec;
use cap_std::fs::Dir;

/// The temporary name a file is written under, beside its place.
pub(super) fn temp_name(name: &OsString) -> OsString {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".daft-copy-{}", std::process::id()));
    tmp
}

/// Removes what a killed copy left in `dir` (`.NAME.daft-copy-PID` of a process that is gone).
pub(super) fn sweep(dir: &Dir) -> usize {
    let Ok(entries) = dir.entries() else {
        return 0;
    };
    let mut swept = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        let Some(pid) = text
            .strip_prefix('.')
            .and_then(|rest| rest.rsplit_once(".daft-copy-"))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if crate::platform::Pid::of(pid).is_none() && dir.remove_file(&name).is_ok() {
            swept += 1;
        }
    }
    swept
}

/// Puts the finished temporary file at its final name, never over something that appeared
/// there meanwhile: a second name made exclusively (then the temporary one dropped), or, on a
/// file system without links, a rename after checking the name is free.
pub(super) fn place(dir: &Dir, tmp: &OsString, name: &OsString) -> io::Result<()> {
    match dir.hard_link(tmp, dir, name) {
        Ok(()) => dir.remove_file(tmp),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(err),
        Err(_) if dir.symlink_metadata(name).is_ok() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file appeared at its place meanwhile",
        )),
        Err(_) => dir.rename(tmp, dir, name),
    }
}

pub(super) fn copy_link(src: &Dir, dst: &Dir, name: &Path) -> io::Result<()> {
    dst.symlink_contents(src.read_link_contents(name)?, name)
}

/// A file's access and modification times, as `cap-fs-ext` sets them.
pub(super) fn times(meta: &cap_std::fs::Metadata) -> (SystemTimeSpec, SystemTimeSpec) {
    use cap_std::fs::MetadataExt as _;
    let at = |secs: i64, nanos: i64| {
        SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(system_time(
            secs, nanos,
        )))
    };
    (
        at(meta.atime(), meta.atime_nsec()),
        at(meta.mtime(), meta.mtime_nsec()),
    )
}

pub(super) fn std_times(
    meta: &std::fs::Metadata,
) -> (std::time::SystemTime, std::time::SystemTime) {
    (
        system_time(meta.atime(), meta.atime_nsec()),
        system_time(meta.mtime(), meta.mtime_nsec()),
    )
}

pub(super) fn system_time(secs: i64, nanos: i64) -> std::time::SystemTime {
    let since = std::time::Duration::new(secs.unsigned_abs(), nanos as u32);
    if secs >= 0 {
        std::time::SystemTime::UNIX_EPOCH + since
    } else {
        std::time::SystemTime::UNIX_EPOCH - since
    }
}
