//! `daft install` and `daft uninstall`.

use std::path::Path;

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
    if args.global {
        println!("daft: next: in a repository with a daft.yml, review it with `daft trust`");
    } else {
        println!(
            "daft: next: review this repository's daft.yml with `daft trust`, then `git worktree add ../feature -b feature`"
        );
    }
    Ok(0)
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
