//! The file as written: strict serde types. Every value is checked while it is read, so an
//! error carries the line and column where it is, in `daft.yml`'s own words. Parsing is linear
//! (duplicate keys are found with sets), and a budget bounds what YAML aliases may expand to: a
//! few hundred bytes of `*alias` must not become millions of entries.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{FailMode, Parallel, Source, values};
use crate::error::ConfigError;
use crate::event;

/// How many entries (jobs, needs, env variables) a file may amount to once aliases are
/// expanded, and how many bytes of text. Far above any real config, far below a slow parse.
const MAX_ITEMS: usize = 10_000;
const MAX_TEXT: usize = 2 * 1024 * 1024;
/// The longest timeout daft accepts: anything longer is a mistake, and larger values overflow.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);
/// How deep `[` and `{` may nest: the YAML parser's time grows with the square of the depth.
const MAX_DEPTH: usize = 64;

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with a `hooks:` key (and optionally `ports:`)"
)]
pub(super) struct RawFile {
    #[serde(default, deserialize_with = "values::ports")]
    pub(super) ports: Option<Vec<String>>,
    #[serde(default, deserialize_with = "events")]
    pub(super) hooks: Vec<(String, RawEvent)>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an event: a mapping with `jobs:` (and optionally `fail_mode`, `parallel`)"
)]
pub(super) struct RawEvent {
    pub(super) fail_mode: Option<FailMode>,
    #[serde(default, deserialize_with = "values::parallel")]
    pub(super) parallel: Option<Parallel>,
    #[serde(default, deserialize_with = "jobs")]
    pub(super) jobs: Vec<(RawJob, PathBuf)>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a job: a mapping with `name` and `run` (or `copy`)"
)]
pub(super) struct RawJob {
    #[serde(deserialize_with = "values::job_name")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "values::command_opt")]
    pub(super) run: Option<String>,
    #[serde(default, deserialize_with = "values::copy_paths")]
    pub(super) copy: Option<Vec<String>>,
    #[serde(default, deserialize_with = "values::from_dir")]
    pub(super) from: Option<String>,
    #[serde(default)]
    pub(super) background: bool,
    #[serde(default, deserialize_with = "values::job_names")]
    pub(super) needs: Vec<String>,
    #[serde(default)]
    pub(super) priority: i64,
    #[serde(default, deserialize_with = "values::env_map")]
    pub(super) env: Vec<(String, String)>,
    #[serde(default, deserialize_with = "values::root")]
    pub(super) root: Option<String>,
    #[serde(default, deserialize_with = "values::timeout")]
    pub(super) timeout: Option<Duration>,
    #[serde(default)]
    pub(super) only: Option<RawCondition>,
    #[serde(default)]
    pub(super) skip: Option<RawCondition>,
}

/// `only:` / `skip:` (SPEC §3.3).
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a condition: a mapping of any of `branch`, `files`, `env`, `run`"
)]
pub(super) struct RawCondition {
    #[serde(default, deserialize_with = "values::globs")]
    pub(super) branch: Vec<String>,
    #[serde(default, deserialize_with = "values::paths")]
    pub(super) files: Vec<String>,
    #[serde(default, deserialize_with = "values::var_names")]
    pub(super) env: Vec<String>,
    #[serde(default, deserialize_with = "values::condition_command")]
    pub(super) run: Option<String>,
}

/// What is being parsed: the file (each job remembers where it came from) and what is left of
/// the budget.
struct State {
    file: PathBuf,
    items: usize,
    text: usize,
}

std::thread_local! {
    static STATE: RefCell<State> = RefCell::new(State { file: PathBuf::new(), items: 0, text: 0 });
}

/// Counts `items` entries and `text` bytes against the budget.
pub(super) fn spend<E: de::Error>(items: usize, text: usize) -> Result<(), E> {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        if state.items < items || state.text < text {
            return Err(E::custom(format!(
                "the config expands to more than {MAX_ITEMS} entries or {} MiB of text (YAML aliases repeat what they point to); write it out without so many aliases",
                MAX_TEXT / (1024 * 1024)
            )));
        }
        state.items -= items;
        state.text -= text;
        Ok(())
    })
}

/// Parses one file.
pub(super) fn parse(source: &Source) -> Result<RawFile, ConfigError> {
    let error = |location, message: String| ConfigError {
        location,
        ..ConfigError::new(&source.path, message)
    };
    let text = std::str::from_utf8(&source.bytes).map_err(|err| {
        error(
            None,
            format!("is not valid UTF-8 ({err}); save it as UTF-8"),
        )
    })?;
    if text.trim().is_empty() {
        return Err(error(
            None,
            "is empty; expected a `hooks:` mapping of events to jobs".into(),
        ));
    }
    if let Some(line) = too_deep(text) {
        return Err(error(
            Some((line, 1)),
            format!("nests brackets more than {MAX_DEPTH} levels deep; a config never needs that"),
        ));
    }
    STATE.with(|state| {
        *state.borrow_mut() = State {
            file: source.path.clone(),
            items: MAX_ITEMS,
            text: MAX_TEXT,
        };
    });
    serde_yaml_ng::from_str::<RawFile>(text).map_err(|err| {
        let location = err.location().map(|l| (l.line(), l.column()));
        let message = err.to_string();
        // The location is printed in front, as file:line:column.
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        error(location, message)
    })
}

/// The line where flow brackets first nest deeper than [`MAX_DEPTH`], if they do. Brackets in
/// quotes or comments count too; a config has no reason to hold 64 of them in a row.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1;
    for byte in text.bytes() {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
    }
    None
}

/// `hooks:`: event names daft knows, each once, in file order.
fn events<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, RawEvent)>, D::Error> {
    struct Events;
    impl<'de> Visitor<'de> for Events {
        type Value = Vec<(String, RawEvent)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of event names to their jobs")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut seen = HashSet::new();
            let mut entries = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                if !event::is_known(&name) {
                    return Err(de::Error::custom(format!(
                        "unknown event `{name}`; expected {} or a git hook name such as pre-commit",
                        event::DAFT_EVENTS.join(", ")
                    )));
                }
                if !seen.insert(name.clone()) {
                    return Err(de::Error::custom(format!("`{name}` appears twice")));
                }
                spend(1, name.len())?;
                entries.push((name, map.next_value()?));
            }
            Ok(entries)
        }
    }
    d.deserialize_map(Events)
}

/// A list of jobs, each remembering the file it came from.
fn jobs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(RawJob, PathBuf)>, D::Error> {
    struct Jobs;
    impl<'de> Visitor<'de> for Jobs {
        type Value = Vec<(RawJob, PathBuf)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of jobs")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let file = STATE.with(|state| state.borrow().file.clone());
            let mut jobs = Vec::new();
            while let Some(job) = seq.next_element::<RawJob>()? {
                spend(1, 0)?;
                jobs.push((job, file.clone()));
            }
            Ok(jobs)
        }
    }
    d.deserialize_seq(Jobs)
}
