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
        wait_until(Duration::from_secs(20), "the background job", || {
            repo.daft_in(&wt, &["hooks", "log", "show", "bg"]).stdout() == "logged\n"
        });
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

crate::cases![
    twenty_worktrees_at_once_each_run_once_with_intact_records,
    a_run_store_that_cannot_be_created_is_a_clear_error_and_git_succeeds,
    [Need::Mount] a_disk_that_fills_during_a_run_leaves_the_job_succeeded_not_lost,
    [Need::Mount] a_read_only_run_store_is_a_clear_error_and_git_succeeds,
];
