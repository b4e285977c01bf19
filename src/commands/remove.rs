//! `daft remove <worktree|branch> [--force]`: a worktree path (or any directory inside it) or
//! a branch checked out in one, from anywhere in the clone. git is asked first, the way it
//! will decide: when it would refuse, nothing runs and nothing is cancelled. Then the
//! worktree's `worktree-pre-remove` jobs run in it, its background jobs are cancelled, and
//! plain `git worktree remove` removes it; its teardown follows. With `--prepare` the tool
//! that calls daft removes it (an agent app's cleanup script, worktrunk's `pre-remove`): daft
//! does what comes before, and the teardown once the worktree is gone.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{Context as _, Result};

use crate::cli::RemoveArgs;
use crate::error::usage;
use crate::escape::shell_quote;
use crate::event::Event;
use crate::printer::Printer;
use crate::repo::Repo;
use crate::resolve::{self, Resolution};
use crate::runner::{self, Ran};
use crate::setup::When;
use crate::worktree::Worktree;
use crate::{git, removal};

pub(crate) fn remove(args: &RemoveArgs) -> Result<u8> {
    let printer = Arc::new(Printer::stderr());
    let path = target(&args.worktree)?;
    let wt = Worktree::open(&path)?;
    let root = wt.root.as_std_path().to_owned();
    // Run git from the main worktree (or the common dir): the worktree being removed may be
    // the current directory.
    let main = wt.details().ok().and_then(|d| d.main_worktree);
    let from = main.map_or_else(
        || PathBuf::from(wt.common_dir.as_str()),
        camino::Utf8PathBuf::into_std_path_buf,
    );
    if args.prepare {
        return prepare(&wt, &root, &printer);
    }
    refusal(&wt, &root, args.force)?;
    let code = pre_remove(&wt, &printer)?;
    if code != 0 {
        if !args.force {
            printer.notice(
                "worktree-pre-remove failed, so the worktree was kept; fix it, or remove it anyway with --force",
            );
            return Ok(code);
        }
        printer.notice("worktree-pre-remove failed; removing the worktree anyway (--force)");
    }
    for name in super::cancel::cancel_jobs(&wt, None, &printer)? {
        printer.notice(&format!("cancelled {name}"));
    }
    let mut cmd = git::command(&from);
    cmd.args(["worktree", "remove"]);
    if args.force {
        cmd.arg("--force");
    }
    let status = cmd
        .arg(&root)
        .stdin(Stdio::null())
        .status()
        .context("could not run git; is it installed and on PATH?")?;
    if status.success() {
        // Gone: its worktree-post-remove jobs, and its ports back.
        removal::tear_down(&wt.state(), &wt.identity.id, &printer)?;
        // A shell that was in it goes to the main worktree.
        if std::env::current_dir().is_err() || cwd_was_inside(&root) {
            super::shell_init::change_directory(&from);
        }
    }
    Ok(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)))
}

/// `--prepare`: `worktree-pre-remove` now (a failure is the caller's to weigh: exit 1), the
/// background jobs cancelled, and a detached watch that runs the teardown, once, as soon as
/// the caller has removed the worktree — however it does (`git worktree remove`, `rm -rf`, a
/// rename into its trash and `git worktree prune`).
fn prepare(wt: &Worktree, root: &Path, printer: &Arc<Printer>) -> Result<u8> {
    if !wt.repo.is_linked() {
        usage!(
            "{} is the main worktree, which no tool removes; name a linked worktree",
            shell_quote(root)
        );
    }
    let code = pre_remove(wt, printer)?;
    if code != 0 {
        printer.notice(
            "worktree-pre-remove failed; the jobs keep running and nothing waits for a removal",
        );
        return Ok(code);
    }
    for name in super::cancel::cancel_jobs(wt, None, printer)? {
        printer.notice(&format!("cancelled {name}"));
    }
    // Announced: once it is missing it is gone, however it goes (even where daft cannot tell a
    // deletion from a move, on another file system than the clone).
    let state = wt.state();
    let dir = state.worktree(&wt.identity.id);
    std::fs::create_dir_all(dir.path())?;
    crate::files::write_atomically(dir.removing(), b"")?;
    removal::await_detached(&state, &wt.identity.id)?;
    printer.notice("ready to be removed; its worktree-post-remove jobs run once it is gone");
    Ok(0)
}

/// The worktree root that `arg` names: a directory in a worktree (`.`, `wt/src`), or a branch
/// checked out in a worktree of the clone the current directory is in.
fn target(arg: &Path) -> Result<PathBuf> {
    if let Ok(dir) = std::fs::canonicalize(arg) {
        let repo = Repo::discover(&dir)?;
        if let Some(root) = repo.work_tree {
            return Ok(std::fs::canonicalize(&root).unwrap_or(root));
        }
        usage!(
            "{} is a bare repository, not a worktree; name a worktree or its branch",
            shell_quote(arg)
        );
    }
    let name = arg.to_string_lossy();
    let cwd = super::current_dir()?;
    if let Some(path) = super::start::worktree_of_branch(&cwd, &name)? {
        return Ok(path);
    }
    usage!(
        "`{}` is neither a directory nor a branch checked out in a worktree; `git worktree list` shows the worktrees and their branches",
        crate::escape::text(&name)
    );
}

/// Whether the shell that started daft was in `path` (its `PWD`: ours is gone with it).
fn cwd_was_inside(path: &Path) -> bool {
    std::env::var_os("PWD").is_some_and(|pwd| Path::new(&pwd).starts_with(path))
}

/// Runs the worktree's `worktree-pre-remove` jobs in it, all while the user waits (nothing
/// may outlive the worktree). Returns their exit code: non-zero keeps the worktree.
fn pre_remove(wt: &Worktree, printer: &Arc<Printer>) -> Result<u8> {
    let mut plan = match resolve::resolve(&wt.repo, Event::WorktreePreRemove, &[])? {
        Resolution::Ready(plan) => plan,
        Resolution::Nothing(_) => return Ok(0),
        Resolution::Refused(refusal) => {
            printer.notice(&format!(
                "{}; the worktree's worktree-pre-remove jobs did not run",
                refusal.message
            ));
            return Ok(0);
        }
    };
    for job in &mut plan.event.jobs {
        job.background = false;
    }
    match runner::run(*plan, None, printer, When::Asked)? {
        Ran::Code(code) => Ok(code),
        Ran::SetupStarted(_) => Ok(0),
    }
}

/// Why `git worktree remove` would refuse `root`, checked the way git checks: not the main
/// worktree, not locked, its records consistent, and (without `--force`) no populated
/// submodule and no modified or untracked files.
fn refusal(wt: &Worktree, root: &Path, force: bool) -> Result<()> {
    let shown = shell_quote(root);
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
    let admin = wt.identity.admin.as_deref().unwrap_or_default();
    let recorded = crate::worktree::git_path(wt.common_dir.as_std_path(), admin);
    if recorded
        .as_deref()
        .and_then(|p| p.canonicalize().ok())
        .as_deref()
        != Some(root)
    {
        usage!(
            "git's records say this worktree is elsewhere (it was moved by hand), so git would refuse to remove it; nothing was changed. Run `git worktree repair` in it first"
        );
    }
    if !force {
        if wt.repo.git_dir.join("modules").is_dir() || populated_submodule(root) {
            usage!(
                "{shown} has submodules, which git will not remove with the worktree; nothing was changed. Use --force to remove them too"
            );
        }
        let status = git::output(root, &["status", "--porcelain", "--ignore-submodules=none"])?;
        if !status.is_empty() {
            usage!(
                "{shown} has modified or untracked files, so git would not remove it; nothing was changed. Commit or stash them, or use --force to delete them with the worktree"
            );
        }
    }
    Ok(())
}

/// Whether a submodule of the worktree at `root` is checked out (its directory has a `.git`).
fn populated_submodule(root: &Path) -> bool {
    let Ok(out) = git::output(root, &["ls-files", "--stage", "-z"]) else {
        return false;
    };
    out.split('\0')
        .filter_map(|line| line.strip_prefix("160000 "))
        .filter_map(|rest| rest.split_once('\t').map(|(_, path)| path))
        .any(|path| root.join(path).join(".git").exists())
}
