//! Installing keeps the hooks that were there; uninstalling restores the config exactly.

use crate::common::{TestRepo, hook, read};

fn the_repositorys_own_hooks_still_run_with_the_same_arguments() {
    let repo = TestRepo::new();
    let log = repo.path("previous.log");
    hook(
        &repo.common_dir().join("hooks/post-checkout"),
        &format!("echo \"$@\" >> '{}'", log.display()),
    );
    hook(
        &repo.common_dir().join("hooks/pre-commit"),
        "echo vetoed >&2; exit 1",
    );
    let config_before = std::fs::read(repo.common_dir().join("config")).unwrap();
    let repo = repo.install();

    repo.git(&["worktree", "add", "../wt", "-b", "feat"]).ok();
    let head = repo.git(&["rev-parse", "HEAD"]).ok().stdout();
    assert_eq!(
        read(&log),
        format!("{} {} 1\n", "0".repeat(40), head.trim())
    );

    repo.write("new", "x");
    repo.git(&["add", "new"]).ok();
    repo.git(&["commit", "-qm", "x"])
        .fails_with(1)
        .stderr_has("vetoed");

    repo.daft(&["uninstall"]).ok();
    assert_eq!(
        std::fs::read(repo.common_dir().join("config")).unwrap(),
        config_before,
        "config restored byte for byte"
    );
    assert!(!repo.common_dir().join("daft/hooks").exists());
    assert!(
        !repo
            .home()
            .join(".local/share/daft/repos")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some())
    );
}

fn a_previous_core_hooks_path_keeps_running_and_is_restored() {
    let repo = TestRepo::new();
    let log = repo.path("custom.log");
    hook(
        &repo.root.join("githooks/post-checkout"),
        &format!("echo custom \"$3\" >> '{}'", log.display()),
    );
    repo.git(&["config", "core.hooksPath", "githooks"]).ok();
    let config_before = std::fs::read(repo.common_dir().join("config")).unwrap();
    let repo = repo.install_hooks_path();
    repo.install_again_is_harmless();

    repo.git(&["branch", "other"]).ok();
    repo.git(&["switch", "-q", "other"]).ok();
    assert_eq!(read(&log), "custom 1\n");

    repo.daft(&["uninstall"])
        .ok()
        .stdout_has("restored to githooks");
    assert_eq!(
        std::fs::read(repo.common_dir().join("config")).unwrap(),
        config_before
    );
}

fn a_previous_hook_that_daft_does_not_shim_by_default_is_kept() {
    let repo = TestRepo::new();
    let log = repo.path("rt.log");
    hook(
        &repo.common_dir().join("hooks/reference-transaction"),
        &format!("echo \"$1\" >> '{}'", log.display()),
    );
    let repo = repo.install_hooks_path();
    assert!(repo.hooks_dir().join("reference-transaction").exists());
    repo.git(&["branch", "kept"]).ok();
    assert!(read(&log).contains("committed"));
}

fn stdin_reaches_the_previous_pre_push_hook() {
    let repo = TestRepo::new();
    let remote = repo.path("remote.git");
    repo.run_in(
        &repo.base,
        "git",
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    )
    .ok();
    let log = repo.path("push.log");
    hook(
        &repo.common_dir().join("hooks/pre-push"),
        &format!("cat >> '{}'", log.display()),
    );
    let repo = repo.install();
    repo.git(&["push", "-q", remote.to_str().unwrap(), "main"])
        .ok();
    assert!(
        read(&log).starts_with("refs/heads/main "),
        "pre-push got git's stdin: {}",
        read(&log)
    );
}

fn global_install_fires_post_clone_and_uninstall_restores_the_global_config() {
    let repo = TestRepo::new()
        .daft_yml(
            "hooks:\n  post-clone:\n    jobs:\n      - name: mark\n        run: touch cloned\n",
        )
        .commit();
    let gitconfig = repo.home().join(".gitconfig");
    let before = std::fs::read(&gitconfig).unwrap();
    repo.daft(&["install", "--global"]).ok();
    let clone = repo.path("clone");
    repo.run_in(
        &repo.base,
        "git",
        &[
            "clone",
            "-q",
            repo.root.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    )
    .ok()
    .stderr_has("daft.yml is not trusted yet");
    assert!(
        !clone.join("cloned").exists(),
        "a fresh clone's config is never trusted"
    );

    repo.daft(&["uninstall", "--global"]).ok();
    assert_eq!(std::fs::read(&gitconfig).unwrap(), before);
}

fn without_the_binary_the_shim_still_runs_the_previous_hook() {
    let repo = TestRepo::new();
    let log = repo.path("previous.log");
    hook(
        &repo.common_dir().join("hooks/post-checkout"),
        &format!("echo ran >> '{}'", log.display()),
    );
    let repo = repo.install_hooks_path();
    let out = repo
        .command("git", &repo.root)
        .env("DAFT_BIN", "/nonexistent/daft")
        .args(["switch", "-q", "-c", "b"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(read(&log), "ran\n");
    // A new worktree is daft's business: without the binary the shim says how to mend it.
    let out = repo
        .command("git", &repo.root)
        .env("DAFT_BIN", "/nonexistent/daft")
        .args(["worktree", "add", "-q", "../wt", "-b", "wt"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/daft is gone"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&log), "ran\nran\n");
}

impl TestRepo {
    fn install_again_is_harmless(&self) {
        let before = std::fs::read(self.common_dir().join("config")).unwrap();
        self.daft(&["install", "--mode", "hooks-path"])
            .ok()
            .stdout_has("refreshed the shims");
        assert_eq!(
            std::fs::read(self.common_dir().join("config")).unwrap(),
            before
        );
    }
}

fn a_global_install_runs_each_repositorys_own_hooks_in_linked_worktrees_too() {
    let repo = TestRepo::new();
    let log = repo.path("own.log");
    hook(
        &repo.common_dir().join("hooks/post-checkout"),
        &format!("echo \"$3\" >> '{}'", log.display()),
    );
    repo.daft(&["install", "--global"]).ok();
    repo.git(&["worktree", "add", "../wt", "-b", "feat"]).ok();
    repo.git_in(&repo.path("wt"), &["switch", "-q", "-c", "next"])
        .ok();
    assert_eq!(read(&log), "1\n1\n");
}

fn a_config_that_does_not_name_the_event_costs_nothing_and_says_nothing() {
    // Broken, but about another event: a plain switch neither parses nor complains about it.
    let repo = TestRepo::new()
        .daft_yml("hooks:\n  worktree-post-create: [\n")
        .commit()
        .install();
    let out = repo.git(&["switch", "-q", "-c", "next"]).ok();
    assert_eq!(out.stderr(), "");
    repo.git(&["worktree", "add", "../wt", "-b", "feat"])
        .ok()
        .stderr_has("daft.yml is not trusted yet");
    repo.daft(&["validate"])
        .fails_with(2)
        .stderr_has("daft.yml:2:");
}

fn a_user_s_own_file_in_daft_s_hooks_directory_is_never_lost() {
    let repo = TestRepo::new().install_hooks_path();
    let dir = repo.hooks_dir();
    let log = repo.path("mine.log");
    // A hook of the user's, written straight into daft's directory, and a note.
    hook(
        &dir.join("post-merge"),
        &format!("echo mine >> '{}'", log.display()),
    );
    std::fs::write(dir.join("NOTES"), "keep me\n").unwrap();
    repo.daft(&["install", "--mode", "hooks-path"])
        .ok()
        .stdout_has("post-merge");
    // Adopted: still runs, right after the repository's own hooks.
    repo.git(&["merge", "-q", "--no-edit", "main"]).ok();
    repo.git(&["branch", "side"]).ok();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "ahead"])
        .ok();
    repo.git(&["switch", "-q", "side"]).ok();
    repo.git(&["merge", "-q", "--no-edit", "main"]).ok();
    assert_eq!(read(&log), "mine\n");
    repo.daft(&["uninstall"]).ok();
    // Back where git runs it without daft, and the note beside it.
    assert!(repo.common_dir().join("hooks/post-merge").exists());
    assert_eq!(read(&repo.common_dir().join("hooks/NOTES")), "keep me\n");
    repo.git(&["switch", "-q", "main"]).ok();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "more"])
        .ok();
    repo.git(&["switch", "-q", "side"]).ok();
    repo.git(&["merge", "-q", "--no-edit", "main"]).ok();
    assert_eq!(read(&log), "mine\nmine\n");
}

fn a_hooks_path_set_through_an_include_is_chained_and_restored() {
    let repo = TestRepo::new();
    let log = repo.path("included.log");
    hook(
        &repo.root.join("team-hooks/post-checkout"),
        &format!("echo team >> '{}'", log.display()),
    );
    let include = repo.path("team.gitconfig");
    std::fs::write(&include, "[core]\n\thooksPath = team-hooks\n").unwrap();
    repo.git(&[
        "config",
        "--global",
        "includeIf.gitdir:/.path",
        include.to_str().unwrap(),
    ])
    .ok();
    let global_before = read(&repo.home().join(".gitconfig"));
    let local_before = std::fs::read(repo.common_dir().join("config")).unwrap();
    repo.daft(&["install", "--mode", "hooks-path"])
        .ok()
        .stdout_has("the hooks in team-hooks");
    repo.git(&["switch", "-q", "-c", "other"]).ok();
    assert_eq!(read(&log), "team\n");
    repo.daft(&["uninstall"]).ok();
    assert_eq!(
        std::fs::read(repo.common_dir().join("config")).unwrap(),
        local_before
    );
    assert_eq!(read(&repo.home().join(".gitconfig")), global_before);
    repo.git(&["switch", "-q", "main"]).ok();
    assert_eq!(read(&log), "team\nteam\n");
}

fn install_says_so_when_a_setting_of_higher_precedence_shadows_it() {
    let repo = TestRepo::new();
    // A per-worktree core.hooksPath, as some coding agents set it.
    repo.git(&["config", "extensions.worktreeConfig", "true"])
        .ok();
    repo.git(&["config", "--worktree", "core.hooksPath", "agent-hooks"])
        .ok();
    repo.daft(&["install", "--mode", "hooks-path"])
        .fails_with(1)
        .stdout_has("git will not call daft here")
        .stdout_has("worktree");
}

fn uninstall_restores_git_s_config_even_with_a_damaged_record() {
    let repo = TestRepo::new();
    let config_before = std::fs::read(repo.common_dir().join("config")).unwrap();
    let repo = repo.install_hooks_path();
    std::fs::write(repo.common_dir().join("daft/install.json"), "{damaged").unwrap();
    repo.daft(&["uninstall"])
        .ok()
        .stdout_has("damaged")
        .stdout_has("core.hooksPath unset");
    assert_eq!(
        std::fs::read(repo.common_dir().join("config")).unwrap(),
        config_before
    );
}

crate::cases![
    the_repositorys_own_hooks_still_run_with_the_same_arguments,
    a_previous_core_hooks_path_keeps_running_and_is_restored,
    a_previous_hook_that_daft_does_not_shim_by_default_is_kept,
    stdin_reaches_the_previous_pre_push_hook,
    global_install_fires_post_clone_and_uninstall_restores_the_global_config,
    without_the_binary_the_shim_still_runs_the_previous_hook,
    a_global_install_runs_each_repositorys_own_hooks_in_linked_worktrees_too,
    a_config_that_does_not_name_the_event_costs_nothing_and_says_nothing,
    a_user_s_own_file_in_daft_s_hooks_directory_is_never_lost,
    a_hooks_path_set_through_an_include_is_chained_and_restored,
    install_says_so_when_a_setting_of_higher_precedence_shadows_it,
    uninstall_restores_git_s_config_even_with_a_damaged_record,
];
