//! Carried times are never a lie (SPEC §3.1): after a copy job carries a build cache, a
//! tracked file gets the source worktree's modification time only where its bytes on disk and
//! its mode are the source file's — so `make` (or cargo) in the new worktree rebuilds exactly
//! what differs, and every artifact equals a clean build of the new worktree's content. And
//! where no build cache was carried, nothing is carried and nothing is said.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use indoc::indoc;

use crate::common::{TestRepo, read};

/// A make project whose artifacts are the input's bytes (`build/out`) and the tool with its
/// mode (`build/tool`).
const MAKEFILE: &str = "all: build/out build/tool\n\
build/out: src/input.txt\n\tmkdir -p build\n\tcat src/input.txt > build/out\n\
build/tool: tool.sh\n\tmkdir -p build\n\tcat tool.sh > build/tool\n\tchmod --reference=tool.sh build/tool\n";

const COPY_BUILD: &str = indoc! {"
    hooks:
      worktree-post-create:
        jobs:
          - name: seed-build
            copy: [build]
"};

/// Long ago: the source worktree's files get this time once built, so a carried time is seen.
const OLD: u64 = 1_000_000_000;

fn set_mtime(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::symlink_metadata(path).unwrap().modified().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The make project with `config` committed and trusted, daft installed.
fn project(config: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("Makefile", MAKEFILE);
    repo.write("src/input.txt", "value=1\nname=main\n");
    repo.write("tool.sh", "#!/bin/sh\necho tool\n");
    repo.write(".gitignore", "build/\n");
    repo.daft_yml(config).commit().install().trust()
}

/// Builds the main worktree, then dates its sources long ago (the build stays newer).
fn build_main(repo: &TestRepo) {
    repo.run_in(&repo.root, "make", &["-s"]).ok();
    for file in ["src/input.txt", "tool.sh", "Makefile"] {
        set_mtime(&repo.root.join(file), OLD);
    }
    repo.run_in(&repo.root, "make", &["-q"]).ok(); // up to date
}

/// `make` in `wt`, then: every artifact is what a clean build of `wt` makes.
#[track_caller]
fn builds_true(repo: &TestRepo, wt: &Path) {
    repo.run_in(wt, "make", &["-s"]).ok();
    assert_eq!(
        read(&wt.join("build/out")),
        read(&wt.join("src/input.txt")),
        "build/out is stale"
    );
    assert_eq!(read(&wt.join("build/tool")), read(&wt.join("tool.sh")));
    assert_eq!(
        mode(&wt.join("build/tool")),
        mode(&wt.join("tool.sh")),
        "build/tool has a stale mode"
    );
}

fn old() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(OLD)
}

/// What the copy job said about the tracked files' times.
fn times_line(repo: &TestRepo, wt: &Path) -> String {
    let log = repo
        .daft_in(wt, &["hooks", "log", "show", "seed-build"])
        .ok()
        .stdout();
    log.lines()
        .find(|line| line.starts_with("tracked files:"))
        .unwrap_or_default()
        .split(" [")
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn a_local_edit_hidden_by_skip_worktree_or_assume_unchanged_is_not_carried() {
    for flag in ["--skip-worktree", "--assume-unchanged"] {
        let repo = project(COPY_BUILD);
        // A local tweak of the same size, hidden from git the usual way, built from.
        repo.write("src/input.txt", "value=2\nname=main\n");
        repo.git(&["update-index", flag, "src/input.txt"]).ok();
        build_main(&repo);
        let wt = crate::common::added(&repo, "wt");
        assert_ne!(mtime(&wt.join("src/input.txt")), old(), "{flag}");
        assert_eq!(
            mtime(&wt.join("tool.sh")),
            old(),
            "{flag}: same bytes: carried"
        );
        builds_true(&repo, &wt);
        assert_eq!(
            times_line(&repo, &wt),
            "tracked files: 5 of 6 given the source worktree's modification times (same bytes, same executable bit), so the copied build cache stays valid; 1 kept their checkout times: 1 whose bytes differ",
            "{flag}"
        );
    }
}

fn the_same_blob_checked_out_as_other_bytes_is_not_carried() {
    // eol=crlf asked by the branch.
    let repo = project(COPY_BUILD);
    build_main(&repo);
    repo.git(&["switch", "-qc", "crlf"]).ok();
    repo.write(".gitattributes", "*.txt eol=crlf\n");
    repo.git(&["add", ".gitattributes"]).ok();
    repo.git(&["commit", "-qm", "crlf"]).ok();
    repo.git(&["switch", "-q", "main"]).ok();
    set_mtime(&repo.root.join("src/input.txt"), OLD);
    repo.git(&["worktree", "add", "-q", "../wt", "crlf"]).ok();
    let wt = repo.path("wt");
    assert_eq!(read(&wt.join("src/input.txt")), "value=1\r\nname=main\r\n");
    builds_true(&repo, &wt);

    // core.autocrlf set after the main worktree was checked out.
    let repo = project(COPY_BUILD);
    build_main(&repo);
    repo.git(&["config", "core.autocrlf", "true"]).ok();
    let wt = crate::common::added(&repo, "wt");
    assert_eq!(read(&wt.join("src/input.txt")), "value=1\r\nname=main\r\n");
    builds_true(&repo, &wt);

    // A smudge filter configured later (git-lfs style).
    let repo = TestRepo::new();
    repo.write("Makefile", MAKEFILE);
    repo.write("src/input.txt", "value=1\nname=main\n");
    repo.write("tool.sh", "#!/bin/sh\necho tool\n");
    repo.write(".gitignore", "build/\n");
    repo.write(".gitattributes", "*.txt filter=upper\n");
    let repo = repo.daft_yml(COPY_BUILD).commit().install().trust();
    build_main(&repo);
    repo.git(&["config", "filter.upper.smudge", "tr a-z A-Z"])
        .ok();
    repo.git(&["config", "filter.upper.clean", "tr A-Z a-z"])
        .ok();
    let wt = crate::common::added(&repo, "wt");
    assert_eq!(read(&wt.join("src/input.txt")), "VALUE=1\nNAME=MAIN\n");
    builds_true(&repo, &wt);
}

fn a_mode_only_change_is_not_carried() {
    let repo = project(COPY_BUILD);
    repo.git(&["switch", "-qc", "exec"]).ok();
    std::fs::set_permissions(
        repo.root.join("tool.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    repo.git(&["commit", "-qam", "executable"]).ok();
    repo.git(&["switch", "-q", "main"]).ok();
    build_main(&repo);
    repo.git(&["worktree", "add", "-q", "../wt", "exec"]).ok();
    let wt = repo.path("wt");
    assert_eq!(mode(&wt.join("tool.sh")) & 0o111, 0o111);
    assert_ne!(mtime(&wt.join("tool.sh")), old());
    builds_true(&repo, &wt);
    assert!(
        times_line(&repo, &wt)
            .ends_with("1 kept their checkout times: 1 whose executable bit differs"),
        "{}",
        times_line(&repo, &wt)
    );
}

/// The source's files were written under another umask (a tarball's 0664, a teammate's
/// checkout) than the new worktree's: git keeps no such bits, no build reads them, and the
/// copied build is as valid as in the source.
fn permissions_git_does_not_keep_are_no_difference() {
    let repo = project(COPY_BUILD);
    for file in ["Makefile", "src/input.txt", "tool.sh"] {
        std::fs::set_permissions(repo.root.join(file), std::fs::Permissions::from_mode(0o664))
            .unwrap();
    }
    build_main(&repo);
    let wt = repo.path("wt");
    repo.sh("umask 022 && git worktree add -q ../wt -b wt").ok();
    assert_eq!(mode(&wt.join("src/input.txt")), 0o644);
    assert_eq!(mtime(&wt.join("src/input.txt")), old());
    let line = times_line(&repo, &wt);
    assert!(!line.contains("kept their checkout times"), "{line}");
    // Nothing to rebuild: the copied build is up to date.
    repo.run_in(&wt, "make", &["-q"]).ok();
}

/// A setup that runs late, in a worktree that was used (built on one branch, switched to
/// another): no time goes backwards there.
fn a_late_setup_carries_no_times_into_a_worktree_in_use() {
    let repo = TestRepo::new();
    repo.write("Makefile", MAKEFILE);
    repo.write("src/input.txt", "value=1\nname=main\n");
    repo.write("tool.sh", "#!/bin/sh\necho tool\n");
    repo.write(".gitignore", "build/\n");
    let repo = repo.daft_yml(COPY_BUILD).commit().install();
    build_main(&repo);
    repo.write("build/cache/more", "more\n");
    repo.git(&["branch", "same-as-main"]).ok();
    repo.git(&["switch", "-qc", "other"]).ok();
    repo.write("src/input.txt", "value=9\nname=oth\n");
    repo.git(&["commit", "-qam", "other"]).ok();
    repo.git(&["switch", "-q", "main"]).ok();
    set_mtime(&repo.root.join("src/input.txt"), OLD);
    // Made while the config is untrusted: its setup is owed.
    repo.git(&["worktree", "add", "-q", "../wt", "other"]).ok();
    let wt = repo.path("wt");
    repo.run_in(&wt, "make", &["-s"]).ok();
    repo.git_in(&wt, &["switch", "-q", "same-as-main"]).ok();
    repo.daft(&["trust", "--yes"]).ok();
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "60s"])
        .ok();
    assert_ne!(mtime(&wt.join("src/input.txt")), old());
    builds_true(&repo, &wt);
    let log = repo
        .daft_in(&wt, &["hooks", "log", "show", "seed-build"])
        .ok()
        .stdout();
    assert!(
        log.contains("no modification times carried: this worktree was in use before its setup ran (build/ is there, ignored by git: build output of its own?)"),
        "{log}"
    );
}

/// A job beside the copy rewrites tracked files while the times are carried: a file that
/// has the source's time has the source's bytes, whenever the rewrite came. (The rewrite
/// starts as the copy's tree is in place, when the times are being carried; before this was
/// fixed, files rewritten after they were judged equal got the old time.)
fn an_edit_made_while_times_are_carried_never_gets_an_old_time() {
    const FILES: usize = 2000;
    let config = indoc! {r#"
        hooks:
          worktree-post-create:
            jobs:
              - name: seed-build
                copy: [build]
              - name: generate
                run: |
                  i=0
                  while [ ! -e build/out ] && [ $i -lt 3000 ]; do i=$((i+1)); sleep 0.01; done
                  for f in gen/*.txt; do echo "generated again" > "$f"; done
    "#};
    let repo = TestRepo::new();
    for i in 0..FILES {
        repo.write(&format!("gen/f{i}.txt"), &format!("committed {i}\n"));
    }
    repo.write(".gitignore", "build/\n");
    let repo = repo.daft_yml(config).commit().install().trust();
    for i in 0..FILES {
        set_mtime(&repo.root.join(format!("gen/f{i}.txt")), OLD);
    }
    repo.write("build/out", "built\n");
    let wt = crate::common::added(&repo, "wt");
    let mut carried = 0;
    for i in 0..FILES {
        let rel = format!("gen/f{i}.txt");
        if mtime(&wt.join(&rel)) == old() {
            carried += 1;
            assert_eq!(read(&wt.join(&rel)), read(&repo.root.join(&rel)), "{rel}");
        }
    }
    eprintln!("{carried} of {FILES} kept the source's time: none lied");
}

fn a_virtualenv_is_refused_however_it_gets_into_a_copy() {
    let repo = TestRepo::new();
    repo.write(".gitignore", ".venv/\n");
    repo.write(".worktreeinclude", ".venv\n");
    let configs = [
        "copy: {include: .worktreeinclude}",
        "copy: ['.venv/bin/*']",
        "copy: [.venv/lib]",
        "copy: [.venv/pyvenv.cfg]",
    ];
    let repo = repo.daft_yml(COPY_BUILD).commit().install();
    let main = repo.root.to_str().unwrap().to_owned();
    repo.write(
        ".venv/pyvenv.cfg",
        &format!("home = /usr/bin\ncommand = python -m venv {main}/.venv\n"),
    );
    repo.write(".venv/bin/pytest", &format!("#!{main}/.venv/bin/python\n"));
    repo.write(".venv/lib/site.py", "x = 1\n");
    for (i, copy) in configs.iter().enumerate() {
        let config = COPY_BUILD.replace("copy: [build]", copy);
        repo.write("daft.yml", &config);
        repo.git(&["commit", "-qam", copy]).ok();
        repo.daft(&["trust", "--yes"]).ok();
        let out = repo
            .git(&[
                "worktree",
                "add",
                &format!("../wt{i}"),
                "-b",
                &format!("b{i}"),
            ])
            .ok();
        let wt = repo.path(&format!("wt{i}"));
        assert!(
            !wt.join(".venv").exists(),
            "{copy}: nothing of the venv is copied"
        );
        assert!(
            out.stderr()
                .contains(".venv is a Python virtual environment"),
            "{copy}: {}",
            out.stderr()
        );
        repo.daft_in(&wt, &["hooks", "wait", "--timeout", "60s"])
            .fails_with(1);
    }
}

/// What `daft init` writes for a repository with a `.env`: a single file carried, so no time
/// is carried and the add says nothing about times.
fn copying_single_files_carries_no_times_and_says_nothing_of_them() {
    let config = indoc! {"
        hooks:
          worktree-post-create:
            jobs:
              - name: env-files
                copy: [.env, config/local.toml]
    "};
    let repo = TestRepo::new();
    repo.write(".gitignore", ".env\nconfig/local.toml\n");
    repo.write("config/app.toml", "tracked\n");
    let repo = repo.daft_yml(config).commit().install().trust();
    repo.write(".env", "KEY=1\n");
    repo.write("config/local.toml", "local\n");
    set_mtime(&repo.root.join("README"), OLD);
    let out = repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    let wt = repo.path("wt");
    assert_eq!(read(&wt.join(".env")), "KEY=1\n");
    assert_ne!(mtime(&wt.join("README")), old());
    assert!(!out.stderr().contains("tracked files"), "{}", out.stderr());
    let log = repo
        .daft_in(&wt, &["hooks", "log", "show", "env-files"])
        .ok()
        .stdout();
    assert!(!log.contains("tracked files"), "{log}");
    // `carry_times: true` asks for it anyway.
    let repo2 = TestRepo::new();
    repo2.write(".gitignore", ".env\n");
    let repo2 = repo2
        .daft_yml(&format!(
            "{}        carry_times: true\n",
            config.replace(", config/local.toml", "")
        ))
        .commit()
        .install()
        .trust();
    repo2.write(".env", "KEY=1\n");
    set_mtime(&repo2.root.join("README"), OLD);
    let wt2 = crate::common::added(&repo2, "wt");
    assert_eq!(mtime(&wt2.join("README")), old());
}

/// cargo, which compares times too: a local edit of main.rs hidden by `skip-worktree` and
/// built from in the main worktree, a committed main.rs in the new one. Its first build must
/// give the committed program.
fn cargo_builds_the_new_worktree_s_own_sources() {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write("src/main.rs", "fn main() { println!(\"committed\"); }\n");
    repo.write(".gitignore", "target/\n");
    let config = COPY_BUILD.replace("copy: [build]", "copy: [target]");
    let repo = repo.daft_yml(&config).commit().install().trust();
    std::fs::write(
        repo.root.join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    repo.git(&["add", "Cargo.lock"]).ok();
    repo.git(&["commit", "-qm", "lock"]).ok();
    repo.write("src/main.rs", "fn main() { println!(\"edited\"); }\n");
    repo.git(&["update-index", "--skip-worktree", "src/main.rs"])
        .ok();
    cargo(&repo, &repo.root, &["build", "--offline", "-q"]);
    let wt = crate::common::added(&repo, "wt");
    cargo(&repo, &wt, &["build", "--offline", "-q"]);
    let out = repo.run_in(&wt, "target/debug/app", &[]).ok().stdout();
    assert_eq!(out, "committed\n");
}

fn cargo(repo: &TestRepo, dir: &Path, args: &[&str]) {
    let home = std::env::var_os("HOME").unwrap_or_default();
    let home = Path::new(&home);
    let mut cmd = repo.command("cargo", dir);
    cmd.args(args)
        .env(
            "RUSTUP_HOME",
            std::env::var_os("RUSTUP_HOME").unwrap_or_else(|| home.join(".rustup").into()),
        )
        .env(
            "CARGO_HOME",
            std::env::var_os("CARGO_HOME").unwrap_or_else(|| home.join(".cargo").into()),
        );
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

crate::cases![
    [Need::Program("make")] a_local_edit_hidden_by_skip_worktree_or_assume_unchanged_is_not_carried,
    [Need::Program("make")] the_same_blob_checked_out_as_other_bytes_is_not_carried,
    [Need::Program("make")] a_mode_only_change_is_not_carried,
    [Need::Program("make")] permissions_git_does_not_keep_are_no_difference,
    [Need::Program("make")] a_late_setup_carries_no_times_into_a_worktree_in_use,
    an_edit_made_while_times_are_carried_never_gets_an_old_time,
    a_virtualenv_is_refused_however_it_gets_into_a_copy,
    copying_single_files_carries_no_times_and_says_nothing_of_them,
    [Need::Program("cargo")] cargo_builds_the_new_worktree_s_own_sources,
];
