//! Every config error is reported with where and what, exit code 2, and runs nothing.

use crate::common::TestRepo;

fn job(extra: &str) -> String {
    format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: touch marker\n{extra}"
    )
}

/// Each bad config and a piece of the message it must give.
fn cases() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "unknown key",
            job("        rn: x\n"),
            "daft.yml:6:9: hooks.worktree-post-create.jobs[0]: unknown field `rn`",
        ),
        (
            "wrong type",
            job("        background: maybe\n"),
            "daft.yml:6:21",
        ),
        (
            "duplicate names",
            job("      - name: a\n        run: 'true'\n"),
            "job `a`: the name is used twice",
        ),
        (
            "unknown need",
            job("        needs: [ghost]\n"),
            "needs `ghost`, which is not a job of this event",
        ),
        ("self need", job("        needs: [a]\n"), "needs itself"),
        (
            "cycle",
            job("        needs: [b]\n      - name: b\n        run: 'true'\n        needs: [a]\n"),
            "`needs` form a cycle: a → b → a",
        ),
        (
            "sync needs background",
            job(
                "        needs: [bg]\n      - name: bg\n        run: 'true'\n        background: true\n",
            ),
            "is synchronous but needs background job `bg`",
        ),
        (
            "unknown event",
            "hooks:\n  worktree-post-creat:\n    jobs: []\n".into(),
            "unknown event `worktree-post-creat`",
        ),
        (
            "bad timeout",
            job("        timeout: soon\n"),
            "`soon` is not a duration",
        ),
        (
            "root outside",
            job("        root: ../elsewhere\n"),
            "leaves the work tree",
        ),
        ("empty file", String::new(), "is empty"),
        ("malformed yaml", "hooks: [\n".into(), "daft.yml:"),
    ]
}

fn validate_names_the_problem_and_exits_2() {
    for (what, text, message) in cases() {
        let repo = TestRepo::new().daft_yml(&text);
        let out = repo.daft(&["validate"]);
        assert_eq!(out.code(), Some(2), "{what}: {}", out.stderr());
        assert!(
            out.stderr().contains(message),
            "{what}: expected {message:?} in\n{}",
            out.stderr()
        );
    }
}

fn an_untrusted_config_is_not_parsed_by_the_hook_and_trust_shows_its_errors() {
    let repo = TestRepo::new()
        .daft_yml(&job("        needs: [ghost]\n"))
        .commit()
        .install();
    let out = repo
        .git(&["worktree", "add", "../wt", "-b", "feat"])
        .ok()
        .stderr_has("is not trusted yet");
    assert!(!out.stderr().contains("ghost"), "{}", out.stderr());
    assert!(!repo.path("wt").join("marker").exists());
    repo.daft(&["trust", "--yes"])
        .fails_with(2)
        .stderr_has("needs `ghost`");
}

fn validate_summarises_a_good_config() {
    let repo = TestRepo::new().daft_yml(&job(
        "      - name: warm\n        run: 'true'\n        background: true\n        needs: [a]\n",
    ));
    repo.daft(&["validate"])
        .ok()
        .stdout_has("is valid")
        .stdout_has("worktree-post-create: a, warm (background)");
}

fn validate_lists_every_mistake_in_file_order() {
    let config = "hooks:
  pre-commit:
    jobs:
      - name: a
        run: x
        colour: red
      - name: b
        needs: [zz]
        run: y
      - name: c
        run: z
        copy: [q]
  nonsense:
    jobs: []
  post-merge:
    fail_mode: maybe
    jobs:
      - name: d
        needs: [a]
        run: 'true'
";
    let out = TestRepo::new()
        .daft_yml(config)
        .daft(&["validate"])
        .fails_with(2);
    let err = out.stderr();
    let said: Vec<String> = err
        .lines()
        .filter_map(|l| l.split("daft.yml:").nth(1))
        .map(|l| l.split(": ").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        said,
        ["6:9", "7:9", "10:9", "13:3", "16:16", "18:9"],
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("6 mistakes"), "{}", out.stderr());
    // `b` needs `zz`, not `a`: the job set aside for its own mistake still counts as a job.
    assert!(
        !out.stderr()
            .contains("needs `a`, which is not a job of this event (jobs: a")
    );
}

fn a_yaml_syntax_error_is_said_in_daft_yml_s_words_once() {
    let out = TestRepo::new()
        .daft_yml("hooks:\n  pre-commit:\n    jobs:\n      - name: a\n       run: x\n")
        .daft(&["validate"])
        .fails_with(2);
    let err = out.stderr();
    assert!(
        err.contains("daft.yml:5:8: is not valid YAML: this line's indentation"),
        "{err}"
    );
    assert!(
        !err.contains("while parsing") && !err.contains("at line"),
        "{err}"
    );
    assert_eq!(err.matches("5:8").count(), 1, "{err}");
}

crate::cases![
    validate_names_the_problem_and_exits_2,
    validate_lists_every_mistake_in_file_order,
    a_yaml_syntax_error_is_said_in_daft_yml_s_words_once,
    an_untrusted_config_is_not_parsed_by_the_hook_and_trust_shows_its_errors,
    validate_summarises_a_good_config,
];
