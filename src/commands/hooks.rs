//! `daft hooks run|log show|cancel`: running an event by hand, looking into runs, and
//! stopping background jobs.

use std::fmt::Write as _;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::json;

use crate::cli::{CancelArgs, RunArgs, ShowArgs};
use crate::config::EventConfig;
use crate::duration::human;
use crate::error::usage;
use crate::event::{self, Worktree};
use crate::job::Context;
use crate::printer::Printer;
use crate::runs::{self, JobRecord, Run, Status};
use crate::trust::{self, Store};
use crate::{engine, runner, sys};

pub(crate) fn run(args: &RunArgs) -> Result<u8> {
    let (wt, sources) = super::here()?;
    let Some(sources) = sources else {
        usage!("no daft.yml in {}; nothing to run", wt.root);
    };
    if !event::is_known(&args.event) {
        usage!(
            "unknown event `{}`; expected worktree-post-create, post-clone, post-checkout or a git hook name",
            args.event
        );
    }
    let config = sources.parse()?;
    let Some(event) = config.event(&args.event) else {
        usage!("{} has no jobs for {}", sources.main.path, args.event);
    };
    let event = match &args.job {
        None => event.clone(),
        Some(name) => only(event, name)?,
    };
    if args.dry_run {
        print_plan(&args.event, &event);
        return Ok(0);
    }
    let status = Store::new(&wt.common_dir).status(&trust::Fingerprint::of(&sources));
    if status != trust::Status::Trusted {
        eprintln!(
            "daft: {} is {}; no jobs ran. Review and trust it with `daft trust`",
            sources.main.path,
            status.word()
        );
        return Ok(1);
    }
    let printer = Arc::new(Printer::stderr());
    let ctx = Context {
        event: args.event.clone(),
        details: wt.details()?,
        worktree: wt.root,
        common_dir: wt.common_dir,
        hook_args: Vec::new(),
    };
    runner::run(ctx, event, None, &printer)
}

/// The event with only job `name`, whose needs are taken as met.
fn only(event: &EventConfig, name: &str) -> Result<EventConfig> {
    let Some(job) = event.jobs.iter().find(|job| job.name == name) else {
        let names: Vec<_> = event.jobs.iter().map(|job| job.name.as_str()).collect();
        usage!(
            "no job `{name}` in this event; its jobs are: {}",
            names.join(", ")
        );
    };
    let mut job = job.clone();
    job.needs.clear();
    Ok(EventConfig {
        jobs: vec![job],
        ..event.clone()
    })
}

/// Jobs grouped by how deep they are in the graph: each group can start once the ones before
/// it are done.
fn print_plan(name: &str, event: &EventConfig) {
    let needs = event.needs();
    let mut depth = vec![0usize; needs.len()];
    // The graph is acyclic (validated), so relaxing it as many times as there are jobs settles it.
    for _ in 0..needs.len() {
        for i in 0..needs.len() {
            depth[i] = needs[i].iter().map(|&n| depth[n] + 1).max().unwrap_or(0);
        }
    }
    let parallel = match event.parallel {
        crate::config::Parallel::Cpus => format!("up to {} at once", event.parallel.limit()),
        crate::config::Parallel::AtMost(n) => format!("up to {n} at once"),
        crate::config::Parallel::Sequential => "one at a time, in file order".to_owned(),
    };
    println!(
        "{name}: {} jobs, {parallel}, fail_mode: {:?}",
        event.jobs.len(),
        event.fail_mode
    );
    for step in 0..=depth.iter().copied().max().unwrap_or(0) {
        let jobs: Vec<String> = (0..needs.len())
            .filter(|&i| depth[i] == step)
            .map(|i| {
                let job = &event.jobs[i];
                let mut text = job.name.clone();
                if job.background {
                    text.push_str(" (background)");
                }
                if !job.needs.is_empty() {
                    let _ = write!(text, " after {}", job.needs.join(", "));
                }
                text
            })
            .collect();
        println!("  {}. {}", step + 1, jobs.join(" | "));
    }
}

pub(crate) fn log_show(args: &ShowArgs) -> Result<u8> {
    let wt = Worktree::open(&super::current_dir()?)?;
    if !args.json {
        super::hook::tell_background_failures(&wt.common_dir, &wt.root, &Printer::stderr());
    }
    let runs = runs::list(&wt.common_dir, &wt.root);
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
    for run in runs::list(&wt.common_dir, &wt.root) {
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
            crate::files::write_atomically(&run.cancel_marker(&record.name), b"")
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
