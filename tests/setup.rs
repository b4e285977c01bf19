//! Every worktree is owed its setup once (SPEC §2): however it was made — while the config was
//! untrusted, with `--no-checkout`, by a tool that fires no hook — its setup runs exactly once,
//! at the first of `daft trust`, `daft hooks wait` or `daft hooks run`, and `daft hooks wait`
//! never says a worktree is ready while its setup has not run.

use std::path::Path;
use std::time::Duration;

use crate::common::{TestRepo, config_mode, wait_until};

/// A setup that counts its runs in `../setup.log`, and a background job after it.
const COUNTED: &str = "hooks:
  worktree-post-create:
    jobs:
      - name: setup
        run: echo \"$DAFT_WORKTREE\" >> ../setup.log
      - name: warm
        run: sleep 0.3
        background: true
        needs: [setup]
";

fn runs_of_setup(repo: &TestRepo, wt: &Path) -> usize {
    std::fs::read_to_string(repo.path("setup.log"))
        .unwrap_or_default()
        .lines()
        .filter(|line| Path::new(line) == wt)
        .count()
}

fn a_worktree_made_while_untrusted_is_set_up_once_trust_comes() {
    let repo = TestRepo::new().daft_yml(COUNTED).commit().install();
    repo.git(&["worktree", "add", "../wt", "-b", "wt"])
        .ok()
        .stderr_has("not trusted yet")
        .stderr_has("setup is owed");
    let wt = repo.path("wt");
    assert_eq!(runs_of_setup(&repo, &wt), 0);
    // Waiting on an untrusted setup is an error that says what to do, never "ready".
    repo.daft_in(&wt, &["hooks", "wait"])
        .fails_with(2)
        .stderr_has("daft trust")
        .stderr_has("setup has not run");
    repo.daft_in(&wt, &["hooks", "log", "show"])
        .ok()
        .stdout_has("setup: pending");
    // Trusting names the worktree and sets it up.
    repo.daft(&["trust", "--yes"])
        .ok()
        .stdout_has("1 worktree of this clone was never set up")
        .stdout_has(wt.to_str().unwrap())
        .stdout_has("setting up");
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "30s"])
        .ok()
        .stderr_has("2 jobs done: all succeeded");
    assert_eq!(runs_of_setup(&repo, &wt), 1);
    // Again: nothing is owed any more.
    repo.daft(&["trust", "--yes"]).ok();
    repo.daft_in(&wt, &["hooks", "wait"]).ok();
    assert_eq!(runs_of_setup(&repo, &wt), 1);
}

fn a_no_checkout_worktree_is_set_up_by_wait_once_its_files_are_there() {
    let repo = TestRepo::installed(COUNTED);
    repo.git(&["worktree", "add", "--no-checkout", "../n", "-b", "n"])
        .ok();
    let wt = repo.path("n");
    repo.git_in(&wt, &["checkout", "-q", "n"]).ok();
    assert_eq!(runs_of_setup(&repo, &wt), 0);
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "30s"])
        .ok()
        .stderr_has("its setup is running now")
        .stderr_has("all succeeded");
    assert_eq!(runs_of_setup(&repo, &wt), 1);
    repo.daft_in(&wt, &["hooks", "wait"]).ok();
    assert_eq!(runs_of_setup(&repo, &wt), 1, "once");
}

fn a_worktree_made_without_any_hook_is_set_up_by_wait() {
    let repo = TestRepo::installed(COUNTED);
    // A tool that runs no hooks: in hooks-path mode, git told to look elsewhere; in config
    // mode, daft's registration switched off for this one command.
    let quiet = if config_mode() {
        "hook.daft-post-checkout.enabled=false"
    } else {
        "core.hooksPath=/dev/null"
    };
    repo.git(&["-c", quiet, "worktree", "add", "../q", "-b", "q"])
        .ok();
    let wt = repo.path("q");
    assert_eq!(runs_of_setup(&repo, &wt), 0);
    repo.daft(&["doctor"])
        .fails_with(1)
        .stdout_has("its setup is pending");
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "30s"])
        .ok();
    assert_eq!(runs_of_setup(&repo, &wt), 1);
    repo.daft(&["doctor"]).ok();
}

fn a_worktree_made_by_libgit2_is_set_up_by_wait() {
    let python = crate::harness::pygit2_python().unwrap();
    let repo = TestRepo::installed(COUNTED);
    let script = format!(
        "import pygit2; r = pygit2.Repository({:?}); r.add_worktree('lg', {:?})",
        repo.root.to_str().unwrap(),
        repo.path("lg").to_str().unwrap()
    );
    repo.run_in(&repo.root, python.to_str().unwrap(), &["-c", &script])
        .ok();
    let wt = repo.path("lg");
    assert_eq!(runs_of_setup(&repo, &wt), 0);
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "30s"])
        .ok();
    assert_eq!(runs_of_setup(&repo, &wt), 1);
}

fn racing_waits_and_a_trust_run_the_setup_once() {
    let repo = TestRepo::new().daft_yml(COUNTED).commit().install();
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    let wt = repo.path("wt");
    repo.daft(&["trust", "--yes"]).ok(); // trusts; its own setup of wt is one of the racers
    let racers: Vec<_> = (0..4)
        .map(|_| {
            repo.command(crate::common::DAFT, &wt)
                .args(["hooks", "wait", "--timeout", "30s"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for racer in racers {
        let out = racer.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(runs_of_setup(&repo, &wt), 1);
}

fn racing_waits_on_a_pending_setup_run_it_once() {
    let repo = TestRepo::installed(COUNTED);
    repo.git(&["worktree", "add", "--no-checkout", "../n", "-b", "n"])
        .ok();
    let wt = repo.path("n");
    repo.git_in(&wt, &["checkout", "-q", "n"]).ok();
    let racers: Vec<_> = (0..4)
        .map(|_| {
            repo.command(crate::common::DAFT, &wt)
                .args(["hooks", "wait", "--timeout", "30s"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for racer in racers {
        assert!(racer.wait_with_output().unwrap().status.success());
    }
    assert_eq!(runs_of_setup(&repo, &wt), 1);
}

fn wait_fails_while_the_setup_fails_and_says_which_job() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: setup\n        run: exit 3\n",
    );
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    let wt = repo.path("wt");
    let out = repo.daft_in(&wt, &["hooks", "wait"]).fails_with(1).stderr();
    assert!(out.contains("setup failed (exit 3)"), "{out}");
    assert!(!out.contains("did not succeed"), "said once: {out}");
}

fn wait_prints_progress_without_a_terminal() {
    use std::io::BufRead as _;
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: warm\n        run: while [ ! -e go ]; do sleep 0.05; done\n        background: true\n",
    );
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    let wt = repo.path("wt");
    let mut waiter = repo
        .command(crate::common::DAFT, &wt)
        .args(["hooks", "wait", "--timeout", "60s"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = std::sync::Arc::clone(&lines);
        let stderr = waiter.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                lines.lock().unwrap().push(line);
            }
        })
    };
    // A progress line comes every few seconds while the job runs.
    wait_until(Duration::from_secs(20), "a progress line", || {
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("daft: waiting for warm"))
    });
    std::fs::write(wt.join("go"), "").unwrap();
    assert!(waiter.wait().unwrap().success());
    reader.join().unwrap();
    let lines = lines.lock().unwrap();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("daft: 1 job done: all succeeded"),
        "{lines:?}"
    );
}

crate::cases![
    a_worktree_made_while_untrusted_is_set_up_once_trust_comes,
    a_no_checkout_worktree_is_set_up_by_wait_once_its_files_are_there,
    a_worktree_made_without_any_hook_is_set_up_by_wait,
    [Need::Pygit2] a_worktree_made_by_libgit2_is_set_up_by_wait,
    racing_waits_and_a_trust_run_the_setup_once,
    racing_waits_on_a_pending_setup_run_it_once,
    wait_fails_while_the_setup_fails_and_says_which_job,
    wait_prints_progress_without_a_terminal,
];
