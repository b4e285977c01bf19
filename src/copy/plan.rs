//! What a copy job's items name in the source worktree: a path, what a glob matches, or the
//! gitignored files an include file's gitignore-style patterns name (`.worktreeinclude`). Found
//! by walking directory handles, never through a symlink.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use cap_fs_ext::DirExt as _;

use super::tree::{Tree, split};

/// Whether `pattern` is a glob.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// The paths (relative to the root) that `pattern` names in `src`: itself when it exists, or
/// what the glob matches (a matching directory whole).
pub(super) fn matches(src: &Tree, pattern: &str) -> Result<Vec<PathBuf>> {
    if !is_glob(pattern) {
        let rel = PathBuf::from(pattern.trim_end_matches('/'));
        let (parent, name) = split(&rel);
        let dir = match src.dir_at(parent) {
            Ok(dir) => dir,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err.into()),
        };
        return Ok(if dir.symlink_metadata(name).is_ok() {
            vec![rel]
        } else {
            Vec::new()
        });
    }
    let glob = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .with_context(|| format!("`{pattern}` is not a glob"))?
        .compile_matcher();
    // Walk only below the part before the first wildcard, and no deeper than the pattern
    // reaches unless it says `**`.
    let fixed: PathBuf = Path::new(pattern)
        .components()
        .take_while(|c| !is_glob(&c.as_os_str().to_string_lossy()))
        .collect();
    let depth = if pattern.contains("**") {
        usize::MAX
    } else {
        Path::new(pattern).components().count()
    };
    let start = match src.dir_at(&fixed) {
        Ok(dir) => dir,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err.into()),
    };
    let mut found = Vec::new();
    let mut stack = vec![(start, fixed.clone(), fixed.components().count())];
    while let Some((dir, rel, level)) = stack.pop() {
        let mut names: Vec<_> = dir.entries()?.flatten().collect();
        names.sort_by_key(cap_std::fs::DirEntry::file_name);
        for entry in names {
            let path = rel.join(entry.file_name());
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if glob.is_match(&path) {
                found.push(path);
            } else if is_dir
                && level + 1 < depth
                && let Ok(sub) = dir.open_dir_nofollow(entry.file_name())
            {
                stack.push((sub, path, level + 1));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The gitignored files of `src` that the gitignore-style patterns of `file` name. The file is
/// read from the new worktree (the branch's own list), else from the source worktree.
pub(super) fn included(src: &Tree, dst: &Tree, file: &str) -> Result<Option<Vec<PathBuf>>> {
    let text = [dst, src].iter().find_map(|tree| {
        let (parent, name) = split(Path::new(file));
        let dir = tree.dir_at(parent).ok()?;
        let meta = dir.symlink_metadata(name).ok()?;
        (meta.is_file() && meta.len() <= 1024 * 1024)
            .then(|| dir.read_to_string(name).ok())
            .flatten()
    });
    let Some(text) = text else {
        return Ok(None);
    };
    let mut builder = ignore::gitignore::GitignoreBuilder::new(&src.root);
    for (number, line) in text.lines().enumerate() {
        builder
            .add_line(None, line)
            .with_context(|| format!("{file}:{}: not a gitignore pattern", number + 1))?;
    }
    let patterns = builder
        .build()
        .with_context(|| format!("{file} holds a pattern git would not accept"))?;
    let out = crate::git::command(&src.root)
        .args([
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .context("could not run git to list the source worktree's ignored files")?;
    let mut found: Vec<PathBuf> = out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p)))
        .filter(|p| patterns.matched_path_or_any_parents(p, false).is_ignore())
        .collect();
    found.sort();
    Ok(Some(found))
}

use std::os::unix::ffi::OsStrExt as _;
