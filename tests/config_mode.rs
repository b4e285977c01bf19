//! Config mode (git 2.54+): daft registers with git's config-based hooks for the events it
//! needs, owns no hooks directory, and lives beside every other hook. CI runs these with git
//! 2.55 (`DAFT_TEST_GIT`); with an older git they show as skipped, and the mode choice is
//! checked instead.

use crate::common::{TestRepo, hook, read};

/// The events daft is registered for in this repository's own config.
fn registered(repo: &TestRepo) -> Vec<String> {
    let out = repo.git(&[
        "config",
        "--local",
        "--get-regexp",
        r"^hook\.daft-.*\.event$",
    ]);
    let mut events: Vec<String> = out
        .stdout()
        .lines()
        .filter_map(|line| line.split_once(' ').map(|(_, event)| event.to_owned()))
        .collect();
    events.sort();
    events
}

fn an_old_git_gets_hooks_path_mode_and_is_told_why() {
    TestRepo::new()
        .daft(&["install"])
        .ok()
        .stdout_has("hooks-path mode: git 2.")
        .stdout_has("older than 2.54");
    TestRepo::new()
        .daft(&["install", "--mode", "config"])
        .fails_with(2)
        .stdout_has("")
        .stderr_has("config mode needs git's config-based hooks");
}

fn only_the_events_trusted_configs_use_are_registered() {
    let repo = TestRepo::new().install();
    assert_eq!(registered(&repo), ["post-checkout"]);
    assert!(!repo.common_dir().join("daft/hooks").exists());
    assert!(repo.git(&["config", "core.hooksPath"]).code() == Some(1));
    let repo = repo
        .daft_yml("hooks:\n  pre-commit:\n    jobs:\n      - name: lint\n        run: echo linted >> lint.log\n")
        .commit()
        .trust();
    assert_eq!(registered(&repo), ["post-checkout", "pre-commit"]);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "x"]).ok();
    assert_eq!(read(&repo.root.join("lint.log")), "linted\n");
    repo.daft(&["untrust"]).ok();
    assert_eq!(registered(&repo), ["post-checkout"]);
    repo.daft(&["uninstall"]).ok();
    assert!(registered(&repo).is_empty());
}

fn other_hooks_and_hook_managers_keep_working_in_any_order() {
    let repo = TestRepo::new();
    let log = repo.path("hooks.log");
    // The repository's own hook, then daft, then another tool taking core.hooksPath.
    hook(
        &repo.common_dir().join("hooks/pre-commit"),
        &format!("echo own >> '{}'", log.display()),
    );
    let repo = repo
        .daft_yml(&format!(
            "hooks:\n  pre-commit:\n    jobs:\n      - name: daft\n        run: echo daft >> '{}'\n",
            log.display()
        ))
        .commit()
        .install()
        .trust();
    std::fs::remove_file(&log).unwrap(); // the set-up's own commit ran the hook too
    repo.git(&["commit", "-q", "--allow-empty", "-m", "x"]).ok();
    assert_eq!(read(&log), "daft\nown\n");
    hook(
        &repo.root.join(".husky/_/pre-commit"),
        &format!("echo husky >> '{}'", log.display()),
    );
    repo.git(&["config", "core.hooksPath", ".husky/_"]).ok();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "y"]).ok();
    assert_eq!(read(&log), "daft\nown\ndaft\nhusky\n");
    repo.daft(&["doctor"]).ok().stdout_has("side by side");
}

fn a_deleted_or_upgraded_binary_blocks_nothing_and_jobs_still_run() {
    use std::os::unix::fs::MetadataExt as _;
    let repo = TestRepo::new();
    let copy = repo.path("bin/daft-copy");
    std::fs::copy(crate::common::DAFT, &copy).unwrap();
    repo.run_in(&repo.root, copy.to_str().unwrap(), &["install"])
        .ok();
    let repo = repo
        .daft_yml("hooks:\n  pre-commit:\n    jobs:\n      - name: lint\n        run: echo linted >> ../lint.log\n")
        .commit();
    repo.run_in(&repo.root, copy.to_str().unwrap(), &["trust", "--yes"])
        .ok();
    // git runs daft's own link, without a shell in front of it.
    let command = repo
        .git(&["config", "hook.daft-pre-commit.command"])
        .ok()
        .stdout();
    // Outside the repository, in a directory of the user's: moving the repository breaks nothing.
    let command = std::path::PathBuf::from(command.trim());
    assert!(
        command.starts_with(repo.home().join(".local/share/daft/repos"))
            && command.ends_with("bin/pre-commit"),
        "{}",
        command.display()
    );
    // The binary deleted: nothing breaks, and the jobs still run.
    std::fs::remove_file(&copy).unwrap();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "x"]).ok();
    repo.git(&["switch", "-q", "-c", "other"]).ok();
    assert_eq!(read(&repo.path("lint.log")), "linted\n");
    // Upgraded (another file at its path): the next hook call follows it.
    std::fs::copy(crate::common::DAFT, &copy).unwrap();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "y"]).ok();
    let linked = std::fs::metadata(command.with_file_name("daft")).unwrap();
    assert_eq!(linked.ino(), std::fs::metadata(&copy).unwrap().ino());
    assert_eq!(read(&repo.path("lint.log")), "linted\nlinted\n");
    repo.run_in(&repo.root, copy.to_str().unwrap(), &["uninstall"])
        .ok();
    assert!(!command.parent().unwrap().exists());
}

fn a_global_install_registers_each_clone_s_events_in_that_clone() {
    let repo = TestRepo::new();
    repo.daft(&["install", "--global"]).ok();
    let global = repo.run_in(
        &repo.base,
        "git",
        &["config", "--global", "--get-regexp", r"^hook\.daft-"],
    );
    assert!(
        global
            .stdout()
            .contains("hook.daft-post-checkout.event post-checkout")
    );
    let repo = repo
        .daft_yml("hooks:\n  pre-push:\n    jobs:\n      - name: check\n        run: 'true'\n")
        .commit()
        .trust();
    assert_eq!(registered(&repo), ["pre-push"]);
    repo.daft(&["uninstall", "--global"]).ok();
    assert!(registered(&repo).is_empty());
    let global = repo.run_in(
        &repo.base,
        "git",
        &["config", "--global", "--get-regexp", r"^hook\.daft-"],
    );
    assert_eq!(global.stdout(), "");
}

crate::cases![
    [Need::HooksPathMode] an_old_git_gets_hooks_path_mode_and_is_told_why,
    [Need::ConfigMode] only_the_events_trusted_configs_use_are_registered,
    [Need::ConfigMode] other_hooks_and_hook_managers_keep_working_in_any_order,
    [Need::ConfigMode] a_deleted_or_upgraded_binary_blocks_nothing_and_jobs_still_run,
    [Need::ConfigMode] a_global_install_registers_each_clone_s_events_in_that_clone,

];
