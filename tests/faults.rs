//! Faults and load: many worktrees at once, signals, and a run store that is full, read-only
//! or not a directory. Git always succeeds under `fail_mode: warn`, and nothing is left running.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{TestRepo, add_at_once, only_run_statuses, read, wait_until};

fn twenty_worktrees_at_once_each_run_once_with_intact_records() {
    let jobs_log = "../jobs.log";
    let repo = TestRepo::installed(&format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: sync\n        run: echo \"sync $DAFT_WORKTREE\" >> {jobs_log}\n      - name: bg\n        run: echo \"bg $DAFT_WORKTREE\" >> {jobs_log}; echo logged\n        background: true\n        needs: [sync]\n"
    ));
    add_at_once(&repo, 20);
    let mut expected = BTreeSet::new();
    for i in 0..20 {
        let wt = repo.path(&format!("wt{i}"));
        // Its record says how it ended a moment after its last line is logged.
        wait_until(Duration::from_secs(20), "the background job to end", || {
            !["none", "pending", "running"]
                .contains(&crate::common::status(&repo, &wt, "bg").as_str())
        });
        assert_eq!(
            repo.daft_in(&wt, &["hooks", "log", "show", "bg"]).stdout(),
            "logged\n"
        );
        assert_eq!(
            only_run_statuses(&repo, &wt),
            ["succeeded", "succeeded"],
            "wt{i}"
        );
        expected.insert(format!("sync {}", wt.display()));
        expected.insert(format!("bg {}", wt.display()));
    }
    let log = read(&repo.path("jobs.log"));
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 40, "every job ran exactly once:\n{log}");
    assert_eq!(
        lines
            .into_iter()
            .map(str::to_owned)
            .collect::<BTreeSet<_>>(),
        expected
    );
    repo.daft(&["trust", "--status"]).ok();
}

const TALKER: &str = "hooks:\n  worktree-post-create:\n    jobs:\n      - name: talk\n        run: yes daft | head -c 200000; touch ran\n";

fn a_run_store_that_cannot_be_created_is_a_clear_error_and_git_succeeds() {
    let repo = TestRepo::installed(TALKER);
    std::fs::create_dir_all(repo.common_dir().join("daft")).unwrap();
    std::fs::write(repo.common_dir().join("daft/worktrees"), "not a directory").unwrap();
    repo.git(&["worktree", "add", "../wt", "-b", "wt"])
        .ok()
        .stderr_has("cannot create");
}

/// A tmpfs mounted over `dir` for the length of a test, or `None` (with the reason printed)
/// where this machine does not allow mounting.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, options: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(dir.to_owned())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn a_disk_that_fills_during_a_run_leaves_the_job_succeeded_not_lost() {
    let repo = TestRepo::installed(TALKER);
    let _mount = Mount::tmpfs(&repo.common_dir().join("daft/worktrees"), "size=32k");
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    assert!(repo.path("wt").join("ran").exists(), "the job still ran");
    // Its log filled the disk; its end was still recorded, in the space its record held.
    assert_eq!(only_run_statuses(&repo, &repo.path("wt")), ["succeeded"]);
}

fn a_read_only_run_store_is_a_clear_error_and_git_succeeds() {
    let repo = TestRepo::installed(TALKER);
    let _mount = Mount::tmpfs(&repo.common_dir().join("daft/worktrees"), "size=32k,ro");
    repo.git(&["worktree", "add", "../wt", "-b", "wt"])
        .ok()
        .stderr_has("Read-only file system");
}

/// The limits a user or a container may set (`ulimit -u`, a pids limit; `ulimit -n`), as an
/// unprivileged user: git's `worktree add` never sees a panic or waits forever; what could
/// not start is recorded failed, saying why, and `daft hooks wait` does not call it done.
fn low_process_and_descriptor_limits_neither_panic_nor_hang() {
    let mut config = String::from("hooks:\n  worktree-post-create:\n    parallel: 12\n    jobs:\n");
    for i in 0..12 {
        let _ = std::fmt::Write::write_fmt(
            &mut config,
            format_args!(
                "      - name: j{i}\n        run: echo {i} >> ../ran\n        background: {}\n",
                i % 2 == 0
            ),
        );
    }
    let repo = TestRepo::installed(&config);
    let owner = "23457";
    Command::new("chown")
        .args(["-R", &format!("{owner}:{owner}")])
        .arg(&repo.base)
        .status()
        .unwrap();
    let limits: Vec<String> = [4, 5, 6, 8, 12, 16, 24, 32, 40]
        .iter()
        .map(|n| format!("--nproc={n}:{n}"))
        .chain([12, 16, 24, 32].iter().map(|n| format!("--nofile={n}:{n}")))
        .collect();
    for (i, limit) in limits.iter().enumerate() {
        let wt = format!("../wt{i}");
        let mut child = repo
            .command("setpriv", &repo.root)
            .args([
                &format!("--reuid={owner}"),
                &format!("--regid={owner}"),
                "--clear-groups",
                "prlimit",
                limit,
                "git",
                "worktree",
                "add",
                "-q",
                &wt,
                "-b",
                &format!("wt{i}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut status = None;
        wait_until(
            Duration::from_secs(60),
            &format!("{limit}: git to return (a hang?)"),
            || {
                status = child.try_wait().unwrap();
                status.is_some()
            },
        );
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!stderr.contains("panicked"), "{limit}: {stderr}");
        let wt = repo.path(&format!("wt{i}"));
        if !wt.exists() {
            // git itself could not go on (no process left for its checkout): daft never ran.
            continue;
        }
        assert!(status.unwrap().success(), "{limit}: {stderr}");
        // Every job ends one way or the other; one that could not start says why.
        wait_until(
            Duration::from_secs(60),
            &format!("{limit}: every job to end"),
            || {
                crate::common::runs(&repo, &wt).first().is_some_and(|run| {
                    run["jobs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|job| job["status"] != "pending" && job["status"] != "running")
                })
            },
        );
        let run = crate::common::runs(&repo, &wt).remove(0);
        let failed: Vec<&serde_json::Value> = run["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|job| job["status"] != "succeeded")
            .collect();
        for job in &failed {
            assert_eq!(job["status"], "failed", "{limit}: {job}");
            assert!(job["reason"].is_string(), "{limit}: no reason: {job}");
        }
        let wait = repo.daft_in(&wt, &["hooks", "wait", "--timeout", "30s"]);
        assert_eq!(
            wait.code() == Some(0),
            failed.is_empty(),
            "{limit}: {}",
            wait.stderr()
        );
    }
}

/// A job that prints without end and without a newline (a binary by mistake, `curl` without
/// `-o`): daft's memory stays what it is, the log under its cap, and the record says it.
fn a_flood_without_newlines_is_bounded_in_memory_and_on_disk() {
    let flood = "head -c 500000000 /dev/zero";
    let repo = TestRepo::installed(&format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: sync-flood\n        run: {flood}\n      - name: bg-flood\n        run: {flood}; while [ ! -e ../go ]; do sleep 0.05; done\n        background: true\n"
    ));
    // The hook's peak memory, as git's wait for it counts it (GNU time: the largest child).
    let out = repo
        .command("/usr/bin/time", &repo.root)
        .args([
            "-f",
            "peak %M KiB",
            "git",
            "worktree",
            "add",
            "-q",
            "../wt",
            "-b",
            "wt",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let peak: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak ")?.strip_suffix(" KiB")?.parse().ok())
        .unwrap();
    eprintln!("the hook's peak: {peak} KiB");
    assert!(peak < 64 * 1024, "the hook took {peak} KiB for a flood");
    let wt = repo.path("wt");
    let sync = crate::common::job(&repo, &wt, "sync-flood");
    assert!(
        sync["note"]
            .as_str()
            .is_some_and(|n| n.contains("printed 500.0 MB")),
        "{sync}"
    );
    assert!(
        std::fs::metadata(sync["log"].as_str().unwrap())
            .unwrap()
            .len()
            < 3 * 1024 * 1024
    );
    // The supervisor's, while its job waits once the flood is through.
    let needle = repo.common_dir();
    let needle = needle.to_str().unwrap().as_bytes();
    let owner = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .find(|entry| {
            std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmd| {
                cmd.windows(11).any(|w| w == b"__supervise")
                    && cmd.windows(needle.len()).any(|w| w == needle)
            })
        })
        .and_then(|entry| entry.file_name().to_str()?.parse::<u64>().ok())
        .unwrap_or(0);
    wait_until(
        Duration::from_secs(60),
        "the background flood to be through",
        || {
            let log = crate::common::job(&repo, &wt, "bg-flood")["log"]
                .as_str()
                .map(str::to_owned);
            log.and_then(|l| std::fs::read(l).ok())
                .is_some_and(|bytes| {
                    bytes.windows(7).any(|w| w == b"[daft: ") && bytes.len() > 2_000_000
                })
        },
    );
    if owner > 0
        && let Ok(status) = std::fs::read_to_string(format!("/proc/{owner}/status"))
    {
        let hwm: u64 = status
            .lines()
            .find_map(|l| {
                l.strip_prefix("VmHWM:")?
                    .trim()
                    .strip_suffix(" kB")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        eprintln!("the supervisor's peak: {hwm} KiB");
        assert!(hwm < 64 * 1024, "the supervisor took {hwm} KiB");
    }
    std::fs::write(repo.path("go"), "").unwrap();
    crate::common::wait_for_status(&repo, &wt, "bg-flood", "succeeded");
    let bg = crate::common::job(&repo, &wt, "bg-flood");
    assert!(
        bg["note"]
            .as_str()
            .is_some_and(|n| n.contains("printed 500.0 MB")),
        "{bg}"
    );
    assert!(
        std::fs::metadata(bg["log"].as_str().unwrap())
            .unwrap()
            .len()
            < 3 * 1024 * 1024
    );
}

crate::cases![
    [Need::Root] low_process_and_descriptor_limits_neither_panic_nor_hang,
    [Need::Program("time")] a_flood_without_newlines_is_bounded_in_memory_and_on_disk,
    twenty_worktrees_at_once_each_run_once_with_intact_records,
    a_run_store_that_cannot_be_created_is_a_clear_error_and_git_succeeds,
    [Need::Mount] a_disk_that_fills_during_a_run_leaves_the_job_succeeded_not_lost,
    [Need::Mount] a_read_only_run_store_is_a_clear_error_and_git_succeeds,
];
