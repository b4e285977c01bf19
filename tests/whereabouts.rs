//! A worktree that exists is never torn down, wherever it went — another file system too —
//! and one that is gone is torn down once, wherever it lived, without waiting for a later daft
//! command (SPEC §2, §7).

use std::path::{Path, PathBuf};
use std::time::Duration;

use indoc::formatdoc;

use crate::common::{TestRepo, added, job, runs, wait_for_status, wait_until};

/// Setup leases a port and starts a server that runs until the worktree goes; teardown
/// writes what it was told into `log`.
fn config(log: &Path) -> String {
    with_server(log, "sleep 600")
}

/// The same with `serve` running `server` (`true`: nothing stays to notice a removal).
fn with_server(log: &Path, server: &str) -> String {
    formatdoc! {"
        ports: [web]
        hooks:
          worktree-post-create:
            jobs:
              - name: setup
                run: 'true'
              - name: serve
                run: {server}
                background: true
          worktree-post-remove:
            jobs:
              - name: drop-db
                run: echo \"$DAFT_WORKTREE\" >> '{}'
    ", log.display()}
}

fn teardowns(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A tmpfs mounted at `dir` for as long as it lives.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn at(repo: &TestRepo, name: &str) -> Self {
        let dir = repo.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        repo.run_in(
            &repo.base,
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                "size=64m",
                "tmpfs",
                dir.to_str().unwrap(),
            ],
        )
        .ok();
        Self(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn mv(repo: &TestRepo, from: &Path, to: &Path) {
    repo.run_in(
        &repo.base,
        "mv",
        &[from.to_str().unwrap(), to.to_str().unwrap()],
    )
    .ok();
}

/// The server of `wt` is still the one it started, and running.
#[track_caller]
fn still_serving(repo: &TestRepo, wt: &Path, pid: u64) {
    let serve = job(repo, wt, "serve");
    assert_eq!(serve["status"], "running", "{serve}");
    assert_eq!(serve["pid"].as_u64(), Some(pid));
}

fn a_worktree_moved_to_another_file_system_and_back_is_the_same_worktree() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("teardown.log");
    let repo = TestRepo::installed(&config(&log));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "serve", "running");
    let pid = job(&repo, &wt, "serve")["pid"].as_u64().unwrap();
    let history = runs(&repo, &wt).len();
    let disk = Tmpfs::at(&repo, "disk");
    let away = disk.0.join("wt");
    mv(&repo, &wt, &away);
    // daft calls in the clone, the way a removal would be noticed: it is followed instead.
    repo.daft(&["hooks", "log", "show"])
        .ok()
        .stderr_has("(another file system); daft follows it there");
    repo.git(&["switch", "-q", "-c", "elsewhere"]).ok();
    assert_eq!(runs(&repo, &away).len(), history);
    still_serving(&repo, &away, pid);
    // And back.
    mv(&repo, &away, &wt);
    repo.daft(&["hooks", "log", "show"]).ok();
    repo.git(&["switch", "-q", "main"]).ok();
    assert_eq!(runs(&repo, &wt).len(), history);
    still_serving(&repo, &wt, pid);
    assert!(teardowns(&log).is_empty(), "{:?}", teardowns(&log));
    // Removed for real: once.
    repo.git(&["worktree", "remove", "--force", wt.to_str().unwrap()])
        .ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    wait_until(Duration::from_secs(30), "the teardown", || {
        teardowns(&log).len() == 1
    });
}

/// Moved under another name, where daft does not look: git used there tells it lives on.
fn a_worktree_moved_away_and_used_there_is_kept() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("teardown.log");
    let repo = TestRepo::installed(&config(&log));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "serve", "running");
    let pid = job(&repo, &wt, "serve")["pid"].as_u64().unwrap();
    let disk = Tmpfs::at(&repo, "disk");
    std::fs::create_dir_all(disk.0.join("a/b/c")).unwrap();
    let away = disk.0.join("a/b/c/renamed");
    mv(&repo, &wt, &away);
    repo.git_in(&away, &["status", "--short"]).ok();
    repo.daft(&["hooks", "log", "show"])
        .ok()
        .stderr_has("git is used wherever it went: it is kept");
    // Long after (its teardown would have started by now), still kept.
    let missing = std::fs::read_dir(repo.common_dir().join("daft/worktrees"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("missing.json"))
        .find(|p| p.exists())
        .expect("its missing record");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&missing).unwrap()).unwrap();
    record["since"] = serde_json::json!(0.0);
    std::fs::write(&missing, record.to_string()).unwrap();
    repo.daft(&["hooks", "log", "show"]).ok();
    repo.git(&["switch", "-q", "-c", "later"]).ok();
    still_serving(&repo, &away, pid);
    assert!(teardowns(&log).is_empty(), "{:?}", teardowns(&log));
    repo.git_in(&away, &["worktree", "repair"]).ok();
    repo.daft_in(&away, &["hooks", "cancel"]).ok();
}

/// Codex keeps its worktrees under `$CODEX_HOME/worktrees`, maybe on another file system than
/// the repository: `daft remove --prepare`, then its own `rm -rf`, is torn down at once.
fn a_removal_announced_then_done_on_another_file_system_is_torn_down_at_once() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("teardown.log");
    let repo = TestRepo::installed(&config(&log));
    let disk = Tmpfs::at(&repo, "codex");
    let wt = disk.0.join("wt");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "-b", "agent"])
        .ok();
    wait_for_status(&repo, &wt, "serve", "running");
    repo.daft_in(&wt, &["remove", "--prepare", "."]).ok();
    std::fs::remove_dir_all(&wt).unwrap();
    // No daft command: the watch started by --prepare sees it go.
    wait_until(Duration::from_secs(10), "the teardown", || {
        teardowns(&log).len() == 1
    });
}

/// Whether a supervisor of the clone at `repo` still runs (its command line names the clone).
fn supervised(repo: &TestRepo) -> bool {
    let needle = repo.common_dir();
    let needle = needle.to_str().unwrap().as_bytes();
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmd| {
            cmd.windows(11).any(|w| w == b"__supervise")
                && cmd.windows(needle.len()).any(|w| w == needle)
        })
    })
}

/// The config without a server: no supervisor stays to notice anything.
fn unsupervised(log: &Path) -> String {
    with_server(log, "'true'")
}

/// Removals that happen together are all torn down from one daft call, whatever their kind,
/// with no supervisor alive to notice them.
fn removals_at_once_are_all_torn_down_from_one_call() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("teardown.log");
    let repo = TestRepo::installed(&unsupervised(&log));
    for round in 0..3 {
        let a = added(&repo, &format!("a{round}"));
        let b = added(&repo, &format!("b{round}"));
        wait_until(Duration::from_secs(30), "the supervisors to end", || {
            !supervised(&repo)
        });
        repo.git(&["worktree", "remove", "--force", a.to_str().unwrap()])
            .ok();
        std::fs::remove_dir_all(&b).unwrap();
        repo.daft(&["hooks", "log", "show"]).ok();
        wait_until(Duration::from_secs(30), "both teardowns", || {
            teardowns(&log).len() == 2 * (round + 1)
        });
    }
}

/// No daft command and no live supervisor: a plain `git switch` is enough for daft to
/// notice, in either mode.
fn a_switch_is_enough_for_a_removal_to_be_noticed() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("teardown.log");
    let repo = TestRepo::installed(&unsupervised(&log));
    let gone = added(&repo, "gone");
    let deleted = added(&repo, "deleted");
    wait_until(Duration::from_secs(30), "the supervisors to end", || {
        !supervised(&repo)
    });
    repo.git(&["worktree", "remove", gone.to_str().unwrap()])
        .ok();
    std::fs::remove_dir_all(&deleted).unwrap();
    repo.git(&["switch", "-q", "-c", "next"]).ok();
    wait_until(Duration::from_secs(30), "both teardowns", || {
        teardowns(&log).len() == 2
    });
}

crate::cases![
    [Need::Mount] a_worktree_moved_to_another_file_system_and_back_is_the_same_worktree,
    [Need::Mount] a_worktree_moved_away_and_used_there_is_kept,
    [Need::Mount] a_removal_announced_then_done_on_another_file_system_is_torn_down_at_once,
    removals_at_once_are_all_torn_down_from_one_call,
    a_switch_is_enough_for_a_removal_to_be_noticed,
];
