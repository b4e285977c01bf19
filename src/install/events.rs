//! Which git hooks a clone needs daft for: `post-checkout` (new worktrees and clones), and the
//! events its trusted configs name. An event no trusted config uses costs nothing: in config
//! mode git is not told to run daft for it, and in hooks-path mode the shim does not start
//! daft for it (it looks for a marker file under `<common>/daft/events/`). `daft trust`,
//! `daft untrust` and `daft install` keep both up to date.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::{Mode, Target, config_hooks};
use crate::config::Sources;
use crate::event::{Event, Hook};
use crate::repo::Repo;
use crate::state::State;
use crate::trust::Store;

/// The git hooks named by the configs trusted in the clone at `common_dir`.
pub(crate) fn trusted(common_dir: &Path) -> BTreeSet<Hook> {
    let mut hooks = BTreeSet::new();
    for (main, local) in Store::new(&State::of(common_dir)).trusted_contents() {
        let sources = Sources::from_trusted(main, local);
        let Ok(config) = sources.parse() else {
            continue;
        };
        // worktree-post-create and post-clone need nothing more: `post-checkout` from no
        // commit always reaches daft.
        hooks.extend(config.events.keys().filter_map(|event| match event {
            Event::Git(hook) => Some(*hook),
            _ => None,
        }));
    }
    hooks
}

/// The install in effect for `repo`: its own, else the user's global one.
pub(crate) fn install_in_effect(repo: &Repo) -> Option<(Target, super::Record)> {
    let local = Target::of(repo);
    if let Ok(Some(record)) = local.read_record() {
        return Some((local, record));
    }
    let global = Target::global().ok()?;
    let record = global.read_record().ok()??;
    Some((global, record))
}

/// Brings the markers and (in config mode) git's registrations of `repo`'s clone in line with
/// what its trusted configs name.
pub(crate) fn refresh(repo: &Repo) -> Result<()> {
    let hooks = trusted(&repo.common_dir);
    let state = State::of(&repo.common_dir);
    write_markers(&state.events_dir(), &hooks)?;
    // In hooks-path mode the shims follow what the trusted configs name.
    super::shims::sync(&state, false)?;
    let Some((target, record)) = install_in_effect(repo) else {
        return Ok(());
    };
    if record.mode != Mode::Config {
        return Ok(());
    }
    let bin = match record.bin {
        Some(bin) => bin,
        None => std::env::current_exe()?,
    };
    // Registrations for this clone's events live in its own config, whatever the install's
    // scope: another clone's trusted configs are not this one's.
    let dir = repo
        .work_tree
        .clone()
        .unwrap_or_else(|| repo.common_dir.clone());
    let registered: BTreeSet<String> = config_hooks::registered(&dir, "--local")?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    // post-checkout is the install's own registration, in its own scope.
    let base = (!target.global).then_some(Hook::PostCheckout);
    // A global install's registrations in this clone may outlive it (`daft uninstall
    // --global` may not find the clone again): they check that daft is there first.
    let reach = if target.global {
        config_hooks::Reach::Guarded
    } else {
        config_hooks::Reach::Direct
    };
    let mut registers = false;
    for hook in hooks.iter().filter(|hook| **hook != Hook::PostCheckout) {
        config_hooks::register(&dir, "--local", &target.place, &bin, *hook, reach)?;
        registers = true;
    }
    if target.global && registers {
        super::place::note_clone(&repo.common_dir, true)?;
    }
    for stale in registered.iter().filter(|name| {
        let hook = Hook::parse(name);
        hook.is_none_or(|hook| !hooks.contains(&hook) && Some(hook) != base)
    }) {
        config_hooks::unregister(&dir, "--local", stale)?;
    }
    Ok(())
}

/// One empty file per hook in `dir`, and no others.
fn write_markers(dir: &Path, hooks: &BTreeSet<Hook>) -> Result<()> {
    if hooks.is_empty() && !dir.exists() {
        return Ok(());
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for entry in fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        if !name
            .to_str()
            .and_then(Hook::parse)
            .is_some_and(|hook| hooks.contains(&hook))
        {
            crate::files::remove_if_present(&entry.path())?;
        }
    }
    for hook in hooks {
        let path = dir.join(hook.name());
        if !path.exists() {
            fs::write(&path, b"").with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}
