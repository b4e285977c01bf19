//! `daft.yml`: found and read as bytes (`source`), parsed strictly (`raw`), merged with
//! `daft.local.yml` and checked (`checks`, `graph`); every mistake listed (`problems`). What comes out is a [`Config`] whose
//! every value can run.

mod budget;
mod checks;
mod copy;
mod graph;
mod problems;
mod raw;
mod schema;
mod source;
mod spans;
mod values;

pub(crate) use raw::schema_text as schema;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub(crate) use copy::CopyItem;
pub(crate) use source::{LOCAL_FILE_NAME, Source, Sources};
pub(crate) use values::valid_port_name;

use crate::error::ConfigError;
use crate::event::Event;

/// How a failed job affects the hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "fail_mode")]
pub(crate) enum FailMode {
    /// Warn and let git carry on (exit 0).
    Warn,
    /// Stop what has not started and fail the hook.
    Abort,
}

/// How many jobs may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Parallel {
    /// `true`: as many as CPUs.
    Cpus,
    /// `N`: at most N.
    AtMost(usize),
    /// `false`: one at a time, in file order.
    Sequential,
}

impl Parallel {
    /// The number of jobs that may run at once.
    pub(crate) fn limit(self) -> usize {
        match self {
            Self::Cpus => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            Self::AtMost(n) => n,
            Self::Sequential => 1,
        }
    }
}

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Action {
    /// `run:`, a `sh -c` command.
    Run(String),
    /// `copy:` paths, globs and include files, from the source worktree (or `from:`).
    Copy {
        items: Vec<CopyItem>,
        from: Option<String>,
    },
}

/// One job, as validated. (Its yes/no settings are independent choices of `daft.yml`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct Job {
    pub(crate) name: String,
    pub(crate) action: Action,
    pub(crate) background: bool,
    pub(crate) needs: Vec<String>,
    /// In file order: later values may refer to earlier ones.
    pub(crate) env: Vec<(String, String)>,
    /// Relative to the work tree root; never leaves it.
    pub(crate) root: Option<String>,
    pub(crate) timeout: Option<Duration>,
    /// Among ready jobs, a higher one starts first.
    #[serde(default)]
    pub(crate) priority: i64,
    /// Runs only when this holds.
    #[serde(default)]
    pub(crate) only: Option<Condition>,
    /// Skipped when this holds.
    #[serde(default)]
    pub(crate) skip: Option<Condition>,
    /// (background) Runs at a lower CPU and I/O priority than the user's own work.
    pub(crate) nice: bool,
    /// (background) Stops when a process of the user's waits for a lock it holds.
    pub(crate) yields: bool,
    /// (copy) Tracked files identical to the source worktree's get its modification times:
    /// always, never, or (`None`) when the job carried a tree (a build cache).
    pub(crate) carry_times: Option<bool>,
    /// (background) A service: how to tell that it is ready.
    #[serde(default)]
    pub(crate) ready: Option<Ready>,
}

/// A service's `ready:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ready {
    pub(crate) probe: Probe,
    /// How long it may take (default [`READY_WITHIN`]).
    pub(crate) within: Duration,
}

/// How long a service may take to be ready when its `ready:` does not say.
pub(crate) const READY_WITHIN: Duration = Duration::from_secs(60);

/// What tells that a service is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Probe {
    /// A TCP connection to the worktree's port of this name succeeds.
    Port(String),
    /// This command exits 0.
    Run(String),
}

/// `only:` / `skip:`: every part given must hold for the condition to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Condition {
    /// Globs, any of which the branch name must match.
    pub(crate) branch: Vec<String>,
    /// Paths that must all exist in the work tree.
    pub(crate) files: Vec<String>,
    /// Variables that must all be set and non-empty.
    pub(crate) env: Vec<String>,
    /// A command that must exit 0.
    pub(crate) run: Option<String>,
}

/// One event's jobs and how to run them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EventConfig {
    pub(crate) fail_mode: FailMode,
    pub(crate) parallel: Parallel,
    pub(crate) jobs: Vec<Job>,
}

impl EventConfig {
    /// For each job, the indices of the jobs it needs.
    pub(crate) fn needs(&self) -> Vec<Vec<usize>> {
        let index: std::collections::HashMap<&str, usize> = self
            .jobs
            .iter()
            .enumerate()
            .map(|(i, job)| (job.name.as_str(), i))
            .collect();
        self.jobs
            .iter()
            .map(|job| {
                job.needs
                    .iter()
                    .filter_map(|need| index.get(need.as_str()).copied())
                    .collect()
            })
            .collect()
    }
}

/// A whole, valid `daft.yml` (with `daft.local.yml` merged in).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) events: BTreeMap<Event, EventConfig>,
    /// A free TCP port per name, for each worktree.
    pub(crate) ports: Vec<String>,
}

impl Config {
    /// The event's config, if it has jobs.
    pub(crate) fn event(&self, event: Event) -> Option<&EventConfig> {
        self.events
            .get(&event)
            .filter(|config| !config.jobs.is_empty())
    }
}

use checks::{merge, validate};

impl Sources {
    /// Parses and validates both files.
    pub(crate) fn parse(&self) -> Result<Config, ConfigError> {
        let mut file = raw::parse(&self.main)?;
        if let Some(local) = &self.local {
            merge(&mut file, raw::parse(local)?);
        }
        validate(file, &self.main.path).map_err(|errors| {
            let first = errors.into_iter().next().expect("an error");
            self.locate(first)
        })
    }

    /// `err` with the line of the job it is about, when the parser gave none.
    fn locate(&self, mut err: ConfigError) -> ConfigError {
        if let (None, Some(job)) = (err.location, &err.job) {
            let source = std::iter::once(&self.main)
                .chain(&self.local)
                .find(|s| s.path == err.path);
            // `hooks.EVENT: job `NAME`: …`
            let event = err
                .message
                .strip_prefix("hooks.")
                .and_then(|rest| rest.split([':', '.']).next());
            err.location = source
                .and_then(|s| spans::job_position(&String::from_utf8_lossy(&s.bytes), event, job));
        }
        err
    }
}

#[cfg(test)]
impl Sources {
    /// A `daft.yml` holding `text`, and no local file.
    fn of(text: &str) -> Self {
        Self {
            main: Source {
                path: "daft.yml".into(),
                bytes: text.as_bytes().to_vec(),
            },
            local: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What `daft validate` finds: every mistake, each part set aside in turn.
    fn problems(text: &str) -> Vec<ConfigError> {
        Sources::of(text).problems()
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Sources::of(text).parse()
    }

    #[test]
    fn values_that_cannot_run_are_refused_where_they_are() {
        let job = |extra: &str| {
            format!(
                "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: 'true'\n{extra}"
            )
        };
        let err = parse(&job("        timeout: 18446744073709551615\n")).unwrap_err();
        assert_eq!(err.location, Some((6, 18)), "{err}");
        assert!(err.message.contains("longest daft allows"), "{err}");
        let err = parse(
            "hooks:\n  worktree-post-create:\n    jobs:\n      - name: a\n        run: \"\\0\"\n",
        )
        .unwrap_err();
        assert!(err.message.contains("NUL"), "{err}");
        assert_eq!(err.location.map(|l| l.0), Some(5), "{err}");
        let err = parse("hooks:\n  worktree-post-create:\n    jobs: [7]\n").unwrap_err();
        assert!(err.message.contains("expected a job"), "{err}");
        assert!(!err.message.contains("Raw"), "{err}");
        let err = parse("nope: 1\n").unwrap_err();
        assert!(!err.message.contains("Raw"), "{err}");
    }

    #[test]
    fn a_service_does_not_yield_unless_it_says_so() {
        let config = parse(
            "ports: [web]\nhooks:\n  worktree-post-create:\n    jobs:\n      - name: server\n        run: serve\n        background: true\n        ready: { port: web }\n      - name: warm\n        run: build\n        background: true\n",
        )
        .unwrap();
        let jobs = &config.events[&Event::WorktreePostCreate].jobs;
        assert_eq!((jobs[0].yields, jobs[1].yields), (false, true));
        assert_eq!(
            jobs[0].ready,
            Some(Ready {
                probe: Probe::Port("web".into()),
                within: READY_WITHIN
            })
        );
    }

    #[test]
    fn aliases_cannot_expand_without_bound() {
        // One job with 2,500 env keys, repeated by 1,200 aliases: the shape that took seconds.
        let mut text = String::from(
            "hooks:\n  post-merge:\n    jobs:\n      - &job\n        name: j\n        run: 'true'\n        env:\n",
        );
        text.extend((0..2500).map(|i| format!("          K{i}: v\n")));
        text.push_str(&"      - *job\n".repeat(1200));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("aliases"), "{err}");
    }

    /// Pieces of daft.yml, good and bad, so that random documents get past the YAML parser
    /// often enough to exercise validation too.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "hooks:\n",
            "  worktree-post-create:\n",
            "  pre-commit:\n",
            "    jobs:\n",
            "    parallel: 2\n",
            "    parallel: false\n",
            "    fail_mode: abort\n",
            "      - name: a\n",
            "      - name: b\n",
            "      - &j name: c\n",
            "      - *j\n",
            "        run: 'true'\n",
            "        needs: [a]\n",
            "        needs: [b]\n",
            "        background: true\n",
            "        timeout: 1m\n",
            "        timeout: 99999999999999999999\n",
            "        timeout: x\n",
            "        root: ../x\n",
            "        env: {A: ${B}}\n",
            "- ",
            ": ",
            "[",
            "]",
            "{",
            "}",
            "&a ",
            "*a ",
            "\"",
            "'",
            "\t",
            "\n",
            "#",
            "\u{0}",
            "\\0",
            "ü",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parsing_never_panics(pieces in prop::collection::vec(piece(), 0..40)) {
            let _ = parse(&pieces.concat());
            let _ = problems(&pieces.concat());
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = parse(&text);
            let _ = problems(&text);
        }

        #[test]
        fn a_valid_config_has_an_acyclic_graph_and_runnable_values(pieces in prop::collection::vec(piece(), 0..40)) {
            if let Ok(config) = parse(&pieces.concat()) {
                for event in config.events.values() {
                    prop_assert!(graph::find_cycle(&event.needs()).is_none());
                    for job in &event.jobs {
                        if let Action::Run(run) = &job.action {
                            prop_assert!(!run.contains('\0'));
                        }
                        prop_assert!(job.timeout.is_none_or(|t| t <= budget::MAX_TIMEOUT));
                    }
                }
            }
        }
    }
}
