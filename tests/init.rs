//! `daft init`: a starter config from what the repository holds, valid as written, never over
//! one that is there; and `daft install` pointing at it where there is no config.

use crate::common::{TestRepo, read};

fn init_picks_a_recipe_for_each_ecosystem_it_finds() {
    let repo = TestRepo::new();
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "package-lock.json",
        "uv.lock",
        "go.mod",
    ] {
        repo.write(file, "");
    }
    repo.write(".gitignore", ".env\n");
    repo.write(".env", "SECRET=1\n");
    repo.git(&["add", "-A"]).ok();
    repo.git(&["commit", "-qm", "files"]).ok();
    let out = repo.daft(&["init"]).ok();
    for says in [
        "Cargo.toml",
        "package-lock.json",
        "uv.lock",
        "go.mod",
        ".env",
        "daft trust",
    ] {
        assert!(out.stdout().contains(says), "{says}: {}", out.stdout());
    }
    let config = read(&repo.root.join("daft.yml"));
    assert!(config.starts_with("# yaml-language-server: $schema=./daft.schema.json\n"));
    for job in [
        "copy: [.env]",
        "copy: [target]",
        "cargo fetch --locked",
        "background: true",
        "copy: [node_modules]",
        "uv sync --frozen",
        "go mod download",
    ] {
        assert!(config.contains(job), "{job}:\n{config}");
    }
    let schema = read(&repo.root.join("daft.schema.json"));
    assert_eq!(schema, repo.daft(&["schema"]).ok().stdout());
    repo.daft(&["validate"]).ok();
    // Never over a config that is there, whatever it holds.
    repo.write("daft.yml", "hooks: {nonsense\n");
    repo.daft(&["init"])
        .fails_with(2)
        .stderr_has("never overwrites");
    assert_eq!(read(&repo.root.join("daft.yml")), "hooks: {nonsense\n");
}

fn init_copies_what_a_worktreeinclude_names_and_gives_an_example_where_nothing_fits() {
    let repo = TestRepo::new();
    repo.write(".worktreeinclude", ".env\n");
    repo.daft(&["init"]).ok().stdout_has(".worktreeinclude");
    assert!(read(&repo.root.join("daft.yml")).contains("copy: { include: .worktreeinclude }"));
    repo.daft(&["validate"]).ok();
    let empty = TestRepo::new();
    empty.daft(&["init"]).ok().stdout_has("example to edit");
    empty.daft(&["validate"]).ok();
}

fn install_says_what_comes_next_for_the_repository_as_it_is() {
    let repo = TestRepo::new();
    repo.daft(&["install"]).ok().stdout_has("`daft init`");
    repo.daft(&["init"]).ok();
    // Written, not committed: new worktrees would not get it.
    repo.daft(&["install"])
        .ok()
        .stdout_has("commit daft.yml (new worktrees are made from commits), `daft trust` it");
    repo.git(&["add", "-A"]).ok();
    repo.git(&["commit", "-qm", "daft"]).ok();
    repo.daft(&["install"]).ok().stdout_has("`daft trust`");
    repo.daft(&["trust", "--yes"]).ok();
    repo.daft(&["install"]).ok().stdout_has("is trusted");
}

crate::cases![
    init_picks_a_recipe_for_each_ecosystem_it_finds,
    init_copies_what_a_worktreeinclude_names_and_gives_an_example_where_nothing_fits,
    install_says_what_comes_next_for_the_repository_as_it_is,
];
