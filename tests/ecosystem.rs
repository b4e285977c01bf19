//! daft in the user's tools: shell completions and shell integration tried in real shells,
//! man pages, the JSON Schema of daft.yml (kept in sync, and agreeing with `daft validate` on
//! every example in the docs), and plain output where a terminal cannot show more.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::common::{DAFT, TestRepo, read};

const CONFIG: &str = "hooks:\n  worktree-post-create:\n    jobs:\n      - name: fetch-deps\n        run: 'true'\n      - name: warmup-build\n        run: 'true'\n        background: true\n  pre-commit:\n    jobs:\n      - name: lint\n        run: 'true'\n";

fn completions_are_generated_for_every_shell() {
    let repo = TestRepo::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = repo.daft(&["completions", shell]).ok().stdout();
        assert!(script.contains("COMPLETE"), "{shell}: {script}");
    }
    repo.daft(&["completions", "tcsh"]).fails_with(2);
}

fn bash_completes_commands_jobs_events_and_worktrees() {
    let repo = TestRepo::installed(CONFIG);
    repo.git(&["worktree", "add", "-q", "../feature", "-b", "feature"])
        .ok();
    let complete = |line: &str| -> Vec<String> {
        let script = format!(
            r#"source <(daft completions bash)
fn=$(complete -p daft | sed -E 's/.* -F ([^ ]+) .*/\1/')
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"; [ "${{COMP_LINE: -1}}" = " " ] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
"$fn" daft "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        let out = repo
            .run_in(&repo.root, "bash", &["-c", &script])
            .ok()
            .stdout();
        out.lines().map(|l| l.trim().to_owned()).collect()
    };
    let top = complete("daft ");
    assert!(
        top.iter().any(|c| c == "start") && top.iter().any(|c| c == "doctor"),
        "{top:?}"
    );
    let jobs = complete("daft hooks log show ");
    assert!(
        jobs.iter().any(|c| c == "warmup-build") && jobs.iter().any(|c| c == "lint"),
        "{jobs:?}"
    );
    let events = complete("daft hooks run ");
    assert!(
        events.iter().any(|c| c == "worktree-post-create"),
        "{events:?}"
    );
    let worktrees = complete("daft remove ");
    assert!(
        worktrees.iter().any(|c| c.ends_with("/feature")),
        "{worktrees:?}"
    );
}

fn fish_completes_jobs() {
    let repo = TestRepo::installed(CONFIG);
    follow_readme(&repo, "fish");
    let out = repo
        .run_in(
            &repo.root,
            "fish",
            &["-i", "-c", "complete -C 'daft hooks wait '"],
        )
        .ok()
        .stdout();
    assert!(out.contains("fetch-deps") && out.contains("lint"), "{out}");
}

/// Writes the start-up file of `shell` as README tells a user to (completions and shell
/// integration), and returns how that shell spells the last command's exit status.
fn follow_readme(repo: &TestRepo, shell: &str) -> &'static str {
    let home = repo.home();
    let (file, lines, status) = match shell {
        "bash" => (
            home.join(".bashrc"),
            "source <(daft completions bash)\neval \"$(daft shell-init bash)\"\n",
            "$?",
        ),
        "zsh" => (
            home.join(".zshrc"),
            "autoload -Uz compinit && compinit -u\nsource <(daft completions zsh)\neval \"$(daft shell-init zsh)\"\n",
            "$?",
        ),
        "fish" => (
            home.join(".config/fish/config.fish"),
            "daft completions fish | source\ndaft shell-init fish | source\n",
            "$status",
        ),
        other => panic!("no start-up file for {other}"),
    };
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, lines).unwrap();
    status
}

/// Runs `script` in an interactive `shell` (so it reads its start-up file) in `dir`; returns
/// the directory the shell ended in.
fn shell_ends_in(repo: &TestRepo, shell: &str, dir: &Path, script: &str) -> PathBuf {
    let out = repo
        .run_in(dir, shell, &["-i", "-c", &format!("{script}; pwd")])
        .ok()
        .stdout();
    PathBuf::from(out.lines().last().unwrap_or_default())
}

fn start_and_remove_move_the_shell(shell: &str) {
    let repo = TestRepo::installed(CONFIG);
    let status = follow_readme(&repo, shell);
    let wt = repo.path(&format!("repo.{shell}-x"));
    let ended = shell_ends_in(
        &repo,
        shell,
        &repo.root,
        &format!("daft start {shell}-x >/dev/null"),
    );
    assert_eq!(ended, wt, "{shell}: after daft start");
    let ended = shell_ends_in(&repo, shell, &wt, "daft remove . >/dev/null");
    assert_eq!(ended, repo.root, "{shell}: after daft remove");
    assert!(!wt.exists());
    // Anything else leaves the shell where it was, and keeps daft's exit code.
    let ended = shell_ends_in(&repo, shell, &repo.root, "daft validate >/dev/null");
    assert_eq!(ended, repo.root);
    let out = repo
        .run_in(
            &repo.root,
            shell,
            &[
                "-i",
                "-c",
                &format!("daft hooks run nope; echo status={status}"),
            ],
        )
        .stdout();
    assert!(out.contains("status=2"), "{shell}: {out}");
}

fn shell_integration_in_bash() {
    start_and_remove_move_the_shell("bash");
}

fn shell_integration_in_zsh() {
    start_and_remove_move_the_shell("zsh");
}

fn shell_integration_in_fish() {
    start_and_remove_move_the_shell("fish");
}

fn man_pages_are_written_for_daft_and_each_command() {
    let repo = TestRepo::new();
    let dir = repo.path("man");
    repo.daft(&["man", dir.to_str().unwrap()]).ok();
    for page in [
        "daft.1",
        "daft-install.1",
        "daft-hooks-log-show.1",
        "daft-hooks-wait.1",
    ] {
        let text = read(&dir.join(page));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: {text}"
        );
    }
    assert!(read(&dir.join("daft-hooks-wait.1")).contains("timeout"));
    assert!(
        !dir.join("daft-__supervise.1").exists(),
        "hidden commands have no page"
    );
}

fn man_pages_go_beside_the_bin_directory_that_holds_daft() {
    let repo = TestRepo::new();
    // The test's PATH has daft in <base>/bin, as install.sh puts it in ~/.cargo/bin.
    repo.daft(&["man"]).ok().stderr_has("git daft --help");
    let dir = repo.base.join("share/man/man1");
    for page in ["daft.1", "daft-start.1", "git-daft.1", "git-daft-hooks.1"] {
        assert!(dir.join(page).is_file(), "{page}");
    }
    assert!(read(&dir.join("git-daft-hooks.1")).contains("wait"));
}

fn git_daft_help_opens_its_page() {
    let repo = TestRepo::new();
    repo.daft(&["man"]).ok();
    for (args, page) in [
        (["daft", "--help"], "git-daft"),
        (["daft-hooks", "--help"], "git-daft-hooks"),
    ] {
        let out = repo
            .command("git", &repo.root)
            .args(args)
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(&format!("{page}(1)")) && text.contains("NAME"),
            "{page}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn man_reads_the_pages() {
    let repo = TestRepo::new();
    let dir = repo.path("man");
    repo.daft(&["man", dir.to_str().unwrap()]).ok();
    let out = repo
        .run_in(
            &repo.root,
            "man",
            &["-l", dir.join("daft.1").to_str().unwrap()],
        )
        .ok()
        .stdout();
    assert!(out.contains("daft"), "{out}");
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn the_committed_schema_is_the_one_daft_prints() {
    let printed = TestRepo::new().daft(&["schema"]).ok().stdout();
    let committed =
        std::fs::read_to_string(manifest_dir().join("daft.schema.json")).unwrap_or_default();
    assert!(
        printed.trim_end() == committed.trim_end(),
        "daft.schema.json is out of date: run `cargo run -- schema > daft.schema.json`"
    );
}

/// The complete configs in a document: YAML blocks (fenced, or after a `yaml` line as in the
/// seed pages) that hold `hooks:`; a list of jobs alone is put into an event.
fn examples(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let fenced = line == "```yaml";
        if fenced || line == "yaml" {
            let mut block = Vec::new();
            i += 1;
            while i < lines.len() {
                let l = lines[i];
                // Unfenced examples end at the first line of prose: top-level YAML here is only
                // a comment, a list item or one of daft.yml's own keys.
                let yamlish = l.is_empty()
                    || l.starts_with([' ', '#', '-'])
                    || ["hooks:", "ports:"].iter().any(|k| l.starts_with(k));
                if (fenced && l.trim() == "```") || (!fenced && !yamlish) {
                    break;
                }
                block.push(l);
                i += 1;
            }
            let block = block.join("\n").trim_end().to_owned() + "\n";
            if block.lines().any(|l| l.starts_with("hooks:")) {
                out.push(block);
            } else if block.trim_start().starts_with("- name:") {
                out.push(in_an_event(&block));
            }
        }
        i += 1;
    }
    out
}

/// A list of jobs put into an event, with a stand-in for each job they need that is not there,
/// and the `ports:` their services' `ready: { port: NAME }` name.
fn in_an_event(block: &str) -> String {
    let names: Vec<&str> = block
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- name:"))
        .map(str::trim)
        .collect();
    let needed: Vec<&str> = block
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("needs:"))
        .flat_map(|l| l.trim().trim_matches(['[', ']']).split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty() && !names.contains(n))
        .collect();
    let ports: Vec<&str> = block
        .lines()
        .filter_map(|l| l.split_once("ready:")?.1.split_once("port:"))
        .filter_map(|(_, rest)| rest.split([',', '}', ' ']).find(|w| !w.is_empty()))
        .collect();
    let mut text = String::new();
    if !ports.is_empty() {
        let _ = writeln!(text, "ports: [{}]", ports.join(", "));
    }
    text.push_str("hooks:\n  worktree-post-create:\n    jobs:\n");
    for need in needed {
        let _ = write!(text, "      - name: {need}\n        run: 'true'\n");
    }
    let indent = block
        .lines()
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| l.len() - l.trim_start().len());
    for line in block.lines() {
        let _ = writeln!(
            text,
            "      {}",
            line.get(indent..).unwrap_or(line.trim_start())
        );
    }
    text
}

/// Whether the JSON Schema accepts `yaml`.
fn schema_accepts(schema: &serde_json::Value, yaml: &str) -> Result<(), String> {
    let value: serde_json::Value = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
    let validator = jsonschema::validator_for(schema).map_err(|e| e.to_string())?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn the_schema_and_validate_agree_on_every_example_in_the_spec_and_the_seed_pages() {
    let shared = crate::common::shared_dir().unwrap();
    let mut docs = vec![shared.join("SPEC.md")];
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(shared.join("seeds"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    seeds.sort();
    docs.extend(seeds);
    agree_on_the_examples_of(&docs, 3);
}

fn the_schema_and_validate_agree_on_every_example_in_the_readme_and_the_docs() {
    let mut docs = vec![manifest_dir().join("README.md")];
    docs.extend(doc_pages());
    agree_on_the_examples_of(&docs, 8);
}

/// The pages under `docs/`.
pub(crate) fn doc_pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join("docs"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    pages
}

fn agree_on_the_examples_of(docs: &[PathBuf], at_least: usize) {
    let schema: serde_json::Value =
        serde_json::from_str(&TestRepo::new().daft(&["schema"]).ok().stdout()).unwrap();
    let mut checked = 0;
    for doc in docs {
        for example in examples(&read(doc)) {
            let repo = TestRepo::new().daft_yml(&example);
            let out = repo.daft(&["validate"]);
            assert_eq!(
                out.code(),
                Some(0),
                "{}: daft validate refused\n{example}\n{}",
                doc.display(),
                out.stderr()
            );
            if let Err(why) = schema_accepts(&schema, &example) {
                panic!("{}: the schema refused\n{example}\n{why}", doc.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= at_least, "found only {checked} examples");
    // And they agree on what is wrong.
    for bad in [
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n",
        "hooks:\n  nonsense:\n    jobs: []\n",
        "hooks:\n  pre-commit:\n    jobs:\n      - name: a\n        run: x\n        colour: red\n",
        "hooks:\n  pre-commit:\n    parallel: 0\n    jobs: []\n",
        "hooks:\n  pre-commit:\n    jobs:\n      - name: a\n        run: x\n        copy: [y]\n",
        "hooks:\n  pre-commit:\n    jobs:\n      - name: a b\n        run: x\n",
        "ports: [1web]\nhooks: {}\n",
    ] {
        let repo = TestRepo::new().daft_yml(bad);
        repo.daft(&["validate"]).fails_with(2);
        assert!(
            schema_accepts(&schema, bad).is_err(),
            "the schema accepted\n{bad}"
        );
    }
}

fn plain_output_where_the_terminal_cannot_show_more() {
    let repo = TestRepo::installed(CONFIG);
    // A C locale: ASCII only, repository text that is not ASCII shown as <U+…>.
    let out = repo
        .command("git", &repo.root)
        .args(["worktree", "add", "-q", "../wt-ü", "-b", "wt"])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fetch-deps"), "{stderr}");
    assert!(stderr.is_ascii(), "{stderr:?}");
    // A UTF-8 locale keeps the symbols.
    let out = repo
        .command(DAFT, &repo.root)
        .args(["hooks", "run", "pre-commit"])
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains('✓'));
}

fn no_colour_on_a_terminal_with_no_color_or_a_dumb_term() {
    let repo = TestRepo::installed(CONFIG);
    // Through a pseudo-terminal, which `script` gives.
    for (name, value) in [("NO_COLOR", "1"), ("TERM", "dumb")] {
        let out = repo
            .command("script", &repo.root)
            .args(["-qec", &format!("{DAFT} hooks run pre-commit"), "/dev/null"])
            .env(name, value)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("lint"), "{name}: {text:?}");
        assert!(!text.contains("\x1b["), "{name}={value}: {text:?}");
    }
}

crate::cases![
    completions_are_generated_for_every_shell,
    [Need::Program("bash")] bash_completes_commands_jobs_events_and_worktrees,
    [Need::Program("fish")] fish_completes_jobs,
    [Need::Program("bash")] shell_integration_in_bash,
    [Need::Program("zsh")] shell_integration_in_zsh,
    [Need::Program("fish")] shell_integration_in_fish,
    man_pages_are_written_for_daft_and_each_command,
    [Need::Program("man")] man_reads_the_pages,
    man_pages_go_beside_the_bin_directory_that_holds_daft,
    [Need::Program("man")] git_daft_help_opens_its_page,
    the_committed_schema_is_the_one_daft_prints,
    the_schema_and_validate_agree_on_every_example_in_the_readme_and_the_docs,
    [Need::Shared] the_schema_and_validate_agree_on_every_example_in_the_spec_and_the_seed_pages,
    plain_output_where_the_terminal_cannot_show_more,
    [Need::Program("script")] no_colour_on_a_terminal_with_no_color_or_a_dumb_term,
];
