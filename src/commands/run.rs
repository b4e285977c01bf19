//! `daft hooks run <event> [--job NAME] [--dry-run]`: an event's jobs by hand, with the same
//! engine and the same trust check as the hook.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::config::EventConfig;
use crate::error::usage;
use crate::event;
use crate::job::Context;
use crate::printer::Printer;
use crate::runner;
use crate::trust::{self, Store};

pub(crate) fn run(args: &RunArgs) -> Result<u8> {
    let (wt, sources) = super::here()?;
    let Some(sources) = sources else {
        usage!("no daft.yml in {}; nothing to run", wt.root);
    };
    if !event::is_known(&args.event) {
        usage!(
            "unknown event `{}`; expected {} or a git hook name",
            crate::escape::text(&args.event),
            event::DAFT_EVENTS.join(", ")
        );
    }
    let config = sources.parse()?;
    let Some(event) = config.event(&args.event) else {
        usage!("{} has no jobs for {}", sources.main.shown(), args.event);
    };
    let event = match &args.job {
        None => event.clone(),
        Some(name) => only(event, name)?,
    };
    if args.dry_run {
        print_plan(&args.event, &event);
        return Ok(0);
    }
    wt.repo.check_owner()?;
    let status = Store::new(wt.common_dir.as_std_path()).status(&trust::Fingerprint::of(&sources));
    if status != trust::Status::Trusted {
        eprintln!(
            "daft: {} is {}; no jobs ran. Review and trust it with `daft trust`",
            sources.main.shown(),
            status.word()
        );
        return Ok(1);
    }
    let printer = Arc::new(Printer::stderr());
    let ctx = Context::new(args.event.clone(), wt, Vec::new(), &config)?;
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
