//! Background work yields to the user's own. Running at a lower CPU and I/O priority is not
//! enough when a warmup holds a lock the user's command waits for — the user's `cargo build`
//! "blocking waiting for file lock on build directory" until the warmup's cold build is done,
//! which is slower than no warmup at all. So a background job (unless it says `yield: false`)
//! that holds a lock a process of the user's is blocked on steps aside: it is stopped, as a
//! cancel would, and what it finished is kept (cargo keeps every crate it completed). Linux
//! lists the locks and their waiters (`platform::lock_waiters`); a process is the job's when it
//! is in its process group or carries its run and name in its environment, and the user's
//! when it carries no daft run at all (another daft job waiting is not a reason).

use crate::platform;

/// A lock held by a job that someone waits for.
pub(crate) struct Waiter {
    pub(crate) job: usize,
    /// Who waits, for the record: `cargo (pid 1234)`.
    pub(crate) who: String,
}

/// Whether this platform shows who waits for whose lock (Linux does; macOS does not, so a
/// background job there does not yield, and its log says so).
pub(crate) fn possible() -> bool {
    platform::lock_waiters().is_some()
}

/// Which of the `running` jobs (index, process group, name) of run `run` hold a lock a process
/// of the user's waits for.
pub(crate) fn blocking(running: &[(usize, u32, &str)], run: &str) -> Vec<Waiter> {
    let Some(pairs) = platform::lock_waiters() else {
        return Vec::new();
    };
    let mut out: Vec<Waiter> = Vec::new();
    for (holder, waiter) in pairs {
        let Some(&(job, _, _)) = running
            .iter()
            .find(|(_, pgid, name)| belongs(holder, *pgid, run, name))
        else {
            continue;
        };
        if out.iter().any(|w| w.job == job) || is_daft_job(waiter) {
            continue;
        }
        let name = platform::command_name(waiter).unwrap_or_default();
        out.push(Waiter {
            job,
            who: format!("{} (pid {waiter})", crate::escape::text(&name)),
        });
    }
    out
}

/// Whether process `pid` is job `name`'s of run `run` (whose process group is `pgid`).
fn belongs(pid: u32, group: u32, run: &str, name: &str) -> bool {
    if platform::process(pid).is_some_and(|p| p.group == group) {
        return true;
    }
    let env = platform::environ(pid);
    let has = |key: &str, value: &str| env.iter().any(|(k, v)| k == key && v == value);
    has("DAFT_RUN", run) && has("DAFT_JOB", name)
}

/// Whether process `pid` is a daft job (of any run): not the user's own.
fn is_daft_job(pid: u32) -> bool {
    platform::environ(pid).iter().any(|(k, _)| k == "DAFT_RUN")
}
