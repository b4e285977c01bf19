//! `daft doctor` and the notice every command gives once: will git call daft here, and if
//! not, why and what to do.

use crate::common::{TestRepo, config_mode, hook, read};

const CONFIG: &str =
    "hooks:\n  worktree-post-create:\n    jobs:\n      - name: setup\n        run: touch set-up\n";

fn all_is_well_after_install_and_not_before() {
    let repo = TestRepo::new();
    repo.daft(&["doctor"])
        .fails_with(1)
        .stdout_has("daft is not installed")
        .stdout_has("fix: daft install");
    let repo = repo.daft_yml(CONFIG).commit().install().trust();
    let out = repo
        .daft(&["doctor"])
        .ok()
        .stdout_has("git calls daft here");
    if config_mode() {
        out.stdout_has("installed in config mode")
            .stdout_has("git runs daft for post-checkout");
    } else {
        out.stdout_has("installed in hooks-path mode")
            .stdout_has("core.hooksPath is daft's");
    }
}

fn a_tool_that_takes_core_hooks_path_is_found_told_once_and_mended() {
    // husky's `prepare` does this on every npm install.
    let repo = TestRepo::new()
        .daft_yml(CONFIG)
        .commit()
        .install_hooks_path()
        .trust();
    let log = repo.path("husky.log");
    hook(
        &repo.root.join(".husky/_/post-checkout"),
        &format!("echo husky >> '{}'", log.display()),
    );
    // (A relative core.hooksPath is read in each worktree, so it must be in each.)
    let repo = repo.commit();
    repo.git(&["config", "core.hooksPath", ".husky/_"]).ok();
    repo.daft(&["doctor"])
        .fails_with(1)
        .stdout_has("core.hooksPath is .husky/_")
        .stdout_has("fix: daft install")
        .stdout_has("-- husky: a .husky directory");
    // Every command says so, once.
    repo.daft(&["validate"])
        .ok()
        .stderr_has("core.hooksPath is .husky/_")
        .stderr_has("To mend: daft install");
    let again = repo.daft(&["validate"]).ok();
    assert!(!again.stderr().contains(".husky"), "{}", again.stderr());
    // Mended without losing husky's hooks: they run first.
    repo.daft(&["install", "--mode", "hooks-path"]).ok();
    repo.daft(&["doctor"]).ok();
    repo.git(&["worktree", "add", "-q", "../wt", "-b", "wt"])
        .ok();
    assert_eq!(read(&log), "husky\n");
    assert!(repo.path("wt/set-up").exists());
    repo.daft(&["uninstall"]).ok();
    assert_eq!(
        repo.git(&["config", "core.hooksPath"]).ok().stdout().trim(),
        ".husky/_"
    );
}

fn a_per_worktree_hooks_path_is_named_with_its_scope() {
    let repo = TestRepo::new().install_hooks_path();
    repo.git(&["config", "extensions.worktreeConfig", "true"])
        .ok();
    repo.git(&["config", "--worktree", "core.hooksPath", "agent-hooks"])
        .ok();
    repo.daft(&["doctor"])
        .fails_with(1)
        .stdout_has("worktree scope")
        .stdout_has("git config --worktree --unset core.hooksPath");
}

fn a_disabled_registration_is_found_in_config_mode() {
    let repo = TestRepo::new().install();
    repo.git(&["config", "hook.daft-post-checkout.enabled", "false"])
        .ok();
    repo.daft(&["doctor"])
        .fails_with(1)
        .stdout_has("hook.daft-post-checkout.enabled is false")
        .stdout_has("fix: git config --unset hook.daft-post-checkout.enabled");
}

fn a_worktree_no_hook_announced_is_told_how_to_set_itself_up() {
    let repo = TestRepo::installed(CONFIG);
    // --no-checkout runs no hook, like a libgit2 tool (pygit2, an IDE) making a worktree.
    repo.git(&[
        "worktree",
        "add",
        "--no-checkout",
        "../quiet",
        "-b",
        "quiet",
    ])
    .ok();
    let wt = repo.path("quiet");
    repo.git_in(&wt, &["checkout", "-q", "quiet"]).ok();
    repo.daft(&["doctor"])
        .fails_with(1)
        .stdout_has("its setup is pending: no hook announced this worktree")
        .stdout_has("daft hooks wait");
    repo.daft_in(&wt, &["hooks", "log", "show"])
        .ok()
        .stderr_has("this worktree was never set up")
        .stderr_has("daft hooks wait")
        .stdout_has("setup: pending");
    let again = repo.daft_in(&wt, &["hooks", "log", "show"]).ok();
    assert!(!again.stderr().contains("never set up"), "told once");
    repo.daft_in(&wt, &["hooks", "wait"]).ok();
    assert!(wt.join("set-up").exists());
    repo.daft(&["doctor"]).ok();
}

crate::cases![
    all_is_well_after_install_and_not_before,
    a_tool_that_takes_core_hooks_path_is_found_told_once_and_mended,
    a_per_worktree_hooks_path_is_named_with_its_scope,
    [Need::ConfigMode] a_disabled_registration_is_found_in_config_mode,
    a_worktree_no_hook_announced_is_told_how_to_set_itself_up,
];
