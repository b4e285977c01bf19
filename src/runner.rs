//! The part of an event git waits for: runs the synchronous jobs with their output on the
//! terminal, hands the background jobs to a supervisor, stops everything on Ctrl-C, and ends
//! with a one-line summary and the hook's exit code.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use signal_hook::iterator::Signals;

use crate::background::{self, Supervisor};
use crate::config::{EventConfig, FailMode};
use crate::duration::human;
use crate::engine::{Engine, Msg, Output};
use crate::job::Context;
use crate::printer::{Mark, Printer};
use crate::runs::{Run, Status};
use crate::sys;

/// Runs `event`'s jobs in `ctx`; returns the hook's exit code.
pub(crate) fn run(
    ctx: Context,
    event: EventConfig,
    stdin: Option<Vec<u8>>,
    printer: &Arc<Printer>,
) -> Result<u8> {
    let names = event.jobs.iter().map(|job| job.name.clone()).collect();
    crate::worktrees::seen(
        ctx.common_dir.as_std_path(),
        &ctx.identity,
        ctx.worktree.as_std_path(),
        &ctx.details.branch,
        &ctx.event,
        ctx.config.as_deref(),
    )?;
    let run = Run::create(
        &ctx.common_dir,
        &ctx.identity.id,
        &ctx.worktree,
        &ctx.event,
        names,
    )?;
    let ours: Vec<bool> = event.jobs.iter().map(|job| !job.background).collect();
    let supervisor = if ours.contains(&false) {
        Some(
            background::spawn(&run, &ctx, &event, stdin.as_deref())
                .context("cannot start the background jobs")?,
        )
    } else {
        None
    };
    let fail_mode = event.fail_mode;
    let mut engine = Engine::new(
        run,
        ctx,
        event,
        &ours,
        Output::Printed(Arc::clone(printer)),
        stdin,
    );
    let interrupted = drive(&mut engine, supervisor, printer)?;
    summarise(&engine, printer);
    if let Some(signal) = interrupted {
        return Ok(u8::try_from(128 + signal).unwrap_or(1));
    }
    Ok(verdict(&engine, fail_mode, printer))
}

/// Runs the synchronous jobs to the end, reporting each outcome to the supervisor. Returns the
/// signal that interrupted it, if one did.
fn drive(
    engine: &mut Engine,
    mut supervisor: Option<Supervisor>,
    printer: &Printer,
) -> Result<Option<i32>> {
    let mut signals = Signals::new([sys::SIGINT, sys::SIGTERM, sys::SIGHUP])
        .context("cannot watch for Ctrl-C")?;
    let signal_handle = signals.handle();
    let tx = engine.sender();
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let _ = tx.send(Msg::Signal(signal));
        }
    });
    let tick = if printer.is_live() {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(1)
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
        if let Some(msg) = engine.wait(tick)
            && let Some(Msg::Signal(signal)) = engine.handle(msg)
            && interrupted.is_none()
        {
            interrupted = Some(signal);
            engine.stop(&format!("daft was interrupted (signal {signal})"));
        }
    }
    printer.set_status(None);
    signal_handle.close();
    Ok(interrupted) // dropping the supervisor's pipe tells it we are done
}

/// The hook's exit code once every synchronous job has ended, with a line about failures.
fn verdict(engine: &Engine, fail_mode: FailMode, printer: &Printer) -> u8 {
    let failed: Vec<&str> = engine
        .records
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
        FailMode::Warn => {
            printer.warn(&format!(
                "{list} failed; git carries on (fail_mode: warn). See `daft hooks log show {first}`"
            ));
            0
        }
        FailMode::Abort => {
            printer.notice(&format!("{list} failed; the hook fails (fail_mode: abort). See `daft hooks log show {first}`"));
            1
        }
    }
}

fn summarise(engine: &Engine, printer: &Printer) {
    let items: Vec<(Mark, String)> = engine
        .records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let name = &record.name;
            if record.background {
                return (Mark::Background, format!("{name} (background)"));
            }
            let took = engine.elapsed(i).map(human).unwrap_or_default();
            match record.status {
                Status::Succeeded => (Mark::Ok, format!("{name} {took}")),
                Status::Failed => match (record.exit_code, &record.reason) {
                    (_, Some(reason)) => (Mark::Failed, format!("{name}: {reason}")),
                    (Some(code), None) => (Mark::Failed, format!("{name} exit {code}")),
                    (None, None) => (Mark::Failed, format!("{name} failed")),
                },
                Status::TimedOut => (Mark::Failed, format!("{name} timed out")),
                Status::Cancelled => (Mark::Failed, format!("{name} cancelled")),
                _ => (Mark::Skipped, format!("{name} skipped")),
            }
        })
        .collect();
    printer.summary(&items);
}
