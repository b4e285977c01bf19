//! Bad input of any kind: a clear error, exit code 2, nothing run, git still works. Odd paths
//! work like any other.

use crate::common::{TestRepo, read};

const MARKER_JOB: &str = "\n      - name: mark\n        run: touch marker\n";

/// `daft validate` fails with 2 and `message`; a worktree add still succeeds and runs nothing.
#[track_caller]
fn rejected(bytes: &[u8], message: &str) {
    let repo = TestRepo::new();
    std::fs::write(repo.root.join("daft.yml"), bytes).unwrap();
    let repo = repo.commit().install();
    repo.daft(&["validate"]).fails_with(2).stderr_has(message);
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    assert!(!repo.path("wt").join("marker").exists());
}

#[test]
fn a_huge_file_is_refused_unparsed() {
    let mut text = format!("hooks:\n  worktree-post-create:\n    jobs:{MARKER_JOB}");
    text.push_str(&"# padding\n".repeat(30_000));
    rejected(text.as_bytes(), "a config is at most 262144 bytes");
}

#[test]
fn binary_garbage_is_an_error() {
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    rejected(&garbage, "daft.yml");
}

#[test]
fn non_utf8_is_an_error() {
    let mut bytes = format!("hooks:\n  worktree-post-create:\n    jobs:{MARKER_JOB}").into_bytes();
    bytes.extend_from_slice(b"# \xff\xfe\n");
    rejected(&bytes, "is not valid UTF-8");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("hooks: {}", "[".repeat(100_000));
    rejected(
        text.as_bytes(),
        "daft.yml:1:1: nests brackets more than 64 levels deep",
    );
    let text = format!(
        "hooks:\n  worktree-post-create:\n    jobs:{MARKER_JOB}        env: {}",
        "{a: ".repeat(50_000)
    );
    rejected(text.as_bytes(), "daft.yml");
}

#[test]
fn yaml_aliases_cannot_blow_up() {
    // A "billion laughs": aliases that expand exponentially.
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut lines = vec!["a: &a [x, x, x, x, x, x, x, x, x]".to_owned()];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(", ");
        lines.push(format!("{name}: &{name} [{refs}]", name = pair[1]));
    }
    let text = format!(
        "{}\nhooks:\n  worktree-post-create:\n    jobs:{MARKER_JOB}",
        lines.join("\n")
    );
    rejected(text.as_bytes(), "daft.yml");
}

#[test]
fn paths_with_spaces_quotes_and_non_ascii_work() {
    let repo = TestRepo::named("my repo 'ü\" x")
        .daft_yml(
            "hooks:\n  worktree-post-create:\n    jobs:\n      - name: where\n        root: app dir/ü\n        run: pwd > \"$DAFT_WORKTREE/where\"; echo \"$DAFT_BRANCH\" >> \"$DAFT_WORKTREE/where\"\n",
        );
    repo.write("app dir/ü/keep", "");
    let repo = repo.commit().install().trust();
    let wt_name = "wt ä 'q' \"z\"";
    repo.git(&[
        "worktree",
        "add",
        &format!("../{wt_name}"),
        "-b",
        "feature/ü-x",
    ])
    .ok();
    let wt = repo.path(wt_name);
    assert_eq!(
        read(&wt.join("where")),
        format!("{}\nfeature/ü-x\n", wt.join("app dir/ü").display())
    );
    repo.daft_in(&wt, &["hooks", "log", "show"])
        .ok()
        .stdout_has("succeeded");
}
