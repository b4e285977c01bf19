//! What jobs are given and how they are ordered: ports of a worktree's own, priorities,
//! `only:`/`skip:` conditions, `daft env`, and `daft hooks wait` for whoever waits on setup.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{TestRepo, add_at_once, added, read, wait_until};

/// A setup job that writes the worktree's ports, id and source into `env.out`.
const PORTS: &str = "ports: [web, db-main]\nhooks:\n  worktree-post-create:\n    jobs:\n      - name: record\n        run: echo \"$DAFT_PORT_WEB $DAFT_PORT_DB_MAIN $DAFT_WORKTREE_ID $DAFT_SOURCE_WORKTREE\" > env.out\n";

fn ports_of(dir: &std::path::Path) -> (u16, u16) {
    let text = read(&dir.join("env.out"));
    let mut fields = text.split_whitespace();
    let web = fields.next().unwrap().parse().unwrap();
    let db = fields.next().unwrap().parse().unwrap();
    (web, db)
}

fn ports_are_distinct_free_stable_and_released() {
    let repo = TestRepo::installed(PORTS);
    add_at_once(&repo, 20);
    let mut seen = BTreeSet::new();
    for i in 0..20 {
        let wt = repo.path(&format!("wt{i}"));
        let (web, db) = ports_of(&wt);
        assert!(
            seen.insert(web) && seen.insert(db),
            "wt{i}: {web} {db} reused"
        );
        // Free when leased (nothing listens on them now either).
        assert!(std::net::TcpListener::bind(("127.0.0.1", web)).is_ok());
    }
    // A second clone on the same machine (same user) never gets the same ports.
    let other = repo.path("other");
    repo.run_in(
        &repo.base,
        "git",
        &["clone", "-q", repo.root.to_str().unwrap(), "other"],
    )
    .ok();
    repo.daft_in(&other, &["install"]).ok();
    repo.daft_in(&other, &["trust", "--yes"]).ok();
    repo.git_in(&other, &["worktree", "add", "-q", "../other-wt", "-b", "o"])
        .ok();
    let (web, db) = ports_of(&repo.path("other-wt"));
    assert!(!seen.contains(&web) && !seen.contains(&db));
    // Stable across runs and shown by `daft env`.
    let wt0 = repo.path("wt0");
    let before = ports_of(&wt0);
    repo.daft_in(&wt0, &["hooks", "run", "worktree-post-create"])
        .ok();
    assert_eq!(ports_of(&wt0), before);
    repo.daft_in(&wt0, &["env"])
        .ok()
        .stdout_has(&format!("export DAFT_PORT_WEB='{}'", before.0))
        .stdout_has(&format!("export DAFT_PORT_DB_MAIN='{}'", before.1));
    // Released with the worktree.
    repo.daft(&["remove", "--force", wt0.to_str().unwrap()])
        .ok();
    let registry = read(&repo.home().join(".local/state/daft/ports.json"));
    assert!(
        !registry.contains(&format!("\"port\": {},", before.0)),
        "{registry}"
    );
}

fn every_job_knows_its_worktree_id_and_source() {
    let repo = TestRepo::installed(PORTS);
    let wt = added(&repo, "feature-x");
    let text = read(&wt.join("env.out"));
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert!(fields[2].starts_with("feature_x_"), "{text}");
    assert_eq!(
        fields[3],
        repo.root.to_str().unwrap(),
        "the main worktree is the source"
    );
    let json = repo.daft_in(&wt, &["env", "--json"]).ok().stdout();
    let vars: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(vars["DAFT_WORKTREE_ID"], fields[2]);
    assert_eq!(vars["DAFT_BRANCH"], "feature-x");
    // What `daft env` prints is what a shell can eval.
    let out = repo.sh(&format!(
        "cd '{}' && eval \"$(daft env)\" && echo \"$DAFT_WORKTREE_ID\"",
        wt.display()
    ));
    assert_eq!(out.ok().stdout().trim(), fields[2]);
}

fn priority_orders_ready_jobs_when_slots_are_few() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    parallel: 1\n    jobs:\n      - name: low\n        run: echo low >> order\n      - name: high\n        run: echo high >> order\n        priority: 10\n      - name: mid\n        run: echo mid >> order\n        priority: 5\n      - name: also-low\n        run: echo also-low >> order\n",
    );
    let wt = added(&repo, "wt");
    assert_eq!(read(&wt.join("order")), "high\nmid\nlow\nalso-low\n");
}

/// `condition` on a job `probe` that `after` needs; returns (probe ran, after ran, probe's
/// reason in the log).
fn with_condition(repo: &TestRepo, condition: &str, env: &[(&str, &str)]) -> (bool, bool, String) {
    let _ = std::fs::remove_file(repo.root.join("probe.ran"));
    let _ = std::fs::remove_file(repo.root.join("after.ran"));
    repo.write(
        "daft.yml",
        &format!(
            "hooks:\n  post-merge:\n    jobs:\n      - name: probe\n        run: touch probe.ran\n{condition}      - name: after\n        run: touch after.ran\n        needs: [probe]\n"
        ),
    );
    repo.daft(&["trust", "--yes"]).ok();
    let mut cmd = repo.command(crate::common::DAFT, &repo.root);
    cmd.args(["hooks", "run", "post-merge"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = repo.daft(&["hooks", "log", "show"]).ok().stdout();
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with("probe"))
        .unwrap_or_default()
        .to_owned();
    (
        repo.root.join("probe.ran").exists(),
        repo.root.join("after.ran").exists(),
        line,
    )
}

/// (condition, env, runs?, what the skip says)
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool, &'a str);

fn each_condition_kind_skips_and_runs_as_written() {
    let repo = TestRepo::new().install();
    repo.write("Cargo.lock", "");
    let cases: &[Case] = &[
        ("        only: { branch: main }\n", &[], true, ""),
        (
            "        only: { branch: [release/*, 'feat*'] }\n",
            &[],
            false,
            "only: the branch `main` matches none of release/*, feat*",
        ),
        (
            "        skip: { branch: 'ma*' }\n",
            &[],
            false,
            "skip: the branch `main` matches ma*",
        ),
        ("        only: { files: [Cargo.lock] }\n", &[], true, ""),
        (
            "        only: { files: [package.json] }\n",
            &[],
            false,
            "only: package.json missing",
        ),
        (
            "        skip: { files: Cargo.lock }\n",
            &[],
            false,
            "skip: Cargo.lock exist",
        ),
        ("        only: { env: CI }\n", &[("CI", "true")], true, ""),
        (
            "        only: { env: CI }\n",
            &[],
            false,
            "only: CI not set",
        ),
        (
            "        only: { env: CI }\n",
            &[("CI", "")],
            false,
            "only: CI not set",
        ),
        (
            "        skip: { env: [CI] }\n",
            &[("CI", "1")],
            false,
            "skip: CI set",
        ),
        (
            "        only: { run: 'test -e Cargo.lock' }\n",
            &[],
            true,
            "",
        ),
        (
            "        only: { run: 'exit 3' }\n",
            &[],
            false,
            "only: `exit 3` did not exit 0",
        ),
        (
            "        skip: { run: 'true' }\n",
            &[],
            false,
            "skip: `true` exited 0",
        ),
        (
            "        only: { branch: main, files: [nope] }\n",
            &[],
            false,
            "only: nope missing",
        ),
    ];
    for (condition, env, runs, says) in cases {
        let (probe, after, line) = with_condition(&repo, condition, env);
        assert_eq!(probe, *runs, "{condition}: {line}");
        // Skipped by its own condition, it counts as done for what needs it.
        assert!(after, "{condition}: the job that needs it ran");
        if !runs {
            assert!(
                line.contains("skipped") && line.contains(says),
                "{condition}: {line}"
            );
        }
    }
}

fn wait_returns_the_right_codes() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: quick\n        run: 'true'\n      - name: slow\n        run: while [ ! -e go ]; do sleep 0.02; done; test ! -e fail\n        background: true\n",
    );
    // Nothing has run yet: at once.
    repo.daft(&["hooks", "wait"])
        .ok()
        .stderr_has("nothing to wait for");
    let wt = added(&repo, "wt");
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "200ms"])
        .fails_with(124)
        .stderr_has("slow");
    repo.daft_in(&wt, &["hooks", "wait", "quick"]).ok();
    repo.daft_in(&wt, &["hooks", "wait", "ghost"]).fails_with(2);
    let waiter = repo
        .command(crate::common::DAFT, &wt)
        .args(["hooks", "wait"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(wt.join("go"), "").unwrap();
    let out = waiter.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 jobs done: all succeeded"));
    // A failure is named, exit 1.
    std::fs::remove_file(wt.join("go")).unwrap();
    std::fs::write(wt.join("fail"), "").unwrap();
    repo.daft_in(&wt, &["hooks", "run", "worktree-post-create"])
        .ok();
    std::fs::write(wt.join("go"), "").unwrap();
    wait_until(Duration::from_secs(30), "wait to say slow failed", || {
        let out = repo.daft_in(&wt, &["hooks", "wait"]);
        out.code() == Some(1) && out.stderr().contains("slow failed (exit 1)")
    });
}

crate::cases![
    ports_are_distinct_free_stable_and_released,
    every_job_knows_its_worktree_id_and_source,
    priority_orders_ready_jobs_when_slots_are_few,
    each_condition_kind_skips_and_runs_as_written,
    wait_returns_the_right_codes,
];
