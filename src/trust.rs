//! The trust store: sha256 fingerprints of config contents the user has reviewed, kept in the
//! git common dir (one trust covers every worktree of the clone; nothing in a checked-out tree
//! can write it). Anything odd about the store means "untrusted", and says why.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use crate::config::Sources;
use crate::files::write_atomically;

const HEADER: &str =
    "# daft trust store v1: <sha256 of config>[+<sha256 of daft.local.yml>] <unix time trusted>";

/// What a config's content hashes to: the config, and its local overrides if present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint(String);

impl Fingerprint {
    pub(crate) fn of(sources: &Sources) -> Self {
        let mut text = hex(&Sha256::digest(&sources.main.bytes));
        if let Some(local) = &sources.local {
            text.push('+');
            text.push_str(&hex(&Sha256::digest(&local.bytes)));
        }
        Self(text)
    }

    /// A fingerprint as recorded (`<sha256>[+<sha256>]`).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        parse_record(&format!("{text} 0")).map(|record| Self(record.fingerprint))
    }

    fn main_hash(&self) -> &str {
        self.0.split('+').next().unwrap_or(&self.0)
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Whether a config may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    Trusted,
    /// Nothing was ever trusted in this clone.
    Untrusted,
    /// Something was trusted before, but not this content.
    Changed,
    /// The store cannot be read as a store: treated as untrusted.
    Unreadable(String),
}

impl Status {
    pub(crate) fn word(&self) -> &'static str {
        match self {
            Self::Trusted => "trusted",
            Self::Untrusted => "untrusted",
            Self::Changed => "changed",
            Self::Unreadable(_) => "untrusted (trust store unreadable)",
        }
    }
}

/// One trusted fingerprint.
#[derive(Debug, Clone)]
struct Record {
    fingerprint: String,
    when: u64,
}

/// The store of one clone, at `<git-common-dir>/daft/trust/`.
pub(crate) struct Store {
    dir: PathBuf,
}

impl Store {
    pub(crate) fn new(common_dir: &Path) -> Self {
        Self {
            dir: common_dir.join("daft").join("trust"),
        }
    }

    fn records_path(&self) -> PathBuf {
        self.dir.join("records")
    }

    /// Where the trusted content with this sha256 is kept, for `daft trust` to diff against.
    fn blob_path(&self, hash: &str) -> PathBuf {
        self.dir.join("blobs").join(hash)
    }

    pub(crate) fn status(&self, fingerprint: &Fingerprint) -> Status {
        match self.read() {
            Err(reason) => Status::Unreadable(reason),
            Ok(records) if records.iter().any(|r| r.fingerprint == fingerprint.0) => {
                Status::Trusted
            }
            Ok(records) if records.is_empty() => Status::Untrusted,
            Ok(_) => Status::Changed,
        }
    }

    /// The trusted config content last recorded, to show what changed since.
    pub(crate) fn last_trusted_config(&self) -> Option<Vec<u8>> {
        let records = self.read().ok()?;
        let last = records.iter().max_by_key(|r| r.when)?;
        let hash = last.fingerprint.split('+').next()?;
        self.blob(hash)
    }

    /// The contents (config, local overrides) of `fingerprint`, if it is trusted and its
    /// copies are kept.
    pub(crate) fn contents(&self, fingerprint: &Fingerprint) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        if self.status(fingerprint) != Status::Trusted {
            return None;
        }
        let mut hashes = fingerprint.0.split('+');
        let main = self.blob(hashes.next()?)?;
        let local = match hashes.next() {
            Some(hash) => Some(self.blob(hash)?),
            None => None,
        };
        Some((main, local))
    }

    /// The contents (config, local overrides) of every trusted fingerprint whose copies are
    /// kept: what the clone has agreed to run.
    pub(crate) fn trusted_contents(&self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let Ok(records) = self.read() else {
            return Vec::new();
        };
        records
            .iter()
            .filter_map(|record| {
                let mut hashes = record.fingerprint.split('+');
                let main = self.blob(hashes.next()?)?;
                let local = match hashes.next() {
                    Some(hash) => Some(self.blob(hash)?),
                    None => None,
                };
                Some((main, local))
            })
            .collect()
    }

    /// A kept copy, if its bytes still hash to its name.
    fn blob(&self, hash: &str) -> Option<Vec<u8>> {
        let bytes = fs::read(self.blob_path(hash)).ok()?;
        (hex(&Sha256::digest(&bytes)) == hash).then_some(bytes)
    }

    /// Reads every record. Any surprise (a symlink, a directory, a line that is not a record)
    /// makes the whole store unreadable rather than partly trusted.
    fn read(&self) -> Result<Vec<Record>, String> {
        for (path, want_dir) in [(&self.dir, true), (&self.records_path(), false)] {
            match path.symlink_metadata() {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(format!("{} is a symlink", path.display()));
                }
                // Anything but a plain file could hang the read (a FIFO) or mean something else.
                Ok(meta) if meta.is_dir() != want_dir || !(meta.is_dir() || meta.is_file()) => {
                    return Err(format!(
                        "{} is not a {}",
                        path.display(),
                        if want_dir {
                            "directory"
                        } else {
                            "regular file"
                        }
                    ));
                }
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(err) => return Err(format!("{}: {err}", path.display())),
            }
        }
        let path = self.records_path();
        let text = fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
        let mut records = Vec::new();
        for (number, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let record = parse_record(line)
                .ok_or_else(|| format!("{}:{}: not a trust record", path.display(), number + 1))?;
            records.push(record);
        }
        Ok(records)
    }

    /// Records `sources` as trusted: a copy of the content for later diffs, then the record,
    /// written under a lock and atomically. A store that could not be read is set aside, not
    /// overwritten.
    pub(crate) fn trust(&self, sources: &Sources) -> Result<()> {
        let fingerprint = Fingerprint::of(sources);
        self.with_lock(|records| {
            for source in std::iter::once(&sources.main).chain(&sources.local) {
                let hash = hex(&Sha256::digest(&source.bytes));
                write_atomically(self.blob_path(&hash), &source.bytes)?;
            }
            records.retain(|r| r.fingerprint != fingerprint.0);
            records.push(Record {
                fingerprint: fingerprint.0.clone(),
                when: now(),
            });
            Ok(())
        })
    }

    /// Removes the record for `fingerprint`. Returns whether there was one.
    pub(crate) fn untrust(&self, fingerprint: &Fingerprint) -> Result<bool> {
        let mut removed = false;
        self.with_lock(|records| {
            let before = records.len();
            records.retain(|r| r.fingerprint != fingerprint.0);
            removed = records.len() != before;
            Ok(())
        })?;
        Ok(removed)
    }

    fn with_lock(&self, change: impl FnOnce(&mut Vec<Record>) -> Result<()>) -> Result<()> {
        if self.dir.symlink_metadata().is_ok_and(|meta| !meta.is_dir()) {
            bail!(
                "{} is not a directory; move it aside and run this again",
                self.dir.display()
            );
        }
        fs::create_dir_all(self.dir.join("blobs"))
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let _lock = open_lock(&self.dir.join("lock"))?;
        let mut records = match self.read() {
            Ok(records) => records,
            Err(reason) => {
                let aside = self.dir.join(format!("records.unreadable-{}", now()));
                let records = self.records_path();
                if records.symlink_metadata().is_ok() {
                    fs::rename(&records, &aside)
                        .with_context(|| format!("cannot move {} aside", records.display()))?;
                    eprintln!(
                        "daft: the trust store was unreadable ({}); moved it to {} and started a new one",
                        crate::escape::text(&reason),
                        crate::escape::text(&aside.to_string_lossy())
                    );
                }
                Vec::new()
            }
        };
        change(&mut records)?;
        let mut text = format!("{HEADER}\n");
        for record in &records {
            let _ = writeln!(text, "{} {}", record.fingerprint, record.when);
        }
        write_atomically(self.records_path(), text.as_bytes())
    }
}

/// Opens (creating) a lock file without following a symlink planted in its place.
pub(crate) fn open_lock(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot open the lock {}", path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(lock)
}

fn parse_record(line: &str) -> Option<Record> {
    let mut fields = line.split(' ');
    let fingerprint = fields.next()?;
    let when = fields.next()?.parse().ok()?;
    let well_formed = fingerprint.split('+').count() <= 2
        && fingerprint
            .split('+')
            .all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    well_formed.then(|| Record {
        fingerprint: fingerprint.to_owned(),
        when,
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The short hash shown to users.
pub(crate) fn short(fingerprint: &Fingerprint) -> &str {
    &fingerprint.main_hash()[..12]
}
