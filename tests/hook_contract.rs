//! git's contract with a hook, kept with daft in the middle (hooks-path mode): arguments and
//! paths are bytes, the repository is the one git says, descriptors and stdin are the hook's
//! own, and daft adds no output when it has nothing to run.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{TestRepo, hook, read, wait_until};

fn bytes_path(base: &Path, name: &[u8]) -> PathBuf {
    base.join(OsStr::from_bytes(name))
}

fn arguments_that_are_not_utf8_reach_the_previous_hook_unchanged() {
    let repo = TestRepo::new();
    let remote = bytes_path(&repo.base, b"remote\xff.git");
    std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&remote)
        .status()
        .unwrap();
    let log = repo.path("push.log");
    hook(
        &repo.common_dir().join("hooks/pre-push"),
        &format!("printf '%s' \"$2\" > '{}'", log.display()),
    );
    let repo = repo.install();
    let out = repo
        .command("git", &repo.root)
        .args([
            OsStr::new("push"),
            OsStr::new("-q"),
            remote.as_os_str(),
            OsStr::new("main"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&log).unwrap(), remote.as_os_str().as_bytes());
}

fn a_repository_under_a_non_utf8_directory_works_and_says_why_jobs_cannot() {
    let repo = TestRepo::new();
    let odd = bytes_path(&repo.base, b"odd\xfe");
    std::fs::create_dir_all(&odd).unwrap();
    let root = odd.join("repo");
    let git = |dir: &Path, args: &[&str]| repo.command("git", dir).args(args).output().unwrap();
    assert!(git(&odd, &["init", "-q", "repo"]).status.success());
    let log = repo.path("pre-commit.log");
    hook(
        &root.join(".git/hooks/pre-commit"),
        &format!("echo ran >> '{}'", log.display()),
    );
    std::fs::write(
        root.join("daft.yml"),
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: touch ran\n",
    )
    .unwrap();
    assert!(git(&root, &["add", "-A"]).status.success());
    let out = repo
        .command(crate::common::DAFT, &root)
        .args(["install", "--mode", "hooks-path"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = git(&root, &["commit", "-qm", "x"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&log), "ran\n");
    // One hooks directory, outside the repository (in the user's data directory), whose
    // record names the repository's real (non-UTF-8) path.
    let hooks_path = git(&root, &["config", "core.hooksPath"]).stdout;
    let hooks_path = Path::new(std::ffi::OsStr::from_bytes(hooks_path.trim_ascii_end()));
    assert!(
        hooks_path.starts_with(repo.home().join(".local/share/daft/repos")),
        "{}",
        hooks_path.display()
    );
    let owner = std::fs::read(hooks_path.parent().unwrap().join("repository")).unwrap();
    assert!(owner.starts_with(odd.as_os_str().as_bytes()), "{owner:?}");
    let out = git(&root, &["worktree", "add", "-q", "../wt", "-b", "wt"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!odd.join("wt/ran").exists());
}

fn git_dir_from_the_environment_decides_the_repository() {
    let outer = TestRepo::new();
    let inner = outer.root.join("inner");
    outer.git(&["init", "-q", "inner"]).ok();
    let log = outer.path("which.log");
    for (dir, name) in [(outer.common_dir(), "outer"), (inner.join(".git"), "inner")] {
        hook(
            &dir.join("hooks/pre-commit"),
            &format!("echo {name} >> '{}'", log.display()),
        );
    }
    outer.daft(&["install"]).ok();
    outer.daft_in(&inner, &["install"]).ok();
    let out = outer
        .command("git", &outer.root)
        .env("GIT_DIR", "inner/.git")
        .args(["commit", "-q", "--allow-empty", "-m", "x"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&log), "inner\n");
}

fn a_separate_git_dir_and_work_tree_commit() {
    let repo = TestRepo::new();
    repo.run_in(&repo.base, "git", &["init", "-q", "--bare", "dots.git"])
        .ok();
    std::fs::create_dir_all(repo.path("wt")).unwrap();
    std::fs::write(repo.path("wt/file"), "x\n").unwrap();
    let log = repo.path("pre-commit.log");
    hook(
        &repo.path("dots.git/hooks/pre-commit"),
        &format!("echo ran >> '{}'", log.display()),
    );
    repo.daft_in(&repo.path("dots.git"), &["install"]).ok();
    let git = ["--git-dir=dots.git", "--work-tree=wt"];
    repo.run_in(&repo.base, "git", &[&git[..], &["add", "file"]].concat())
        .ok();
    repo.run_in(
        &repo.base,
        "git",
        &[&git[..], &["commit", "-qm", "x"]].concat(),
    )
    .ok();
    assert_eq!(read(&log), "ran\n");
}

/// `git commit 3>file` with a previous pre-commit hook writing to descriptor 3.
fn fd3_reaches_the_hook(repo: &TestRepo) {
    let out = repo.path("fd3.out");
    repo.sh(&format!(
        "git commit -q --allow-empty -m x 3>'{}'",
        out.display()
    ))
    .ok();
    assert_eq!(read(&out), "to fd 3\n");
}

fn descriptors_git_gave_reach_the_previous_hook() {
    let repo = TestRepo::new();
    // (Outside this test no descriptor 3 is open, and that is fine.)
    hook(
        &repo.common_dir().join("hooks/pre-commit"),
        "{ echo 'to fd 3' >&3; } 2>/dev/null; exit 0",
    );
    // daft has nothing to run for pre-commit here, and then it has.
    let repo = repo.install();
    fd3_reaches_the_hook(&repo);
    let repo = repo
        .daft_yml("hooks:\n  pre-commit:\n    jobs:\n      - name: check\n        run: 'true'\n")
        .commit()
        .trust();
    fd3_reaches_the_hook(&repo);
}

fn a_failing_previous_hook_is_reported_by_git_alone_when_daft_has_nothing_to_run() {
    let repo = TestRepo::new();
    hook(
        &repo.common_dir().join("hooks/pre-commit"),
        "echo 'not today' >&2; exit 3",
    );
    let repo = repo.install();
    let out = repo
        .git(&["commit", "-q", "--allow-empty", "-m", "x"])
        .fails_with(1);
    assert_eq!(out.stderr(), "not today\n");
}

fn git_s_hint_for_a_hook_that_is_not_executable_is_kept() {
    let repo = TestRepo::new();
    let path = repo.common_dir().join("hooks/pre-commit");
    hook(&path, "exit 1");
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    std::fs::set_permissions(&path, mode).unwrap();
    let repo = repo.install();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "x"])
        .ok()
        .stderr_has("hint: The '.git/hooks/pre-commit' hook was ignored because it's not set as executable.");
    repo.git(&["config", "advice.ignoredHook", "false"]).ok();
    let out = repo.git(&["commit", "-q", "--allow-empty", "-m", "y"]).ok();
    assert_eq!(out.stderr(), "");
}

/// A `proc-receive` hook speaks a protocol with git over stdin and stdout: git waits for its
/// answer before it sends more, so stdin must reach the hook as it arrives.
const PROC_RECEIVE: &str = r#"#!/usr/bin/env python3
import sys
def read_pkt():
    size = sys.stdin.buffer.read(4)
    if not size or size == b"0000":
        return None
    return sys.stdin.buffer.read(int(size, 16) - 4)
def write_pkt(text):
    data = text.encode() + b"\n"
    sys.stdout.buffer.write(b"%04x" % (len(data) + 4) + data)
def flush():
    sys.stdout.buffer.write(b"0000")
    sys.stdout.buffer.flush()
while read_pkt() is not None:
    pass
write_pkt("version=1")
flush()
refs = []
while True:
    line = read_pkt()
    if line is None:
        break
    refs.append(line.split()[2].decode())
for ref in refs:
    write_pkt("ok " + ref)
flush()
"#;

fn a_conversation_on_stdin_is_not_read_to_the_end_first() {
    let repo = TestRepo::new();
    let remote = repo.path("remote.git");
    repo.run_in(&repo.base, "git", &["init", "-q", "--bare", "remote.git"])
        .ok();
    repo.git_in(&remote, &["config", "receive.procReceiveRefs", "refs/for"])
        .ok();
    let hook_path = remote.join("hooks/proc-receive");
    std::fs::write(&hook_path, PROC_RECEIVE).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&hook_path, mode).unwrap();
    repo.daft(&["install", "--global"]).ok();
    let mut push = repo
        .command("git", &repo.root)
        .args([
            "push",
            "-q",
            remote.to_str().unwrap(),
            "HEAD:refs/for/main/topic",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut status = None;
    wait_until(
        Duration::from_secs(30),
        "the push to finish (a hang?)",
        || {
            status = push.try_wait().unwrap();
            status.is_some()
        },
    );
    assert!(status.unwrap().success());
}

fn a_hook_added_after_a_global_install_runs_in_a_bare_repository() {
    let repo = TestRepo::new();
    repo.daft(&["install", "--global"]).ok();
    let remote = repo.path("remote.git");
    repo.run_in(&repo.base, "git", &["init", "-q", "--bare", "remote.git"])
        .ok();
    // Added after daft was installed: a server's policy must keep being enforced.
    hook(
        &remote.join("hooks/update"),
        "echo \"no pushes to $1\" >&2; exit 1",
    );
    repo.git(&["push", "-q", remote.to_str().unwrap(), "main"])
        .fails_with(1)
        .stderr_has("no pushes to refs/heads/main");
    hook(&remote.join("hooks/update"), "exit 0");
    hook(
        &remote.join("hooks/pre-receive"),
        "echo 'closed' >&2; exit 1",
    );
    repo.git(&["push", "-q", remote.to_str().unwrap(), "main"])
        .fails_with(1)
        .stderr_has("closed");
}

/// A hook added by hand to `.git/hooks` after install runs from the next checkout on (or the
/// next daft command), as README says.
fn hook_added_later_runs_after(nudge: impl FnOnce(&TestRepo)) {
    let repo = TestRepo::new().install();
    let log = repo.path("rt.log");
    hook(
        &repo.common_dir().join("hooks/reference-transaction"),
        &format!("echo \"$1\" >> '{}'", log.display()),
    );
    nudge(&repo);
    std::fs::remove_file(&log).ok();
    repo.git(&["branch", "later"]).ok();
    assert!(read(&log).contains("committed"), "{}", read(&log));
}

fn a_hook_added_after_install_runs_from_the_next_checkout() {
    hook_added_later_runs_after(|repo| {
        repo.git(&["switch", "-q", "-c", "elsewhere"]).ok();
    });
}

fn a_hook_added_after_install_runs_from_the_next_daft_command() {
    hook_added_later_runs_after(|repo| {
        repo.daft(&["hooks", "log", "show"]).ok();
    });
}

fn switching_away_from_an_unborn_branch_is_not_a_clone_or_a_new_worktree() {
    let repo = TestRepo::installed(
        "hooks:\n  post-clone:\n    jobs:\n      - name: clone\n        run: touch cloned\n  worktree-post-create:\n    jobs:\n      - name: create\n        run: touch created\n",
    );
    repo.git(&["switch", "-q", "--orphan", "nothing"]).ok();
    repo.git(&["switch", "-q", "main"]).ok();
    assert!(!repo.root.join("cloned").exists());
    repo.git(&["worktree", "add", "-q", "../wt", "-b", "wt"])
        .ok();
    let wt = repo.path("wt");
    assert!(wt.join("created").exists());
    std::fs::remove_file(wt.join("created")).unwrap();
    repo.git_in(&wt, &["switch", "-q", "--orphan", "nothing2"])
        .ok();
    repo.git_in(&wt, &["switch", "-q", "wt"]).ok();
    assert!(!wt.join("created").exists());
}

fn hooks_whose_existence_changes_git_behave_as_without_daft() {
    let repo = TestRepo::new();
    let target = repo.path("target");
    repo.run_in(&repo.base, "git", &["init", "-q", "target"])
        .ok();
    repo.git_in(
        &target,
        &["config", "receive.denyCurrentBranch", "updateInstead"],
    )
    .ok();
    // A global install reaches each repository's own hooks through /proc/self/cwd, which the
    // portable build (as macOS) has not: there it is a repository install only.
    let installs: &[bool] = if cfg!(feature = "portable") {
        &[false]
    } else {
        &[false, true]
    };
    for &global in installs {
        if global {
            repo.daft_in(&target, &["uninstall"]).ok();
            repo.daft(&["install", "--global"]).ok();
        } else {
            repo.daft_in(&target, &["install"]).ok();
        }
        // No push-to-checkout hook: git updates the work tree itself.
        repo.git(&["commit", "-q", "--allow-empty", "-m", "more"])
            .ok();
        std::fs::write(repo.root.join("pushed"), format!("{global}\n")).unwrap();
        repo.git(&["add", "pushed"]).ok();
        repo.git(&["commit", "-qm", "pushed"]).ok();
        repo.git(&["push", "-q", "-f", target.to_str().unwrap(), "main"])
            .ok();
        assert_eq!(read(&target.join("pushed")), format!("{global}\n"));
        // One added later: git runs it instead.
        let path = target.join(".git/hooks/push-to-checkout");
        hook(&path, "echo 'the hook decides' >&2; exit 1");
        repo.git(&["commit", "-q", "--allow-empty", "-m", "again"])
            .ok();
        repo.git(&["push", "-q", target.to_str().unwrap(), "main"])
            .fails_with(1)
            .stderr_has("the hook decides");
        std::fs::remove_file(&path).unwrap();
    }
}

crate::cases![
    arguments_that_are_not_utf8_reach_the_previous_hook_unchanged,
    a_repository_under_a_non_utf8_directory_works_and_says_why_jobs_cannot,
    git_dir_from_the_environment_decides_the_repository,
    a_separate_git_dir_and_work_tree_commit,
    descriptors_git_gave_reach_the_previous_hook,
    a_failing_previous_hook_is_reported_by_git_alone_when_daft_has_nothing_to_run,
    git_s_hint_for_a_hook_that_is_not_executable_is_kept,
    [Need::LinuxOnly] a_conversation_on_stdin_is_not_read_to_the_end_first,
    a_hook_added_after_a_global_install_runs_in_a_bare_repository,
    a_hook_added_after_install_runs_from_the_next_checkout,
    a_hook_added_after_install_runs_from_the_next_daft_command,
    switching_away_from_an_unborn_branch_is_not_a_clone_or_a_new_worktree,
    hooks_whose_existence_changes_git_behave_as_without_daft,
];
