//! Carrying out a copy plan: directories, links, then the files on as many threads as there
//! are CPUs — each cloned where the file system can, else copied, under a temporary name and
//! renamed into place — with progress for large copies.

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::{Item, Plan};

/// How a copy went.
#[derive(Default)]
pub(super) struct Outcome {
    files: u64,
    links: u64,
    cloned: u64,
    copied: u64,
    pub(super) errors: u64,
}

impl Outcome {
    pub(super) fn summary(&self, kept: usize) -> String {
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
pub(super) fn execute(plan: &Plan, stop: &Arc<AtomicBool>) -> Outcome {
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
