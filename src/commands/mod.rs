//! One file per command; each takes its parsed arguments and returns the exit code.

mod cancel;
mod claude_code;
mod completions;
mod doctor;
mod env;
mod hook;
mod init;
mod install;
mod log;
mod man;
mod remove;
mod run;
mod schema;
mod shell_init;
mod start;
mod trust;
mod validate;
mod wait;

use anyhow::{Context as _, Result};

use crate::cli::{Cli, Command, HooksCommand, LogCommand};
use crate::event::Event;
use crate::printer::Printer;
use crate::repo::Repo;
use crate::state::State;

pub(crate) fn dispatch(cli: Cli) -> Result<u8> {
    if matches!(
        cli.command,
        Command::Trust(_)
            | Command::Untrust
            | Command::Hooks(_)
            | Command::Start(_)
            | Command::Remove(_)
            | Command::ClaudeCode
            | Command::Env(_)
            | Command::Validate
    ) {
        // What is printed for a program to read leaves the telling to a command a person runs.
        let for_a_program = match &cli.command {
            Command::Hooks(HooksCommand::Log(log)) => match &log.command {
                Some(LogCommand::Show(show)) => show.json,
                None => log.show.json,
            },
            Command::Env(env) => env.json,
            _ => false,
        };
        tell_once(!for_a_program);
    }
    match cli.command {
        Command::Install(args) => install::install(&args),
        Command::Uninstall(args) => install::uninstall(&args),
        Command::Doctor => doctor::run(),
        Command::Hook(args) => {
            hook::check_name(&args)?;
            Ok(hook::run(&args))
        }
        Command::Trust(args) | Command::Hooks(HooksCommand::Trust(args)) => trust::trust(&args),
        Command::Untrust => trust::untrust(),
        Command::Hooks(HooksCommand::Run(args)) => run::run(&args),
        Command::Hooks(HooksCommand::Log(args)) => match args.command {
            Some(LogCommand::Show(show)) => log::show(&show),
            None => log::show(&args.show),
        },
        Command::Hooks(HooksCommand::Cancel(args)) => cancel::cancel(&args),
        Command::Hooks(HooksCommand::Wait(args)) => wait::run(&args),
        Command::Start(args) => start::start(&args),
        Command::Remove(args) => remove::remove(&args),
        Command::ClaudeCode => claude_code::run(),
        Command::Env(args) => env::run(&args),
        Command::Schema => Ok(schema::run()),
        Command::Completions(args) => completions::run(&args),
        Command::ShellInit(args) => Ok(shell_init::run(&args)),
        Command::Man(args) => man::run(&args),
        Command::Validate => validate::run(),
        Command::Init => init::run(),
        Command::Supervise { run_dir } => supervise(&run_dir),
        Command::Copy(args) => crate::copy::run(&args),
        Command::End { targets } => Ok(crate::platform::run_helper(&targets)),
        Command::AwaitRemoval { common_dir, id } => {
            Ok(crate::removal::await_removal(&common_dir, &id))
        }
    }
}

/// `daft __supervise <run>`: a run's background jobs; when the supervisor reports that its
/// worktree is gone, the worktree's teardown follows.
fn supervise(run_dir: &std::path::Path) -> Result<u8> {
    if let crate::supervisor::Ended::WorktreeGone(common) = crate::supervisor::supervise(run_dir)? {
        crate::removal::sweep(&State::of(&common), None, &Printer::stderr());
    }
    Ok(0)
}

/// What a user should hear once about the repository they work in: that git no longer calls
/// daft here (something took its hooks), that a background job here failed since, or that this
/// worktree's setup is still owed. Another
/// user's repository is left as it is: nothing of daft's is read or changed there.
fn tell_once(failures: bool) {
    let Ok(repo) = current_dir().and_then(|cwd| Repo::discover(&cwd)) else {
        return;
    };
    if repo.check_owner().is_err() {
        return;
    }
    let state = State::of(&repo.common_dir);
    let printer = Printer::stderr();
    match crate::install::mend(&repo) {
        Ok(Some(said)) => printer.notice(&said),
        Ok(None) => {}
        Err(err) => printer.warn(&format!("cannot bring daft's install in line: {err:#}")),
    }
    if let Err(err) = crate::install::shims::sync(&state, false) {
        printer.warn(&format!("cannot bring daft's shims in line: {err:#}"));
    }
    let here = crate::worktree::Worktree::of(&repo).ok();
    crate::removal::sweep(
        &state,
        here.as_ref()
            .filter(|wt| wt.identity.admin.is_some())
            .map(|wt| (wt.identity.id.as_str(), wt.root.as_std_path())),
        &printer,
    );
    // A background job (a service that stopped serving, say) failed since daft last spoke here.
    if let Some(wt) = here.as_ref().filter(|_| failures) {
        hook::tell_background_failures(wt, &printer);
    }
    let marker = state.unhooked_told();
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
    if let Some(wt) = here
        && let Ok(checked) = crate::resolve::check(&repo, Some(Event::WorktreePostCreate))
    {
        let owed = checked.config.event(Event::WorktreePostCreate).is_some();
        crate::setup::tell_if_pending(&state, &wt, owed, &printer);
    }
}

/// The current directory.
fn current_dir() -> Result<std::path::PathBuf> {
    std::env::current_dir().context("cannot read the current directory")
}

/// The worktree around the current directory and its config, for the commands that act on it.
fn here() -> Result<(crate::worktree::Worktree, Option<crate::config::Sources>)> {
    let wt = crate::worktree::Worktree::open(&current_dir()?)?;
    let sources = crate::config::Sources::find(wt.root.as_std_path())?;
    Ok((wt, sources))
}
