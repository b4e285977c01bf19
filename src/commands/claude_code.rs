//! `daft claude-code`: the command Claude Code's `WorktreeCreate` and `WorktreeRemove` hooks
//! run (<https://code.claude.com/docs/en/hooks>). Claude Code gives the hook a JSON object on
//! stdin and, for `WorktreeCreate`, leaves the making of the worktree to it and reads its
//! absolute path from stdout — nothing else may be printed there. daft makes it as Claude Code
//! would (`.claude/worktrees/<name>` in the main worktree, branch `worktree-<name>`), through
//! `git worktree add`, so the setup runs from git's hook exactly as for any worktree; on
//! `WorktreeRemove` it removes the worktree as `daft remove --force` does, teardown included.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::cli::{RemoveArgs, StartArgs};
use crate::error::usage;

/// The fields of Claude Code's hook input daft reads; the others are left alone.
#[derive(Debug, serde::Deserialize)]
struct Input {
    hook_event_name: String,
    /// `WorktreeCreate`: the worktree's name (`worktree_name` in some releases).
    #[serde(alias = "worktree_name")]
    name: Option<String>,
    /// `WorktreeRemove`: the worktree to remove.
    worktree_path: Option<PathBuf>,
    /// The session's directory: the repository the worktree belongs to.
    cwd: Option<PathBuf>,
}

pub(crate) fn run() -> Result<u8> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read Claude Code's hook input on stdin")?;
    let input: Input = serde_json::from_str(&text).context(
        "stdin is not Claude Code's hook input (a JSON object with hook_event_name); this command is for its WorktreeCreate and WorktreeRemove hooks",
    )?;
    if let Some(cwd) = input.cwd.as_ref().filter(|c| c.is_dir()) {
        std::env::set_current_dir(cwd)
            .with_context(|| format!("cannot enter {}", cwd.display()))?;
    }
    match input.hook_event_name.as_str() {
        "WorktreeCreate" => create(input.name.as_deref().unwrap_or_default()),
        "WorktreeRemove" => {
            let Some(path) = input.worktree_path else {
                usage!("Claude Code's WorktreeRemove input has no worktree_path");
            };
            super::remove::remove(&RemoveArgs {
                worktree: path,
                force: true,
                prepare: false,
            })
        }
        other => usage!(
            "`daft claude-code` is for the WorktreeCreate and WorktreeRemove hooks, not {}",
            crate::escape::text(other)
        ),
    }
}

/// Makes worktree `name` where Claude Code would, and prints its path (alone) on stdout.
fn create(name: &str) -> Result<u8> {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches(['.', '-']);
    if name.is_empty() {
        usage!("Claude Code's WorktreeCreate input has no usable name");
    }
    let cwd = super::current_dir()?;
    let wt = crate::worktree::Worktree::open(&cwd)?;
    let main = wt
        .details()
        .ok()
        .and_then(|d| d.main_worktree)
        .unwrap_or_else(|| wt.root.clone());
    // Inside the repository, where a branch may have committed a link: made as real
    // directories, never through one.
    let parent = real_dirs(main.as_std_path(), &[".claude", "worktrees"])?;
    if std::fs::symlink_metadata(parent.join(name)).is_ok_and(|m| m.file_type().is_symlink()) {
        usage!(
            "{} is a symlink; daft makes no worktree through one",
            crate::escape::shell_quote(&parent.join(name))
        );
    }
    super::start::start(&StartArgs {
        branch: format!("worktree-{name}"),
        path: Some(parent.join(name)),
    })
}

/// `root/a/b…`, each directory made where missing and none of them a symlink: an error that
/// names the link otherwise.
fn real_dirs(root: &std::path::Path, parts: &[&str]) -> Result<std::path::PathBuf> {
    let mut at = root.to_owned();
    for part in parts {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => usage!(
                "{} is a symlink (to {}), and daft makes worktrees only in real directories inside the repository; remove the link (was it committed by a branch?)",
                crate::escape::shell_quote(&at),
                std::fs::read_link(&at)
                    .map_or_else(|_| "?".into(), |to| crate::escape::shell_quote(&to))
            ),
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => usage!("{} is not a directory", crate::escape::shell_quote(&at)),
            Err(_) => match std::fs::create_dir(&at) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    // Made meanwhile: looked at again, never followed.
                    let meta = std::fs::symlink_metadata(&at)?;
                    if !meta.is_dir() {
                        usage!(
                            "{} appeared as something else than a directory",
                            crate::escape::shell_quote(&at)
                        );
                    }
                }
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot create {}", at.display()));
                }
            },
        }
    }
    Ok(at)
}
