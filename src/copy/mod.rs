//! `copy` jobs (SPEC §3.1): files, directories, globs and include files carried from the
//! source worktree into the same place in the new one — `.env`, local config, a build cache —
//! as copy-on-write clones where the file system can, else full copies made in parallel. A
//! copy job is an ordinary job whose process is daft itself (`daft __copy`), so it has a pid,
//! a log, a status, a timeout, and is cancelled like any other.
//!
//! What it promises: nothing outside the two work trees is read or written, and no write goes
//! through a symlink (`tree`); symlinks are copied as symlinks, hard links as links, modes and
//! times kept, set-id bits dropped when the owner changes; nothing git tracks and no file
//! already there is overwritten; a file is written under a temporary name and put in place
//! whole (`transfer`); a tree that records the source's path is not copied silently
//! (`unmovable`); a missing source is a note, not a failure. Then the tracked files that equal
//! the source's get its modification times, so the carried caches stay valid (`times`).

mod index;
mod outcome;
mod place;
mod plan;
mod times;
mod transfer;
mod tree;
mod unmovable;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result};

use crate::cli::{CarryTimes, CopyArgs};
use outcome::Outcome;
use transfer::Copier;
use tree::Tree;

/// Copies what `args` names from one work tree into another, saying what it did on stdout,
/// one line per item (and a note for the job's summary when something needs the user's eye).
/// Exit code: 0 done, 1 failed (or refused a tree that cannot move), 143 when told to stop.
pub(crate) fn run(args: &CopyArgs) -> Result<u8> {
    let from = std::fs::canonicalize(&args.from)
        .with_context(|| format!("the source worktree {} does not exist", args.from.display()))?;
    let to = std::fs::canonicalize(&args.to)
        .with_context(|| format!("the worktree {} does not exist", args.to.display()))?;
    if from == to {
        println!("the source worktree is this worktree; nothing to copy");
        return Ok(0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    let src = Tree::open(&from)
        .with_context(|| format!("cannot open the source worktree {}", from.display()))?;
    let dst =
        Tree::open(&to).with_context(|| format!("cannot open the worktree {}", to.display()))?;
    let index = index::Index::open(&to).ok().flatten();
    let tracked = index.as_ref().map(index::Index::paths).unwrap_or_default();
    let copier = Copier {
        src: &src,
        dst: &dst,
        tracked: &tracked,
        stop: &stop,
        venvs: std::sync::Mutex::default(),
    };
    let mut report = Report::default();
    let mut copied_any = false;
    let mut trees = false;
    for (label, found) in items(&src, &dst, args) {
        let rels = match found {
            Ok(rels) => rels,
            Err(err) => {
                println!("{label}: {err:#}");
                report.failed = true;
                continue;
            }
        };
        if rels.is_empty() {
            println!(
                "{label}: not in the source worktree {}; skipped",
                from.display()
            );
            continue;
        }
        let mut outcome = Outcome::default();
        for rel in rels {
            outcome.add(copier.copy(&rel));
            if stop.load(Ordering::Relaxed) {
                println!("{label}: stopped; no file was left half-copied");
                return Ok(143);
            }
        }
        copied_any |= outcome.files + outcome.symlinks > 0;
        trees |= outcome.trees > 0 && outcome.files > 0;
        report.tell(&label, &outcome, &src.root);
    }
    let wanted = match args.carry_times {
        CarryTimes::Auto => trees,
        CarryTimes::Always => copied_any,
        CarryTimes::Never => false,
    };
    match (wanted, &args.in_use, &index) {
        (false, _, _) => {}
        (true, Some(why), _) => println!(
            "tracked files: no modification times carried: this worktree was in use before its setup ran ({why}), and a file given an older time could look older than what was built from it here"
        ),
        (true, None, None) => {
            println!(
                "tracked files: no modification times carried: the worktree has no git index yet"
            );
        }
        (true, None, Some(index)) => carry_times(&src, &dst, index),
    }
    report.leave_note(args.note.as_deref());
    Ok(u8::from(report.failed))
}

/// Each item of the job with what it names: its paths and globs, then its include files.
fn items(src: &Tree, dst: &Tree, args: &CopyArgs) -> Vec<(String, Result<Vec<PathBuf>>)> {
    let mut out: Vec<(String, Result<Vec<PathBuf>>)> = args
        .paths
        .iter()
        .map(|pattern| (pattern.clone(), plan::matches(src, pattern)))
        .collect();
    for file in &args.include {
        let label = format!("{file} (include file)");
        let found = plan::included(src, dst, file).and_then(|found| {
            found.ok_or_else(|| {
                anyhow::anyhow!(
                    "no such file in the new worktree or the source worktree; nothing from it"
                )
            })
        });
        out.push((label, found));
    }
    out
}

/// What the job says, and whether it failed.
#[derive(Default)]
struct Report {
    failed: bool,
    /// For the summary line git's caller sees.
    notes: Vec<String>,
}

impl Report {
    fn tell(&mut self, label: &str, outcome: &Outcome, source: &Path) {
        println!("{label}: {}", outcome.summary());
        for (rel, what) in &outcome.specials {
            println!(
                "{}: {what}; daft copies files, directories and symlinks, so it was not carried",
                rel.display()
            );
        }
        for (rel, why) in &outcome.left_out {
            println!("{}: left out: {why}", rel.display());
        }
        for (rel, bit, owner) in &outcome.setid_dropped {
            println!(
                "{}: its {bit} bit was dropped: the file belongs to uid {owner}, its copy to you (as cp does)",
                rel.display()
            );
        }
        for error in &outcome.errors {
            println!("cannot copy {error}");
        }
        if !outcome.errors.is_empty() {
            self.failed = true;
        }
        if let Some(problem) = &outcome.unmovable {
            println!("{problem}");
            self.notes.push(problem.clone());
            self.failed = true;
        }
        if !outcome.points_back.is_empty() {
            let examples: Vec<String> = outcome
                .points_back
                .iter()
                .take(3)
                .map(|p| p.display().to_string())
                .collect();
            let line = format!(
                "{} copied file{} of {label} hold the source worktree's path {} (e.g. {}): they point back at it; make them in the new worktree instead of copying them",
                outcome.points_back.len(),
                if outcome.points_back.len() == 1 {
                    ""
                } else {
                    "s"
                },
                source.display(),
                examples.join(", ")
            );
            println!("warning: {line}");
            self.notes.push(line);
        }
    }

    fn leave_note(&self, path: Option<&Path>) {
        if let (Some(path), false) = (path, self.notes.is_empty()) {
            let _ = crate::files::write_atomically(path, self.notes.join("; ").as_bytes());
        }
    }
}

/// Carries the tracked files' modification times into the new worktree, once per run (every
/// copy job of a run would do the same).
fn carry_times(src: &Tree, dst: &Tree, index: &index::Index) {
    let run = std::env::var("DAFT_RUN").unwrap_or_default();
    let once = crate::repo::Repo::discover(&dst.root)
        .ok()
        .and_then(|repo| {
            crate::worktree::Identity::of(&repo)
                .ok()
                .map(|id| (repo, id))
        })
        .map(|(repo, identity)| crate::state::State::of(&repo.common_dir).worktree(&identity.id));
    let _lock = once.as_ref().and_then(|dir| {
        std::fs::create_dir_all(dir.path()).ok()?;
        crate::files::open_lock(&dir.times_lock()).ok()
    });
    if let Some(dir) = &once
        && !run.is_empty()
        && std::fs::read_to_string(dir.times_run()).is_ok_and(|done| done == run)
    {
        println!(
            "tracked files: their modification times were carried by another copy job of this run"
        );
        return;
    }
    let carried = times::carry(src, dst, index);
    println!("{}", carried.summary());
    if let (Some(dir), false) = (&once, run.is_empty()) {
        let _ = crate::files::write_atomically(dir.times_run(), run.as_bytes());
    }
}

/// Removes what a copy job that ended without succeeding (killed, say) left half-written in
/// the new worktree at `root`: the temporary files under the places its `items` copy to (the
/// whole tree for an include file). Through directory handles, like the copy.
pub(crate) fn sweep(root: &Path, items: &[crate::config::CopyItem]) -> usize {
    use crate::config::CopyItem;
    let Ok(tree) = Tree::open(root) else {
        return 0;
    };
    let mut starts: Vec<PathBuf> = Vec::new();
    for item in items {
        match item {
            CopyItem::Path(pattern) => starts.push(
                Path::new(pattern)
                    .components()
                    .take_while(|c| {
                        !c.as_os_str()
                            .to_string_lossy()
                            .contains(['*', '?', '[', '{'])
                    })
                    .collect(),
            ),
            CopyItem::Include(_) => starts.push(PathBuf::new()),
        }
    }
    let mut swept = 0;
    let mut seen = HashSet::new();
    for start in starts {
        // A copied file sits in the directory of its path, or in one below it.
        let (parent, _) = tree::split(&start);
        let mut stack = vec![parent.to_owned(), start.clone()];
        while let Some(rel) = stack.pop() {
            if !seen.insert(rel.clone()) {
                continue;
            }
            let Ok(dir) = tree.dir_at(&rel) else {
                continue;
            };
            swept += place::sweep(&dir);
            if rel == parent && rel != start {
                continue; // only the copied path's own directory, not its siblings' trees
            }
            for entry in dir.entries().into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) && entry.file_name() != ".git" {
                    stack.push(rel.join(entry.file_name()));
                }
            }
        }
    }
    swept
}
