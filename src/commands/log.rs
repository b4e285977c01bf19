//! `daft hooks log show [JOB] [--follow] [--json]`: the runs of this worktree, or one job's log.

use std::fmt::Write as _;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use crate::cli::ShowArgs;
use crate::duration::human;
use crate::error::usage;
use crate::event::Worktree;
use crate::printer::Printer;
use crate::runs::{self, Run, Status};

pub(crate) fn show(args: &ShowArgs) -> Result<u8> {
    let wt = Worktree::open(&super::current_dir()?)?;
    if !args.json {
        super::hook::tell_background_failures(&wt, &Printer::stderr());
    }
    let runs = runs::list(&wt.common_dir, &wt.identity.id);
    match &args.job {
        None if args.json => print_json(&wt, &runs),
        None => print_table(&wt, &runs),
        Some(job) => print_log(&runs, job, args),
    }
}

fn print_table(wt: &Worktree, runs: &[Run]) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    if runs.is_empty() {
        writeln!(out, "no runs yet in {}", wt.root)?;
        return Ok(0);
    }
    let now = runs::now();
    for run in runs {
        writeln!(
            out,
            "{}  {} ago  (run {})",
            run.meta.event,
            human(secs(now - run.meta.started_at)),
            run.meta.id
        )?;
        for job in run.jobs() {
            let took = match (job.started_at, job.ended_at) {
                (Some(start), Some(end)) => human(secs(end - start)),
                (Some(start), None) => human(secs(now - start)),
                _ => String::new(),
            };
            let mut status = job.status.word().to_owned();
            if let (Status::Failed | Status::TimedOut, Some(code)) = (job.status, job.exit_code) {
                let _ = write!(status, " (exit {code})");
            }
            let kind = if job.background { "background" } else { "" };
            let reason = job
                .reason
                .as_deref()
                .map(|r| format!("  {r}"))
                .unwrap_or_default();
            let line = format!(
                "  {:<24} {:<20} {:>8}  {kind}{reason}",
                job.name, status, took
            );
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(0)
}

fn secs(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds.max(0.0))
}

/// The documented `--json` shape (README.md, "Runs and logs").
fn print_json(wt: &Worktree, runs: &[Run]) -> Result<u8> {
    let runs: Vec<_> = runs
        .iter()
        .map(|run| {
            let jobs: Vec<_> = run
                .jobs()
                .iter()
                .map(|job| {
                    json!({
                        "name": job.name,
                        "background": job.background,
                        "status": job.status,
                        "exit_code": job.exit_code,
                        "reason": job.reason,
                        "pid": job.process.map(|p| p.pid),
                        "started_at": job.started_at,
                        "ended_at": job.ended_at,
                        "duration_secs": job.started_at.map(|s| job.ended_at.unwrap_or_else(runs::now) - s),
                        "log": run.log_path(&job.name),
                    })
                })
                .collect();
            json!({ "id": run.meta.id, "event": run.meta.event, "started_at": run.meta.started_at, "jobs": jobs })
        })
        .collect();
    let doc = json!({ "worktree": wt.root, "runs": runs });
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&doc)?
    )?;
    Ok(0)
}

/// The latest log of `job`; with `--follow`, until the job ends.
fn print_log(runs: &[Run], job: &str, args: &ShowArgs) -> Result<u8> {
    let Some((run, record)) = runs
        .iter()
        .find_map(|run| run.job(job).map(|record| (run, record)))
    else {
        usage!(
            "no run of a job named `{job}` in this worktree; `daft hooks log show` lists the runs"
        );
    };
    if args.json {
        let log = std::fs::read(run.log_path(job)).unwrap_or_default();
        let doc =
            json!({ "run": run.meta.id, "job": record, "log": String::from_utf8_lossy(&log) });
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&doc)?
        )?;
        return Ok(0);
    }
    let path = run.log_path(job);
    let mut out = std::io::stdout().lock();
    let mut offset = 0;
    loop {
        // Read the record before the log, so the last lines written before the end are shown.
        let done = run.job(job).is_none_or(|record| record.status.is_final());
        if let Ok(mut file) = std::fs::File::open(&path) {
            file.seek(SeekFrom::Start(offset))?;
            let mut chunk = Vec::new();
            file.read_to_end(&mut chunk)?;
            offset += chunk.len() as u64;
            out.write_all(&chunk)?;
            out.flush()?;
        }
        if !args.follow || done {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(0)
}
