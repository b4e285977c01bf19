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
        Duration::from_secs(30),
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

fn mv_then_git_worktree_repair_keeps_runs_logs_and_running_jobs() {
    moving_keeps_runs_and_jobs(|repo, from, to| {
        std::fs::rename(from, to).unwrap();
        repo.git_in(to, &["worktree", "repair"]).ok();
    });
}

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

/// A config whose teardown writes what it was told (after a moment, as a real teardown takes
/// one: its worktree being gone must not stop it), and whose setup leases a port.
fn teardown_config(log: &std::path::Path) -> String {
    format!(
        "ports: [web]\nhooks:\n  worktree-post-create:\n    jobs:\n      - name: setup\n        run: 'true'\n  worktree-post-remove:\n    jobs:\n      - name: drop-db\n        run: sleep 0.6; echo \"$DAFT_WORKTREE $DAFT_BRANCH $DAFT_WORKTREE_ID $DAFT_PORT_WEB $(pwd -P)\" >> '{}'\n",
        log.display()
    )
}

fn teardowns(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Makes `wt` go away with `how`, nudges daft with a command in the main worktree, and checks
/// the teardown ran exactly once, with the removed worktree's facts, in the main worktree.
fn post_remove_runs_once(how: impl FnOnce(&TestRepo, &std::path::Path)) {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("teardown.log");
    let repo = TestRepo::installed(&teardown_config(&log));
    let wt = added(&repo, "gone");
    let id = std::fs::read_dir(repo.common_dir().join("daft/worktrees"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("gone_"))
        .unwrap();
    how(&repo, &wt);
    for _ in 0..3 {
        repo.daft(&["hooks", "log", "show"]).ok();
    }
    wait_until(Duration::from_secs(30), "the teardown", || {
        !teardowns(&log).is_empty()
    });
    // Nudged again: still once.
    repo.daft(&["hooks", "log", "show", "--removed"])
        .ok()
        .stdout_has("removed worktree")
        .stdout_has("drop-db");
    wait_until(Duration::from_secs(30), "the teardown run to end", || {
        repo.daft(&["hooks", "log", "show", "--removed"])
            .stdout()
            .contains("succeeded")
    });
    let lines = teardowns(&log);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let fields: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(fields[0], wt.to_str().unwrap());
    assert_eq!(fields[1], "gone");
    assert_eq!(fields[2], id);
    assert!(fields[3].parse::<u16>().is_ok(), "a port: {}", lines[0]);
    assert_eq!(
        fields[4],
        repo.root.to_str().unwrap(),
        "runs in the main worktree"
    );
}

fn post_remove_runs_once_after_daft_remove() {
    post_remove_runs_once(|repo, wt| {
        repo.daft(&["remove", wt.to_str().unwrap()]).ok();
    });
}

fn post_remove_runs_once_after_git_worktree_remove() {
    post_remove_runs_once(|repo, wt| {
        repo.git(&["worktree", "remove", wt.to_str().unwrap()]).ok();
    });
}

fn post_remove_runs_once_after_rm_rf() {
    post_remove_runs_once(|_, wt| std::fs::remove_dir_all(wt).unwrap());
}

fn post_remove_runs_once_after_rm_rf_and_prune() {
    post_remove_runs_once(|repo, wt| {
        std::fs::remove_dir_all(wt).unwrap();
        repo.git(&["worktree", "prune"]).ok();
    });
}

fn a_live_supervisor_notices_the_removal_itself() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("teardown.log");
    let config = teardown_config(&log).replace(
        "      - name: setup\n        run: 'true'\n",
        "      - name: setup\n        run: 'true'\n      - name: serve\n        run: sleep 60\n        background: true\n",
    );
    let repo = TestRepo::installed(&config);
    let wt = added(&repo, "served");
    wait_for_status(&repo, &wt, "serve", "running");
    std::fs::remove_dir_all(&wt).unwrap();
    // No daft command: the supervisor cancels its job, then tears the worktree down.
    wait_until(Duration::from_secs(30), "the teardown", || {
        teardowns(&log).len() == 1
    });
}

fn moving_a_worktree_is_not_removing_it() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("teardown.log");
    let repo = TestRepo::installed(&teardown_config(&log));
    let wt = added(&repo, "wt");
    let moved = repo.path("moved");
    repo.git(&[
        "worktree",
        "move",
        wt.to_str().unwrap(),
        moved.to_str().unwrap(),
    ])
    .ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    // Moved by hand: not repaired yet, and after.
    let again = repo.path("again");
    std::fs::rename(&moved, &again).unwrap();
    repo.daft(&["hooks", "log", "show"]).ok();
    repo.git_in(&again, &["worktree", "repair"]).ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    repo.daft_in(&again, &["hooks", "log", "show"]).ok();
    assert!(teardowns(&log).is_empty(), "{:?}", teardowns(&log));
    // And then removed: once.
    repo.git(&["worktree", "remove", again.to_str().unwrap()])
        .ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    wait_until(Duration::from_secs(30), "the teardown", || {
        teardowns(&log).len() == 1
    });
}

fn pre_remove_can_keep_the_worktree_and_force_goes_on() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-pre-remove:\n    jobs:\n      - name: check\n        run: test -e ok-to-remove\n",
    );
    let wt = added(&repo, "wt");
    repo.daft(&["remove", wt.to_str().unwrap()])
        .fails_with(1)
        .stderr_has("worktree-pre-remove failed, so the worktree was kept");
    assert!(wt.exists());
    std::fs::write(wt.join("ok-to-remove"), "").unwrap();
    repo.git_in(&wt, &["add", "ok-to-remove"]).ok();
    repo.git_in(&wt, &["commit", "-qm", "ok"]).ok();
    repo.daft(&["remove", wt.to_str().unwrap()]).ok();
    assert!(!wt.exists());
    let wt = added(&repo, "forced");
    repo.daft(&["remove", "--force", wt.to_str().unwrap()])
        .ok()
        .stderr_has("removing the worktree anyway (--force)");
    assert!(!wt.exists());
}

fn a_worktree_moved_away_by_hand_is_not_torn_down_before_or_after_its_repair() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("teardown.log");
    let repo = TestRepo::installed(&teardown_config(&log));
    let wt = added(&repo, "wt");
    let history = runs(&repo, &wt).len();
    // Into another directory: nothing of it is left beside its old place.
    std::fs::create_dir_all(repo.path("archive")).unwrap();
    let moved = repo.path("archive/wt");
    std::fs::rename(&wt, &moved).unwrap();
    for _ in 0..2 {
        repo.daft(&["hooks", "log", "show"]).ok();
        repo.git(&["status"]).ok();
    }
    // A daft call from inside the moved directory, before the repair: the same worktree.
    assert_eq!(runs(&repo, &moved).len(), history);
    repo.daft_in(&moved, &["hooks", "log", "show"]).ok();
    repo.git_in(&moved, &["worktree", "repair"]).ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    assert!(teardowns(&log).is_empty(), "{:?}", teardowns(&log));
    assert_eq!(runs(&repo, &moved).len(), history, "its history stays");
    // Removed for real: torn down, once.
    repo.git(&["worktree", "remove", moved.to_str().unwrap()])
        .ok();
    for _ in 0..3 {
        repo.daft(&["hooks", "log", "show"]).ok();
    }
    wait_until(Duration::from_secs(30), "the teardown", || {
        teardowns(&log).len() == 1
    });
    repo.daft(&["hooks", "log", "show"]).ok();
    assert_eq!(teardowns(&log).len(), 1);
}

/// The inode number of `path`.
fn inode(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::symlink_metadata(path).unwrap().ino()
}

fn a_deleted_worktree_is_torn_down_whatever_reuses_its_inode_numbers() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("teardown.log");
    let repo = TestRepo::installed(&teardown_config(&log));
    let wt = added(&repo, "wt");
    let freed = [inode(&wt), inode(&wt.join(".git"))];
    std::fs::remove_dir_all(&wt).unwrap();
    // New directories beside it, until one takes a freed inode number (file systems hand
    // them out again soon).
    let mut reused = false;
    for i in 0..500 {
        let dir = repo.path(&format!("new{i}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(".git"), "not a worktree").unwrap();
        if freed.contains(&inode(&dir)) || freed.contains(&inode(&dir.join(".git"))) {
            reused = true;
            break;
        }
    }
    eprintln!("an inode number was reused: {reused}");
    repo.daft(&["hooks", "log", "show"]).ok();
    wait_until(Duration::from_secs(30), "the teardown", || {
        teardowns(&log).len() == 1
    });
}

fn a_new_worktree_at_a_removed_one_s_path_does_not_delay_its_teardown() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("teardown.log");
    let repo = TestRepo::installed(&teardown_config(&log));
    let wt = added(&repo, "wt");
    std::fs::remove_dir_all(&wt).unwrap();
    repo.git(&["worktree", "prune"]).ok();
    repo.git(&["worktree", "add", "../wt", "-b", "again"]).ok();
    wait_until(
        Duration::from_secs(30),
        "the old worktree's teardown",
        || teardowns(&log).len() == 1,
    );
    assert!(teardowns(&log)[0].contains(" wt "), "{:?}", teardowns(&log));
}

fn remove_takes_a_branch_or_any_directory_inside_the_worktree() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: mkdir -p src/deep\n",
    );
    let wt = added(&repo, "feature-x");
    repo.git(&["branch", "-m", "feature-x", "feature/x"]).ok();
    repo.daft(&["remove", "feature/x"]).ok();
    assert!(!wt.exists());
    let wt = added(&repo, "other");
    // From a subdirectory of the worktree it removes: `.` is the worktree.
    repo.daft_in(&wt.join("src/deep"), &["remove", "."]).ok();
    assert!(!wt.exists());
    repo.daft(&["remove", "no-such-branch"])
        .fails_with(2)
        .stderr_has("neither a directory nor a branch checked out in a worktree");
    let err = repo.daft(&["remove", "no-such-branch"]).stderr();
    assert!(!err.contains("os error"), "{err}");
}

fn start_on_a_branch_that_has_a_worktree_goes_there() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n",
    );
    let first = repo.daft(&["start", "topic"]).ok().stdout();
    let path = first.trim().to_owned();
    assert!(std::path::Path::new(&path).join(".git").exists(), "{first}");
    repo.daft(&["start", "topic"])
        .ok()
        .stdout_has(&path)
        .stderr_has("has a worktree already");
    repo.daft_in(&repo.path("repo.topic"), &["start", "main"])
        .ok()
        .stdout_has(repo.root.to_str().unwrap());
}

/// However many worktrees a clone has had (an agent makes hundreds), daft keeps the newest 20
/// removed ones, so what a hook looks over stays bounded; the newest removed is still listed.
fn the_removed_worktrees_kept_are_bounded_and_the_newest_stay() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n",
    );
    let removed =
        || std::fs::read_dir(repo.common_dir().join("daft/removed")).map_or(0, Iterator::count);
    for i in 0..24 {
        let wt = added(&repo, &format!("w{i}"));
        repo.git(&["worktree", "remove", wt.to_str().unwrap()]).ok();
        repo.daft(&["hooks", "log", "show"]).ok(); // tears it down
    }
    // Forgotten when a run starts: the last one was torn down after the last run.
    assert_eq!(removed(), 21);
    added(&repo, "next");
    assert_eq!(removed(), 20);
    let listed = repo
        .daft(&["hooks", "log", "show", "--removed"])
        .ok()
        .stdout();
    assert!(listed.contains("/w23 "), "{listed}");
    assert!(listed.contains("/w4 "), "{listed}");
    assert!(!listed.contains("/w3 "), "{listed}");
}

crate::cases![
    git_worktree_move_keeps_runs_logs_and_running_jobs,
    mv_then_git_worktree_repair_keeps_runs_logs_and_running_jobs,
    a_moved_worktree_keeps_its_id,
    post_remove_runs_once_after_daft_remove,
    post_remove_runs_once_after_git_worktree_remove,
    post_remove_runs_once_after_rm_rf,
    post_remove_runs_once_after_rm_rf_and_prune,
    a_live_supervisor_notices_the_removal_itself,
    moving_a_worktree_is_not_removing_it,
    pre_remove_can_keep_the_worktree_and_force_goes_on,
    a_worktree_moved_away_by_hand_is_not_torn_down_before_or_after_its_repair,
    a_deleted_worktree_is_torn_down_whatever_reuses_its_inode_numbers,
    a_new_worktree_at_a_removed_one_s_path_does_not_delay_its_teardown,
    remove_takes_a_branch_or_any_directory_inside_the_worktree,
    start_on_a_branch_that_has_a_worktree_goes_there,
    the_removed_worktrees_kept_are_bounded_and_the_newest_stay,
];
