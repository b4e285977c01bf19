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

fn a_huge_file_is_refused_unparsed() {
    let mut text = format!("hooks:\n  worktree-post-create:\n    jobs:{MARKER_JOB}");
    text.push_str(&"# padding\n".repeat(30_000));
    rejected(text.as_bytes(), "a config is at most 262144 bytes");
}

fn binary_garbage_is_an_error() {
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    rejected(&garbage, "daft.yml");
}

fn non_utf8_is_an_error() {
    let mut bytes = format!("hooks:\n  worktree-post-create:\n    jobs:{MARKER_JOB}").into_bytes();
    bytes.extend_from_slice(b"# \xff\xfe\n");
    rejected(&bytes, "is not valid UTF-8");
}

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

fn job_names_never_collide_with_daft_s_own_files() {
    let names = [
        "run",
        "plan",
        "stdin",
        "supervisor",
        "jobs",
        "unseen-failures",
    ];
    let jobs = names.iter().fold(String::new(), |jobs, name| {
        jobs + &format!("      - name: {name}\n        run: echo {name}-said-this\n")
    });
    let repo = TestRepo::installed(&format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n{jobs}      - name: bg\n        run: 'true'\n        background: true\n        needs: [run, plan]\n"
    ));
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    let wt = repo.path("wt");
    crate::common::wait_until(
        std::time::Duration::from_secs(30),
        "the background job",
        || crate::common::runs(&repo, &wt)[0]["jobs"][names.len()]["status"] == "succeeded",
    );
    let statuses = crate::common::only_run_statuses(&repo, &wt);
    assert!(statuses.iter().all(|s| s == "succeeded"), "{statuses:?}");
    for name in names {
        repo.daft_in(&wt, &["hooks", "log", "show", name])
            .ok()
            .stdout_has(&format!("{name}-said-this"));
    }
}

fn values_that_cannot_run_are_config_errors_with_their_place() {
    let job = |extra: &str| {
        format!(
            "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n{extra}"
        )
    };
    for (text, message) in [
        (
            job("        timeout: 18446744073709551615\n"),
            "daft.yml:6:18: hooks.worktree-post-create.jobs[0].timeout: timeout 213503982334601d07h is more than the longest",
        ),
        (
            job("        timeout: 99999999999999999999h\n"),
            "daft.yml:6:18:",
        ),
        (job("        timeout: -5\n"), "is negative"),
        (
            "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: \"\\0\"\n"
                .to_owned(),
            "daft.yml:5:14:",
        ),
        (job("        root: \"a\\0b\"\n"), "NUL"),
        (
            job("        env: {\"A\\0\": x}\n"),
            "not a valid environment variable name",
        ),
        (job("        needs: [\"../x\"]\n"), "not a job name"),
    ] {
        let repo = TestRepo::new().daft_yml(&text);
        let err = repo.daft(&["validate"]).fails_with(2).stderr();
        assert!(err.contains(message), "{text}\n{err}");
        for internal in ["Raw", "struct", "Duration", "usize"] {
            assert!(!err.contains(internal), "{err}");
        }
    }
}

fn an_untrusted_alias_bomb_costs_the_hook_no_parsing_and_validate_refuses_it_quickly() {
    // 1,200 aliases of a job with a 2,500-key env: minutes of parsing before.
    let mut text = String::from(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - &job\n        name: j\n        run: 'true'\n        env:\n",
    );
    text.extend((0..2500).map(|i| format!("          K{i}: v\n")));
    text.push_str(&"      - *job\n".repeat(1200));
    let repo = TestRepo::new().daft_yml(&text).commit().install();
    // Deadlines guard against a hang; they are not the measure (bench/ has that).
    let started = std::time::Instant::now();
    repo.git(&["worktree", "add", "../wt", "-b", "wt"])
        .ok()
        .stderr_has("not trusted");
    repo.daft(&["validate"])
        .fails_with(2)
        .stderr_has("YAML aliases repeat what they point to");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

fn a_damaged_run_record_is_shown_without_its_times_not_a_panic() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n",
    );
    repo.git(&["worktree", "add", "../wt", "-b", "wt"]).ok();
    let wt = repo.path("wt");
    let record = walk(&repo.common_dir().join("daft/worktrees"))
        .into_iter()
        .find(|p| p.ends_with("jobs/a.json"))
        .unwrap();
    let text = read(&record).replace("\"started_at\":", "\"started_at\":-1e300,\"x\":");
    std::fs::write(&record, text).unwrap();
    let out = repo.daft_in(&wt, &["hooks", "log", "show"]).ok();
    assert!(out.stdout().contains("succeeded"), "{}", out.stdout());
    assert!(out.stdout().contains("damaged"), "{}", out.stdout());
    repo.daft_in(&wt, &["hooks", "log", "show", "--json"]).ok();
    // Garbage in place of a record: the run is listed, the job is skipped with a note.
    std::fs::write(&record, "{not json").unwrap();
    repo.daft_in(&wt, &["hooks", "log", "show"]).ok();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

crate::cases![
    a_huge_file_is_refused_unparsed,
    binary_garbage_is_an_error,
    non_utf8_is_an_error,
    deep_nesting_is_an_error_not_a_crash,
    yaml_aliases_cannot_blow_up,
    paths_with_spaces_quotes_and_non_ascii_work,
    job_names_never_collide_with_daft_s_own_files,
    values_that_cannot_run_are_config_errors_with_their_place,
    an_untrusted_alias_bomb_costs_the_hook_no_parsing_and_validate_refuses_it_quickly,
    a_damaged_run_record_is_shown_without_its_times_not_a_panic,
];
