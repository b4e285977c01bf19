//! The agent apps and worktree tools, driven the way each documents its interface: Claude
//! Code's `WorktreeCreate` / `WorktreeRemove` hooks (JSON on stdin, the path on stdout), Codex's
//! local-environment setup and cleanup scripts, Conductor's setup and archive scripts (their
//! environment variables and working directory), Cursor's `.cursor/worktrees.json` setup
//! commands, and worktrunk for real. In each, the setup runs exactly once, `daft hooks wait`
//! returns 0 once the setup is done and the worktree's dev server answers, and the teardown
//! runs once (the server ended) when the tool removes the worktree. docs/agents.md's recipes are
//! these configs, word for word.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::{TestRepo, config_mode, read, wait_until};
use crate::harness::Tool;

/// A setup that counts its runs, a background warmup, a dev server on the worktree's own port
/// (a service: `daft hooks wait` returns once it answers), and a teardown that counts its own.
const CONFIG: &str = "ports: [web]
hooks:
  worktree-post-create:
    jobs:
      - name: setup
        run: echo \"$DAFT_WORKTREE\" >> \"$DAFT_MAIN_WORKTREE/../setup.log\"
      - name: warm
        run: sleep 0.5; echo \"$DAFT_WORKTREE\" >> \"$DAFT_MAIN_WORKTREE/../warm.log\"
        background: true
        needs: [setup]
      - name: dev-server
        run: exec python3 -m http.server \"$DAFT_PORT_WEB\" --bind 127.0.0.1
        background: true
        needs: [setup]
        ready: { port: web }
  worktree-pre-remove:
    jobs:
      - name: save
        run: echo \"$DAFT_WORKTREE\" >> \"$DAFT_MAIN_WORKTREE/../pre-remove.log\"
  worktree-post-remove:
    jobs:
      - name: drop
        run: echo \"$DAFT_WORKTREE\" >> \"$DAFT_MAIN_WORKTREE/../post-remove.log\"
";

/// Claude Code's `.claude/settings.json` (docs/agents.md's recipe).
pub(crate) const CLAUDE_SETTINGS: &str = r#"{
  "hooks": {
    "WorktreeCreate": [{ "hooks": [{ "type": "command", "command": "daft claude-code" }] }],
    "WorktreeRemove": [{ "hooks": [{ "type": "command", "command": "daft claude-code" }] }]
  }
}"#;

/// Codex's `.codex/environments/environment.toml` (docs/agents.md's recipe).
pub(crate) const CODEX_ENVIRONMENT: &str = r#"version = 1
name = "daft"

[setup]
script = "daft hooks wait --timeout 30m"

[cleanup]
script = "daft remove --prepare ."
"#;

/// Conductor's `.conductor/settings.toml` (docs/agents.md's recipe).
pub(crate) const CONDUCTOR_SETTINGS: &str = r#"[scripts]
setup = "daft hooks wait --timeout 30m"
archive = "daft remove --prepare ."
"#;

/// worktrunk's `.config/wt.toml` (docs/agents.md's recipe): its own worktree add fires git's hooks,
/// so only the removal, which it does in the background, needs a word.
pub(crate) const WORKTRUNK_CONFIG: &str = r#"pre-remove = "daft remove --prepare .""#;

/// Cursor's `.cursor/worktrees.json` (docs/agents.md's recipe).
pub(crate) const CURSOR_WORKTREES: &str = r#"{
  "setup-worktree-unix": ["daft hooks wait --timeout 30m"]
}"#;

/// The worktree's dev server answers on its own port: returns the port.
#[track_caller]
fn serving(repo: &TestRepo, wt: &Path) -> u16 {
    let record = crate::common::job(repo, wt, "dev-server");
    assert_eq!(record["status"], "ready", "{record}");
    let port = record["service"]["port"].as_u64().unwrap() as u16;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "nothing answers on {port}"
    );
    port
}

/// The dev server of a removed worktree ended: nothing answers on its port.
fn stopped_serving(port: u16) {
    wait_until(Duration::from_secs(20), "the dev server to end", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
}

/// How many times `log` (one of the counting files) names `wt`.
fn count(repo: &TestRepo, log: &str, wt: &Path) -> usize {
    std::fs::read_to_string(repo.path(log))
        .unwrap_or_default()
        .lines()
        .filter(|line| Path::new(line) == wt)
        .count()
}

/// Waits until `log` names `wt` once, then a moment more to see that it stays once.
fn once(repo: &TestRepo, log: &str, wt: &Path) {
    wait_until(
        Duration::from_secs(20),
        &format!("{log} to name {}", wt.display()),
        || count(repo, log, wt) >= 1,
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(repo, log, wt), 1, "{log}");
}

/// A tool's command string, run as the tool runs it: `sh -c` in `dir` with its variables and
/// `stdin`. Returns stdout and the exit code.
fn tool_runs(
    repo: &TestRepo,
    dir: &Path,
    script: &str,
    env: &[(&str, &Path)],
    stdin: &str,
) -> (String, Option<i32>) {
    let mut cmd = repo.command("sh", dir);
    cmd.args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        cmd.env(name, value);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.code().is_some(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

/// The value of `key` (a TOML string on one line) in `toml`.
fn toml_value(toml: &str, section: &str, key: &str) -> String {
    let body = toml.split(&format!("[{section}]\n")).nth(1).unwrap();
    let line = body
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap();
    serde_json::from_str(line.split_once(" = ").unwrap().1).unwrap()
}

fn claude_code_makes_and_removes_its_worktree_through_daft() {
    let repo = TestRepo::installed(CONFIG);
    repo.write(".claude/settings.json", CLAUDE_SETTINGS);
    let settings: serde_json::Value = serde_json::from_str(CLAUDE_SETTINGS).unwrap();
    let command = |event: &str| {
        settings["hooks"][event][0]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let env = [("CLAUDE_PROJECT_DIR", repo.root.as_path())];
    // WorktreeCreate: the input Claude Code sends; the path, alone, on stdout.
    let input = serde_json::json!({
        "session_id": "abc123",
        "transcript_path": repo.path("transcript.jsonl"),
        "cwd": repo.root,
        "hook_event_name": "WorktreeCreate",
        "name": "agent-a1b2",
    });
    let (stdout, code) = tool_runs(
        &repo,
        &repo.root,
        &command("WorktreeCreate"),
        &env,
        &input.to_string(),
    );
    assert_eq!(code, Some(0));
    let wt = repo.root.join(".claude/worktrees/agent-a1b2");
    assert_eq!(
        stdout,
        format!("{}\n", wt.display()),
        "stdout is the path alone"
    );
    let branch = repo
        .git_in(&wt, &["branch", "--show-current"])
        .ok()
        .stdout();
    assert_eq!(branch.trim(), "worktree-agent-a1b2");
    assert_eq!(count(&repo, "setup.log", &wt), 1);
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "30s"])
        .ok();
    assert_eq!(count(&repo, "warm.log", &wt), 1);
    let port = serving(&repo, &wt);
    // WorktreeRemove: the worktree goes, and its teardown runs once.
    let input = serde_json::json!({
        "session_id": "abc123",
        "transcript_path": repo.path("transcript.jsonl"),
        "cwd": repo.root,
        "hook_event_name": "WorktreeRemove",
        "worktree_path": wt,
    });
    let (stdout, code) = tool_runs(
        &repo,
        &repo.root,
        &command("WorktreeRemove"),
        &env,
        &input.to_string(),
    );
    assert_eq!((stdout.as_str(), code), ("", Some(0)));
    assert!(!wt.exists());
    assert_eq!(count(&repo, "pre-remove.log", &wt), 1);
    once(&repo, "post-remove.log", &wt);
    assert_eq!(count(&repo, "setup.log", &wt), 1);
    stopped_serving(port);
}

fn claude_code_s_bad_input_is_an_error_that_says_what_it_is_for() {
    let repo = TestRepo::installed(CONFIG);
    let (stdout, code) = tool_runs(&repo, &repo.root, "daft claude-code", &[], "not json");
    assert_eq!((stdout.as_str(), code), ("", Some(1)));
    let run = repo.run_in(&repo.root, "sh", &["-c", "echo '{}' | daft claude-code"]);
    assert!(run.stderr().contains("WorktreeCreate"), "{}", run.stderr());
}

/// The Codex app: it makes a detached worktree under `$CODEX_HOME/worktrees`, runs the setup
/// script there, and later the cleanup script before it deletes the worktree.
fn codex_s_setup_and_cleanup_scripts() {
    let repo = TestRepo::installed(CONFIG);
    repo.write(".codex/environments/environment.toml", CODEX_ENVIRONMENT);
    let wt = repo.path("codex-home/worktrees/7e1f/repo");
    repo.git(&["worktree", "add", "--detach", wt.to_str().unwrap()])
        .ok();
    let env = [
        ("CODEX_WORKTREE_PATH", wt.as_path()),
        ("CODEX_SOURCE_TREE_PATH", repo.root.as_path()),
    ];
    let setup = toml_value(CODEX_ENVIRONMENT, "setup", "script");
    let (_, code) = tool_runs(&repo, &wt, &setup, &env, "");
    assert_eq!(code, Some(0));
    assert_eq!(count(&repo, "setup.log", &wt), 1);
    assert_eq!(
        count(&repo, "warm.log", &wt),
        1,
        "wait returned before the warmup ended"
    );
    let port = serving(&repo, &wt);
    let cleanup = toml_value(CODEX_ENVIRONMENT, "cleanup", "script");
    let (_, code) = tool_runs(&repo, &wt, &cleanup, &env, "");
    assert_eq!(code, Some(0));
    assert_eq!(count(&repo, "pre-remove.log", &wt), 1);
    assert_eq!(count(&repo, "post-remove.log", &wt), 0, "not gone yet");
    stopped_serving(port);
    repo.git(&["worktree", "remove", "--force", wt.to_str().unwrap()])
        .ok();
    once(&repo, "post-remove.log", &wt);
}

/// Conductor: its workspaces here are made by a path that fires no git hook (as some tools
/// make them), so the setup is owed and `daft hooks wait` runs it; archiving deletes the
/// workspace directory.
fn conductor_s_setup_and_archive_scripts() {
    let repo = TestRepo::installed(CONFIG);
    repo.write(".conductor/settings.toml", CONDUCTOR_SETTINGS);
    let wt = repo.path("conductor/workspaces/repo/tokyo");
    let no_hooks = if config_mode() {
        "hook.daft-post-checkout.enabled=false"
    } else {
        "core.hooksPath=/dev/null"
    };
    repo.git(&[
        "-c",
        no_hooks,
        "worktree",
        "add",
        wt.to_str().unwrap(),
        "-b",
        "tokyo",
    ])
    .ok();
    assert_eq!(count(&repo, "setup.log", &wt), 0);
    let port: PathBuf = "55100".into();
    let env = [
        ("CONDUCTOR_WORKSPACE_NAME", Path::new("tokyo")),
        ("CONDUCTOR_WORKSPACE_PATH", wt.as_path()),
        ("CONDUCTOR_ROOT_PATH", repo.root.as_path()),
        ("CONDUCTOR_DEFAULT_BRANCH", Path::new("main")),
        ("CONDUCTOR_PORT", port.as_path()),
    ];
    let setup = toml_value(CONDUCTOR_SETTINGS, "scripts", "setup");
    assert_eq!(tool_runs(&repo, &wt, &setup, &env, "").1, Some(0));
    assert_eq!(count(&repo, "setup.log", &wt), 1);
    assert_eq!(count(&repo, "warm.log", &wt), 1);
    let port = serving(&repo, &wt);
    // Run again (a second setup script, a restart of the app): nothing runs twice.
    assert_eq!(tool_runs(&repo, &wt, &setup, &env, "").1, Some(0));
    assert_eq!(count(&repo, "setup.log", &wt), 1);
    assert_eq!(serving(&repo, &wt), port);
    let archive = toml_value(CONDUCTOR_SETTINGS, "scripts", "archive");
    assert_eq!(tool_runs(&repo, &wt, &archive, &env, "").1, Some(0));
    stopped_serving(port);
    std::fs::remove_dir_all(&wt).unwrap();
    once(&repo, "post-remove.log", &wt);
    assert_eq!(count(&repo, "pre-remove.log", &wt), 1);
}

/// worktrunk itself: `wt switch --create` and `wt remove` (which renames the worktree into its
/// trash, prunes, and deletes it in the background).
fn worktrunk_s_switch_create_and_remove() {
    let wt_bin = Tool::Worktrunk.path().unwrap();
    let repo = TestRepo::installed(CONFIG);
    repo.write(".config/wt.toml", &format!("{WORKTRUNK_CONFIG}\n"));
    repo.git(&["add", ".config/wt.toml"]).ok();
    repo.git(&["commit", "-qm", "worktrunk"]).ok();
    let wt_cmd = |args: &[&str]| {
        let mut all = vec!["--yes"];
        all.extend_from_slice(args);
        repo.run_in(&repo.root, wt_bin.to_str().unwrap(), &all)
    };
    wt_cmd(&["switch", "--create", "feat"]).ok();
    let list = repo.git(&["worktree", "list", "--porcelain"]).ok().stdout();
    let wt = list
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(PathBuf::from)
        .find(|p| *p != repo.root)
        .expect("worktrunk made a worktree");
    assert_eq!(count(&repo, "setup.log", &wt), 1);
    repo.daft_in(&wt, &["hooks", "wait", "--timeout", "30s"])
        .ok();
    assert_eq!(count(&repo, "warm.log", &wt), 1);
    let port = serving(&repo, &wt);
    wt_cmd(&["remove", "feat"]).ok();
    once(&repo, "post-remove.log", &wt);
    assert_eq!(count(&repo, "pre-remove.log", &wt), 1);
    assert_eq!(count(&repo, "setup.log", &wt), 1);
    stopped_serving(port);
}

/// Cursor: its agents' worktrees (under `~/.cursor/worktrees/<repo>/`, detached HEAD) run the
/// commands of `.cursor/worktrees.json` — the worktree's own file first, the project root's
/// otherwise — one after another in the worktree, with `ROOT_WORKTREE_PATH` set to the
/// project's root; a failing command stops the setup. Cursor deletes old worktrees itself, with
/// no script: daft notices the removal as for any other.
fn cursor_s_worktree_setup() {
    let repo = TestRepo::installed(CONFIG);
    repo.write(".cursor/worktrees.json", CURSOR_WORKTREES);
    repo.git(&["add", ".cursor/worktrees.json"]).ok();
    repo.git(&["commit", "-qm", "cursor"]).ok();
    let wt = repo.path("cursor-home/worktrees/repo/k3x9");
    repo.git(&["worktree", "add", "--detach", wt.to_str().unwrap()])
        .ok();
    let file = [
        wt.join(".cursor/worktrees.json"),
        repo.root.join(".cursor/worktrees.json"),
    ]
    .into_iter()
    .find(|file| file.exists())
    .unwrap();
    let config: serde_json::Value = serde_json::from_str(&read(&file)).unwrap();
    let commands = config["setup-worktree-unix"]
        .as_array()
        .or_else(|| config["setup-worktree"].as_array())
        .unwrap();
    let env = [("ROOT_WORKTREE_PATH", repo.root.as_path())];
    for command in commands {
        let (_, code) = tool_runs(&repo, &wt, command.as_str().unwrap(), &env, "");
        assert_eq!(code, Some(0), "{command}");
    }
    assert_eq!(count(&repo, "setup.log", &wt), 1);
    assert_eq!(count(&repo, "warm.log", &wt), 1);
    let port = serving(&repo, &wt);
    // Cursor's cleanup deletes the worktree; the next git call notices.
    repo.git(&["worktree", "remove", "--force", wt.to_str().unwrap()])
        .ok();
    once(&repo, "post-remove.log", &wt);
    stopped_serving(port);
    assert_eq!(count(&repo, "setup.log", &wt), 1);
}

fn the_docs_recipes_are_the_tested_ones() {
    let readme = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/agents.md"));
    for recipe in [
        CLAUDE_SETTINGS,
        CODEX_ENVIRONMENT,
        CONDUCTOR_SETTINGS,
        WORKTRUNK_CONFIG,
        CURSOR_WORKTREES,
    ] {
        assert!(readme.contains(recipe), "docs/agents.md lacks\n{recipe}");
    }
}

crate::cases![
    [Need::Program("python3")] claude_code_makes_and_removes_its_worktree_through_daft,
    claude_code_s_bad_input_is_an_error_that_says_what_it_is_for,
    [Need::Program("python3")] codex_s_setup_and_cleanup_scripts,
    [Need::Program("python3")] conductor_s_setup_and_archive_scripts,
    [Need::Tool(Tool::Worktrunk), Need::Program("python3")] worktrunk_s_switch_create_and_remove,
    [Need::Program("python3")] cursor_s_worktree_setup,
    the_docs_recipes_are_the_tested_ones,
];
