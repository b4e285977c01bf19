//! The file as written: strict serde types. Every value is checked while it is read, so an
//! error carries the line and column where it is, in `daft.yml`'s own words. Parsing is linear
//! (duplicate keys are found with sets), and a budget bounds what YAML aliases may expand to: a
//! few hundred bytes of `*alias` must not become millions of entries.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::budget::{self, MAX_DEPTH, spend};
use super::copy::{self, CopyItem};
use super::{FailMode, Parallel, Source, schema, spans, values};
use crate::error::ConfigError;
use crate::event::Event;

/// A `daft.yml`: what a fresh worktree needs, as jobs per event.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with a `hooks:` key (and optionally `ports:`)"
)]
pub(super) struct RawFile {
    /// One free TCP port per name for each worktree (`DAFT_PORT_<NAME>` in every job).
    #[serde(default, deserialize_with = "values::ports")]
    #[schemars(schema_with = "schema::ports")]
    pub(super) ports: Option<Vec<String>>,
    /// The events, each with its jobs.
    #[serde(default, deserialize_with = "events")]
    #[schemars(schema_with = "events_schema")]
    pub(super) hooks: Vec<(Event, RawEvent)>,
}

/// One event: its jobs, and how they run.
#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(rename = "event")]
#[serde(
    deny_unknown_fields,
    expecting = "an event: a mapping with `jobs:` (and optionally `fail_mode`, `parallel`)"
)]
pub(super) struct RawEvent {
    /// warn: a failure warns and git carries on; abort: the first failure stops the rest and
    /// fails the hook. Default: abort for events that can veto (pre-*, commit-msg,
    /// worktree-pre-remove), warn otherwise.
    pub(super) fail_mode: Option<FailMode>,
    #[serde(default, deserialize_with = "values::parallel")]
    #[schemars(schema_with = "schema::parallel")]
    pub(super) parallel: Option<Parallel>,
    /// The jobs, in file order.
    #[serde(default, deserialize_with = "jobs")]
    #[schemars(with = "Vec<RawJob>")]
    pub(super) jobs: Vec<(RawJob, PathBuf)>,
}

/// One job: a shell command (`run`) or paths to carry over (`copy`).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a job: a mapping with `name` and `run` (or `copy`)"
)]
#[schemars(rename = "job", transform = schema::one_action)]
pub(super) struct RawJob {
    /// Unique within the event: letters, digits, `.`, `_`, `-`.
    #[serde(deserialize_with = "values::job_name")]
    #[schemars(schema_with = "schema::job_name")]
    pub(super) name: String,
    /// A command, run by `sh -c` in the job's root.
    #[serde(default, deserialize_with = "values::command_opt")]
    pub(super) run: Option<String>,
    #[serde(default, deserialize_with = "copy::items")]
    #[schemars(schema_with = "copy::schema")]
    pub(super) copy: Option<Vec<CopyItem>>,
    /// The worktree to copy from (default: the main worktree).
    #[serde(default, deserialize_with = "values::from_dir")]
    pub(super) from: Option<String>,
    /// Detached: git does not wait for it.
    #[serde(default)]
    pub(super) background: bool,
    /// Jobs that must succeed first.
    #[serde(default, deserialize_with = "values::job_names")]
    #[schemars(schema_with = "schema::job_names")]
    pub(super) needs: Vec<String>,
    /// Among ready jobs, a higher priority starts first (default 0).
    #[serde(default)]
    pub(super) priority: i64,
    #[serde(default, deserialize_with = "values::env_map")]
    #[schemars(schema_with = "schema::env")]
    pub(super) env: Vec<(String, String)>,
    /// The working directory, relative to the work tree root.
    #[serde(default, deserialize_with = "values::root")]
    pub(super) root: Option<String>,
    #[serde(default, deserialize_with = "values::timeout")]
    #[schemars(schema_with = "schema::duration")]
    pub(super) timeout: Option<Duration>,
    /// Runs only when every part of this holds.
    #[serde(default)]
    pub(super) only: Option<RawCondition>,
    /// Skipped when any part of this holds.
    #[serde(default)]
    pub(super) skip: Option<RawCondition>,
    /// (background jobs) Run at a lower CPU and I/O priority than your own work, so a warmup
    /// never slows the build you start by hand (default true).
    #[serde(default)]
    pub(super) nice: Option<bool>,
    /// (background jobs) Stop when a process of yours waits for a lock the job holds — your
    /// `cargo build` waiting for the warmup's — so you never wait on a warmup (default true;
    /// false for a service, which `ready:` makes).
    #[serde(default, rename = "yield")]
    pub(super) yields: Option<bool>,
    /// (copy jobs) Give each tracked file whose bytes and executable bit equal the source worktree's the
    /// source's modification time, so a build cache carried over stays valid (default: when
    /// the job carried a directory or a glob's trees, not for single files).
    #[serde(default)]
    pub(super) carry_times: Option<bool>,
    /// (background jobs) Makes the job a service — a dev server, a database — that runs until
    /// its worktree goes: `daft hooks wait` counts it done once it is ready, and jobs that need
    /// it start then.
    #[serde(default)]
    pub(super) ready: Option<RawReady>,
}

/// `ready:`: when a service is ready.
#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ready", transform = schema::one_probe)]
#[serde(
    deny_unknown_fields,
    expecting = "when the service is ready: a mapping with `port: NAME` or `run: CMD` (and optionally `timeout`)"
)]
pub(super) struct RawReady {
    /// Ready when a TCP connection to this worktree's port NAME (one of `ports:`) succeeds on
    /// 127.0.0.1 (or `::1`).
    #[serde(default, deserialize_with = "values::port_name")]
    #[schemars(schema_with = "schema::port_name")]
    pub(super) port: Option<String>,
    /// Ready when this command exits 0: run every half second, in the job's root, with its
    /// environment.
    #[serde(default, deserialize_with = "values::command_opt")]
    pub(super) run: Option<String>,
    /// How long it may take to become ready (default 60s); not ready by then, it fails and is
    /// ended.
    #[serde(default, deserialize_with = "values::timeout")]
    #[schemars(schema_with = "schema::ready_within")]
    pub(super) timeout: Option<Duration>,
}

/// `only:` / `skip:`.
#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(rename = "condition")]
#[serde(
    deny_unknown_fields,
    expecting = "a condition: a mapping of any of `branch`, `files`, `env`, `run`"
)]
pub(super) struct RawCondition {
    /// Globs on the branch name.
    #[serde(default, deserialize_with = "values::globs")]
    #[schemars(schema_with = "schema::one_or_more")]
    pub(super) branch: Vec<String>,
    /// Paths that must exist in the work tree.
    #[serde(default, deserialize_with = "values::paths")]
    #[schemars(schema_with = "schema::one_or_more")]
    pub(super) files: Vec<String>,
    /// Variables that must be set and non-empty.
    #[serde(default, deserialize_with = "values::var_names")]
    #[schemars(schema_with = "schema::one_or_more")]
    pub(super) env: Vec<String>,
    /// A command that must exit 0.
    #[serde(default, deserialize_with = "values::condition_command")]
    pub(super) run: Option<String>,
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
    budget::start(source.path.clone());
    serde_yaml_ng::from_str::<RawFile>(text).map_err(|err| {
        let message = in_daft_words(&err.to_string());
        // An event name is checked once its whole mapping is read, so the parser points at the
        // mapping: find the name's own line.
        let named = ["unknown event `", "`"]
            .iter()
            .find_map(|start| message.split_once(start).map(|(_, rest)| rest))
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name)
            .filter(|_| message.contains("unknown event") || message.contains("appears twice"));
        let parsers = err.location().map(|l| (l.line(), l.column()));
        let near = parsers.and_then(|(line, column)| spans::offset(text, line, column));
        let location = named
            .and_then(|name| {
                spans::key_position(
                    text,
                    near,
                    name,
                    usize::from(message.contains("appears twice")),
                )
            })
            .or(parsers);
        // Whatever the parser calls it, a tab where the error is is the mistake.
        let at_tab = location.is_some_and(|(line, column)| {
            text.lines()
                .nth(line.saturating_sub(1))
                .and_then(|l| l.chars().nth(column.saturating_sub(1)))
                == Some('\t')
        });
        let message = if at_tab && message.starts_with("is not valid YAML") {
            "is not valid YAML: a tab indents a line: YAML indents with spaces only".to_owned()
        } else {
            message
        };
        error(location, message)
    })
}

const INDENT: &str = "this line's indentation does not fit the lines above it: the keys of one mapping, and the `- ` items of one list, each start in the same column";

/// What the YAML parser says, and what it means in a `daft.yml`.
const SYNTAX: [(&str, &str); 9] = [
    ("did not find expected '-' indicator", INDENT),
    ("did not find expected key", INDENT),
    (
        "mapping values are not allowed in this context",
        "a `key: value` where a plain value was expected: quote a value that holds `: `, or put the key on its own line",
    ),
    (
        "found character that cannot start any plain scalar",
        "a value starts with a character YAML keeps for itself (`@`, a backtick, `%`): quote it",
    ),
    (
        "found a tab character",
        "a tab indents a line: YAML indents with spaces only",
    ),
    (
        "could not find expected ':'",
        "a key without its `:`, or a quoted value that never ends",
    ),
    (
        "found unexpected end of stream",
        "the file ends inside a quoted value or a bracket: close it",
    ),
    (
        "found undefined alias",
        "an `*alias` names no `&anchor` above it",
    ),
    (
        "did not find expected node content",
        "a value is missing where YAML expected one (after `- `, `[` or `,`)",
    ),
];

/// The parser's message without its own positions (the location is printed in front, once, as
/// `file:line:column`), and a YAML syntax error said as what to fix in `daft.yml`.
pub(super) fn in_daft_words(message: &str) -> String {
    let mut plain = String::new();
    for (i, part) in message.split(" at line ").enumerate() {
        if i == 0 {
            plain.push_str(part);
        } else {
            // Drop "N column M"; keep what follows (", while parsing …").
            let rest = part.split_once(" column ").map_or("", |(_, r)| r);
            plain.push_str(rest.trim_start_matches(|c: char| c.is_ascii_digit()));
        }
    }
    match SYNTAX.iter().find(|(says, _)| plain.contains(says)) {
        Some((_, means)) => format!("is not valid YAML: {means}"),
        None if plain.contains(", while parsing") || plain.contains(", while scanning") => {
            format!("is not valid YAML: {plain}")
        }
        None => plain,
    }
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
fn events<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(Event, RawEvent)>, D::Error> {
    struct Events;
    impl<'de> Visitor<'de> for Events {
        type Value = Vec<(Event, RawEvent)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of event names to their jobs")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut seen = HashSet::new();
            let mut entries = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                let Some(event) = Event::parse(&name) else {
                    return Err(de::Error::custom(format!(
                        "unknown event `{name}`; expected {} or a git hook name such as pre-commit",
                        Event::daft_names()
                    )));
                };
                if !seen.insert(event) {
                    return Err(de::Error::custom(format!("`{name}` appears twice")));
                }
                spend(1, name.len())?;
                entries.push((event, map.next_value()?));
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
            let file = budget::file();
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

/// The schema, as `daft schema` prints it.
pub(crate) fn schema_text() -> String {
    let mut schema = schemars::schema_for!(RawFile);
    schema.insert("title".into(), "daft.yml".into());
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

/// `hooks:`: a mapping from the events daft knows to their settings and jobs.
fn events_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = Event::all().map(Event::name).collect();
    let event = generator.subschema_for::<RawEvent>();
    schemars::json_schema!({
        "description": "Events, each with its jobs: worktree-post-create, post-clone, worktree-pre-remove, worktree-post-remove, or a git hook name.",
        "type": "object",
        "propertyNames": { "enum": names },
        "additionalProperties": event,
    })
}
