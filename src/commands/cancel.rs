//! `daft hooks cancel [JOB]`: stop this worktree's background jobs (also used by `daft
//! remove`). Every wait has a deadline: a supervisor that is stopped or gone cannot make a
//! cancel hang, and what could not be ended is said.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::cli::CancelArgs;
use crate::platform;
use crate::printer::Printer;
use crate::runs::{self, JobRecord, Pid, Run, Status};
use crate::worktree::Worktree;

pub(crate) fn cancel(args: &CancelArgs) -> Result<u8> {
    let printer = Printer::stderr();
    let wt = Worktree::open(&super::current_dir()?)?;
    if let Some(job) = &args.job {
        let known = runs::list(&wt.state().worktree(&wt.identity.id))
            .iter()
            .any(|run| run.meta.jobs.iter().any(|name| name == job));
        if !known {
            crate::error::usage!(
                "no job named `{}` has run in this worktree; `daft hooks log show` lists its jobs",
                crate::escape::text(job)
            );
        }
    }
    let cancelled = cancel_jobs(&wt, args.job.as_deref(), &printer)?;
    if cancelled.is_empty() {
        match &args.job {
            Some(job) => printer.notice(&format!(
                "no background job `{}` is running in this worktree",
                crate::escape::text(job)
            )),
            None => printer.notice("no background jobs are running in this worktree"),
        }
    }
    for name in cancelled {
        println!("cancelled {name}");
    }
    Ok(0)
}

/// Cancels the pending and running background jobs of `wt` (or only `only`): marks them for
/// their supervisor, ends each job's process group and what it left outside it (SIGTERM,
/// SIGKILL after the grace period), and waits — with a deadline — for the records to say so,
/// writing them itself when their supervisor cannot. Returns the jobs cancelled.
pub(crate) fn cancel_jobs(
    wt: &Worktree,
    only: Option<&str>,
    printer: &Printer,
) -> Result<Vec<String>> {
    let owner = wt.state().worktree(&wt.identity.id);
    let mut targets: Vec<(Run, Vec<JobRecord>)> = Vec::new();
    let mut processes: Vec<Pid> = Vec::new();
    for run in runs::list(&owner) {
        let jobs: Vec<JobRecord> = run
            .jobs()
            .into_iter()
            .filter(|record| {
                record.background
                    && !record.status.is_final()
                    && only.is_none_or(|name| name == record.name)
            })
            .collect();
        for record in &jobs {
            crate::files::write_atomically(run.cancel_marker(&record.name), b"")
                .context("cannot leave the cancel request for the supervisor")?;
            processes.extend(record.process.filter(|p| p.alive()));
            processes.extend(crate::leftovers::listed(&run, &record.name));
        }
        if !jobs.is_empty() {
            targets.push((run, jobs));
        }
    }
    if !platform::end(&processes, platform::GRACE) {
        let left: Vec<String> = processes
            .iter()
            .filter(|p| p.alive())
            .map(|p| p.pid.to_string())
            .collect();
        printer.warn(&format!(
            "some processes did not end within {} of SIGKILL (pids {}); they may be stuck in the kernel (uninterruptible I/O)",
            crate::duration::human(Duration::from_secs(2)),
            left.join(", ")
        ));
    }
    // The supervisor records the end; if it is gone or stopped, we do.
    let settle = Instant::now() + Duration::from_secs(2);
    for (run, record) in targets
        .iter()
        .flat_map(|(run, jobs)| jobs.iter().map(move |job| (run, job)))
    {
        loop {
            let now = run.job(&record.name);
            if now.status.is_final() {
                break;
            }
            let owner_absent = !now.owner.alive() || platform::stopped(now.owner.pid);
            if owner_absent || Instant::now() >= settle {
                let mut ended = now.clone();
                ended.status = Status::Cancelled;
                ended.reason = Some(if platform::stopped(now.owner.pid) {
                    format!(
                        "cancelled by `daft hooks cancel` (its supervisor, pid {}, is stopped)",
                        now.owner.pid
                    )
                } else {
                    "cancelled by `daft hooks cancel`".into()
                });
                ended.ended_at = Some(runs::now());
                run.write_job(&ended)?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(targets
        .into_iter()
        .flat_map(|(_, jobs)| jobs.into_iter().map(|record| record.name))
        .collect())
}
