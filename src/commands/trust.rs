//! `daft trust` and `daft untrust`: the user reviews the config exactly as it will run, daft
//! records its hash, and git's hooks are told which events this clone now uses. Worktrees
//! whose setup is owed under the config just trusted — made while it was untrusted, or that
//! no hook announced — are named and set up (on a terminal after asking; `--yes` answers).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::TrustArgs;
use crate::config::Sources;
use crate::error::usage;
use crate::escape::shell_quote;
use crate::event::Event;
use crate::printer::Printer;
use crate::repo::Repo;
use crate::resolve::{self, Resolution};
use crate::runner::{self, Ran};
use crate::setup::{self, Standing, When};
use crate::trust::{Fingerprint, Status, Store};
use crate::worktree::Worktree;

fn found() -> Result<(Worktree, Sources)> {
    let (wt, sources) = super::here()?;
    let Some(sources) = sources else {
        usage!(
            "no daft.yml in {}; nothing to trust. `daft init` writes a starter one from what the repository holds",
            crate::escape::text(wt.root.as_str())
        );
    };
    Ok((wt, sources))
}

pub(crate) fn trust(args: &TrustArgs) -> Result<u8> {
    let printer = Arc::new(Printer::stderr());
    let (wt, sources) = found()?;
    let store = Store::new(&wt.state());
    let fingerprint = Fingerprint::of(&sources);
    let status = store.status(&fingerprint);
    if args.status {
        let short = crate::trust::short(&fingerprint);
        match &status {
            Status::Changed => println!(
                "{}: changed ({short}): an earlier version was trusted, not this one; `daft trust` shows what changed",
                sources.main.shown()
            ),
            status => println!("{}: {} ({short})", sources.main.shown(), status.word()),
        }
        if let Status::Unreadable(reason) = &status {
            println!(
                "  {}; `daft trust` sets the unreadable store aside and starts a new one",
                crate::escape::text(reason)
            );
        }
        return Ok(u8::from(status != Status::Trusted));
    }
    // Another user's repository: nothing is trusted there, as git would not work in it.
    wt.repo.check_owner()?;
    if status == Status::Trusted {
        println!("{} is already trusted", sources.main.shown());
        crate::install::events::refresh(&wt.repo)?;
        return set_up_pending(&wt, &fingerprint, args.yes, &printer);
    }
    // Trusting a config that cannot run helps no one; say what is wrong first (and let the
    // hooks say it too).
    if let Err(err) = sources.parse() {
        store.note_invalid(&fingerprint);
        return Err(err.into());
    }
    let review = crate::review::render(&sources, store.last_trusted_config().as_deref());
    print!("{}", crate::printer::for_terminal(&review));
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            usage!(
                "not trusting without a terminal to ask on; review {} and run `daft trust --yes`",
                sources.main.shown()
            );
        }
        if !ask("Trust this config to run in every worktree of this clone?")? {
            println!("not trusted; no jobs will run until you trust it");
            return Ok(1);
        }
    }
    let (_, note) = store.trust(&sources)?;
    if let Some(note) = note {
        printer.notice(&note);
    }
    println!(
        "trusted {} ({})",
        sources.main.shown(),
        crate::trust::short(&fingerprint)
    );
    if !crate::untracked::config_committed(wt.root.as_std_path()) {
        printer.notice(&format!(
            "{} is not committed: new worktrees are made from commits, so they get it once it is (`git add {} && git commit`)",
            sources.main.shown(),
            sources.file_name()
        ));
    }
    crate::install::events::refresh(&wt.repo)?;
    set_up_pending(&wt, &fingerprint, args.yes, &printer)
}

fn ask(question: &str) -> Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// The worktrees of the clone whose setup is pending under the config `fingerprint`, with
/// why each is owed.
fn pending(wt: &Worktree, fingerprint: &Fingerprint) -> Vec<(Repo, PathBuf, Standing)> {
    let state = wt.state();
    let mut out = Vec::new();
    for (_, path) in crate::worktree::linked(wt.common_dir.as_std_path()) {
        let Some(path) = path.filter(|p| p.join(".git").exists()) else {
            continue;
        };
        let Ok(repo) = Repo::discover(&path) else {
            continue;
        };
        let Ok(checked) = resolve::check(&repo, Some(Event::WorktreePostCreate)) else {
            continue;
        };
        if checked.trusted.fingerprint() != fingerprint
            || checked.config.event(Event::WorktreePostCreate).is_none()
        {
            continue;
        }
        let Ok(identity) = crate::worktree::Identity::of(&repo) else {
            continue;
        };
        let standing = setup::standing(&state, &identity, true);
        if matches!(standing, Standing::Pending(_)) {
            out.push((repo, path, standing));
        }
    }
    out
}

/// Sets up the worktrees whose setup is owed under the config just trusted (asking first on a
/// terminal, unless `yes`), each detached: `daft hooks wait` there follows it.
fn set_up_pending(
    wt: &Worktree,
    fingerprint: &Fingerprint,
    yes: bool,
    printer: &Arc<Printer>,
) -> Result<u8> {
    let pending = pending(wt, fingerprint);
    if pending.is_empty() {
        return Ok(0);
    }
    println!(
        "{} worktree{} of this clone {} never set up:",
        pending.len(),
        if pending.len() == 1 { "" } else { "s" },
        if pending.len() == 1 { "was" } else { "were" }
    );
    for (_, path, standing) in &pending {
        println!(
            "  {} ({})",
            crate::escape::text(&path.to_string_lossy()),
            standing
                .describe()
                .trim_start_matches("its setup is pending: ")
        );
    }
    let go = yes || (std::io::stdin().is_terminal() && ask("Run their setup now?")?);
    if !go {
        println!("not set up; `daft hooks wait` in a worktree runs its setup");
        return Ok(0);
    }
    for (repo, path, _) in pending {
        let plan = match resolve::resolve(&repo, Event::WorktreePostCreate, &[])? {
            Resolution::Ready(plan) => plan,
            Resolution::Refused(refusal) => {
                printer.notice(&refusal.message);
                continue;
            }
            Resolution::Nothing(_) => continue,
        };
        match runner::start_detached(*plan, printer, When::Owed)? {
            Ran::Code(_) => println!(
                "setting up {} in the background; follow it: cd {} && daft hooks wait",
                crate::escape::text(&path.to_string_lossy()),
                shell_quote(&path)
            ),
            Ran::SetupStarted(_) => println!(
                "{} is being set up already",
                crate::escape::text(&path.to_string_lossy())
            ),
        }
    }
    Ok(0)
}

pub(crate) fn untrust() -> Result<u8> {
    let (wt, sources) = found()?;
    if Store::new(&wt.state()).untrust(&Fingerprint::of(&sources))? {
        println!("{} is no longer trusted", sources.main.shown());
    } else {
        println!("{} was not trusted; nothing to do", sources.main.shown());
    }
    crate::install::events::refresh(&wt.repo)?;
    Ok(0)
}
