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
pub(crate) struct Target {
    pub(crate) global: bool,
    /// Where git commands for this scope run.
    pub(crate) dir: PathBuf,
    /// daft's own directory for this scope: `<common>/daft` or `$XDG_DATA_HOME/daft`.
    pub(crate) daft_dir: PathBuf,
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
    #[serde(default)]
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
}

impl Target {
    /// The repository that contains `path`.
    pub(crate) fn repo(path: &Path) -> Result<Self> {
        Ok(Self::of(&crate::repo::Repo::discover(path)?))
    }

    /// `repo` itself.
    pub(crate) fn of(repo: &crate::repo::Repo) -> Self {
        Self {
            global: false,
            dir: repo
                .work_tree
                .clone()
                .unwrap_or_else(|| repo.common_dir.clone()),
            daft_dir: repo.common_dir.join("daft"),
        }
    }

    /// The repository install whose files are in `state` (git commands run in its common dir).
    pub(crate) fn at(state: &crate::state::State) -> Self {
        Self {
            global: false,
            dir: state.common_dir().to_owned(),
            daft_dir: state.root().to_owned(),
        }
    }

    /// Every repository of this user.
    pub(crate) fn global() -> Result<Self> {
        Ok(Self {
            global: true,
            dir: env::home()?,
            daft_dir: env::data_dir()?,
        })
    }

    /// `--local` or `--global`.
    pub(crate) fn scope(&self) -> &'static str {
        if self.global { "--global" } else { "--local" }
    }

    pub(crate) fn hooks_dir(&self) -> PathBuf {
        self.daft_dir.join("hooks")
    }

    /// Where hooks other tools wrote into daft's hooks directory are kept, still running.
    pub(crate) fn adopted_dir(&self) -> PathBuf {
        self.daft_dir.join("adopted")
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
/// takes the other mode out first.
pub(crate) fn install(target: &Target, bin: &Path, mode: Mode, why: String) -> Result<Report> {
    let existing = target.read_record().ok().flatten();
    let mut report = Report::default();
    report.lines.push(why);
    if let Some(existing) = &existing
        && existing.mode != mode
    {
        let out = uninstall(target)?;
        report.lines.extend(out.lines);
    }
    match mode {
        Mode::Config => {
            config_hooks::register_base(target, bin)?;
            target.write_record(&Record {
                mode,
                bin: Some(bin.to_owned()),
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
            let out = hooks_path::install(target, bin, existing.as_ref())?;
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

/// Takes daft out of `target`: restores git's config as it was, returns every file daft did
/// not write to where it belongs, and says what it could not restore.
pub(crate) fn uninstall(target: &Target) -> Result<Report> {
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
    report.lines.extend(config_hooks::unregister_all(target)?);
    // A global install registers each clone's own events in that clone: clean up the one
    // we are in (others keep theirs until `daft uninstall` there, and say so in doctor).
    if target.global
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(here) = Target::repo(&cwd)
        && matches!(here.read_record(), Ok(None))
    {
        report.lines.extend(config_hooks::unregister_all(&here)?);
    }
    let out = hooks_path::uninstall(target, record.as_ref())?;
    report.lines.extend(out);
    crate::files::remove_if_present(&target.record_path())?;
    if report.lines.is_empty() {
        report
            .lines
            .push("daft is not installed here; nothing to do".into());
    }
    Ok(report)
}
