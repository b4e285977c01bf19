//! `copy` jobs: what a new worktree needs from an existing one (`.env`, local config, a build
//! cache), carried safely: tracked files never overwritten, symlinks never followed out of a
//! work tree, directories copied whole with their modes and times, nothing half-copied.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::time::Duration;

use crate::common::{TestRepo, added, job, read, wait_for_status, wait_until};

fn copying(paths: &str) -> String {
    format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: carry\n        copy: {paths}\n"
    )
}

fn untracked_files_are_carried_and_the_log_says_how() {
    let repo = TestRepo::installed(&copying("[.env, config/*.local.toml, missing.txt]"));
    repo.write(".env", "SECRET=1\n");
    repo.write("config/db.local.toml", "port = 1\n");
    repo.write("config/other.toml", "no\n");
    let wt = added(&repo, "wt");
    assert_eq!(read(&wt.join(".env")), "SECRET=1\n");
    assert_eq!(read(&wt.join("config/db.local.toml")), "port = 1\n");
    assert!(!wt.join("config/other.toml").exists());
    let log = repo
        .daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout();
    assert!(log.contains(".env: 1 file, 9 bytes"), "{log}");
    assert!(
        log.contains("missing.txt: not in the source worktree"),
        "{log}"
    );
    assert_eq!(job(&repo, &wt, "carry")["status"], "succeeded");
}

fn tracked_files_and_files_already_there_are_never_overwritten() {
    let repo = TestRepo::new().daft_yml(&copying("[README, notes]"));
    let repo = repo.commit().install().trust();
    // The source's tracked README is changed and not committed: the new worktree keeps git's.
    repo.write("README", "changed in the source\n");
    repo.write("notes/a", "source\n");
    let wt = repo.path("wt");
    repo.git(&[
        "worktree",
        "add",
        "--no-checkout",
        wt.to_str().unwrap(),
        "-b",
        "wt",
    ])
    .ok();
    std::fs::create_dir_all(wt.join("notes")).unwrap();
    std::fs::write(wt.join("notes/a"), "mine\n").unwrap();
    repo.git_in(&wt, &["checkout", "-q", "wt"]).ok();
    repo.daft_in(&wt, &["hooks", "run", "worktree-post-create"])
        .ok();
    assert_eq!(read(&wt.join("README")), "hello\n");
    assert_eq!(read(&wt.join("notes/a")), "mine\n");
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("README: 0 files, 1 already there or tracked by git, kept")
        .stdout_has("notes: 0 files, 1 already there or tracked by git, kept");
}

/// Every file, directory and link under `root`, with what matters about it.
fn inventory(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in walk(root) {
        let rel = entry.strip_prefix(root).unwrap().display().to_string();
        let meta = entry.symlink_metadata().unwrap();
        let what = if meta.file_type().is_symlink() {
            format!("link -> {}", std::fs::read_link(&entry).unwrap().display())
        } else if meta.is_dir() {
            format!("dir {:o}", meta.permissions().mode() & 0o7777)
        } else {
            format!(
                "file {:o} {} {}",
                meta.permissions().mode() & 0o7777,
                meta.mtime(),
                String::from_utf8_lossy(&std::fs::read(&entry).unwrap())
            )
        };
        out.push((rel, what));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

fn a_directory_copy_equals_its_source() {
    let repo = TestRepo::installed(&copying("[cache]"));
    let cache = repo.root.join("cache");
    repo.write("cache/a.bin", "aaaa");
    repo.write("cache/deep/er/b.txt", "bbb");
    std::fs::set_permissions(cache.join("a.bin"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(cache.join("deep"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("deep/er/b.txt", cache.join("rel-link")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", cache.join("abs-link")).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(cache.join("deep/er/b.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let wt = added(&repo, "wt");
    assert_eq!(inventory(&wt.join("cache")), inventory(&cache));
    // Links are links, not what they point to.
    assert!(
        wt.join("cache/abs-link")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Never a hard link to the source.
    assert_eq!(wt.join("cache/a.bin").metadata().unwrap().nlink(), 1);
    assert_ne!(
        wt.join("cache/a.bin").metadata().unwrap().ino(),
        cache.join("a.bin").metadata().unwrap().ino()
    );
}

fn symlinks_never_lead_a_copy_out_of_a_work_tree() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "outside\n").unwrap();
    // In the source: a directory link to outside. Copying through it is refused; copying the
    // link itself copies a link.
    let repo = TestRepo::installed(&copying("['escape/*', escape]"));
    std::os::unix::fs::symlink(outside.path(), repo.root.join("escape")).unwrap();
    let wt = added(&repo, "wt");
    let log = repo
        .daft_in(&wt, &["hooks", "log", "show", "carry"])
        .stdout();
    assert!(
        log.contains("escape/*: escape is a symlink (or not a directory), and daft copies nothing through links"),
        "{log}"
    );
    assert!(log.contains("escape: 0 files, 1 symlink\n"), "{log}");
    assert!(
        wt.join("escape")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        1,
        "nothing new outside"
    );
    // In the destination: a tracked link to outside; nothing is written through it.
    let repo = TestRepo::new();
    std::os::unix::fs::symlink(outside.path(), repo.root.join("out")).unwrap();
    let repo = repo
        .daft_yml(&copying("['out/planted']"))
        .commit()
        .install()
        .trust();
    repo.write("planted-src", "x");
    std::fs::remove_file(repo.root.join("out")).unwrap();
    std::fs::create_dir(repo.root.join("out")).unwrap();
    std::fs::write(repo.root.join("out/planted"), "from the source\n").unwrap();
    let wt = added(&repo, "wt2");
    assert!(
        !outside.path().join("planted").exists(),
        "written through a link"
    );
    assert_eq!(read(&outside.path().join("secret")), "outside\n");
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("out in the new worktree is a symlink (or not a directory), and daft writes nothing through it");
}

fn a_copy_job_can_be_needed_and_background() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: carry\n        copy: [.env]\n        background: true\n      - name: use\n        run: cat .env > used\n        background: true\n        needs: [carry]\n",
    );
    repo.write(".env", "A=1\n");
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "use", "succeeded");
    assert_eq!(read(&wt.join("used")), "A=1\n");
}

fn a_cancelled_copy_leaves_no_partial_file() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: seed\n        copy: [big]\n        background: true\n",
    );
    let big = repo.root.join("big");
    let mut file = std::fs::File::create(&big).unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..400 {
        std::io::Write::write_all(&mut file, &chunk).unwrap();
    }
    drop(file);
    let wt = added(&repo, "wt");
    let tmp_present = || {
        std::fs::read_dir(&wt)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".daft-copy-"))
    };
    let mut caught = false;
    wait_until(Duration::from_secs(20), "the copy to start or end", || {
        caught = tmp_present();
        caught || job(&repo, &wt, "seed")["status"] != "running"
    });
    if !caught {
        eprintln!(
            "skipped: the copy finished before it could be cancelled (a copy-on-write file system?)"
        );
        return;
    }
    repo.daft_in(&wt, &["hooks", "cancel", "seed"]).ok();
    assert_eq!(job(&repo, &wt, "seed")["status"], "cancelled");
    assert!(
        !wt.join("big").exists(),
        "a half-copied file under its final name"
    );
    wait_until(Duration::from_secs(30), "the temporary file to go", || {
        !tmp_present()
    });
}

fn a_bare_repository_copies_from_the_default_branch_s_worktree() {
    let repo = TestRepo::new().daft_yml(&copying("[.env]")).commit();
    let bare = repo.bare_clone_installed();
    repo.git_in(&bare, &["worktree", "add", "-q", "../main-wt", "main"])
        .ok();
    let main_wt = repo.path("main-wt");
    repo.daft_in(&main_wt, &["trust", "--yes"]).ok();
    std::fs::write(main_wt.join(".env"), "FROM=main\n").unwrap();
    repo.git_in(&bare, &["worktree", "add", "-q", "../feat", "-b", "feat"])
        .ok();
    assert_eq!(read(&repo.path("feat/.env")), "FROM=main\n");
}

fn validate_rejects_paths_outside_the_tree_where_they_are() {
    for (paths, message) in [
        ("[../up]", "daft.yml:5:"),
        ("[/etc/passwd]", "leaves the work tree"),
        ("['a/../../b']", "leaves the work tree"),
        ("['[']", "is not a glob"),
        ("[]", "`copy` is empty"),
    ] {
        let repo = TestRepo::new().daft_yml(&copying(paths));
        let err = repo.daft(&["validate"]).fails_with(2).stderr();
        assert!(err.contains(message), "{paths}: {err}");
    }
    for (job, message) in [
        (
            "        copy: [x]\n        run: 'true'\n",
            "both `run` and `copy`",
        ),
        (
            "        copy: [x]\n        root: sub\n",
            "takes no `root` or `env`",
        ),
        (
            "        run: 'true'\n        from: ../main\n",
            "`from` goes with `copy`",
        ),
        ("        background: true\n", "needs `run`"),
    ] {
        let text = format!("hooks:\n  worktree-post-create:\n    jobs:\n      - name: j\n{job}");
        let repo = TestRepo::new().daft_yml(&text);
        let err = repo.daft(&["validate"]).fails_with(2).stderr();
        assert!(
            err.contains(message) && err.contains("daft.yml:4:"),
            "{job}: {err}"
        );
    }
}

crate::cases![
    untracked_files_are_carried_and_the_log_says_how,
    tracked_files_and_files_already_there_are_never_overwritten,
    a_directory_copy_equals_its_source,
    symlinks_never_lead_a_copy_out_of_a_work_tree,
    a_copy_job_can_be_needed_and_background,
    a_cancelled_copy_leaves_no_partial_file,
    a_bare_repository_copies_from_the_default_branch_s_worktree,
    validate_rejects_paths_outside_the_tree_where_they_are,
];
