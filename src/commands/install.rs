//! `daft install` and `daft uninstall`.

use anyhow::{Context as _, Result};

use crate::cli::InstallArgs;
use crate::install::{self, Target};

fn target(args: &InstallArgs) -> Result<Target> {
    if args.global {
        return Target::global();
    }
    let path = match &args.path {
        Some(path) => path.clone(),
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
    let target = target(args)?;
    let bin = std::env::current_exe().context("cannot find daft's own executable")?;
    for line in install::install(&target, &bin)? {
        println!("daft: {line}");
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

pub(crate) fn uninstall(args: &InstallArgs) -> Result<u8> {
    let target = target(args)?;
    for line in install::uninstall(&target)? {
        println!("daft: {line}");
    }
    Ok(0)
}
