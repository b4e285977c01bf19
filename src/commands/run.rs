//! `daft hooks run <event> [--job NAME] [--dry-run]`: an event's jobs by hand, with the same
//! engine and the same trust check as the hook.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::config::{EventConfig, Sources};
use crate::error::usage;
use crate::event::Event;
use crate::printer::Printer;
use crate::repo::Repo;
use crate::resolve::{self, Absent, Resolution};
use crate::runner::{self, Ran};
use crate::setup::When;

pub(crate) fn run(args: &RunArgs) -> Result<u8> {
    let Some(event) = Event::parse(&args.event) else {
        usage!(
            "unknown event `{}`; expected {} or a git hook name",
            crate::escape::text(&args.event),
            Event::daft_names()
        );
    };
    let repo = Repo::discover(&super::current_dir()?)?;
    if args.dry_run {
        // Shows what would run without running anything: trust does not come into it.
        let root = repo.work_tree()?;
        let Some(sources) = Sources::find(root)? else {
            usage!("no daft.yml in {}; nothing to run", root.display());
        };
        let config = sources.parse()?;
        let Some(jobs) = config.event(event) else {
            usage!("{} has no jobs for {event}", sources.main.shown());
        };
        let jobs = match &args.job {
            None => jobs.clone(),
            Some(name) => only(jobs, name)?,
        };
        print_plan(event, &jobs);
        return Ok(0);
    }
    let mut plan = match resolve::resolve(&repo, event, &[])? {
        Resolution::Ready(plan) => plan,
        Resolution::Nothing(Absent::NoWorkTree) => {
            repo.work_tree()?;
            return Ok(0);
        }
        Resolution::Nothing(Absent::NoConfig) => {
            usage!(
                "no daft.yml in {}; nothing to run",
                repo.work_tree()?.display()
            );
        }
        Resolution::Nothing(Absent::NotNamed | Absent::NoJobs) => {
            usage!("the config has no jobs for {event}");
        }
        Resolution::Refused(refusal) => {
            // The config's own error, with its line and column, exits 2 like any config error.
            if let Some(err) = refusal.error {
                return Err((*err).into());
            }
            Printer::stderr().notice(&refusal.message);
            return Ok(1);
        }
    };
    if let Some(name) = &args.job {
        plan.event = only(&plan.event, name)?;
    }
    let printer = Arc::new(Printer::stderr());
    match runner::run(*plan, None, &printer, When::Asked)? {
        Ran::Code(code) => Ok(code),
        Ran::SetupStarted(_) => Ok(0),
    }
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
fn print_plan(name: Event, event: &EventConfig) {
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
    let fail_mode = match event.fail_mode {
        crate::config::FailMode::Warn => "warn",
        crate::config::FailMode::Abort => "abort",
    };
    let count = event.jobs.len();
    println!(
        "{name}: {count} job{}, {parallel}, fail_mode: {fail_mode}",
        if count == 1 { "" } else { "s" }
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
