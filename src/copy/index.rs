//! The new worktree's git index, read with gix: which paths git tracks there (a copy never
//! writes over them, and carried times go only onto them), and, once times were carried, the
//! stat data git keeps for those files written back, so that `git status` trusts them at once
//! instead of reading every file again.
//!
//! What is written is only ever what git itself would record: the stat of a file whose entry
//! still matched the file, stat for stat, just before daft changed its time (so its bytes are
//! the ones git checked out). The index is written under git's own lock (`index.lock`), read
//! again under it, and keeps its old modification time: an entry git had to re-check because
//! it was written in the same instant as the index ("racy git") is still re-checked.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{BufWriter, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use gix::index::entry::{Flags, Mode, Stage, Stat, stat::Time};

/// How long to wait for another git command's hold on the index.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// One work tree's index.
pub(super) struct Index {
    path: PathBuf,
    hash: gix::hash::Kind,
    file: gix::index::File,
}

/// A regular file git tracks, as the index has it.
pub(super) struct Tracked {
    pub(super) rel: PathBuf,
    pub(super) stat: Stat,
}

/// What writing the carried files' stat into the index did.
pub(super) enum Recorded {
    /// This many entries now hold the files' new stat.
    Written(usize),
    /// Another git command held the index: git reads those files again once.
    Busy,
    /// A split or sparse index, which daft does not write: git reads those files again once.
    NotWritten(&'static str),
}

impl Index {
    /// The index of the work tree at `root`; `None` when it has none yet.
    pub(super) fn open(root: &Path) -> Result<Option<Self>> {
        let repo = crate::repo::Repo::discover(root)?;
        let path = repo.git_dir.join("index");
        if !path.exists() {
            return Ok(None);
        }
        let hash = gix::open_opts(&repo.git_dir, gix::open::Options::isolated())
            .map_or(gix::hash::Kind::Sha1, |repo| repo.object_hash());
        let file = read(&path, hash)?;
        Ok(Some(Self { path, hash, file }))
    }

    /// Every path git tracks, whatever its kind or stage.
    pub(super) fn paths(&self) -> HashSet<PathBuf> {
        let state = &self.file;
        state
            .entries()
            .iter()
            .map(|entry| rel_path(entry.path(state)))
            .collect()
    }

    /// The regular files git tracks and checks out (no conflicts, no `skip-worktree`).
    pub(super) fn files(&self) -> Vec<Tracked> {
        let state = &self.file;
        state
            .entries()
            .iter()
            .filter(|entry| {
                entry.stage() == Stage::Unconflicted
                    && matches!(entry.mode, Mode::FILE | Mode::FILE_EXECUTABLE)
                    && !entry.flags.contains(Flags::SKIP_WORKTREE)
            })
            .map(|entry| Tracked {
                rel: rel_path(entry.path(state)),
                stat: entry.stat,
            })
            .collect()
    }

    /// Writes `after` for each path whose entry still holds `before` (read again under git's
    /// lock). The index keeps its modification time.
    pub(super) fn record(&self, changes: &[(PathBuf, Stat, Stat)]) -> Result<Recorded> {
        if changes.is_empty() {
            return Ok(Recorded::Written(0));
        }
        let lock_path = self.path.with_extension("lock");
        let Some(lock) = Lock::take(&lock_path)? else {
            return Ok(Recorded::Busy);
        };
        let old = std::fs::metadata(&self.path).context("cannot read git's index")?;
        let mut file = read(&self.path, self.hash)?;
        if file.link().is_some() {
            return Ok(Recorded::NotWritten("a split index"));
        }
        if file.is_sparse() {
            return Ok(Recorded::NotWritten("a sparse index"));
        }
        let mut written = 0;
        for (rel, before, after) in changes {
            let path = gix::bstr::BStr::new(rel.as_os_str().as_bytes());
            if let Some(entry) = file.entry_mut_by_path_and_stage(path, Stage::Unconflicted)
                && entry.stat == *before
            {
                entry.stat = *after;
                written += 1;
            }
        }
        if written == 0 {
            return Ok(Recorded::Written(0));
        }
        let mut out = BufWriter::new(&lock.file);
        file.write_to(&mut out, gix::index::write::Options::default())
            .map_err(|err| anyhow::anyhow!("cannot write git's index: {err}"))?;
        out.flush()?;
        drop(out);
        // Entries git would re-check under the old index's time stay re-checked.
        lock.file.set_modified(old.modified()?)?;
        lock.commit(&self.path)?;
        Ok(Recorded::Written(written))
    }
}

fn read(path: &Path, hash: gix::hash::Kind) -> Result<gix::index::File> {
    gix::index::File::at(path, hash, false, gix::index::decode::Options::default())
        .map_err(|err| anyhow::anyhow!("cannot read git's index {}: {err}", path.display()))
}

fn rel_path(path: &gix::bstr::BStr) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(path))
}

/// The stat git records for a file, from its metadata (truncated as git truncates it).
pub(super) fn stat_of(meta: &std::fs::Metadata) -> Stat {
    Stat {
        mtime: Time {
            secs: meta.mtime() as u32,
            nsecs: meta.mtime_nsec() as u32,
        },
        ctime: Time {
            secs: meta.ctime() as u32,
            nsecs: meta.ctime_nsec() as u32,
        },
        dev: meta.dev() as u32,
        ino: meta.ino() as u32,
        uid: meta.uid(),
        gid: meta.gid(),
        size: meta.len() as u32,
    }
}

/// Whether `meta` is what `recorded` says, by the fields git compares (the device aside).
pub(super) fn unchanged(recorded: &Stat, meta: &std::fs::Metadata) -> bool {
    let now = stat_of(meta);
    Stat {
        dev: recorded.dev,
        ..now
    } == *recorded
}

/// git's `index.lock`, made exclusively, removed unless committed.
struct Lock {
    path: PathBuf,
    file: std::fs::File,
    committed: bool,
}

impl Lock {
    /// Takes the lock, waiting a little for another git command to let go of it.
    fn take(path: &Path) -> Result<Option<Self>> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match std::fs::File::options()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(file) => {
                    return Ok(Some(Self {
                        path: path.to_owned(),
                        file,
                        committed: false,
                    }));
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Instant::now() >= deadline {
                        return Ok(None);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot create {}", path.display()));
                }
            }
        }
    }

    fn commit(mut self, to: &Path) -> Result<()> {
        std::fs::rename(&self.path, to)
            .with_context(|| format!("cannot put the new index in place at {}", to.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
