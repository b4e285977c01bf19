//! `daft trust` and `daft untrust`: the user reviews the config, daft records its hash.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::{Context as _, Result};

use crate::cli::TrustArgs;
use crate::config::Sources;
use crate::error::usage;
use crate::event::Worktree;
use crate::trust::{Fingerprint, Status, Store};

fn found() -> Result<(Worktree, Sources)> {
    let (wt, sources) = super::here()?;
    let Some(sources) = sources else {
        usage!("no daft.yml in {}; nothing to trust", wt.root);
    };
    Ok((wt, sources))
}

pub(crate) fn trust(args: &TrustArgs) -> Result<u8> {
    let (wt, sources) = found()?;
    let store = Store::new(&wt.common_dir);
    let fingerprint = Fingerprint::of(&sources);
    let status = store.status(&fingerprint);
    if args.status {
        println!(
            "{}: {} ({})",
            sources.main.path,
            status.word(),
            crate::trust::short(&fingerprint)
        );
        if let Status::Unreadable(reason) = &status {
            println!(
                "  {reason}; `daft trust` sets the unreadable store aside and starts a new one"
            );
        }
        return Ok(u8::from(status != Status::Trusted));
    }
    if status == Status::Trusted {
        println!("{} is already trusted", sources.main.path);
        return Ok(0);
    }
    // Trusting a config that cannot run helps no one; say what is wrong first.
    sources.parse()?;
    show(&store, &sources)?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            usage!(
                "not trusting without a terminal to ask on; review {} and run `daft trust --yes`",
                sources.main.path
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
        sources.main.path,
        crate::trust::short(&fingerprint)
    );
    Ok(0)
}

/// Prints the config, or what changed since the last trusted version.
fn show(store: &Store, sources: &Sources) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match store.last_trusted_config() {
        Some(old) if old != sources.main.bytes => {
            writeln!(
                out,
                "{} changed since it was last trusted:",
                sources.main.path
            )?;
            out.flush()?;
            let old_file =
                std::env::temp_dir().join(format!("daft-trusted-{}.yml", std::process::id()));
            std::fs::write(&old_file, &old)?;
            let diff = std::process::Command::new("git")
                .args(["--no-pager", "diff", "--no-index", "--no-ext-diff", "--"])
                .arg(&old_file)
                .arg(&sources.main.path)
                .status();
            let _ = std::fs::remove_file(&old_file);
            diff.context("cannot run git diff")?;
        }
        _ => {
            writeln!(out, "── {} ──", sources.main.path)?;
            out.write_all(&sources.main.bytes)?;
        }
    }
    if let Some(local) = &sources.local {
        writeln!(out, "── {} (local overrides) ──", local.path)?;
        out.write_all(&local.bytes)?;
    }
    writeln!(out)?;
    Ok(())
}

pub(crate) fn untrust() -> Result<u8> {
    let (wt, sources) = found()?;
    if Store::new(&wt.common_dir).untrust(&Fingerprint::of(&sources))? {
        println!("{} is no longer trusted", sources.main.path);
    } else {
        println!("{} was not trusted; nothing to do", sources.main.path);
    }
    Ok(0)
}
