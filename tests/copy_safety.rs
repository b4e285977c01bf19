//! A copy writes nothing outside the new worktree and reads nothing outside the source,
//! whatever a branch committed or someone planted (SPEC §3.1); set-id bits do not survive a
//! change of owner; what is not a file says what it is; a killed copy leaves nothing half
//! written for long.

use std::os::unix::fs::PermissionsExt as _;

use crate::common::{TestRepo, added, read};

fn copying(paths: &str) -> String {
    format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: carry\n        copy: {paths}\n"
    )
}

fn a_branch_that_commits_a_symlink_where_a_copied_directory_goes_gets_nothing_through_it() {
    let outside = tempfile::tempdir().unwrap();
    let repo = TestRepo::new();
    repo.write(".gitignore", "config/\n");
    let repo = repo
        .daft_yml(&copying("[config]"))
        .commit()
        .install()
        .trust();
    // The main worktree's untracked secrets.
    repo.write("config/secret.toml", "token = 1\n");
    repo.write("config/deep/key", "k\n");
    // A branch, same daft.yml byte for byte, commits `config` as a link out of the repository.
    repo.git(&["checkout", "-q", "-b", "evil"]).ok();
    std::fs::rename(repo.root.join("config"), repo.path("config.aside")).unwrap();
    std::fs::write(repo.root.join(".gitignore"), "").unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.root.join("config")).unwrap();
    repo.git(&["add", "-A"]).ok();
    repo.git(&["commit", "-qm", "link"]).ok();
    repo.git(&["checkout", "-q", "main"]).ok();
    std::fs::remove_file(repo.root.join("config")).ok();
    std::fs::rename(repo.path("config.aside"), repo.root.join("config")).unwrap();
    repo.git(&["worktree", "add", "../wt", "evil"]).ok();
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing was written through the branch's link"
    );
    let log = repo
        .daft_in(&repo.path("wt"), &["hooks", "log", "show", "carry"])
        .stdout();
    assert!(log.contains("daft writes nothing through it"), "{log}");
}

fn set_id_bits_are_dropped_when_the_copy_belongs_to_someone_else() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "shared/\n");
    let repo = repo
        .daft_yml(&copying("[shared]"))
        .commit()
        .install()
        .trust();
    // Another user's set-uid tool and set-gid tool; one of ours. (chown first: it clears the
    // bits.)
    for (name, mode, uid, gid) in [
        ("tool", 0o4755, Some(4321), None),
        ("group-tool", 0o2755, None, Some(4321)),
        ("mine", 0o4755, None, None),
    ] {
        let path = repo.root.join("shared").join(name);
        repo.write(&format!("shared/{name}"), "#!/bin/sh\n");
        std::os::unix::fs::chown(&path, uid, gid).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let wt = added(&repo, "wt");
    let mode = |name: &str| {
        std::fs::metadata(wt.join("shared").join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("tool"), 0o755, "set-user-id dropped");
    assert_eq!(mode("group-tool"), 0o755, "set-group-id dropped");
    assert_eq!(mode("mine"), 0o4755, "our own file keeps its bits");
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("shared/tool: its set-user-id bit was dropped: the file belongs to uid 4321")
        .stdout_has("shared/group-tool: its set-group-id bit was dropped");
}

fn a_fifo_is_named_for_what_it_is() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "pipe\nrun/\n");
    let repo = repo
        .daft_yml(&copying("[pipe, run]"))
        .commit()
        .install()
        .trust();
    let make = |path: &std::path::Path| {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    };
    make(&repo.root.join("pipe"));
    std::fs::create_dir(repo.root.join("run")).unwrap();
    make(&repo.root.join("run/socket-ish"));
    let wt = added(&repo, "wt");
    assert!(!wt.join("pipe").exists());
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("pipe: a FIFO (named pipe); daft copies files, directories and symlinks, so it was not carried")
        .stdout_has("run/socket-ish: a FIFO (named pipe)");
}

fn what_a_killed_copy_left_half_written_is_swept_by_the_next() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "target/\n");
    let repo = repo
        .daft_yml(&copying("[target]"))
        .commit()
        .install()
        .trust();
    repo.write("target/big.bin", "data");
    let wt = added(&repo, "wt");
    // A copy killed with SIGKILL leaves its temporary file (a dead pid in its name).
    std::fs::write(wt.join("target/.other.bin.daft-copy-999999"), "half").unwrap();
    std::fs::write(repo.root.join("target/other.bin"), "whole").unwrap();
    repo.daft_in(&wt, &["hooks", "run", "worktree-post-create"])
        .ok();
    assert!(!wt.join("target/.other.bin.daft-copy-999999").exists());
    assert_eq!(read(&wt.join("target/other.bin")), "whole");
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("1 half-written file of an earlier copy removed");
}

fn a_copy_reads_nothing_through_a_link_out_of_the_source() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("private")).unwrap();
    std::fs::write(outside.path().join("private/key"), "secret\n").unwrap();
    let repo = TestRepo::new();
    repo.write(".gitignore", "cache/\n");
    let repo = repo
        .daft_yml(&copying("['cache/private/*', cache]"))
        .commit()
        .install()
        .trust();
    std::fs::create_dir(repo.root.join("cache")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("private"),
        repo.root.join("cache/private"),
    )
    .unwrap();
    let wt = added(&repo, "wt");
    assert!(
        std::fs::symlink_metadata(wt.join("cache/private"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is copied as a link"
    );
    // Nothing of outside was read into the new worktree as a file.
    assert!(
        std::fs::symlink_metadata(wt.join("cache/private/key")).is_err() || {
            // (the link resolves there, but no file of the worktree holds it)
            std::fs::symlink_metadata(wt.join("cache/private"))
                .unwrap()
                .file_type()
                .is_symlink()
        }
    );
    repo.daft_in(&wt, &["hooks", "log", "show", "carry"])
        .ok()
        .stdout_has("cache/private is a symlink (or not a directory), and daft copies nothing through links");
}

crate::cases![
    a_branch_that_commits_a_symlink_where_a_copied_directory_goes_gets_nothing_through_it,
    [Need::Root] set_id_bits_are_dropped_when_the_copy_belongs_to_someone_else,
    a_fifo_is_named_for_what_it_is,
    what_a_killed_copy_left_half_written_is_swept_by_the_next,
    a_copy_reads_nothing_through_a_link_out_of_the_source,
];
