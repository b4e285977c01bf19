//! Hooks-path mode: a shim for every git hook name in a directory of daft's own (outside the
//! repository: `place`), and `core.hooksPath` pointed at it. Each shim runs the hook that was in effect before daft (the
//! previous `core.hooksPath`, wherever it was set, or git's own hooks directory), so a hook
//! added there later runs too. Files another tool writes into daft's directory are adopted —
//! moved aside and run after the previous hook — and every file daft did not write goes back
//! where it belongs on uninstall. Nothing is deleted that daft did not create.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::setting::{Setting, effective, expand_home};
use super::{Mode, Record, Target, foreign, shims};
use crate::git;
use crate::shim::{PASS_THROUGH, is_ours};

pub(super) struct Installed {
    pub(super) lines: Vec<String>,
    pub(super) shadowed: bool,
}

/// Where a pass-through link for `name` points: the previous hook, found from where git runs
/// hooks for it (receive-pack runs them in the git dir), through the running process's own
/// directory where the system names it (Linux's `/proc/self/cwd`), so the link follows the
/// repository wherever it moves; elsewhere, a repository install's hooks directory where it
/// is now (`daft install` makes it again after a move). A global install without such a name
/// has no one place to point at: `None` (git then sees no such hook).
fn pass_through_target(target: &Target, chain: Option<&str>, name: &str) -> Option<PathBuf> {
    let cwd = crate::platform::own_cwd_link();
    match (chain, cwd) {
        (Some(dir), _) if Path::new(dir).is_absolute() => Some(Path::new(dir).join(name)),
        (Some(dir), Some(cwd)) => Some(cwd.join(dir).join(name)),
        (None, Some(cwd)) => Some(cwd.join("hooks").join(name)),
        (Some(dir), None) => (!target.global).then(|| target.dir.join(dir).join(name)),
        (None, None) => target
            .common_dir()
            .map(|common| common.join("hooks").join(name)),
    }
}

/// Installs (or refreshes) the shims. `existing` is this scope's hooks-path record, if daft
/// was installed so before.
pub(super) fn install(
    target: &Target,
    bin: &Path,
    existing: Option<&Record>,
    key: Option<String>,
) -> Result<Installed> {
    let ours = target.hooks_dir();
    let ours_text = ours.to_string_lossy().into_owned();
    let mut lines = Vec::new();
    let raw = git::config_get(&target.dir, &[target.scope(), "--get", "core.hooksPath"])?;
    let already = raw.as_deref() == Some(ours_text.as_str());
    // daft's own directory, wherever an earlier install put it (gone, if the repository
    // moved since), is never the hooks that ran before daft.
    let before = effective(&target.dir, &[])?.filter(|setting| !is_daft(target, &setting.value));
    // Re-installing over daft's own setting keeps what was recorded the first time.
    let (previous, chain) = match existing {
        Some(record) if raw.as_deref().is_some_and(|raw| is_daft(target, raw)) => (
            record.previous.clone(),
            record
                .chain
                .as_deref()
                .map(|chain| moved_along(target, record, chain)),
        ),
        _ => (
            raw.clone().filter(|raw| !is_daft(target, raw)),
            chain_dir(target, before.as_ref()),
        ),
    };
    fs::create_dir_all(&ours).with_context(|| format!("cannot create {}", ours.display()))?;
    lines.extend(foreign::adopt(target)?);
    let partial = shims::partial(target, chain.as_deref());
    write_shims(target, bin, chain.as_deref(), partial)?;
    target.write_record(&Record {
        mode: Mode::HooksPath,
        bin: Some(bin.to_owned()),
        previous,
        chain: chain.clone(),
        config_file: global_config_file(target)?,
        partial,
        key,
        common_dir: target.common_dir().map(Path::to_owned),
    })?;
    if already {
        lines.push(format!("refreshed the shims in {}", ours.display()));
    } else {
        let mut set = git::command(&target.dir);
        set.args(["config", target.scope(), "core.hooksPath"])
            .arg(&ours);
        let out = set.stdin(std::process::Stdio::null()).output()?;
        anyhow::ensure!(
            out.status.success(),
            "git config core.hooksPath failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        lines.push(format!(
            "core.hooksPath ({}) → {}",
            target.scope().trim_start_matches('-'),
            ours.display()
        ));
    }
    match &chain {
        Some(dir) => lines.push(format!(
            "the hooks in {dir} (the previous core.hooksPath) still run first"
        )),
        None if target.global => {
            lines.push("each repository's own .git/hooks still run first".into());
        }
        None => lines.push("the repository's own .git/hooks still run first".into()),
    }
    let after = effective(&target.dir, &[])?;
    let shadowed = after.as_ref().is_some_and(|s| s.value != ours_text);
    if let Some(setting) = after.filter(|s| s.value != ours_text) {
        lines.push(format!(
            "but git will not call daft here: core.hooksPath is {} from {} ({} scope), which takes precedence over daft's; remove that setting (git config --{} --unset core.hooksPath{}) and run `daft install` again, or use config mode (git 2.54 or later)",
            setting.value,
            setting.origin,
            setting.scope,
            setting.scope,
            if setting.scope == "command" { "; or stop passing -c core.hooksPath" } else { "" }
        ));
    }
    Ok(Installed { lines, shadowed })
}

/// The hooks directory the shims hand over to first: the `core.hooksPath` in effect before
/// daft (a relative one stays relative to the work tree, as git reads it). `None` means each
/// repository's own hooks directory. A local install over daft's own global one chains to
/// what that one chains to, never to daft again.
fn chain_dir(target: &Target, before: Option<&Setting>) -> Option<String> {
    let before = before?;
    let global = Target::global().ok();
    let global_hooks = global.as_ref().map(Target::hooks_dir);
    if !target.global
        && global_hooks
            .as_ref()
            .is_some_and(|g| expand_home(&before.value) == g.to_string_lossy())
    {
        let previous = global
            .and_then(|g| g.read_record().ok().flatten())
            .and_then(|r| r.previous);
        return previous.map(|p| expand_home(&p));
    }
    Some(expand_home(&before.value))
}

/// `chain` (an absolute directory), moved along with the repository where it was inside it.
fn moved_along(target: &Target, record: &Record, chain: &str) -> String {
    let roots = record
        .common_dir
        .as_deref()
        .and_then(Path::parent)
        .zip(target.common_dir().and_then(Path::parent));
    match roots {
        Some((was, now)) if was != now && !Path::new(chain).exists() => {
            Path::new(chain).strip_prefix(was).map_or_else(
                |_| chain.to_owned(),
                |rel| now.join(rel).to_string_lossy().into_owned(),
            )
        }
        _ => chain.to_owned(),
    }
}

/// Whether the `core.hooksPath` value `value` is daft's own directory: this install's, or one
/// an earlier install made (inside the repository, since moved: gone).
fn is_daft(target: &Target, value: &str) -> bool {
    let path = Path::new(&*expand_home(value)).to_owned();
    path == target.hooks_dir() || super::place::is_daft_hooks_dir(&target.dir.join(&path))
}

/// The file `git config --global` writes to, and whether it exists now.
fn global_config_file(target: &Target) -> Result<Option<(PathBuf, bool)>> {
    if !target.global {
        return Ok(None);
    }
    let file = super::place::global_config_file()?;
    let exists = file.exists();
    Ok(Some((file, exists)))
}

/// The pass-through links, and a shim under every name the install needs (see `shims`).
fn write_shims(target: &Target, bin: &Path, chain: Option<&str>, partial: bool) -> Result<()> {
    let dir = target.hooks_dir();
    for hook in PASS_THROUGH {
        let name = hook.name();
        let path = dir.join(name);
        if path.symlink_metadata().is_ok() && !is_ours(&path) {
            continue; // another tool's hook: git runs it
        }
        let Some(to) = pass_through_target(target, chain, name) else {
            crate::files::remove_if_present(&path)?;
            continue;
        };
        if fs::read_link(&path).is_ok_and(|old| old == to) {
            continue;
        }
        crate::files::remove_if_present(&path)?;
        std::os::unix::fs::symlink(&to, &path)
            .with_context(|| format!("cannot link {} to {}", path.display(), to.display()))?;
    }
    let text = shims::text(target, bin, chain, partial);
    shims::write(&dir, &text, &shims::needed(target, chain, partial))
}

/// Puts `core.hooksPath` back as it was before daft (git's config only: the files go once
/// nothing points at them). Returns what it did, and the value to put back if a later step
/// fails.
pub(super) fn restore_setting(
    target: &Target,
    record: Option<&Record>,
) -> Result<(Vec<String>, Option<String>)> {
    let ours = target.hooks_dir();
    let mut lines = Vec::new();
    let raw = git::config_get(&target.dir, &[target.scope(), "--get", "core.hooksPath"])?;
    let mut undo = None;
    if let Some(value) = raw.as_deref().filter(|raw| is_daft(target, raw)) {
        undo = Some(value.to_owned());
        let previous = record.and_then(|r| r.previous.clone());
        let mut cmd = git::command(&target.dir);
        cmd.args(["config", target.scope()]);
        if let Some(previous) = &previous {
            cmd.args(["core.hooksPath", previous]);
            lines.push(format!("core.hooksPath restored to {previous}"));
        } else {
            cmd.args(["--unset", "core.hooksPath"]);
            lines.push(if record.is_some() {
                "core.hooksPath unset, as it was".into()
            } else {
                "core.hooksPath unset (what it was before daft is not known: the install record is missing or damaged)".into()
            });
        }
        let out = cmd.stdin(std::process::Stdio::null()).output()?;
        anyhow::ensure!(
            out.status.success(),
            "cannot restore core.hooksPath: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        if let Some((file, false)) = record.and_then(|r| r.config_file.as_ref()) {
            // We created the file; if nothing but our setting was ever in it, take it away again.
            if fs::metadata(file).is_ok_and(|m| m.len() == 0) {
                let _ = fs::remove_file(file);
            }
        }
    } else if let Some(value) = &raw
        && (ours.exists() || record.is_some_and(|r| r.mode == Mode::HooksPath))
    {
        lines.push(format!(
            "core.hooksPath is now {value}, not daft's; left it alone"
        ));
    }
    Ok((lines, undo))
}

/// Sets `core.hooksPath` to `value` again (a failed uninstall's undo).
pub(super) fn put_back(target: &Target, value: &str) {
    let _ = git::command(&target.dir)
        .args(["config", target.scope(), "core.hooksPath", value])
        .stdin(std::process::Stdio::null())
        .output();
}

/// Puts the files of daft's hooks directories where git looks for them now.
pub(super) fn return_files(target: &Target) -> Result<Vec<String>> {
    if target.hooks_dir().exists() || target.adopted_dir().exists() {
        return foreign::return_files(target);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    /// `hooks/` holds the shim and one link to it per git hook name that gets a shim.
    #[test]
    fn hooks_dir_links_every_hook_name_to_the_shim() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != "shim.sh")
            .collect();
        names.sort();
        let mut expected: Vec<String> = crate::event::Hook::ALL
            .iter()
            .filter(|n| !super::PASS_THROUGH.contains(n))
            .map(|n| n.name().to_owned())
            .collect();
        expected.sort();
        assert_eq!(names, expected);
        for name in names {
            assert_eq!(
                std::fs::read_link(dir.join(&name)).unwrap(),
                std::path::Path::new("shim.sh"),
                "{name}"
            );
        }
    }
}
