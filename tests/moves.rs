//! Wherever the repository or daft goes, git keeps working (SPEC §7): a repository renamed or
//! moved with `mv`, daft uninstalled (here, `--global`, while git holds a lock) never leave
//! git calling something that is not there, never block a commit or a switch, and never
//! silence the user's own hooks.

use std::path::{Path, PathBuf};

use indoc::indoc;

use crate::common::{TestRepo, hook, read};

const CONFIG: &str = indoc! {"
    hooks:
      worktree-post-create:
        jobs:
          - name: setup
            run: echo set-up > set-up
      pre-commit:
        jobs:
          - name: lint
            run: echo linted >> ../lint.log
"};

/// A secret scanner of the user's own, in `.git/hooks`: it refuses a commit that adds SECRET.
fn scanner(repo: &TestRepo) {
    hook(
        &repo.common_dir().join("hooks/pre-commit"),
        &format!(
            "echo scanned >> '{}'\nif git diff --cached | grep -q SECRET; then echo 'secret found' >&2; exit 1; fi",
            repo.path("scan.log").display()
        ),
    );
}

/// After the move: the user's hook still refuses, daft's jobs and git's commands still run.
#[track_caller]
fn git_and_daft_work(repo: &TestRepo) {
    repo.write("leak.txt", "SECRET\n");
    repo.git(&["add", "leak.txt"]).ok();
    repo.git(&["commit", "-qm", "leak"])
        .fails_with(1)
        .stderr_has("secret found");
    repo.git(&["rm", "-q", "--cached", "leak.txt"]).ok();
    std::fs::remove_file(repo.root.join("leak.txt")).unwrap();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "fine"])
        .ok();
    assert!(read(&repo.path("scan.log")).lines().count() >= 2);
    assert!(read(&repo.path("lint.log")).contains("linted"));
    repo.git(&["switch", "-q", "-c", "after-move"]).ok();
    repo.git(&["switch", "-q", "main"]).ok();
    let wt = repo.path("wt-after-move");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().unwrap(),
        "-b",
        "wt-after-move",
    ])
    .ok();
    assert_eq!(read(&wt.join("set-up")), "set-up\n");
}

fn moving_the_repository_keeps_every_hook_running() {
    for hooks_path in [false, true] {
        let repo = TestRepo::new().daft_yml(CONFIG).commit();
        scanner(&repo);
        let repo = if hooks_path {
            repo.install_hooks_path()
        } else {
            repo.install()
        }
        .trust();
        let repo = repo.renamed("renamed");
        git_and_daft_work(&repo);
        // Nothing of daft's needs mending: git was given nothing that moved.
        repo.daft(&["doctor"])
            .stdout_has("this repository moved")
            .stdout_has("fix: daft install");
        repo.daft(&["hooks", "log", "show"])
            .ok()
            .stderr_has("this repository moved");
        repo.daft(&["doctor"]).ok();
    }
}

/// An install an older daft made kept its hooks inside the repository: after a move git ran
/// nothing of them. The next daft command brings them out, and everything runs again.
fn an_install_inside_the_repository_is_mended_by_the_next_daft_command() {
    let repo = TestRepo::new().daft_yml(CONFIG).commit();
    scanner(&repo);
    let repo = repo.install_hooks_path().trust();
    // As an older daft left it: the shims in .git/daft/hooks, the record without a key.
    let outside = repo.hooks_dir();
    let inside = repo.common_dir().join("daft/hooks");
    std::fs::rename(&outside, &inside).unwrap();
    std::fs::remove_dir_all(outside.parent().unwrap()).unwrap();
    repo.git(&["config", "core.hooksPath", inside.to_str().unwrap()])
        .ok();
    let record = repo.common_dir().join("daft/install.json");
    let mut json: serde_json::Value = serde_json::from_str(&read(&record)).unwrap();
    json.as_object_mut().unwrap().remove("key");
    json.as_object_mut().unwrap().remove("common_dir");
    std::fs::write(&record, json.to_string()).unwrap();
    let repo = repo.renamed("moved");
    // git runs no hook at all now, not even the user's.
    repo.daft(&["doctor"])
        .fails_with(1)
        .stdout_has("which does not exist: git runs no hook at all here");
    repo.daft(&["hooks", "log", "show"])
        .ok()
        .stderr_has("daft moved the files git runs out of the repository");
    assert!(!repo.hooks_dir().starts_with(&repo.root));
    git_and_daft_work(&repo);
}

/// `repo` and a second repository beside it, `name`, made the same way, in the same home.
fn beside(repo: &TestRepo, name: &str) -> PathBuf {
    let dir = repo.path(name);
    repo.run_in(&repo.base, "git", &["init", "-q", name]).ok();
    std::fs::write(dir.join("daft.yml"), CONFIG).unwrap();
    repo.git_in(&dir, &["add", "-A"]).ok();
    repo.git_in(&dir, &["commit", "-qm", "init"]).ok();
    dir
}

#[track_caller]
fn commits(repo: &TestRepo, dir: &Path) -> String {
    repo.git_in(dir, &["commit", "-q", "--allow-empty", "-m", "after"])
        .ok()
        .stderr()
}

fn uninstalling_here_or_everywhere_blocks_no_commit_anywhere() {
    let repo = TestRepo::new().daft_yml(CONFIG).commit().install().trust();
    // Installed for every repository of the user, trusted in two more clones; one of them is
    // moved away before the uninstall, where it cannot be found.
    repo.daft(&["install", "--global"]).ok();
    let b = beside(&repo, "b");
    let c = beside(&repo, "c");
    repo.daft_in(&b, &["trust", "--yes"]).ok();
    repo.daft_in(&c, &["trust", "--yes"]).ok();
    let c_moved = repo.path("c-moved");
    std::fs::rename(&c, &c_moved).unwrap();
    repo.daft(&["uninstall"]).ok();
    commits(&repo, &repo.root);
    repo.daft(&["uninstall", "--global"]).ok();
    for dir in [&repo.root, &b] {
        let stderr = commits(&repo, dir);
        assert_eq!(stderr, "", "{}", dir.display());
        repo.git_in(dir, &["switch", "-q", "-c", "x"]).ok();
    }
    // The clone it could not reach: in config mode its registration does nothing, and says
    // how to take it out.
    let stderr = commits(&repo, &c_moved);
    if crate::common::config_mode() {
        assert!(
            stderr.contains("is gone, so daft's pre-commit jobs did not run")
                && stderr.contains("--remove-section hook.daft-pre-commit"),
            "{stderr}"
        );
    } else {
        assert_eq!(stderr, "");
    }
    // Nothing of daft's is left in the user's data directory.
    let data = repo.home().join(".local/share/daft");
    assert!(!data.join("bin").exists() && !data.join("hooks").exists());
}

fn an_uninstall_while_git_holds_the_config_lock_is_all_or_nothing() {
    let repo = TestRepo::new().daft_yml(CONFIG).commit().install().trust();
    let config = std::fs::read(repo.common_dir().join("config")).unwrap();
    let lock = repo.common_dir().join("config.lock");
    std::fs::write(&lock, "").unwrap();
    repo.daft(&["uninstall"])
        .fails_with(1)
        .stderr_has("config.lock")
        .stderr_has("daft changed nothing");
    assert_eq!(
        std::fs::read(repo.common_dir().join("config")).unwrap(),
        config
    );
    std::fs::remove_file(&lock).unwrap();
    commits(&repo, &repo.root);
    assert_eq!(read(&repo.path("lint.log")), "linted\n", "daft still runs");
    // Let go of while daft waits: the uninstall goes through, whole.
    std::fs::write(&lock, "").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(800));
        std::fs::remove_file(lock).unwrap();
    });
    repo.daft(&["uninstall"]).ok();
    release.join().unwrap();
    let stderr = commits(&repo, &repo.root);
    assert_eq!(stderr, "");
    assert!(repo.git(&["config", "--get-regexp", "^hook\\.daft"]).code() == Some(1));
}

/// `.git/hooks` as a link to a committed `.githooks/`: a hook added there later runs.
fn a_hook_added_later_to_a_linked_hooks_directory_runs() {
    let repo = TestRepo::new();
    let remote = repo.path("remote.git");
    repo.run_in(&repo.base, "git", &["init", "-q", "--bare", "remote.git"])
        .ok();
    std::fs::create_dir_all(repo.root.join(".githooks")).unwrap();
    std::fs::write(repo.root.join(".githooks/README"), "team hooks\n").unwrap();
    std::fs::remove_dir_all(repo.common_dir().join("hooks")).unwrap();
    std::os::unix::fs::symlink("../.githooks", repo.common_dir().join("hooks")).unwrap();
    // Linked long ago (the link's own time never changes again).
    repo.run_in(
        &repo.root,
        "touch",
        &["-h", "-d", "@1000000000", ".git/hooks"],
    )
    .ok();
    let repo = repo.daft_yml(CONFIG).commit().install_hooks_path().trust();
    // Minutes later (daft's other directories as old as its last look, which was then).
    repo.run_in(
        &repo.root,
        "touch",
        &["-d", "@1000000000", ".git/daft/events"],
    )
    .ok();
    hook(
        &repo.root.join(".githooks/pre-push"),
        &format!("echo pushed >> '{}'", repo.path("push.log").display()),
    );
    repo.git(&["switch", "-q", "-c", "side"]).ok();
    repo.git(&["push", "-q", remote.to_str().unwrap(), "side"])
        .ok();
    assert_eq!(read(&repo.path("push.log")), "pushed\n");
}

crate::cases![
    moving_the_repository_keeps_every_hook_running,
    an_install_inside_the_repository_is_mended_by_the_next_daft_command,
    uninstalling_here_or_everywhere_blocks_no_commit_anywhere,
    an_uninstall_while_git_holds_the_config_lock_is_all_or_nothing,
    [Need::HooksPathMode] a_hook_added_later_to_a_linked_hooks_directory_runs,
];
