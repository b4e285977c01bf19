//! daft beside the hook managers people already use — pre-commit, prek and lefthook (from
//! `PyPI`), husky and lefthook (from npm) — installed the way their users install them, before
//! and after daft, re-run, and uninstalled: both fire, neither loses a hook, and uninstalling
//! daft leaves the other tool working. `.ci/run` installs the tools under
//! `target/tools` and points `DAFT_TEST_TOOLS` there; without them these tests show as skipped.
//! With git 2.54+ (`DAFT_TEST_GIT`) daft is in config mode, with older git in hooks-path mode,
//! where some tools need the order README gives.

use std::path::Path;

use crate::common::{TestRepo, config_mode};
use crate::harness::Tool;

/// A repository with daft's config and `other`'s, each with a pre-commit step that writes its
/// name to `fired.log`.
fn repo_with(other_config: &[(&str, String)]) -> TestRepo {
    let repo = TestRepo::new();
    let log = repo.path("fired.log");
    repo.write(
        "daft.yml",
        &format!(
            "hooks:\n  pre-commit:\n    jobs:\n      - name: mark\n        run: echo daft >> '{}'\n",
            log.display()
        ),
    );
    for (file, text) in other_config {
        repo.write(file, &text.replace("LOG", &log.display().to_string()));
    }
    repo.commit()
}

/// Commits a change and returns who fired, sorted.
fn who_fires(repo: &TestRepo) -> Vec<String> {
    let log = repo.path("fired.log");
    let _ = std::fs::remove_file(&log);
    let n = std::fs::read_dir(&repo.root).unwrap().count();
    repo.write(&format!("change-{n}"), "x\n");
    repo.git(&["add", "-A"]).ok();
    repo.git(&["commit", "-q", "-m", "change"]).ok();
    let mut fired: Vec<String> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    fired.sort();
    fired
}

fn run_tool(repo: &TestRepo, tool: &Path, args: &[&str]) -> crate::common::Run {
    let mut all = vec![tool.to_str().unwrap()];
    all.extend_from_slice(args);
    repo.run_in(&repo.root, all[0], &all[1..])
}

/// daft, installed as a user would and trusted.
fn daft_in(repo: &TestRepo) {
    repo.daft(&["install"]).ok();
    repo.daft(&["trust", "--yes"]).ok();
}

fn pair(name: &str) -> Vec<String> {
    let mut both = vec!["daft".to_owned(), name.to_owned()];
    both.sort();
    both
}

const PRE_COMMIT: &str = "repos:\n- repo: local\n  hooks:\n  - id: mark\n    name: mark\n    entry: sh -c 'echo NAME >> LOG'\n    language: system\n    pass_filenames: false\n    always_run: true\n";

/// pre-commit and prek read the same config.
fn pre_commit_like(name: &str) {
    let tool = if name == "prek" {
        Tool::Prek
    } else {
        Tool::PreCommit
    };
    let bin = tool.path().unwrap();
    let config = PRE_COMMIT.replace("NAME", name);
    // Installed before daft: both fire; daft's uninstall leaves it working.
    let repo = repo_with(&[(".pre-commit-config.yaml", config.clone())]);
    run_tool(&repo, &bin, &["install"]).ok();
    daft_in(&repo);
    assert_eq!(who_fires(&repo), pair(name));
    repo.daft(&["uninstall"]).ok();
    assert_eq!(who_fires(&repo), [name]);
    // Installed after daft.
    let repo = repo_with(&[(".pre-commit-config.yaml", config)]);
    daft_in(&repo);
    let first = run_tool(&repo, &bin, &["install"]);
    if first.code() != Some(0) {
        // pre-commit refuses any core.hooksPath (hooks-path mode): README's order.
        assert!(!config_mode() && name == "pre-commit", "{}", first.stderr());
        repo.git(&["config", "--unset-all", "core.hooksPath"]).ok();
        run_tool(&repo, &bin, &["install"]).ok();
        repo.daft(&["install"]).ok();
    }
    assert_eq!(who_fires(&repo), pair(name));
    // Re-run: nothing lost.
    let _ = run_tool(&repo, &bin, &["install"]);
    assert_eq!(who_fires(&repo), pair(name));
    repo.daft(&["uninstall"]).ok();
    assert_eq!(
        who_fires(&repo),
        [name],
        "daft's uninstall left {name} working"
    );
    run_tool(&repo, &bin, &["uninstall"]).ok();
    assert!(who_fires(&repo).is_empty());
}

fn pre_commit() {
    pre_commit_like("pre-commit");
}

fn prek() {
    pre_commit_like("prek");
}

fn lefthook_from(bin: &Path) {
    let config = (
        "lefthook.yml",
        "pre-commit:\n  commands:\n    mark:\n      run: echo lefthook >> 'LOG'\n".to_owned(),
    );
    let repo = repo_with(std::slice::from_ref(&config));
    run_tool(&repo, bin, &["install"]).ok();
    daft_in(&repo);
    assert_eq!(who_fires(&repo), pair("lefthook"));
    repo.daft(&["uninstall"]).ok();
    assert_eq!(who_fires(&repo), ["lefthook"]);

    let repo = repo_with(&[config]);
    daft_in(&repo);
    // lefthook will not write into a custom hooks path without --force (hooks-path mode);
    // --force writes into daft's directory, and `daft install` adopts what it wrote.
    run_tool(&repo, bin, &["install", "--force"]).ok();
    if !config_mode() {
        repo.daft(&["doctor"])
            .fails_with(1)
            .stdout_has("another tool's");
        repo.daft(&["install"]).ok().stdout_has("lefthook's hook");
    }
    assert_eq!(who_fires(&repo), pair("lefthook"));
    run_tool(&repo, bin, &["install", "--force"]).ok();
    repo.daft(&["install"]).ok();
    assert_eq!(who_fires(&repo), pair("lefthook"));
    repo.daft(&["uninstall"]).ok();
    assert_eq!(
        who_fires(&repo),
        ["lefthook"],
        "daft's uninstall left lefthook working"
    );
}

fn lefthook_from_pypi() {
    lefthook_from(&Tool::LefthookPypi.path().unwrap());
}

fn lefthook_from_npm() {
    lefthook_from(&Tool::LefthookNpm.path().unwrap());
}

fn husky() {
    let bin = Tool::Husky.path().unwrap();
    let setup = [
        (
            "package.json",
            "{\"name\":\"x\",\"private\":true,\"scripts\":{\"prepare\":\"husky\"}}\n".to_owned(),
        ),
        (".husky/pre-commit", "echo husky >> 'LOG'\n".to_owned()),
    ];
    // husky (its `prepare` on npm install), then daft: daft runs husky's hooks first.
    let repo = repo_with(&setup);
    run_tool(&repo, &bin, &[]).ok();
    daft_in(&repo);
    assert_eq!(who_fires(&repo), pair("husky"));
    repo.daft(&["uninstall"]).ok();
    assert_eq!(who_fires(&repo), ["husky"]);
    assert_eq!(read_config(&repo), ".husky/_");

    // daft, then husky (and again: every npm install runs it).
    let repo = repo_with(&setup);
    daft_in(&repo);
    for _ in 0..2 {
        run_tool(&repo, &bin, &[]).ok();
        if !config_mode() {
            // husky took core.hooksPath: told, and mended without losing husky's hooks.
            repo.daft(&["validate"])
                .ok()
                .stderr_has("core.hooksPath is .husky/_");
            repo.daft(&["install"]).ok();
        }
        assert_eq!(who_fires(&repo), pair("husky"));
    }
    repo.daft(&["uninstall"]).ok();
    assert_eq!(who_fires(&repo), ["husky"]);
}

fn read_config(repo: &TestRepo) -> String {
    repo.git(&["config", "core.hooksPath"])
        .ok()
        .stdout()
        .trim()
        .to_owned()
}

crate::cases![
    [Need::Tool(Tool::PreCommit)] pre_commit,
    [Need::Tool(Tool::Prek)] prek,
    [Need::Tool(Tool::LefthookPypi)] lefthook_from_pypi,
    [Need::Tool(Tool::LefthookNpm)] lefthook_from_npm,
    [Need::Tool(Tool::Husky)] husky,
];
