//! Carrying one path over, through directory handles: directories made as the source's, files
//! on as many threads as there are CPUs — each cloned where the file system can (`FICLONE`),
//! else copied in chunks that notice a stop, under a temporary name put in place whole, never
//! over anything already there — symlinks copied as they are, hard links kept as links, modes
//! and times kept (set-id bits dropped when the copy's owner is not the source's, as `cp`
//! does). A temporary file a killed copy left is swept by the next one.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use cap_fs_ext::{DirExt as _, FollowSymlinks, OpenOptionsFollowExt as _, SystemTimeSpec};
use cap_std::fs::{Dir, MetadataExt as _, OpenOptions};

use super::outcome::{Outcome, Progress};
use super::place::{copy_link, place, std_times, sweep, temp_name, times};
use super::tree::{self, Tree};
use super::unmovable::{self, Scan};

/// Why a cargo profile's `incremental/` is not carried: rustc keys its incremental caches to
/// the directory the crate was built in, so from another one they are dead weight (measured
/// on ripgrep: the first edit-build took as long with them as without, and they were 40% of
/// `target/`).
const INCREMENTAL: &str = "rustc's incremental cache, which it cannot reuse from another directory; the new worktree builds its own";

/// A file for a worker: where it is, where it goes.
struct FileJob {
    src: Arc<Dir>,
    dst: Arc<Dir>,
    name: OsString,
    rel: PathBuf,
    size: u64,
}

/// Where the walk sends the files it finds: to the workers, or — none could start — to be
/// copied where it is.
enum Sink<'a> {
    Workers(&'a mpsc::SyncSender<FileJob>),
    Here(&'a Scan, &'a Progress, &'a Mutex<Outcome>),
}

/// How one root is carried over.
pub(super) struct Copier<'a> {
    pub(super) src: &'a Tree,
    pub(super) dst: &'a Tree,
    /// Paths git tracks in the new worktree: never written.
    pub(super) tracked: &'a HashSet<PathBuf>,
    pub(super) stop: &'a AtomicBool,
    /// Directories of the source looked at for a virtual environment, and what was found.
    pub(super) venvs: Mutex<HashMap<PathBuf, Option<String>>>,
}

impl Copier<'_> {
    /// Copies `rel` (a file, a directory or a symlink of the source worktree) into the same
    /// place in the new one.
    pub(super) fn copy(&self, rel: &Path) -> Outcome {
        let mut outcome = Outcome::default();
        if let Err(err) = self.copy_into(rel, &mut outcome) {
            outcome.error(format!("{}: {err}", rel.display()));
        }
        outcome
    }

    fn copy_into(&self, rel: &Path, outcome: &mut Outcome) -> io::Result<()> {
        let (parent, name) = tree::split(rel);
        let src_parent = self.src.dir_at(parent)?;
        let meta = src_parent.symlink_metadata(name)?;
        let kind = meta.file_type();
        // A tree that cannot move is refused however it is named: whole, or a part of it.
        if let Some(problem) = self.in_venv(if kind.is_dir() { rel } else { parent }) {
            outcome.unmovable = Some(problem);
            return Ok(());
        }
        let dst_parent = self.make_parents(parent, outcome)?;
        if kind.is_dir() {
            drop(dst_parent);
            outcome.trees += 1;
            let scan = Scan::for_tree(self.src, rel);
            return self.copy_tree(rel, &scan, outcome);
        }
        if self.tracked.contains(rel) || dst_parent.symlink_metadata(name).is_ok() {
            outcome.kept += 1;
            return Ok(());
        }
        if kind.is_symlink() {
            copy_link(&src_parent, &dst_parent, name)?;
            outcome.symlinks += 1;
        } else if kind.is_file() {
            let scan = Scan::for_tree(self.src, rel);
            let job = FileJob {
                src: Arc::new(src_parent),
                dst: Arc::new(dst_parent),
                name: name.as_os_str().to_owned(),
                rel: rel.to_owned(),
                size: meta.len(),
            };
            let progress = Progress::new(meta.len());
            let done = Mutex::new(Outcome::default());
            self.copy_file(&job, &scan, &progress, &done);
            outcome.add(done.into_inner().unwrap_or_default());
        } else {
            outcome.special(rel, kind);
        }
        Ok(())
    }

    /// Why `rel` (a directory of the source) or one of the directories it is in cannot be
    /// copied, if it is (in) a Python virtual environment. Looked up once per directory.
    fn in_venv(&self, rel: &Path) -> Option<String> {
        let mut seen = self.venvs.lock().ok()?;
        for at in rel.ancestors().filter(|at| !at.as_os_str().is_empty()) {
            let found = seen.entry(at.to_owned()).or_insert_with(|| {
                self.src
                    .dir_at(at)
                    .ok()
                    .and_then(|dir| unmovable::venv(&dir, at))
            });
            if let Some(problem) = found {
                return Some(problem.clone());
            }
        }
        None
    }

    /// The new worktree's directories that hold `parent`, made as the source's where missing.
    fn make_parents(&self, parent: &Path, outcome: &mut Outcome) -> io::Result<Dir> {
        let mut at = PathBuf::new();
        let mut dir = self.dst.dir.try_clone()?;
        for part in parent.components() {
            at.push(part);
            let mode = self.src.dir_at(&at)?.dir_metadata()?.mode();
            let name = Path::new(part.as_os_str());
            if tree::make_dir(&dir, name, mode)? {
                outcome.trees += 1;
            }
            dir = dir.open_dir_nofollow(name).map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!(
                        "{} in the new worktree is a symlink (or not a directory), and daft writes nothing through it",
                        at.display()
                    ),
                )
            })?;
        }
        Ok(dir)
    }

    /// Copies the directory `rel`, whole: the directories on this thread, the files on
    /// workers.
    fn copy_tree(&self, rel: &Path, scan: &Scan, outcome: &mut Outcome) -> io::Result<()> {
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let (tx, rx) = mpsc::sync_channel::<FileJob>(64);
        let rx = Mutex::new(rx);
        let done = Mutex::new(Outcome::default());
        let progress = Progress::new(0);
        let mut links: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut dir_times = Vec::new();
        let walked = std::thread::scope(|scope| {
            let work = || {
                loop {
                    let job = rx.lock().ok().and_then(|rx| rx.recv().ok());
                    let Some(job) = job else { return };
                    if self.stop.load(Ordering::Relaxed) {
                        continue; // drain: the walk stops soon
                    }
                    self.copy_file(&job, scan, &progress, &done);
                }
            };
            // A system out of threads gets fewer workers; with none, the walk copies each
            // file itself.
            let started = (0..workers)
                .take_while(|_| {
                    std::thread::Builder::new()
                        .spawn_scoped(scope, work)
                        .is_ok()
                })
                .count();
            let sink = if started == 0 {
                Sink::Here(scan, &progress, &done)
            } else {
                Sink::Workers(&tx)
            };
            let walked = self.walk(
                rel,
                scan.cargo(),
                &sink,
                &progress,
                &mut links,
                &mut dir_times,
                outcome,
            );
            drop(tx);
            walked
        });
        outcome.add(done.into_inner().unwrap_or_default());
        walked?;
        self.link(&links, outcome);
        // Filling a directory changes its times: set them last, deepest first.
        for (dir_rel, atime, mtime) in dir_times.into_iter().rev() {
            let (parent, name) = tree::split(&dir_rel);
            if let Ok(dir) = self.dst.dir_at(parent) {
                let _ = dir.set_symlink_times(name, Some(atime), Some(mtime));
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        rel: &Path,
        cargo: bool,
        tx: &Sink<'_>,
        progress: &Progress,
        links: &mut Vec<(PathBuf, PathBuf)>,
        dir_times: &mut Vec<(PathBuf, SystemTimeSpec, SystemTimeSpec)>,
        outcome: &mut Outcome,
    ) -> io::Result<()> {
        let mut first_of: HashMap<(u64, u64), PathBuf> = HashMap::new();
        // Only paths wait on the stack: a wide tree holds no more than a few descriptors.
        let mut stack = vec![rel.to_owned()];
        while let Some(rel) = stack.pop() {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let src = Arc::new(self.src.dir_at(&rel)?);
            let meta = src.dir_metadata()?;
            let (parent, name) = tree::split(&rel);
            let dst_parent = self.dst.dir_at(parent)?;
            let existed = dst_parent.symlink_metadata(name).is_ok();
            tree::make_dir(&dst_parent, name, meta.mode())?;
            let dst = Arc::new(dst_parent.open_dir_nofollow(name).map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!(
                        "{} in the new worktree is a symlink (or not a directory), and daft writes nothing through it",
                        rel.display()
                    ),
                )
            })?);
            if existed {
                outcome.swept += sweep(&dst);
            } else {
                let (atime, mtime) = times(&meta);
                dir_times.push((rel.clone(), atime, mtime));
            }
            let mut entries: Vec<_> = src.entries()?.flatten().collect();
            entries.sort_by_key(cap_std::fs::DirEntry::file_name);
            for entry in entries {
                let entry_name = entry.file_name();
                let entry_rel = rel.join(&entry_name);
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if entry_name == "incremental"
                        && src.is_dir(".fingerprint")
                        && (cargo || src.is_dir("deps"))
                    {
                        outcome.left_out.push((entry_rel, INCREMENTAL));
                        continue;
                    }
                    let venv = src
                        .open_dir_nofollow(&entry_name)
                        .ok()
                        .and_then(|sub| unmovable::venv(&sub, &entry_rel));
                    match venv {
                        Some(problem) => outcome.unmovable = Some(problem),
                        None => stack.push(entry_rel),
                    }
                    continue;
                }
                if self.tracked.contains(&entry_rel) || dst.symlink_metadata(&entry_name).is_ok() {
                    outcome.kept += 1;
                    continue;
                }
                if kind.is_symlink() {
                    match copy_link(&src, &dst, Path::new(&entry_name)) {
                        Ok(()) => outcome.symlinks += 1,
                        Err(err) => outcome.error(format!("{}: {err}", entry_rel.display())),
                    }
                } else if kind.is_file() {
                    let Ok(meta) = src.symlink_metadata(&entry_name) else {
                        continue;
                    };
                    if meta.nlink() > 1 {
                        let key = (meta.dev(), meta.ino());
                        if let Some(first) = first_of.get(&key) {
                            links.push((first.clone(), entry_rel));
                            continue;
                        }
                        first_of.insert(key, entry_rel.clone());
                    }
                    progress.expect(meta.len());
                    let job = FileJob {
                        src: Arc::clone(&src),
                        dst: Arc::clone(&dst),
                        name: entry_name,
                        rel: entry_rel,
                        size: meta.len(),
                    };
                    match tx {
                        Sink::Workers(tx) => {
                            if tx.send(job).is_err() {
                                return Ok(());
                            }
                        }
                        Sink::Here(scan, progress, done) => {
                            self.copy_file(&job, scan, progress, done);
                        }
                    }
                } else {
                    outcome.special(&entry_rel, kind);
                }
            }
        }
        Ok(())
    }

    /// One file, to a temporary name beside its place, then put in place whole.
    fn copy_file(&self, job: &FileJob, scan: &Scan, progress: &Progress, done: &Mutex<Outcome>) {
        let mut outcome = Outcome::default();
        match self.transfer(job, scan, &mut outcome) {
            Ok(()) => {}
            Err(_) if self.stop.load(Ordering::Relaxed) => {}
            Err(err) => outcome.error(format!("{}: {err}", job.rel.display())),
        }
        progress.add(job.size);
        if let Ok(mut done) = done.lock() {
            done.add(outcome);
        }
    }

    fn transfer(&self, job: &FileJob, scan: &Scan, outcome: &mut Outcome) -> io::Result<()> {
        let mut read = OpenOptions::new();
        read.read(true).follow(FollowSymlinks::No);
        let src = job.src.open_with(&job.name, &read)?.into_std();
        let meta = src.metadata()?;
        if !meta.is_file() {
            return Ok(()); // replaced while we looked: not carried
        }
        let tmp = temp_name(&job.name);
        let (dst, cloned) = crate::platform::new_clone(&src, &job.dst, &tmp)?;
        let result = (|| -> io::Result<bool> {
            if !cloned {
                crate::platform::copy_contents(&src, &dst, meta.len(), self.stop)?;
            }
            let mut mode = meta.mode() & 0o7777;
            let mine = dst.metadata()?;
            if mode & 0o4000 != 0 && meta.uid() != mine.uid() {
                mode &= !0o4000;
                outcome
                    .setid_dropped
                    .push((job.rel.clone(), "set-user-id", meta.uid()));
            }
            if mode & 0o2000 != 0 && meta.gid() != mine.gid() {
                mode &= !0o2000;
                outcome
                    .setid_dropped
                    .push((job.rel.clone(), "set-group-id", meta.gid()));
            }
            dst.set_permissions(std::fs::Permissions::from_mode(mode))?;
            let (atime, mtime) = std_times(&meta);
            dst.set_times(
                std::fs::FileTimes::new()
                    .set_accessed(atime)
                    .set_modified(mtime),
            )?;
            place(&job.dst, &tmp, &job.name)?;
            Ok(cloned)
        })();
        match result {
            Ok(cloned) => {
                outcome.files += 1;
                if cloned {
                    outcome.cloned += meta.len();
                } else {
                    outcome.copied += meta.len();
                }
                if scan.points_back(&src, meta.len()) {
                    outcome.points_back.push(job.rel.clone());
                }
                Ok(())
            }
            Err(err) => {
                let _ = job.dst.remove_file(&tmp);
                if err.kind() == io::ErrorKind::AlreadyExists {
                    outcome.kept += 1;
                    return Ok(());
                }
                Err(err)
            }
        }
    }

    /// Hard links of the source between files of the copy, made between their copies.
    fn link(&self, links: &[(PathBuf, PathBuf)], outcome: &mut Outcome) {
        for (first, other) in links {
            let (first_parent, first_name) = tree::split(first);
            let (parent, name) = tree::split(other);
            let made = self.dst.dir_at(first_parent).and_then(|from| {
                let to = self.dst.dir_at(parent)?;
                from.hard_link(first_name, &to, name)
            });
            match made {
                Ok(()) => outcome.hard_links += 1,
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => outcome.kept += 1,
                Err(err) => outcome.error(format!("{}: {err}", other.display())),
            }
        }
    }
}
