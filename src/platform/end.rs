//! Starting detached and ending: what daft starts to outlive the hook gets a session of its
//! own, and what it ends gets SIGTERM — to its process group and to itself, checked to be the
//! same process first — then SIGKILL for what is left after a grace period, with a deadline on
//! every wait. A caller that must not wait leaves the ending to a detached helper.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Pid, Signal};

/// How long a process has between SIGTERM and SIGKILL.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// Starts `cmd` in a session of its own: no terminal, and the terminal's hang-up or Ctrl-C
/// does not reach it.
pub(crate) fn spawn_detached(cmd: &mut Command) -> std::io::Result<Child> {
    // SAFETY: only setsid(2) runs between fork and exec: one system call, async-signal-safe,
    // touching no memory.
    unsafe {
        cmd.pre_exec(super::detach);
    }
    cmd.spawn()
}

/// Makes `cmd`, once started, run at background priority (see `lower_priority`).
pub(crate) fn run_in_background(cmd: &mut Command) {
    // SAFETY: only setpriority(2) (and on Linux ioprio_set(2)) run between fork and exec:
    // system calls on the calling process, async-signal-safe, touching no memory.
    unsafe {
        cmd.pre_exec(|| {
            super::lower_priority();
            Ok(())
        });
    }
}

/// Sends `signal` to each of `targets`: the process group it leads, and the process itself
/// (one that left its group). Each is checked to be the same process first.
pub(crate) fn signal_all(targets: &[Pid], signal: Signal) {
    for target in targets {
        if target.alive() {
            super::signal_group(target.pid, signal);
            super::signal_process(*target, signal);
        }
    }
}

/// Whether any of `targets` (or its group) is still alive, zombies aside.
fn any_alive(targets: &[Pid]) -> bool {
    targets
        .iter()
        .any(|t| t.alive() || super::group_alive(t.pid))
}

/// Whether anything of `targets`' groups is left, zombies included.
fn any_left(targets: &[Pid]) -> bool {
    targets.iter().any(|t| super::group_exists(t.pid))
}

/// Ends `targets`: SIGTERM, then SIGKILL for what is left after `grace`, waiting at most
/// `grace` plus two seconds in all. Returns whether everything ended.
pub(crate) fn end(targets: &[Pid], grace: Duration) -> bool {
    if targets.is_empty() {
        return true;
    }
    signal_all(targets, Signal::Term);
    let kill_at = Instant::now() + grace;
    let give_up = kill_at + Duration::from_secs(2);
    let mut killed = false;
    while any_alive(targets) {
        let now = Instant::now();
        if now >= give_up {
            return false;
        }
        if now >= kill_at && !killed {
            signal_all(targets, Signal::Kill);
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ended; give their parents a moment to reap them, but never wait on a parent that
    // cannot (a stopped supervisor).
    let reaped_by = Instant::now() + Duration::from_millis(500);
    while any_left(targets) && Instant::now() < reaped_by {
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Ends `targets` from a detached helper (`daft __end`), so the caller does not wait out the
/// grace period. Where no helper can start, they get SIGTERM and SIGKILL at once.
pub(crate) fn end_detached(targets: &[Pid]) {
    if targets.is_empty() {
        return;
    }
    signal_all(targets, Signal::Term);
    let started = super::own_exe().and_then(|exe| {
        let mut cmd = Command::new(exe);
        cmd.arg("__end")
            .args(targets.iter().map(|p| format!("{}:{}", p.pid, p.start)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        spawn_detached(&mut cmd)
    });
    if started.is_err() {
        signal_all(targets, Signal::Kill);
    }
}

/// `daft __end PID:START…`: the detached helper of [`end_detached`].
pub(crate) fn run_helper(targets: &[String]) -> u8 {
    let targets: Vec<Pid> = targets
        .iter()
        .filter_map(|t| {
            let (pid, start) = t.split_once(':')?;
            Some(Pid {
                pid: pid.parse().ok()?,
                start: start.parse().ok()?,
            })
        })
        .collect();
    u8::from(!end(&targets, GRACE))
}
