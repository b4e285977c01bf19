//! What a shell's completion asks daft at each Tab (`COMPLETE=<shell> daft …`, through
//! `clap_complete`'s engine), looked up in the repository the user is in: job names for `log
//! show`, `cancel`, `wait` and `--job`, event names for `hooks run`, branches for `start`,
//! worktrees that exist for `remove`. Quiet: completion never prints an error.

use std::collections::BTreeSet;

use clap_complete::engine::CompletionCandidate;

use crate::event::Event;
use crate::worktree::Worktree;

/// The worktree around the current directory, quietly.
fn here() -> Option<Worktree> {
    Worktree::open(&std::env::current_dir().ok()?).ok()
}

/// The config of `wt`, parsed, if it can be (completion only reads it).
fn config(wt: &Worktree) -> Option<crate::config::Config> {
    crate::config::Sources::find(wt.root.as_std_path())
        .ok()
        .flatten()?
        .parse()
        .ok()
}

/// Job names: those of this worktree's runs, and those its config names.
pub(crate) fn job_names() -> Vec<CompletionCandidate> {
    let Some(wt) = here() else {
        return Vec::new();
    };
    let mut names: BTreeSet<String> = crate::runs::list(&wt.state().worktree(&wt.identity.id))
        .iter()
        .flat_map(|run| run.meta.jobs.clone())
        .collect();
    for event in config(&wt).iter().flat_map(|config| config.events.values()) {
        names.extend(event.jobs.iter().map(|job| job.name.clone()));
    }
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// Event names: those the config has jobs for, else every event daft knows.
pub(crate) fn event_names() -> Vec<CompletionCandidate> {
    let configured: Vec<Event> = here()
        .and_then(|wt| config(&wt))
        .map(|config| config.events.keys().copied().collect())
        .unwrap_or_default();
    let names: Vec<Event> = if configured.is_empty() {
        Event::all().collect()
    } else {
        configured
    };
    names
        .into_iter()
        .map(|event| CompletionCandidate::new(event.name()))
        .collect()
}

/// Branches, local and remote-tracking, for `daft start`.
pub(crate) fn branches() -> Vec<CompletionCandidate> {
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    let Ok(list) = crate::git::output(
        &cwd,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/heads",
            "refs/remotes",
        ],
    ) else {
        return Vec::new();
    };
    let mut names = BTreeSet::new();
    for name in list.lines() {
        // refs/remotes/origin/feature → feature: `daft start` finds it by its short name.
        let short = match name.strip_prefix("refs/heads/") {
            Some(local) => Some(local),
            None => name
                .strip_prefix("refs/remotes/")
                .and_then(|remote| remote.split_once('/'))
                .map(|(_, rest)| rest)
                .filter(|rest| *rest != "HEAD"),
        };
        names.extend(short.map(str::to_owned));
    }
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// The linked worktrees of this clone that exist, for `daft remove`.
pub(crate) fn worktree_paths() -> Vec<CompletionCandidate> {
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    let Ok(list) = crate::git::output(&cwd, &["worktree", "list", "--porcelain"]) else {
        return Vec::new();
    };
    list.lines()
        .filter_map(|line| line.strip_prefix("worktree "))
        .skip(1) // the main worktree is not removed
        .filter(|path| std::path::Path::new(path).join(".git").exists())
        .map(CompletionCandidate::new)
        .collect()
}
