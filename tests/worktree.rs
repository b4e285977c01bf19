//! A plain `git worktree add` runs the trusted worktree-post-create jobs; other checkouts don't.

use std::time::{Duration, Instant};

use crate::common::{TestRepo, read, wait_until};

const ORDERED: &str = r#"
hooks:
  worktree-post-create:
    jobs:
      - name: second
        run: echo second >> order; env > env.txt
        needs: [first]
      - name: first
        run: sleep 0.2; echo first >> order
  post-checkout:
    jobs:
      - name: switched
        run: echo "$DAFT_HOOK_ARGS" >> switched
"#;

fn worktree_add_runs_the_jobs_in_the_new_worktree_in_needs_order() {
    let repo = TestRepo::installed(ORDERED);
    let wt = repo.path("wt");
    repo.git(&["worktree", "add", "../wt", "-b", "feat"])
        .ok()
        .stderr_has("✓ first")
        .stderr_has("✓ second");

    assert_eq!(read(&wt.join("order")), "first\nsecond\n");
    assert!(
        !repo.root.join("order").exists(),
        "jobs run in the new worktree, not the main one"
    );
    assert!(
        !wt.join("switched").exists(),
        "a new worktree is not a post-checkout event"
    );

    let env = read(&wt.join("env.txt"));
    let head = repo.git(&["rev-parse", "HEAD"]).ok().stdout();
    for expected in [
        "DAFT_EVENT=worktree-post-create".to_owned(),
        "DAFT_JOB=second".to_owned(),
        format!("DAFT_WORKTREE={}", wt.display()),
        "DAFT_BRANCH=feat".to_owned(),
        format!("DAFT_COMMIT={}", head.trim()),
        format!("DAFT_MAIN_WORKTREE={}", repo.root.display()),
        format!("DAFT_GIT_COMMON_DIR={}", repo.common_dir().display()),
    ] {
        assert!(
            env.lines().any(|line| line == expected),
            "missing {expected} in\n{env}"
        );
    }
    for var in [
        "GIT_DIR=",
        "GIT_INDEX_FILE=",
        "GIT_WORK_TREE=",
        "DAFT_PREVIOUS_HOOKS=",
    ] {
        assert!(
            !env.lines().any(|line| line.starts_with(var)),
            "{var} leaked into the job:\n{env}"
        );
    }
}

fn switch_runs_post_checkout_jobs_not_worktree_ones() {
    let repo = TestRepo::installed(ORDERED);
    repo.git(&["branch", "other"]).ok();
    repo.git(&["switch", "-q", "other"]).ok();

    assert!(
        !repo.root.join("order").exists(),
        "worktree-post-create must not run on a switch"
    );
    let args = read(&repo.root.join("switched"));
    let parts: Vec<&str> = args.split_whitespace().collect();
    assert_eq!(
        parts.len(),
        3,
        "git's three arguments are passed on: {args}"
    );
    assert_eq!(parts[2], "1");
}

fn a_background_job_does_not_hold_up_git_even_through_a_pipe() {
    let repo = TestRepo::installed(
        r"
hooks:
  worktree-post-create:
    jobs:
      - name: quick
        run: 'true'
      - name: slow
        run: echo started > started; sleep 30
        background: true
",
    );
    let begin = Instant::now();
    repo.sh("git worktree add ../x -b x 2>&1 | cat").ok();
    let took = begin.elapsed();
    // The job sleeps 30 s; returning at all before that proves git did not wait for it.
    assert!(
        took < Duration::from_secs(5),
        "git worktree add | cat took {took:?}"
    );

    let wt = repo.path("x");
    wait_until(
        Duration::from_secs(30),
        "the background job to start",
        || wt.join("started").exists(),
    );
    repo.daft_in(&wt, &["hooks", "cancel"])
        .ok()
        .stdout_has("cancelled slow");
}

fn a_failing_job_warns_and_git_carries_on() {
    let repo = TestRepo::installed(
        r"
hooks:
  worktree-post-create:
    jobs:
      - name: broken
        run: echo oops; exit 3
      - name: after
        run: touch after
        needs: [broken]
",
    );
    repo.git(&["worktree", "add", "../wt", "-b", "feat"])
        .ok()
        .stderr_has("broken │ oops")
        .stderr_has("`broken` failed; git carries on")
        .stderr_has("after skipped");
    assert!(
        repo.path("wt").join("README").exists(),
        "the worktree is there"
    );
    assert!(!repo.path("wt").join("after").exists());
}

fn abort_mode_fails_the_hook() {
    let repo = TestRepo::installed(
        r"
hooks:
  pre-commit:
    jobs:
      - name: lint
        run: exit 1
",
    );
    repo.write("new", "x");
    repo.git(&["add", "new"]).ok();
    repo.git(&["commit", "-qm", "blocked"])
        .fails_with(1)
        .stderr_has("fail_mode: abort");
}

crate::cases![
    worktree_add_runs_the_jobs_in_the_new_worktree_in_needs_order,
    switch_runs_post_checkout_jobs_not_worktree_ones,
    a_background_job_does_not_hold_up_git_even_through_a_pipe,
    a_failing_job_warns_and_git_carries_on,
    abort_mode_fails_the_hook,
];
