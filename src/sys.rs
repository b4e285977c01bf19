//! The few system calls std has no safe wrapper for: sessions, process groups, and telling a
//! live process from a recycled pid.

use std::io;

/// A process, named so that a reused pid is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pid {
    pub(crate) pid: u32,
    pub(crate) start: u64,
}

impl Pid {
    pub(crate) fn of(pid: u32) -> Option<Self> {
        process_start_time(pid).map(|start| Self { pid, start })
    }

    pub(crate) fn current() -> Self {
        Self::of(std::process::id()).unwrap_or(Self {
            pid: std::process::id(),
            start: 0,
        })
    }

    pub(crate) fn alive(self) -> bool {
        process_alive(self.pid, self.start)
    }
}

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

/// Whether anything of group `pgid` exists, zombies included.
pub(crate) fn group_exists(pgid: u32) -> bool {
    let Ok(group) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    if group <= 1 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(-group, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether any process of group `pgid` is still alive. A zombie (ended, waiting for a parent
/// that does not reap it, a stopped supervisor's child) is not.
pub(crate) fn group_alive(pgid: u32) -> bool {
    if !group_exists(pgid) {
        return false;
    }
    // Something of the group exists: is any of it more than a zombie?
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat_fields)
        .any(|fields| fields.pgrp == pgid && fields.state != 'Z')
}

/// What daft reads of `/proc/<pid>/stat`.
pub(crate) struct Stat {
    pub(crate) state: char,
    pub(crate) pgrp: u32,
    pub(crate) session: u32,
    pub(crate) start: u64,
}

/// The fields of `/proc/<pid>/stat` daft uses.
pub(crate) fn stat_fields(pid: u32) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Whether process `pid` is stopped (SIGSTOP, or traced): it cannot act until resumed.
pub(crate) fn stopped(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|s| matches!(s.state, 'T' | 't'))
}

/// Sends `signal` to the process `process`, if it is still that process.
pub(crate) fn kill_pid(process: Pid, signal: i32) {
    if !process.alive() {
        return;
    }
    let Ok(pid) = libc::pid_t::try_from(process.pid) else {
        return;
    };
    if pid <= 1 {
        return;
    }
    // SAFETY: kill(2) only sends a signal; it touches no memory of ours.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Lowers the calling process's CPU priority to the lowest (nice 19) and its I/O priority to
/// the lowest of the best-effort class, so that what it does yields to the user's own work.
/// Async-signal-safe: for use between fork and exec. Failure leaves things as they were.
pub(crate) fn lower_priority() {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_BE: libc::c_long = 2;
    const IOPRIO_CLASS_SHIFT: libc::c_long = 13;
    // SAFETY: setpriority(2) and ioprio_set(2) on the calling process touch no memory of ours.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | 7,
        );
    }
}

/// Lowers the CPU weight of the calling process's whole session against other sessions, where
/// the kernel groups CPU time by session (Linux's autogroup): there, a niced process in a
/// session of its own still gets as much CPU as the user's whole terminal session, so nice 19
/// alone would not make a background build give way. Nothing to do on an old kernel, with
/// autogroup off, or in the root group (a session never made by `setsid`, as in some
/// containers: the kernel prints nothing for `/proc/self/autogroup` and will not reweigh it).
pub(crate) fn lower_session_priority() {
    let in_autogroup = std::fs::read_to_string("/proc/self/autogroup")
        .is_ok_and(|line| line.starts_with("/autogroup-"));
    if in_autogroup {
        let _ = std::fs::write("/proc/self/autogroup", "19");
    }
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
    let stat = stat_fields(pid)?;
    // A zombie has finished; only its parent's wait is missing.
    (stat.state != 'Z').then_some(stat.start)
}

/// Whether the process `pid` that started at `start_time` is still running.
pub(crate) fn process_alive(pid: u32, start_time: u64) -> bool {
    process_start_time(pid) == Some(start_time)
}

/// Makes the calling process a child subreaper: orphans among its descendants become its
/// children. Returns whether the kernel agreed.
pub(crate) fn set_child_subreaper() -> bool {
    // SAFETY: prctl(2) with PR_SET_CHILD_SUBREAPER only sets a flag of the calling process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

/// Blocks until a child of this process has ended, and names it without reaping it; `None`
/// when there is no child.
pub(crate) fn wait_any_ended() -> Option<u32> {
    // SAFETY: waitid(2) writes only into `info`, a zeroed siginfo_t we own; WNOWAIT leaves the
    // child to be reaped by whoever waits for it.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(libc::P_ALL, 0, &raw mut info, libc::WEXITED | libc::WNOWAIT);
        if rc != 0 {
            return None;
        }
        u32::try_from(info.si_pid()).ok().filter(|&pid| pid > 0)
    }
}

/// Reaps the ended child `pid`, if it has ended.
pub(crate) fn reap(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    let mut status = 0;
    // SAFETY: waitpid(2) writes only into `status`, which we own.
    unsafe {
        libc::waitpid(pid, &raw mut status, libc::WNOHANG);
    }
}

/// The children of process `pid`, from `/proc/<pid>/task/*/children`.
pub(crate) fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The environment process `pid` started with (the same user's processes only).
pub(crate) fn environ(pid: u32) -> Vec<(String, String)> {
    let Ok(bytes) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return Vec::new();
    };
    bytes
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let text = std::str::from_utf8(entry).ok()?;
            let (k, v) = text.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Makes `dst` a copy-on-write clone of `src` (`FICLONE`): instant, and no new disk until one
/// of them changes. Fails where the file system cannot (ext4, tmpfs, across file systems).
pub(crate) fn clone_file(src: &std::fs::File, dst: &std::fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: ioctl(2) FICLONE reads two descriptors we own for the call's length and touches
    // no memory of ours.
    let rc = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Copies `len` bytes of `src` into `dst` in chunks (`copy_file_range`, in the kernel), and
/// stops between two chunks once `stop` is set, so a cancel reaches a large copy at once.
pub(crate) fn copy_contents(
    src: &std::fs::File,
    dst: &std::fs::File,
    len: u64,
    stop: &std::sync::atomic::AtomicBool,
) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    use std::sync::atomic::Ordering;
    const CHUNK: usize = 8 * 1024 * 1024;
    let mut left = len;
    while left > 0 {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        // SAFETY: copy_file_range(2) with null offsets uses and advances both descriptors'
        // own offsets; it touches no memory of ours.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                std::ptr::null_mut(),
                dst.as_raw_fd(),
                std::ptr::null_mut(),
                want,
                0,
            )
        };
        match n {
            0 => break, // the file got shorter meanwhile
            n if n > 0 => left -= n as u64,
            _ => {
                let err = io::Error::last_os_error();
                if matches!(
                    err.raw_os_error(),
                    Some(libc::EXDEV | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
                ) {
                    return copy_by_hand(src, dst, stop);
                }
                return Err(err);
            }
        }
    }
    Ok(())
}

/// The same by reads and writes, where the kernel cannot copy between the two files.
fn copy_by_hand(
    mut src: &std::fs::File,
    mut dst: &std::fs::File,
    stop: &std::sync::atomic::AtomicBool,
) -> io::Result<()> {
    use std::io::{Read as _, Write as _};
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        dst.write_all(&buf[..n])?;
    }
}

/// The mount points of the file systems that hold files (Linux: `/proc/self/mountinfo`, the
/// kernel's own pseudo file systems left out).
pub(crate) fn mount_points() -> Vec<std::path::PathBuf> {
    const PSEUDO: [&str; 18] = [
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "cgroup",
        "cgroup2",
        "securityfs",
        "debugfs",
        "tracefs",
        "mqueue",
        "bpf",
        "pstore",
        "fusectl",
        "configfs",
        "hugetlbfs",
        "autofs",
        "binfmt_misc",
        "nsfs",
    ];
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out: Vec<std::path::PathBuf> = text
        .lines()
        .filter_map(|line| {
            let (mount, fs) = line.split_once(" - ")?;
            let point = mount.split(' ').nth(4)?;
            let kind = fs.split(' ').next()?;
            (!PSEUDO.contains(&kind)).then(|| std::path::PathBuf::from(unescape_mount(point)))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A mount point as `/proc/self/mountinfo` writes it, spaces and the like as `\040`.
fn unescape_mount(text: &str) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt as _;
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 4])
                .ok()
                .and_then(|digits| u8::from_str_radix(digits, 8).ok())
        {
            out.push(byte);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    std::ffi::OsString::from_vec(out)
}

/// A path that names the current directory of whichever process resolves it (Linux's
/// `/proc/self/cwd`); `None` where the system has none.
pub(crate) fn own_cwd_link() -> Option<std::path::PathBuf> {
    let link = std::path::Path::new("/proc/self/cwd");
    link.exists().then(|| link.to_owned())
}

/// This daft's own executable, to start more of itself (a supervisor, a copy): its path, or,
/// when that file was replaced while it runs (an upgrade), `/proc/self/exe`, which still
/// names what runs.
pub(crate) fn own_exe() -> io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    if exe.exists() {
        Ok(exe)
    } else {
        Ok(std::path::PathBuf::from("/proc/self/exe"))
    }
}
