//! The part of an event git waits for: runs the synchronous jobs with their output on the
//! terminal, hands the background jobs to a supervisor, stops everything on Ctrl-C, and ends
//! with a one-line summary and the hook's exit code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::background::{self, Supervisor};
use crate::config::FailMode;
use crate::duration::human;
use crate::engine::{Engine, Output};
use crate::event::Event;
use crate::printer::{Mark, Printer};
use crate::registry;
use crate::resolve::Plan;
use crate::runs::{JobRecord, Pid, Run, Status};
use crate::setup::{self, Claim, When};
use crate::state::State;

/// How a call to [`run`] went.
pub(crate) enum Ran {
    /// The jobs ran (the background ones are under way): the hook's exit code.
    Code(u8),
    /// The worktree's setup had started already, in that run: nothing was started.
    SetupStarted(String),
}

/// Runs `plan`'s jobs; returns the hook's exit code. A worktree's setup runs only when it is
/// owed, unless `when` says the user asked for it by hand.
pub(crate) fn run(
    mut plan: Plan,
    stdin: Option<Vec<u8>>,
    printer: &Arc<Printer>,
    when: When,
) -> Result<Ran> {
    note_use(&mut plan);
    let run = match begin(&plan, printer, when)? {
        Ok(run) => run,
        Err(started) => return Ok(started),
    };
    let ours: Vec<bool> = plan.event.jobs.iter().map(|job| !job.background).collect();
    // Always a supervisor: it runs the background jobs, and it outlives this process, so a
    // synchronous job never runs without an owner when the hook is killed. Where the system
    // has no process left for it, the synchronous jobs still run (here) and the background
    // ones are recorded failed, saying why.
    let supervisor = match start_supervisor(&run, &plan, stdin.as_deref()) {
        Ok(supervisor) => Some(supervisor),
        Err(err) => {
            let why = format!(
                "daft could not start the process that runs background jobs ({err:#}): the system is out of processes (ulimit -u?)"
            );
            printer.warn(&why);
            for job in plan.event.jobs.iter().filter(|job| job.background) {
                let mut record = JobRecord::pending(&job.name, true, Pid::current());
                record.status = Status::Failed;
                record.reason = Some(why.clone());
                record.ended_at = Some(crate::runs::now());
                let _ = run.write_job(&record);
            }
            None
        }
    };
    let fail_mode = if plan.by_hand {
        None
    } else {
        Some(plan.event.fail_mode)
    };
    let mut engine = Engine::new(
        run,
        plan.ctx,
        plan.event,
        &ours,
        Output::Printed(Arc::clone(printer)),
        stdin,
        Arc::clone(printer),
    );
    let interrupted = drive(&mut engine, supervisor, printer)?;
    summarise(&engine, printer);
    if let Some(signal) = interrupted {
        return Ok(Ran::Code(u8::try_from(128 + signal).unwrap_or(1)));
    }
    Ok(Ran::Code(verdict(&engine, fail_mode, printer)))
}

/// Starts the supervisor, trying again for a moment while the system is out of processes.
fn start_supervisor(run: &Run, plan: &Plan, stdin: Option<&[u8]>) -> Result<Supervisor> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match background::spawn(run, plan, stdin) {
            Ok(supervisor) => return Ok(supervisor),
            Err(err) if std::time::Instant::now() >= deadline => return Err(err),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Starts all of `plan`'s jobs under a supervisor and returns at once: a setup nobody waits
/// for at a terminal.
pub(crate) fn start_detached(mut plan: Plan, printer: &Arc<Printer>, when: When) -> Result<Ran> {
    plan.detached = true;
    note_use(&mut plan);
    let run = match begin(&plan, printer, when)? {
        Ok(run) => run,
        Err(started) => return Ok(started),
    };
    background::spawn_detached(&run, &plan).context("cannot start the jobs")?;
    Ok(Ran::Code(0))
}

/// A setup that runs after the worktree was made (trusted later, `daft hooks wait`, by hand)
/// may find it in use: then its copies carry no modification times into it.
fn note_use(plan: &mut Plan) {
    if plan.ctx.event == Event::WorktreePostCreate
        && plan.ctx.identity.admin.is_some()
        && !plan.fresh
    {
        plan.ctx.in_use = setup::in_use(plan.ctx.worktree.as_std_path());
    }
}

/// Notes where the worktree is and makes the run (a setup run only if the setup is owed or
/// asked for; otherwise the run it is in already).
fn begin(plan: &Plan, printer: &Printer, when: When) -> Result<Result<Run, Ran>> {
    for note in &plan.notes {
        printer.notice(note);
    }
    let ctx = &plan.ctx;
    let state = State::of(ctx.common_dir.as_std_path());
    let jobs: Vec<(String, bool)> = plan
        .event
        .jobs
        .iter()
        .map(|job| (job.name.clone(), job.background))
        .collect();
    let worktree = ctx.worktree.as_std_path();
    registry::update(&state, &ctx.identity, worktree, |record| {
        record.branch.clone_from(&ctx.details.branch);
        if ctx.config.is_some() {
            record.config.clone_from(&ctx.config);
        }
    })?;
    let owner = state.worktree(&ctx.identity.id);
    let create =
        |keep: &[&str]| Run::create(&state, &owner, worktree, ctx.event.name(), &jobs, keep);
    if ctx.event == Event::WorktreePostCreate && ctx.identity.admin.is_some() {
        return Ok(
            match setup::claim(&state, &ctx.identity, worktree, when, create)? {
                Claim::Mine(run) => Ok(run),
                Claim::Started(run) => Err(Ran::SetupStarted(run)),
            },
        );
    }
    let setup_run = setup::run_of(&state, &ctx.identity);
    let keep: Vec<&str> = setup_run.iter().map(String::as_str).collect();
    Ok(Ok(create(&keep)?))
}

/// Runs the synchronous jobs to the end, reporting each outcome to the supervisor. Returns the
/// signal that interrupted it, if one did.
fn drive(
    engine: &mut Engine,
    mut supervisor: Option<Supervisor>,
    printer: &Printer,
) -> Result<Option<i32>> {
    // A signal only sets a flag the loop looks at: no thread to start, so a system out of
    // processes cannot keep Ctrl-C from working.
    let caught = Arc::new(AtomicUsize::new(0));
    let mut registered = Vec::new();
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        let id = signal_hook::flag::register_usize(signal, Arc::clone(&caught), signal as usize)
            .context("cannot watch for Ctrl-C")?;
        registered.push(id);
    }
    let tick = if printer.is_live() {
        Duration::from_millis(100)
    } else {
        Duration::from_millis(250)
    };
    let mut interrupted = None;
    let mut told_abort = false;
    loop {
        engine.start_ready();
        for i in engine.take_finished() {
            if let Some(supervisor) = &mut supervisor {
                supervisor.report(i, engine.went_well(i));
            }
        }
        if engine.aborted() && !told_abort {
            told_abort = true;
            if let Some(supervisor) = &mut supervisor {
                supervisor.abort();
            }
        }
        if engine.is_idle() {
            break;
        }
        let running: Vec<String> = engine
            .running_for()
            .iter()
            .map(|(name, t)| format!("{name} {}", human(*t)))
            .collect();
        printer
            .set_status((!running.is_empty()).then(|| format!("running {}", running.join(" · "))));
        if let Some(msg) = engine.wait(tick) {
            engine.handle(msg);
        }
        let signal = caught.swap(0, Ordering::Relaxed);
        if signal != 0 && interrupted.is_none() {
            let signal = signal as i32;
            interrupted = Some(signal);
            engine.stop(&format!("daft was interrupted (signal {signal})"));
        }
    }
    printer.set_status(None);
    for id in registered {
        signal_hook::low_level::unregister(id);
    }
    Ok(interrupted) // dropping the supervisor's pipe tells it we are done
}

/// The hook's exit code once every synchronous job has ended, with a line about failures. A
/// run by hand (no `fail_mode` to apply) fails when a job failed.
fn verdict(engine: &Engine, fail_mode: Option<FailMode>, printer: &Printer) -> u8 {
    let failed: Vec<&str> = engine
        .records()
        .iter()
        .filter(|record| {
            !record.background && matches!(record.status, Status::Failed | Status::TimedOut)
        })
        .map(|record| record.name.as_str())
        .collect();
    let Some(first) = failed.first() else {
        return 0;
    };
    let list = failed
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match fail_mode {
        None => {
            printer.notice(&format!("{list} failed. See `daft hooks log show {first}`"));
            1
        }
        Some(FailMode::Warn) => {
            printer.warn(&format!(
                "{list} failed; git carries on (fail_mode: warn). See `daft hooks log show {first}`"
            ));
            0
        }
        Some(FailMode::Abort) => {
            printer.notice(&format!("{list} failed; the hook fails (fail_mode: abort). See `daft hooks log show {first}`"));
            1
        }
    }
}

fn summarise(engine: &Engine, printer: &Printer) {
    let items: Vec<(Mark, String)> = engine
        .records()
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let name = &record.name;
            if record.background {
                return (Mark::Background, format!("{name} (background)"));
            }
            let took = engine.elapsed(i).map(human).unwrap_or_default();
            let note = record
                .note
                .as_deref()
                .map(|note| format!(" ({note})"))
                .unwrap_or_default();
            match record.status {
                Status::Succeeded if note.is_empty() => (Mark::Ok, format!("{name} {took}")),
                Status::Succeeded => (Mark::Warned, format!("{name} {took}{note}")),
                Status::Failed => match (record.exit_code, &record.reason) {
                    (_, Some(reason)) => (Mark::Failed, format!("{name}: {reason}{note}")),
                    (Some(code), None) => (Mark::Failed, format!("{name} exit {code}{note}")),
                    (None, None) => (Mark::Failed, format!("{name} failed{note}")),
                },
                Status::TimedOut => (Mark::Failed, format!("{name} timed out")),
                Status::Cancelled => (Mark::Failed, format!("{name} cancelled")),
                _ => (Mark::Skipped, format!("{name} skipped")),
            }
        })
        .collect();
    printer.summary(&items);
}
