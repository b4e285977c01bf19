//! `daft hooks run <event> [--job NAME] [--dry-run]`: an event's jobs by hand, with the same
//! engine and the same trust check as the hook. A service it runs is a restart: the one
//! running is stopped first (it holds the port), and the run waits until the new one is
//! ready.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::RunArgs;
use crate::config::{EventConfig, Sources};
use crate::error::usage;
use crate::event::Event;
use crate::printer::Printer;
use crate::repo::Repo;
use crate::resolve::{self, Absent, Resolution};
use crate::runner::{self, Ran};
use crate::runs::{self, Status};
use crate::setup::When;
use crate::worktree::Worktree;

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
    plan.by_hand = true;
    let printer = Arc::new(Printer::stderr());
    let services: Vec<(String, Duration)> = plan
        .event
        .jobs
        .iter()
        .filter_map(|job| Some((job.name.clone(), job.ready.as_ref()?.within)))
        .collect();
    let wt = Worktree::open(&super::current_dir()?)?;
    for (name, _) in &services {
        for stopped in super::cancel::cancel_jobs(&wt, Some(name), &printer)? {
            printer.notice(&format!(
                "stopped the `{stopped}` that was running, to start it again"
            ));
        }
    }
    let code = match runner::run(*plan, None, &printer, When::Asked)? {
        Ran::Code(code) => code,
        Ran::SetupStarted(_) => return Ok(0),
    };
    let mut ready = true;
    for (name, within) in &services {
        ready &= await_ready(&wt, name, *within, &printer);
    }
    Ok(if ready { code } else { code.max(1) })
}

/// Waits for the newest run's service `name` to be ready (or to fail), and says which.
fn await_ready(wt: &Worktree, name: &str, within: Duration, printer: &Printer) -> bool {
    let owner = wt.state().worktree(&wt.identity.id);
    // Its own `ready:` timeout ends it as failed; the record says so a moment later.
    let deadline = Instant::now() + within + Duration::from_secs(10);
    let record = loop {
        let record = runs::list(&owner)
            .iter()
            .find(|run| run.meta.jobs.iter().any(|job| job == name))
            .map(|run| run.job(name));
        match record {
            Some(record) if record.status.settled() || Instant::now() >= deadline => {
                break Some(record);
            }
            None if Instant::now() >= deadline => break None,
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    match record {
        Some(record) if record.status == Status::Ready => {
            let port = record.service.as_ref().and_then(|s| s.port);
            printer.notice(&match port {
                Some(port) => format!("`{name}` is ready on port {port}"),
                None => format!("`{name}` is ready"),
            });
            true
        }
        Some(record) => {
            let why = record.reason.map(|r| format!(": {r}")).unwrap_or_default();
            printer.warn(&format!(
                "`{name}` is {}{why}; see `daft hooks log show {name}`",
                record.status.word()
            ));
            false
        }
        None => {
            printer.warn(&format!(
                "`{name}` has no record of its run; see `daft hooks log show`"
            ));
            false
        }
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
