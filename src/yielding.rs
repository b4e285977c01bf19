//! Background work yields to the user's own. Running at a lower CPU and I/O priority is not
//! enough when a warmup holds a lock the user's command waits for — the user's `cargo build`
//! "blocking waiting for file lock on build directory" until the warmup's cold build is done,
//! which is slower than no warmup at all. So a background job (unless it says `yield: false`)
//! that holds a lock a process of the user's is blocked on steps aside: it is stopped, as a
//! cancel would, and what it finished is kept (cargo keeps every crate it completed). The
//! kernel lists the locks and their waiters in `/proc/locks`; a process is the job's when it
//! is in its process group or carries its run and name in its environment, and the user's
//! when it carries no daft run at all (another daft job waiting is not a reason).

use crate::sys;

/// A lock held by a job that someone waits for.
pub(crate) struct Waiter {
    pub(crate) job: usize,
    /// Who waits, for the record: `cargo (pid 1234)`.
    pub(crate) who: String,
}

/// Which of the `running` jobs (index, process group, name) of run `run` hold a lock a process
/// of the user's waits for.
pub(crate) fn blocking(running: &[(usize, u32, &str)], run: &str) -> Vec<Waiter> {
    let Ok(table) = std::fs::read_to_string("/proc/locks") else {
        return Vec::new();
    };
    let (holders, waiters) = parse(&table);
    let mut out: Vec<Waiter> = Vec::new();
    for (id, waiter) in waiters {
        let Some(&holder) = holders.iter().find(|(h, _)| *h == id).map(|(_, pid)| pid) else {
            continue;
        };
        let Some(&(job, _, _)) = running
            .iter()
            .find(|(_, pgid, name)| belongs(holder, *pgid, run, name))
        else {
            continue;
        };
        if out.iter().any(|w| w.job == job) || is_daft_job(waiter) {
            continue;
        }
        let comm = std::fs::read_to_string(format!("/proc/{waiter}/comm")).unwrap_or_default();
        out.push(Waiter {
            job,
            who: format!("{} (pid {waiter})", crate::escape::text(comm.trim())),
        });
    }
    out
}

/// A lock's number in `/proc/locks`, and a process.
type Entry = (u64, u32);

/// The holders and the waiters of a `/proc/locks` table.
fn parse(table: &str) -> (Vec<Entry>, Vec<Entry>) {
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

/// Whether process `pid` is job `name`'s of run `run` (whose process group is `pgid`).
fn belongs(pid: u32, group: u32, run: &str, name: &str) -> bool {
    if sys::stat_fields(pid).is_some_and(|s| s.pgrp == group) {
        return true;
    }
    let env = sys::environ(pid);
    let has = |key: &str, value: &str| env.iter().any(|(k, v)| k == key && v == value);
    has("DAFT_RUN", run) && has("DAFT_JOB", name)
}

/// Whether process `pid` is a daft job (of any run): not the user's own.
fn is_daft_job(pid: u32) -> bool {
    sys::environ(pid).iter().any(|(k, _)| k == "DAFT_RUN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_table_gives_holders_and_waiters() {
        let table = "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 1240 fd:01:5678 0 EOF\n2: OFDLCK ADVISORY  READ  -1 00:06:9 0 EOF\n3: POSIX  ADVISORY  WRITE 99 08:01:1 0 EOF\n";
        let (holders, waiters) = parse(table);
        assert_eq!(holders, [(1, 1234), (3, 99)]);
        assert_eq!(waiters, [(1, 1240)]);
    }
}
