//! Services (SPEC §3.1a): a background job with `ready:` — a real HTTP server on the
//! worktree's own port — that `daft hooks wait` counts once it answers, that jobs needing it
//! follow, that fails when it ends early or is never ready, that restarts by hand on the same
//! port, and that ends with its worktree.

use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use indoc::indoc;

use crate::common::{TestRepo, added, job, kill, pid_alive, read, wait_for_status, wait_until};

/// A dev server that takes a second to start, and a check that needs it.
const SERVER: &str = indoc! {r#"
    ports: [web]
    hooks:
      worktree-post-create:
        jobs:
          - name: dev-server
            run: sleep 1; exec python3 -m http.server "$DAFT_PORT_WEB" --bind 127.0.0.1
            background: true
            ready: { port: web }
          - name: smoke
            run: python3 -c 'import os, urllib.request; urllib.request.urlopen("http://127.0.0.1:" + os.environ["DAFT_PORT_WEB"] + "/")' && date +%s.%N > smoke.at
            background: true
            needs: [dev-server]
"#};

/// The worktree's leased port `web`, as `daft env` prints it.
fn web_port(repo: &TestRepo, wt: &Path) -> u16 {
    let json = repo.daft_in(wt, &["env", "--json"]).ok().stdout();
    let vars: serde_json::Value = serde_json::from_str(&json).unwrap();
    vars["DAFT_PORT_WEB"].as_str().unwrap().parse().unwrap()
}

fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn wait_returns_once_the_server_answers_and_what_needs_it_follows() {
    let repo = TestRepo::installed(SERVER);
    let wt = added(&repo, "wt");
    let out = repo.daft_in(&wt, &["hooks", "wait", "--timeout", "60s"]);
    let returned = now();
    let port = web_port(&repo, &wt);
    out.ok().stderr_has(&format!(
        "1 job done, all succeeded; ready: dev-server on port {port} (1 service)"
    ));
    assert!(answers(port), "the server answers once wait says ready");
    let server = job(&repo, &wt, "dev-server");
    assert_eq!(server["status"], "ready", "{server}");
    assert_eq!(server["service"]["port"], port, "{server}");
    let ready_at = server["service"]["ready_at"].as_f64().unwrap();
    let started_at = server["started_at"].as_f64().unwrap();
    assert!(
        ready_at - started_at >= 1.0,
        "ready only once it answered: {server}"
    );
    // `wait` returned within a couple of seconds of the last job it waited for — the server
    // answering, then the niced check that needs it (slow on a busy machine, by design) —
    // not at its timeout.
    let smoke_ended = job(&repo, &wt, "smoke")["ended_at"].as_f64().unwrap();
    let last = ready_at.max(smoke_ended);
    assert!(
        returned - last < 3.0,
        "wait returned {}s after the last job it waited for",
        returned - last
    );
    // The job that needs it started once it was ready, and reached it.
    let smoke_at: f64 = read(&wt.join("smoke.at")).trim().parse().unwrap();
    assert!(
        smoke_at >= ready_at,
        "smoke ran before the server was ready"
    );
    let table = repo.daft_in(&wt, &["hooks", "log", "show"]).ok().stdout();
    let line = table.lines().find(|l| l.contains("dev-server")).unwrap();
    assert!(line.contains(&format!("ready (port {port})")), "{table}");
    assert!(line.contains("service"), "{table}");
    repo.daft_in(&wt, &["hooks", "cancel"]).ok();
}

fn a_service_that_ends_before_it_is_ready_fails_the_wait() {
    let repo = TestRepo::installed(indoc! {"
        ports: [web]
        hooks:
          worktree-post-create:
            jobs:
              - name: dev-server
                run: echo 'cannot find module vite' >&2; exit 3
                background: true
                ready: { port: web }
    "});
    let wt = added(&repo, "wt");
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "60s"])
        .fails_with(1)
        .stderr_has("dev-server failed (exit 3); see `daft hooks log show dev-server`")
        // The end of its log, so the reason is right there.
        .stderr_has("the end of dev-server's log:\n  │ cannot find module vite\n");
    let server = job(&repo, &wt, "dev-server");
    assert_eq!(
        server["reason"], "ended (exit 3) before it was ready",
        "{server}"
    );
}

fn a_service_never_ready_fails_at_its_own_timeout_and_is_ended() {
    let repo = TestRepo::installed(indoc! {"
        ports: [web]
        hooks:
          worktree-post-create:
            jobs:
              - name: dev-server
                run: echo $$ > ../server.pid; exec sleep 600
                background: true
                ready: { port: web, timeout: 2s }
    "});
    let wt = added(&repo, "wt");
    let started = Instant::now();
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "5m"])
        .fails_with(1)
        .stderr_has("dev-server failed");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "failed at its own timeout (2s), not at wait's (5m): {:?}",
        started.elapsed()
    );
    let port = web_port(&repo, &wt);
    let server = job(&repo, &wt, "dev-server");
    assert_eq!(
        server["reason"],
        format!(
            "not ready within 2.0s: nothing answered on port web ({port}); does it listen on 127.0.0.1:$DAFT_PORT_WEB?"
        ),
        "{server}"
    );
    let pid: u32 = read(&repo.path("server.pid")).trim().parse().unwrap();
    wait_until(Duration::from_secs(10), "the server to be ended", || {
        !pid_alive(pid)
    });
}

fn a_command_tells_when_it_is_ready() {
    let repo = TestRepo::installed(indoc! {"
        hooks:
          worktree-post-create:
            jobs:
              - name: db
                run: sleep 1; touch db.up; exec sleep 600
                background: true
                ready: { run: test -f db.up }
              - name: migrate
                run: test -f db.up && touch migrated
                background: true
                needs: [db]
    "});
    let wt = added(&repo, "wt");
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "60s"])
        .ok()
        .stderr_has("1 job done, all succeeded; ready: db (1 service)");
    assert!(wt.join("migrated").exists());
    let db = job(&repo, &wt, "db");
    assert_eq!(db["service"]["probe"], "`test -f db.up` exits 0", "{db}");
    repo.daft_in(&wt, &["hooks", "cancel", "db"]).ok();
}

fn the_worktree_s_removal_ends_it_and_frees_its_port() {
    let repo = TestRepo::installed(SERVER);
    let wt = added(&repo, "wt");
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "60s"])
        .ok();
    let port = web_port(&repo, &wt);
    let pid = job(&repo, &wt, "dev-server")["pid"].as_u64().unwrap() as u32;
    assert!(answers(port));
    repo.git(&["worktree", "remove", "--force", "../wt"]).ok();
    repo.daft(&["hooks", "log", "show"]).ok();
    wait_until(Duration::from_secs(20), "the server to end", || {
        !pid_alive(pid) && !answers(port)
    });
    wait_until(
        Duration::from_secs(20),
        "the port's lease to be released",
        || {
            let leases = std::fs::read_to_string(repo.home().join(".local/state/daft/ports.json"))
                .unwrap_or_default();
            !leases.contains(&format!("\"port\": {port},"))
        },
    );
    // Free for anyone now.
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
}

fn a_restart_gives_a_new_process_on_the_same_port() {
    let repo = TestRepo::installed(SERVER);
    let wt = added(&repo, "wt");
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "60s"])
        .ok();
    let port = web_port(&repo, &wt);
    let before = job(&repo, &wt, "dev-server")["pid"].as_u64().unwrap() as u32;
    repo.daft_in(
        &wt,
        &[
            "hooks",
            "run",
            "worktree-post-create",
            "--job",
            "dev-server",
        ],
    )
    .ok()
    .stderr_has("stopped the `dev-server` that was running, to start it again")
    .stderr_has(&format!("`dev-server` is ready on port {port}"));
    let after = job(&repo, &wt, "dev-server");
    assert_eq!(after["status"], "ready", "{after}");
    assert_eq!(after["service"]["port"], port);
    let pid = after["pid"].as_u64().unwrap() as u32;
    assert_ne!(pid, before);
    assert!(!pid_alive(before), "the old server was ended");
    assert!(answers(port));
    repo.daft_in(&wt, &["hooks", "cancel"]).ok();
}

fn a_service_that_dies_after_it_was_ready_is_told_and_shown_failed() {
    let repo = TestRepo::installed(SERVER);
    let wt = added(&repo, "wt");
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "60s"])
        .ok();
    let pid = job(&repo, &wt, "dev-server")["pid"].as_u64().unwrap();
    assert!(kill("KILL", pid as i64));
    wait_for_status(&repo, &wt, "dev-server", "failed");
    // The next daft command in the worktree tells it, once.
    let told = repo.daft_in(&wt, &["env"]).ok().stderr();
    assert!(
        told.contains(
            "background job `dev-server` failed (exit 137); see `daft hooks log show dev-server`"
        ),
        "{told}"
    );
    let table = repo.daft_in(&wt, &["hooks", "log", "show"]).ok().stdout();
    let line = table.lines().find(|l| l.contains("dev-server")).unwrap();
    assert!(line.contains("failed (exit 137)"), "{table}");
    assert!(
        line.contains("stopped serving (killed by signal 9) after it was ready; daft does not restart a service by itself"),
        "{table}"
    );
    repo.daft_in(&wt, &["hooks", "wait"])
        .fails_with(1)
        .stderr_has("dev-server failed (exit 137)");
}

fn a_service_is_checked_when_the_config_is_read() {
    let repo = TestRepo::new().install();
    repo.write(
        "daft.yml",
        indoc! {"
            ports: [web]
            hooks:
              worktree-post-create:
                jobs:
                  - name: sync-server
                    run: npm run dev
                    ready: { port: web }
                  - name: other-port
                    run: npm run dev
                    background: true
                    ready: { port: api }
                  - name: timed
                    run: npm run dev
                    background: true
                    timeout: 10m
                    ready: { run: 'true' }
        "},
    );
    let out = repo.daft(&["validate"]).fails_with(2);
    let err = out.stderr();
    for said in [
        "job `sync-server`: `ready` makes a service, which runs until its worktree goes: add `background: true`",
        "job `other-port`: `ready: { port: api }` is not one of `ports:` (web); add it there or use one of them",
        "job `timed`: a service runs until its worktree goes, so `timeout` would end it",
    ] {
        assert!(err.contains(said), "missing {said:?} in:\n{err}");
    }
}

/// A starting service's session keeps its weight: someone waits for it, and a session lowered
/// below the user's would, on a busy machine, notice the server tens of seconds late. Once it
/// is ready, only niced background work is left and the session yields as usual.
fn a_service_is_not_starved_while_someone_waits_for_it() {
    let repo = TestRepo::installed(indoc! {"
        hooks:
          worktree-post-create:
            jobs:
              - name: api
                run: exec sleep 300
                background: true
                ready: { run: test -e ../go }
    "});
    let wt = added(&repo, "wt");
    wait_for_status(&repo, &wt, "api", "starting");
    let pid = job(&repo, &wt, "api")["pid"].as_u64().unwrap();
    let weight = || read(Path::new(&format!("/proc/{pid}/autogroup")));
    // The hook is done: a session of only niced background jobs is lowered within a turn
    // (a quarter second). Six turns, and it is not.
    let watched_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < watched_until {
        assert!(weight().ends_with("nice 0\n"), "{}", weight());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(repo.path("go"), "").unwrap();
    wait_for_status(&repo, &wt, "api", "ready");
    wait_until(Duration::from_secs(15), "the session to yield", || {
        weight().ends_with("nice 19\n")
    });
    repo.daft_in(&wt, &["hooks", "cancel"]).ok();
}

crate::cases![
    [Need::Program("python3")] wait_returns_once_the_server_answers_and_what_needs_it_follows,
    a_service_that_ends_before_it_is_ready_fails_the_wait,
    a_service_never_ready_fails_at_its_own_timeout_and_is_ended,
    a_command_tells_when_it_is_ready,
    [Need::Program("python3")] the_worktree_s_removal_ends_it_and_frees_its_port,
    [Need::Program("python3")] a_restart_gives_a_new_process_on_the_same_port,
    [Need::Program("python3")] a_service_that_dies_after_it_was_ready_is_told_and_shown_failed,
    a_service_is_checked_when_the_config_is_read,
    [Need::Autogroup] a_service_is_not_starved_while_someone_waits_for_it,
];
