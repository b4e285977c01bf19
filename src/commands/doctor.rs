//! `daft doctor`: will git call daft here, and if not, why and what to do. It only reads.
//! Exit 0 when all is well, 1 otherwise.

use anyhow::Result;

use crate::config::Sources;
use crate::escape;
use crate::event::Event;
use crate::install::status::{self, Finding};
use crate::install::{Mode, events};
use crate::printer::for_terminal;
use crate::repo::Repo;
use crate::setup::{self, Standing};
use crate::state::State;
use crate::trust::{Fingerprint, Status, Store};

pub(crate) fn run() -> Result<u8> {
    let repo = Repo::discover(&super::current_dir()?)?;
    let mut findings = status::check(&repo);
    let mode = events::install_in_effect(&repo).map(|(_, record)| record.mode);
    findings.extend(config(&repo));
    findings.extend(setup(&repo));
    let managers = managers(&repo);
    let mut problems = 0;
    for finding in &findings {
        let mark = if finding.ok { "ok " } else { "!! " };
        println!("{mark}{}", for_terminal(&escape::text(&finding.text)));
        if let Some(fix) = &finding.fix {
            problems += 1;
            println!("   fix: {}", for_terminal(&escape::text(fix)));
        }
    }
    for (name, evidence) in &managers {
        println!("-- {name}: {}", for_terminal(&escape::text(evidence)));
        println!("   {}", for_terminal(coexistence(name, mode)));
    }
    if problems == 0 {
        println!("git calls daft here.");
        Ok(0)
    } else {
        println!(
            "{problems} problem{} found.",
            if problems == 1 { "" } else { "s" }
        );
        Ok(1)
    }
}

/// This worktree's config: found, trusted, and which events it has.
fn config(repo: &Repo) -> Vec<Finding> {
    let Some(root) = repo.work_tree.as_deref() else {
        return Vec::new();
    };
    let sources = match Sources::find(root) {
        Ok(Some(sources)) => sources,
        Ok(None) => {
            return vec![match crate::untracked::config_left_behind(repo) {
                Some((what, fix)) => bad(format!("no daft.yml in this worktree: {what}"), fix),
                None => ok("no daft.yml in this worktree: nothing for daft to run here".into()),
            }];
        }
        Err(err) => {
            return vec![bad(
                err.to_string(),
                "replace it with a regular file of at most 256 KiB".into(),
            )];
        }
    };
    let mut out = Vec::new();
    if let Err(err) = repo.check_owner() {
        out.push(bad(format!("{err:#}"), "see above".into()));
        return out;
    }
    match Store::new(&State::of(&repo.common_dir)).status(&Fingerprint::of(&sources)) {
        Status::Trusted => out.push(ok(format!("{} is trusted", sources.file_name()))),
        status => out.push(bad(
            format!(
                "{} is {}: its jobs do not run",
                sources.file_name(),
                status.word()
            ),
            "daft trust".into(),
        )),
    }
    match sources.parse() {
        Ok(config) => out.push(ok(format!(
            "its events: {}",
            config
                .events
                .keys()
                .map(|event| event.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        Err(err) => out.push(bad(
            err.to_string(),
            format!(
                "edit {} at the place named (`daft validate` lists every problem)",
                sources.file_name()
            ),
        )),
    }
    out
}

/// Linked worktrees whose setup is owed and has not run (made while the config was untrusted,
/// or that no hook announced), or whose setup failed or cannot be told.
fn setup(repo: &Repo) -> Vec<Finding> {
    let state = State::of(&repo.common_dir);
    let mut out = Vec::new();
    for (_, path) in crate::worktree::linked(&repo.common_dir) {
        let Some(path) = path.filter(|p| p.join(".git").exists()) else {
            continue;
        };
        let Ok(other) = Repo::discover(&path) else {
            continue;
        };
        let owed = match crate::resolve::check(&other, Some(Event::WorktreePostCreate)) {
            Ok(checked) => checked.config.event(Event::WorktreePostCreate).is_some(),
            Err(crate::resolve::Resolution::Nothing(_)) => false,
            Err(_) => true,
        };
        let Ok(identity) = crate::worktree::Identity::of(&other) else {
            continue;
        };
        let standing = setup::standing(&state, &identity, owed);
        let shown = escape::shell_quote(&path);
        match &standing {
            Standing::Pending(_) => out.push(bad(
                format!("the worktree {}: {}", path.display(), standing.describe()),
                format!("cd {shown} && daft hooks wait (runs it once the config is trusted)"),
            )),
            Standing::Failed(_) | Standing::Unknown(_) => out.push(bad(
                format!("the worktree {}: {}", path.display(), standing.describe()),
                format!(
                    "cd {shown} && daft hooks log show, then daft hooks run worktree-post-create"
                ),
            )),
            _ => {}
        }
    }
    out
}

fn ok(text: String) -> Finding {
    Finding {
        ok: true,
        text,
        fix: None,
    }
}

fn bad(text: String, fix: String) -> Finding {
    Finding {
        ok: false,
        text,
        fix: Some(fix),
    }
}

/// Other hook managers in this repository, and what shows it.
fn managers(repo: &Repo) -> Vec<(&'static str, String)> {
    let root = repo.work_tree.as_deref();
    let exists = |rel: &str| root.is_some_and(|r| r.join(rel).exists());
    let hooks_dirs: Vec<_> = [
        Some(repo.common_dir.join("hooks")),
        crate::install::setting::effective(root.unwrap_or(&repo.common_dir), &[])
            .ok()
            .flatten()
            .map(|s| root.unwrap_or(&repo.common_dir).join(s.value)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let hook_mentions = |needle: &str| {
        hooks_dirs.iter().any(|dir| {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    std::fs::read(e.path()).is_ok_and(|b| {
                        b.len() < 65_536 && b.windows(needle.len()).any(|w| w == needle.as_bytes())
                    })
                })
        })
    };
    let mut out = Vec::new();
    if exists(".husky") {
        out.push(("husky", "a .husky directory".to_owned()));
    }
    if [
        "lefthook.yml",
        ".lefthook.yml",
        "lefthook.yaml",
        "lefthook.toml",
    ]
    .iter()
    .any(|f| exists(f))
        || hook_mentions("call_lefthook")
    {
        out.push(("lefthook", "a lefthook config or hook".to_owned()));
    }
    if hook_mentions("File generated by prek") || exists("prek.toml") {
        out.push(("prek", "a hook written by prek".to_owned()));
    } else if exists(".pre-commit-config.yaml") || hook_mentions("File generated by pre-commit") {
        out.push((
            "pre-commit",
            "a .pre-commit-config.yaml or its hook".to_owned(),
        ));
    }
    out
}

/// How another hook manager and daft live together, in the mode daft is in.
fn coexistence(name: &str, mode: Option<Mode>) -> &'static str {
    match (mode, name) {
        (Some(Mode::Config), _) => {
            "config mode: git runs its hooks and daft's side by side, whatever order they were installed in"
        }
        (_, "husky") => {
            "hooks-path mode: husky's `prepare` script points core.hooksPath back at .husky/_ on every npm install; add `daft install` after `husky` in package.json's prepare script (daft then runs husky's hooks first), or use git 2.54+ for config mode"
        }
        (_, "pre-commit") => {
            "hooks-path mode: `pre-commit install` refuses while core.hooksPath is set; run it before `daft install` (daft runs its hook first), or after `git config --unset core.hooksPath`, then `daft install` again"
        }
        (_, "prek") => {
            "hooks-path mode: prek keeps daft's shim as <hook>.legacy and runs it: both fire; `daft uninstall` hands prek's hooks back to .git/hooks"
        }
        (_, "lefthook") => {
            "hooks-path mode: `lefthook install --force` writes into daft's hooks directory; `daft install` adopts those hooks (they keep running) and puts daft's shims back"
        }
        _ => "",
    }
}
