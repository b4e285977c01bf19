//! `daft hooks wait [JOB…] [--timeout DUR]`: the signal an editor, a script or a coding agent
//! waits on instead of racing the setup. In a linked worktree it first makes sure the setup
//! has run: a pending setup with a trusted config is started (detached, exactly once) and
//! waited for; one that cannot run (untrusted, invalid, another user's repository) is an
//! error that says what to do. Then it waits for the setup run and the latest run (or the
//! latest run of each named job): exit 0 when every job succeeded (or was skipped by its own
//! condition), 1 when any did not or cannot be told, 2 when the setup cannot run, 124 on
//! timeout. Progress on a terminal's status line; without one, a line every few seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::WaitArgs;
use crate::duration::human;
use crate::error::usage;
use crate::event::Event;
use crate::printer::Printer;
use crate::repo::Repo;
use crate::resolve::{self, Resolution};
use crate::runner::{self, Ran};
use crate::runs::{self, JobRecord, Run};
use crate::setup::{self, Standing, When};
use crate::worktree::Worktree;

/// How often a line is printed without a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// A job waited for: the run it belongs to and its name.
struct Target {
    run: usize,
    name: String,
}

pub(crate) fn run(args: &WaitArgs) -> Result<u8> {
    let printer = Arc::new(Printer::stderr());
    let repo = Repo::discover(&super::current_dir()?)?;
    let wt = Worktree::of(&repo)?;
    let started = Instant::now();
    let deadline = args.timeout.map(|t| started + t);
    let setup_run = if args.jobs.is_empty() {
        match ensure_setup(&repo, &wt, &printer)? {
            Ok(run) => run,
            Err(code) => return Ok(code),
        }
    } else {
        None
    };
    let owner = wt.state().worktree(&wt.identity.id);
    let history = runs::list(&owner);
    let mut runs: Vec<&Run> = Vec::new();
    let mut targets = Vec::new();
    if args.jobs.is_empty() {
        let setup = setup_run
            .as_deref()
            .and_then(|id| history.iter().find(|run| run.meta.id == id));
        for run in setup.into_iter().chain(history.first()) {
            if runs.iter().any(|r| r.meta.id == run.meta.id) {
                continue;
            }
            runs.push(run);
            let index = runs.len() - 1;
            targets.extend(run.meta.jobs.iter().map(|name| Target {
                run: index,
                name: name.clone(),
            }));
        }
        if runs.is_empty() {
            printer.notice("no runs in this worktree and no setup owed; nothing to wait for");
            return Ok(0);
        }
    } else {
        for name in &args.jobs {
            let Some(run) = history.iter().find(|run| run.meta.jobs.contains(name)) else {
                usage!(
                    "no run of a job named `{}` in this worktree; `daft hooks log show` lists the runs",
                    crate::escape::text(name)
                );
            };
            runs.push(run);
            targets.push(Target {
                run: runs.len() - 1,
                name: name.clone(),
            });
        }
    }
    let mut last_line = Instant::now();
    let records = loop {
        let records: Vec<JobRecord> = targets.iter().map(|t| runs[t.run].job(&t.name)).collect();
        let waiting: Vec<&JobRecord> = records.iter().filter(|r| !r.status.settled()).collect();
        if waiting.is_empty() {
            break records;
        }
        let now = runs::now();
        let line: Vec<String> = waiting
            .iter()
            .map(|r| match (r.started_at, r.status) {
                (Some(at), crate::runs::Status::Starting) => {
                    format!("{} (starting) {}", r.name, human(secs(now - at)))
                }
                (Some(at), _) => format!("{} {}", r.name, human(secs(now - at))),
                (None, _) => format!("{} (pending)", r.name),
            })
            .collect();
        let line = format!("waiting for {}", line.join(" · "));
        if deadline.is_some_and(|at| Instant::now() >= at) {
            printer.set_status(None);
            let names: Vec<&str> = waiting.iter().map(|r| r.name.as_str()).collect();
            printer.notice(&format!(
                "timed out after {} waiting for {}",
                human(started.elapsed()),
                names.join(", ")
            ));
            return Ok(124);
        }
        if printer.is_live() {
            printer.set_status(Some(line));
        } else if last_line.elapsed() >= PROGRESS_EVERY {
            last_line = Instant::now();
            printer.notice(&line);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    printer.set_status(None);
    let code = verdict(&runs, &records, &printer);
    show_first_failure(&runs, &targets, &records);
    Ok(code)
}

/// Makes sure the worktree's setup has started: starts a pending one whose config is trusted
/// (and says so), and tells why one cannot run. Returns the setup run to wait for, if any, or
/// the exit code to end with.
fn ensure_setup(
    repo: &Repo,
    wt: &Worktree,
    printer: &Arc<Printer>,
) -> Result<Result<Option<String>, u8>> {
    if wt.identity.admin.is_none() {
        return Ok(Ok(None)); // the main worktree is owed no setup
    }
    if !wt.checked_out() {
        printer.notice(
            "this worktree's files are not checked out (`git worktree add --no-checkout`?), so it is not set up: check them out here (`git checkout`, or `git reset --hard`), then `daft hooks wait` runs its setup",
        );
        return Ok(Err(2));
    }
    let state = wt.state();
    // A setup that has not run yet runs with the local overrides of the worktree it came from.
    if matches!(
        setup::standing(&state, &wt.identity, true),
        Standing::Pending(_)
    ) && let Some(said) = crate::untracked::carry_local_config(repo)
    {
        printer.notice(&said);
    }
    let checked = resolve::check(repo, Some(Event::WorktreePostCreate));
    let owed = match &checked {
        Ok(checked) => checked.config.event(Event::WorktreePostCreate).is_some(),
        Err(Resolution::Nothing(_)) => {
            // No config here, but the worktree it came from has one: not set up, and loud.
            if let Some((what, fix)) = crate::untracked::config_left_behind(repo) {
                printer.warn(&format!("{what}. To fix: {fix}"));
                return Ok(Err(2));
            }
            false
        }
        Err(_) => true,
    };
    match setup::standing(&state, &wt.identity, owed) {
        Standing::NotOwed => return Ok(Ok(None)),
        Standing::Running(run) | Standing::Done(run) | Standing::Failed(run) => {
            return Ok(Ok(Some(run)));
        }
        Standing::Unknown(why) => {
            printer.warn(&format!(
                "where this worktree's setup stands cannot be told: {why}; run it again with `daft hooks run worktree-post-create`"
            ));
            return Ok(Err(1));
        }
        Standing::Pending(_) => {}
    }
    let checked = match checked {
        Ok(checked) => checked,
        Err(Resolution::Refused(refusal)) => {
            printer.notice(&format!(
                "{} — this worktree's setup has not run and cannot run until then",
                refusal.message
            ));
            return Ok(Err(2));
        }
        Err(_) => return Ok(Ok(None)),
    };
    let plan = match resolve::plan(repo, &checked, Event::WorktreePostCreate, &[])? {
        Resolution::Ready(plan) => plan,
        Resolution::Nothing(_) => return Ok(Ok(None)),
        Resolution::Refused(refusal) => {
            printer.notice(&refusal.message);
            return Ok(Err(2));
        }
    };
    match runner::start_detached(*plan, printer, When::Owed)? {
        Ran::Code(_) => {}
        Ran::SetupStarted(run) => return Ok(Ok(Some(run))),
    }
    printer.notice("this worktree was never set up; its setup is running now");
    Ok(Ok(setup::run_of(&state, &wt.identity)))
}

/// The exit code for the jobs waited for, with a line that says it.
fn verdict(runs: &[&Run], records: &[JobRecord], printer: &Printer) -> u8 {
    let mut failed: Vec<String> = runs
        .iter()
        .filter_map(|run| run.damaged.as_ref().map(|why| (run, why)))
        .map(|(run, why)| format!("run {} cannot be read ({why})", run.meta.id))
        .collect();
    let mut first = None;
    for record in records.iter().filter(|r| !r.status.no_failure()) {
        first.get_or_insert(record.name.as_str());
        let how = match (record.status, record.exit_code) {
            (crate::runs::Status::Failed, Some(code)) => format!("failed (exit {code})"),
            (status, _) => status.word().to_owned(),
        };
        failed.push(format!("{} {how}", record.name));
    }
    if failed.is_empty() {
        let serving: Vec<String> = records
            .iter()
            .filter(|r| r.status == crate::runs::Status::Ready)
            .map(|r| match r.service.as_ref().and_then(|s| s.port) {
                Some(port) => format!("{} on port {port}", r.name),
                None => r.name.clone(),
            })
            .collect();
        let done = records.len() - serving.len();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        printer.notice(&match (done, serving.len()) {
            (_, 0) => format!("{done} job{} done: all succeeded", plural(done)),
            (0, n) => format!("ready: {} ({n} service{})", serving.join(", "), plural(n)),
            (_, n) => format!(
                "{done} job{} done, all succeeded; ready: {} ({n} service{})",
                plural(done),
                serving.join(", "),
                plural(n)
            ),
        });
        return 0;
    }
    let see = first.map_or_else(
        || "`daft hooks log show`".to_owned(),
        |job| format!("`daft hooks log show {job}`"),
    );
    printer.notice(&format!("{}; see {see}", failed.join(", ")));
    1
}

/// What the first failed job said last, so the reader need not go and look.
fn show_first_failure(runs: &[&Run], targets: &[Target], records: &[JobRecord]) {
    let Some((target, _)) = targets
        .iter()
        .zip(records)
        .find(|(_, record)| !record.status.no_failure())
    else {
        return;
    };
    let lines = log_tail(&runs[target.run].log_path(&target.name), TAIL_LINES);
    if !lines.is_empty() {
        eprintln!("the end of {}'s log:", crate::escape::text(&target.name));
        for line in lines {
            eprintln!("  │ {}", crate::escape::text(&line));
        }
    }
}

/// How many of a failed job's last lines `wait` shows.
const TAIL_LINES: usize = 10;

/// The last `count` lines of the log at `path` (read from its last 8 KiB at most).
fn log_tail(path: &std::path::Path, count: usize) -> Vec<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let from = len.saturating_sub(8 * 1024);
    let mut tail = Vec::new();
    if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_end(&mut tail).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&tail);
    let mut lines: Vec<&str> = text.lines().collect();
    if from > 0 && !lines.is_empty() {
        lines.remove(0); // cut in the middle
    }
    let skip = lines.len().saturating_sub(count);
    lines[skip..].iter().map(|l| (*l).to_owned()).collect()
}

fn secs(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default()
}
