//! `daft install` and `daft uninstall`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::cli::{InstallArgs, UninstallArgs};
use crate::install::{self, Target};

fn target(global: bool, path: Option<&Path>) -> Result<Target> {
    if global {
        return Target::global();
    }
    let path = match path {
        Some(path) => path.to_owned(),
        None => std::env::current_dir()?,
    };
    if !path.is_dir() {
        crate::error::usage!(
            "{} is not a directory; give the path of a git repository",
            path.display()
        );
    }
    Target::repo(&path)
}

pub(crate) fn install(args: &InstallArgs) -> Result<u8> {
    let target = target(args.global, args.path.as_deref())?;
    let (mode, why) = install::choose_mode(args.mode)?;
    let bin = std::env::current_exe().context("cannot find daft's own executable")?;
    let report = install::install(&target, &bin, mode, why)?;
    for line in &report.lines {
        println!(
            "daft: {}",
            crate::printer::for_terminal(&crate::escape::text(line))
        );
    }
    if report.shadowed {
        return Ok(1);
    }
    println!("daft: next: {}", next_step(args));
    Ok(0)
}

/// What to do after an install, for the repository as it is: write a config, commit it,
/// trust it, or make a worktree.
fn next_step(args: &InstallArgs) -> &'static str {
    if args.global {
        return "in a repository, `daft init` writes a daft.yml if it has none; commit it, and `daft trust` lets it run";
    }
    let dir = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let Ok(repo) = crate::repo::Repo::discover(&dir) else {
        return "review this repository's daft.yml with `daft trust`";
    };
    let committed = repo
        .work_tree
        .as_deref()
        .is_some_and(crate::untracked::config_committed);
    match (crate::resolve::check(&repo, None), committed) {
        (Err(crate::resolve::Resolution::Nothing(crate::resolve::Absent::NoConfig)), _) => {
            "this repository has no daft.yml: `daft init` writes one from what it holds; commit it, `daft trust`, then `git worktree add ../feature -b feature`"
        }
        (_, false) => {
            "commit daft.yml (new worktrees are made from commits), `daft trust` it, then `git worktree add ../feature -b feature`"
        }
        (Ok(_), true) => "its daft.yml is trusted: `git worktree add ../feature -b feature`",
        (Err(_), true) => {
            "review this repository's daft.yml with `daft trust`, then `git worktree add ../feature -b feature`"
        }
    }
}

pub(crate) fn uninstall(args: &UninstallArgs) -> Result<u8> {
    let target = target(args.global, args.path.as_deref())?;
    for line in install::uninstall(&target)?.lines {
        println!(
            "daft: {}",
            crate::printer::for_terminal(&crate::escape::text(&line))
        );
    }
    Ok(0)
}
