//! Ending what daft started: a job's process group gets SIGTERM, and SIGKILL once the grace
//! period is over, with a deadline on every wait. Besides the group, a job may have left
//! processes that went their own way (a dev server that made a session of its own); the
//! supervisor, their reaper, lists them beside the job's record, and they are ended with it.

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::engine::GRACE;
use crate::runs::{Pid, Run};
use crate::sys;

/// The processes job `job` of `run` left outside its process group, as its supervisor
/// listed them, that are still alive.
pub(crate) fn leftovers(run: &Run, job: &str) -> Vec<Pid> {
    let path = run.dir.join("jobs").join(format!("{job}.procs"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (pid, start) = line.split_once(' ')?;
            Some(Pid {
                pid: pid.parse().ok()?,
                start: start.parse().ok()?,
            })
        })
        .filter(|p| p.pid > 1 && p.alive())
        .collect()
}

/// Writes the list [`leftovers`] reads.
pub(crate) fn write_leftovers(run: &Run, job: &str, procs: &[Pid]) {
    let path = run.dir.join("jobs").join(format!("{job}.procs"));
    let text = procs.iter().fold(String::new(), |mut text, p| {
        use std::fmt::Write as _;
        let _ = writeln!(text, "{} {}", p.pid, p.start);
        text
    });
    let _ = crate::files::write_atomically(path, text.as_bytes());
}

/// Sends `signal` to each of `targets`: the process group it leads, and the process itself
/// (one that left its group). Each is checked to be the same process first.
pub(crate) fn signal_all(targets: &[Pid], signal: i32) {
    for target in targets {
        if target.alive() {
            sys::kill_group(target.pid, signal);
            sys::kill_pid(*target, signal);
        }
    }
}

/// Whether any of `targets` (or its group) is still alive, zombies aside.
fn any_alive(targets: &[Pid]) -> bool {
    targets.iter().any(|t| t.alive() || sys::group_alive(t.pid))
}

/// Whether anything of `targets`' groups is left, zombies included.
fn any_left(targets: &[Pid]) -> bool {
    targets.iter().any(|t| sys::group_exists(t.pid))
}

/// Ends `targets`: SIGTERM, then SIGKILL for what is left after `grace`, waiting at most
/// `grace` plus two seconds in all. Returns whether everything ended.
pub(crate) fn end(targets: &[Pid], grace: Duration) -> bool {
    if targets.is_empty() {
        return true;
    }
    signal_all(targets, sys::SIGTERM);
    let kill_at = Instant::now() + grace;
    let give_up = kill_at + Duration::from_secs(2);
    let mut killed = false;
    while any_alive(targets) {
        let now = Instant::now();
        if now >= give_up {
            return false;
        }
        if now >= kill_at && !killed {
            signal_all(targets, sys::SIGKILL);
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
    signal_all(targets, sys::SIGTERM);
    let started = sys::own_exe().and_then(|exe| {
        let mut cmd = Command::new(exe);
        cmd.arg("__end")
            .args(targets.iter().map(|p| format!("{}:{}", p.pid, p.start)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only setsid(2), which is async-signal-safe, runs between fork and exec.
        unsafe {
            cmd.pre_exec(sys::setsid);
        }
        cmd.spawn()
    });
    if started.is_err() {
        signal_all(targets, sys::SIGKILL);
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
