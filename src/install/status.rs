//! Whether git will call daft in a repository, and if not, why and what to do. Read-only: for
//! `daft doctor`, and for the notice every other command gives once when something else has
//! taken git's hooks away from daft (a hook manager re-installing, a `core.hooksPath` set
//! later, per worktree or through an include).

use std::fs;
use std::path::{Path, PathBuf};

use super::setting::{self, Setting};
use super::{Mode, Target, config_hooks, events};
use crate::event::Hook;
use crate::git;
use crate::repo::Repo;

/// One thing found, good or bad.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) ok: bool,
    pub(crate) text: String,
    /// What to do about it, when it is a problem.
    pub(crate) fix: Option<String>,
}

impl Finding {
    fn good(text: String) -> Self {
        Self {
            ok: true,
            text,
            fix: None,
        }
    }

    fn bad(text: String, fix: String) -> Self {
        Self {
            ok: false,
            text,
            fix: Some(fix),
        }
    }
}

/// The first reason git will not call daft in `repo`, if there is one: cheap enough (a git
/// call or two) for every command a user types.
pub(crate) fn unhooked(repo: &Repo) -> Option<Finding> {
    let (target, record) = events::install_in_effect(repo)?;
    let dir = run_dir(repo);
    let mode = match record.mode {
        Mode::Config => config_mode(&dir, &target),
        Mode::HooksPath => hooks_path_mode(&dir, &target, &record),
    };
    whereabouts(repo, &target, &record)
        .into_iter()
        .chain(mode)
        .find(|f| !f.ok)
}

/// Whether what git was given still exists where the repository is now: it moved since daft
/// was installed, daft's files are inside it (an older daft's install), or the hooks that ran
/// before daft are gone.
fn whereabouts(repo: &Repo, target: &Target, record: &super::Record) -> Vec<Finding> {
    let mut out = Vec::new();
    if target.global {
        return out;
    }
    if let Some(was) = record
        .common_dir
        .as_deref()
        .filter(|was| *was != repo.common_dir)
    {
        out.push(Finding::bad(
            format!(
                "this repository moved: daft was installed when its git directory was {}",
                was.display()
            ),
            "daft install (brings daft's records along; git's hooks kept working)".into(),
        ));
    }
    if record.key.is_none() {
        out.push(Finding::bad(
            format!(
                "daft's hooks are inside the repository ({}), as an older daft installed them: moving or renaming the repository would leave git running hooks that are gone",
                target.place.display()
            ),
            "daft install (moves them to a directory of yours that stays put)".into(),
        ));
    }
    if let Some(chain) = record
        .chain
        .as_deref()
        .filter(|c| Path::new(c).is_absolute())
        && !Path::new(chain).is_dir()
    {
        out.push(Finding::bad(
            format!(
                "the hooks that ran before daft were in {chain}, which is gone: they no longer run"
            ),
            "daft install (finds them where the repository is now, or forgets the directory)"
                .into(),
        ));
    }
    out
}

/// Whether the registered command `command` can run: a path git runs directly must be there
/// (a guarded shell line is fine either way).
fn runnable(command: &str) -> bool {
    let plain = !command.contains([
        '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '\'', ' ', '\t', '\n', '*', '?',
        '[', '#', '~', '=', '%',
    ]);
    !plain || crate::platform::executable(Path::new(command))
}

/// Where git commands about `repo` run.
fn run_dir(repo: &Repo) -> PathBuf {
    repo.work_tree
        .clone()
        .unwrap_or_else(|| repo.common_dir.clone())
}

/// Everything `daft doctor` checks about how git reaches daft in `repo`.
pub(crate) fn check(repo: &Repo) -> Vec<Finding> {
    let mut out = Vec::new();
    let dir = run_dir(repo);
    let version = git::version();
    let has_config_hooks = version.is_some_and(|v| v >= super::CONFIG_HOOKS_SINCE);
    out.push(Finding::good(format!(
        "git {}: {}",
        version.map_or_else(|| "?".into(), |(a, b)| format!("{a}.{b}")),
        if has_config_hooks {
            "has config-based hooks (config mode is daft's default)"
        } else {
            "has no config-based hooks (2.54 brought them): daft uses hooks-path mode"
        }
    )));
    let Some((target, record)) = events::install_in_effect(repo) else {
        out.push(Finding::bad(
            "daft is not installed for this repository (nor globally), so git never calls it here"
                .into(),
            "daft install (or: daft install --global)".into(),
        ));
        return out;
    };
    out.push(Finding::good(format!(
        "installed in {} mode, {} ({})",
        record.mode.word(),
        if target.global {
            "for every repository of yours"
        } else {
            "for this repository"
        },
        target.daft_dir.join("install.json").display()
    )));
    out.extend(binary(record.bin.as_deref()));
    out.extend(whereabouts(repo, &target, &record));
    out.extend(match record.mode {
        Mode::Config => config_mode(&dir, &target),
        Mode::HooksPath => hooks_path_mode(&dir, &target, &record),
    });
    out
}

/// The binary git runs: there, and the one answering now.
fn binary(bin: Option<&Path>) -> Option<Finding> {
    let bin = bin?;
    let me = std::env::current_exe().ok();
    Some(if !crate::platform::executable(bin) {
        Finding::bad(
            format!("git runs {}, which is gone", bin.display()),
            "reinstall daft (./install.sh), or run daft install again with the daft you have"
                .into(),
        )
    } else if me
        .as_deref()
        .is_some_and(|me| fs::canonicalize(me).ok() != fs::canonicalize(bin).ok())
    {
        Finding::good(format!(
            "git runs {} (this is {})",
            bin.display(),
            me.as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default()
        ))
    } else {
        Finding::good(format!("git runs {}", bin.display()))
    })
}

fn config_mode(dir: &Path, target: &Target) -> Vec<Finding> {
    let mut out = Vec::new();
    if git::version().is_none_or(|v| v < super::CONFIG_HOOKS_SINCE) {
        out.push(Finding::bad(
            "installed in config mode, but this git has no config-based hooks".into(),
            format!("daft install{} --mode hooks-path", global_flag(target)),
        ));
        return out;
    }
    let mut needed = vec![Hook::PostCheckout];
    needed.extend(
        events::trusted(&common_of(dir, target))
            .into_iter()
            .filter(|hook| *hook != Hook::PostCheckout),
    );
    for hook in needed {
        let name = config_hooks::friendly_name(hook);
        let hook = hook.name();
        let command = git::config_get(dir, &["--get", &format!("hook.{name}.command")])
            .ok()
            .flatten();
        let disabled = [
            format!("hook.{name}.enabled"),
            format!("hook.{hook}.enabled"),
        ]
        .into_iter()
        .find(|key| {
            git::config_get(dir, &["--type=bool", "--get", key])
                .ok()
                .flatten()
                .is_some_and(|v| v == "false")
        });
        out.push(match (command, disabled) {
            (None, _) => Finding::bad(
                format!("git is not told to run daft for {hook} (hook.{name} is missing)"),
                format!("daft install{}", global_flag(target)),
            ),
            (Some(command), _) if !runnable(&command) => Finding::bad(
                format!("hook.{name} runs {command}, which is gone: git fails every {hook} here"),
                format!("daft install{}", global_flag(target)),
            ),
            (Some(_), Some(key)) => Finding::bad(
                format!("{key} is false, so git does not run daft for {hook}"),
                format!("git config --unset {key}"),
            ),
            (Some(_), None) => Finding::good(format!("git runs daft for {hook} (hook.{name})")),
        });
    }
    out
}

fn hooks_path_mode(dir: &Path, target: &Target, record: &super::Record) -> Vec<Finding> {
    let mut out = Vec::new();
    let ours = target.hooks_dir();
    let effective = setting::effective(dir, &[]).ok().flatten();
    out.push(match &effective {
        Some(Setting { value, scope, .. })
            if scope != "worktree" && !dir.join(setting::expand_home(value)).is_dir() =>
        {
            Finding::bad(
                format!(
                    "core.hooksPath is {value}, which does not exist: git runs no hook at all here, not even the repository's own"
                ),
                format!(
                    "daft install{} (its shims, and the hooks that ran before daft, run again)",
                    global_flag(target)
                ),
            )
        }
        Some(Setting { value, .. }) if Path::new(&setting::expand_home(value)) == ours => Finding::good(format!(
            "core.hooksPath is daft's ({})",
            ours.display()
        )),
        Some(setting) => Finding::bad(
            format!(
                "core.hooksPath is {} ({}, {} scope), not daft's: git no longer calls daft here",
                setting.value, setting.origin, setting.scope
            ),
            if setting.scope == "worktree" {
                "git config --worktree --unset core.hooksPath (set in this worktree only), then daft install".into()
            } else {
                format!(
                    "daft install{} (the hooks in {} keep running first)",
                    global_flag(target),
                    setting.value
                )
            },
        ),
        None => Finding::bad(
            "core.hooksPath is not set: git no longer calls daft's shims".into(),
            format!("daft install{}", global_flag(target)),
        ),
    });
    let mut foreign = Vec::new();
    let mut missing = 0;
    let needed = super::shims::needed(target, record.chain.as_deref(), record.partial);
    for hook in Hook::ALL {
        let name = hook.name();
        let path = ours.join(name);
        let pass_through = crate::shim::PASS_THROUGH.contains(hook);
        if path.symlink_metadata().is_err() {
            if needed.contains(hook) || pass_through {
                missing += 1;
            }
        } else if !crate::shim::is_ours(&path) {
            foreign.push(name);
        }
    }
    if missing > 0 {
        out.push(Finding::bad(
            format!(
                "{missing} of daft's shims are missing from {}",
                ours.display()
            ),
            format!("daft install{}", global_flag(target)),
        ));
    }
    for name in foreign {
        out.push(Finding::bad(
            format!(
                "{name} in daft's hooks directory is another tool's: git runs it instead of daft's shim"
            ),
            format!(
                "daft install{} (adopts it: it keeps running, after the previous hook)",
                global_flag(target)
            ),
        ));
    }
    out
}

fn global_flag(target: &Target) -> &'static str {
    if target.global { " --global" } else { "" }
}

fn common_of(dir: &Path, target: &Target) -> PathBuf {
    if target.global {
        Repo::discover(dir).map_or_else(|_| dir.to_owned(), |repo| repo.common_dir)
    } else {
        target
            .daft_dir
            .parent()
            .map_or_else(|| dir.to_owned(), Path::to_owned)
    }
}
