//! Where the files git runs live, so that nothing git is told of stops existing when the
//! repository moves. A repository's install keeps its shims (hooks-path mode) and its linked
//! names (config mode) outside the repository, in a directory of the user's keyed to the
//! clone — `$XDG_DATA_HOME/daft/repos/<key>/` — whose key the clone's install record holds, so
//! `mv repo elsewhere` leaves every path git was given in place. (An install made by an older
//! daft kept them in `<common>/daft` and moves out at its next `daft install`.) A global
//! install's files are `$XDG_DATA_HOME/daft/` itself.
//!
//! Also the wait for git's lock on a config file: an install or uninstall changes git's config
//! only once no other git command holds it, or changes nothing and says so.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// How long an install or uninstall waits for another git command's hold on a config file.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The per-user directory of the repository install keyed `key`.
pub(crate) fn keyed(key: &str) -> Result<PathBuf> {
    Ok(crate::env::data_dir()?.join("repos").join(key))
}

/// A new key for a clone at `common_dir`: short, unique to this install.
pub(crate) fn new_key(common_dir: &Path) -> String {
    use sha2::Digest as _;
    let name = common_dir
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let slug: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(24)
        .collect();
    let seed = format!(
        "{}\0{}\0{:?}",
        common_dir.display(),
        std::process::id(),
        std::time::SystemTime::now()
    );
    let digest = sha2::Sha256::digest(seed.as_bytes());
    let hex = crate::escape::hex(&digest[..6]);
    if slug.is_empty() {
        hex
    } else {
        format!("{slug}-{hex}")
    }
}

/// Records in the keyed directory `place` which clone it belongs to (for `daft doctor`).
pub(crate) fn note_owner(place: &Path, common_dir: &Path) -> Result<()> {
    fs::create_dir_all(place)?;
    let file = place.join("repository");
    let text = common_dir.as_os_str().as_encoded_bytes();
    if fs::read(&file).ok().as_deref() != Some(text) {
        crate::files::write_atomically(file, text)?;
    }
    Ok(())
}

/// Whether `value` (a `core.hooksPath`) names a hooks directory daft made: one that holds
/// daft's shims, or one under a daft directory that is gone (a repository moved since an older
/// daft installed there). Such a value is never taken for the hooks that ran before daft.
pub(crate) fn is_daft_hooks_dir(value: &Path) -> bool {
    let named = value.ends_with("daft/hooks")
        || value
            .parent()
            .and_then(Path::parent)
            .is_some_and(|repos| repos.ends_with("daft/repos"));
    if !named {
        return false;
    }
    match fs::read_dir(value) {
        Ok(entries) => entries
            .flatten()
            .any(|entry| crate::shim::is_shim(&entry.path())),
        Err(_) => true,
    }
}

/// Waits until no git command holds the lock of `config` (the config file it changes), at
/// most a few seconds; otherwise an error that says nothing was changed.
pub(crate) fn await_config_lock(config: &Path) -> Result<()> {
    let mut lock = config.as_os_str().to_owned();
    lock.push(".lock");
    let lock = PathBuf::from(lock);
    let deadline = Instant::now() + LOCK_WAIT;
    while lock.exists() {
        if Instant::now() >= deadline {
            bail!(
                "another git command holds {} (an editor or IDE running git?), so daft changed nothing; try again once it is done, or remove that file if no git command is running",
                lock.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The config file `git config --global` writes to.
pub(crate) fn global_config_file() -> Result<PathBuf> {
    if let Some(file) = std::env::var_os("GIT_CONFIG_GLOBAL") {
        return Ok(PathBuf::from(file));
    }
    let home = crate::env::home()?.join(".gitconfig");
    let xdg = std::env::var_os("XDG_CONFIG_HOME").map_or_else(
        || crate::env::home().map(|h| h.join(".config")),
        |d| Ok(PathBuf::from(d)),
    )?;
    let xdg = xdg.join("git").join("config");
    Ok(if !home.exists() && xdg.exists() {
        xdg
    } else {
        home
    })
}

/// The file listing the clones where a global install registered events of their own (their
/// trusted configs name git hooks): `daft uninstall --global` takes those registrations out.
fn clones_file() -> Result<PathBuf> {
    Ok(crate::env::data_dir()?.join("clones"))
}

/// The clones a global install registered events in.
pub(crate) fn known_clones() -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(bytes) = clones_file().and_then(|f| Ok(fs::read(f)?)) else {
        return Vec::new();
    };
    bytes
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p)))
        .collect()
}

/// Adds (or, with `keep: false`, removes) `common_dir` in the list of [`known_clones`].
pub(crate) fn note_clone(common_dir: &Path, keep: bool) -> Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let file = clones_file()?;
    let mut clones = known_clones();
    let known = clones.iter().any(|c| c == common_dir);
    if known == keep {
        return Ok(());
    }
    clones.retain(|c| c != common_dir);
    if keep {
        clones.push(common_dir.to_owned());
    }
    let mut bytes = Vec::new();
    for clone in &clones {
        bytes.extend_from_slice(clone.as_os_str().as_bytes());
        bytes.push(0);
    }
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir)?;
    }
    crate::files::write_atomically(file, &bytes)
}
