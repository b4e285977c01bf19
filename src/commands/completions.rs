//! `daft completions <shell>`: the script that gives a shell completions for daft. The
//! completions come from the clap definitions, through `clap_complete`'s engine: the script
//! asks `daft` itself (`COMPLETE=<shell> daft …`) at each tab, so what the user types most is
//! completed from the repository they are in — job names for `log show`, `cancel`, `wait` and
//! `--job`, event names for `hooks run`, worktrees for `remove`.

use std::collections::BTreeSet;

use anyhow::{Result, anyhow};
use clap_complete::engine::CompletionCandidate;

use crate::cli::CompletionsArgs;

pub(crate) fn run(args: &CompletionsArgs) -> Result<u8> {
    let name = args.shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let shell = shells
        .completer(&name)
        .ok_or_else(|| anyhow!("no completions for {name}"))?;
    shell.write_registration("COMPLETE", "daft", "daft", "daft", &mut std::io::stdout())?;
    Ok(0)
}

/// The worktree around the current directory, quietly: completion must never print errors.
fn here() -> Option<crate::event::Worktree> {
    crate::event::Worktree::open(&std::env::current_dir().ok()?).ok()
}

/// Job names: those of this worktree's runs, and those its config names.
pub(crate) fn job_names() -> Vec<CompletionCandidate> {
    let Some(wt) = here() else {
        return Vec::new();
    };
    let mut names: BTreeSet<String> = crate::runs::list(&wt.common_dir, &wt.identity.id)
        .iter()
        .flat_map(|run| run.meta.jobs.clone())
        .collect();
    if let Ok(Some(sources)) = crate::config::Sources::find(wt.root.as_std_path())
        && let Ok(config) = sources.parse()
    {
        for event in config.events.values() {
            names.extend(event.jobs.iter().map(|job| job.name.clone()));
        }
    }
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// Event names: those the config has jobs for, else every event daft knows.
pub(crate) fn event_names() -> Vec<CompletionCandidate> {
    let configured: Vec<String> = here()
        .and_then(|wt| {
            crate::config::Sources::find(wt.root.as_std_path())
                .ok()
                .flatten()
        })
        .and_then(|sources| sources.parse().ok())
        .map(|config| config.events.keys().cloned().collect())
        .unwrap_or_default();
    let names: Vec<String> = if configured.is_empty() {
        crate::event::DAFT_EVENTS
            .iter()
            .chain(crate::event::GIT_HOOKS.iter())
            .map(|name| (*name).to_owned())
            .collect()
    } else {
        configured
    };
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// The linked worktrees of this clone, for `daft remove`.
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
        .map(CompletionCandidate::new)
        .collect()
}
