//! The warm start (SPEC §3.1): a carried cache stays valid because tracked files that equal
//! the source's get its modification times (and only those); a copy takes no more disk than
//! its source; a tree that records the source's path is not copied silently; background work
//! runs below the user's own.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::common::{TestRepo, added, read, wait_for_status};

fn copying(paths: &str) -> String {
    format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: carry\n        copy: {paths}\n"
    )
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::symlink_metadata(path).unwrap().modified().unwrap()
}

/// Sets `path`'s modification time to `secs` seconds after the epoch.
fn set_mtime(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn tracked_files_get_the_source_s_times_only_where_their_content_is_the_same() {
    let repo = TestRepo::new();
    repo.write("same.rs", "fn same() {}\n");
    repo.write("edited-here.rs", "fn a() {}\n");
    repo.write("dirty-there.rs", "fn b() {}\n");
    repo.write("dirty-there-same.rs", "fn c() {}\n");
    repo.write(".gitignore", "cache/\n");
    std::os::unix::fs::symlink("same.rs", repo.root.join("link.rs")).unwrap();
    let repo = repo
        .daft_yml(&copying("[cache]"))
        .commit()
        .install()
        .trust();
    // The branch edits one file.
    repo.git(&["branch", "feature"]).ok();
    repo.git(&["checkout", "-q", "feature"]).ok();
    repo.write("edited-here.rs", "fn a() { changed() }\n");
    repo.write("dirty-there-same.rs", "fn c() { both() }\n");
    repo.git(&["commit", "-qam", "edit"]).ok();
    repo.git(&["checkout", "-q", "main"]).ok();
    // The source worktree: old times, a cache, one file edited and not committed, one edited
    // to what the branch has.
    repo.write("cache/artifact", "built\n");
    repo.write("dirty-there.rs", "fn b() { uncommitted() }\n");
    repo.write("dirty-there-same.rs", "fn c() { both() }\n");
    for name in [
        "same.rs",
        "edited-here.rs",
        "dirty-there.rs",
        "dirty-there-same.rs",
    ] {
        set_mtime(&repo.root.join(name), 1_000_000_000);
    }
    repo.git(&["worktree", "add", "../wt", "feature"]).ok();
    let wt = repo.path("wt");
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    assert_eq!(mtime(&wt.join("same.rs")), old, "same content: carried");
    assert_eq!(
        mtime(&wt.join("dirty-there-same.rs")),
        old,
        "equal after hashing the source's uncommitted edit: carried"
    );
    assert_ne!(
        mtime(&wt.join("edited-here.rs")),
        old,
        "changed in the branch"
    );
    assert_ne!(
        mtime(&wt.join("dirty-there.rs")),
        old,
        "changed in the source, not committed"
    );
    assert_ne!(
        std::fs::symlink_metadata(wt.join("link.rs"))
            .unwrap()
            .mtime(),
        1_000_000_000,
        "a symlink is left alone"
    );
    // git's index was refreshed: nothing shows as modified.
    let status = repo.git_in(&wt, &["status", "--porcelain"]).ok().stdout();
    assert_eq!(status, "", "{status}");
    // git's index holds the carried files' new stat: nothing for git to read again.
    let debug = repo
        .git_in(&wt, &["ls-files", "--debug", "same.rs"])
        .ok()
        .stdout();
    assert!(debug.contains("mtime: 1000000000:0"), "{debug}");
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("tracked files: 5 of 7 given")
        .stdout_has("2 kept their checkout times: 2 whose bytes differ");
}

fn carry_times_false_leaves_the_checkout_s_times() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "cache/\n");
    let repo = repo
        .daft_yml(&format!(
            "{}        carry_times: false\n",
            copying("[cache]")
        ))
        .commit()
        .install()
        .trust();
    repo.write("cache/x", "x");
    set_mtime(&repo.root.join("README"), 1_000_000_000);
    let wt = added(&repo, "wt");
    assert!(wt.join("cache/x").exists());
    assert_ne!(
        mtime(&wt.join("README")),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000)
    );
}

fn hard_links_in_a_copied_tree_stay_links_and_take_no_more_disk() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "target/\n");
    let repo = repo
        .daft_yml(&copying("[target]"))
        .commit()
        .install()
        .trust();
    repo.write("target/debug/deps/app-1234", &"binary".repeat(10_000));
    std::fs::hard_link(
        repo.root.join("target/debug/deps/app-1234"),
        repo.root.join("target/debug/app"),
    )
    .unwrap();
    let wt = added(&repo, "wt");
    let a = std::fs::metadata(wt.join("target/debug/deps/app-1234")).unwrap();
    let b = std::fs::metadata(wt.join("target/debug/app")).unwrap();
    assert_eq!(
        a.ino(),
        b.ino(),
        "one file with two names, as in the source"
    );
    assert_eq!(a.nlink(), 2);
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("1 file (+1 hard links kept as links)")
        .stdout_has("60.0 kB full copy (this file system cannot clone): 60.0 kB of new disk");
}

fn a_virtualenv_is_refused_with_what_to_run_instead_and_target_is_not_flagged() {
    let repo = TestRepo::new();
    repo.write(".gitignore", ".venv/\ntarget/\n.direnv/\n");
    let repo = repo
        .daft_yml(&copying("[.venv, target, .direnv]"))
        .commit()
        .install()
        .trust();
    let main = repo.root.to_str().unwrap().to_owned();
    repo.write(
        ".venv/pyvenv.cfg",
        &format!("home = /usr/bin\ncommand = python -m venv {main}/.venv\n"),
    );
    repo.write(".venv/bin/pytest", &format!("#!{main}/.venv/bin/python\n"));
    // What cargo writes: absolute paths in dep-info and build-script records.
    repo.write("target/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo.\n");
    repo.write(
        "target/debug/deps/app.d",
        &format!("{main}/target/debug/deps/app: {main}/src/main.rs\n"),
    );
    repo.write(
        "target/debug/build/x-1/root-output",
        &format!("{main}/target/debug/build/x-1/out"),
    );
    // Anything else that holds the main worktree's path is named.
    repo.write(".direnv/env", &format!("export VIRTUAL_ENV={main}/.venv\n"));
    let out = repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    let wt = repo.path("wt");
    assert!(!wt.join(".venv").exists(), "the venv is not copied");
    assert!(wt.join("target/debug/deps/app.d").exists());
    let stderr = out.stderr();
    assert!(
        stderr.contains(".venv is a Python virtual environment")
            && stderr.contains("uv sync --frozen"),
        "{stderr}"
    );
    let log = repo
        .daft_in(&wt, &["hooks", "log", "show", "carry"])
        .stdout();
    assert!(
        log.contains("1 copied file of .direnv hold the source worktree's path"),
        "{log}"
    );
    assert!(
        !log.contains("of target hold"),
        "no false alarm on target/: {log}"
    );
}

fn background_jobs_run_below_the_user_s_own_work_unless_they_say_otherwise() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: low\n        run: cut -d' ' -f19 /proc/self/stat > low; ionice -p $$ > low-io 2>&1 || true\n        background: true\n      - name: normal\n        run: cut -d' ' -f19 /proc/self/stat > normal\n        background: true\n        nice: false\n      - name: sync\n        run: cut -d' ' -f19 /proc/self/stat > sync\n",
    );
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "low", "succeeded");
    wait_for_status(&repo, &wt, "normal", "succeeded");
    assert_eq!(read(&wt.join("low")).trim(), "19");
    assert_eq!(read(&wt.join("normal")).trim(), "0");
    assert_eq!(read(&wt.join("sync")).trim(), "0");
    let io = read(&wt.join("low-io"));
    if !cfg!(feature = "portable") {
        assert!(
            io.contains("best-effort: prio 7") || io.contains("not found"),
            "{io}"
        );
    }
}

/// Where the kernel shares CPU time by session, a niced job in daft's session would still get
/// as much as the user's whole terminal: the session's own weight is lowered too, once only
/// niced background jobs are left — and not while a `nice: false` one runs.
fn a_background_session_yields_to_the_user_s_sessions() {
    let poll = "for i in $(seq 300); do grep -q 'nice 19' /proc/self/autogroup && break; sleep 0.1; done; cut -d' ' -f2- /proc/self/autogroup >";
    let repo = TestRepo::installed(&format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: sync\n        run: cut -d' ' -f2- /proc/self/autogroup > sync\n      - name: low\n        run: {poll} low\n        background: true\n"
    ));
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "low", "succeeded");
    // The hook's session is the user's: never lowered. (Empty where the test runs in the root
    // group, as in a container whose sessions were never made by `setsid`: nothing to lower.)
    let sync = read(&wt.join("sync"));
    assert!(["nice 0", ""].contains(&sync.trim()), "{sync}");
    assert_eq!(read(&wt.join("low")).trim(), "nice 19");
    // A job that keeps normal priority keeps its session's too.
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: normal\n        run: for i in $(seq 300); do [ -e low ] && break; sleep 0.1; done\n        background: true\n        nice: false\n      - name: low\n        run: sleep 0.5; cut -d' ' -f2- /proc/self/autogroup > low\n        background: true\n",
    );
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "normal", "succeeded");
    assert_eq!(read(&wt.join("low")).trim(), "nice 0");
}

fn nice_and_yield_are_only_for_background_jobs() {
    let repo = TestRepo::new().daft_yml(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n        nice: false\n",
    );
    repo.daft(&["validate"])
        .fails_with(2)
        .stderr_has("`nice` and `yield` go with `background: true`");
}

fn a_background_job_holding_a_lock_the_user_waits_for_gives_way() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: warm\n        run: flock ../build.lock sleep 60\n        background: true\n      - name: stubborn\n        run: flock ../other.lock sleep 60\n        background: true\n        yield: false\n",
    );
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "warm", "running");
    wait_for_status(&repo, &wt, "stubborn", "running");
    crate::common::wait_until(Duration::from_secs(30), "the locks to be taken", || {
        read(Path::new("/proc/locks")).lines().count() >= 2
    });
    // The user's own command, waiting for the warmup's lock: it gets it within seconds.
    let started = std::time::Instant::now();
    repo.run_in(&wt, "flock", &["-w", "20", "../build.lock", "true"])
        .ok();
    assert!(started.elapsed() < Duration::from_secs(10));
    wait_for_status(&repo, &wt, "warm", "yielded");
    let warm = crate::common::job(&repo, &wt, "warm");
    assert!(
        warm["reason"].as_str().unwrap().contains("flock (pid"),
        "{warm}"
    );
    // A job that says `yield: false` keeps its lock.
    repo.run_in(&wt, "flock", &["-w", "2", "../other.lock", "true"])
        .fails_with(1);
    assert_eq!(crate::common::status(&repo, &wt, "stubborn"), "running");
    repo.daft_in(&wt, &["hooks", "cancel", "stubborn"]).ok();
}

fn worktreeinclude_names_the_gitignored_files_to_carry() {
    let repo = TestRepo::new();
    repo.write(".gitignore", ".env*\nsecrets/\nbuild/\nnode_modules/\n");
    repo.write(
        ".worktreeinclude",
        "# as Claude Code, worktrunk and git-wt read it\n.env*\n!.env.production\nsecrets/\n**/local.toml\n",
    );
    repo.write("tracked.txt", "tracked\n");
    let repo = repo
        .daft_yml(&copying("[{include: .worktreeinclude}]"))
        .commit()
        .install()
        .trust();
    for file in [
        ".env",
        ".env.local",
        ".env.production",
        "secrets/a/key",
        "build/out",
        "build/conf/local.toml",
        "node_modules/x/index.js",
    ] {
        repo.write(file, file);
    }
    repo.write("untracked-not-ignored.txt", "x");
    let wt = added(&repo, "wt");
    for carried in [
        ".env",
        ".env.local",
        "secrets/a/key",
        "build/conf/local.toml",
    ] {
        assert_eq!(read(&wt.join(carried)), carried, "{carried}");
    }
    for left in [
        ".env.production",
        "build/out",
        "node_modules/x/index.js",
        "untracked-not-ignored.txt",
    ] {
        assert!(!wt.join(left).exists(), "{left} must not be carried");
    }
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has(".worktreeinclude (include file): 4 files");
}

fn a_cargo_target_is_carried_without_rustc_s_incremental_cache() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "target/\n");
    let repo = repo
        .daft_yml(&copying("[target]"))
        .commit()
        .install()
        .trust();
    repo.write("target/debug/.fingerprint/app-1/lib-app", "fp");
    repo.write("target/debug/deps/libapp-1.rlib", "rlib");
    repo.write(
        "target/debug/incremental/app-1/s-1/query-cache.bin",
        "cache",
    );
    let wt = added(&repo, "wt");
    assert!(wt.join("target/debug/deps/libapp-1.rlib").exists());
    assert!(!wt.join("target/debug/incremental").exists());
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("target/debug/incremental: left out: rustc's incremental cache");
}

crate::cases![
    tracked_files_get_the_source_s_times_only_where_their_content_is_the_same,
    carry_times_false_leaves_the_checkout_s_times,
    hard_links_in_a_copied_tree_stay_links_and_take_no_more_disk,
    a_virtualenv_is_refused_with_what_to_run_instead_and_target_is_not_flagged,
    background_jobs_run_below_the_user_s_own_work_unless_they_say_otherwise,
    [Need::Autogroup] a_background_session_yields_to_the_user_s_sessions,
    nice_and_yield_are_only_for_background_jobs,
    [Need::LinuxOnly] a_background_job_holding_a_lock_the_user_waits_for_gives_way,
    worktreeinclude_names_the_gitignored_files_to_carry,
    a_cargo_target_is_carried_without_rustc_s_incremental_cache,
];
