//! What daft asks of the operating system, in one place, for Linux and macOS: processes (who
//! one is, whether it lives, its group, session, directory and environment; the table of all
//! of them), signals, a new session for what runs detached, a lower priority for background
//! work, descriptors git gave the hook kept from what daft starts, copy-on-write clones and
//! copies, and where file systems are mounted. Nothing outside this module names a system
//! call or `libc`; safe wrappers (`rustix`, std) are used where they exist, and each `unsafe`
//! block that remains says why it is sound.
//!
//! Linux-only enhancements — `FICLONE` and `copy_file_range`, the I/O priority, the
//! autogroup's session weight, `close_range`, the lock table daft yields on, the
//! `/proc/self/cwd` links — are left out when daft is built with the `portable` feature, so
//! the paths macOS takes (and any platform without them) run and are tested on Linux too.
//! Where a platform cannot do something, the caller says so in a log instead of claiming it.

mod end;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
mod unix;

#[cfg(target_os = "linux")]
use linux as os;
#[cfg(target_os = "macos")]
use macos as os;

pub(crate) use end::{
    GRACE, end, end_detached, run_helper, run_in_background, signal_all, spawn_detached,
};
pub(crate) use os::{
    adopt_orphans, cloexec_inherited_fds, command_name, copy_contents, environ, lock_waiters,
    lower_priority, lower_session_priority, mount_points, own_cwd_link, process, processes,
    working_dir,
};
pub(crate) use unix::{
    default_sigpipe, detach, effective_uid, executable, own_exe, signal_group, signal_process,
};

use std::fs::File;
use std::io;
use std::sync::atomic::AtomicBool;

/// A process, named so that a reused pid is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pid {
    pub(crate) pid: u32,
    /// When it started, in the system's own unit: with the pid it names one process.
    pub(crate) start: u64,
}

impl Pid {
    pub(crate) fn of(pid: u32) -> Option<Self> {
        process(pid)
            .filter(|p| p.state != State::Zombie)
            .map(|p| Self {
                pid,
                start: p.start,
            })
    }

    pub(crate) fn current() -> Self {
        Self::of(std::process::id()).unwrap_or(Self {
            pid: std::process::id(),
            start: 0,
        })
    }

    /// Whether this very process is still running (a zombie has finished).
    pub(crate) fn alive(self) -> bool {
        Self::of(self.pid).is_some_and(|now| now.start == self.start)
    }
}

/// How a process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Running,
    /// Stopped (SIGSTOP) or traced: it cannot act until resumed.
    Stopped,
    /// Ended, waiting for its parent to reap it.
    Zombie,
}

/// What daft reads of a process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Process {
    pub(crate) pid: u32,
    pub(crate) parent: u32,
    pub(crate) group: u32,
    pub(crate) start: u64,
    pub(crate) state: State,
}

impl Process {
    pub(crate) fn id(&self) -> Pid {
        Pid {
            pid: self.pid,
            start: self.start,
        }
    }
}

/// `open(2)`'s flag not to follow a symlink in the last component (for std's `custom_flags`).
pub(crate) const NO_FOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;

/// Whether `err` says a file git would run is not a program the system can start (a script
/// without `#!`: git then runs it with `sh`).
pub(crate) fn not_an_executable(err: &io::Error) -> bool {
    rustix::io::Errno::from_io_error(err) == Some(rustix::io::Errno::NOEXEC)
}

/// Whether `err` says a path went through a symlink or something that is not a directory.
pub(crate) fn through_a_link(err: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(err),
        Some(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR)
    )
}

/// The signals daft sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Term,
    Kill,
}

/// Reaps this process's children that have ended, but `leaders` (whose own waiters reap
/// them): orphans it adopted ([`adopt_orphans`]) would otherwise stay zombies.
pub(crate) fn reap_adopted(leaders: &[u32]) {
    let me = std::process::id();
    for process in processes() {
        if process.parent == me && process.state == State::Zombie && !leaders.contains(&process.pid)
        {
            os::reap(process.pid);
        }
    }
}

/// Makes reads of `fd` return at once when nothing is there (`WouldBlock`).
pub(crate) fn nonblocking(fd: &impl std::os::fd::AsFd) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK)?;
    Ok(())
}

/// Whether this process has children left (ended ones not reaped yet included).
pub(crate) fn has_children() -> bool {
    let me = std::process::id();
    processes().iter().any(|p| p.parent == me)
}

/// Whether process `pid` is stopped (SIGSTOP, or traced).
pub(crate) fn stopped(pid: u32) -> bool {
    process(pid).is_some_and(|p| p.state == State::Stopped)
}

/// Whether anything of group `pgid` exists, zombies included.
pub(crate) fn group_exists(pgid: u32) -> bool {
    unix::group_exists(pgid)
}

/// Whether any process of group `pgid` is alive: a zombie (ended, its parent not reaping it,
/// as a stopped supervisor's child) is not.
pub(crate) fn group_alive(pgid: u32) -> bool {
    group_exists(pgid)
        && processes()
            .iter()
            .any(|p| p.group == pgid && p.state != State::Zombie)
}

/// Makes `name` in `dir` a new file (mode 0600, not through a link) that is a copy-on-write
/// clone of `src` where the file system can (Linux `FICLONE`, macOS `clonefile`); says
/// whether it is one. When it is not, the new file is empty for the caller to fill.
pub(crate) fn new_clone(
    src: &File,
    dir: &cap_std::fs::Dir,
    name: &std::ffi::OsStr,
) -> io::Result<(File, bool)> {
    use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt as _};
    use cap_std::fs::OpenOptionsExt as _;
    if let Some(file) = os::clone_new(src, dir, name)? {
        return Ok((file, true));
    }
    let mut write = cap_std::fs::OpenOptions::new();
    write
        .write(true)
        .create_new(true)
        .follow(FollowSymlinks::No)
        .mode(0o600);
    let file = dir.open_with(name, &write)?.into_std();
    let cloned = os::clone_into(src, &file).is_ok();
    Ok((file, cloned))
}

/// The error a platform gives for what it cannot do.
fn unsupported(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, what.to_owned())
}

/// `KEY=VALUE` pairs separated by NUL bytes (an environment block), the UTF-8 ones.
fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    bytes
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let text = std::str::from_utf8(entry).ok()?;
            let (k, v) = text.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Marks every descriptor above stderr that `dir` lists (`/dev/fd`, `/proc/self/fd`)
/// close-on-exec, one at a time.
fn cloexec_listed(dir: &str) {
    let fds: Vec<i32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: `fd` was open a moment ago in this process, whose other threads do not
        // close descriptors they did not open (the one that listed the directory is closed
        // already: setting its flag fails harmlessly); it is borrowed only for this call.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        if let Ok(flags) = rustix::io::fcntl_getfd(fd) {
            let _ = rustix::io::fcntl_setfd(fd, flags | rustix::io::FdFlags::CLOEXEC);
        }
    }
}

/// Copies `src` into `dst` by reads and writes, where the system cannot copy between them,
/// noticing a stop between two chunks.
fn copy_by_hand(mut src: &File, mut dst: &File, stop: &AtomicBool) -> io::Result<()> {
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::Ordering;
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        dst.write_all(&buf[..n])?;
    }
}
