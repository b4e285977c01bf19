//! Writing files so that a concurrent reader never sees half of one, and so that nothing
//! planted in the directory (a symlink at a guessable name) can redirect the write.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to a new, randomly named file beside `path` (created exclusively, so never
/// through a symlink) and renames it into place: a reader sees the old content or the new,
/// never half of one.
pub(crate) fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    replace(path.as_ref(), bytes, Readers::Daft)
}

/// [`write_atomically`] for a file people read (a man page): readable as the umask allows,
/// like any file they would write themselves, not only by daft's user.
pub(crate) fn write_for_people(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, Readers::Umask)
}

/// Who may read what daft writes.
#[derive(Clone, Copy)]
enum Readers {
    /// daft's own records: its user alone (0600).
    Daft,
    /// A file for people (a config, a man page): 0666 less the umask, as an editor writes it.
    Umask,
}

fn replace(path: &Path, bytes: &[u8], readers: Readers) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = (|| {
        let file = filled_temp_in(dir, bytes, readers)?;
        file.persist(path).map_err(|err| err.error)?;
        std::io::Result::Ok(())
    })();
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `bytes` to `path`, which must not exist: the file appears whole or not at all, and
/// one that another process made first is never replaced. It is a file people read and
/// commit (`daft init`'s config), so it is readable as the umask allows: teammates on a
/// shared checkout can read it.
pub(crate) fn write_new_for_people(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file = filled_temp_in(dir, bytes, Readers::Umask)?;
    file.persist_noclobber(path).map_err(|err| err.error)?;
    Ok(())
}

/// A new, randomly named file in `dir` (created exclusively, so never through a symlink)
/// holding `bytes`, removed again unless it is persisted.
fn filled_temp_in(
    dir: &Path,
    bytes: &[u8],
    readers: Readers,
) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".daft-").suffix(".tmp");
    if let Readers::Umask = readers {
        // Given to open(2), so the umask applies as to any new file.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(bytes)?;
    Ok(file)
}

/// Removes the directory at `path` and all it holds; one that is not there is fine.
pub(crate) fn remove_dir_all_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Removes the file at `path`; one that is not there is fine.
pub(crate) fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Opens (creating) a lock file without following a symlink planted in its place, and takes
/// its lock; dropping the file releases it.
pub(crate) fn open_lock(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(crate::platform::NO_FOLLOW)
        .open(path)
        .with_context(|| format!("cannot open the lock {}", path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(lock)
}

/// A path in a JSON record, byte for byte: a string where it is UTF-8, else its bytes.
pub(crate) mod json_path {
    use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Form {
        Text(String),
        Bytes(Vec<u8>),
    }

    fn form(path: &std::path::Path) -> Form {
        match path.to_str() {
            Some(text) => Form::Text(text.to_owned()),
            None => Form::Bytes(path.as_os_str().as_bytes().to_vec()),
        }
    }

    fn path(form: Form) -> PathBuf {
        match form {
            Form::Text(text) => PathBuf::from(text),
            Form::Bytes(bytes) => PathBuf::from(std::ffi::OsString::from_vec(bytes)),
        }
    }

    #[allow(clippy::ref_option)] // serde's `with` hands over `&Option<_>`
    pub(crate) fn serialize<S: Serializer>(
        value: &Option<PathBuf>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_deref().map(form).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<PathBuf>, D::Error> {
        Ok(Option::<Form>::deserialize(d)?.map(path))
    }
}
