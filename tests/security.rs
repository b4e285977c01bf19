//! An untrusted config never runs, however it got there or whatever surrounds it. Each case
//! ends the same way: no marker, a clear notice, and git succeeds.

use std::path::Path;

use crate::common::{TestRepo, read};

const MARKER: &str =
    "hooks:\n  worktree-post-create:\n    jobs:\n      - name: mark\n        run: touch marker\n";

/// `git worktree add` succeeds, says why nothing ran, and nothing ran.
#[track_caller]
fn refused(repo: &TestRepo, name: &str, notice: &str) {
    repo.git(&["worktree", "add", &format!("../{name}"), "-b", name])
        .ok()
        .stderr_has(notice);
    assert!(
        !repo.path(name).join("marker").exists(),
        "{name}: the untrusted job ran"
    );
}

fn a_job_added_after_trust_is_not_trusted() {
    let repo = TestRepo::installed(MARKER);
    let repo = repo
        .daft_yml(&format!(
            "{MARKER}      - name: more\n        run: touch more\n"
        ))
        .commit();
    refused(&repo, "wt", "changed since it was trusted");
}

fn a_local_override_added_after_trust_is_not_trusted() {
    let repo = TestRepo::installed(&MARKER.replace("touch marker", "'true'"));
    // Untracked files don't reach a new worktree, so the override is placed in it before checkout.
    repo.git(&["worktree", "add", "--no-checkout", "../wt", "-b", "wt"])
        .ok();
    let wt = repo.path("wt");
    std::fs::write(wt.join("daft.local.yml"), MARKER).unwrap();
    repo.git_in(&wt, &["checkout", "-q", "wt"]).ok();
    repo.daft_in(&wt, &["hooks", "run", "worktree-post-create"])
        .fails_with(1)
        .stderr_has("changed");
    assert!(!wt.join("marker").exists());
}

fn a_symlinked_config_is_refused_even_with_trusted_content() {
    let repo = TestRepo::installed(MARKER);
    let elsewhere = repo.path("elsewhere.yml");
    std::fs::write(&elsewhere, MARKER).unwrap();
    std::fs::remove_file(repo.root.join("daft.yml")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, repo.root.join("daft.yml")).unwrap();
    let repo = repo.commit();
    refused(&repo, "wt", "is a symlink; daft only reads a regular file");
    repo.daft(&["validate"]).fails_with(2).stderr_has("symlink");
}

/// Ways a trust store can be damaged, each applied to a store that trusted MARKER.
fn damage(store: &Path, how: &str) {
    let records = store.join("records");
    let good = read(&records);
    match how {
        "garbage" => std::fs::write(&records, "this is not a record\n").unwrap(),
        "truncated" => std::fs::write(&records, &good[..good.len() - 40]).unwrap(),
        "a directory" => {
            std::fs::remove_file(&records).unwrap();
            std::fs::create_dir(&records).unwrap();
        }
        "a fifo" => {
            std::fs::remove_file(&records).unwrap();
            assert!(
                std::process::Command::new("mkfifo")
                    .arg(&records)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        "a symlink" => {
            let copy = store.with_file_name("copy-of-records");
            std::fs::write(&copy, good).unwrap();
            std::fs::remove_file(&records).unwrap();
            std::os::unix::fs::symlink(&copy, &records).unwrap();
        }
        _ => unreachable!(),
    }
}

fn a_damaged_trust_store_means_untrusted_and_says_so() {
    for how in ["garbage", "truncated", "a directory", "a fifo", "a symlink"] {
        let repo = TestRepo::installed(MARKER);
        let store = repo.common_dir().join("daft/trust");
        damage(&store, how);
        refused(&repo, "wt", "the trust store is unreadable");
        repo.daft(&["trust", "--status"])
            .fails_with(1)
            .stdout_has("trust store unreadable");
        if how != "a directory" {
            // Trusting again sets the damaged store aside (nothing is lost) and starts anew.
            repo.daft(&["trust", "--yes"])
                .ok()
                .stderr_has("moved it to");
            repo.daft(&["trust", "--status"]).ok();
        }
    }
}

fn a_trust_directory_that_is_a_symlink_is_not_followed() {
    let repo = TestRepo::installed(MARKER);
    let store = repo.common_dir().join("daft/trust");
    let moved = repo.path("moved-store");
    std::fs::rename(&store, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &store).unwrap();
    refused(&repo, "wt", "is a symlink");
}

fn concurrent_trust_in_two_worktrees_keeps_both() {
    let repo = TestRepo::new().daft_yml(MARKER).commit().install();
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "--no-checkout",
        "../other",
        "-b",
        "other",
    ])
    .ok();
    let other = repo.path("other");
    repo.git_in(&other, &["checkout", "-q", "other"]).ok();
    std::fs::write(
        other.join("daft.yml"),
        MARKER.replace("marker", "other-marker"),
    )
    .unwrap();
    let trusts: Vec<_> = (0..8)
        .map(|i| {
            let dir = if i % 2 == 0 {
                repo.root.clone()
            } else {
                other.clone()
            };
            repo.command(crate::common::DAFT, &dir)
                .args(["trust", "--yes"])
                .output_spawned()
        })
        .collect();
    for trust in trusts {
        assert!(trust.wait_with_output().unwrap().status.success());
    }
    repo.daft(&["trust", "--status"]).ok();
    repo.daft_in(&other, &["trust", "--status"]).ok();
}

fn the_environment_cannot_point_daft_at_a_store_the_repository_controls() {
    let repo = TestRepo::installed(MARKER);
    // A copy of a store that trusts this config, where a checkout could have put it.
    let fake = repo.root.join("fake");
    copy_dir(
        &repo.common_dir().join("daft/trust"),
        &fake.join("daft/trust"),
    );
    copy_dir(
        &repo.common_dir().join("daft/trust"),
        &fake.join(".local/share/daft/trust"),
    );
    repo.daft(&["untrust"]).ok();
    let out = repo
        .command("git", &repo.root)
        .args(["worktree", "add", "../wt", "-b", "wt"])
        .env("HOME", &fake)
        .env("XDG_DATA_HOME", fake.join(".local/share"))
        .env("XDG_CONFIG_HOME", &fake)
        .env("XDG_STATE_HOME", &fake)
        .env("DAFT_TRUST_DIR", fake.join("daft/trust"))
        .env("DAFT_TRUST", "1")
        .env("DAFT_TRUSTED", "1")
        .env("DAFT_GIT_COMMON_DIR", &fake)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not trusted yet"));
    assert!(!repo.path("wt").join("marker").exists());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

trait SpawnOutput {
    fn output_spawned(&mut self) -> std::process::Child;
}

impl SpawnOutput for std::process::Command {
    fn output_spawned(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

crate::cases![
    a_job_added_after_trust_is_not_trusted,
    a_local_override_added_after_trust_is_not_trusted,
    a_symlinked_config_is_refused_even_with_trusted_content,
    a_damaged_trust_store_means_untrusted_and_says_so,
    a_trust_directory_that_is_a_symlink_is_not_followed,
    concurrent_trust_in_two_worktrees_keeps_both,
    the_environment_cannot_point_daft_at_a_store_the_repository_controls,
];
