//! `copy` jobs (SPEC §3.1): files, directories and globs carried from the source worktree into
//! the same place in the new one — `.env`, local config, a build cache — as copy-on-write
//! clones where the file system can (`reflink-copy`: FICLONE, clonefile), else full copies
//! made in parallel. A copy job is an ordinary job whose process is daft itself
//! (`daft __copy`), so it has a pid, a log, a status, a timeout, and is cancelled like any
//! other.
//!
//! What it promises: symlinks are copied as symlinks (never followed), modes and modification
//! times kept, never a hard link; nothing git tracks in the new worktree and no file already
//! there is overwritten; nothing outside the two work trees is read or written; a missing
//! source is a note, not a failure; a file is written under a temporary name and renamed
//! into place, so a copy that is cancelled or fails leaves no half-copied file under its
//! final name.

use std::collections::HashSet;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result, bail};

mod transfer;

use transfer::execute;

/// Copies `patterns` from `from` to `to` (both work tree roots), saying what it did on
/// stdout, one line per pattern. Exit code: 0 done, 1 failed, 143 when told to stop.
pub(crate) fn run(from: &Path, to: &Path, patterns: &[String]) -> Result<u8> {
    let from = fs::canonicalize(from)
        .with_context(|| format!("the source worktree {} does not exist", from.display()))?;
    let to = fs::canonicalize(to)
        .with_context(|| format!("the worktree {} does not exist", to.display()))?;
    if from == to {
        println!("the source worktree is this worktree; nothing to copy");
        return Ok(0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(crate::sys::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(crate::sys::SIGINT, Arc::clone(&stop))?;
    let tracked = tracked_files(&to);
    let mut failed = false;
    for pattern in patterns {
        let plan = match plan(&from, &to, pattern, &tracked) {
            Ok(plan) => plan,
            Err(err) => {
                println!("{pattern}: {err:#}");
                failed = true;
                continue;
            }
        };
        if plan.items.is_empty() {
            let note = if plan.kept > 0 {
                format!("{pattern}: already here ({} kept)", plan.kept)
            } else {
                format!(
                    "{pattern}: not in the source worktree {}; skipped",
                    from.display()
                )
            };
            println!("{note}");
            continue;
        }
        let outcome = execute(&plan, &stop);
        if stop.load(Ordering::Relaxed) {
            println!("{pattern}: stopped; no file was left half-copied");
            return Ok(143);
        }
        println!("{pattern}: {}", outcome.summary(plan.kept));
        failed |= outcome.errors > 0;
    }
    Ok(u8::from(failed))
}

/// The paths git tracks in the work tree at `root`: never overwritten.
fn tracked_files(root: &Path) -> HashSet<PathBuf> {
    let Ok(out) = crate::git::command(root)
        .args(["ls-files", "-z"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return HashSet::new();
    };
    out.stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| root.join(std::ffi::OsStr::from_bytes(p)))
        .collect()
}

/// One thing to create in the destination, in order (directories before what is in them).
#[derive(Debug)]
enum Item {
    Dir {
        from: PathBuf,
        to: PathBuf,
    },
    File {
        from: PathBuf,
        to: PathBuf,
        size: u64,
    },
    Link {
        from: PathBuf,
        to: PathBuf,
    },
}

struct Plan {
    items: Vec<Item>,
    bytes: u64,
    /// Destination files left as they were: tracked by git, or already there.
    kept: usize,
}

/// Works out what copying `pattern` means: the source paths it names (a path or a glob),
/// everything under them, and where each goes.
fn plan(from: &Path, to: &Path, pattern: &str, tracked: &HashSet<PathBuf>) -> Result<Plan> {
    let mut plan = Plan {
        items: Vec::new(),
        bytes: 0,
        kept: 0,
    };
    let mut made = HashSet::new();
    for rel in matches(from, pattern)? {
        let source = from.join(&rel);
        inside(from, &source)?;
        let target = to.join(&rel);
        inside(to, &target)?;
        // The directories it goes in, where the new worktree lacks them.
        for ancestor in rel
            .ancestors()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            if !ancestor.as_os_str().is_empty() && made.insert(ancestor.to_owned()) {
                plan.items.push(Item::Dir {
                    from: from.join(ancestor),
                    to: to.join(ancestor),
                });
            }
        }
        let walker = walkdir::WalkDir::new(&source)
            .follow_links(false)
            .follow_root_links(false)
            .sort_by_file_name();
        for entry in walker {
            let entry = entry.with_context(|| format!("cannot read {}", source.display()))?;
            let sub = entry.path().strip_prefix(&source).unwrap_or(Path::new(""));
            let dest = if sub.as_os_str().is_empty() {
                target.clone()
            } else {
                target.join(sub)
            };
            let kind = entry.file_type();
            if kind.is_dir() {
                plan.items.push(Item::Dir {
                    from: entry.path().to_owned(),
                    to: dest,
                });
            } else if dest.symlink_metadata().is_ok() || tracked.contains(&dest) {
                plan.kept += 1;
            } else if kind.is_symlink() {
                plan.items.push(Item::Link {
                    from: entry.path().to_owned(),
                    to: dest,
                });
            } else if kind.is_file() {
                let size = entry.metadata().map_or(0, |m| m.len());
                plan.bytes += size;
                plan.items.push(Item::File {
                    from: entry.path().to_owned(),
                    to: dest,
                    size,
                });
            }
            // Sockets, FIFOs and devices are not carried.
        }
    }
    Ok(plan)
}

/// The paths (relative to `root`) that `pattern` names: itself, or what a glob matches.
fn matches(root: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let is_glob = pattern.contains(['*', '?', '[', '{']);
    if !is_glob {
        let rel = PathBuf::from(pattern.trim_end_matches('/'));
        return Ok(if root.join(&rel).symlink_metadata().is_ok() {
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
        .take_while(|c| {
            !c.as_os_str()
                .to_string_lossy()
                .contains(['*', '?', '[', '{'])
        })
        .collect();
    let depth = if pattern.contains("**") {
        usize::MAX
    } else {
        Path::new(pattern).components().count()
    };
    let start = root.join(&fixed);
    if start.symlink_metadata().is_err() {
        return Ok(Vec::new());
    }
    // The glob goes on below `fixed`: that must be a directory of the work tree, not a link.
    inside(root, &start.join("*"))?;
    let mut found = Vec::new();
    let walker = walkdir::WalkDir::new(&start)
        .follow_links(false)
        .follow_root_links(false)
        .max_depth(depth.saturating_sub(fixed.components().count()))
        .sort_by_file_name();
    let mut iter = walker.into_iter();
    while let Some(entry) = iter.next() {
        let Ok(entry) = entry else { continue };
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if glob.is_match(rel) {
            found.push(rel.to_owned());
            if entry.file_type().is_dir() {
                iter.skip_current_dir(); // copied whole
            }
        }
    }
    Ok(found)
}

/// Fails when `path` leads out of `root`: through `..`, or through a directory that is a
/// symlink (in either work tree) to somewhere else.
fn inside(root: &Path, path: &Path) -> Result<()> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        bail!("{} leaves the work tree", rel.display());
    }
    let mut at = root.to_owned();
    let parts: Vec<_> = rel.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        if !last
            && at
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
        {
            bail!(
                "{} goes through the symlink {}; daft copies nothing through links out of a work tree",
                rel.display(),
                at.display()
            );
        }
    }
    Ok(())
}
