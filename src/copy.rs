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
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail};

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

use std::os::unix::ffi::OsStrExt as _;

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

/// How a copy went.
#[derive(Default)]
struct Outcome {
    files: u64,
    links: u64,
    cloned: u64,
    copied: u64,
    errors: u64,
}

impl Outcome {
    fn summary(&self, kept: usize) -> String {
        use std::fmt::Write as _;
        let mut text = format!(
            "{} file{}, {}",
            self.files,
            if self.files == 1 { "" } else { "s" },
            bytes(self.cloned + self.copied)
        );
        let _ = match (self.cloned, self.copied) {
            (0, _) => write!(text, " copied"),
            (_, 0) => write!(text, " cloned (copy-on-write)"),
            (c, p) => write!(text, " ({} cloned, {} copied)", bytes(c), bytes(p)),
        };
        if self.links > 0 {
            let _ = write!(text, ", {} symlink(s)", self.links);
        }
        if kept > 0 {
            let _ = write!(text, ", {kept} already there or tracked by git, kept");
        }
        if self.errors > 0 {
            let _ = write!(text, ", {} failed", self.errors);
        }
        text
    }
}

fn bytes(n: u64) -> String {
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

/// Creates the directories and links, then copies the files on as many threads as there are
/// CPUs, each to a temporary name renamed into place. Directory times are set last, since
/// filling a directory changes its time.
fn execute(plan: &Plan, stop: &Arc<AtomicBool>) -> Outcome {
    let mut outcome = Outcome::default();
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for item in &plan.items {
        match item {
            Item::Dir { from, to } => match make_dir(from, to) {
                Ok(true) => dirs.push((from, to)),
                Ok(false) => {}
                Err(err) => {
                    println!("cannot create {}: {err}", to.display());
                    outcome.errors += 1;
                }
            },
            Item::Link { from, to } => match copy_link(from, to) {
                Ok(()) => outcome.links += 1,
                Err(err) => {
                    println!("cannot copy the link {}: {err}", from.display());
                    outcome.errors += 1;
                }
            },
            Item::File { from, to, size } => files.push((from.as_path(), to.as_path(), *size)),
        }
    }
    let next = Mutex::new(files.into_iter());
    let (cloned, copied, errors, count) = (
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    );
    let progress = Progress::new(plan.bytes);
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Some((from, to, size)) = next.lock().ok().and_then(|mut it| it.next())
                    else {
                        return;
                    };
                    match copy_file(from, to, stop) {
                        Ok(true) => cloned.fetch_add(size, Ordering::Relaxed),
                        Ok(false) => copied.fetch_add(size, Ordering::Relaxed),
                        Err(err) => {
                            if !stop.load(Ordering::Relaxed) {
                                println!("cannot copy {}: {err}", from.display());
                            }
                            errors.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    count.fetch_add(1, Ordering::Relaxed);
                    progress.add(size);
                }
            });
        }
    });
    for (from, to) in dirs.iter().rev() {
        let _ = copy_times(from, to);
    }
    outcome.files = count.into_inner() - errors.load(Ordering::Relaxed);
    outcome.cloned = cloned.into_inner();
    outcome.copied = copied.into_inner();
    outcome.errors += errors.into_inner();
    outcome
}

/// Creates the directory `to` with the mode of `from`; returns whether it made it (one that
/// is there already is left as it is).
fn make_dir(from: &Path, to: &Path) -> std::io::Result<bool> {
    match to.symlink_metadata() {
        Ok(meta) if meta.is_dir() => return Ok(false),
        Ok(_) => {
            return Err(std::io::Error::other(
                "something that is not a directory is in the way",
            ));
        }
        Err(_) => {}
    }
    fs::create_dir(to)?;
    let mode = from.metadata()?.permissions().mode();
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    Ok(true)
}

fn copy_link(from: &Path, to: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(fs::read_link(from)?, to)
}

/// Copies one file to a temporary name beside `to` (clone if the file system can), keeps its
/// mode and times, and renames it into place. Returns whether it was cloned. A copy that
/// fails or is stopped removes its temporary file.
fn copy_file(from: &Path, to: &Path, stop: &AtomicBool) -> std::io::Result<bool> {
    let name = to.file_name().unwrap_or_default().to_string_lossy();
    let tmp = to.with_file_name(format!(".{name}.daft-copy-{}", std::process::id()));
    let result = (|| {
        let cloned = reflink_copy::reflink_or_copy(from, &tmp)?.is_none();
        if stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped"));
        }
        let meta = from.metadata()?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(meta.permissions().mode()))?;
        copy_times(from, &tmp)?;
        place(&tmp, to)?;
        Ok(cloned)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Puts the finished temporary file at its final name, never over something that appeared
/// there meanwhile: a second name made exclusively (then the temporary one dropped), or, on a
/// file system without links, a rename after checking the name is free.
fn place(tmp: &Path, to: &Path) -> std::io::Result<()> {
    match fs::hard_link(tmp, to) {
        Ok(()) => fs::remove_file(tmp),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Err(err),
        Err(_) if to.symlink_metadata().is_ok() => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "a file appeared at its place meanwhile",
        )),
        Err(_) => fs::rename(tmp, to),
    }
}

/// Gives `to` the access and modification times of `from`.
fn copy_times(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = from.metadata()?;
    let at = |secs: i64, nanos: i64| {
        let since = Duration::new(secs.unsigned_abs(), nanos as u32);
        if secs >= 0 {
            SystemTime::UNIX_EPOCH + since
        } else {
            SystemTime::UNIX_EPOCH - since
        }
    };
    let times = fs::FileTimes::new()
        .set_accessed(at(meta.atime(), meta.atime_nsec()))
        .set_modified(at(meta.mtime(), meta.mtime_nsec()));
    fs::File::options()
        .write(!meta.is_dir())
        .read(meta.is_dir())
        .open(to)?
        .set_times(times)
}

/// Progress lines for large copies: every few seconds, how much of how much.
struct Progress {
    total: u64,
    done: AtomicU64,
    started: Instant,
    last: Mutex<Instant>,
}

impl Progress {
    fn new(total: u64) -> Self {
        Self {
            total,
            done: AtomicU64::new(0),
            started: Instant::now(),
            last: Mutex::new(Instant::now()),
        }
    }

    fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if self.total < 100_000_000 {
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
                bytes(self.total),
                done as f64 * 100.0 / self.total as f64,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}
