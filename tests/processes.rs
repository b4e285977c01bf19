//! What a job leaves behind, and whose it is (README, "Background jobs"): a process that
//! serves the worktree — its working directory is in it, as a dev server's is — is ended with
//! its job when the job fails, times out or is cancelled, and with the worktree; a per-user
//! server a job started (one that moved out of the worktree, as sccache's does) is the user's
//! and keeps running. And a condition's command is a process like a job's: a cancel reaches it.

use std::path::Path;
use std::time::Duration;

use indoc::formatdoc;

use crate::common::{TestRepo, added, pid_alive, read_pid, status, wait_for_status, wait_until};

/// A background job `dev` whose shell starts a daemon (its own session, its working directory
/// where `cd` leaves it, the job's shell its parent) that writes its pid to `../<name>.pid`;
/// once it has (so the job never ends before its daemon is there to be found), does `then`.
fn daemonizing(name: &str, cd: &str, then: &str, extra: &str) -> String {
    formatdoc! {"
        hooks:
          worktree-post-create:
            jobs:
              - name: dev
                run: |
                  here=$(pwd)
                  {cd} setsid sh -c \"echo \\$\\$ > $here/../{name}.pid.new && mv $here/../{name}.pid.new $here/../{name}.pid; exec sleep 300\" > /dev/null 2>&1 < /dev/null &
                  while [ ! -s \"$here/../{name}.pid\" ]; do sleep 0.01; done
                  {then}
                background: true
        {extra}"}
}

/// The daemon's pid, once it wrote it.
fn daemon(repo: &TestRepo, name: &str) -> u32 {
    let file = repo.path(&format!("{name}.pid"));
    wait_until(Duration::from_secs(30), "the daemon", || {
        read_pid(&file).is_some()
    });
    read_pid(&file).unwrap()
}

#[track_caller]
fn ended(pid: u32) {
    wait_until(Duration::from_secs(20), "the daemon to be ended", || {
        !pid_alive(pid)
    });
}

fn a_dev_server_is_ended_when_its_job_fails() {
    let repo = TestRepo::installed(&daemonizing("server", "", "exit 1", ""));
    let wt = added(&repo, "wt");
    let pid = daemon(&repo, "server");
    wait_for_status(&repo, &wt, "dev", "failed");
    ended(pid);
}

fn a_dev_server_is_ended_when_its_job_times_out() {
    let repo = TestRepo::installed(&daemonizing(
        "server",
        "",
        "exec sleep 30",
        "        timeout: 1s\n",
    ));
    let wt = added(&repo, "wt");
    let pid = daemon(&repo, "server");
    wait_for_status(&repo, &wt, "dev", "timed-out");
    ended(pid);
}

fn a_dev_server_is_ended_when_its_job_is_cancelled() {
    let repo = TestRepo::installed(&daemonizing("server", "", "exec sleep 30", ""));
    let wt = added(&repo, "wt");
    let pid = daemon(&repo, "server");
    wait_for_status(&repo, &wt, "dev", "running");
    repo.daft_in(&wt, &["hooks", "cancel", "dev"]).ok();
    ended(pid);
}

fn a_per_user_build_server_a_job_started_keeps_running() {
    let repo = TestRepo::installed(&daemonizing("shared", "cd / &&", "exit 1", ""));
    let wt = added(&repo, "wt");
    let pid = daemon(&repo, "shared");
    wait_for_status(&repo, &wt, "dev", "failed");
    // The supervisor looked, named it, and left it alone.
    let logs = repo.common_dir().join("daft/worktrees");
    wait_until(
        Duration::from_secs(20),
        "the supervisor's word on it",
        || supervisor_logs(&logs).contains(&format!("left pid {pid} running in /")),
    );
    assert!(pid_alive(pid), "the user's server was ended");
    // Not even the worktree's removal ends it.
    repo.git(&["worktree", "remove", "--force", wt.to_str().unwrap()])
        .ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    assert!(pid_alive(pid));
    crate::common::kill("KILL", i64::from(pid));
}

fn supervisor_logs(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "supervisor.log") {
                out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    out
}

/// A condition that takes its time is a process the engine waits for like a job: a cancel
/// ends it at once, and the job is recorded cancelled.
fn a_cancel_reaches_a_job_whose_condition_is_still_running() {
    let repo = TestRepo::installed(&formatdoc! {"
        hooks:
          worktree-post-create:
            jobs:
              - name: warm
                run: 'true'
                background: true
                only:
                  run: echo $$ > ../condition.pid; exec sleep 30
    "});
    let wt = added(&repo, "wt");
    let pid = daemon(&repo, "condition");
    let started = std::time::Instant::now();
    repo.daft_in(&wt, &["hooks", "cancel", "warm"]).ok();
    wait_for_status(&repo, &wt, "warm", "cancelled");
    assert!(!pid_alive(pid));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the cancel waited for the condition: {:?}",
        started.elapsed()
    );
    assert_eq!(status(&repo, &wt, "warm"), "cancelled");
}

crate::cases![
    a_dev_server_is_ended_when_its_job_fails,
    a_dev_server_is_ended_when_its_job_times_out,
    a_dev_server_is_ended_when_its_job_is_cancelled,
    a_per_user_build_server_a_job_started_keeps_running,
    a_cancel_reaches_a_job_whose_condition_is_still_running,
];
