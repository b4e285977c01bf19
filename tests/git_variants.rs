//! The ways of making worktrees and repositories that git offers, each behaving as SPEC §2
//! says or as README.md documents.

use crate::common::{TestRepo, read};

const REPORT: &str = "hooks:\n  worktree-post-create:\n    jobs:\n      - name: report\n        run: echo \"branch=[$DAFT_BRANCH] main=[$DAFT_MAIN_WORKTREE] commit=[$DAFT_COMMIT]\" > marker\n";

fn detached_worktrees_run_with_an_empty_branch() {
    let repo = TestRepo::installed(REPORT);
    repo.git(&["worktree", "add", "--detach", "../d"]).ok();
    assert!(
        read(&repo.path("d").join("marker"))
            .starts_with(&format!("branch=[] main=[{}]", repo.root.display()))
    );
}

fn no_checkout_and_orphan_worktrees_fire_no_hook_and_run_nothing() {
    let repo = TestRepo::installed(REPORT);
    repo.git(&["worktree", "add", "--no-checkout", "../n", "-b", "n"])
        .ok();
    assert!(!repo.path("n").join("marker").exists());
    repo.git(&["worktree", "add", "--orphan", "-b", "o", "../o"])
        .ok();
    assert!(!repo.path("o").join("marker").exists());
    // Documented way to run the setup by hand once the files are there.
    repo.git_in(&repo.path("n"), &["checkout", "-q", "n"]).ok();
    repo.daft_in(&repo.path("n"), &["hooks", "run", "worktree-post-create"])
        .ok();
    assert!(repo.path("n").join("marker").exists());
}

fn per_worktree_config_does_not_get_in_the_way() {
    let repo = TestRepo::installed(REPORT);
    repo.git(&["config", "extensions.worktreeConfig", "true"])
        .ok();
    repo.git(&["worktree", "add", "../wc", "-b", "wc"]).ok();
    assert!(read(&repo.path("wc").join("marker")).starts_with("branch=[wc]"));
}

fn worktrees_of_a_bare_repository_have_no_main_worktree() {
    let repo = TestRepo::new().daft_yml(REPORT).commit();
    let bare = repo.bare_clone_installed();
    repo.git_in(&bare, &["worktree", "add", "../b1", "-b", "b1"])
        .ok()
        .stderr_has("not trusted yet");
    repo.daft_in(&repo.path("b1"), &["trust", "--yes"]).ok();
    repo.git_in(&bare, &["worktree", "add", "../b2", "-b", "b2"])
        .ok();
    assert!(read(&repo.path("b2").join("marker")).starts_with("branch=[b2] main=[]"));
}

fn sha256_repositories_are_detected_by_their_longer_null_id() {
    let repo = TestRepo::new();
    let sha = repo.path("sha");
    repo.run_in(
        &repo.base,
        "git",
        &[
            "init",
            "-q",
            "--object-format=sha256",
            sha.to_str().unwrap(),
        ],
    )
    .ok();
    std::fs::write(sha.join("daft.yml"), REPORT).unwrap();
    repo.git_in(&sha, &["add", "-A"]).ok();
    repo.git_in(&sha, &["commit", "-qm", "init"]).ok();
    repo.daft_in(&sha, &["install"]).ok();
    repo.daft_in(&sha, &["trust", "--yes"]).ok();
    repo.git_in(&sha, &["worktree", "add", "../sha-wt", "-b", "wt"])
        .ok();
    let marker = read(&repo.path("sha-wt").join("marker"));
    let commit = marker
        .split("commit=[")
        .nth(1)
        .unwrap()
        .trim_end()
        .trim_end_matches(']');
    assert_eq!(commit.len(), 64, "{marker}");
}

fn submodules_keep_working_and_their_config_is_not_trusted_by_the_superproject() {
    let repo = TestRepo::installed(REPORT);
    let sub = repo.path("sub");
    repo.run_in(&repo.base, "git", &["init", "-q", sub.to_str().unwrap()])
        .ok();
    std::fs::write(
        sub.join("daft.yml"),
        "hooks:\n  post-clone:\n    jobs:\n      - name: m\n        run: touch sub-marker\n",
    )
    .unwrap();
    repo.git_in(&sub, &["add", "-A"]).ok();
    repo.git_in(&sub, &["commit", "-qm", "sub"]).ok();
    repo.daft(&["install", "--global"]).ok();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.to_str().unwrap(),
        "sub",
    ])
    .ok();
    assert!(!repo.root.join("sub/sub-marker").exists());
    repo.git(&["commit", "-qm", "add sub"]).ok();
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    assert!(repo.path("wt").join("marker").exists());
}

crate::cases![
    detached_worktrees_run_with_an_empty_branch,
    no_checkout_and_orphan_worktrees_fire_no_hook_and_run_nothing,
    per_worktree_config_does_not_get_in_the_way,
    worktrees_of_a_bare_repository_have_no_main_worktree,
    sha256_repositories_are_detected_by_their_longer_null_id,
    submodules_keep_working_and_their_config_is_not_trusted_by_the_superproject,
];
