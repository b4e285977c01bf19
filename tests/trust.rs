//! Nothing runs until the exact bytes of the config are trusted.

use crate::common::TestRepo;

const MARKER: &str = r"
hooks:
  worktree-post-create:
    jobs:
      - name: mark
        run: touch marker
";

fn an_untrusted_config_runs_nothing_and_git_succeeds() {
    let repo = TestRepo::new().daft_yml(MARKER).commit().install();
    repo.git(&["worktree", "add", "../wt", "-b", "feat"])
        .ok()
        .stderr_has("daft.yml is not trusted yet; no jobs ran")
        .stderr_has("daft trust");
    assert!(!repo.path("wt").join("marker").exists());
}

fn one_changed_byte_makes_it_untrusted_again() {
    let repo = TestRepo::installed(MARKER);
    repo.daft(&["trust", "--status"]).ok().stdout_has("trusted");
    let repo = repo.daft_yml(&MARKER.replace("marker", "markes")).commit();
    repo.daft(&["trust", "--status"])
        .fails_with(1)
        .stdout_has("changed");
    repo.git(&["worktree", "add", "../wt", "-b", "feat"])
        .ok()
        .stderr_has("changed since it was trusted");
    assert!(!repo.path("wt").join("markes").exists());
}

fn trust_shows_the_diff_since_the_last_trusted_version() {
    let repo = TestRepo::installed(MARKER);
    repo.write("daft.yml", &MARKER.replace("touch marker", "touch other"));
    repo.daft(&["trust", "--yes"])
        .ok()
        .stdout_has("-        run: touch marker")
        .stdout_has("+        run: touch other");
}

fn trust_refuses_without_a_terminal_unless_told_yes() {
    let repo = TestRepo::new().daft_yml(MARKER).commit();
    repo.daft(&["trust"])
        .fails_with(2)
        .stderr_has("daft trust --yes");
    repo.daft(&["trust", "--status"])
        .fails_with(1)
        .stdout_has("untrusted");
}

fn untrust_stops_the_jobs() {
    let repo = TestRepo::installed(MARKER);
    repo.daft(&["untrust"]).ok().stdout_has("no longer trusted");
    repo.git(&["worktree", "add", "../wt", "-b", "feat"])
        .ok()
        .stderr_has("not trusted");
    assert!(!repo.path("wt").join("marker").exists());
}

fn a_local_override_file_needs_trust_too() {
    let repo = TestRepo::installed(MARKER);
    repo.write(
        "daft.local.yml",
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: mark\n        run: touch local-marker\n",
    );
    repo.daft(&["trust", "--status"]).fails_with(1);
    repo.daft(&["trust", "--yes"]).ok();
    // daft.local.yml is untracked: copy it into the new worktree as a user would.
    repo.git(&["worktree", "add", "--no-checkout", "../wt", "-b", "feat"])
        .ok();
    let wt = repo.path("wt");
    std::fs::copy(repo.root.join("daft.local.yml"), wt.join("daft.local.yml")).unwrap();
    repo.git_in(&wt, &["checkout", "-q", "feat"]).ok();
    repo.daft_in(&wt, &["hooks", "run", "worktree-post-create"])
        .ok();
    assert!(
        wt.join("local-marker").exists(),
        "the local override replaced the job by name"
    );
}

crate::cases![
    an_untrusted_config_runs_nothing_and_git_succeeds,
    one_changed_byte_makes_it_untrusted_again,
    trust_shows_the_diff_since_the_last_trusted_version,
    trust_refuses_without_a_terminal_unless_told_yes,
    untrust_stops_the_jobs,
    a_local_override_file_needs_trust_too,
];
