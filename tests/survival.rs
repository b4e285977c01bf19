//! Faults survived (SPEC §5, §7): daft's own processes killed or stopped, a low process limit,
//! damaged records, a flood of output. Nothing is orphaned, nothing half-written stays,
//! nothing is reported fine that is not, and every wait ends.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{
    TestRepo, added, job, kill, pid_alive, read, read_pid, runs, status, wait_for_status,
    wait_until,
};

/// A background job that writes its pid and runs until stopped.
const SERVER: &str = "hooks:
  worktree-post-create:
    jobs:
      - name: serve
        run: echo $$ > ../serve.pid; exec sleep 300
        background: true
";

/// The record of background job `name` of the worktree's first run, and where it is.
fn record(repo: &TestRepo, wt: &Path, name: &str) -> (PathBuf, serde_json::Value) {
    let runs = runs(repo, wt);
    let run_dir = repo
        .common_dir()
        .join("daft/worktrees")
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.path().join("runs").join(runs[0]["id"].as_str().unwrap()))
        .find(|p| p.exists())
        .unwrap();
    let path = run_dir.join(format!("jobs/{name}.json"));
    let record = serde_json::Deserializer::from_slice(&std::fs::read(&path).unwrap())
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    (path, record)
}

/// The supervisor's pid: the owner of a background job's record.
fn supervisor(repo: &TestRepo, wt: &Path, name: &str) -> u32 {
    record(repo, wt, name).1["owner"]["pid"].as_u64().unwrap() as u32
}

/// The server job's pid, once it has written it: "running" is recorded when the job starts,
/// a moment before its shell writes the file.
fn server_pid(repo: &TestRepo) -> u32 {
    let file = repo.path("serve.pid");
    wait_until(
        Duration::from_secs(15),
        "the server to write its pid",
        || read_pid(&file).is_some(),
    );
    read_pid(&file).unwrap()
}

fn a_killed_supervisor_s_job_is_ended_when_its_worktree_is_removed() {
    let repo = TestRepo::installed(SERVER);
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "serve", "running");
    let server = server_pid(&repo);
    assert!(kill("KILL", i64::from(supervisor(&repo, &wt, "serve"))));
    repo.git(&["worktree", "remove", "--force", wt.to_str().unwrap()])
        .ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    assert_ended_with_its_worktree(&repo, server);
}

/// The removed worktree's server is ended, and its record says it was cancelled.
#[track_caller]
fn assert_ended_with_its_worktree(repo: &TestRepo, server: u32) {
    wait_until(
        Duration::from_secs(15),
        "the orphaned server to be ended",
        || !pid_alive(server),
    );
    let removed = repo
        .daft(&["hooks", "log", "show", "--removed"])
        .ok()
        .stdout();
    assert!(!removed.contains("running"), "{removed}");
    assert!(removed.contains("cancelled"), "{removed}");
}

/// A removal seen while the supervisor lives is left to it; should it die before it acts, the
/// teardown still comes. (The supervisor is stood in for by a plain process named as the
/// job's owner, so the moment it dies is the test's to choose.)
fn a_supervisor_that_dies_after_the_removal_was_seen_still_gets_it_torn_down() {
    let repo = TestRepo::installed(SERVER);
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "serve", "running");
    let server = server_pid(&repo);
    let real = supervisor(&repo, &wt, "serve");
    assert!(kill("KILL", i64::from(real)));
    wait_until(Duration::from_secs(15), "the supervisor to end", || {
        !pid_alive(real)
    });
    let mut stand_in = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();
    let (path, mut owned) = record(&repo, &wt, "serve");
    owned["owner"] =
        serde_json::json!({ "pid": stand_in.id(), "start": start_time(stand_in.id()) });
    std::fs::write(&path, owned.to_string()).unwrap();
    repo.git(&["worktree", "remove", "--force", wt.to_str().unwrap()])
        .ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    assert!(pid_alive(server), "left to the supervisor while it lives");
    let _ = stand_in.kill();
    let _ = stand_in.wait();
    assert_ended_with_its_worktree(&repo, server);
}

/// When process `pid` started, as the system counts it (`/proc/PID/stat`'s 22nd field).
fn start_time(pid: u32) -> u64 {
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

fn the_hook_killed_during_a_synchronous_job_leaves_it_no_time_to_run_on() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: slow\n        run: echo $PPID > ../hook.pid; sleep 30; touch ../late\n",
    );
    let mut add = repo
        .command("git", &repo.root)
        .args(["worktree", "add", "../wt", "-b", "wt"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let hook_pid = repo.path("hook.pid");
    wait_until(Duration::from_secs(15), "the job to start", || {
        read_pid(&hook_pid).is_some()
    });
    // The job's parent is daft's hook: SIGKILL it, as the OOM killer would.
    assert!(kill("KILL", i64::from(read_pid(&hook_pid).unwrap())));
    let _ = add.wait();
    let wt = repo.path("wt");
    wait_for_status(&repo, &wt, "slow", "cancelled");
    let reason = job(&repo, &wt, "slow")["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("the hook that ran it ended"), "{reason}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(!repo.path("late").exists(), "the job did not run on");
}

fn a_stopped_supervisor_cannot_make_a_cancel_or_a_removal_hang() {
    let repo = TestRepo::installed(SERVER);
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "serve", "running");
    let server = server_pid(&repo);
    let supervisor = supervisor(&repo, &wt, "serve");
    assert!(kill("STOP", i64::from(supervisor)));
    let started = Instant::now();
    repo.daft_in(&wt, &["hooks", "cancel"]).ok();
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert!(!pid_alive(server));
    assert_eq!(status(&repo, &wt, "serve"), "cancelled");
    assert!(
        job(&repo, &wt, "serve")["reason"]
            .as_str()
            .unwrap()
            .contains("is stopped")
    );
    // And the worktree can go.
    let started = Instant::now();
    repo.daft(&["remove", "--force", wt.to_str().unwrap()]).ok();
    assert!(started.elapsed() < Duration::from_secs(12));
    assert!(!wt.exists());
    wait_until(
        Duration::from_secs(30),
        "the stopped supervisor to be ended",
        || !pid_alive(supervisor),
    );
}

fn a_damaged_record_never_reads_as_success() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: setup\n        run: 'true'\n      - name: warm\n        run: exit 7\n        background: true\n",
    );
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "failed");
    let run = repo
        .common_dir()
        .join("daft/worktrees")
        .read_dir()
        .unwrap()
        .flatten()
        .find_map(|e| e.path().join("runs").read_dir().ok()?.flatten().next())
        .unwrap()
        .path();
    let record = run.join("jobs/warm.json");
    // Its padding zeroed: the record itself is whole, and still says failed.
    let mut bytes = std::fs::read(&record).unwrap();
    let end = bytes.iter().rposition(|&b| b == b'}').unwrap() + 1;
    bytes[end..].fill(0);
    std::fs::write(&record, &bytes).unwrap();
    assert_eq!(status(&repo, &wt, "warm"), "failed");
    repo.daft_in(&wt, &["hooks", "wait"]).fails_with(1);
    // Emptied: damaged, shown as such, and no "all succeeded".
    std::fs::write(&record, b"").unwrap();
    assert_eq!(status(&repo, &wt, "warm"), "damaged");
    repo.daft_in(&wt, &["hooks", "log", "show"])
        .ok()
        .stdout_has("damaged");
    let out = repo.daft_in(&wt, &["hooks", "wait"]).fails_with(1).stderr();
    assert!(!out.contains("all succeeded"), "{out}");
    // The run's own record emptied: the run is still shown, damaged, and wait fails.
    std::fs::write(run.join("run.json"), b"").unwrap();
    repo.daft_in(&wt, &["hooks", "log", "show"])
        .ok()
        .stdout_has("its record is damaged");
    repo.daft_in(&wt, &["hooks", "wait"]).fails_with(1);
}

fn a_flood_of_output_keeps_the_log_under_its_cap_while_it_is_written() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: loud\n        run: echo first; yes daft | head -c 60000000; echo; echo last\n        background: true\n        nice: false\n",
    );
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "loud", "succeeded");
    let log = job(&repo, &wt, "loud")["log"].as_str().unwrap().to_owned();
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size < 4 * 1024 * 1024, "{size}");
    let shown = repo
        .daft_in(&wt, &["hooks", "log", "show", "loud"])
        .ok()
        .stdout();
    assert!(shown.starts_with("first\n"));
    assert!(shown.ends_with("\nlast\n"));
    assert!(shown.contains("bytes of output left out here"));
}

fn a_low_process_limit_slows_jobs_down_but_fails_nothing_and_panics_nowhere() {
    let mut config = String::from("hooks:\n  worktree-post-create:\n    parallel: 30\n    jobs:\n");
    for i in 0..30 {
        let _ = write!(
            config,
            "      - name: j{i}\n        run: echo {i} >> ../ran; exec sleep 0.3\n        background: {}\n",
            i % 2 == 0
        );
    }
    let repo = TestRepo::installed(&config);
    let owner = "23456";
    std::process::Command::new("chown")
        .args(["-R", &format!("{owner}:{owner}")])
        .arg(&repo.base)
        .status()
        .unwrap();
    let out = repo
        .command("setpriv", &repo.root)
        .args([
            &format!("--reuid={owner}"),
            &format!("--regid={owner}"),
            "--clear-groups",
            "prlimit",
            "--nproc=24:24",
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
    assert!(!stderr.contains("panicked"), "{stderr}");
    wait_until(Duration::from_secs(60), "every job to run", || {
        read(&repo.path("ran")).lines().count() == 30
    });
    let wt = repo.path("wt");
    wait_until(Duration::from_secs(20), "every record to be final", || {
        runs(&repo, &wt)[0]["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["status"] == "succeeded")
    });
}

crate::cases![
    a_killed_supervisor_s_job_is_ended_when_its_worktree_is_removed,
    a_supervisor_that_dies_after_the_removal_was_seen_still_gets_it_torn_down,
    the_hook_killed_during_a_synchronous_job_leaves_it_no_time_to_run_on,
    a_stopped_supervisor_cannot_make_a_cancel_or_a_removal_hang,
    a_damaged_record_never_reads_as_success,
    a_flood_of_output_keeps_the_log_under_its_cap_while_it_is_written,
    [Need::Root] a_low_process_limit_slows_jobs_down_but_fails_nothing_and_panics_nowhere,
];
