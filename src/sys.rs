//! The few system calls std has no safe wrapper for: sessions, process groups, and telling a
//! live process from a recycled pid.

use std::io;

/// Signals daft sends to jobs.
pub(crate) use libc::{SIGHUP, SIGINT, SIGKILL, SIGTERM};

/// Sends `signal` to every process in the group `pgid`. A group that is already gone is fine.
pub(crate) fn kill_group(pgid: u32, signal: i32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return; // never signal "every process" or init by accident
    }
    // SAFETY: kill(2) with a negative pid only sends a signal; it touches no memory of ours.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// The effective user id.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Whether the current user may execute `path`, as git asks before running a hook.
pub(crate) fn executable(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) reads the NUL-terminated path, which outlives the call.
    unsafe { libc::access(path.as_ptr(), libc::X_OK) == 0 }
}

/// Whether any process of group `pgid` is still alive.
pub(crate) fn group_alive(pgid: u32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Starts a new session in a child between fork and exec, so the child has no controlling
/// terminal and the terminal's hang-up or Ctrl-C does not reach it.
pub(crate) fn setsid() -> io::Result<()> {
    // SAFETY: setsid(2) is async-signal-safe and has no memory effects.
    if unsafe { libc::setsid() } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Restores the default action for SIGPIPE (Rust starts with it ignored), so a command whose
/// reader went away (`daft hooks log show | head`) ends quietly instead of failing a write.
pub(crate) fn default_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL installs no handler and touches no memory of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Marks every descriptor above stderr close-on-exec, so nothing daft starts can hold a
/// descriptor git (or whoever ran git) leaked to the hook — a detached job holding git's pipe
/// would keep `git worktree add | cat` waiting.
pub(crate) fn cloexec_inherited_fds() {
    // SAFETY: close_range(2) with CLOSE_RANGE_CLOEXEC only sets flags on descriptors; std's own
    // descriptors are close-on-exec already. Failure (old kernel) leaves things as they were.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// The start time of process `pid` in clock ticks since boot, from `/proc/<pid>/stat`; with
/// the pid it names one process even after the pid is reused.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ')' come field 3 (state) onwards; starttime is field 22.
    let starttime = rest.split_whitespace().nth(19)?;
    let state = rest.split_whitespace().next()?;
    if state == "Z" {
        return None; // a zombie has finished; only its parent's wait is missing
    }
    starttime.parse().ok()
}

/// Whether the process `pid` that started at `start_time` is still running.
pub(crate) fn process_alive(pid: u32, start_time: u64) -> bool {
    process_start_time(pid) == Some(start_time)
}
