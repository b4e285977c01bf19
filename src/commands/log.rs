//! `daft hooks log show [JOB] [--follow] [--json] [--removed]`: the runs of this worktree (or
//! of removed worktrees: their `worktree-post-remove` jobs), or one job's latest log.

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
    if args.removed {
        return show_removed(&wt, args);
    }
    if !args.json {
        super::hook::tell_background_failures(&wt, &Printer::stderr());
    }
    let runs = runs::list(&wt.common_dir, &wt.identity.id);
    match &args.job {
        None if args.json => print_json(&json!({ "worktree": wt.root, "runs": runs_json(&runs) })),
        None if runs.is_empty() => {
            println!("no runs yet in {}", crate::escape::text(wt.root.as_str()));
            Ok(0)
        }
        None => print_table(&runs),
        Some(job) => print_log(&runs, job, args),
    }
}

/// The teardown runs of the clone's removed worktrees, newest worktree first.
fn show_removed(wt: &Worktree, args: &ShowArgs) -> Result<u8> {
    let common = wt.common_dir.as_std_path();
    let mut removed: Vec<(crate::worktrees::Record, Vec<Run>)> = crate::removal::removed(common)
        .into_iter()
        .map(|record| {
            let dir = crate::removal::removed_root(common)
                .join(&record.identity.id)
                .join("runs");
            let runs = crate::event::utf8(&dir).map_or_else(|_| Vec::new(), |d| runs::list_in(&d));
            (record, runs)
        })
        .collect();
    removed.sort_by(|a, b| {
        let latest = |runs: &[Run]| runs.first().map_or(0.0, |r| r.meta.started_at);
        latest(&b.1).total_cmp(&latest(&a.1))
    });
    if let Some(job) = &args.job {
        let runs: Vec<Run> = removed.into_iter().flat_map(|(_, runs)| runs).collect();
        return print_log(&runs, job, args);
    }
    if args.json {
        let doc: Vec<_> = removed
            .iter()
            .map(|(record, runs)| {
                json!({ "worktree": record.path, "id": record.identity.id, "branch": record.branch, "runs": runs_json(runs) })
            })
            .collect();
        return print_json(&json!({ "removed": doc }));
    }
    if removed.is_empty() {
        println!("no removed worktrees in this clone");
    }
    for (record, runs) in &removed {
        println!(
            "removed worktree {} ({}, branch {})",
            crate::escape::text(&record.path.to_string_lossy()),
            record.identity.id,
            crate::escape::text(&record.branch)
        );
        if runs.is_empty() {
            println!("  no worktree-post-remove jobs");
        }
        print_table(runs)?;
    }
    Ok(0)
}

fn print_table(runs: &[Run]) -> Result<u8> {
    let mut out = std::io::stdout().lock();
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
                .map(|r| format!("  {}", crate::escape::text(r)))
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
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default()
}

/// The documented `--json` shape of runs (README.md, "Runs and logs").
fn runs_json(runs: &[Run]) -> Vec<serde_json::Value> {
    runs.iter()
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
        .collect()
}

fn print_json(doc: &serde_json::Value) -> Result<u8> {
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(doc)?
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
            "no run of a job named `{}` here; `daft hooks log show` lists the runs",
            crate::escape::text(job)
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
