//! One of daft's own processes — the hook, the supervisor, a copy — killed with SIGKILL at a
//! random moment of a worktree's setup, again and again. After each: every record reads as a
//! truthful status, no half-written file is left in the work tree, no job process outlives
//! its worktree's removal, and the next `git worktree add` works. `DAFT_STRESS_ITERATIONS`
//! runs it longer (bench/RESULTS.md has a long run); CI runs a few.

use std::path::Path;
use std::time::Duration;

use crate::common::{TestRepo, kill, runs, wait_until};

const CONFIG: &str = "hooks:
  worktree-post-create:
    jobs:
      - name: seed
        copy: [cache]
      - name: prepare
        run: sleep 1
      - name: warm
        run: sleep 1
        background: true
        needs: [seed]
      - name: serve
        run: exec sleep 300
        background: true
";

/// A small deterministic generator: the same run every time for the same iteration.
fn rand(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

/// Processes whose working directory is `dir` and whose command line holds `word`.
fn processes_in(dir: &Path, word: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir)
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.split(|&b| b == 0).any(|arg| arg == word.as_bytes()))
        })
        .collect()
}

/// Processes that are jobs of the worktree at `wt` (their environment says so).
fn jobs_of(wt: &Path) -> Vec<u32> {
    let wanted = format!("DAFT_WORKTREE={}", wt.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == wanted.as_bytes()))
                && crate::common::pid_alive(*pid)
        })
        .collect()
}

fn half_written(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            } else if name.contains(".daft-copy-") {
                out.push(entry.path().display().to_string());
            }
        }
    }
    out
}

fn daft_processes_killed_at_random_moments_leave_no_orphan_and_no_lie() {
    let iterations: u64 = std::env::var("DAFT_STRESS_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6);
    let repo = TestRepo::new();
    repo.write(".gitignore", "cache/\n");
    let repo = repo.daft_yml(CONFIG).commit().install().trust();
    for i in 0..24 {
        repo.write(&format!("cache/part{i}"), &"x".repeat(6 * 1024 * 1024));
    }
    let mut seed = 42;
    let mut killed = [0u32; 3];
    for k in 0..iterations {
        let name = format!("s{k}");
        let wt = repo.path(&name);
        let mut add = repo
            .command("git", &repo.root)
            .args(["worktree", "add", "-q", &format!("../{name}"), "-b", &name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let victim = (rand(&mut seed) % 3) as usize;
        let word = ["hook", "__supervise", "__copy"][victim];
        // Once the victim exists, a random moment of its life (a copy's is short).
        let started = std::time::Instant::now();
        while processes_in(&wt, word).is_empty() && started.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(2));
        }
        let span = if victim == 2 { 60 } else { 900 };
        std::thread::sleep(Duration::from_millis(rand(&mut seed) % span));
        for pid in processes_in(&wt, word) {
            if kill("KILL", i64::from(pid)) {
                killed[victim] += 1;
            }
        }
        let _ = add.wait();
        // Every record settles to a truthful status: final, or running with its process alive.
        wait_until(Duration::from_secs(30), "the records to settle", || {
            runs(&repo, &wt).iter().all(|run| {
                run["jobs"].as_array().unwrap().iter().all(|job| {
                    let status = job["status"].as_str().unwrap();
                    match status {
                        "pending" => false,
                        "running" => job["pid"]
                            .as_u64()
                            .is_some_and(|pid| crate::common::pid_alive(pid as u32)),
                        _ => true,
                    }
                })
            })
        });
        assert_eq!(half_written(&wt), Vec::<String>::new(), "iteration {k}");
        // Gone: nothing of its jobs outlives it.
        std::fs::remove_dir_all(&wt).unwrap();
        repo.daft(&["hooks", "log", "show"]).ok();
        wait_until(
            Duration::from_secs(20),
            &format!("iteration {k}: the jobs of a removed worktree to end"),
            || {
                repo.daft(&["hooks", "log", "show"]).ok();
                jobs_of(&wt).is_empty()
            },
        );
    }
    eprintln!(
        "killed: {} hooks, {} supervisors, {} copies",
        killed[0], killed[1], killed[2]
    );
    // And the next worktree is set up as if nothing had happened.
    repo.git(&["worktree", "add", "-q", "../after", "-b", "after"])
        .ok();
    repo.daft_in(
        &repo.path("after"),
        &["hooks", "wait", "warm", "--timeout", "30s"],
    )
    .ok();
    repo.daft_in(&repo.path("after"), &["hooks", "cancel"]).ok();
}

crate::cases![daft_processes_killed_at_random_moments_leave_no_orphan_and_no_lie];
