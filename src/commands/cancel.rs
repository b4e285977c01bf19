//! `daft hooks cancel [JOB]`: stop this worktree's background jobs (also used by `daft remove`).

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::cli::CancelArgs;
use crate::event::Worktree;
use crate::runs::{self, JobRecord, Run, Status};
use crate::{engine, sys};

pub(crate) fn cancel(args: &CancelArgs) -> Result<u8> {
    let wt = Worktree::open(&super::current_dir()?)?;
    let cancelled = cancel_jobs(&wt, args.job.as_deref())?;
    if cancelled.is_empty() {
        match &args.job {
            Some(job) => println!("no background job `{job}` is running in this worktree"),
            None => println!("no background jobs are running in this worktree"),
        }
    }
    for name in cancelled {
        println!("cancelled {name}");
    }
    Ok(0)
}

/// Cancels the pending and running background jobs of `wt` (or only `only`): marks them for
/// their supervisor, sends SIGTERM to each job's process group, SIGKILL to what is left after
/// the grace period, and waits for the records to say so. Returns the jobs cancelled.
pub(crate) fn cancel_jobs(wt: &Worktree, only: Option<&str>) -> Result<Vec<String>> {
    let mut targets: Vec<(Run, Vec<JobRecord>)> = Vec::new();
    for run in runs::list(&wt.common_dir, &wt.identity.id) {
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
            if let Some(process) = record.process.filter(|p| p.alive()) {
                sys::kill_group(process.pid, sys::SIGTERM);
            }
        }
        if !jobs.is_empty() {
            targets.push((run, jobs));
        }
    }
    let deadline = Instant::now() + engine::GRACE;
    let mut killed = false;
    loop {
        let alive: Vec<u32> = targets
            .iter()
            .flat_map(|(_, jobs)| jobs.iter().filter_map(|r| r.process))
            .map(|p| p.pid)
            .filter(|&pgid| sys::group_alive(pgid))
            .collect();
        if alive.is_empty() {
            break;
        }
        if Instant::now() >= deadline && !killed {
            for &pgid in &alive {
                sys::kill_group(pgid, sys::SIGKILL);
            }
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The supervisor records the end; if it is gone, we do.
    let settle = Instant::now() + Duration::from_secs(2);
    for (run, record) in targets
        .iter()
        .flat_map(|(run, jobs)| jobs.iter().map(move |job| (run, job)))
    {
        while run.job(&record.name).is_some_and(|r| !r.status.is_final()) {
            if !record.owner.alive() || Instant::now() >= settle {
                let mut ended = record.clone();
                ended.status = Status::Cancelled;
                ended.reason = Some("cancelled by `daft hooks cancel`".into());
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
