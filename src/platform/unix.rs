//! What Linux and macOS do alike, through `rustix`'s safe wrappers: signals to a process or
//! its group, a new session, the effective user, whether a file may be executed.

use std::io;
use std::path::Path;

use rustix::process::{Pid as RawPid, Signal as RawSignal};

use super::{Pid, Signal};

fn raw(signal: Signal) -> RawSignal {
    match signal {
        Signal::Term => RawSignal::TERM,
        Signal::Kill => RawSignal::KILL,
    }
}

/// A pid that names one process (or group): never 0, 1, or "every process".
fn target(pid: u32) -> Option<RawPid> {
    i32::try_from(pid)
        .ok()
        .filter(|&pid| pid > 1)
        .and_then(RawPid::from_raw)
}

/// Sends `signal` to every process in the group `pgid`. A group that is already gone is fine.
pub(crate) fn signal_group(pgid: u32, signal: Signal) {
    if let Some(group) = target(pgid) {
        let _ = rustix::process::kill_process_group(group, raw(signal));
    }
}

/// Sends `signal` to `process`, if it is still that process.
pub(crate) fn signal_process(process: Pid, signal: Signal) {
    if process.alive()
        && let Some(pid) = target(process.pid)
    {
        let _ = rustix::process::kill_process(pid, raw(signal));
    }
}

/// Whether anything of group `pgid` exists, zombies included (signal 0: existence and
/// permission only).
pub(crate) fn group_exists(pgid: u32) -> bool {
    let Some(group) = target(pgid) else {
        return false;
    };
    match rustix::process::test_kill_process_group(group) {
        Ok(()) => true,
        Err(err) => err == rustix::io::Errno::PERM,
    }
}

/// Starts a new session in a child between fork and exec (async-signal-safe: one system
/// call), so it has no controlling terminal and the terminal's hang-up or Ctrl-C does not
/// reach it.
pub(crate) fn detach() -> io::Result<()> {
    rustix::process::setsid()?;
    Ok(())
}

/// The effective user id.
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Whether the current user may execute `path`, as git asks before running a hook.
pub(crate) fn executable(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::EXEC_OK).is_ok()
}

/// This daft's own executable, to start more of itself (a supervisor, a copy): its path, or,
/// when that file was replaced while it runs (an upgrade), what the system still names it by.
pub(crate) fn own_exe() -> io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    if exe.exists() {
        return Ok(exe);
    }
    match super::os::running_exe() {
        Some(path) => Ok(path),
        None => Ok(exe),
    }
}

/// Restores the default action for SIGPIPE (Rust starts with it ignored), so a command whose
/// reader went away (`daft hooks log show | head`) ends quietly instead of failing a write.
pub(crate) fn default_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL installs no handler of ours and touches no memory.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
