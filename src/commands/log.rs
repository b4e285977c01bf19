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
use crate::event::Event;
use crate::printer::Printer;
use crate::resolve::{self, Resolution};
use crate::runs::{self, Run, Status};
use crate::setup::{self, Standing};
use crate::worktree::Worktree;

/// The most of a log `--json` puts in its document.
const JSON_LOG_LIMIT: u64 = 16 * 1024 * 1024;

pub(crate) fn show(args: &ShowArgs) -> Result<u8> {
    let wt = Worktree::open(&super::current_dir()?)?;
    if args.removed {
        return show_removed(&wt, args);
    }
    let setup = setup_standing(&wt);
    if !args.json {
        super::hook::tell_background_failures(&wt, &Printer::stderr());
    }
    let runs = runs::list(&wt.state().worktree(&wt.identity.id));
    match &args.job {
        None if args.json => print_json(&json!({
            "worktree": wt.root,
            "setup": setup_json(&setup),
            "runs": runs_json(&runs),
        })),
        None => {
            if let Some(line) = setup_line(&setup) {
                println!("{line}");
            }
            if runs.is_empty() {
                println!("no runs yet in {}", crate::escape::text(wt.root.as_str()));
                if let Some((what, fix)) = crate::untracked::config_left_behind(&wt.repo) {
                    Printer::stderr().warn(&format!("{what}. To fix: {fix}"));
                }
                return Ok(0);
            }
            print_table(&runs)
        }
        Some(job) => print_log(&runs, job, args),
    }
}

/// Where this worktree's setup stands (reading the config, never running anything).
fn setup_standing(wt: &Worktree) -> Standing {
    let owed = match resolve::check(&wt.repo, Some(Event::WorktreePostCreate)) {
        Ok(checked) => checked.config.event(Event::WorktreePostCreate).is_some(),
        Err(Resolution::Nothing(_)) => false,
        Err(_) => true,
    };
    setup::standing(&wt.state(), &wt.identity, owed)
}

/// The line `log show` opens with when the setup is not simply done.
fn setup_line(standing: &Standing) -> Option<String> {
    match standing {
        Standing::NotOwed | Standing::Done(_) => None,
        Standing::Pending(_) => Some(format!(
            "setup: pending — {}; `daft hooks wait` runs it",
            standing
                .describe()
                .trim_start_matches("its setup is pending: ")
        )),
        other => Some(format!(
            "setup: {}",
            other.describe().trim_start_matches("its setup is ")
        )),
    }
}

fn setup_json(standing: &Standing) -> serde_json::Value {
    let (state, run) = match standing {
        Standing::NotOwed => ("not-owed", None),
        Standing::Pending(_) => ("pending", None),
        Standing::Running(run) => ("running", Some(run)),
        Standing::Done(run) => ("done", Some(run)),
        Standing::Failed(run) => ("failed", Some(run)),
        Standing::Unknown(_) => ("unknown", None),
    };
    json!({ "state": state, "run": run, "about": standing.describe() })
}

/// The teardown runs of the clone's removed worktrees, newest worktree first.
fn show_removed(wt: &Worktree, args: &ShowArgs) -> Result<u8> {
    let mut removed: Vec<(crate::registry::Record, Vec<Run>)> =
        crate::removal::removed(&wt.state())
            .into_iter()
            .map(|(record, dir)| (record, runs::list(&dir)))
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
        match &run.damaged {
            None => writeln!(
                out,
                "{}  {} ago  (run {})",
                run.meta.event,
                human(secs(now - run.meta.started_at)),
                run.meta.id
            )?,
            Some(why) => writeln!(
                out,
                "run {}: its record is damaged ({}); its jobs as far as they can be read:",
                run.meta.id,
                crate::escape::text(why)
            )?,
        }
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
            if let (Status::Starting | Status::Ready, Some(port)) =
                (job.status, job.service.as_ref().and_then(|s| s.port))
            {
                let _ = write!(status, " (port {port})");
            }
            let kind = if job.service.is_some() {
                "service"
            } else if job.background {
                "background"
            } else {
                ""
            };
            let about = match (&job.reason, &job.service) {
                (Some(reason), _) => Some(reason.clone()),
                (None, Some(service)) if job.status == Status::Starting => {
                    Some(format!("ready once {}", service.probe))
                }
                _ => None,
            };
            let reason = about
                .map(|r| format!("  {}", crate::escape::text(&r)))
                .unwrap_or_default();
            let line = format!(
                "  {:<24} {:<20} {:>8}  {kind}{reason}",
                crate::escape::text(&job.name),
                status,
                took
            );
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(0)
}

fn secs(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default()
}

/// The documented `--json` shape of runs (docs/guide.md, "Background jobs, runs and logs").
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
                        "status": job.status.word(),
                        "by_condition": job.status == Status::SkippedByCondition,
                        "exit_code": job.exit_code,
                        "reason": job.reason,
                        "pid": job.process.map(|p| p.pid),
                        "started_at": job.started_at,
                        "ended_at": job.ended_at,
                        "duration_secs": job.started_at.map(|s| job.ended_at.unwrap_or_else(runs::now) - s),
                        "log": run.log_path(&job.name),
                        "note": job.note,
                        "service": job.service,
                    })
                })
                .collect();
            json!({
                "id": run.meta.id,
                "event": run.meta.event,
                "started_at": run.meta.started_at,
                "damaged": run.damaged,
                "jobs": jobs,
            })
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
        .find(|run| run.meta.jobs.iter().any(|name| name == job))
        .map(|run| (run, run.job(job)))
    else {
        usage!(
            "no run of a job named `{}` here; `daft hooks log show` lists the runs",
            crate::escape::text(job)
        );
    };
    if args.json {
        let mut log = Vec::new();
        let size = std::fs::metadata(run.log_path(job)).map_or(0, |m| m.len());
        if let Ok(file) = std::fs::File::open(run.log_path(job)) {
            file.take(JSON_LOG_LIMIT).read_to_end(&mut log)?;
        }
        let doc = json!({
            "run": run.meta.id,
            "job": record,
            "log": String::from_utf8_lossy(&log),
            "log_truncated": size > JSON_LOG_LIMIT,
        });
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
        let done = run.job(job).status.is_final();
        if let Ok(mut file) = std::fs::File::open(&path) {
            let len = file.metadata().map_or(0, |m| m.len());
            if len < offset {
                // The log was cut to its cap while we followed it: go on from its new end.
                writeln!(
                    out,
                    "[daft: the middle of this log was cut to keep it under its cap; going on from its end]"
                )?;
                offset = len;
            }
            file.seek(SeekFrom::Start(offset))?;
            // Streamed: a log of any size is shown without being held in memory.
            offset += std::io::copy(&mut file, &mut out)?;
            out.flush()?;
        }
        if !args.follow || done {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(0)
}
