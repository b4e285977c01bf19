//! How a copy went, counted as it goes, and said in one line per path: files, links, what was
//! kept, how it was copied — a copy-on-write clone, or a full copy on a file system that cannot
//! clone — and the disk that took; what was not carried and why.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What copying one path did.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) files: u64,
    pub(super) symlinks: u64,
    /// Directories carried whole (a build cache, `node_modules`), or made to hold what was
    /// carried: a tree, not single files.
    pub(super) trees: u64,
    /// Files linked to a file copied before, as they were in the source.
    pub(super) hard_links: u64,
    pub(super) cloned: u64,
    pub(super) copied: u64,
    /// Destination files left as they were: tracked by git, or already there.
    pub(super) kept: u64,
    /// Half-written files of an earlier, killed copy, removed.
    pub(super) swept: usize,
    /// What is not a file, directory or symlink (FIFOs, sockets, devices), with what it is.
    pub(super) specials: Vec<(PathBuf, &'static str)>,
    pub(super) setid_dropped: Vec<(PathBuf, &'static str, u32)>,
    /// Small text files that hold the source worktree's absolute path.
    pub(super) points_back: Vec<PathBuf>,
    /// What was left out on purpose, and why.
    pub(super) left_out: Vec<(PathBuf, &'static str)>,
    /// Why the tree was not copied at all (a virtualenv).
    pub(super) unmovable: Option<String>,
    pub(super) errors: Vec<String>,
}

impl Outcome {
    pub(super) fn add(&mut self, other: Outcome) {
        self.files += other.files;
        self.symlinks += other.symlinks;
        self.trees += other.trees;
        self.hard_links += other.hard_links;
        self.cloned += other.cloned;
        self.copied += other.copied;
        self.kept += other.kept;
        self.swept += other.swept;
        self.specials.extend(other.specials);
        self.setid_dropped.extend(other.setid_dropped);
        self.points_back.extend(other.points_back);
        self.left_out.extend(other.left_out);
        self.unmovable = self.unmovable.take().or(other.unmovable);
        self.errors.extend(other.errors);
    }

    pub(super) fn error(&mut self, message: String) {
        self.errors.push(message);
    }

    pub(super) fn special(&mut self, rel: &Path, kind: cap_std::fs::FileType) {
        use cap_std::fs::FileTypeExt as _;
        let what = if kind.is_fifo() {
            "a FIFO (named pipe)"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_block_device() || kind.is_char_device() {
            "a device"
        } else {
            "not a file, directory or symlink"
        };
        self.specials.push((rel.to_owned(), what));
    }

    /// The line for the log and the summary: `target: 1526 files (92 hard links kept),
    /// 368.0 MB full copy (this file system cannot clone): 368.0 MB of new disk`.
    pub(super) fn summary(&self) -> String {
        let mut text = format!("{} file{}", self.files, plural(self.files));
        if self.hard_links > 0 {
            let _ = write!(text, " (+{} hard links kept as links)", self.hard_links);
        }
        let _ = match (self.cloned, self.copied) {
            (0, 0) => Ok(()),
            (c, 0) => write!(
                text,
                ", {} cloned (copy-on-write: no new disk until changed)",
                bytes(c)
            ),
            (0, p) => write!(
                text,
                ", {} full copy (this file system cannot clone): {} of new disk",
                bytes(p),
                bytes(p)
            ),
            (c, p) => write!(
                text,
                ", {} cloned and {} copied in full: {} of new disk",
                bytes(c),
                bytes(p),
                bytes(p)
            ),
        };
        if self.symlinks > 0 {
            let _ = write!(text, ", {} symlink{}", self.symlinks, plural(self.symlinks));
        }
        if self.kept > 0 {
            let _ = write!(
                text,
                ", {} already there or tracked by git, kept",
                self.kept
            );
        }
        if self.swept > 0 {
            let _ = write!(
                text,
                ", {} half-written file{} of an earlier copy removed",
                self.swept,
                plural(self.swept as u64)
            );
        }
        if !self.errors.is_empty() {
            let _ = write!(text, ", {} failed", self.errors.len());
        }
        text
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(super) fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} bytes")
    }
}

/// Progress lines for large copies: every few seconds, how much of how much.
pub(super) struct Progress {
    total: AtomicU64,
    done: AtomicU64,
    started: Instant,
    last: Mutex<Instant>,
}

impl Progress {
    pub(super) fn new(total: u64) -> Self {
        Self {
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            started: Instant::now(),
            last: Mutex::new(Instant::now()),
        }
    }

    /// More bytes are on their way.
    pub(super) fn expect(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let total = self.total.load(Ordering::Relaxed);
        if total < 100_000_000 {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.elapsed() >= Duration::from_secs(2) {
            *last = Instant::now();
            println!(
                "{} of {} ({:.0}%) in {:.0}s",
                bytes(done),
                bytes(total),
                done as f64 * 100.0 / total.max(1) as f64,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}
