//! Files daft did not write, in its hooks directory (hooks-path mode). On install, another
//! tool's hook under a git hook name is adopted: moved aside, to run right after the previous
//! hook, while daft's shim takes its name back. On uninstall, every such file goes back where
//! git will look for it once daft is gone. Nothing daft did not create is deleted.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::Target;
use super::setting::{effective, expand_home};
use crate::event::Hook;
use crate::shim::{PASS_THROUGH, is_ours, is_shim};

/// Which tool wrote a hook file, for messages.
fn tool_of(bytes: &[u8]) -> &'static str {
    let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    if has("prek") {
        "prek"
    } else if has("pre-commit") && has("legacy") {
        "pre-commit"
    } else if has("lefthook") {
        "lefthook"
    } else if has("husky") {
        "husky"
    } else {
        "someone else"
    }
}

/// Deals with files daft did not write in its hooks directory. A hook under a git hook name
/// that runs daft's shim (prek and pre-commit run it as `<name>.legacy`) stays: both fire. Any
/// other is moved to the adopted directory, where the shim runs it right after the previous
/// hook, and the shim takes its name back. Files git would never run are left alone.
pub(super) fn adopt(target: &Target) -> Result<Vec<String>> {
    let dir = target.hooks_dir();
    let mut lines = Vec::new();
    for entry in fs::read_dir(&dir)?.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "daft.env" {
            crate::files::remove_if_present(&path)?; // an older daft's; the shims hold it now
            continue;
        }
        let hook = Hook::parse(&name);
        if is_ours(&path) || hook.is_none_or(|hook| PASS_THROUGH.contains(&hook)) {
            continue;
        }
        let bytes = fs::read(&path).unwrap_or_default();
        let legacy = dir.join(format!("{name}.legacy"));
        let tool = tool_of(&bytes);
        if is_shim(&legacy) && bytes.windows(6).any(|w| w == b"legacy") {
            lines.push(format!(
                "{name}: {tool}'s hook runs first and calls daft's shim ({name}.legacy); both fire"
            ));
            continue;
        }
        let adopted = target.adopted_dir();
        fs::create_dir_all(&adopted)?;
        let mut dest = adopted.join(&name);
        let mut n = 1;
        while dest.symlink_metadata().is_ok() && fs::read(&dest).ok().as_deref() != Some(&bytes) {
            dest = adopted.join(format!("{name}.{n}"));
            n += 1;
        }
        move_file(&path, &dest)?;
        for old in [legacy, dir.join(format!("{name}.old"))] {
            if is_shim(&old) {
                crate::files::remove_if_present(&old)?;
            }
        }
        lines.push(format!(
            "{name}: {tool}'s hook was in daft's hooks directory; moved it to {} — it runs right after the previous hook, and daft's shim is back",
            dest.display()
        ));
    }
    Ok(lines)
}

/// Renames `from` to `to`, copying when they are on different file systems.
fn move_file(from: &Path, to: &Path) -> Result<()> {
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to)
        .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
    fs::remove_file(from).with_context(|| format!("cannot remove {}", from.display()))
}

/// Removes daft's shims and puts every other file of daft's hooks and adopted directories
/// where git will look for it now that daft is gone.
pub(super) fn return_files(target: &Target) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let home = where_hooks_go(target)?;
    for dir in [target.adopted_dir(), target.hooks_dir()] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap_or_default().to_owned();
            if is_ours(&path) || name == "daft.env" {
                crate::files::remove_if_present(&path)?;
                continue;
            }
            let Some(home) = &home else {
                lines.push(format!(
                    "kept {}: daft did not write it, and no hooks directory is in effect to return it to",
                    path.display()
                ));
                continue;
            };
            // A numbered copy from adopting twice goes back under its hook's name.
            let base = name.to_string_lossy();
            let base = base
                .rsplit_once('.')
                .filter(|(_, n)| n.parse::<u32>().is_ok())
                .map_or(base.as_ref(), |(b, _)| b)
                .to_owned();
            lines.push(return_one(&path, home, &base)?);
        }
        if fs::remove_dir(&dir).is_ok() {
            lines.push(format!("removed {}", dir.display()));
        }
    }
    Ok(lines)
}

/// Puts `path` at `home/name`, where git runs it once daft is gone.
fn return_one(path: &Path, home: &Path, name: &str) -> Result<String> {
    fs::create_dir_all(home)?;
    let dest = home.join(name);
    let bytes = fs::read(path).unwrap_or_default();
    if dest.symlink_metadata().is_err() {
        move_file(path, &dest)?;
        return Ok(format!(
            "moved {} back to {}",
            path.display(),
            dest.display()
        ));
    }
    if fs::read(&dest).is_ok_and(|existing| existing == bytes) {
        crate::files::remove_if_present(path)?;
        return Ok(format!("{} is already in place", dest.display()));
    }
    // prek and pre-commit run the hook they replaced as `<name>.legacy`: keep that chain.
    let legacy = home.join(format!("{name}.legacy"));
    if bytes.windows(6).any(|w| w == b"legacy") && legacy.symlink_metadata().is_err() {
        move_file(&dest, &legacy)?;
        move_file(path, &dest)?;
        return Ok(format!(
            "moved {} back to {} (the hook that was there is now {name}.legacy, which it runs first)",
            path.display(),
            dest.display()
        ));
    }
    Ok(format!(
        "kept {}: {} already exists and differs; compare the two and merge them by hand",
        path.display(),
        dest.display()
    ))
}

/// The hooks directory git uses once daft's setting is gone: the restored `core.hooksPath`
/// (relative to the work tree), or a repository's own `hooks` directory. For a global install
/// without a previous setting there is no one place.
fn where_hooks_go(target: &Target) -> Result<Option<PathBuf>> {
    let setting = effective(&target.dir, &[])?;
    let ours = target.hooks_dir();
    match setting.filter(|s| Path::new(&expand_home(&s.value)) != ours) {
        Some(setting) => Ok(Some(target.dir.join(expand_home(&setting.value)))),
        None if target.global => Ok(None),
        None => Ok(target.daft_dir.parent().map(|common| common.join("hooks"))),
    }
}
