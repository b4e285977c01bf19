//! The test harness: a throwaway repository with its own HOME, XDG dirs and git config, and
//! helpers that run real git and the built daft binary in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) const DAFT: &str = env!("CARGO_BIN_EXE_daft");

/// The directory of the git the tests drive: `DAFT_TEST_GIT` names a git binary (CI runs the
/// suite again with git 2.55, where daft installs in config mode); else git on PATH.
fn git_bin_dir() -> Option<PathBuf> {
    let git = std::env::var_os("DAFT_TEST_GIT").filter(|g| !g.is_empty())?;
    Some(Path::new(&git).parent()?.to_owned())
}

/// The version of the git the tests drive, as (major, minor).
pub(crate) fn git_version() -> (u32, u32) {
    let git = git_bin_dir().map_or_else(|| PathBuf::from("git"), |dir| dir.join("git"));
    let out = Command::new(git).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim().trim_start_matches("git version ").split('.');
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// `../shared` beside the repository (SPEC.md, the seed pages), when it is there.
pub(crate) fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.join("SPEC.md").is_file().then_some(dir)
}

/// Whether the git under test has config-based hooks, so that daft installs in config mode.
pub(crate) fn config_mode() -> bool {
    git_version() >= (2, 54)
}

pub(crate) struct TestRepo {
    _tmp: tempfile::TempDir,
    /// The directory holding the repository, home and any worktrees.
    pub(crate) base: PathBuf,
    /// The main worktree.
    pub(crate) root: PathBuf,
}

impl TestRepo {
    /// A repository with one commit on `main`.
    pub(crate) fn new() -> Self {
        Self::named("repo")
    }

    pub(crate) fn named(name: &str) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let base = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(base.join("home")).unwrap();
        // The names install.sh gives daft, so `git daft …` works as for a user.
        std::fs::create_dir_all(base.join("bin")).unwrap();
        for name in ["daft", "git-daft", "git-daft-hooks"] {
            std::os::unix::fs::symlink(DAFT, base.join("bin").join(name)).unwrap();
        }
        let root = base.join(name);
        let repo = Self {
            _tmp: tmp,
            base,
            root,
        };
        for (key, value) in [
            ("user.name", "Test"),
            ("user.email", "test@example.com"),
            ("init.defaultBranch", "main"),
        ] {
            repo.run_in(&repo.base, "git", &["config", "--global", key, value])
                .ok();
        }
        repo.run_in(&repo.base, "git", &["init", "-q", name]).ok();
        repo.write("README", "hello\n");
        repo.git(&["add", "-A"]).ok();
        repo.git(&["commit", "-qm", "init"]).ok();
        repo
    }

    /// A repository with `config` committed as its daft.yml, daft installed, and the config trusted.
    pub(crate) fn installed(config: &str) -> Self {
        Self::new().daft_yml(config).commit().install().trust()
    }

    /// Writes `daft.yml` (not committed).
    pub(crate) fn daft_yml(self, text: &str) -> Self {
        self.write("daft.yml", text);
        self
    }

    pub(crate) fn commit(self) -> Self {
        self.git(&["add", "-A"]).ok();
        self.git(&["commit", "-qm", "change"]).ok();
        self
    }

    /// daft installed in this git's default mode (config mode on git 2.54 and later).
    pub(crate) fn install(self) -> Self {
        self.daft(&["install"]).ok();
        self
    }

    /// daft installed with shims through core.hooksPath, whatever the git.
    pub(crate) fn install_hooks_path(self) -> Self {
        self.daft(&["install", "--mode", "hooks-path"]).ok();
        self
    }

    pub(crate) fn trust(self) -> Self {
        self.daft(&["trust", "--yes"]).ok();
        self
    }

    pub(crate) fn write(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A path beside the main worktree (`self.path("wt")` is `../wt`).
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.base.join(rel)
    }

    /// A bare clone of the repository beside it, `bare.git`, with daft installed in it.
    pub(crate) fn bare_clone_installed(&self) -> PathBuf {
        let bare = self.path("bare.git");
        let root = self.root.to_str().unwrap();
        self.run_in(
            &self.base,
            "git",
            &["clone", "-q", "--bare", root, "bare.git"],
        )
        .ok();
        self.daft_in(&bare, &["install"]).ok();
        bare
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.base.join("home")
    }

    /// A command with the machine's own configuration shut out.
    pub(crate) fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        let git = git_bin_dir().map(|dir| format!("{}:", dir.display()));
        let path = format!(
            "{}{}:{}",
            git.unwrap_or_default(),
            self.base.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let home = self.home();
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LANG", "C.UTF-8")
            .env("DAFT_BIN", DAFT)
            .stdin(Stdio::null());
        cmd
    }

    pub(crate) fn run_in(&self, dir: &Path, program: &str, args: &[&str]) -> Run {
        // A program the test has just written (a copy of daft) is "busy" while a child that
        // another test thread forked still holds the writer's descriptor, until that child
        // execs: tried again until then.
        let deadline = Instant::now() + Duration::from_secs(10);
        let output = loop {
            match self.command(program, dir).args(args).output() {
                Err(err)
                    if err.kind() == std::io::ErrorKind::ExecutableFileBusy
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                result => break result.expect("spawn"),
            }
        };
        Run {
            what: format!("{program} {}", args.join(" ")),
            output,
        }
    }

    pub(crate) fn git(&self, args: &[&str]) -> Run {
        self.run_in(&self.root, "git", args)
    }

    pub(crate) fn git_in(&self, dir: &Path, args: &[&str]) -> Run {
        self.run_in(dir, "git", args)
    }

    pub(crate) fn daft(&self, args: &[&str]) -> Run {
        self.run_in(&self.root, DAFT, args)
    }

    pub(crate) fn daft_in(&self, dir: &Path, args: &[&str]) -> Run {
        self.run_in(dir, DAFT, args)
    }

    /// `sh -c script` in the main worktree.
    pub(crate) fn sh(&self, script: &str) -> Run {
        self.run_in(&self.root, "sh", &["-c", script])
    }

    pub(crate) fn common_dir(&self) -> PathBuf {
        self.root.join(".git")
    }

    /// The same repository after `mv` of its directory to `name` beside it.
    pub(crate) fn renamed(mut self, name: &str) -> Self {
        let to = self.base.join(name);
        std::fs::rename(&self.root, &to).unwrap();
        self.root = to;
        self
    }

    /// daft's hooks directory (hooks-path mode): where `core.hooksPath` points.
    pub(crate) fn hooks_dir(&self) -> PathBuf {
        PathBuf::from(self.git(&["config", "core.hooksPath"]).ok().stdout().trim())
    }
}

/// A finished command, with assertions that print everything on failure.
pub(crate) struct Run {
    what: String,
    pub(crate) output: Output,
}

impl Run {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub(crate) fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        assert!(
            self.output.status.success(),
            "`{}` failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub(crate) fn fails_with(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            Some(code),
            "`{}`\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.stdout(),
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub(crate) fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr().contains(text),
            "`{}`: stderr lacks {text:?}\nstderr:\n{}",
            self.what,
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub(crate) fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout().contains(text),
            "`{}`: stdout lacks {text:?}\nstdout:\n{}",
            self.what,
            self.stdout()
        );
        self
    }
}

/// Writes an executable hook script with `body` at `path`.
pub(crate) fn hook(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(path, mode).unwrap();
}

/// Waits until `condition` holds, failing the test after `limit`.
#[track_caller]
pub(crate) fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// Whether process `pid` is alive (and not a zombie).
pub(crate) fn pid_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

/// Sends `signal` (e.g. "INT") to a process, or to a process group when `target` is negative.
/// Always through `--`: procps' kill reads `-SIG -PGID` without it as something else entirely.
pub(crate) fn kill(signal: &str, target: i64) -> bool {
    Command::new("kill")
        .args(["-s", signal, "--", &target.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether any process of group `pgid` is alive (an ended one its parent has not reaped yet
/// is not).
pub(crate) fn group_alive(pgid: u32) -> bool {
    kill("0", -i64::from(pgid))
        && std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
            std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
                let rest = stat.rsplit(')').next().unwrap_or_default();
                let fields: Vec<&str> = rest.split_whitespace().collect();
                fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str())
            })
        })
}

/// A pid a job wrote to `path`, once it has.
pub(crate) fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Runs `git worktree add -B b<i> ../wt<i>` for `i` in `0..n`, all at the same moment.
///
/// git itself has a race here: a concurrent add can read another one's half-written
/// `.git/worktrees/<id>/commondir` and die before doing anything (no hook runs). That is not
/// daft's to fix; such an add is made again (`-B`, since the failed one already made the branch).
pub(crate) fn add_at_once(repo: &TestRepo, n: usize) {
    let add = |i: usize| {
        let args = [
            "worktree",
            "add",
            "-B",
            &format!("b{i}"),
            &format!("../wt{i}"),
        ]
        .map(str::to_owned);
        repo.command("git", &repo.root)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let adds: Vec<_> = (0..n).map(add).collect();
    let failed: Vec<usize> = adds
        .into_iter()
        .enumerate()
        .filter_map(|(i, child)| {
            let out = child.wait_with_output().unwrap();
            if out.status.success() {
                return None;
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("failed to read .git/worktrees/"),
                "wt{i}: {stderr}"
            );
            Some(i)
        })
        .collect();
    // Only once every concurrent add has ended: a retry then has nothing to race with.
    for i in failed {
        let retry = add(i).wait_with_output().unwrap();
        assert!(
            retry.status.success(),
            "wt{i} again: {}",
            String::from_utf8_lossy(&retry.stderr)
        );
    }
}

/// The runs of the worktree at `dir`, newest first, from `daft hooks log show --json`.
pub(crate) fn runs(repo: &TestRepo, dir: &Path) -> Vec<serde_json::Value> {
    let out = repo
        .daft_in(dir, &["hooks", "log", "show", "--json"])
        .ok()
        .stdout();
    let json: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|err| panic!("{err}: {out}"));
    json["runs"].as_array().cloned().unwrap_or_default()
}

/// The statuses of the jobs of the worktree's one and only run.
#[track_caller]
pub(crate) fn only_run_statuses(repo: &TestRepo, dir: &Path) -> Vec<String> {
    let runs = runs(repo, dir);
    assert_eq!(runs.len(), 1, "{}: {runs:?}", dir.display());
    runs[0]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["status"].as_str().unwrap().to_owned())
        .collect()
}

/// The latest record of `job` in `dir`'s worktree, from `log show --json`.
pub(crate) fn job(repo: &TestRepo, dir: &Path, job: &str) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(
        &repo
            .daft_in(dir, &["hooks", "log", "show", "--json"])
            .ok()
            .stdout(),
    )
    .unwrap();
    json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| run["jobs"].as_array().unwrap().iter())
        .find(|j| j["name"] == job)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

pub(crate) fn status(repo: &TestRepo, dir: &Path, name: &str) -> String {
    job(repo, dir, name)["status"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

pub(crate) fn wait_for_status(repo: &TestRepo, dir: &Path, name: &str, want: &str) {
    // Generous: a passing run returns as soon as the status is seen, and a loaded machine
    // starves the niced background jobs most tests wait on.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let seen = job(repo, dir, name);
        if seen["status"] == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {name} to be {want}; it is {seen}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn added(repo: &TestRepo, name: &str) -> PathBuf {
    repo.git(&["worktree", "add", &format!("../{name}"), "-b", name])
        .ok();
    repo.path(name)
}
