//! `daft hook <name> [args…]`: what git calls, through a shim (hooks-path mode) or directly
//! (config mode). First the resolve step says whether daft itself has anything to run —
//! without reading stdin or printing a word when it has not. Then, in hooks-path mode, the
//! hook that was there before runs with exactly what git gave daft (daft simply becomes it
//! when it has nothing to do). Only then are git's extra descriptors closed and daft's jobs
//! run.

use std::io::Read as _;
use std::sync::Arc;

use crate::cli::HookArgs;
use crate::event::{self, Event, Hook};
use crate::printer::Printer;
use crate::registry::Owed;
use crate::repo::Repo;
use crate::resolve::{self, Absent, Resolution, Why};
use crate::runner::{self, Ran};
use crate::setup::{self, When};
use crate::state::State;
use crate::worktree::Worktree;
use crate::{env, platform, previous, removal, runs};

/// `daft hook NAME` typed by hand with a name git never runs (`daft hook wait`, a slip for
/// `daft hooks wait`) is a usage error: silence would read as "done". What git runs — a shim,
/// a linked name — is never refused: it always gets a hook's answer.
pub(crate) fn check_name(args: &HookArgs) -> anyhow::Result<()> {
    if Hook::parse(&args.name).is_some() || args.linked.is_some() || env::via_shim() {
        return Ok(());
    }
    let name = crate::escape::text(&args.name);
    if ["run", "log", "cancel", "wait", "trust"].contains(&args.name.as_str()) {
        crate::error::usage!(
            "`daft hook` is what git runs for its hooks, and git has no hook `{name}`: did you mean `daft hooks {name}`?"
        );
    }
    crate::error::usage!(
        "`daft hook` is what git runs for its hooks, and git has no hook `{name}`; the commands for people are `daft hooks run|log|cancel|wait|trust` (see `daft hooks --help`)"
    );
}

pub(crate) fn run(args: &HookArgs) -> u8 {
    let printer = Arc::new(Printer::stderr());
    if let Some(linked) = &args.linked {
        crate::install::link::follow_upgrade(linked);
    }
    let Ok(cwd) = std::env::current_dir() else {
        return 0;
    };
    let hook = Hook::parse(&args.name);
    let found = Repo::for_hook(&cwd).ok();
    // Another user's repository: nothing of daft's is read or written there.
    let ours = found
        .as_ref()
        .is_some_and(|repo| repo.check_owner().is_ok());
    // git has no hook for a worktree going away: every call looks (one read, a stat each).
    if let (Some(repo), true) = (&found, ours) {
        let state = State::of(&repo.common_dir);
        removal::sweep(&state, None, &printer);
        if env::via_shim() {
            // The shims follow the previous hooks directory (the post-checkout shim saw it change).
            let _ = crate::install::shims::sync(&state, false);
        }
    }
    let resolution = match (&found, hook) {
        (Some(repo), Some(hook)) if ours => resolve(repo, hook, args, &printer),
        (Some(repo), Some(hook)) => Ok(foreign(repo, hook, args)),
        _ => Ok(Resolution::Nothing(Absent::NoConfig)),
    };
    let reads_stdin = hook.is_some_and(Hook::reads_stdin);
    let mut stdin = None;
    // In config mode git runs every other hook itself; through a shim, daft runs them first.
    if env::via_shim() {
        let chain = previous::find(
            &args.name,
            found.as_ref().map(|r| r.common_dir.as_path()),
            &cwd,
        );
        if let Some(path) = &chain.ignored {
            previous::advise_not_executable(path);
        }
        let ready = matches!(resolution, Ok(Resolution::Ready(_)));
        if !ready && !matches!(resolution, Err(_) | Ok(Resolution::Refused(_))) {
            return previous::exec(&chain, &args.args, reads_stdin);
        }
        let keep = ready && reads_stdin;
        match previous::run(&chain, &args.args, reads_stdin, keep) {
            Ok((0, kept)) => stdin = kept.filter(|_| keep),
            Ok((code, _)) => {
                if ready {
                    printer.notice(&format!(
                        "the {} hook that runs before daft's jobs failed (exit {code}); daft's jobs did not run",
                        args.name
                    ));
                }
                return u8::try_from(code).unwrap_or(1);
            }
            Err(err) => return report(hook, &err, &printer),
        }
    }
    let plan = match resolution {
        Ok(Resolution::Ready(plan)) => plan,
        Ok(Resolution::Refused(refusal)) => {
            printer.notice(&refusal.message);
            return 0;
        }
        Ok(Resolution::Nothing(_)) => return 0,
        Err(err) => return report(hook, &err, &printer),
    };
    if stdin.is_none() && reads_stdin {
        let mut data = Vec::new();
        if std::io::stdin().read_to_end(&mut data).is_ok() {
            stdin = Some(data);
        }
    }
    // From here on nothing daft starts may hold a descriptor git gave the hook: a detached
    // job holding git's pipe would keep `git worktree add | cat` waiting.
    platform::cloexec_inherited_fds();
    match runner::run(*plan, stdin, &printer, When::Owed) {
        Ok(Ran::Code(code)) => code,
        Ok(Ran::SetupStarted(_)) => 0,
        Err(err) => report(hook, &err, &printer),
    }
}

/// The resolution of this hook call in `repo`, with what the user should hear about the
/// worktree on the way: a background failure since last time, a setup still owed.
fn resolve(
    repo: &Repo,
    hook: Hook,
    args: &HookArgs,
    printer: &Printer,
) -> anyhow::Result<Resolution> {
    let event = event::detect(hook, &args.args, repo);
    if event == Event::WorktreePostCreate
        && let Some(said) = crate::untracked::carry_local_config(repo)
    {
        printer.notice(&said);
    }
    let mut resolution = resolve::resolve(repo, event, &args.args)?;
    if let Resolution::Ready(plan) = &mut resolution {
        // git has just made it: a setup now runs in a worktree nothing has used yet.
        plan.fresh = event == Event::WorktreePostCreate;
    }
    let has_config = !matches!(
        resolution,
        Resolution::Nothing(Absent::NoConfig | Absent::NoWorkTree)
    );
    if !has_config {
        if event == Event::WorktreePostCreate
            && let Some((what, fix)) = crate::untracked::config_left_behind(repo)
        {
            printer.warn(&format!("{what}. To fix: {fix}"));
        }
        return Ok(resolution);
    }
    let Ok(wt) = Worktree::of(repo) else {
        return Ok(resolution);
    };
    let state = wt.state();
    // Background jobs only ever ran where there is a config: say if one failed since last time.
    tell_background_failures(&wt, printer);
    match &resolution {
        Resolution::Refused(refusal)
            if event == Event::WorktreePostCreate
                && matches!(refusal.why, Why::Untrusted(_) | Why::Invalid) =>
        {
            setup::owe(
                &state,
                &wt.identity,
                wt.root.as_std_path(),
                Owed::NotTrusted,
            )?;
            let mut refusal = refusal.clone();
            refusal.message.push_str(if refusal.why == Why::Invalid {
                " — this worktree's setup is owed: it runs once the config is fixed and trusted (`daft trust` runs it, or `daft hooks wait` here then)"
            } else {
                " — this worktree's setup is owed: trusting the config runs it (or `daft hooks wait` here, once it is trusted)"
            });
            return Ok(Resolution::Refused(refusal));
        }
        Resolution::Ready(plan) if event != Event::WorktreePostCreate => {
            setup::tell_if_pending(&state, &wt, plan.owes_setup, printer);
        }
        _ => {}
    }
    Ok(resolution)
}

/// A hook call in another user's repository: nothing runs; where its config names the event,
/// the user hears why.
fn foreign(repo: &Repo, hook: Hook, args: &HookArgs) -> Resolution {
    let event = event::detect(hook, &args.args, repo);
    match resolve::check(repo, Some(event)) {
        Err(resolution) => resolution,
        Ok(_) => Resolution::Nothing(Absent::NoConfig),
    }
}

/// Tells of a problem of daft's own. It fails the git command only for a hook whose failure
/// is a veto, and says how to get past it.
fn report(hook: Option<Hook>, err: &anyhow::Error, printer: &Printer) -> u8 {
    printer.warn(&format!("{err:#}"));
    match hook.filter(|hook| hook.can_veto()) {
        Some(hook) => {
            printer.notice(&format!(
                "the {} hook fails because daft could not run its jobs (git's --no-verify skips hooks)",
                hook.name()
            ));
            1
        }
        None => 0,
    }
}

/// Says, once, which background jobs of this worktree failed since daft last spoke here.
pub(crate) fn tell_background_failures(wt: &Worktree, printer: &Printer) {
    for failure in runs::take_failures(&wt.state().worktree(&wt.identity.id)) {
        let how = failure
            .exit_code
            .map_or_else(String::new, |code| format!(" (exit {code})"));
        printer.warn(&format!(
            "background job `{}` {}{how}; see `daft hooks log show {}`",
            failure.job,
            failure.status.word(),
            failure.job
        ));
    }
}
