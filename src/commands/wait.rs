//! `daft hooks wait [JOB…] [--timeout DUR]`: the signal an editor, a script or a coding agent
//! waits on instead of racing the setup. Waits for this worktree's latest run (or the latest
//! run of each named job) to finish: exit 0 when every job succeeded (or was skipped by its
//! own condition), 1 when any did not (named), 124 on timeout. Live progress on a terminal,
//! one line otherwise; at once when nothing is running.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::WaitArgs;
use crate::duration::human;
use crate::error::usage;
use crate::event::Worktree;
use crate::printer::Printer;
use crate::runs::{self, JobRecord, Run};

/// A job waited for: the run it belongs to and its name.
struct Target<'a> {
    run: &'a Run,
    name: String,
}

pub(crate) fn run(args: &WaitArgs) -> Result<u8> {
    let wt = Worktree::open(&super::current_dir()?)?;
    let history = runs::list(&wt.common_dir, &wt.identity.id);
    let targets: Vec<Target> = if args.jobs.is_empty() {
        let Some(latest) = history.first() else {
            eprintln!("daft: no runs in this worktree; nothing to wait for");
            return Ok(0);
        };
        latest
            .meta
            .jobs
            .iter()
            .map(|name| Target {
                run: latest,
                name: name.clone(),
            })
            .collect()
    } else {
        let mut targets = Vec::new();
        for name in &args.jobs {
            let Some(run) = history.iter().find(|run| run.meta.jobs.contains(name)) else {
                usage!(
                    "no run of a job named `{}` in this worktree; `daft hooks log show` lists the runs",
                    crate::escape::text(name)
                );
            };
            targets.push(Target {
                run,
                name: name.clone(),
            });
        }
        targets
    };
    let printer = Printer::stderr();
    let started = Instant::now();
    let deadline = args.timeout.map(|t| started + t);
    let records = loop {
        let records: Vec<JobRecord> = targets.iter().filter_map(|t| t.run.job(&t.name)).collect();
        let running: Vec<&JobRecord> = records.iter().filter(|r| !r.status.is_final()).collect();
        if running.is_empty() {
            break records;
        }
        if deadline.is_some_and(|at| Instant::now() >= at) {
            printer.set_status(None);
            let names: Vec<&str> = running.iter().map(|r| r.name.as_str()).collect();
            eprintln!(
                "daft: timed out after {} waiting for {}",
                human(started.elapsed()),
                names.join(", ")
            );
            return Ok(124);
        }
        let now = runs::now();
        let line: Vec<String> = running
            .iter()
            .map(|r| match r.started_at {
                Some(at) => format!("{} {}", r.name, human(secs(now - at))),
                None => format!("{} (pending)", r.name),
            })
            .collect();
        printer.set_status(Some(format!("waiting for {}", line.join(" · "))));
        std::thread::sleep(Duration::from_millis(100));
    };
    printer.set_status(None);
    let failed: Vec<String> = records
        .iter()
        .filter(|r| !r.went_well())
        .map(|r| {
            let how = match (r.exit_code, &r.reason) {
                (Some(code), _) => format!("{} (exit {code})", r.status.word()),
                (None, _) => r.status.word().to_owned(),
            };
            format!("{} {how}", r.name)
        })
        .collect();
    if failed.is_empty() {
        eprintln!(
            "daft: {} job{} done: all succeeded",
            records.len(),
            if records.len() == 1 { "" } else { "s" }
        );
        Ok(0)
    } else {
        eprintln!(
            "daft: {} did not succeed; see `daft hooks log show`",
            failed.join(", ")
        );
        Ok(1)
    }
}

fn secs(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default()
}
