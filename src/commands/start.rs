//! `daft start` and `daft remove`: adding and removing worktrees through plain git, so the
//! hooks fire exactly as they do for `git worktree add`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, Result};

use crate::cli::{RemoveArgs, StartArgs};
use crate::config::Sources;
use crate::error::usage;
use crate::escape::shell_quote;
use crate::event::{self, Worktree};
use crate::git;
use crate::job::Context;
use crate::printer::Printer;
use crate::trust::{Fingerprint, Status, Store};

pub(crate) fn start(args: &StartArgs) -> Result<u8> {
    if args.branch.trim().is_empty() {
        usage!("give the branch to work on: daft start <branch> [path]");
    }
    let cwd = super::current_dir()?;
    let wt = Worktree::open(&cwd)?;
    let main = wt.details().map(|d| d.main_worktree).unwrap_or_default();
    let anchor = if main.is_empty() {
        wt.root.clone()
    } else {
        main.into()
    };
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
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .context("could not run git")?;
    if status.success() {
        println!("{}", path.display());
        super::shell_init::change_directory(&path);
    }
    Ok(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)))
}

pub(crate) fn remove(args: &RemoveArgs) -> Result<u8> {
    let path = std::fs::canonicalize(&args.worktree).with_context(|| {
        format!(
            "{} does not exist; `git worktree list` shows the worktrees",
            args.worktree.display()
        )
    })?;
    let wt = Worktree::open(&path)?;
    // Run git from the main worktree (or the common dir): the worktree being removed may be
    // the current directory.
    let main = wt.details().map(|d| d.main_worktree).unwrap_or_default();
    let from = if main.is_empty() {
        PathBuf::from(wt.common_dir.as_str())
    } else {
        PathBuf::from(main)
    };
    // Nothing changes (no job cancelled) when git would refuse the removal anyway.
    refusal(&wt, &path, args.force)?;
    let code = pre_remove(&wt)?;
    if code != 0 {
        if !args.force {
            eprintln!(
                "daft: worktree-pre-remove failed, so the worktree was kept; fix it, or remove it anyway with --force"
            );
            return Ok(code);
        }
        eprintln!("daft: worktree-pre-remove failed; removing the worktree anyway (--force)");
    }
    for name in super::cancel::cancel_jobs(&wt, None)? {
        println!("cancelled {name}");
    }
    let mut cmd = git::command(&from);
    cmd.args(["worktree", "remove"]);
    if args.force {
        cmd.arg("--force");
    }
    let status = cmd
        .arg(&path)
        .stdin(Stdio::null())
        .status()
        .context("could not run git")?;
    if status.success() {
        // Gone: its worktree-post-remove jobs, and its ports back.
        crate::removal::tear_down(wt.common_dir.as_std_path(), &wt.identity.id)?;
        // A shell that was in it goes to the main worktree.
        if std::env::current_dir().is_err() || cwd_was_inside(&path) {
            super::shell_init::change_directory(&from);
        }
    }
    Ok(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)))
}

/// Whether the shell that started daft was in `path` (its `PWD`: ours is gone with it).
fn cwd_was_inside(path: &Path) -> bool {
    std::env::var_os("PWD").is_some_and(|pwd| Path::new(&pwd).starts_with(path))
}

/// Runs the worktree's `worktree-pre-remove` jobs in it, all while the user waits (nothing
/// may outlive the worktree). Returns their exit code: non-zero keeps the worktree.
fn pre_remove(wt: &Worktree) -> Result<u8> {
    let Some(sources) = Sources::find(wt.root.as_std_path())? else {
        return Ok(0);
    };
    if !sources.mention(event::WORKTREE_PRE_REMOVE) {
        return Ok(0);
    }
    let printer = std::sync::Arc::new(Printer::stderr());
    wt.repo.check_owner()?;
    let status = Store::new(wt.common_dir.as_std_path()).status(&Fingerprint::of(&sources));
    if status != Status::Trusted {
        printer.notice(&format!(
            "{} is {}; its worktree-pre-remove jobs did not run",
            sources.file_name(),
            status.word()
        ));
        return Ok(0);
    }
    let config = sources.parse()?;
    let Some(event) = config.event(event::WORKTREE_PRE_REMOVE) else {
        return Ok(0);
    };
    let mut event = event.clone();
    for job in &mut event.jobs {
        job.background = false;
    }
    let ctx = Context::new(
        event::WORKTREE_PRE_REMOVE.to_owned(),
        wt.clone(),
        Vec::new(),
        &config,
    )?;
    crate::runner::run(ctx, event, None, &printer)
}

/// Why `git worktree remove` would refuse `path`, checked the way git checks: not the main
/// worktree, not locked, and (without `--force`) no modified or untracked files.
fn refusal(wt: &Worktree, path: &Path, force: bool) -> Result<()> {
    let shown = shell_quote(path);
    if !wt.repo.is_linked() {
        usage!("{shown} is the main worktree; git removes only linked worktrees");
    }
    let locked = wt.repo.git_dir.join("locked");
    if locked.exists() {
        let reason = std::fs::read_to_string(&locked).unwrap_or_default();
        let reason = reason.trim();
        usage!(
            "{shown} is locked{}; nothing was changed. Unlock it first: git worktree unlock {shown}",
            if reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", crate::escape::text(reason))
            }
        );
    }
    if !force {
        let status = git::output(path, &["status", "--porcelain", "--ignore-submodules=none"])?;
        if !status.is_empty() {
            usage!(
                "{shown} has modified or untracked files, so git would not remove it; nothing was changed. Commit or stash them, or use --force to delete them with the worktree"
            );
        }
    }
    Ok(())
}
