//! The trust store: sha256 fingerprints of config contents the user has reviewed, kept in the
//! git common dir (one trust covers every worktree of the clone; nothing in a checked-out tree
//! can write it). Anything odd about the store means "untrusted", and says why.
//!
//! What may run is a [`Trusted`]: a config whose bytes were checked against the store, which
//! nothing else can construct, so the fingerprint a run records is the one that was checked.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

use crate::config::{Config, Sources};
use crate::error::ConfigError;
use crate::escape::hex;
use crate::files::{open_lock, write_atomically};
use crate::state::State;

const HEADER: &str = "# daft trust store v1: <sha256 of config>[+<sha256 of daft.local.yml>] <unix time trusted>; a line starting with ! was untrusted by the user";

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
        if text.starts_with('!') {
            return None;
        }
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

/// Whether a config may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    Trusted,
    /// Nothing was ever trusted in this clone.
    Untrusted,
    /// Something else was trusted before, but not this content.
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

/// A config that may run: its exact bytes, checked against the store.
#[derive(Debug, Clone)]
pub(crate) struct Trusted {
    sources: Sources,
    fingerprint: Fingerprint,
}

impl Trusted {
    pub(crate) fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    pub(crate) fn parse(&self) -> Result<Config, ConfigError> {
        self.sources.parse()
    }
}

/// Why the content kept for a fingerprint cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kept {
    /// The user no longer trusts it.
    NotTrusted,
    /// Its copy is missing or no longer hashes to its name.
    Damaged(String),
}

/// One trusted (or, `revoked`, explicitly untrusted) fingerprint.
#[derive(Debug, Clone)]
struct Record {
    fingerprint: String,
    when: u64,
    revoked: bool,
}

/// The store of one clone, at `<git-common-dir>/daft/trust/`.
pub(crate) struct Store {
    dir: PathBuf,
}

impl Store {
    pub(crate) fn new(state: &State) -> Self {
        Self {
            dir: state.trust_dir(),
        }
    }

    /// Notes that `fingerprint`'s config was refused for its mistakes (by `daft trust`), so a
    /// hook can say that, not "not trusted yet", without parsing what is not trusted. Only
    /// the latest is kept; best effort.
    pub(crate) fn note_invalid(&self, fingerprint: &Fingerprint) {
        let _ = crate::files::write_atomically(self.dir.join("invalid"), fingerprint.0.as_bytes());
    }

    /// Whether `fingerprint`'s config is the one last refused for its mistakes.
    pub(crate) fn known_invalid(&self, fingerprint: &Fingerprint) -> bool {
        std::fs::read(self.dir.join("invalid")).is_ok_and(|noted| noted == fingerprint.0.as_bytes())
    }

    /// `sources` as a config that may run, or why not.
    pub(crate) fn check(&self, sources: Sources) -> Result<Trusted, (Sources, Status)> {
        let fingerprint = Fingerprint::of(&sources);
        match self.status(&fingerprint) {
            Status::Trusted => Ok(Trusted {
                sources,
                fingerprint,
            }),
            status => Err((sources, status)),
        }
    }

    /// The content kept for `fingerprint`, as a config that may run (a removed worktree's
    /// teardown), or why not.
    pub(crate) fn kept(&self, fingerprint: &Fingerprint) -> Result<Trusted, Kept> {
        if self.status(fingerprint) != Status::Trusted {
            return Err(Kept::NotTrusted);
        }
        let mut hashes = fingerprint.0.split('+');
        let main = hashes.next().unwrap_or_default();
        let damaged = |hash: &str| {
            Kept::Damaged(format!(
                "the copy of the trusted config {} is missing or damaged",
                self.blob_path(hash).display()
            ))
        };
        let main = self.blob(main).ok_or_else(|| damaged(main))?;
        let local = match hashes.next() {
            Some(hash) => Some(self.blob(hash).ok_or_else(|| damaged(hash))?),
            None => None,
        };
        let sources = Sources::from_trusted(main, local);
        Ok(Trusted {
            fingerprint: Fingerprint::of(&sources),
            sources,
        })
    }

    fn records_path(&self) -> PathBuf {
        self.dir.join("records")
    }

    /// Where the trusted content with this sha256 is kept, for `daft trust` to diff against.
    fn blob_path(&self, hash: &str) -> PathBuf {
        self.dir.join("blobs").join(hash)
    }

    pub(crate) fn status(&self, fingerprint: &Fingerprint) -> Status {
        let records = match self.read() {
            Err(reason) => return Status::Unreadable(reason),
            Ok(records) => records,
        };
        let mine = records.iter().find(|r| r.fingerprint == fingerprint.0);
        match mine {
            Some(record) if !record.revoked => Status::Trusted,
            Some(_) => Status::Untrusted,
            None if records.iter().all(|r| r.revoked) => Status::Untrusted,
            None => Status::Changed,
        }
    }

    /// The trusted config content last recorded, to show what changed since.
    pub(crate) fn last_trusted_config(&self) -> Option<Vec<u8>> {
        let records = self.read().ok()?;
        let last = records
            .iter()
            .filter(|r| !r.revoked)
            .max_by_key(|r| r.when)?;
        let hash = last.fingerprint.split('+').next()?;
        self.blob(hash)
    }

    /// The contents (config, local overrides) of every trusted fingerprint whose copies are
    /// kept: what the clone has agreed to run.
    pub(crate) fn trusted_contents(&self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let Ok(records) = self.read() else {
            return Vec::new();
        };
        records
            .iter()
            .filter(|record| !record.revoked)
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
    /// overwritten; the sentence returned says so.
    pub(crate) fn trust(&self, sources: &Sources) -> Result<(Trusted, Option<String>)> {
        let fingerprint = Fingerprint::of(sources);
        let note = self.with_lock(|records| {
            for source in std::iter::once(&sources.main).chain(&sources.local) {
                let hash = hex(&Sha256::digest(&source.bytes));
                write_atomically(self.blob_path(&hash), &source.bytes)?;
            }
            records.retain(|r| r.fingerprint != fingerprint.0);
            records.push(Record {
                fingerprint: fingerprint.0.clone(),
                when: now(),
                revoked: false,
            });
            Ok(())
        })?;
        let trusted = Trusted {
            sources: sources.clone(),
            fingerprint,
        };
        Ok((trusted, note))
    }

    /// Stops trusting `fingerprint`, and remembers that the user said so (so its status reads
    /// `untrusted`, not `changed`). Returns whether it was trusted.
    pub(crate) fn untrust(&self, fingerprint: &Fingerprint) -> Result<bool> {
        let mut removed = false;
        self.with_lock(|records| {
            removed = records
                .iter()
                .any(|r| r.fingerprint == fingerprint.0 && !r.revoked);
            records.retain(|r| r.fingerprint != fingerprint.0);
            records.push(Record {
                fingerprint: fingerprint.0.clone(),
                when: now(),
                revoked: true,
            });
            Ok(())
        })?;
        Ok(removed)
    }

    fn with_lock(
        &self,
        change: impl FnOnce(&mut Vec<Record>) -> Result<()>,
    ) -> Result<Option<String>> {
        if self.dir.symlink_metadata().is_ok_and(|meta| !meta.is_dir()) {
            bail!(
                "{} is not a directory; move it aside and run this again",
                self.dir.display()
            );
        }
        fs::create_dir_all(self.dir.join("blobs"))
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let _lock = open_lock(&self.dir.join("lock"))?;
        let mut note = None;
        let mut records = match self.read() {
            Ok(records) => records,
            Err(reason) => {
                let aside = self.dir.join(format!("records.unreadable-{}", now()));
                let records = self.records_path();
                if records.symlink_metadata().is_ok() {
                    fs::rename(&records, &aside)
                        .with_context(|| format!("cannot move {} aside", records.display()))?;
                    note = Some(format!(
                        "the trust store was unreadable ({reason}); moved it to {} and started a new one",
                        aside.display()
                    ));
                }
                Vec::new()
            }
        };
        change(&mut records)?;
        let mut text = format!("{HEADER}\n");
        for record in &records {
            let mark = if record.revoked { "!" } else { "" };
            let _ = writeln!(text, "{mark}{} {}", record.fingerprint, record.when);
        }
        write_atomically(self.records_path(), text.as_bytes())?;
        Ok(note)
    }
}

fn parse_record(line: &str) -> Option<Record> {
    let (revoked, line) = match line.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
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
        revoked,
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
