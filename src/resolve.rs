//! The one place that decides whether jobs run: "this call, in this repository, for this
//! event" becomes one value — nothing to do, refused (with the one sentence to tell the user),
//! or a [`Plan`] to run. Is there a config, does it name the event, is the repository ours, is
//! the config trusted, is it valid, which worktree, what do its jobs get: decided here, in that
//! order, and never looked up again after. The hook, `daft hooks run`, `daft remove`, the
//! teardown, `daft hooks wait` and `daft trust` all run what this returns; the plan is also
//! what the supervisor is handed.

use std::ffi::OsString;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::config::{Config, EventConfig, Sources};
use crate::error::ConfigError;
use crate::escape::shell_quote;
use crate::event::Event;
use crate::job::Context;
use crate::registry::Record;
use crate::repo::Repo;
use crate::state::State;
use crate::trust::{self, Kept, Store, Trusted};
use crate::worktree::{self, Worktree};

/// What runs: an event's jobs, and everything they are told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(clippy::struct_excessive_bools)] // independent facts about one run, not a state
pub(crate) struct Plan {
    pub(crate) ctx: Context,
    pub(crate) event: EventConfig,
    /// Its synchronous jobs run under the supervisor too: nobody waits at a terminal (a
    /// setup started by `daft trust` or `daft hooks wait`).
    #[serde(default)]
    pub(crate) detached: bool,
    /// Sentences for the user about how the plan was made (an input that was ignored).
    #[serde(skip)]
    pub(crate) notes: Vec<String>,
    /// Whether the config gives the worktree a setup (`worktree-post-create` jobs).
    #[serde(skip)]
    pub(crate) owes_setup: bool,
    /// (a setup) It runs as git makes the worktree, not later in a worktree that may be in use.
    #[serde(skip)]
    pub(crate) fresh: bool,
    /// Run by hand (`daft hooks run`): a failed job fails the command, whatever `fail_mode`
    /// says about git.
    #[serde(skip)]
    pub(crate) by_hand: bool,
}

/// Why there is nothing to run, when nothing is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Absent {
    /// A bare repository: no work tree, no config.
    NoWorkTree,
    NoConfig,
    /// The config does not name the event (found without parsing it).
    NotNamed,
    /// It names the event but gives it no jobs.
    NoJobs,
}

/// Why jobs that exist must not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Why {
    /// The repository (or daft's directory in it) belongs to another user.
    Foreign,
    Untrusted(trust::Status),
    /// The config cannot be read, or is not valid.
    Invalid,
    /// The work tree's path is not UTF-8.
    NotUtf8,
    /// (A teardown) the trusted config it had is damaged.
    Damaged,
}

#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) why: Why,
    /// One sentence: what happened and what to do.
    pub(crate) message: String,
    /// The config's own error, with its place, when that is why.
    pub(crate) error: Option<Box<ConfigError>>,
}

pub(crate) enum Resolution {
    Nothing(Absent),
    Refused(Refusal),
    Ready(Box<Plan>),
}

/// A config that is trusted and valid.
pub(crate) struct Checked {
    pub(crate) trusted: Trusted,
    pub(crate) config: Config,
}

/// The config of `repo`'s work tree, trusted and valid. With `named`, a config that does not
/// mention that event at all is [`Absent::NotNamed`] before anything else is looked at: most
/// hook calls end there, having read one small file.
pub(crate) fn check(repo: &Repo, named: Option<Event>) -> Result<Checked, Resolution> {
    let Some(root) = repo.work_tree.as_deref() else {
        return Err(Resolution::Nothing(Absent::NoWorkTree));
    };
    let sources = match Sources::find(root) {
        Ok(Some(sources)) => sources,
        Ok(None) => return Err(Resolution::Nothing(Absent::NoConfig)),
        Err(err) => return Err(invalid(err, "no jobs ran")),
    };
    if let Some(event) = named
        && !sources.mention(event.name())
    {
        return Err(Resolution::Nothing(Absent::NotNamed));
    }
    if let Err(err) = repo.check_owner() {
        return Err(refused(Why::Foreign, format!("{err:#}")));
    }
    let state = State::of(&repo.common_dir);
    // Trust before parsing: an untrusted config costs no more than hashing it.
    let trusted = match Store::new(&state).check(sources) {
        Ok(trusted) => trusted,
        Err((sources, status)) => {
            // Trusting it would not make it run: said without parsing what is not trusted.
            if Store::new(&state).known_invalid(&trust::Fingerprint::of(&sources)) {
                return Err(refused(
                    Why::Invalid,
                    format!(
                        "{} has mistakes, so `daft trust` refused it; no jobs ran. Fix it (`daft validate` lists every problem), then trust it with `daft trust`",
                        sources.file_name()
                    ),
                ));
            }
            let why = match &status {
                trust::Status::Unreadable(reason) => {
                    format!("the trust store is unreadable ({reason})")
                }
                trust::Status::Changed => {
                    format!("{} changed since it was trusted", sources.file_name())
                }
                _ => format!("{} is not trusted yet", sources.file_name()),
            };
            return Err(refused(
                Why::Untrusted(status),
                format!(
                    "{why}; no jobs ran. Review and trust it: cd {} && daft trust",
                    shell_quote(root)
                ),
            ));
        }
    };
    match trusted.parse() {
        Ok(config) => Ok(Checked { trusted, config }),
        Err(err) => Err(invalid(
            err,
            "no jobs ran. Fix daft.yml (`daft validate` lists every problem)",
        )),
    }
}

/// What to run for `event` in `repo`, with git's hook arguments.
pub(crate) fn resolve(repo: &Repo, event: Event, hook_args: &[OsString]) -> Result<Resolution> {
    let checked = match check(repo, Some(event)) {
        Ok(checked) => checked,
        Err(resolution) => return Ok(resolution),
    };
    plan(repo, &checked, event, hook_args)
}

/// The plan for `event` from a config already checked.
pub(crate) fn plan(
    repo: &Repo,
    checked: &Checked,
    event: Event,
    hook_args: &[OsString],
) -> Result<Resolution> {
    let Some(jobs) = checked.config.event(event) else {
        return Ok(Resolution::Nothing(Absent::NoJobs));
    };
    let wt = match Worktree::of(repo) {
        Ok(wt) => wt,
        Err(err) => {
            return Ok(refused(
                Why::NotUtf8,
                format!("{err:#}; daft's jobs were skipped"),
            ));
        }
    };
    let details = wt.details()?;
    let (source, ignored) = worktree::source_worktree(repo, &details);
    let ports = crate::ports::lease(
        wt.common_dir.as_std_path(),
        &wt.identity.id,
        &checked.config.ports,
    )?;
    let ctx = Context {
        event,
        worktree: wt.root,
        run_in: None,
        identity: wt.identity,
        common_dir: wt.common_dir,
        details,
        source,
        ports,
        config: Some(checked.trusted.fingerprint().to_string()),
        in_use: None,
        hook_args: hook_args
            .iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect(),
    };
    Ok(Resolution::Ready(Box::new(Plan {
        ctx,
        event: jobs.clone(),
        detached: false,
        notes: ignored.into_iter().collect(),
        owes_setup: checked.config.event(Event::WorktreePostCreate).is_some(),
        fresh: false,
        by_hand: false,
    })))
}

/// The teardown of a removed worktree: the `worktree-post-remove` jobs of the trusted config
/// it last ran with (kept in the trust store), all background, run in `run_in` (the main
/// worktree).
pub(crate) fn teardown(
    state: &State,
    record: &Record,
    run_in: impl FnOnce() -> Result<camino::Utf8PathBuf>,
) -> Result<Resolution> {
    let Some(fingerprint) = record.config.as_deref().and_then(trust::Fingerprint::parse) else {
        return Ok(Resolution::Nothing(Absent::NoConfig));
    };
    let gone = record.path.display();
    let trusted = match Store::new(state).kept(&fingerprint) {
        Ok(trusted) => trusted,
        Err(Kept::NotTrusted) => {
            return Ok(refused(
                Why::Untrusted(trust::Status::Untrusted),
                format!(
                    "{gone} is gone; its worktree-post-remove jobs did not run: the config it had is no longer trusted"
                ),
            ));
        }
        Err(Kept::Damaged(why)) => {
            return Ok(refused(
                Why::Damaged,
                format!("{gone} is gone; its worktree-post-remove jobs did not run: {why}"),
            ));
        }
    };
    let config = match trusted.parse() {
        Ok(config) => config,
        Err(err) => {
            return Ok(refused(
                Why::Invalid,
                format!("{gone} is gone; its worktree-post-remove jobs did not run: {err}"),
            ));
        }
    };
    let Some(jobs) = config.event(Event::WorktreePostRemove) else {
        return Ok(Resolution::Nothing(Absent::NoJobs));
    };
    let mut jobs = jobs.clone();
    for job in &mut jobs.jobs {
        job.background = true; // nothing waits for a teardown
    }
    let run_in = run_in()?;
    let ctx = Context {
        event: Event::WorktreePostRemove,
        worktree: worktree::utf8(&record.path)?,
        run_in: Some(run_in.clone()),
        identity: record.identity.clone(),
        common_dir: worktree::utf8(state.common_dir())?,
        details: crate::worktree::Details {
            branch: record.branch.clone(),
            commit: String::new(),
            main_worktree: Some(run_in),
        },
        source: None,
        ports: crate::ports::held(state.common_dir(), &record.identity.id),
        config: Some(trusted.fingerprint().to_string()),
        in_use: None,
        hook_args: Vec::new(),
    };
    Ok(Resolution::Ready(Box::new(Plan {
        ctx,
        event: jobs,
        detached: true,
        notes: Vec::new(),
        owes_setup: false,
        fresh: false,
        by_hand: false,
    })))
}

fn refused(why: Why, message: String) -> Resolution {
    Resolution::Refused(Refusal {
        why,
        message,
        error: None,
    })
}

fn invalid(err: ConfigError, then: &str) -> Resolution {
    Resolution::Refused(Refusal {
        why: Why::Invalid,
        message: format!("{err}; {then}"),
        error: Some(Box::new(err)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::Fingerprint;

    const SETUP: &str =
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n";

    fn repo_with(config: Option<&str>) -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        if let Some(config) = config {
            std::fs::write(root.join("daft.yml"), config).unwrap();
        }
        (dir, Repo::at(&root))
    }

    fn trust(repo: &Repo) {
        let sources = Sources::find(repo.work_tree.as_deref().unwrap())
            .unwrap()
            .unwrap();
        Store::new(&State::of(&repo.common_dir))
            .trust(&sources)
            .unwrap();
    }

    #[test]
    fn nothing_to_do_costs_no_parse_and_says_why() {
        let (_dir, repo) = repo_with(None);
        assert!(matches!(
            check(&repo, Some(Event::WorktreePostCreate)),
            Err(Resolution::Nothing(Absent::NoConfig))
        ));
        // Not named: found without looking at trust or validity (this one is invalid).
        let (_dir, repo) = repo_with(Some("hooks: [nonsense\n"));
        assert!(matches!(
            check(&repo, Some(Event::Git(crate::event::Hook::PreCommit))),
            Err(Resolution::Nothing(Absent::NotNamed))
        ));
    }

    #[test]
    fn an_untrusted_or_changed_config_is_refused_with_what_to_do() {
        let (_dir, repo) = repo_with(Some(SETUP));
        let Err(Resolution::Refused(refusal)) = check(&repo, Some(Event::WorktreePostCreate))
        else {
            panic!("an untrusted config must be refused");
        };
        assert_eq!(refusal.why, Why::Untrusted(trust::Status::Untrusted));
        assert!(
            refusal.message.contains("daft trust"),
            "{}",
            refusal.message
        );
        trust(&repo);
        let root = repo.work_tree.clone().unwrap();
        std::fs::write(root.join("daft.yml"), format!("{SETUP}# changed\n")).unwrap();
        let Err(Resolution::Refused(refusal)) = check(&repo, Some(Event::WorktreePostCreate))
        else {
            panic!("a changed config must be refused");
        };
        assert_eq!(refusal.why, Why::Untrusted(trust::Status::Changed));
        assert!(refusal.message.contains("changed since it was trusted"));
    }

    #[test]
    fn a_trusted_config_carries_the_fingerprint_that_was_checked() {
        let (_dir, repo) = repo_with(Some(SETUP));
        trust(&repo);
        let Ok(checked) = check(&repo, Some(Event::WorktreePostCreate)) else {
            panic!("trusted and valid");
        };
        let root = repo.work_tree.clone().unwrap();
        // The file changes after the check: what runs is what was checked, not the new bytes.
        std::fs::write(root.join("daft.yml"), "hooks: {}\n").unwrap();
        let expected = Fingerprint::of(&Sources::from_trusted(SETUP.as_bytes().to_vec(), None));
        assert_eq!(checked.trusted.fingerprint(), &expected);
        assert!(checked.config.event(Event::WorktreePostCreate).is_some());
    }

    #[test]
    fn a_trusted_config_that_is_invalid_is_refused_with_its_error() {
        let bad = "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n        needs: [b]\n";
        let (_dir, repo) = repo_with(Some(bad));
        trust(&repo);
        let Err(Resolution::Refused(refusal)) = check(&repo, Some(Event::WorktreePostCreate))
        else {
            panic!("an invalid config must be refused");
        };
        assert_eq!(refusal.why, Why::Invalid);
        let error = refusal.error.expect("the config's own error");
        assert_eq!(error.location.map(|l| l.0), Some(4), "{error}");
    }

    #[test]
    fn a_teardown_of_a_damaged_or_untrusted_config_says_which() {
        let (_dir, repo) = repo_with(Some(SETUP));
        let state = State::of(&repo.common_dir);
        trust(&repo);
        let fingerprint = Fingerprint::of(&Sources::from_trusted(SETUP.as_bytes().to_vec(), None));
        let mut record = Record::new(
            crate::worktree::Identity {
                id: "wt_0a1b2c".into(),
                admin: Some("wt".into()),
            },
            "/tmp/gone".into(),
        );
        record.config = Some(fingerprint.to_string());
        let run_in = || Ok(camino::Utf8PathBuf::from("/tmp"));
        // No worktree-post-remove jobs: nothing.
        assert!(matches!(
            teardown(&state, &record, run_in).unwrap(),
            Resolution::Nothing(Absent::NoJobs)
        ));
        // Its kept copy damaged: said as damaged, not as untrusted.
        let blobs = state.trust_dir().join("blobs");
        for blob in std::fs::read_dir(&blobs).unwrap().flatten() {
            std::fs::write(blob.path(), "tampered").unwrap();
        }
        let Resolution::Refused(refusal) = teardown(&state, &record, run_in).unwrap() else {
            panic!("a damaged copy must be refused");
        };
        assert_eq!(refusal.why, Why::Damaged);
        assert!(refusal.message.contains("damaged"), "{}", refusal.message);
        Store::new(&state).untrust(&fingerprint).unwrap();
        let Resolution::Refused(refusal) = teardown(&state, &record, run_in).unwrap() else {
            panic!("an untrusted config must be refused");
        };
        assert!(refusal.message.contains("no longer trusted"));
    }
}
