//! `daft hook <name> [args…]`: what every shim execs. It runs on every `git switch`, so the
//! path with nothing to do is kept short: run the previous hook, look for a config file, and
//! stop there if there is none or it has no jobs for this event. It never reads stdin for
//! `post-checkout`, never prompts, and never turns a problem of daft's into a failed git
//! command unless the hook is one whose failure is a veto.

use std::io::Read as _;
use std::sync::Arc;

use anyhow::Result;
use camino::Utf8Path;

use crate::cli::HookArgs;
use crate::config::Sources;
use crate::event::{self, Worktree};
use crate::job::Context;
use crate::printer::Printer;
use crate::trust::{self, Store};
use crate::{install, runner, runs, sys};

pub(crate) fn run(args: &HookArgs) -> u8 {
    sys::cloexec_inherited_fds();
    let printer = Arc::new(Printer::stderr());
    match handle(args, &printer) {
        Ok(code) => code,
        Err(err) => {
            printer.warn(&format!("{err:#}"));
            if event::can_veto(&args.name) {
                printer.notice(&format!("the {} hook fails because daft could not run its jobs (git's --no-verify skips hooks)", args.name));
                1
            } else {
                0
            }
        }
    }
}

fn handle(args: &HookArgs, printer: &Arc<Printer>) -> Result<u8> {
    let hook = args.name.as_str();
    let cwd = super::current_dir()?;
    let stdin = if event::reads_stdin(hook) {
        let mut data = Vec::new();
        std::io::stdin().read_to_end(&mut data)?;
        Some(data)
    } else {
        None
    };

    if let Some(code) = install::run_previous(hook, &args.args, stdin.as_deref(), &cwd)?
        && code != 0
    {
        printer.notice(&format!(
            "the previous {hook} hook exited {code}; daft's jobs did not run"
        ));
        return Ok(u8::try_from(code).unwrap_or(1));
    }

    // Git runs hooks at the work tree root, so the config is looked up right here.
    let sources = match Sources::find(&cwd) {
        Ok(Some(sources)) => sources,
        Ok(None) => return Ok(0),
        Err(err) => {
            printer.warn(&format!("{err}; no jobs ran"));
            return Ok(0);
        }
    };
    // Background jobs only ever ran where there is a config: say if one failed since last time.
    if let Ok(common_dir) = Worktree::common_dir_of(&cwd) {
        tell_background_failures(&common_dir, &cwd, printer);
    }
    let creates =
        hook == event::POST_CHECKOUT && args.args.first().is_some_and(|old| event::is_null_id(old));
    let wanted = if creates {
        [event::WORKTREE_POST_CREATE, event::POST_CLONE]
    } else {
        [hook, hook]
    };
    // A config can only configure an event it names; most checkouts stop here, unparsed.
    if !wanted.iter().any(|name| sources.mention(name)) {
        return Ok(0);
    }
    let config = match sources.parse() {
        Ok(config) => config,
        Err(err) => {
            printer.warn(&format!("{err}"));
            printer.notice("no jobs ran; fix the config (`daft validate` checks it)");
            return Ok(0);
        }
    };
    if wanted.iter().all(|name| config.event(name).is_none()) {
        return Ok(0);
    }

    let wt = Worktree::open(&cwd)?;
    let event_name = event::detect(hook, &args.args, || Ok(wt.linked))?;
    let Some(event) = config.event(&event_name) else {
        return Ok(0);
    };

    let fingerprint = trust::Fingerprint::of(&sources);
    let status = Store::new(&wt.common_dir).status(&fingerprint);
    if status != trust::Status::Trusted {
        let why = match &status {
            trust::Status::Unreadable(reason) => {
                format!("the trust store is unreadable ({reason})")
            }
            trust::Status::Changed => format!(
                "{} changed since it was trusted",
                file_name(&sources.main.path)
            ),
            _ => format!("{} is not trusted yet", file_name(&sources.main.path)),
        };
        printer.notice(&format!(
            "{why}; no jobs ran. Review and trust it: cd {} && daft trust",
            wt.root
        ));
        return Ok(0);
    }

    let ctx = Context {
        event: event_name,
        details: wt.details()?,
        worktree: wt.root,
        common_dir: wt.common_dir,
        hook_args: args.args.clone(),
    };
    runner::run(ctx, event.clone(), stdin, printer)
}

/// Says, once, which background jobs of this worktree failed since daft last spoke here.
pub(crate) fn tell_background_failures(
    common_dir: &Utf8Path,
    worktree: &Utf8Path,
    printer: &Printer,
) {
    for failure in runs::take_failures(common_dir, worktree) {
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

fn file_name(path: &Utf8Path) -> &str {
    path.file_name().unwrap_or(path.as_str())
}
