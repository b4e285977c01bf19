//! How an event's jobs run: parallel as far as `needs` and `parallel:` allow, timeouts and
//! Ctrl-C that leave no process behind, `abort` that stops the rest.

use std::os::unix::process::ExitStatusExt as _;
use std::time::Duration;

use serde_json::Value;

use crate::common::{DAFT, TestRepo, kill, pid_alive, read, read_pid, wait_until};

fn diamond(parallel: &str) -> String {
    format!(
        r"
hooks:
  worktree-post-create:
    parallel: {parallel}
    jobs:
      - name: a
        run: sleep 0.3
      - name: b
        run: sleep 0.3
        needs: [a]
      - name: c
        run: sleep 0.3
        needs: [a]
      - name: d
        run: sleep 0.3
        needs: [b, c]
"
    )
}

/// (start, end) of each job of the latest run, from `log show --json`.
fn spans(repo: &TestRepo) -> Vec<(String, f64, f64)> {
    let json: Value =
        serde_json::from_str(&repo.daft(&["hooks", "log", "show", "--json"]).ok().stdout())
            .unwrap();
    json["runs"][0]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            (
                job["name"].as_str().unwrap().to_owned(),
                job["started_at"].as_f64().unwrap(),
                job["ended_at"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn overlap(x: &(String, f64, f64), y: &(String, f64, f64)) -> bool {
    x.1 < y.2 && y.1 < x.2
}

fn a_diamond_runs_its_middle_in_parallel_and_respects_needs() {
    let repo = TestRepo::new().daft_yml(&diamond("true")).trust();
    repo.daft(&["hooks", "run", "worktree-post-create"]).ok();
    let jobs = spans(&repo);
    let [first, left, right, last] = [&jobs[0], &jobs[1], &jobs[2], &jobs[3]];
    assert!(
        overlap(left, right),
        "b and c ran at the same time: {jobs:?}"
    );
    assert!(
        first.2 <= left.1 && first.2 <= right.1,
        "b and c start after a ends: {jobs:?}"
    );
    assert!(
        left.2 <= last.1 && right.2 <= last.1,
        "d starts after b and c end: {jobs:?}"
    );
}

fn parallel_one_runs_one_job_at_a_time() {
    let repo = TestRepo::new().daft_yml(&diamond("1")).trust();
    repo.daft(&["hooks", "run", "worktree-post-create"]).ok();
    let jobs = spans(&repo);
    for (i, one) in jobs.iter().enumerate() {
        for other in &jobs[i + 1..] {
            assert!(
                !overlap(one, other),
                "{} and {} overlapped: {jobs:?}",
                one.0,
                other.0
            );
        }
    }
}

fn abort_stops_running_jobs_and_skips_the_rest() {
    let repo = TestRepo::new()
        .daft_yml(
            r"
hooks:
  worktree-post-create:
    fail_mode: abort
    parallel: 2
    jobs:
      - name: slow
        run: echo $$ > slow.pid; exec sleep 30
      - name: broken
        run: while [ ! -s slow.pid ]; do sleep 0.01; done; exit 4
      - name: later
        run: touch later
",
        )
        .trust();
    let out = repo
        .daft(&["hooks", "run", "worktree-post-create"])
        .fails_with(1);
    // By hand, the failure is the command's, whatever fail_mode says about git.
    let out = out.stderr_has("`broken` failed. See `daft hooks log show broken`");
    assert!(out.stderr().contains("slow cancelled"), "{}", out.stderr());
    let pid: u32 = read(&repo.root.join("slow.pid")).trim().parse().unwrap();
    assert!(!pid_alive(pid), "the running job was stopped");
    assert!(
        !repo.root.join("later").exists(),
        "jobs not started stay unstarted"
    );
}

fn a_timed_out_job_and_its_whole_process_tree_are_gone() {
    let repo = TestRepo::new()
        .daft_yml(
            r"
hooks:
  worktree-post-create:
    jobs:
      - name: stuck
        run: sleep 60 & echo $! > child.pid; echo $$ > parent.pid; wait
        timeout: 1s
",
        )
        .trust();
    repo.daft(&["hooks", "run", "worktree-post-create"])
        .fails_with(1)
        .stderr_has("stuck timed out");
    for file in ["parent.pid", "child.pid"] {
        let pid: u32 = read(&repo.root.join(file)).trim().parse().unwrap();
        assert!(!pid_alive(pid), "{file} ({pid}) outlived the timeout");
    }
    repo.daft(&["hooks", "log", "show"])
        .ok()
        .stdout_has("timed-out");
}

/// Sends `signal` to `daft hooks run` while its job (and the job's own child) runs; daft must
/// exit with `code` and leave neither process alive.
fn a_signal_stops_every_job_process(signal: &str, code: i32) {
    let repo = TestRepo::new()
        .daft_yml("hooks:\n  worktree-post-create:\n    jobs:\n      - name: long\n        run: sleep 60 & echo $! > child.pid; echo $$ > parent.pid; wait\n")
        .trust();
    let mut daft = repo
        .command(DAFT, &repo.root)
        .args(["hooks", "run", "worktree-post-create"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Both pids are written before the signal: the job writes them one after the other.
    wait_until(Duration::from_secs(30), "the job to start", || {
        ["child.pid", "parent.pid"]
            .iter()
            .all(|file| read_pid(&repo.root.join(file)).is_some())
    });
    assert!(kill(signal, i64::from(daft.id())));
    let status = daft.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(code),
        "{status:?} (signal {:?})",
        status.signal()
    );
    for file in ["parent.pid", "child.pid"] {
        let pid = read_pid(&repo.root.join(file)).unwrap();
        assert!(!pid_alive(pid), "{file} ({pid}) outlived SIG{signal}");
    }
}

fn ctrl_c_stops_every_synchronous_job_process() {
    a_signal_stops_every_job_process("INT", 130);
}

fn sigterm_to_the_hook_leaves_no_job_process_behind() {
    a_signal_stops_every_job_process("TERM", 143);
}

fn a_missing_root_fails_the_job_with_a_reason() {
    let repo = TestRepo::new()
        .daft_yml("hooks:\n  worktree-post-create:\n    jobs:\n      - name: web\n        run: 'true'\n        root: apps/web\n")
        .trust();
    repo.daft(&["hooks", "run", "worktree-post-create"])
        .fails_with(1)
        .stderr_has("root `apps/web` does not exist");
}

fn run_by_hand_can_pick_one_job_and_show_the_plan() {
    let repo = TestRepo::new().daft_yml(&diamond("true")).trust();
    repo.daft(&["hooks", "run", "worktree-post-create", "--dry-run"])
        .ok()
        .stdout_has("1. a")
        .stdout_has("2. b after a | c after a")
        .stdout_has("3. d after b, c");
    repo.daft(&["hooks", "run", "worktree-post-create", "--job", "d"])
        .ok()
        .stderr_has("✓ d");
    repo.daft(&["hooks", "run", "worktree-post-create", "--job", "nope"])
        .fails_with(2)
        .stderr_has("its jobs are: a, b, c, d");
}

fn output_without_a_terminal_is_plain_and_prefixed() {
    let repo = TestRepo::new()
        .daft_yml("hooks:\n  worktree-post-create:\n    jobs:\n      - name: talk\n        run: echo hello; echo oops >&2\n")
        .trust();
    let out = repo.daft(&["hooks", "run", "worktree-post-create"]).ok();
    assert!(
        out.stderr().contains("talk │ hello\n") && out.stderr().contains("talk │ oops\n"),
        "{}",
        out.stderr()
    );
    assert!(
        !out.stderr().contains('\x1b'),
        "no escape codes when not a terminal"
    );
}

fn hooks_run_respects_trust() {
    let repo = TestRepo::new().daft_yml(&diamond("true"));
    repo.daft(&["hooks", "run", "worktree-post-create"])
        .fails_with(1)
        .stderr_has("daft.yml is not trusted yet; no jobs ran");
}

fn a_hangup_ends_the_synchronous_jobs_like_sigterm() {
    a_signal_stops_every_job_process("HUP", 129);
}

crate::cases![
    a_diamond_runs_its_middle_in_parallel_and_respects_needs,
    parallel_one_runs_one_job_at_a_time,
    abort_stops_running_jobs_and_skips_the_rest,
    a_timed_out_job_and_its_whole_process_tree_are_gone,
    ctrl_c_stops_every_synchronous_job_process,
    sigterm_to_the_hook_leaves_no_job_process_behind,
    a_missing_root_fails_the_job_with_a_reason,
    run_by_hand_can_pick_one_job_and_show_the_plan,
    output_without_a_terminal_is_plain_and_prefixed,
    hooks_run_respects_trust,
    a_hangup_ends_the_synchronous_jobs_like_sigterm,
];
