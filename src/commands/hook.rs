//! `daft hook <name> [args…]`: what git calls, through a shim (hooks-path mode) or directly
//! (config mode). First it works out whether daft itself has anything to run — a config that
//! names the event, in a repository the user owns, trusted, valid — without reading stdin or
//! printing a word when it has not. Then, in hooks-path mode, the hook that was there before
//! runs with exactly what git gave daft (daft simply becomes it when it has nothing to do).
//! Only then are git's extra descriptors closed and daft's jobs run.

use std::ffi::OsString;
use std::io::Read as _;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::HookArgs;
use crate::config::{EventConfig, Sources};
use crate::escape::shell_quote;
use crate::event::{self, Worktree};
use crate::job::Context;
use crate::previous;
use crate::printer::Printer;
use crate::repo::Repo;
use crate::trust::{self, Store};
use crate::{env, runner, runs, sys};

/// daft's own part of a hook call.
struct Work {
    ctx: Context,
    event: EventConfig,
}

pub(crate) fn run(args: &HookArgs) -> u8 {
    let printer = Arc::new(Printer::stderr());
    let hook = args.name.as_str();
    let Ok(cwd) = std::env::current_dir() else {
        return 0;
    };
    let repo = Repo::for_hook(&cwd).ok();
    // git has no hook for a worktree going away: every call looks (one read, a stat each).
    if let Some(repo) = &repo {
        crate::removal::sweep(&repo.common_dir);
    }
    let work = match &repo {
        Some(repo) => plan(hook, &args.args, repo, &printer),
        None => Ok(None),
    };
    let mut stdin = None;
    // In config mode git runs every other hook itself; through a shim, daft runs them first.
    if env::via_shim() {
        let chain = previous::find(hook, repo.as_ref().map(|r| r.common_dir.as_path()), &cwd);
        if let Some(path) = &chain.ignored {
            previous::advise_not_executable(path);
        }
        if matches!(work, Ok(None)) {
            return previous::exec(&chain, &args.args, event::reads_stdin(hook));
        }
        let keep = matches!(work, Ok(Some(_))) && event::reads_stdin(hook);
        match previous::run(&chain, &args.args, event::reads_stdin(hook), keep) {
            Ok((0, kept)) => stdin = kept.filter(|_| keep),
            Ok((code, _)) => {
                if matches!(work, Ok(Some(_))) {
                    printer.notice(&format!(
                        "the {hook} hook that runs before daft's jobs failed (exit {code}); daft's jobs did not run"
                    ));
                }
                return u8::try_from(code).unwrap_or(1);
            }
            Err(err) => return report(hook, &err, &printer),
        }
    }
    let work = match work {
        Ok(Some(work)) => work,
        Ok(None) => return 0,
        Err(err) => return report(hook, &err, &printer),
    };
    if stdin.is_none() && event::reads_stdin(hook) {
        let mut data = Vec::new();
        if std::io::stdin().read_to_end(&mut data).is_ok() {
            stdin = Some(data);
        }
    }
    // From here on nothing daft starts may hold a descriptor git gave the hook: a detached
    // job holding git's pipe would keep `git worktree add | cat` waiting.
    sys::cloexec_inherited_fds();
    match runner::run(work.ctx, work.event, stdin, &printer) {
        Ok(code) => code,
        Err(err) => report(hook, &err, &printer),
    }
}

/// Tells of a problem of daft's own. It fails the git command only for a hook whose failure
/// is a veto, and says how to get past it.
fn report(hook: &str, err: &anyhow::Error, printer: &Printer) -> u8 {
    printer.warn(&format!("{err:#}"));
    if event::can_veto(hook) {
        printer.notice(&format!(
            "the {hook} hook fails because daft could not run its jobs (git's --no-verify skips hooks)"
        ));
        1
    } else {
        0
    }
}

/// Whether daft has jobs to run for this call, and which. Anything that keeps them from
/// running (no config, another user's repository, untrusted, invalid) is told here, once, and
/// only when the config names the event at all.
fn plan(hook: &str, args: &[OsString], repo: &Repo, printer: &Printer) -> Result<Option<Work>> {
    let Some(root) = repo.work_tree.as_deref() else {
        return Ok(None); // a bare repository has no daft.yml
    };
    let sources = match Sources::find(root) {
        Ok(Some(sources)) => sources,
        Ok(None) => return Ok(None),
        Err(err) => {
            printer.warn(&format!("{err}; no jobs ran"));
            return Ok(None);
        }
    };
    // Background jobs only ever ran where there is a config: say if one failed since last time.
    if let Ok(wt) = Worktree::of(repo) {
        tell_background_failures(&wt, printer);
    }
    let creates = hook == event::POST_CHECKOUT
        && args
            .first()
            .and_then(|old| old.to_str())
            .is_some_and(event::is_null_id);
    let wanted: &[&str] = if creates {
        &[
            event::WORKTREE_POST_CREATE,
            event::POST_CLONE,
            event::POST_CHECKOUT,
        ]
    } else {
        &[hook]
    };
    // A config can only configure an event it names; most calls stop here, unread.
    if !wanted.iter().any(|name| sources.mention(name)) {
        return Ok(None);
    }
    if let Err(err) = repo.check_owner() {
        printer.notice(&format!("{err:#}"));
        return Ok(None);
    }
    // Trust before parsing: an untrusted config costs no more than hashing it.
    let status = Store::new(&repo.common_dir).status(&trust::Fingerprint::of(&sources));
    if status != trust::Status::Trusted {
        let why = match &status {
            trust::Status::Unreadable(reason) => {
                format!("the trust store is unreadable ({reason})")
            }
            trust::Status::Changed => {
                format!("{} changed since it was trusted", sources.file_name())
            }
            _ => format!("{} is not trusted yet", sources.file_name()),
        };
        printer.notice(&format!(
            "{why}; no jobs ran. Review and trust it: cd {} && daft trust",
            shell_quote(root)
        ));
        return Ok(None);
    }
    let config = match sources.parse() {
        Ok(config) => config,
        Err(err) => {
            printer.warn(&format!("{err}"));
            printer.notice("no jobs ran; fix the config (`daft validate` checks it)");
            return Ok(None);
        }
    };
    let event_name = event::detect(hook, args, repo);
    if event_name != event::WORKTREE_POST_CREATE {
        crate::worktrees::tell_if_not_set_up(repo, printer);
    }
    let Some(event) = config.event(&event_name) else {
        return Ok(None);
    };
    let wt = match Worktree::of(repo) {
        Ok(wt) => wt,
        Err(err) => {
            printer.notice(&format!("{err:#}; daft's jobs were skipped"));
            return Ok(None);
        }
    };
    let hook_args = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let ctx = Context::new(event_name, wt, hook_args, &config)?;
    Ok(Some(Work {
        ctx,
        event: event.clone(),
    }))
}

/// Says, once, which background jobs of this worktree failed since daft last spoke here.
pub(crate) fn tell_background_failures(wt: &Worktree, printer: &Printer) {
    for failure in runs::take_failures(&wt.common_dir, &wt.identity.id) {
        let how = failure.exit_code.map_or_else(
            || failure.status.word().to_owned(),
            |code| format!("exit {code}"),
        );
        printer.warn(&format!(
            "background job `{}` {} ({how}); see `daft hooks log show {}`",
            failure.job,
            failure.status.word(),
            failure.job
        ));
    }
}
