//! One file per command; each takes its parsed arguments and returns the exit code.

mod cancel;
pub(crate) mod completions;
mod doctor;
mod env;
mod hook;
mod install;
mod log;
mod man;
mod run;
mod schema;
mod shell_init;
mod start;
mod trust;
mod validate;
mod wait;

use anyhow::{Context as _, Result};

use crate::cli::{Cli, Command, HooksCommand, LogCommand};

pub(crate) fn dispatch(cli: Cli) -> Result<u8> {
    if matches!(
        cli.command,
        Command::Trust(_)
            | Command::Untrust
            | Command::Hooks(_)
            | Command::Start(_)
            | Command::Remove(_)
            | Command::Env(_)
            | Command::Validate
    ) {
        tell_once();
    }
    match cli.command {
        Command::Install(args) => install::install(&args),
        Command::Uninstall(args) => install::uninstall(&args),
        Command::Doctor => doctor::run(),
        Command::Hook(args) => Ok(hook::run(&args)),
        Command::Trust(args) | Command::Hooks(HooksCommand::Trust(args)) => trust::trust(&args),
        Command::Untrust => trust::untrust(),
        Command::Hooks(HooksCommand::Run(args)) => run::run(&args),
        Command::Hooks(HooksCommand::Log(LogCommand::Show(args))) => log::show(&args),
        Command::Hooks(HooksCommand::Cancel(args)) => cancel::cancel(&args),
        Command::Start(args) => start::start(&args),
        Command::Remove(args) => start::remove(&args),
        Command::Env(args) => env::run(&args),
        Command::Schema => Ok(schema::run()),
        Command::Completions(args) => completions::run(&args),
        Command::ShellInit(args) => Ok(shell_init::run(&args)),
        Command::Man(args) => man::run(&args),
        Command::Hooks(HooksCommand::Wait(args)) => wait::run(&args),
        Command::Validate => validate::run(),
        Command::Supervise { run_dir } => crate::background::supervise(&utf8(&run_dir)?),
        Command::Copy { from, to, paths } => crate::copy::run(&from, &to, &paths),
    }
}

/// What a user should hear once about the repository they work in: that git no longer calls
/// daft here (something took its hooks), or that this worktree was never set up.
fn tell_once() {
    let Ok(repo) = current_dir().and_then(|cwd| crate::repo::Repo::discover(&cwd)) else {
        return;
    };
    crate::removal::sweep(&repo.common_dir);
    let printer = crate::printer::Printer::stderr();
    let marker = repo.common_dir.join("daft").join("unhooked-told");
    match crate::install::status::unhooked(&repo) {
        Some(problem) => {
            let said = std::fs::read_to_string(&marker).unwrap_or_default();
            if said != problem.text {
                printer.warn(&format!(
                    "{}; run `daft doctor` for details. To mend: {}",
                    problem.text,
                    problem.fix.unwrap_or_default()
                ));
                let _ = crate::files::write_atomically(&marker, problem.text.as_bytes());
            }
        }
        None => {
            let _ = crate::files::remove_if_present(&marker);
        }
    }
    crate::worktrees::tell_if_not_set_up(&repo, &printer);
}

/// The current directory.
fn current_dir() -> Result<std::path::PathBuf> {
    std::env::current_dir().context("cannot read the current directory")
}

fn utf8(path: &std::path::Path) -> Result<camino::Utf8PathBuf> {
    crate::event::utf8(path)
}

/// The worktree around the current directory and its config, for the commands that act on it.
fn here() -> Result<(crate::event::Worktree, Option<crate::config::Sources>)> {
    let wt = crate::event::Worktree::open(&current_dir()?)?;
    let sources = crate::config::Sources::find(wt.root.as_std_path())?;
    Ok((wt, sources))
}
