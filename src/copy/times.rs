//! Carried build caches stay valid, and are never stale. A fresh checkout gives every tracked
//! file a new modification time, so build tools that compare times (cargo, make, ninja, tsc,
//! Gradle…) would rebuild everything a copied cache already holds. A carried time is a claim
//! to those tools — "this file is the one the copied artifacts were built from" — so daft makes
//! it only where it is true: a tracked file of the new worktree gets the source file's time
//! only when its bytes and its executable bit (the mode git keeps) equal the source file's on
//! disk, compared byte for byte (what git's index or blob ids say is what git believes, not what is on disk:
//! `skip-worktree`, eol conversion and smudge filters make them differ).
//!
//! An edit made while daft works is never given an old time: the time is set first, then the
//! bytes are compared again and the time read back; where the file changed meanwhile it gets
//! the current time. Files are compared a directory at a time on as many threads as there are
//! CPUs, and git's index gets the stat of the files it still describes (`index`), so `git
//! status` reads none of them again.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt as _};
use cap_std::fs::{Dir, OpenOptions};
use gix::index::entry::Stat;

use super::index::{self, Index, Recorded, Tracked};
use super::place::system_time;
use super::tree::{self, Tree};

/// Files up to this size are read whole, once per side, and kept for the check after setting.
const BLOCK: usize = 64 * 1024;

/// Why a tracked file kept the time its checkout gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    /// Its bytes differ from the source file's.
    Bytes,
    /// Its mode differs (an executable bit).
    Mode,
    /// The source worktree has no regular file there.
    NotInSource,
    /// It changed while daft looked at it.
    Meanwhile,
}

/// What carrying the times did.
#[derive(Default)]
pub(super) struct Carried {
    pub(super) tracked: usize,
    pub(super) given: usize,
    pub(super) bytes: usize,
    pub(super) mode: usize,
    pub(super) not_in_source: usize,
    pub(super) meanwhile: usize,
    pub(super) took: Duration,
    pub(super) index: Option<Recorded>,
}

impl Carried {
    /// The line for the job's log.
    pub(super) fn summary(&self) -> String {
        use std::fmt::Write as _;
        let kept = self.bytes + self.mode + self.not_in_source + self.meanwhile;
        let why: Vec<String> = [
            (self.bytes, "whose bytes differ"),
            (self.mode, "whose executable bit differs"),
            (self.not_in_source, "not in the source worktree"),
            (self.meanwhile, "changed while daft worked"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        let mut line = format!(
            "tracked files: {} of {} given the source worktree's modification times (same bytes, same executable bit), so the copied build cache stays valid",
            self.given, self.tracked
        );
        if kept > 0 {
            let _ = write!(
                line,
                "; {kept} kept their checkout times: {}",
                why.join(", ")
            );
        }
        let _ = write!(line, " [{:.2} s]", self.took.as_secs_f64());
        let _ = match &self.index {
            Some(Recorded::Written(n)) if *n < self.given => write!(
                line,
                "; git reads {} of them once more (changed since their checkout)",
                self.given - n
            ),
            Some(Recorded::Written(_)) | None => Ok(()),
            Some(Recorded::Busy) => write!(
                line,
                "; git's index was held by another git command, so git reads those files once more"
            ),
            Some(Recorded::NotWritten(what)) => write!(
                line,
                "; git's index is {what}, which daft does not write, so git reads those files once more"
            ),
        };
        line
    }
}

/// One file's outcome: carried, with its stat before and after, or kept and why.
enum Outcome {
    /// Given the source's time; with the stat git's index gets, where its entry still
    /// described the file.
    Carried(Option<(Stat, Stat)>),
    Kept(Kept),
}

/// Gives the tracked files of `dst` whose bytes and executable bit equal `src`'s the source's
/// modification times, and tells git's index.
pub(super) fn carry(src: &Tree, dst: &Tree, index: &Index) -> Carried {
    let started = Instant::now();
    let files = index.files();
    let mut by_dir: BTreeMap<PathBuf, Vec<Tracked>> = BTreeMap::new();
    for file in files {
        let (parent, _) = tree::split(&file.rel);
        by_dir.entry(parent.to_owned()).or_default().push(file);
    }
    let groups: Vec<(PathBuf, Vec<Tracked>)> = by_dir.into_iter().collect();
    let tracked = groups.iter().map(|(_, files)| files.len()).sum();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(PathBuf, Outcome)>> = Mutex::new(Vec::with_capacity(tracked));
    let work = || {
        let mut buffers = Buffers::default();
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some((parent, files)) = groups.get(i) else {
                break;
            };
            compare_dir(src, dst, parent, files, &mut buffers, &mut mine);
        }
        if let Ok(mut all) = results.lock() {
            all.append(&mut mine);
        }
    };
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    std::thread::scope(|scope| {
        // A thread that cannot start leaves its share to the others (and to this one).
        for _ in 1..workers.min(groups.len()) {
            if std::thread::Builder::new()
                .spawn_scoped(scope, work)
                .is_err()
            {
                break;
            }
        }
        work();
    });
    let mut out = Carried {
        tracked,
        ..Carried::default()
    };
    let mut changes = Vec::new();
    for (rel, outcome) in results.into_inner().unwrap_or_default() {
        match outcome {
            Outcome::Carried(index) => {
                out.given += 1;
                if let Some((before, after)) = index {
                    changes.push((rel, before, after));
                }
            }
            Outcome::Kept(Kept::Bytes) => out.bytes += 1,
            Outcome::Kept(Kept::Mode) => out.mode += 1,
            Outcome::Kept(Kept::NotInSource) => out.not_in_source += 1,
            Outcome::Kept(Kept::Meanwhile) => out.meanwhile += 1,
        }
    }
    if !changes.is_empty() {
        out.index = Some(index.record(&changes).unwrap_or(Recorded::Busy));
    }
    out.took = started.elapsed();
    out
}

/// Reused read buffers of one worker.
#[derive(Default)]
struct Buffers {
    src: Vec<u8>,
    dst: Vec<u8>,
}

/// The files of one directory (`parent`), both directories opened once.
fn compare_dir(
    src: &Tree,
    dst: &Tree,
    parent: &Path,
    files: &[Tracked],
    buffers: &mut Buffers,
    out: &mut Vec<(PathBuf, Outcome)>,
) {
    let dirs = src.dir_at(parent).ok().zip(dst.dir_at(parent).ok());
    for file in files {
        let outcome = match &dirs {
            Some((from, to)) => {
                let (_, name) = tree::split(&file.rel);
                carry_one(from, to, name, &file.stat, buffers, &|| {})
            }
            None => Outcome::Kept(Kept::NotInSource),
        };
        out.push((file.rel.clone(), outcome));
    }
}

fn open(dir: &Dir, name: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).follow(FollowSymlinks::No);
    Ok(dir.open_with(name, &options)?.into_std())
}

/// One file: compared, given the source's time, then compared again and its time read back.
/// (`then` runs right after the time is set: what a concurrent edit does, in tests.)
fn carry_one(
    from: &Dir,
    to: &Dir,
    name: &Path,
    recorded: &Stat,
    buffers: &mut Buffers,
    then: &dyn Fn(),
) -> Outcome {
    let Ok(ours) = open(to, name) else {
        return Outcome::Kept(Kept::Bytes);
    };
    let Ok(before) = ours.metadata() else {
        return Outcome::Kept(Kept::Bytes);
    };
    if !before.is_file() {
        return Outcome::Kept(Kept::Bytes);
    }
    let Some((theirs, source)) = open(from, name)
        .ok()
        .and_then(|f| f.metadata().ok().map(|m| (f, m)))
        .filter(|(_, m)| m.is_file())
    else {
        return Outcome::Kept(Kept::NotInSource);
    };
    // The mode as git keeps it: executable or not. The rest is the umask of whoever wrote the
    // file (a checkout's, a tarball's), which no build reads.
    if before.mode() & 0o100 != source.mode() & 0o100 {
        return Outcome::Kept(Kept::Mode);
    }
    if before.len() != source.len() || !same_bytes(&theirs, &ours, source.len(), buffers) {
        return Outcome::Kept(Kept::Bytes);
    }
    let mtime = system_time(source.mtime(), source.mtime_nsec());
    if ours
        .set_times(std::fs::FileTimes::new().set_modified(mtime))
        .is_err()
    {
        return Outcome::Kept(Kept::Meanwhile);
    }
    then();
    // Anything written from here on has a newer time than this one; anything written before
    // is in what is read now.
    let still = recheck(&theirs, &ours, source.len(), buffers);
    let after = ours.metadata();
    // (A file put in its place under the same name meanwhile has a time of its own: the old
    // one, which got the source's time, is then no longer what the name holds.)
    let holds = still
        && after.as_ref().is_ok_and(|after| {
            after.mtime() == source.mtime()
                && after.mtime_nsec() == source.mtime_nsec()
                && after.len() == before.len()
        });
    let Ok(after) = after else {
        return Outcome::Kept(Kept::Meanwhile);
    };
    if !holds {
        if after.mtime() == source.mtime() && after.mtime_nsec() == source.mtime_nsec() {
            // Not the bytes it was given the time for: it gets a time newer than both.
            let _ = ours
                .set_times(std::fs::FileTimes::new().set_modified(std::time::SystemTime::now()));
        }
        return Outcome::Kept(Kept::Meanwhile);
    }
    // git's entry describes the file only if it still matched it just before (its bytes are
    // then the ones git checked out).
    let entry = index::unchanged(recorded, &before).then(|| (*recorded, index::stat_of(&after)));
    Outcome::Carried(entry)
}

/// Whether the two files hold the same `len` bytes. A small source file stays in `buffers.src`
/// for [`recheck`].
fn same_bytes(a: &File, b: &File, len: u64, buffers: &mut Buffers) -> bool {
    if len <= BLOCK as u64 {
        let len = len as usize;
        return read_into(a, &mut buffers.src, len)
            && read_into(b, &mut buffers.dst, len)
            && buffers.src == buffers.dst;
    }
    chunks_equal(a, b, len, buffers)
}

/// The same after the time was set: only the new worktree's file is read again when the
/// source's bytes are at hand.
fn recheck(a: &File, b: &File, len: u64, buffers: &mut Buffers) -> bool {
    if len <= BLOCK as u64 {
        return read_into(b, &mut buffers.dst, len as usize) && buffers.src == buffers.dst;
    }
    chunks_equal(a, b, len, buffers)
}

/// Reads exactly `len` bytes from the start of `file` into `buf` (and checks nothing follows:
/// a read of a regular file comes back short only at its end).
fn read_into(file: &File, buf: &mut Vec<u8>, len: usize) -> bool {
    buf.resize(len + 1, 0);
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => {
                got += n;
                if got < buf.len() {
                    break;
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    buf.truncate(got);
    got == len
}

fn chunks_equal(a: &File, b: &File, len: u64, buffers: &mut Buffers) -> bool {
    let mut at = 0u64;
    while at <= len {
        let want = usize::try_from(len - at).unwrap_or(BLOCK).min(BLOCK);
        if !read_chunk(a, &mut buffers.src, at, want) || !read_chunk(b, &mut buffers.dst, at, want)
        {
            return false;
        }
        if buffers.src != buffers.dst {
            return false;
        }
        if want == 0 {
            return true; // both ended where the length says
        }
        at += want as u64;
    }
    true
}

/// Reads `want` bytes at `at`; `want == 0` checks that the file ends there.
fn read_chunk(file: &File, buf: &mut Vec<u8>, at: u64, want: usize) -> bool {
    buf.resize(want.max(1), 0);
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], at + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
        if want == 0 {
            break;
        }
    }
    buf.truncate(got);
    got == want
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pair {
        _tmp: tempfile::TempDir,
        src: std::path::PathBuf,
        dst: std::path::PathBuf,
    }

    impl Pair {
        fn new(src: &str, dst: &str) -> Self {
            let tmp = tempfile::tempdir().unwrap();
            let (s, d) = (tmp.path().join("src"), tmp.path().join("dst"));
            std::fs::create_dir_all(&s).unwrap();
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(s.join("f"), src).unwrap();
            std::fs::write(d.join("f"), dst).unwrap();
            let old = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
            File::options()
                .write(true)
                .open(s.join("f"))
                .unwrap()
                .set_modified(old)
                .unwrap();
            Self {
                _tmp: tmp,
                src: s,
                dst: d,
            }
        }

        fn carry(&self, then: &dyn Fn()) -> Outcome {
            let open = |p: &Path| Dir::open_ambient_dir(p, cap_std::ambient_authority()).unwrap();
            let recorded = index::stat_of(&std::fs::metadata(self.dst.join("f")).unwrap());
            carry_one(
                &open(&self.src),
                &open(&self.dst),
                Path::new("f"),
                &recorded,
                &mut Buffers::default(),
                then,
            )
        }

        fn dst_mtime(&self) -> i64 {
            std::fs::metadata(self.dst.join("f")).unwrap().mtime()
        }
    }

    #[test]
    fn same_bytes_get_the_source_s_time_and_git_s_entry_its_new_stat() {
        let pair = Pair::new("same\n", "same\n");
        let Outcome::Carried(Some((_, after))) = pair.carry(&|| {}) else {
            panic!("carried, with its index entry");
        };
        assert_eq!(pair.dst_mtime(), 1_000_000_000);
        assert_eq!(after.mtime.secs, 1_000_000_000);
    }

    #[test]
    fn other_bytes_or_another_mode_keep_their_time_untouched() {
        let pair = Pair::new("one\n", "two\n");
        let before = pair.dst_mtime();
        assert!(matches!(pair.carry(&|| {}), Outcome::Kept(Kept::Bytes)));
        assert_eq!(pair.dst_mtime(), before);
        let pair = Pair::new("same\n", "same\n");
        std::fs::set_permissions(
            pair.dst.join("f"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        assert!(matches!(pair.carry(&|| {}), Outcome::Kept(Kept::Mode)));
        assert_ne!(pair.dst_mtime(), 1_000_000_000);
        // Permissions git does not keep (a checkout's umask against a tarball's) are no
        // difference: the build reads neither.
        let pair = Pair::new("same\n", "same\n");
        for (name, mode) in [(&pair.src, 0o664), (&pair.dst, 0o644)] {
            std::fs::set_permissions(
                name.join("f"),
                std::os::unix::fs::PermissionsExt::from_mode(mode),
            )
            .unwrap();
        }
        assert!(matches!(pair.carry(&|| {}), Outcome::Carried(_)));
    }

    #[test]
    fn an_edit_right_after_the_time_was_set_is_never_left_with_it() {
        for edit in ["edited\n", "samf\n"] {
            let pair = Pair::new("same\n", "same\n");
            let path = pair.dst.join("f");
            // The edit keeps the old time (as a tool that restores times would): the bytes
            // read again tell.
            let outcome = pair.carry(&|| {
                let file = File::options()
                    .write(true)
                    .truncate(true)
                    .open(&path)
                    .unwrap();
                std::io::Write::write_all(&mut &file, edit.as_bytes()).unwrap();
                file.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
                    .unwrap();
            });
            assert!(
                matches!(outcome, Outcome::Kept(Kept::Meanwhile)),
                "{edit:?}"
            );
            assert!(
                pair.dst_mtime() > 1_000_000_000,
                "{edit:?}: given a time newer than both"
            );
        }
        // An edit with a time of its own keeps it.
        let pair = Pair::new("same\n", "same\n");
        let path = pair.dst.join("f");
        let outcome = pair.carry(&|| std::fs::write(&path, "edited\n").unwrap());
        assert!(matches!(outcome, Outcome::Kept(Kept::Meanwhile)));
        assert!(pair.dst_mtime() > 1_000_000_000);
        // A file replaced by another under the same name (an editor's save) has its own time.
        let pair = Pair::new("same\n", "same\n");
        let path = pair.dst.join("f");
        pair.carry(&|| {
            std::fs::write(path.with_extension("tmp"), "edited\n").unwrap();
            std::fs::rename(path.with_extension("tmp"), &path).unwrap();
        });
        assert_ne!(pair.dst_mtime(), 1_000_000_000);
    }

    #[test]
    fn large_files_are_compared_whole() {
        let big = "x".repeat(3 * BLOCK + 17);
        let mut other = big.clone();
        other.replace_range(2 * BLOCK + 5..2 * BLOCK + 6, "y");
        let pair = Pair::new(&big, &other);
        assert!(matches!(pair.carry(&|| {}), Outcome::Kept(Kept::Bytes)));
        let pair = Pair::new(&big, &big);
        assert!(matches!(pair.carry(&|| {}), Outcome::Carried(_)));
        assert_eq!(pair.dst_mtime(), 1_000_000_000);
    }
}
