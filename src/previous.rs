//! The hook that was in place before daft (hooks-path mode): found where git would have found
//! it, run with exactly what git gave daft — the same argument bytes, descriptors, stdin — and
//! its exit status honoured. When daft has nothing of its own to do, daft becomes that hook
//! (`exec`), so nothing at all differs from a git without daft.

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};

use crate::shim::is_shim;
use crate::{env, platform};

/// The hooks to run before daft's jobs, in order: the one git would have found before daft
/// (the previous hooks directory, else the repository's own), then one another tool wrote
/// into daft's hooks directory (adopted by `daft install`).
pub(crate) struct Chain {
    pub(crate) hooks: Vec<PathBuf>,
    /// A previous hook git would ignore because it is not executable (git then prints a hint).
    pub(crate) ignored: Option<PathBuf>,
}

/// Looks for the hooks that run before daft's jobs. The previous hooks directory is relative
/// to where git runs hooks, as `core.hooksPath` is; the default one is named as git names it
/// in its hint.
pub(crate) fn find(hook: &str, common_dir: Option<&Path>, cwd: &Path) -> Chain {
    let mut chain = Chain {
        hooks: Vec::new(),
        ignored: None,
    };
    let dir = match env::previous_hooks() {
        Some(dir) => Some(PathBuf::from(dir)),
        None => common_dir.map(|common| {
            let hooks = common.join("hooks");
            hooks
                .strip_prefix(cwd)
                .map_or(hooks.clone(), Path::to_owned)
        }),
    };
    if let Some(dir) = dir {
        // Run as git would name it (the hook's $0): relative to where hooks run, if it was.
        let path = dir.join(hook);
        let absolute = cwd.join(&path);
        if absolute.metadata().is_ok() && !is_shim(&absolute) {
            if platform::executable(&absolute) {
                chain
                    .hooks
                    .push(if path.is_relative() { path } else { absolute });
            } else {
                chain.ignored = Some(path);
            }
        }
    }
    if let Some(adopted) = env::adopted_hooks() {
        let path = cwd.join(adopted).join(hook);
        if platform::executable(&path) && !is_shim(&path) {
            chain.hooks.push(path);
        }
    }
    chain
}

fn command(path: &Path, args: &[OsString], sh: bool) -> Command {
    let mut cmd = if sh {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg(path);
        cmd
    } else {
        Command::new(path)
    };
    cmd.args(args);
    for var in env::SHIM_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// Becomes the chain's hooks: all but the last run as children (each with git's whole stdin
/// when the hook has one), the last replaces this process, so it gets exactly what git gave.
/// Returns only on a failure, with the exit code git itself would give.
pub(crate) fn exec(chain: &Chain, args: &[OsString], has_stdin: bool) -> u8 {
    let Some((last, first)) = chain.hooks.split_last() else {
        return 0;
    };
    let mut kept = None;
    for path in first {
        match run_one(path, args, has_stdin.then_some(&mut kept)) {
            Ok(0) => {}
            Ok(code) => return u8::try_from(code).unwrap_or(1),
            Err(err) => {
                eprintln!("error: {err:#}");
                return 1;
            }
        }
    }
    let mut cmd = command(last, args, false);
    if let Some(data) = kept {
        match stdin_file(&data) {
            Ok(file) => {
                cmd.stdin(file);
            }
            Err(err) => eprintln!("error: cannot pass stdin on to {}: {err}", last.display()),
        }
    }
    let err = cmd.exec();
    let err = if crate::platform::not_an_executable(&err) {
        // git runs a hook without a `#!` line with sh; so does daft.
        command(last, args, true).exec()
    } else {
        err
    };
    eprintln!("error: cannot run {}: {err}", last.display());
    1
}

/// Runs the chain's hooks one after the other, stopping at the first that fails. For a hook
/// with stdin (`has_stdin`) that more than one reader needs — a second hook, or daft's jobs
/// (`keep_stdin`) — git's stdin is streamed to the first hook as it arrives, given whole to the
/// others, and returned. Returns the exit code and the stdin kept.
pub(crate) fn run(
    chain: &Chain,
    args: &[OsString],
    has_stdin: bool,
    keep_stdin: bool,
) -> Result<(i32, Option<Vec<u8>>)> {
    let mut kept = None;
    let share = has_stdin && (keep_stdin || chain.hooks.len() > 1);
    for path in &chain.hooks {
        let code = run_one(path, args, share.then_some(&mut kept))?;
        if code != 0 {
            return Ok((code, kept));
        }
    }
    Ok((0, kept))
}

/// Runs one hook with git's descriptors and arguments. `stdin`: `None` hands the hook git's
/// stdin itself; `Some(None)` streams it through (keeping a copy); `Some(Some(data))` gives
/// the hook the copy kept before.
fn run_one(path: &Path, args: &[OsString], stdin: Option<&mut Option<Vec<u8>>>) -> Result<i32> {
    // The thread that feeds the hook's stdin is started before the hook: where the system has
    // none left, the hook gets what it would have read from a file instead.
    let given = stdin.as_ref().and_then(|kept| (*kept).clone());
    let (pipe_tx, pipe_rx) = std::sync::mpsc::channel::<std::process::ChildStdin>();
    let feeder = match &stdin {
        None => None,
        Some(_) => std::thread::Builder::new()
            .spawn(move || {
                pipe_rx
                    .recv()
                    .map(|pipe| feed(pipe, given))
                    .unwrap_or_default()
            })
            .ok(),
    };
    let from_file = match (&stdin, &feeder) {
        (Some(kept), None) => {
            let data = match kept {
                Some(data) => data.clone(),
                None => read_stdin(),
            };
            Some(data)
        }
        _ => None,
    };
    let spawn = |sh: bool| {
        let mut cmd = command(path, args, sh);
        match &from_file {
            Some(data) => {
                cmd.stdin(stdin_file(data)?);
            }
            None if stdin.is_some() => {
                cmd.stdin(Stdio::piped());
            }
            None => {}
        }
        cmd.spawn()
    };
    let mut child = match spawn(false) {
        Err(err) if crate::platform::not_an_executable(&err) => spawn(true),
        other => other,
    }
    .with_context(|| format!("cannot run the hook {}", path.display()))?;
    if let Some(pipe) = child.stdin.take() {
        let _ = pipe_tx.send(pipe);
    }
    drop(pipe_tx);
    let status = child.wait()?;
    if let Some(kept) = stdin {
        let data = match (feeder, from_file) {
            (Some(feeder), _) => feeder.join().unwrap_or_default(),
            (None, Some(data)) => data,
            (None, None) => Vec::new(),
        };
        if kept.is_none() {
            *kept = Some(data);
        }
    }
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

/// Writes `given`, or git's stdin as it arrives, to a hook. A hook that stops reading is fine:
/// git's stdin is still read to the end, for whoever comes next. Returns what was read.
fn feed(mut pipe: std::process::ChildStdin, given: Option<Vec<u8>>) -> Vec<u8> {
    if let Some(data) = given {
        let _ = pipe.write_all(&data);
        return data;
    }
    let mut kept = Vec::new();
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 16 * 1024];
    let mut open = true;
    while let Ok(n) = stdin.read(&mut buf) {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        open = open && pipe.write_all(&buf[..n]).is_ok();
    }
    kept
}

/// git's stdin, read to the end.
fn read_stdin() -> Vec<u8> {
    let mut data = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut data);
    data
}

/// An unnamed file holding `data`, to be a process's stdin.
fn stdin_file(data: &[u8]) -> std::io::Result<std::fs::File> {
    use std::io::{Seek as _, SeekFrom};
    let mut file = tempfile::tempfile()?;
    file.write_all(data)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// Prints git's hint for a hook it ignores because it is not executable, unless the user
/// turned that advice off.
pub(crate) fn advise_not_executable(path: &Path) {
    let disabled = |value: &str| {
        matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        )
    };
    if std::env::var("GIT_ADVICE").is_ok_and(|v| disabled(&v)) {
        return;
    }
    let setting = Command::new("git")
        .args(["config", "--type=bool", "advice.ignoredHook"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if disabled(&setting) {
        return;
    }
    // git's own words, which changed with `git config set` (2.48).
    let set = if crate::git::version().is_some_and(|v| v >= (2, 48)) {
        "set "
    } else {
        ""
    };
    let _ = write!(
        std::io::stderr(),
        "hint: The '{}' hook was ignored because it's not set as executable.\nhint: You can disable this warning with `git config {set}advice.ignoredHook false`.\n",
        crate::escape::visible(path.as_os_str().as_encoded_bytes())
    );
}
