//! Carried caches stay valid (SPEC §3.1). A fresh checkout gives every tracked file a new
//! modification time, so build tools that compare times (cargo, make, ninja, tsc, Gradle…)
//! would rebuild everything a copied cache already holds. So each tracked file of the new
//! worktree whose content is the source worktree's gets the source file's modification time —
//! equal by git's blob ids, where the source file is clean in its index, else by hashing it as
//! git would — never a file whose content differs, never through a symlink. Then the new
//! worktree's index is refreshed, so `git status` stays quick.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, Result};
use cap_fs_ext::{DirExt as _, SystemTimeSpec};
use cap_std::fs::MetadataExt as _;

use super::place::system_time;
use super::tree::{self, Tree};

/// What carrying the times did.
pub(super) struct Carried {
    pub(super) tracked: usize,
    /// Given the source's time.
    pub(super) equal: usize,
    pub(super) differ: usize,
}

/// A regular file of an index: its blob id.
type Blobs = HashMap<PathBuf, String>;

/// Gives the tracked files of `dst` that equal `src`'s the source's modification times.
pub(super) fn carry(src: &Tree, dst: &Tree) -> Result<Carried> {
    let theirs = blobs(&src.root)?;
    let ours = blobs(&dst.root)?;
    let edited_in_new = modified(&dst.root)?;
    let edited_in_source = modified(&src.root)?;
    let mut equal = Vec::new();
    let mut to_hash = Vec::new();
    let mut differ = 0;
    for (path, blob) in &ours {
        let Some(their_blob) = theirs.get(path) else {
            continue;
        };
        if edited_in_new.contains(path) {
            differ += 1;
        } else if edited_in_source.contains(path) {
            if path.as_os_str().as_bytes().contains(&b'\n') {
                differ += 1; // cannot be named to `git hash-object --stdin-paths`
                continue;
            }
            to_hash.push((path.clone(), blob.clone()));
        } else if blob == their_blob {
            equal.push(path.clone());
        } else {
            differ += 1;
        }
    }
    // Files changed in the source worktree since its last commit: hashed as git would.
    let hashed = hash(&src.root, to_hash.iter().map(|(p, _)| p.as_path()))?;
    for ((path, blob), theirs) in to_hash.into_iter().zip(hashed) {
        if theirs == blob {
            equal.push(path);
        } else {
            differ += 1;
        }
    }
    let set = set_times(src, dst, &equal);
    // The times changed under git's index: refresh it (git re-reads those files once).
    let _ = crate::git::command(&dst.root)
        .args(["update-index", "-q", "--refresh"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    Ok(Carried {
        tracked: ours.len(),
        equal: set,
        differ,
    })
}

/// Sets the modification time of each of `paths` in `dst` to the one in `src`, a directory at
/// a time, through directory handles. Returns how many were set.
fn set_times(src: &Tree, dst: &Tree, paths: &[PathBuf]) -> usize {
    let mut by_dir: BTreeMap<&Path, Vec<&Path>> = BTreeMap::new();
    for path in paths {
        let (parent, name) = tree::split(path);
        by_dir.entry(parent).or_default().push(name);
    }
    let mut carried = 0;
    for (parent, names) in by_dir {
        let (Ok(from), Ok(to)) = (src.dir_at(parent), dst.dir_at(parent)) else {
            continue;
        };
        for name in names {
            let (Ok(theirs), Ok(ours)) = (from.symlink_metadata(name), to.symlink_metadata(name))
            else {
                continue;
            };
            if !theirs.is_file() || !ours.is_file() {
                continue;
            }
            let mtime = SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(system_time(
                theirs.mtime(),
                theirs.mtime_nsec(),
            )));
            if to.set_symlink_times(name, None, Some(mtime)).is_ok() {
                carried += 1;
            }
        }
    }
    carried
}

/// The regular files of the index of the work tree at `root`, with their blob ids.
fn blobs(root: &Path) -> Result<Blobs> {
    let out = git(root, &["ls-files", "--stage", "-z"])?;
    let mut blobs = HashMap::new();
    for entry in out.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        // <mode> SP <blob> SP <stage> TAB <path>
        let Some(tab) = entry.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let (head, path) = (&entry[..tab], &entry[tab + 1..]);
        let fields: Vec<&[u8]> = head.split(|&b| b == b' ').collect();
        let [mode, blob, stage] = fields[..] else {
            continue;
        };
        if stage != b"0" || !(mode == b"100644" || mode == b"100755") {
            continue; // symlinks, submodules, conflicts
        }
        blobs.insert(
            PathBuf::from(std::ffi::OsStr::from_bytes(path)),
            String::from_utf8_lossy(blob).into_owned(),
        );
    }
    Ok(blobs)
}

/// Tracked files of the work tree at `root` whose content is not what its index says.
fn modified(root: &Path) -> Result<HashSet<PathBuf>> {
    let out = git(root, &["diff-files", "--name-only", "-z"])?;
    Ok(out
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p)))
        .collect())
}

/// The blob ids git would give `paths` of the work tree at `root` (its filters applied).
fn hash<'a>(root: &Path, paths: impl Iterator<Item = &'a Path>) -> Result<Vec<String>> {
    let paths: Vec<&Path> = paths.collect();
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = crate::git::command(root)
        .args(["hash-object", "--stdin-paths"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("could not run git hash-object")?;
    let mut stdin = child.stdin.take().context("git hash-object has no stdin")?;
    let list: Vec<u8> = paths
        .iter()
        .flat_map(|p| p.as_os_str().as_bytes().iter().copied().chain([b'\n']))
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(&list));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    // A path git could not hash gives no line: then nothing of it is trusted.
    Ok(if ids.len() == paths.len() {
        ids
    } else {
        vec![String::new(); paths.len()]
    })
}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = crate::git::command(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("could not run git {}", args.join(" ")))?;
    anyhow::ensure!(
        out.status.success(),
        "git {} failed in {}",
        args.join(" "),
        root.display()
    );
    Ok(out.stdout)
}
