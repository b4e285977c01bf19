//! daft makes a fresh git worktree ready to work in. A repository commits a `daft.yml` of jobs;
//! git's own hooks (through small shims installed by `daft install`) hand each hook call to
//! `daft hook`, which works out what happened, checks that the config is trusted, and runs the
//! jobs: the quick ones while git waits, the slow ones detached in the background.
//!
//! The story of a hook call, file by file: `install` (how git reaches daft) → `repo` (which
//! repository, whose) → `event` (what git did) → `resolve` (the one decision: `config`, then
//! `trust`, then a plan for this `worktree`) → `runner` (the synchronous part) with `engine`
//! driving the pure `ledger` and `schedule`, `job` starting each process, `copy` and `ports`
//! beside it → `background` and `supervisor` (the detached part) → `runs` (records and logs).
//! Around a worktree's life: `registry` (what daft knows of each worktree), `setup` (the
//! setup every worktree is owed once), `removal` (a worktree that is gone gets its teardown),
//! `stop` (ending processes). `state` owns every path on disk. Commands live in `commands/`,
//! one file each.

mod background;
mod cli;
mod commands;
mod complete;
mod conditions;
mod config;
mod copy;
mod duration;
mod engine;
mod env;
mod error;
mod escape;
mod event;
mod files;
mod git;
mod install;
mod job;
mod ledger;
mod leftovers;
mod logfile;
mod platform;
mod ports;
mod previous;
mod printer;
mod registry;
mod removal;
mod repo;
mod resolve;
mod review;
mod runner;
mod runs;
mod schedule;
mod service;
mod setup;
mod shim;
mod state;
mod status;
mod supervisor;
mod trust;
mod untracked;
mod whereabouts;
mod worktree;
mod yielding;

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs daft with the given command line and turns the outcome into an exit code: the one
/// place where errors become exit statuses.
pub fn run(args: Vec<OsString>) -> ExitCode {
    let cli = cli::parse(args);
    // The hook and the supervisor must outlive a closed pipe (their jobs depend on them);
    // the commands people type end quietly when their reader goes away.
    if !matches!(
        cli.command,
        cli::Command::Hook(_)
            | cli::Command::Supervise { .. }
            | cli::Command::Copy(_)
            | cli::Command::End { .. }
    ) {
        platform::default_sigpipe();
    }
    match commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            printer::error(&err);
            ExitCode::from(error::exit_code(&err))
        }
    }
}
