//! `daft start <branch> [path]`: `git worktree add` at a sibling path (a new branch if it does
//! not exist), through plain git, so the hooks fire exactly as they do for `git worktree
//! add`. A branch that has a worktree already is where the user goes instead, as `git switch`
//! goes to a branch that exists.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, Result};

use crate::cli::StartArgs;
use crate::error::usage;
use crate::git;
use crate::printer::Printer;
use crate::worktree::Worktree;

pub(crate) fn start(args: &StartArgs) -> Result<u8> {
    if args.branch.trim().is_empty() {
        usage!("give the branch to work on: daft start <branch> [path]");
    }
    let cwd = super::current_dir()?;
    let wt = Worktree::open(&cwd)?;
    if let Some(path) = worktree_of_branch(&cwd, &args.branch)? {
        Printer::stderr().notice(&format!(
            "{} has a worktree already; there it is",
            crate::escape::text(&args.branch)
        ));
        println!("{}", path.display());
        super::shell_init::change_directory(&path);
        return Ok(0);
    }
    let anchor = wt
        .details()
        .ok()
        .and_then(|d| d.main_worktree)
        .unwrap_or_else(|| wt.root.clone());
    let path = args.path.clone().unwrap_or_else(|| {
        let repo = anchor.file_name().unwrap_or("repo");
        let parent = anchor.parent().unwrap_or(&anchor);
        parent
            .join(format!("{repo}.{}", args.branch.replace('/', "-")))
            .into_std_path_buf()
    });
    let exists = |reference: &str| {
        git::output(&cwd, &["rev-parse", "--verify", "--quiet", reference]).is_ok()
    };
    let mut cmd = git::command(&cwd);
    cmd.args(["worktree", "add"]);
    let local = exists(&format!("refs/heads/{}", args.branch));
    let remote = !local
        && git::output(
            &cwd,
            &[
                "for-each-ref",
                "--format=%(refname)",
                &format!("refs/remotes/*/{}", args.branch),
            ],
        )
        .is_ok_and(|refs| !refs.is_empty());
    if local || remote {
        cmd.arg(&path).arg(&args.branch);
    } else {
        cmd.arg("-b").arg(&args.branch).arg(&path);
    }
    // stdout is the worktree's path alone (for scripts); what git says goes to stderr.
    let git_says = std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned()?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(git_says)
        .status()
        .context("could not run git; is it installed and on PATH?")?;
    if status.success() {
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        println!("{}", path.display());
        super::shell_init::change_directory(&path);
    }
    Ok(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)))
}

/// The worktree of the clone around `dir` that has `branch` checked out, if one has.
pub(crate) fn worktree_of_branch(dir: &Path, branch: &str) -> Result<Option<PathBuf>> {
    let list = git::output(dir, &["worktree", "list", "--porcelain"])?;
    let wanted = format!("branch refs/heads/{branch}");
    let mut path = None;
    for line in list.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if line == wanted {
            return Ok(path.filter(|p| p.exists()));
        }
    }
    Ok(None)
}
