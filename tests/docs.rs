//! README.md and `docs/` stay true: README's quick start runs as written on a fresh repository
//! and sets up its worktree, and every daft command the pages show exists with the flags they
//! give it. (Their `daft.yml` examples are validated in `ecosystem`, the agent recipes driven
//! in `agents`.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::{DAFT, TestRepo, read};
use crate::ecosystem::doc_pages;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shell blocks of a page, each as its lines.
fn shell_blocks(text: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        match (&mut current, line.trim()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => block.push(line.to_owned()),
            (None, _) => {}
        }
    }
    blocks
}

/// The first shell block after the heading `heading`.
fn block_after(text: &str, heading: &str) -> Vec<String> {
    let (_, after) = text.split_once(heading).expect("the heading");
    shell_blocks(after)
        .into_iter()
        .next()
        .expect("a shell block")
}

fn readme_s_quick_start_sets_up_a_fresh_repository() {
    let repo = TestRepo::new();
    // A repository as people have them: a gitignored .env that new worktrees lack.
    repo.write(".gitignore", ".env\n");
    repo.write(".env", "API_KEY=local\n");
    repo.git(&["add", ".gitignore"]).ok();
    repo.git(&["commit", "-qm", "ignore .env"]).ok();
    let readme = read(&manifest_dir().join("README.md"));
    let lines = block_after(&readme, "## Quick start");
    std::fs::write(repo.path("quick-start.sh"), lines.join("\n") + "\n").unwrap();
    // On a terminal (`daft trust` asks there), answering its question yes.
    let mut cmd = repo.command("script", &repo.root);
    cmd.args(["-qec", "sh -e ../quick-start.sh", "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"y\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the quick start failed:\n{said}");
    assert!(said.contains("all succeeded"), "{said}");
    let wt = repo.path("feature");
    assert_eq!(read(&wt.join(".env")), "API_KEY=local\n", "{said}");
    repo.daft_in(&wt, &["hooks", "wait"]).ok();
}

/// The help text of `daft <chain>`, if that is a command.
fn help(
    repo: &TestRepo,
    chain: &[String],
    cache: &mut HashMap<Vec<String>, Option<String>>,
) -> Option<String> {
    cache
        .entry(chain.to_vec())
        .or_insert_with(|| {
            let mut args: Vec<&str> = chain.iter().map(String::as_str).collect();
            args.push("--help");
            let out = repo.command(DAFT, &repo.root).args(&args).output().ok()?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let usage = format!("Usage: daft {}", chain.join(" "));
            (out.status.success() && text.contains(usage.trim_end())).then_some(text)
        })
        .clone()
}

/// The daft command lines of a shell block: each `daft …` (or `git daft …`) of a line, split
/// at `&&`, `;` and `|`, its comment dropped.
fn daft_commands(block: &[String]) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for line in block {
        let code = line.split(" #").next().unwrap_or_default();
        for part in code.split(['&', ';', '|']) {
            let words: Vec<String> = part
                .split_whitespace()
                .map(|w| w.trim_matches(['"', '\'', '(', ')', '`']).to_owned())
                .collect();
            let start = match words.first().map(String::as_str) {
                Some("daft") => 1,
                Some("git") if words.get(1).is_some_and(|w| w == "daft") => 2,
                _ => continue,
            };
            commands.push(words[start..].to_vec());
        }
    }
    commands
}

fn every_daft_command_the_pages_show_exists_with_its_flags() {
    let repo = TestRepo::new();
    let mut cache = HashMap::new();
    let mut pages = vec![manifest_dir().join("README.md")];
    pages.extend(doc_pages());
    let mut checked = 0;
    for page in &pages {
        for block in shell_blocks(&read(page)) {
            for words in daft_commands(&block) {
                check_command(&repo, page, &words, &mut cache);
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "only {checked} commands found in the pages");
}

fn check_command(
    repo: &TestRepo,
    page: &Path,
    words: &[String],
    cache: &mut HashMap<Vec<String>, Option<String>>,
) {
    let plain: Vec<String> = words
        .iter()
        .take_while(|w| !w.starts_with('-'))
        .cloned()
        .collect();
    let (chain, text) = (0..=plain.len())
        .rev()
        .find_map(|n| help(repo, &plain[..n], cache).map(|text| (plain[..n].to_vec(), text)))
        .expect("daft --help");
    assert!(
        !chain.is_empty() || words.is_empty() || words[0].starts_with('-'),
        "{}: `daft {}`: no such command",
        page.display(),
        words.join(" ")
    );
    for flag in words.iter().filter(|w| w.starts_with("--")) {
        let name = flag.split('=').next().unwrap_or(flag);
        assert!(
            text.contains(name),
            "{}: `daft {}`: `{name}` is not a flag of `daft {}`",
            page.display(),
            words.join(" "),
            chain.join(" ")
        );
    }
}

crate::cases![
    [Need::Program("script")] readme_s_quick_start_sets_up_a_fresh_repository,
    every_daft_command_the_pages_show_exists_with_its_flags,
];
