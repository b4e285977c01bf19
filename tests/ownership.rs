//! A repository owned by another user is treated as git treats it (`safe.directory`): nothing
//! of it runs and nothing in it is trusted until the user says so the way git asks. Needs a
//! second uid: root makes one with `chown` and `setpriv`; as anyone else they show as skipped.

use std::process::Command;

use crate::common::{DAFT, TestRepo};

/// The uid the repositories of these tests belong to.
const OTHER: &str = "12345";

/// Hands `path` to the other user. A file daft's background processes replace meanwhile (a
/// record written atomically) can vanish under `chown -R`: it goes again until it sees none.
fn chown(repo: &TestRepo, path: &std::path::Path) {
    crate::common::wait_until(
        std::time::Duration::from_secs(10),
        "chown -R to go through",
        || {
            Command::new("chown")
                .args(["-R", &format!("{OTHER}:{OTHER}")])
                .arg(path)
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap()
                .success()
        },
    );
    let _ = repo;
}

const MARKER: &str =
    "hooks:\n  worktree-post-create:\n    jobs:\n      - name: mark\n        run: touch marker\n";

fn another_user_s_repository_with_its_owner_s_trust_runs_nothing() {
    // Trusted by its owner, then handed to them: the trust record is theirs, not ours.
    let repo = TestRepo::installed(MARKER);
    chown(&repo, &repo.root);
    repo.daft(&["hooks", "run", "worktree-post-create"])
        .fails_with(1)
        .stderr_has("owned by another user (uid 12345)")
        .stderr_has("git config --global --add safe.directory");
    assert!(!repo.root.join("marker").exists());
    repo.daft(&["trust", "--yes"])
        .fails_with(1)
        .stderr_has("owned by another user");
    // git refuses the same repository; with the user's word, both accept it.
    repo.git(&["status"])
        .fails_with(128)
        .stderr_has("dubious ownership");
    let root = repo.root.to_str().unwrap();
    repo.run_in(
        &repo.base,
        "git",
        &["config", "--global", "--add", "safe.directory", root],
    )
    .ok();
    repo.git(&["status"]).ok();
    repo.daft(&["hooks", "run", "worktree-post-create"]).ok();
    assert!(repo.root.join("marker").exists());
}

fn a_daft_directory_owned_by_another_user_is_not_trusted() {
    let repo = TestRepo::installed(MARKER);
    // Only daft's directory (with its trust records) belongs to someone else.
    chown(&repo, &repo.common_dir().join("daft"));
    repo.daft(&["hooks", "run", "worktree-post-create"])
        .fails_with(1)
        .stderr_has("owned by another user");
    assert!(!repo.root.join("marker").exists());
}

fn a_hook_run_by_another_user_in_our_repository_runs_nothing() {
    // The repository is root's; uid 12345 runs the hook (through safe.directory-less git it
    // could not, so it calls daft directly, as a script might).
    let repo = TestRepo::installed(MARKER);
    for dir in [&repo.base, &repo.root] {
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o777);
        std::fs::set_permissions(dir, mode).unwrap();
    }
    let home = repo.path("other-home");
    std::fs::create_dir_all(&home).unwrap();
    chown(&repo, &home);
    let out = Command::new("setpriv")
        .args([
            &format!("--reuid={OTHER}"),
            &format!("--regid={OTHER}"),
            "--clear-groups",
            DAFT,
            "hooks",
            "run",
            "worktree-post-create",
        ])
        .current_dir(&repo.root)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("owned by another user (uid 0)"), "{stderr}");
    assert!(!repo.root.join("marker").exists());
}

fn another_user_s_pending_teardown_is_not_claimed_by_us() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n  worktree-post-remove:\n    jobs:\n      - name: drop\n        run: touch ../dropped\n",
    );
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    // Nothing of ours still runs there (a supervisor would notice the removal itself).
    repo.daft_in(&repo.path("wt"), &["hooks", "wait"]).ok();
    std::fs::remove_dir_all(repo.path("wt")).unwrap();
    // The repository is handed to its owner, with a daft directory anyone may write.
    chown(&repo, &repo.root);
    let daft_dir = repo.common_dir().join("daft");
    std::fs::set_permissions(
        &daft_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let index = std::fs::read(daft_dir.join("worktrees/index")).unwrap();
    for args in [&["env"][..], &["hooks", "log", "show"], &["doctor"]] {
        let _ = repo.daft(args);
    }
    assert_eq!(
        std::fs::read(daft_dir.join("worktrees/index")).unwrap(),
        index,
        "nothing of the owner's was claimed or changed"
    );
    assert!(!daft_dir.join("removed").exists());
    assert!(!repo.path("dropped").exists());
}

crate::cases![
    [Need::Root] another_user_s_repository_with_its_owner_s_trust_runs_nothing,
    [Need::Root] a_daft_directory_owned_by_another_user_is_not_trusted,
    [Need::Root] a_hook_run_by_another_user_in_our_repository_runs_nothing,
    [Need::Root] another_user_s_pending_teardown_is_not_claimed_by_us,
];
