//! Putting daft into git's hook lookup and taking it out again, in one of two modes:
//!
//! - config mode (git ≥ 2.54): daft registers itself with git's config-based hooks
//!   (`hook.daft-<event>.command` / `.event`) for the events it needs and owns no hooks
//!   directory, so every other hook and hook manager keeps working untouched;
//! - hooks-path mode (older git, or chosen): shims in a directory of daft's own, pointed at by
//!   `core.hooksPath`, run the hooks that were there before.
//!
//! A scope is one repository (daft's files under its git common dir) or every repository of
//! the user (`--global`, daft's files under the XDG data dir). What was there before is
//! recorded so that `uninstall` restores it exactly.

pub(crate) mod config_hooks;
pub(crate) mod events;
mod foreign;
pub(crate) mod hooks_path;
pub(crate) mod link;
pub(crate) mod place;
pub(crate) mod setting;
pub(crate) mod shims;
pub(crate) mod status;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::error::usage;
use crate::files::write_atomically;
use crate::{env, git};

/// The first git with config-based hooks (`hook.<name>.command`).
pub(crate) const CONFIG_HOOKS_SINCE: (u32, u32) = (2, 54);

/// How git reaches daft. (An older daft's record has no mode: it was hooks-path.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    /// git's config-based hooks (git ≥ 2.54)
    Config,
    /// shims through core.hooksPath
    #[default]
    HooksPath,
}

impl Mode {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::HooksPath => "hooks-path",
        }
    }
}

/// Where an install lives and which git config it changes.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) global: bool,
    /// Where git commands for this scope run.
    pub(crate) dir: PathBuf,
    /// daft's own directory for this scope: `<common>/daft` or `$XDG_DATA_HOME/daft`; its
    /// install record is there.
    pub(crate) daft_dir: PathBuf,
    /// Where the files git runs are (shims, linked names, adopted hooks): outside the
    /// repository for a repository install, so moving it breaks nothing (see `place`).
    pub(crate) place: PathBuf,
}

/// What an install did, and whether git will actually call daft afterwards.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) lines: Vec<String>,
    /// Something of higher precedence keeps git from calling daft.
    pub(crate) shadowed: bool,
}

/// What was there before daft, and how it was installed.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Record {
    #[serde(default)]
    pub(crate) mode: Mode,
    /// The binary git runs.
    #[serde(default, with = "crate::files::json_path")]
    pub(crate) bin: Option<PathBuf>,
    /// (hooks-path) core.hooksPath in this scope's own config file before daft; `None`: unset.
    #[serde(default)]
    pub(crate) previous: Option<String>,
    /// (hooks-path) the directory whose hooks the shims run first; `None`: git's default.
    #[serde(default)]
    pub(crate) chain: Option<String>,
    /// (hooks-path, global) the file `git config --global` writes to, and whether it existed.
    #[serde(default)]
    pub(crate) config_file: Option<(PathBuf, bool)>,
    /// (hooks-path) Only the hook names with something behind them are shimmed (`shims`).
    #[serde(default)]
    pub(crate) partial: bool,
    /// (a repository install) The key of its directory of the user's (`place`); none for an
    /// install an older daft made inside the repository.
    #[serde(default)]
    pub(crate) key: Option<String>,
    /// (a repository install) Where the clone's git common dir was when daft last installed
    /// there: another place now means the repository moved.
    #[serde(default, with = "crate::files::json_path")]
    pub(crate) common_dir: Option<PathBuf>,
}

impl Target {
    /// The repository that contains `path`.
    pub(crate) fn repo(path: &Path) -> Result<Self> {
        Ok(Self::of(&crate::repo::Repo::discover(path)?))
    }

    /// `repo` itself.
    pub(crate) fn of(repo: &crate::repo::Repo) -> Self {
        Self::local(
            repo.work_tree
                .clone()
                .unwrap_or_else(|| repo.common_dir.clone()),
            repo.common_dir.join("daft"),
        )
    }

    /// The repository install whose files are in `state` (git commands run in its common dir).
    pub(crate) fn at(state: &crate::state::State) -> Self {
        Self::local(state.common_dir().to_owned(), state.root().to_owned())
    }

    fn local(dir: PathBuf, daft_dir: PathBuf) -> Self {
        let mut target = Self {
            global: false,
            dir,
            place: daft_dir.clone(),
            daft_dir,
        };
        if let Ok(Some(Record { key: Some(key), .. })) = target.read_record()
            && let Ok(place) = place::keyed(&key)
        {
            target.place = place;
        }
        target
    }

    /// Every repository of this user.
    pub(crate) fn global() -> Result<Self> {
        let daft_dir = env::data_dir()?;
        Ok(Self {
            global: true,
            dir: env::home()?,
            place: daft_dir.clone(),
            daft_dir,
        })
    }

    /// The clone's git common dir (a repository install).
    pub(crate) fn common_dir(&self) -> Option<&Path> {
        (!self.global).then(|| self.daft_dir.parent()).flatten()
    }

    /// The config file this scope's `git config` changes.
    pub(crate) fn config_file(&self) -> Result<PathBuf> {
        match self.common_dir() {
            Some(common) => Ok(common.join("config")),
            None => place::global_config_file(),
        }
    }

    /// `--local` or `--global`.
    pub(crate) fn scope(&self) -> &'static str {
        if self.global { "--global" } else { "--local" }
    }

    pub(crate) fn hooks_dir(&self) -> PathBuf {
        self.place.join("hooks")
    }

    /// Where hooks other tools wrote into daft's hooks directory are kept, still running.
    pub(crate) fn adopted_dir(&self) -> PathBuf {
        self.place.join("adopted")
    }

    fn record_path(&self) -> PathBuf {
        self.daft_dir.join("install.json")
    }

    /// The install record. `Ok(None)`: not installed; `Err`: a record that cannot be read.
    pub(crate) fn read_record(&self) -> Result<Option<Record>> {
        let path = self.record_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is damaged", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn write_record(&self, record: &Record) -> Result<()> {
        write_atomically(self.record_path(), &serde_json::to_vec_pretty(record)?)
    }
}

/// The mode to use: the one asked for, else config mode where git has it.
pub(crate) fn choose_mode(requested: Option<Mode>) -> Result<(Mode, String)> {
    let version = git::version();
    let has_config_hooks = version.is_some_and(|v| v >= CONFIG_HOOKS_SINCE);
    let shown = version.map_or_else(|| "unknown".to_owned(), |(a, b)| format!("{a}.{b}"));
    match (requested, has_config_hooks) {
        (Some(Mode::Config), false) => usage!(
            "config mode needs git's config-based hooks (git 2.54 or later; this git is {shown}); use --mode hooks-path"
        ),
        (Some(mode), _) => Ok((mode, format!("{} mode, as asked", mode.word()))),
        (None, true) => Ok((
            Mode::Config,
            format!(
                "config mode: git {shown} has config-based hooks, so daft owns no hooks directory and changes no core.hooksPath"
            ),
        )),
        (None, false) => Ok((
            Mode::HooksPath,
            format!(
                "hooks-path mode: git {shown} is older than 2.54, which brought config-based hooks; shims in a directory of daft's own run the hooks that were there before"
            ),
        )),
    }
}

/// Installs daft for `target` in `mode`; `bin` is what git runs. Idempotent; switching modes
/// takes the other mode out first, and so does an install an older daft made inside the
/// repository (its files move out, see `place`).
pub(crate) fn install(target: &Target, bin: &Path, mode: Mode, why: String) -> Result<Report> {
    place::await_config_lock(&target.config_file()?)?;
    let mut existing = target.read_record().ok().flatten();
    let mut report = Report::default();
    report.lines.push(why);
    let inside = !target.global && existing.as_ref().is_some_and(|r| r.key.is_none());
    if existing.as_ref().is_some_and(|r| r.mode != mode || inside) {
        let out = uninstall(target)?;
        report.lines.extend(out.lines);
        existing = None;
    }
    let mut target = target.clone();
    let mut key = None;
    if let Some(common) = target.common_dir().map(Path::to_owned) {
        let chosen = existing
            .as_ref()
            .and_then(|r| r.key.clone())
            .unwrap_or_else(|| place::new_key(&common));
        target.place = place::keyed(&chosen)?;
        place::note_owner(&target.place, &common)?;
        key = Some(chosen);
    }
    let target = &target;
    match mode {
        Mode::Config => {
            config_hooks::register_base(target, bin)?;
            target.write_record(&Record {
                mode,
                bin: Some(bin.to_owned()),
                key,
                common_dir: target.common_dir().map(Path::to_owned),
                ..Record::default()
            })?;
            report.lines.push(format!(
                "registered {} with git ({} hook.{}.*)",
                bin.display(),
                target.scope().trim_start_matches('-'),
                config_hooks::friendly_name(crate::event::Hook::PostCheckout)
            ));
        }
        Mode::HooksPath => {
            let existing = existing.filter(|record| record.mode == Mode::HooksPath);
            let out = hooks_path::install(target, bin, existing.as_ref(), key)?;
            report.lines.extend(out.lines);
            report.shadowed = out.shadowed;
        }
    }
    if !target.global {
        let repo = crate::repo::Repo::discover(&target.dir)?;
        events::refresh(&repo)?;
        shims::sync(&crate::state::State::of(&repo.common_dir), true)?;
        // Mended: the next time something unhooks daft is news again.
        crate::files::remove_if_present(&repo.common_dir.join("daft").join("unhooked-told"))?;
    }
    Ok(report)
}

/// Brings a repository install back in line where it needs it, saying so: the repository moved
/// since (its records, and a hooks directory before daft's that was inside it), or an older
/// daft installed inside the repository (its files move out, so a move can never break git's
/// hooks). Only what daft put in git's config changes. For the first daft command there.
pub(crate) fn mend(repo: &crate::repo::Repo) -> Result<Option<String>> {
    let target = Target::of(repo);
    let Ok(Some(record)) = target.read_record() else {
        return Ok(None);
    };
    let moved = record
        .common_dir
        .as_deref()
        .filter(|was| *was != repo.common_dir)
        .map(Path::to_owned);
    let inside = record.key.is_none();
    if moved.is_none() && !inside {
        return Ok(None);
    }
    let bin = match record
        .bin
        .clone()
        .filter(|bin| crate::platform::executable(bin))
    {
        Some(bin) => bin,
        None => std::env::current_exe().context("cannot find daft's own executable")?,
    };
    let mode = record.mode;
    install(&target, &bin, mode, String::new())?;
    let place = Target::of(repo).place;
    Ok(Some(match moved {
        Some(was) => format!(
            "this repository moved (its git directory was {}); daft brought its records along ({} mode, files in {})",
            was.display(),
            mode.word(),
            place.display()
        ),
        None => format!(
            "daft moved the files git runs out of the repository, to {}, so moving or renaming the repository keeps git's hooks working",
            place.display()
        ),
    }))
}

/// Takes daft out of `target`, all or nothing: git's config first — every registration and
/// `core.hooksPath` as it was, or, when git refuses a step, what was done put back and an
/// error — then daft's files, once nothing in git's config points at them; every file daft
/// did not write goes back where it belongs.
pub(crate) fn uninstall(target: &Target) -> Result<Report> {
    place::await_config_lock(&target.config_file()?)?;
    let mut report = Report::default();
    let record = match target.read_record() {
        Ok(record) => record,
        Err(err) => {
            report.lines.push(format!(
                "{err:#}; restoring what can be restored without it"
            ));
            None
        }
    };
    let taken = config_hooks::take_out(&target.dir, target.scope())?;
    let (lines, undo) = match hooks_path::restore_setting(target, record.as_ref()) {
        Ok(done) => done,
        Err(err) => {
            config_hooks::put_back(&target.dir, target.scope(), &taken);
            return Err(err.context("daft changed nothing"));
        }
    };
    report
        .lines
        .extend(config_hooks::said(&taken, target.scope()));
    report.lines.extend(lines);
    let files = (|| -> Result<Vec<String>> {
        let mut lines = hooks_path::return_files(target)?;
        link::remove(&target.place)?;
        if target.place != target.daft_dir {
            // The repository's own directory of the user's: nothing else is in it.
            crate::files::remove_dir_all_if_present(&target.place)?;
        }
        crate::files::remove_if_present(&target.record_path())?;
        lines.retain(|line| !line.is_empty());
        Ok(lines)
    })();
    match files {
        Ok(lines) => report.lines.extend(lines),
        Err(err) => {
            if let Some(value) = &undo {
                hooks_path::put_back(target, value);
            }
            config_hooks::put_back(&target.dir, target.scope(), &taken);
            return Err(err.context(
                "daft's files could not be removed, so git's config was put back as it was",
            ));
        }
    }
    if target.global {
        report.lines.extend(unregister_clones());
    } else if let Some(common) = target.common_dir() {
        let _ = place::note_clone(common, false);
    }
    if report.lines.is_empty() && record.is_none() {
        report
            .lines
            .push("daft is not installed here; nothing to do".into());
    }
    Ok(report)
}

/// A global install registers the events each clone's trusted configs name in that clone's
/// own config: takes those out wherever the clone is still found (and has no install of its
/// own). Those not reached do nothing once daft is gone (they check for it first).
fn unregister_clones() -> Vec<String> {
    let mut lines = Vec::new();
    for common in place::known_clones() {
        let Ok(repo) = crate::repo::Repo::discover(&common) else {
            lines.push(format!(
                "{} is gone (moved or deleted?): daft's registrations there, if any, do nothing now and say how to remove them",
                common.display()
            ));
            let _ = place::note_clone(&common, false);
            continue;
        };
        let here = Target::of(&repo);
        if matches!(here.read_record(), Ok(Some(_))) {
            continue; // its own install keeps them
        }
        let taken = place::await_config_lock(&common.join("config"))
            .and_then(|()| config_hooks::take_out(&here.dir, "--local"));
        match taken {
            Ok(taken) => {
                lines.extend(
                    config_hooks::said(&taken, "--local")
                        .into_iter()
                        .map(|line| format!("{line} of {}", common.display())),
                );
                let _ = place::note_clone(&common, false);
            }
            Err(err) => lines.push(format!(
                "left daft's registrations in {}: {err:#}; they do nothing now and say how to remove them",
                common.display()
            )),
        }
    }
    lines
}
