//! Putting daft into git's hook lookup and taking it out again. The shims go where no checkout
//! can change them (under the git common dir for one repository, under the XDG data dir for
//! all), `core.hooksPath` points at them, and what was there before is recorded so that every
//! shim runs the previous hook first and `uninstall` restores the old value exactly.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::files::write_atomically;
use crate::{env, event, git};

/// The shim every hook name gets (the files in `hooks/` are links to it).
const SHIM: &str = include_str!("../hooks/shim.sh");

/// Hooks that always get a shim: git's client-side hooks, less the ones git runs so often
/// (reference-transaction, post-index-change) that a hook there would tax every command. Those
/// get a shim only when a previous hook of that name exists, so it keeps running.
pub(crate) const SHIMMED: [&str; 15] = [
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "post-rewrite",
    "pre-auto-gc",
    "sendemail-validate",
];

/// Where an install lives and which git config it changes.
pub(crate) struct Target {
    /// `--local` or `--global`.
    scope: &'static str,
    /// Where git commands for this scope run.
    dir: PathBuf,
    /// The shims' directory: what core.hooksPath points to.
    pub(crate) hooks_dir: Utf8PathBuf,
    record_path: Utf8PathBuf,
    /// The repository's top level, for resolving a relative previous hooks path.
    top: Option<PathBuf>,
    /// The repository's own hooks directory, git's default.
    default_hooks: Option<Utf8PathBuf>,
}

/// What was there before daft.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// core.hooksPath in this scope's config before daft; `None`: it was not set.
    previous: Option<String>,
    /// (Global) the file git config --global writes to, and whether it existed.
    config_file: Option<(PathBuf, bool)>,
}

impl Target {
    /// The repository that contains `path`.
    pub(crate) fn repo(path: &Path) -> Result<Self> {
        let common = git::output(
            path,
            &["rev-parse", "--path-format=absolute", "--git-common-dir"],
        )
        .with_context(|| format!("{} is not in a git repository", path.display()))?;
        let common = Utf8PathBuf::from(common);
        let top = git::output(path, &["rev-parse", "--show-toplevel"])
            .ok()
            .filter(|t| !t.is_empty())
            .map(PathBuf::from);
        Ok(Self {
            scope: "--local",
            dir: path.to_owned(),
            hooks_dir: common.join("daft").join("hooks"),
            record_path: common.join("daft").join("install.json"),
            top,
            default_hooks: Some(common.join("hooks")),
        })
    }

    /// Every repository of this user.
    pub(crate) fn global() -> Result<Self> {
        let data = Utf8PathBuf::from_path_buf(env::data_dir()?)
            .map_err(|p| anyhow::anyhow!("{} is not UTF-8", p.display()))?;
        Ok(Self {
            scope: "--global",
            dir: env::home()?,
            hooks_dir: data.join("hooks"),
            record_path: data.join("install.json"),
            top: None,
            default_hooks: None,
        })
    }

    fn hooks_path(&self) -> Result<Option<String>> {
        git::config_get(&self.dir, &[self.scope, "--get", "core.hooksPath"])
    }

    fn read_record(&self) -> Result<Option<Record>> {
        match fs::read(&self.record_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is damaged", self.record_path)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", self.record_path)),
        }
    }
}

/// Installs daft for `target`; `daft_bin` is what the shims run. Idempotent. Returns lines
/// telling what was done.
pub(crate) fn install(target: &Target, daft_bin: &Path) -> Result<Vec<String>> {
    let current = target.hooks_path()?;
    let mut report = Vec::new();
    let record = if current.as_deref() == Some(target.hooks_dir.as_str()) {
        report.push(format!(
            "already installed; refreshed the shims in {}",
            target.hooks_dir
        ));
        target.read_record()?.unwrap_or_default()
    } else {
        let record = Record {
            previous: current.clone(),
            config_file: global_config_file(target)?,
        };
        let text = serde_json::to_vec_pretty(&record)?;
        write_atomically(&target.record_path, &text)?;
        record
    };
    let chain = chain_target(target, record.previous.as_deref())?;
    write_shims(target, daft_bin, chain.as_deref())?;
    if current.as_deref() != Some(target.hooks_dir.as_str()) {
        git::output(
            &target.dir,
            &[
                "config",
                target.scope,
                "core.hooksPath",
                target.hooks_dir.as_str(),
            ],
        )?;
        report.push(format!(
            "core.hooksPath ({}) → {}",
            target.scope.trim_start_matches('-'),
            target.hooks_dir
        ));
    }
    match (&record.previous, &chain) {
        (Some(previous), _) => report.push(format!(
            "the hooks in {previous} (the previous core.hooksPath) still run first"
        )),
        (None, Some(chain)) => report.push(format!("existing hooks in {chain} still run first")),
        (None, None) => report.push("each repository's own .git/hooks still run first".into()),
    }
    Ok(report)
}

/// Takes daft out of `target` and restores core.hooksPath as it was.
pub(crate) fn uninstall(target: &Target) -> Result<Vec<String>> {
    let current = target.hooks_path()?;
    let ours = current.as_deref() == Some(target.hooks_dir.as_str());
    let Some(record) = target.read_record()? else {
        if ours {
            git::output(
                &target.dir,
                &["config", target.scope, "--unset", "core.hooksPath"],
            )?;
            return Ok(vec![
                "no install record was found; unset core.hooksPath".into(),
            ]);
        }
        return Ok(vec!["daft is not installed here; nothing to do".into()]);
    };
    let mut report = Vec::new();
    if ours {
        if let Some(previous) = &record.previous {
            git::output(
                &target.dir,
                &["config", target.scope, "core.hooksPath", previous],
            )?;
            report.push(format!("core.hooksPath restored to {previous}"));
        } else {
            git::output(
                &target.dir,
                &["config", target.scope, "--unset", "core.hooksPath"],
            )?;
            report.push("core.hooksPath unset, as it was".into());
        }
        if let Some((file, false)) = &record.config_file {
            // We created the file; if nothing but our setting was ever in it, take it away again.
            if fs::metadata(file).is_ok_and(|m| m.len() == 0) {
                let _ = fs::remove_file(file);
            }
        }
    } else {
        report.push(format!(
            "core.hooksPath is now {}, not daft's; left it alone",
            current.as_deref().unwrap_or("unset")
        ));
    }
    fs::remove_dir_all(&target.hooks_dir)
        .or_else(ignore_missing)
        .with_context(|| format!("cannot remove {}", target.hooks_dir))?;
    fs::remove_file(&target.record_path).or_else(ignore_missing)?;
    report.push(format!("removed {}", target.hooks_dir));
    Ok(report)
}

fn ignore_missing(err: std::io::Error) -> std::io::Result<()> {
    if err.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(err)
    }
}

/// The file `git config --global` writes to, and whether it exists now.
fn global_config_file(target: &Target) -> Result<Option<(PathBuf, bool)>> {
    if target.scope != "--global" {
        return Ok(None);
    }
    let file = if let Some(file) = std::env::var_os("GIT_CONFIG_GLOBAL") {
        PathBuf::from(file)
    } else {
        let home = env::home()?.join(".gitconfig");
        let xdg = std::env::var_os("XDG_CONFIG_HOME").map_or_else(
            || env::home().map(|h| h.join(".config")),
            |d| Ok(PathBuf::from(d)),
        )?;
        let xdg = xdg.join("git").join("config");
        if !home.exists() && xdg.exists() {
            xdg
        } else {
            home
        }
    };
    let exists = file.exists();
    Ok(Some((file, exists)))
}

/// The hooks directory the shims hand over to first: the previous core.hooksPath of this scope,
/// else one set in a wider scope, else (for one repository) its own hooks directory. `None`
/// means "each repository's own", for a global install.
fn chain_target(target: &Target, previous: Option<&str>) -> Result<Option<String>> {
    let wider = if target.scope == "--local" {
        // A global or system core.hooksPath was in effect before; if it is daft's own global
        // install, chain to what that one chains to, not to daft again.
        let global = Target::global().ok();
        match git::config_get(&target.dir, &["--global", "--get", "core.hooksPath"])? {
            Some(path)
                if global
                    .as_ref()
                    .is_some_and(|g| g.hooks_dir.as_str() == path) =>
            {
                global
                    .and_then(|g| g.read_record().ok().flatten())
                    .and_then(|r| r.previous)
            }
            Some(path) => Some(path),
            None => git::config_get(&target.dir, &["--system", "--get", "core.hooksPath"])?,
        }
    } else {
        git::config_get(&target.dir, &["--system", "--get", "core.hooksPath"])?
    };
    let chosen = previous
        .map(str::to_owned)
        .or(wider)
        .map(|path| expand_home(&path));
    let chosen = chosen.or_else(|| target.default_hooks.as_ref().map(ToString::to_string));
    Ok(chosen.filter(|dir| Path::new(dir) != target.hooks_dir.as_std_path()))
}

/// Git expands a leading `~/` in path settings; so must we, to find the same directory.
fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), env::home()) {
        (Some(rest), Ok(home)) => home.join(rest).to_string_lossy().into_owned(),
        _ => path.to_owned(),
    }
}

/// Writes a shim for each name in [`SHIMMED`] and for every other hook found in `chain`, plus
/// `daft.env`; removes shims of names no longer wanted.
fn write_shims(target: &Target, daft_bin: &Path, chain: Option<&str>) -> Result<()> {
    let dir = &target.hooks_dir;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    let mut names: Vec<String> = SHIMMED.iter().map(|n| (*n).to_owned()).collect();
    if let Some(chain) = chain {
        let chain_dir = match (&target.top, Path::new(chain).is_relative()) {
            (Some(top), true) => top.join(chain),
            _ => PathBuf::from(chain),
        };
        for entry in fs::read_dir(chain_dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if event::GIT_HOOKS.contains(&name.as_str()) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let bin = daft_bin.to_str().context("daft's own path is not UTF-8")?;
    let env_file = format!(
        "# Written by `daft install`; read by the shims beside it.\nDAFT_BIN=${{DAFT_BIN:-{}}}\nexport DAFT_PREVIOUS_HOOKS={}\n",
        sh_quote(bin),
        sh_quote(chain.unwrap_or(""))
    );
    write_atomically(&dir.join("daft.env"), env_file.as_bytes())?;
    for name in &names {
        let path = dir.join(name);
        write_atomically(&path, SHIM.as_bytes())?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {path} executable"))?;
    }
    for entry in dir.read_dir_utf8()?.flatten() {
        let name = entry.file_name();
        if name != "daft.env" && !names.iter().any(|n| n == name) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// `'…'` with embedded quotes escaped, for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs the hook that was in place before daft, with the same arguments and stdin. Returns its
/// exit code, or `None` when there is none.
pub(crate) fn run_previous(
    hook: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    cwd: &Utf8Path,
) -> Result<Option<i32>> {
    let dir = match env::previous_hooks() {
        Some(dir) => cwd.join(dir),
        // A global install over git's default: this repository's own hooks directory.
        None => crate::event::Worktree::common_dir_of(cwd)?.join("hooks"),
    };
    let path = dir.join(hook);
    let executable = path
        .metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !executable || is_our_shim(&path) {
        return Ok(None);
    }
    let mut cmd = Command::new(&path);
    cmd.args(args);
    for var in env::SHIM_VARS {
        cmd.env_remove(var);
    }
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run the previous {hook} hook {path}"))?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write as _;
        let _ = pipe.write_all(data); // a hook that does not read its stdin is fine
    }
    let status = child.wait()?;
    Ok(Some(status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    })))
}

/// A daft shim, wherever it is, is never "the previous hook": that would loop.
fn is_our_shim(path: &Utf8Path) -> bool {
    fs::read(path).is_ok_and(|bytes| bytes == SHIM.as_bytes())
}

/// Checks that `hooks/` holds one link to the shim per name in [`SHIMMED`].
#[cfg(test)]
mod tests {
    #[test]
    fn hooks_dir_matches_the_shimmed_names() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != "shim.sh")
            .collect();
        names.sort();
        let mut expected: Vec<String> = super::SHIMMED.iter().map(|n| (*n).to_owned()).collect();
        expected.sort();
        assert_eq!(names, expected);
        for name in names {
            assert_eq!(
                std::fs::read_link(dir.join(&name)).unwrap(),
                std::path::Path::new("shim.sh"),
                "{name}"
            );
        }
    }
}
