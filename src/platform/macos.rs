//! macOS: processes read through `proc_pidinfo` and the process table through
//! `proc_listallpids` (there is no `/proc`), a process's environment through `sysctl`'s
//! `KERN_PROCARGS2`, copies as APFS clones (`fclonefileat`: a copy of `target/` or
//! `node_modules` takes no new disk and next to no time), background work at background `QoS`
//! (`PRIO_DARWIN_BG`: lowest CPU priority and throttled disk I/O), inherited descriptors
//! marked one by one. macOS has no lock table daft can read (no yielding to the user's lock
//! waits) and no session weights.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::{Process, State};

/// What `proc_pidinfo(PROC_PIDTBSDINFO)` says of process `pid`.
fn bsd_info(pid: u32) -> Option<libc::proc_bsdinfo> {
    let pid = i32::try_from(pid).ok()?;
    let size = std::mem::size_of::<libc::proc_bsdinfo>();
    // SAFETY: proc_bsdinfo is plain data for which all-zero bytes are a valid value.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    // SAFETY: proc_pidinfo writes at most `size` bytes into `info`, which we own and which is
    // that large.
    let got = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDTBSDINFO,
            0,
            (&raw mut info).cast(),
            size as libc::c_int,
        )
    };
    (usize::try_from(got).ok() == Some(size)).then_some(info)
}

/// What daft reads of process `pid`.
pub(crate) fn process(pid: u32) -> Option<Process> {
    let info = bsd_info(pid)?;
    let state = match info.pbi_status {
        libc::SZOMB => State::Zombie,
        libc::SSTOP => State::Stopped,
        _ => State::Running,
    };
    // The start time in microseconds: with the pid it names one process.
    let start = info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec;
    Some(Process {
        pid,
        parent: info.pbi_ppid,
        group: info.pbi_pgid,
        start,
        state,
    })
}

/// macOS has no subreaper: orphans go to launchd, which reaps them.
pub(crate) fn adopt_orphans() -> bool {
    false
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

/// Every process the system shows.
pub(crate) fn processes() -> Vec<Process> {
    let mut pids: Vec<libc::c_int> = vec![0; 4096];
    loop {
        let bytes = (pids.len() * std::mem::size_of::<libc::c_int>()) as libc::c_int;
        // SAFETY: proc_listallpids writes at most `bytes` bytes into `pids`, which we own.
        let n = unsafe { libc::proc_listallpids(pids.as_mut_ptr().cast(), bytes) };
        let Ok(n) = usize::try_from(n) else {
            return Vec::new();
        };
        if n < pids.len() {
            pids.truncate(n);
            break;
        }
        pids.resize(pids.len() * 2, 0);
    }
    pids.into_iter()
        .filter_map(|pid| u32::try_from(pid).ok())
        .filter(|&pid| pid > 0)
        .filter_map(process)
        .collect()
}

/// The environment process `pid` started with (`KERN_PROCARGS2`: its argument count, its
/// executable's path, its arguments, then its environment; this user's processes only).
pub(crate) fn environ(pid: u32) -> Vec<(String, String)> {
    let Ok(pid) = libc::c_int::try_from(pid) else {
        return Vec::new();
    };
    let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid];
    let mut size: libc::size_t = 0;
    // SAFETY: with a null buffer sysctl only writes the size it needs into `size`.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            3,
            std::ptr::null_mut(),
            &raw mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 || size == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; size];
    // SAFETY: sysctl writes at most `size` bytes into `buf`, which is that large.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            3,
            buf.as_mut_ptr().cast(),
            &raw mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 || size < 4 {
        return Vec::new();
    }
    buf.truncate(size);
    let argc = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]).max(0) as usize;
    let rest = &buf[4..];
    // The executable's path, then NUL padding, then argc arguments, then the environment.
    let Some(end_of_path) = rest.iter().position(|&b| b == 0) else {
        return Vec::new();
    };
    let mut at = end_of_path;
    while at < rest.len() && rest[at] == 0 {
        at += 1;
    }
    let mut fields = rest[at..].split(|&b| b == 0);
    for _ in 0..argc {
        if fields.next().is_none() {
            return Vec::new();
        }
    }
    let env: Vec<u8> = fields
        .take_while(|f| !f.is_empty())
        .flat_map(|f| f.iter().copied().chain([0]))
        .collect();
    super::pairs(&env)
}

/// The name of the program process `pid` runs.
pub(crate) fn command_name(pid: u32) -> Option<String> {
    let info = bsd_info(pid)?;
    let name: Vec<u8> = info
        .pbi_comm
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&name).into_owned())
}

/// Process `pid`'s working directory (`PROC_PIDVNODEPATHINFO`).
pub(crate) fn working_dir(pid: u32) -> Option<PathBuf> {
    let pid = i32::try_from(pid).ok()?;
    let size = std::mem::size_of::<libc::proc_vnodepathinfo>();
    // SAFETY: proc_vnodepathinfo is plain data for which all-zero bytes are a valid value.
    let mut info: libc::proc_vnodepathinfo = unsafe { std::mem::zeroed() };
    // SAFETY: proc_pidinfo writes at most `size` bytes into `info`, which is that large.
    let got = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDVNODEPATHINFO,
            0,
            (&raw mut info).cast(),
            size as libc::c_int,
        )
    };
    if usize::try_from(got).ok() != Some(size) {
        return None;
    }
    let path: Vec<u8> = info
        .pvi_cdir
        .vip_path
        .iter()
        .flatten()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    (!path.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(&path)))
}

/// What this process runs, when its file was replaced meanwhile: macOS names no such path.
pub(crate) fn running_exe() -> Option<PathBuf> {
    None
}

/// macOS has no path naming the resolving process's own directory.
pub(crate) fn own_cwd_link() -> Option<PathBuf> {
    None
}

/// The mount points of the mounted file systems (`getfsstat`).
pub(crate) fn mount_points() -> Vec<PathBuf> {
    // SAFETY: with a null buffer getfsstat returns how many file systems there are.
    let count = unsafe { libc::getfsstat(std::ptr::null_mut(), 0, libc::MNT_NOWAIT) };
    let Ok(count) = usize::try_from(count) else {
        return Vec::new();
    };
    // SAFETY: statfs is plain data for which all-zero bytes are a valid value.
    let mut buf: Vec<libc::statfs> = vec![unsafe { std::mem::zeroed() }; count + 8];
    let bytes = (buf.len() * std::mem::size_of::<libc::statfs>()) as libc::c_int;
    // SAFETY: getfsstat writes at most `bytes` bytes into `buf`, which is that large.
    let got = unsafe { libc::getfsstat(buf.as_mut_ptr(), bytes, libc::MNT_NOWAIT) };
    let Ok(got) = usize::try_from(got) else {
        return Vec::new();
    };
    buf.truncate(got.min(buf.len()));
    let mut out: Vec<PathBuf> = buf
        .iter()
        .filter(|fs| {
            let kind: Vec<u8> = fs
                .f_fstypename
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            !matches!(&kind[..], b"devfs" | b"autofs" | b"nullfs")
        })
        .map(|fs| {
            let path: Vec<u8> = fs
                .f_mntonname
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            PathBuf::from(std::ffi::OsStr::from_bytes(&path))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// macOS shows no table of who waits for whose lock.
pub(crate) fn lock_waiters() -> Option<Vec<(u32, u32)>> {
    None
}

/// Background `QoS` for the calling process: the lowest CPU priority and throttled disk I/O.
/// Async-signal-safe (one system call): for use between fork and exec.
pub(crate) fn lower_priority() {
    // SAFETY: setpriority(2) on the calling process reads only its integer arguments.
    unsafe {
        libc::setpriority(libc::PRIO_DARWIN_PROCESS, 0, libc::PRIO_DARWIN_BG);
    }
}

/// macOS weighs processes, not sessions: nothing to lower.
pub(crate) fn lower_session_priority() -> bool {
    false
}

/// Marks every descriptor above stderr close-on-exec (macOS has no `close_range`).
pub(crate) fn cloexec_inherited_fds() {
    super::cloexec_listed("/dev/fd");
}

/// macOS clones by making the new file ([`clone_new`]).
pub(crate) fn clone_into(_src: &File, _dst: &File) -> io::Result<()> {
    Err(super::unsupported("clones are made whole on macOS"))
}

/// Makes `name` in `dir` an APFS clone of `src` (`fclonefileat`, not through a link): a
/// metadata operation, no data copied. `None` where the file system cannot clone (HFS+, an
/// external disk, another volume).
pub(crate) fn clone_new(
    src: &File,
    dir: &cap_std::fs::Dir,
    name: &std::ffi::OsStr,
) -> io::Result<Option<File>> {
    use std::os::fd::AsFd as _;
    const CLONE_NOFOLLOW: u32 = 0x0001;
    let Ok(c_name) = CString::new(name.as_bytes()) else {
        return Ok(None);
    };
    // SAFETY: fclonefileat reads the NUL-terminated name, which outlives the call, and uses
    // two descriptors we hold open for its length.
    let rc = unsafe {
        libc::fclonefileat(
            src.as_raw_fd(),
            dir.as_fd().as_raw_fd(),
            c_name.as_ptr(),
            CLONE_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Ok(None); // ENOTSUP, EXDEV: the caller copies
    }
    let mut options = cap_std::fs::OpenOptions::new();
    options.write(true);
    Ok(Some(dir.open_with(name, &options)?.into_std()))
}

/// Copies `src` into `dst` (macOS has no `copy_file_range`): by reads and writes.
pub(crate) fn copy_contents(
    src: &File,
    dst: &File,
    _len: u64,
    stop: &AtomicBool,
) -> io::Result<()> {
    super::copy_by_hand(src, dst, stop)
}
