//! One file per command; each takes its parsed arguments and returns the exit code.

mod cancel;
mod hook;
mod install;
mod log;
mod run;
mod start;
mod trust;
mod validate;

use anyhow::Result;

use crate::cli::{Cli, Command, HooksCommand, LogCommand};

pub(crate) fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Install(args) => install::install(&args),
        Command::Uninstall(args) => install::uninstall(&args),
        Command::Hook(args) => Ok(hook::run(&args)),
        Command::Trust(args) | Command::Hooks(HooksCommand::Trust(args)) => trust::trust(&args),
        Command::Untrust => trust::untrust(),
        Command::Hooks(HooksCommand::Run(args)) => run::run(&args),
        Command::Hooks(HooksCommand::Log(LogCommand::Show(args))) => log::show(&args),
        Command::Hooks(HooksCommand::Cancel(args)) => cancel::cancel(&args),
        Command::Start(args) => start::start(&args),
        Command::Remove(args) => start::remove(&args),
        Command::Validate => validate::run(),
        Command::Supervise { run_dir } => crate::background::supervise(&utf8(run_dir)?),
    }
}

/// The current directory, which daft needs as UTF-8.
fn current_dir() -> Result<camino::Utf8PathBuf> {
    utf8(std::env::current_dir()?)
}

fn utf8(path: std::path::PathBuf) -> Result<camino::Utf8PathBuf> {
    camino::Utf8PathBuf::from_path_buf(path)
        .map_err(|p| anyhow::anyhow!("{} is not valid UTF-8; daft needs UTF-8 paths", p.display()))
}

/// The worktree around the current directory and its config, for the commands that act on it.
fn here() -> Result<(crate::event::Worktree, Option<crate::config::Sources>)> {
    let wt = crate::event::Worktree::open(&current_dir()?)?;
    let sources = crate::config::Sources::find(&wt.root)?;
    Ok((wt, sources))
}
