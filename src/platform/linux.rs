//! Linux: processes read from `/proc`, clones through `FICLONE`, copies in the kernel
//! (`copy_file_range`), background work at nice 19 and the lowest best-effort I/O priority
//! with its session's weight lowered (autogroup), inherited descriptors marked in one call
//! (`close_range`), and the kernel's lock table. With the `portable` feature the
//! Linux-only enhancements are left out, as on a platform without them.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::{Process, State};

/// The fields of `/proc/<pid>/stat` daft uses.
pub(crate) fn process(pid: u32) -> Option<Process> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the
    // last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = match fields.first()?.chars().next()? {
        'Z' | 'X' => State::Zombie,
        'T' | 't' => State::Stopped,
        _ => State::Running,
    };
    Some(Process {
        pid,
        state,
        parent: fields.get(1)?.parse().ok()?,
        group: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Makes this process the reaper of its descendants' orphans (a subreaper): a process a job
/// leaves behind becomes its child when its parent ends, so its end is reaped at once rather
/// than whenever the system's init gets to it. Says whether it is one.
pub(crate) fn adopt_orphans() -> bool {
    !cfg!(feature = "portable")
        && rustix::process::set_child_subreaper(Some(rustix::process::getpid())).is_ok()
}

/// Reaps the ended child `pid`, if it has ended.
pub(crate) fn reap(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
    }
}

/// Every process the system shows this user.
pub(crate) fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(process)
        .collect()
}

/// The environment process `pid` started with (this user's processes only).
pub(crate) fn environ(pid: u32) -> Vec<(String, String)> {
    let Ok(bytes) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return Vec::new();
    };
    super::pairs(&bytes)
}

/// The name of the program process `pid` runs.
pub(crate) fn command_name(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim_end().to_owned())
}

/// Process `pid`'s working directory (this user's processes only), where it was when it was
/// deleted too.
pub(crate) fn working_dir(pid: u32) -> Option<PathBuf> {
    use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
    let link = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let bytes = link.as_os_str().as_bytes();
    Some(match bytes.strip_suffix(b" (deleted)") {
        Some(was) => PathBuf::from(std::ffi::OsString::from_vec(was.to_vec())),
        None => link,
    })
}

/// What this process runs, when its file was replaced meanwhile.
pub(crate) fn running_exe() -> Option<PathBuf> {
    let link = std::path::Path::new("/proc/self/exe");
    link.exists().then(|| link.to_owned())
}

/// A path that names the current directory of whichever process resolves it.
pub(crate) fn own_cwd_link() -> Option<PathBuf> {
    if cfg!(feature = "portable") {
        return None;
    }
    let link = std::path::Path::new("/proc/self/cwd");
    link.exists().then(|| link.to_owned())
}

/// The mount points of the file systems that hold files (the kernel's pseudo file systems
/// left out).
pub(crate) fn mount_points() -> Vec<PathBuf> {
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
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|line| {
            let (mount, fs) = line.split_once(" - ")?;
            let point = mount.split(' ').nth(4)?;
            let kind = fs.split(' ').next()?;
            (!PSEUDO.contains(&kind)).then(|| PathBuf::from(unescape_mount(point)))
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

/// The processes that wait for a lock another holds, as `(holder, waiter)` pids, from the
/// kernel's lock table; `None` where the platform does not show one.
pub(crate) fn lock_waiters() -> Option<Vec<(u32, u32)>> {
    if cfg!(feature = "portable") {
        return None;
    }
    let table = std::fs::read_to_string("/proc/locks").ok()?;
    let (holders, waiters) = parse_locks(&table);
    Some(
        waiters
            .into_iter()
            .filter_map(|(id, waiter)| {
                holders
                    .iter()
                    .find(|(h, _)| *h == id)
                    .map(|&(_, holder)| (holder, waiter))
            })
            .collect(),
    )
}

/// A lock's number in `/proc/locks`, and a process.
type LockEntry = (u64, u32);

/// The holders and the waiters of a `/proc/locks` table.
fn parse_locks(table: &str) -> (Vec<LockEntry>, Vec<LockEntry>) {
    let mut holders = Vec::new();
    let mut waiters = Vec::new();
    for line in table.lines() {
        let mut fields = line.split_whitespace();
        let Some(id) = fields
            .next()
            .and_then(|f| f.trim_end_matches(':').parse().ok())
        else {
            continue;
        };
        let mut rest: Vec<&str> = fields.collect();
        let waiting = rest.first() == Some(&"->");
        if waiting {
            rest.remove(0);
        }
        // TYPE ADVISORY MODE PID DEV:INODE START END
        let Some(pid) = rest.get(3).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == 0 {
            continue; // an open-file-description lock names no process
        }
        if waiting {
            waiters.push((id, pid));
        } else {
            holders.push((id, pid));
        }
    }
    (holders, waiters)
}

/// Lowers the calling process's CPU priority to the lowest (nice 19) and its I/O priority to
/// the lowest of the best-effort class. Async-signal-safe: for use between fork and exec.
/// Failure leaves things as they were.
pub(crate) fn lower_priority() {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_BE: libc::c_long = 2;
    const IOPRIO_CLASS_SHIFT: libc::c_long = 13;
    let _ = rustix::process::setpriority_process(None, 19);
    if cfg!(feature = "portable") {
        return;
    }
    // SAFETY: ioprio_set(2) on the calling process reads only its integer arguments.
    unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | 7,
        );
    }
}

/// Lowers the CPU weight of the calling process's whole session against other sessions, where
/// the kernel groups CPU time by session (autogroup): a niced process in a session of its own
/// still gets as much CPU as the user's whole terminal session. Says whether it did: not on an
/// old kernel, with autogroup off, or in the root group (a session never made by `setsid`).
pub(crate) fn lower_session_priority() -> bool {
    if cfg!(feature = "portable") {
        return false;
    }
    let in_autogroup = std::fs::read_to_string("/proc/self/autogroup")
        .is_ok_and(|line| line.starts_with("/autogroup-"));
    in_autogroup && std::fs::write("/proc/self/autogroup", "19").is_ok()
}

/// Marks every descriptor above stderr close-on-exec, so nothing daft starts can hold one git
/// (or whoever ran git) leaked to the hook.
pub(crate) fn cloexec_inherited_fds() {
    if !cfg!(feature = "portable") {
        // SAFETY: close_range(2) with CLOSE_RANGE_CLOEXEC only sets a flag on descriptors;
        // std's own are close-on-exec already.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if rc == 0 {
            return;
        }
    }
    super::cloexec_listed("/proc/self/fd");
}

/// Makes the new, empty file `dst` a copy-on-write clone of `src` (`FICLONE`): instant, and no
/// new disk until one of them changes. Fails where the file system cannot clone (ext4, tmpfs,
/// another file system).
pub(crate) fn clone_into(src: &File, dst: &File) -> io::Result<()> {
    if cfg!(feature = "portable") {
        return Err(super::unsupported(
            "no copy-on-write clones (portable build)",
        ));
    }
    rustix::fs::ioctl_ficlone(dst, src)?;
    Ok(())
}

/// Linux clones into a file made first ([`clone_into`]). (The same shape as macOS's.)
#[allow(clippy::unnecessary_wraps)]
pub(crate) fn clone_new(
    _src: &File,
    _dir: &cap_std::fs::Dir,
    _name: &std::ffi::OsStr,
) -> io::Result<Option<File>> {
    Ok(None)
}

/// Copies `len` bytes of `src` into `dst` in chunks in the kernel (`copy_file_range`), and
/// stops between two chunks once `stop` is set.
pub(crate) fn copy_contents(src: &File, dst: &File, len: u64, stop: &AtomicBool) -> io::Result<()> {
    use std::sync::atomic::Ordering;
    const CHUNK: usize = 8 * 1024 * 1024;
    if cfg!(feature = "portable") {
        return super::copy_by_hand(src, dst, stop);
    }
    let mut left = len;
    while left > 0 {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        match rustix::fs::copy_file_range(src, None, dst, None, want) {
            Ok(0) => break, // the file got shorter meanwhile
            Ok(n) => left -= n as u64,
            Err(
                rustix::io::Errno::XDEV
                | rustix::io::Errno::INVAL
                | rustix::io::Errno::NOSYS
                | rustix::io::Errno::OPNOTSUPP,
            ) => return super::copy_by_hand(src, dst, stop),
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_table_gives_holders_and_waiters() {
        let table = "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 1240 fd:01:5678 0 EOF\n2: OFDLCK ADVISORY  READ  -1 00:06:9 0 EOF\n3: POSIX  ADVISORY  WRITE 99 08:01:1 0 EOF\n";
        let (holders, waiters) = parse_locks(table);
        assert_eq!(holders, [(1, 1234), (3, 99)]);
        assert_eq!(waiters, [(1, 1240)]);
    }
}
