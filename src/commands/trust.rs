//! `daft trust` and `daft untrust`: the user reviews the config exactly as it will run, daft
//! records its hash, and git's hooks are told which events this clone now uses.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Result;

use crate::cli::TrustArgs;
use crate::config::Sources;
use crate::error::usage;
use crate::event::Worktree;
use crate::trust::{Fingerprint, Status, Store};

fn found() -> Result<(Worktree, Sources)> {
    let (wt, sources) = super::here()?;
    let Some(sources) = sources else {
        usage!(
            "no daft.yml in {}; nothing to trust",
            crate::escape::text(wt.root.as_str())
        );
    };
    Ok((wt, sources))
}

pub(crate) fn trust(args: &TrustArgs) -> Result<u8> {
    let (wt, sources) = found()?;
    let store = Store::new(wt.common_dir.as_std_path());
    let fingerprint = Fingerprint::of(&sources);
    let status = store.status(&fingerprint);
    if args.status {
        println!(
            "{}: {} ({})",
            sources.main.shown(),
            status.word(),
            crate::trust::short(&fingerprint)
        );
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
        return Ok(0);
    }
    // Trusting a config that cannot run helps no one; say what is wrong first.
    sources.parse()?;
    let review = crate::review::render(&sources, store.last_trusted_config().as_deref());
    print!("{}", crate::printer::for_terminal(&review));
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            usage!(
                "not trusting without a terminal to ask on; review {} and run `daft trust --yes`",
                sources.main.shown()
            );
        }
        print!("Trust this config to run in every worktree of this clone? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            println!("not trusted; no jobs will run until you trust it");
            return Ok(1);
        }
    }
    store.trust(&sources)?;
    println!(
        "trusted {} ({})",
        sources.main.shown(),
        crate::trust::short(&fingerprint)
    );
    crate::install::events::refresh(&wt.repo)?;
    Ok(0)
}

pub(crate) fn untrust() -> Result<u8> {
    let (wt, sources) = found()?;
    if Store::new(wt.common_dir.as_std_path()).untrust(&Fingerprint::of(&sources))? {
        println!("{} is no longer trusted", sources.main.shown());
    } else {
        println!("{} was not trusted; nothing to do", sources.main.shown());
    }
    crate::install::events::refresh(&wt.repo)?;
    Ok(0)
}
