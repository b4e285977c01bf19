//! A worktree's life after it is made: it may move (its runs, logs and running jobs go with
//! it), and it goes away however it goes.

use std::time::Duration;

use crate::common::{TestRepo, added, job, runs, wait_for_status, wait_until};

/// A background job that waits for a `go` file in its worktree, then says where it is.
const WAITER: &str = "hooks:\n  worktree-post-create:\n    jobs:\n      - name: prep\n        run: 'true'\n      - name: warm\n        run: while [ ! -e go ]; do sleep 0.02; done; pwd -P\n        background: true\n        needs: [prep]\n";

/// Moves `wt` to `to` with `how`, then checks the history, the log and the running job
/// followed it.
fn moving_keeps_runs_and_jobs(how: impl FnOnce(&TestRepo, &std::path::Path, &std::path::Path)) {
    let repo = TestRepo::installed(WAITER);
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "running");
    let pid = job(&repo, &wt, "warm")["pid"].as_u64().unwrap();
    let to = repo.path("moved");
    how(&repo, &wt, &to);
    // Seen from its new place: the same run, the job still running (not cancelled).
    let history = runs(&repo, &to);
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(job(&repo, &to, "warm")["pid"].as_u64(), Some(pid));
    let moved = format!("moved to {}", to.display());
    wait_until(
        Duration::from_secs(10),
        "the supervisor to see the move",
        || supervisor_logs(&repo).contains(&moved),
    );
    assert_eq!(job(&repo, &to, "warm")["status"], "running");
    std::fs::write(to.join("go"), "").unwrap();
    wait_for_status(&repo, &to, "warm", "succeeded");
    repo.daft_in(&to, &["hooks", "log", "show", "warm"])
        .ok()
        .stdout_has(to.to_str().unwrap());
}

/// Everything the supervisors of the clone wrote.
fn supervisor_logs(repo: &TestRepo) -> String {
    fn walk(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.file_name().is_some_and(|n| n == "supervisor.log") {
                out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let mut out = String::new();
    walk(&repo.common_dir().join("daft/worktrees"), &mut out);
    out
}

#[test]
fn git_worktree_move_keeps_runs_logs_and_running_jobs() {
    moving_keeps_runs_and_jobs(|repo, from, to| {
        repo.git(&[
            "worktree",
            "move",
            from.to_str().unwrap(),
            to.to_str().unwrap(),
        ])
        .ok();
    });
}

#[test]
fn mv_then_git_worktree_repair_keeps_runs_logs_and_running_jobs() {
    moving_keeps_runs_and_jobs(|repo, from, to| {
        std::fs::rename(from, to).unwrap();
        repo.git_in(to, &["worktree", "repair"]).ok();
    });
}

#[test]
fn a_moved_worktree_keeps_its_id() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: id\n        run: echo $DAFT_WORKTREE_ID > id\n",
    );
    let wt = added(&repo, "wt");
    let id = std::fs::read_to_string(wt.join("id")).unwrap();
    assert!(
        id.trim()
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "{id}"
    );
    let to = repo.path("moved");
    repo.git(&[
        "worktree",
        "move",
        wt.to_str().unwrap(),
        to.to_str().unwrap(),
    ])
    .ok();
    repo.daft_in(&to, &["hooks", "run", "worktree-post-create"])
        .ok();
    assert_eq!(std::fs::read_to_string(to.join("id")).unwrap(), id);
    wait_until(Duration::from_secs(5), "two runs", || {
        runs(&repo, &to).len() == 2
    });
}
