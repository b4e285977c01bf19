//! Background jobs: detached, recorded, logged, surfaced when they fail, cancelled when asked
//! or when their worktree goes, and never `running` forever.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::common::{
    TestRepo, add_at_once, added, group_alive, job, kill, only_run_statuses, pid_alive, read,
    status, wait_for_status, wait_until,
};

fn background(run: &str) -> String {
    format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: prep\n        run: 'true'\n      - name: warm\n        run: {run}\n        background: true\n        needs: [prep]\n"
    )
}

fn a_background_job_is_running_then_succeeded_with_its_output_logged() {
    let repo = TestRepo::installed(&background(
        "'echo warming; while [ ! -e go ]; do sleep 0.02; done; echo warm'",
    ));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "running");
    repo.daft_in(&wt, &["hooks", "log", "show"])
        .ok()
        .stdout_has("warm")
        .stdout_has("running");
    std::fs::write(wt.join("go"), "").unwrap();
    wait_for_status(&repo, &wt, "warm", "succeeded");
    repo.daft_in(&wt, &["hooks", "log", "show", "warm"])
        .ok()
        .stdout_has("warming\nwarm\n");
}

fn follow_streams_the_log_until_the_job_ends() {
    let repo = TestRepo::installed(&background(
        "'for i in 1 2 3; do echo line$i; sleep 0.2; done'",
    ));
    let wt = added(&repo, "wt");
    repo.daft_in(&wt, &["hooks", "log", "show", "warm", "--follow"])
        .ok()
        .stdout_has("line1\nline2\nline3\n");
    assert_eq!(status(&repo, &wt, "warm"), "succeeded");
}

fn a_failed_background_job_is_recorded_and_told_once() {
    let repo = TestRepo::installed(&background("'echo boom; exit 7'"));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "failed");
    assert_eq!(job(&repo, &wt, "warm")["exit_code"], 7);
    // `job()` ran `log show --json`, which does not consume the notice; the table does.
    repo.daft_in(&wt, &["hooks", "log", "show"])
        .ok()
        .stderr_has("background job `warm` failed (exit 7); see `daft hooks log show warm`");
    let again = repo.daft_in(&wt, &["hooks", "log", "show"]).ok();
    assert!(
        !again.stderr().contains("background job"),
        "told once: {}",
        again.stderr()
    );
}

fn the_next_hook_daft_runs_in_that_worktree_tells_of_a_background_failure() {
    let config = format!(
        "{}  post-checkout:\n    jobs:\n      - name: noop\n        run: 'true'\n",
        background("'exit 3'")
    );
    let repo = TestRepo::installed(&config);
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "failed");
    repo.git_in(&wt, &["switch", "-q", "-c", "next"])
        .ok()
        .stderr_has("background job `warm` failed (exit 3)");
}

fn a_background_job_survives_a_hangup_of_the_shell_that_ran_git() {
    let repo = TestRepo::installed(&background("'while [ ! -e go ]; do sleep 0.02; done'"));
    let mut shell = repo.command("sh", &repo.root);
    shell
        .args([
            "-c",
            "git worktree add ../wt -b wt >/dev/null 2>&1; echo added; sleep 30",
        ])
        .stdout(std::process::Stdio::piped());
    shell.process_group(0);
    let mut shell = shell.spawn().unwrap();
    // The worktree is usable once git is done with it: when the shell says so.
    let stdout = shell.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        let _ = tx.send(line);
    });
    let said = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(said.trim(), "added");
    let wt = repo.path("wt");
    wait_until(Duration::from_secs(30), "the job to run", || {
        status(&repo, &wt, "warm") == "running"
    });
    kill("HUP", -i64::from(shell.id()));
    shell.wait().unwrap();
    let pid = job(&repo, &wt, "warm")["pid"].as_u64().unwrap() as u32;
    assert!(pid_alive(pid), "the job outlived the hang-up");
    std::fs::write(wt.join("go"), "").unwrap();
    wait_for_status(&repo, &wt, "warm", "succeeded");
}

/// Starts a long background job in a new worktree, makes the worktree go away with `remove`,
/// and checks that the job's group is gone and its record says why, within a few seconds.
fn going_away_cancels(remove: impl FnOnce(&TestRepo, &Path)) {
    let repo = TestRepo::installed(&background("'sleep 60 & wait'"));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "running");
    let pid = job(&repo, &wt, "warm")["pid"].as_u64().unwrap() as u32;
    remove(&repo, &wt);
    wait_until(Duration::from_secs(5), "the job's group to be gone", || {
        !group_alive(pid)
    });
    // The worktree is gone; its runs are still under the common dir.
    // (Once torn down, its runs move under daft/removed/.)
    let records = repo.common_dir().join("daft");
    wait_until(
        Duration::from_secs(5),
        "the record to say cancelled",
        || {
            grep_records(&records, "\"cancelled\"")
                && grep_records(&records, "its worktree was removed")
        },
    );
}

fn removing_the_worktree_cancels_its_jobs() {
    going_away_cancels(|repo, _| {
        repo.git(&["worktree", "remove", "--force", "../wt"]).ok();
    });
}

fn deleting_the_worktree_directory_cancels_its_jobs() {
    going_away_cancels(|_, wt| std::fs::remove_dir_all(wt).unwrap());
}

fn cancel_stops_a_job_and_its_group() {
    let repo = TestRepo::installed(&background("'sleep 60 & wait'"));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "running");
    let pid = job(&repo, &wt, "warm")["pid"].as_u64().unwrap() as u32;
    repo.daft_in(&wt, &["hooks", "cancel", "warm"])
        .ok()
        .stdout_has("cancelled warm");
    assert!(!group_alive(pid));
    assert_eq!(status(&repo, &wt, "warm"), "cancelled");
    repo.daft_in(&wt, &["hooks", "cancel"])
        .ok()
        .stderr_has("daft: no background jobs are running");
}

fn a_killed_supervisor_leaves_no_job_running_forever() {
    let repo = TestRepo::installed(&background("'while [ ! -e go ]; do sleep 0.02; done'"));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "running");
    let record =
        find_record(&repo.common_dir().join("daft/worktrees"), "warm.json").expect("a record");
    let owner: Value = serde_json::from_str(&read(&record)).unwrap();
    let supervisor = owner["owner"]["pid"].as_u64().unwrap();
    kill("KILL", supervisor as i64);
    // The job itself is still alive: it shows running while it truly runs...
    assert_eq!(status(&repo, &wt, "warm"), "running");
    std::fs::write(wt.join("go"), "").unwrap();
    // ...and once it is gone with no one to record its end, lost.
    wait_for_status(&repo, &wt, "warm", "lost");
}

fn ten_worktrees_added_at_once_each_get_one_complete_run() {
    let repo = TestRepo::installed(&background("'echo $DAFT_WORKTREE'"));
    add_at_once(&repo, 10);
    for i in 0..10 {
        let wt = repo.path(&format!("wt{i}"));
        wait_for_status(&repo, &wt, "warm", "succeeded");
        assert_eq!(only_run_statuses(&repo, &wt), ["succeeded", "succeeded"]);
        let log = repo
            .daft_in(&wt, &["hooks", "log", "show", "warm"])
            .ok()
            .stdout();
        assert_eq!(log.trim(), wt.to_str().unwrap());
    }
}

fn start_and_remove_go_through_git_and_its_hooks() {
    let repo = TestRepo::installed(&background("'sleep 60 & wait'"));
    let out = repo
        .run_in(&repo.root, "git", &["daft", "start", "feature/x"])
        .ok();
    let wt = repo.path("repo.feature-x");
    assert!(
        out.stdout().contains(wt.to_str().unwrap()),
        "{}",
        out.stdout()
    );
    wait_for_status(&repo, &wt, "warm", "running");
    let pid = job(&repo, &wt, "warm")["pid"].as_u64().unwrap() as u32;
    repo.daft(&["remove", wt.to_str().unwrap()])
        .ok()
        .stderr_has("daft: cancelled warm");
    assert!(!wt.exists());
    assert!(!group_alive(pid));
}

fn remove_changes_nothing_when_git_would_refuse() {
    let repo = TestRepo::installed(&background("'sleep 60 & wait'"));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "running");
    // Dirty: git would refuse without --force, so the job keeps running.
    std::fs::write(wt.join("scratch"), "x").unwrap();
    repo.daft(&["remove", wt.to_str().unwrap()])
        .fails_with(2)
        .stderr_has("modified or untracked files")
        .stderr_has("nothing was changed");
    assert_eq!(job(&repo, &wt, "warm")["status"], "running");
    // Locked: the same.
    std::fs::remove_file(wt.join("scratch")).unwrap();
    repo.git(&[
        "worktree",
        "lock",
        "--reason",
        "in use",
        wt.to_str().unwrap(),
    ])
    .ok();
    repo.daft(&["remove", "--force", wt.to_str().unwrap()])
        .fails_with(2)
        .stderr_has("is locked (in use)")
        .stderr_has("git worktree unlock");
    assert_eq!(job(&repo, &wt, "warm")["status"], "running");
    assert!(wt.exists());
    repo.git(&["worktree", "unlock", wt.to_str().unwrap()]).ok();
    repo.daft(&["remove", wt.to_str().unwrap()])
        .ok()
        .stderr_has("daft: cancelled warm");
}

fn find_record(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_record(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

/// Whether the job's record says `text`. The teardown moves a removed worktree's runs under
/// `daft/removed/` while this looks: a record gone between finding and reading is looked for
/// again on the next try.
fn grep_records(dir: &Path, text: &str) -> bool {
    find_record(dir, "warm.json")
        .and_then(|path| std::fs::read_to_string(path).ok())
        .is_some_and(|record| record.contains(text))
}

fn old_runs_are_pruned_to_the_last_twenty() {
    let repo = TestRepo::new()
        .daft_yml("hooks:\n  post-merge:\n    jobs:\n      - name: one\n        run: 'true'\n")
        .trust();
    for _ in 0..25 {
        repo.daft(&["hooks", "run", "post-merge"]).ok();
    }
    let json: Value =
        serde_json::from_str(&repo.daft(&["hooks", "log", "show", "--json"]).ok().stdout())
            .unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 20);
}

fn git_daft_hooks_answers_like_daft_hooks() {
    let repo = TestRepo::new()
        .daft_yml(&background("'true'"))
        .commit()
        .install();
    repo.git(&["daft-hooks", "trust", "--yes"])
        .ok()
        .stdout_has("trusted");
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "succeeded");
    repo.git_in(&wt, &["daft-hooks", "log", "show"])
        .ok()
        .stdout_has("warm");
}

fn a_closed_pipe_ends_commands_quietly() {
    let repo = TestRepo::new()
        .daft_yml("hooks:\n  post-merge:\n    jobs:\n      - name: one\n        run: 'true'\n")
        .trust();
    repo.daft(&["hooks", "run", "post-merge"]).ok();
    for args in [&["hooks", "log", "show"][..], &["validate"]] {
        // A pipe whose reader is already gone before daft writes a byte.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = repo
            .command(crate::common::DAFT, &repo.root)
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr, "",
            "daft {args:?}: no error and no panic when the reader goes away"
        );
    }
}

crate::cases![
    a_background_job_is_running_then_succeeded_with_its_output_logged,
    follow_streams_the_log_until_the_job_ends,
    a_failed_background_job_is_recorded_and_told_once,
    the_next_hook_daft_runs_in_that_worktree_tells_of_a_background_failure,
    a_background_job_survives_a_hangup_of_the_shell_that_ran_git,
    removing_the_worktree_cancels_its_jobs,
    deleting_the_worktree_directory_cancels_its_jobs,
    cancel_stops_a_job_and_its_group,
    a_killed_supervisor_leaves_no_job_running_forever,
    ten_worktrees_added_at_once_each_get_one_complete_run,
    start_and_remove_go_through_git_and_its_hooks,
    remove_changes_nothing_when_git_would_refuse,
    old_runs_are_pruned_to_the_last_twenty,
    git_daft_hooks_answers_like_daft_hooks,
    a_closed_pipe_ends_commands_quietly,
];
