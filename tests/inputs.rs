//! What `eval "$(daft env)"` put in a shell does not steer daft later (SPEC §7): an inherited
//! `DAFT_SOURCE_WORKTREE` counts only within its own clone, inherited `DAFT_*` never reach a
//! job, and what `daft env` prints reads back the same in bash, zsh, dash and fish, whatever a
//! record holds. Cancelling a job ends what it started in a session of its own.

use std::time::Duration;

use crate::common::{TestRepo, added, group_alive, job, read, wait_for_status, wait_until};

const REPORTS: &str = "ports: [web]
hooks:
  worktree-post-create:
    jobs:
      - name: carry
        copy: [.env]
      - name: report
        run: env | grep '^DAFT_' | sort > ../report-$DAFT_WORKTREE_ID
        needs: [carry]
";

fn a_shell_that_ran_daft_env_in_one_clone_does_not_steer_another() {
    let a = TestRepo::named("a");
    a.write(".gitignore", ".env\n");
    let a = a.daft_yml(REPORTS).commit().install().trust();
    a.write(".env", "SECRET=from-a\n");
    let exported = a.daft(&["env"]).ok().stdout();
    // Repository B, in a shell that evaluated A's `daft env` (and has a stale port and the
    // shell integration's file).
    let b = TestRepo::named("b");
    b.write(".gitignore", ".env\n");
    let b = b
        .daft_yml(&REPORTS.replace("ports: [web]\n", ""))
        .commit()
        .install()
        .trust();
    b.write(".env", "SECRET=from-b\n");
    let script = format!(
        "{exported}\nexport DAFT_PORT_DB=5432 DAFT_CD_FILE=/tmp/nope\ngit worktree add -q ../wt -b wt"
    );
    let out = b.run_in(&b.root, "bash", &["-c", &script]).ok();
    assert!(
        out.stderr().contains("ignored DAFT_SOURCE_WORKTREE="),
        "said once: {}",
        out.stderr()
    );
    assert_eq!(read(&b.path("wt/.env")), "SECRET=from-b\n", "B's own file");
    let report = std::fs::read_dir(&b.base)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("report-"))
        .map(|e| read(&e.path()))
        .unwrap();
    assert!(
        !report.contains("DAFT_PORT_"),
        "no port leased here: {report}"
    );
    assert!(!report.contains("DAFT_CD_FILE"), "{report}");
    assert!(
        report.contains(&format!("DAFT_SOURCE_WORKTREE={}\n", b.root.display())),
        "{report}"
    );
    // Within the clone, it is honoured: copy from another worktree of A.
    let other = added(&a, "other");
    std::fs::write(other.join(".env"), "SECRET=from-other\n").unwrap();
    let script = format!(
        "export DAFT_SOURCE_WORKTREE={}\ngit worktree add -q ../third -b third",
        other.display()
    );
    a.run_in(&a.root, "bash", &["-c", &script]).ok();
    assert_eq!(read(&a.path("third/.env")), "SECRET=from-other\n");
}

/// The value `shell` reads back for `DAFT_WORKTREE` after evaluating `daft env`.
fn read_back(repo: &TestRepo, wt: &std::path::Path, shell: &str) -> String {
    let script = if shell == "fish" {
        "daft env | source; printf '%s' \"$DAFT_WORKTREE\""
    } else {
        "eval \"$(daft env)\"; printf '%s' \"$DAFT_WORKTREE\""
    };
    repo.run_in(wt, shell, &["-c", script]).ok().stdout()
}

fn daft_env_reads_back_the_same_in_bash_whatever_the_path() {
    daft_env_reads_back_the_same_whatever_the_path("bash");
}

fn daft_env_reads_back_the_same_in_zsh_whatever_the_path() {
    daft_env_reads_back_the_same_whatever_the_path("zsh");
}

fn daft_env_reads_back_the_same_in_dash_whatever_the_path() {
    daft_env_reads_back_the_same_whatever_the_path("dash");
}

fn daft_env_reads_back_the_same_in_fish_whatever_the_path() {
    daft_env_reads_back_the_same_whatever_the_path("fish");
}

fn daft_env_reads_back_the_same_whatever_the_path(shell: &str) {
    let repo = TestRepo::installed(
        "ports: [web]\nhooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n",
    );
    // A worktree whose path holds everything a shell might take for code.
    let name = r"w it's $(touch PWNED) `x` \ $'\101' \\";
    repo.git(&["worktree", "add", &format!("../{name}"), "-b", "odd"])
        .ok();
    let wt = repo.path(name);
    assert_eq!(
        read_back(&repo, &wt, shell),
        wt.to_str().unwrap(),
        "{shell}"
    );
    assert!(!wt.join("PWNED").exists() && !repo.base.join("PWNED").exists());
}

fn a_tampered_port_registry_reaches_no_shell() {
    let repo = TestRepo::installed(
        "ports: [web]\nhooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n",
    );
    let wt = added(&repo, "wt");
    let registry = repo.home().join(".local/state/daft/ports.json");
    let mut json: serde_json::Value = serde_json::from_str(&read(&registry)).unwrap();
    let lease = json["leases"][0].clone();
    let mut evil = lease.clone();
    evil["name"] = "x$'\\044(touch${IFS}PWNED)'".into();
    evil["port"] = 20001.into();
    let mut evil_id = lease.clone();
    evil_id["worktree"] = "../../x".into();
    json["leases"]
        .as_array_mut()
        .unwrap()
        .extend([evil, evil_id]);
    std::fs::write(&registry, serde_json::to_vec(&json).unwrap()).unwrap();
    let out = repo.daft_in(&wt, &["env"]).ok();
    assert!(!out.stdout().contains("PWNED"), "{}", out.stdout());
    assert!(out.stdout().contains("DAFT_PORT_WEB="));
    assert!(
        out.stderr()
            .contains("lease(s) daft could not have written; they are ignored"),
        "{}",
        out.stderr()
    );
    repo.run_in(&wt, "bash", &["-c", "eval \"$(daft env)\""])
        .ok();
    assert!(!wt.join("PWNED").exists());
}

fn cancelling_a_job_ends_what_it_started_in_a_session_of_its_own() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: serve\n        run: setsid sh -c 'echo $$ > ../daemon.pid; exec sleep 300' & wait\n        background: true\n",
    );
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "serve", "running");
    let daemon = repo.path("daemon.pid");
    wait_until(Duration::from_secs(30), "the daemon", || {
        crate::common::read_pid(&daemon).is_some()
    });
    let pid = crate::common::read_pid(&daemon).unwrap();
    assert!(crate::common::pid_alive(pid));
    let group = job(&repo, &wt, "serve")["pid"].as_u64().unwrap() as u32;
    repo.daft_in(&wt, &["hooks", "cancel", "serve"]).ok();
    wait_until(Duration::from_secs(30), "the daemon to be ended", || {
        !crate::common::pid_alive(pid)
    });
    assert!(!group_alive(group));
}

fn a_daemon_a_job_left_behind_is_ended_when_its_worktree_goes() {
    let repo = TestRepo::installed(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: start-server\n        run: setsid sh -c 'echo $$ > ../server.pid; exec sleep 300' > /dev/null 2>&1 < /dev/null &\n        background: true\n",
    );
    let wt = added(&repo, "wt");
    let server = repo.path("server.pid");
    wait_until(Duration::from_secs(30), "the server", || {
        crate::common::read_pid(&server).is_some()
    });
    let pid = crate::common::read_pid(&server).unwrap();
    // The job itself ended at once (it daemonized); the server lives on, the supervisor its
    // reaper.
    wait_for_status(&repo, &wt, "start-server", "succeeded");
    assert!(crate::common::pid_alive(pid));
    std::fs::remove_dir_all(&wt).unwrap();
    wait_until(Duration::from_secs(15), "the server to be ended", || {
        !crate::common::pid_alive(pid)
    });
}

crate::cases![
    a_shell_that_ran_daft_env_in_one_clone_does_not_steer_another,
    [Need::Program("bash")] daft_env_reads_back_the_same_in_bash_whatever_the_path,
    [Need::Program("zsh")] daft_env_reads_back_the_same_in_zsh_whatever_the_path,
    [Need::Program("dash")] daft_env_reads_back_the_same_in_dash_whatever_the_path,
    [Need::Program("fish")] daft_env_reads_back_the_same_in_fish_whatever_the_path,
    a_tampered_port_registry_reaches_no_shell,
    cancelling_a_job_ends_what_it_started_in_a_session_of_its_own,
    a_daemon_a_job_left_behind_is_ended_when_its_worktree_goes,
];
