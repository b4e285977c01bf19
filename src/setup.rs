//! Every worktree is owed its setup once (SPEC §2). A linked worktree's setup is its
//! `worktree-post-create` jobs; where it stands — pending, running, done, failed — comes from
//! its record and its setup run. A pending setup runs at the first of `daft trust`, `daft hooks
//! wait` (with a trusted config) or `daft hooks run worktree-post-create`; the hook of `git
//! worktree add` runs it as it is made. [`claim`] makes that happen exactly once: whoever
//! takes the worktree's setup lock first records the run it starts, and everyone after sees it.

use std::path::Path;

use anyhow::Result;

use crate::files::open_lock;
use crate::registry::{self, Owed, Record, Setup};
use crate::runs::Run;
use crate::state::State;
use crate::worktree::Identity;

/// Where a worktree's setup stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The main worktree, or a config without setup jobs: nothing is owed.
    NotOwed,
    /// Owed and not started.
    Pending(Owed),
    /// Its setup run is under way (the run's id).
    Running(String),
    Done(String),
    Failed(String),
    /// What daft recorded cannot be read.
    Unknown(String),
}

impl Standing {
    /// A sentence for the user.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::NotOwed => "nothing to set up".into(),
            Self::Pending(Owed::NotTrusted) => {
                "its setup is pending: the config was not trusted (or not valid) when the worktree was made".into()
            }
            Self::Pending(Owed::Unannounced) => {
                "its setup is pending: no hook announced this worktree (made with --no-checkout, by a tool that runs no hooks, or before daft was installed)".into()
            }
            Self::Running(run) => format!("its setup is running (run {run})"),
            Self::Done(run) => format!("its setup is done (run {run})"),
            Self::Failed(run) => format!("its setup failed (run {run})"),
            Self::Unknown(why) => format!("where its setup stands is unknown: {why}"),
        }
    }
}

/// Where the setup of worktree `identity` stands; `owed` says whether its config has setup
/// jobs at all (`None`: it cannot be told, e.g. an untrusted config that names the event).
pub(crate) fn standing(state: &State, identity: &Identity, owed: bool) -> Standing {
    if identity.admin.is_none() {
        return Standing::NotOwed;
    }
    let dir = state.worktree(&identity.id);
    let record = match Record::read(&dir) {
        Ok(record) => record,
        Err(damaged) => return Standing::Unknown(damaged.0),
    };
    match record.and_then(|r| r.setup) {
        Some(Setup::Started { run }) => {
            let run_dir = dir.runs().join(&run);
            if !run_dir.is_dir() {
                return Standing::Unknown(format!("the records of its setup run {run} are gone"));
            }
            let jobs = Run::open(&run_dir).jobs();
            if jobs.iter().any(|job| !job.status.settled()) {
                Standing::Running(run)
            } else if jobs.iter().all(|job| job.status.no_failure()) {
                Standing::Done(run)
            } else {
                Standing::Failed(run)
            }
        }
        _ if !owed => Standing::NotOwed,
        Some(Setup::Pending { owed }) => Standing::Pending(owed),
        None => Standing::Pending(Owed::Unannounced),
    }
}

/// Whether a setup run may start when one has started already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// Only if none has started (the hook, `trust`, `wait`).
    Owed,
    /// Always: the user asked for it by hand (`daft hooks run worktree-post-create`).
    Asked,
}

/// The outcome of [`claim`].
pub(crate) enum Claim {
    /// This caller runs the setup, in this run.
    Mine(Run),
    /// It started already, in that run.
    Started(String),
}

/// Takes worktree `identity`'s setup: under its lock, unless a setup run has started (and
/// `when` is [`When::Owed`]), makes the run with `create` and records it as the setup run.
pub(crate) fn claim(
    state: &State,
    identity: &Identity,
    path: &Path,
    when: When,
    create: impl FnOnce(&[&str]) -> Result<Run>,
) -> Result<Claim> {
    let dir = state.worktree(&identity.id);
    std::fs::create_dir_all(dir.path())?;
    let _lock = open_lock(&dir.setup_lock())?;
    let started = match Record::read(&dir) {
        Ok(Some(Record {
            setup: Some(Setup::Started { run }),
            ..
        })) => Some(run),
        _ => None,
    };
    if let (Some(run), When::Owed) = (&started, when) {
        return Ok(Claim::Started(run.clone()));
    }
    let keep: Vec<&str> = started.iter().map(String::as_str).collect();
    let run = create(&keep)?;
    let id = run.meta.id.clone();
    registry::update(state, identity, path, |record| {
        record.setup = Some(Setup::Started { run: id });
    })?;
    Ok(Claim::Mine(run))
}

/// Notes that worktree `identity`'s setup is owed and why (a worktree made while its config
/// was untrusted), unless a setup has started.
pub(crate) fn owe(state: &State, identity: &Identity, path: &Path, owed: Owed) -> Result<()> {
    if identity.admin.is_none() {
        return Ok(());
    }
    let dir = state.worktree(&identity.id);
    std::fs::create_dir_all(dir.path())?;
    let _lock = open_lock(&dir.setup_lock())?;
    registry::update(state, identity, path, |record| {
        if !matches!(record.setup, Some(Setup::Started { .. })) {
            record.setup = Some(Setup::Pending { owed });
        }
    })?;
    Ok(())
}

/// Says once, in a worktree whose setup is pending, what that means and what runs it. `owed`:
/// whether its (trusted) config has setup jobs.
pub(crate) fn tell_if_pending(
    state: &State,
    wt: &crate::worktree::Worktree,
    owed: bool,
    printer: &crate::printer::Printer,
) {
    let standing = standing(state, &wt.identity, owed);
    let Standing::Pending(_) = standing else {
        return;
    };
    let dir = state.worktree(&wt.identity.id);
    if Record::read(&dir).is_ok_and(|r| r.is_some_and(|r| r.told_pending)) {
        return;
    }
    printer.notice(&format!(
        "this worktree was never set up: {}. Run it now: cd {} && daft hooks wait",
        standing
            .describe()
            .trim_start_matches("its setup is pending: "),
        crate::escape::shell_quote(wt.root.as_std_path())
    ));
    let _ = registry::update(state, &wt.identity, wt.root.as_std_path(), |record| {
        record.told_pending = true;
    });
}

/// Why the worktree at `root` counts as in use, if it does: anything beside what git checked
/// out — a file of its own (build output, ignored or not) or a tracked file changed. A setup
/// that runs late carries no modification times into such a worktree: its own build output
/// would look newer than files given older times.
pub(crate) fn in_use(root: &Path) -> Option<String> {
    let out = crate::git::command(root)
        .args([
            "status",
            "--porcelain",
            "-z",
            "--ignored",
            "--untracked-files=normal",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out.stdout,
        _ => return Some("git could not say what is in it".into()),
    };
    let first = out.split(|&b| b == 0).find(|e| e.len() > 3)?;
    let (code, path) = first.split_at(3);
    let path = crate::escape::visible(path);
    Some(match code {
        b"!! " => format!("{path} is there, ignored by git: build output of its own?"),
        b"?? " => format!("{path} is there, untracked"),
        _ => format!("{path} was changed"),
    })
}

/// The run a started setup is in (for those who wait on it).
pub(crate) fn run_of(state: &State, identity: &Identity) -> Option<String> {
    match Record::read(&state.worktree(&identity.id)) {
        Ok(Some(Record {
            setup: Some(Setup::Started { run }),
            ..
        })) => Some(run),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            id: "wt_0a1b2c".into(),
            admin: Some("wt".into()),
        }
    }

    fn new_run(state: &State, keep: &[&str]) -> Result<Run> {
        Run::create(
            state,
            &state.worktree("wt_0a1b2c"),
            Path::new("/tmp/wt"),
            "worktree-post-create",
            &[("a".into(), false)],
            keep,
        )
    }

    #[test]
    fn a_setup_is_claimed_once_and_asked_for_again_only_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::of(dir.path());
        let id = identity();
        assert_eq!(
            standing(&state, &id, true),
            Standing::Pending(Owed::Unannounced)
        );
        assert_eq!(standing(&state, &id, false), Standing::NotOwed);
        owe(&state, &id, Path::new("/tmp/wt"), Owed::NotTrusted).unwrap();
        assert_eq!(
            standing(&state, &id, true),
            Standing::Pending(Owed::NotTrusted)
        );
        let Claim::Mine(first) = claim(&state, &id, Path::new("/tmp/wt"), When::Owed, |k| {
            new_run(&state, k)
        })
        .unwrap() else {
            panic!("the first claim is ours");
        };
        // Its job is recorded pending by whoever claimed it (this test, alive): running.
        assert_eq!(
            standing(&state, &id, true),
            Standing::Running(first.meta.id.clone())
        );
        match claim(&state, &id, Path::new("/tmp/wt"), When::Owed, |k| {
            new_run(&state, k)
        })
        .unwrap()
        {
            Claim::Started(run) => assert_eq!(run, first.meta.id),
            Claim::Mine(_) => panic!("claimed twice"),
        }
        // Owing it again once started changes nothing.
        owe(&state, &id, Path::new("/tmp/wt"), Owed::NotTrusted).unwrap();
        assert_eq!(run_of(&state, &id), Some(first.meta.id.clone()));
        let Claim::Mine(second) = claim(&state, &id, Path::new("/tmp/wt"), When::Asked, |k| {
            new_run(&state, k)
        })
        .unwrap() else {
            panic!("asked by hand: it runs again");
        };
        assert_ne!(second.meta.id, first.meta.id);
        assert_eq!(run_of(&state, &id), Some(second.meta.id));
    }

    #[test]
    fn a_damaged_record_is_unknown_not_pending() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::of(dir.path());
        let id = identity();
        std::fs::create_dir_all(state.worktree(&id.id).path()).unwrap();
        std::fs::write(state.worktree(&id.id).record(), b"\0\0\0").unwrap();
        assert!(matches!(standing(&state, &id, true), Standing::Unknown(_)));
    }
}
