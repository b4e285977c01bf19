//! `daft init`: a starter `daft.yml` from what the repository holds — a lock file says which
//! ecosystem's recipe fits, an untracked `.env` or a `.worktreeinclude` says what to carry —
//! with the schema line on top (and `daft.schema.json` beside it), never over a config that is
//! there. It says what it chose and why; the config still runs only once it is trusted.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::error::usage;
use crate::escape::shell_quote;

/// One recipe: why it was chosen, and its jobs (YAML, indented under `jobs:`).
struct Recipe {
    why: String,
    jobs: String,
}

pub(crate) fn run() -> Result<u8> {
    let (wt, sources) = super::here()?;
    let root = wt.root.as_std_path();
    if let Some(sources) = sources {
        usage!(
            "{} exists already, and daft init never overwrites a config; check it with `daft validate`, or move it aside to start again",
            shell_quote(&sources.main.path)
        );
    }
    let recipes = recipes(root);
    let path = root.join("daft.yml");
    let text = config_text(&recipes);
    // What it writes must be a config daft accepts: the recipes are daft's own.
    let made = crate::config::Sources {
        main: crate::config::Source {
            path: path.clone(),
            bytes: text.clone().into_bytes(),
        },
        local: None,
    };
    made.parse()
        .map_err(|err| anyhow::anyhow!("{err}"))
        .context("daft init made a config it cannot read")?;
    crate::files::write_new_for_people(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", shell_quote(&path));
    let schema = root.join("daft.schema.json");
    if !schema.exists() {
        let mut json = crate::config::schema();
        json.push('\n');
        crate::files::write_new_for_people(&schema, json.as_bytes())
            .with_context(|| format!("cannot write {}", schema.display()))?;
        println!(
            "wrote {} (editors check daft.yml against it)",
            shell_quote(&schema)
        );
    }
    if recipes.is_empty() {
        println!("found no lock file, .env or .worktreeinclude: daft.yml has an example to edit");
    }
    for recipe in &recipes {
        println!("  {}", recipe.why);
    }
    println!(
        "next: read it, commit it (new worktrees are made from commits: `git add daft.yml daft.schema.json && git commit`), then `daft trust` to let it run"
    );
    Ok(0)
}

/// The recipes that fit the repository at `root`, in the order their jobs should appear.
fn recipes(root: &Path) -> Vec<Recipe> {
    let has = |name: &str| root.join(name).exists();
    let mut found = Vec::new();
    if has(".worktreeinclude") {
        found.push(Recipe {
            why: ".worktreeinclude: copies the gitignored files it names from the main worktree"
                .into(),
            jobs: "      - name: local-files\n        copy: { include: .worktreeinclude }\n".into(),
        });
    } else {
        let env_files = untracked_env_files(root);
        if !env_files.is_empty() {
            found.push(Recipe {
                why: format!(
                    "{}: copied from the main worktree (untracked, so no checkout has them)",
                    env_files.join(", ")
                ),
                jobs: format!(
                    "      - name: env-files\n        copy: [{}]\n",
                    env_files.join(", ")
                ),
            });
        }
    }
    if has("Cargo.toml") {
        let locked = if has("Cargo.lock") { " --locked" } else { "" };
        found.push(Recipe {
            why: "Cargo.toml: the warm start — the main worktree's target/ copied (tracked files keep their modification times, so cargo rebuilds only what differs), crates fetched while git waits, the build finished in the background".into(),
            jobs: format!(
                "      - name: seed-target\n        copy: [target]\n      - name: fetch-deps\n        run: cargo fetch{locked}\n      - name: warmup-build\n        run: cargo build{locked} --workspace --all-targets\n        background: true\n        needs: [seed-target, fetch-deps]\n"
            ),
        });
    }
    if has("pnpm-lock.yaml") {
        found.push(Recipe {
            why: "pnpm-lock.yaml: pnpm installs from its store (hard links), so no copy is needed".into(),
            jobs: "      - name: pnpm-install\n        run: pnpm install --frozen-lockfile --prefer-offline\n".into(),
        });
    } else if has("package-lock.json") {
        found.push(Recipe {
            why: "package-lock.json: node_modules copied from the main worktree, then `npm install` makes it match this branch's lock file (quick when it already does)".into(),
            jobs: "      - name: node-modules\n        copy: [node_modules]\n        only: { files: [package-lock.json] }\n      - name: npm-install\n        run: npm install --prefer-offline --no-audit --no-fund\n        needs: [node-modules]\n".into(),
        });
    }
    if has("uv.lock") {
        found.push(Recipe {
            why: "uv.lock: `uv sync --frozen` makes the worktree's own .venv from uv's cache (a copied venv would run the main worktree's code)".into(),
            jobs: "      - name: uv-sync\n        run: uv sync --frozen\n".into(),
        });
    }
    if has("go.mod") {
        found.push(Recipe {
            why: "go.mod: modules downloaded while git waits, a background `go build ./...` builds this worktree's packages into Go's build cache (go keys them by directory; with `go env -w GOFLAGS=-trimpath` every worktree shares them and the build job is not needed)".into(),
            jobs: "      - name: go-mod-download\n        run: go mod download\n      - name: go-build\n        run: go build ./...\n        background: true\n        needs: [go-mod-download]\n".into(),
        });
    }
    found
}

/// The `.env` files at `root` that git does not track (and does not see: ignored or not).
fn untracked_env_files(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n == ".env" || (n.starts_with(".env.") && !n.ends_with(".example")))
        .filter(|n| crate::git::output(root, &["ls-files", "--error-unmatch", "--", n]).is_err())
        .collect();
    names.sort();
    names
}

/// The text of the config: the schema line, a word on what it is, then the recipes' jobs.
fn config_text(recipes: &[Recipe]) -> String {
    let mut text = String::from(
        "# yaml-language-server: $schema=./daft.schema.json\n# Written by `daft init`. A new worktree's setup: the synchronous jobs run while\n# `git worktree add` waits, background ones after it returns; `daft hooks wait` says when\n# all is done. Nothing runs until you trust this file (`daft trust`).\n",
    );
    if recipes.is_empty() {
        text.push_str(
            "hooks:\n  worktree-post-create:\n    jobs:\n      - name: hello\n        run: echo \"set up $DAFT_WORKTREE\"\n",
        );
        return text;
    }
    text.push_str("hooks:\n  worktree-post-create:\n    jobs:\n");
    for recipe in recipes {
        let _ = write!(text, "{}", recipe.jobs);
    }
    text
}
