//! daft is loud when it does nothing (SPEC §5): a config the new worktree never got, a
//! mistyped command, a worktree with no files, a local override left behind, a failed job run
//! by hand, an unknown job, a config that is both wrong and untrusted — each is said, with what
//! to do, and none of them reads as "ready".

use std::os::unix::fs::PermissionsExt as _;

use indoc::indoc;

use crate::common::TestRepo;

const SETUP: &str = indoc! {"
    hooks:
      worktree-post-create:
        jobs:
          - name: setup
            run: touch set-up
"};

fn a_config_the_new_worktree_never_got_is_named_at_the_add_in_wait_and_in_doctor() {
    let repo = TestRepo::new().install().daft_yml(SETUP);
    let main = repo.root.display().to_string();
    // Trusting it already says what it lacks.
    repo.daft(&["trust", "--yes"]).ok().stderr_has(&format!(
        "daft: {main}/daft.yml is not committed: new worktrees are made from commits, so they get it once it is (`git add daft.yml && git commit`)"
    ));
    let said = format!(
        "daft: warning: daft.yml in {main} is not committed, and new worktrees are made from commits: this one has none, and nothing was set up here. To fix: commit it (`git add daft.yml && git commit`): worktrees made after that have it (for this one, merge that commit here, then run `daft hooks run worktree-post-create`)"
    );
    repo.git(&["worktree", "add", "-q", "../feature", "-b", "feature"])
        .ok()
        .stderr_has(&said);
    let wt = repo.path("feature");
    assert!(!wt.join("set-up").exists());
    repo.daft_in(&wt, &["hooks", "wait"])
        .fails_with(2)
        .stderr_has(&said);
    repo.daft_in(&wt, &["doctor"])
        .fails_with(1)
        .stdout_has(&format!(
            "!! no daft.yml in this worktree: daft.yml in {main} is not committed"
        ));
    // Committed, but after the commit a worktree is made from.
    repo.git(&["branch", "old"]).ok();
    repo.git(&["add", "daft.yml"]).ok();
    repo.git(&["commit", "-qm", "daft"]).ok();
    repo.git(&["worktree", "add", "-q", "../old", "old"])
        .ok()
        .stderr_has(&format!(
            "daft: warning: this worktree's commit has no daft.yml ({main} has one, committed on its branch): nothing was set up here. To fix: merge or rebase onto that branch here, then run `daft hooks run worktree-post-create`"
        ));
}

fn a_hook_name_git_never_runs_is_a_usage_error() {
    let repo = TestRepo::installed(SETUP);
    for (typed, said) in [
        (
            "wait",
            "daft: error: `daft hook` is what git runs for its hooks, and git has no hook `wait`: did you mean `daft hooks wait`?\n",
        ),
        (
            "trust",
            "daft: error: `daft hook` is what git runs for its hooks, and git has no hook `trust`: did you mean `daft hooks trust`?\n",
        ),
        (
            "post-comit",
            "daft: error: `daft hook` is what git runs for its hooks, and git has no hook `post-comit`; the commands for people are `daft hooks run|log|cancel|wait|trust` (see `daft hooks --help`)\n",
        ),
    ] {
        let out = repo.daft(&["hook", typed]).fails_with(2);
        assert_eq!(out.stderr(), said);
    }
    // A hook git does run is still a hook: nothing to do here, exit 0.
    repo.daft(&["hook", "pre-commit"]).ok();
}

fn a_worktree_without_its_files_is_not_ready_until_they_are_there() {
    let repo = TestRepo::installed(SETUP);
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "--no-checkout",
        "../bare-wt",
        "-b",
        "nc",
    ])
    .ok();
    let wt = repo.path("bare-wt");
    repo.daft_in(&wt, &["hooks", "wait"])
        .fails_with(2)
        .stderr_has("daft: this worktree's files are not checked out (`git worktree add --no-checkout`?), so it is not set up: check them out here (`git checkout`, or `git reset --hard`), then `daft hooks wait` runs its setup");
    assert!(!wt.join("set-up").exists());
    repo.git_in(&wt, &["reset", "-q", "--hard"]).ok();
    repo.daft_in(&wt, &["hooks", "wait"])
        .ok()
        .stderr_has("1 job done: all succeeded");
    assert!(wt.join("set-up").exists());
}

fn the_local_overrides_reach_a_new_worktree_s_setup() {
    let repo = TestRepo::new().daft_yml(SETUP).commit().install();
    repo.write(
        "daft.local.yml",
        indoc! {"
            hooks:
              worktree-post-create:
                jobs:
                  - name: mine
                    run: touch mine
        "},
    );
    repo.daft(&["trust", "--yes"]).ok();
    let out = repo
        .git(&["worktree", "add", "-q", "../feature", "-b", "feature"])
        .ok();
    assert!(!out.stderr().contains("changed since"), "{}", out.stderr());
    out.stderr_has(&format!(
        "daft: carried daft.local.yml from {} (untracked, so not in the worktree's commit)",
        repo.root.display()
    ));
    let wt = repo.path("feature");
    assert!(wt.join("set-up").exists() && wt.join("mine").exists());
    assert_eq!(
        std::fs::read_to_string(wt.join("daft.local.yml")).unwrap(),
        std::fs::read_to_string(repo.root.join("daft.local.yml")).unwrap()
    );
}

fn by_hand_a_failure_fails_and_an_unknown_job_is_a_usage_error() {
    let repo = TestRepo::installed(indoc! {"
        hooks:
          post-merge:
            fail_mode: warn
            jobs:
              - name: broken
                run: exit 3
    "});
    repo.daft(&["hooks", "run", "post-merge"])
        .fails_with(1)
        .stderr_has("daft: `broken` failed. See `daft hooks log show broken`");
    repo.daft(&["hooks", "cancel", "nosuchjob"])
        .fails_with(2)
        .stderr_has("no job named `nosuchjob` has run in this worktree");
    // A job that ran but runs no more: nothing to cancel, and that is no mistake.
    repo.daft(&["hooks", "cancel", "broken"])
        .ok()
        .stderr_has("no background job `broken` is running in this worktree");
}

fn a_config_that_is_wrong_and_untrusted_is_called_wrong_at_the_add() {
    let repo = TestRepo::new()
        .daft_yml(indoc! {"
            hooks:
              worktree-post-create:
                jobs:
                  - name: setup
                    run: make
                    timeout: 5 minutes
        "})
        .commit()
        .install();
    repo.daft(&["trust", "--yes"])
        .fails_with(2)
        .stderr_has("is not a duration");
    // The hook parses nothing untrusted, yet knows trust refused it, and why.
    let said = "daft.yml has mistakes, so `daft trust` refused it; no jobs ran. Fix it (`daft validate` lists every problem), then trust it with `daft trust`";
    repo.git(&["worktree", "add", "-q", "../feature", "-b", "feature"])
        .ok()
        .stderr_has(&format!("daft: {said} — this worktree's setup is owed: it runs once the config is fixed and trusted"));
    repo.daft_in(&repo.path("feature"), &["hooks", "wait"])
        .fails_with(2)
        .stderr_has(said);
}

fn what_init_and_man_write_is_readable_as_the_umask_allows() {
    let repo = TestRepo::new();
    repo.sh("umask 022 && daft init && daft man \"$PWD/../man\"")
        .ok();
    for file in [
        repo.root.join("daft.yml"),
        repo.root.join("daft.schema.json"),
        repo.path("man/daft.1"),
    ] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{}", file.display());
    }
}

crate::cases![
    a_config_the_new_worktree_never_got_is_named_at_the_add_in_wait_and_in_doctor,
    a_hook_name_git_never_runs_is_a_usage_error,
    a_worktree_without_its_files_is_not_ready_until_they_are_there,
    the_local_overrides_reach_a_new_worktree_s_setup,
    by_hand_a_failure_fails_and_an_unknown_job_is_a_usage_error,
    a_config_that_is_wrong_and_untrusted_is_called_wrong_at_the_add,
    what_init_and_man_write_is_readable_as_the_umask_allows,
];
