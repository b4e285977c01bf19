//! The file as written: strict serde types. Every value is checked while it is read, so an
//! error carries the line and column where it is, in `daft.yml`'s own words. Parsing is linear
//! (duplicate keys are found with sets), and a budget bounds what YAML aliases may expand to: a
//! few hundred bytes of `*alias` must not become millions of entries.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{FailMode, Parallel, Source};
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
#[serde(deny_unknown_fields, expecting = "a mapping with a `hooks:` key")]
pub(super) struct RawFile {
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
    #[serde(default, deserialize_with = "parallel")]
    pub(super) parallel: Option<Parallel>,
    #[serde(default, deserialize_with = "jobs")]
    pub(super) jobs: Vec<(RawJob, PathBuf)>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a job: a mapping with `name` and `run`"
)]
pub(super) struct RawJob {
    #[serde(deserialize_with = "job_name")]
    pub(super) name: String,
    #[serde(deserialize_with = "command")]
    pub(super) run: String,
    #[serde(default)]
    pub(super) background: bool,
    #[serde(default, deserialize_with = "job_names")]
    pub(super) needs: Vec<String>,
    #[serde(default, deserialize_with = "env_map")]
    pub(super) env: Vec<(String, String)>,
    #[serde(default, deserialize_with = "root")]
    pub(super) root: Option<String>,
    #[serde(default, deserialize_with = "timeout")]
    pub(super) timeout: Option<Duration>,
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
fn spend<E: de::Error>(items: usize, text: usize) -> Result<(), E> {
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

/// Names that are safe as file names and on a command line.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

const NAME_RULE: &str =
    "job names may use letters, digits, `.`, `_` and `-` (up to 100, not starting with `.`)";

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

/// A string checked while it is read, so an error points at the value itself.
fn checked<'de, D: Deserializer<'de>>(
    d: D,
    what: &'static str,
    check: fn(&str) -> Result<(), String>,
) -> Result<String, D::Error> {
    struct Checked {
        what: &'static str,
        check: fn(&str) -> Result<(), String>,
    }
    impl Visitor<'_> for Checked {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.what)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            spend(0, v.len())?;
            (self.check)(v).map_err(E::custom)?;
            Ok(v.to_owned())
        }
    }
    d.deserialize_str(Checked { what, check })
}

fn job_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, "a job name", |name| {
        if valid_name(name) {
            Ok(())
        } else {
            Err(format!("`{name}`: {NAME_RULE}"))
        }
    })
}

fn job_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of job names")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut names = Vec::new();
            while let Some(name) = seq.next_element::<String>()? {
                spend(1, name.len())?;
                if !valid_name(&name) {
                    return Err(de::Error::custom(format!(
                        "`needs` names `{name}`, which is not a job name; {NAME_RULE}"
                    )));
                }
                names.push(name);
            }
            Ok(names)
        }
    }
    d.deserialize_seq(Names)
}

/// `run:` is a shell command: not empty, no NUL byte (no process could receive it).
fn command<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, "a shell command", |run| {
        if run.trim().is_empty() {
            Err("`run` is empty; give the shell command to run".into())
        } else if run.contains('\0') {
            Err("`run` contains a NUL byte, which no command can hold".into())
        } else {
            Ok(())
        }
    })
}

/// `root:` is a directory inside the work tree, written relative to its root.
fn root<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    checked(d, "a directory relative to the work tree root", |root| {
        if root.contains('\0') {
            Err("`root` contains a NUL byte".into())
        } else if stays_inside(Path::new(root)) {
            Ok(())
        } else {
            Err(format!(
                "root `{root}` leaves the work tree; give a path relative to the work tree root"
            ))
        }
    })
    .map(Some)
}

/// Whether a relative path never climbs above where it starts.
pub(crate) fn stays_inside(path: &Path) -> bool {
    use std::path::Component;
    path.components()
        .try_fold(0usize, |depth, part| match part {
            Component::Normal(_) => Some(depth + 1),
            Component::CurDir => Some(depth),
            Component::ParentDir => depth.checked_sub(1),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .is_some()
}

/// `env:` values may be strings, numbers or booleans; all become strings. Keys are unique.
fn env_map<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    struct Env;
    impl<'de> Visitor<'de> for Env {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of variable names to values")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut seen = HashSet::new();
            let mut vars = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                spend(1, key.len())?;
                if key.is_empty() || key.contains('=') || key.contains('\0') {
                    return Err(de::Error::custom(format!(
                        "`{key}` is not a valid environment variable name"
                    )));
                }
                if !seen.insert(key.clone()) {
                    return Err(de::Error::custom(format!("`{key}` appears twice")));
                }
                let value = match map.next_value::<Scalar>() {
                    Ok(Scalar::Text(text)) => text,
                    Ok(Scalar::Int(n)) => n.to_string(),
                    Ok(Scalar::Float(x)) => x.to_string(),
                    Ok(Scalar::Bool(b)) => b.to_string(),
                    Err(_) => {
                        return Err(de::Error::custom(format!(
                            "`{key}` must be a string, number or boolean"
                        )));
                    }
                };
                spend(0, value.len())?;
                if value.contains('\0') {
                    return Err(de::Error::custom(format!("`{key}` contains a NUL byte")));
                }
                vars.push((key, value));
            }
            Ok(vars)
        }
    }
    d.deserialize_map(Env)
}

fn parallel<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Parallel>, D::Error> {
    struct ParallelVisitor;
    const EXPECTED: &str = "parallel must be true, false or a number of jobs (1 or more)";
    impl Visitor<'_> for ParallelVisitor {
        type Value = Parallel;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("true, false or a number of jobs (1 or more)")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Parallel, E> {
            Ok(if v {
                Parallel::Cpus
            } else {
                Parallel::Sequential
            })
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Parallel, E> {
            match usize::try_from(v) {
                Ok(0) | Err(_) => Err(E::custom(EXPECTED)),
                Ok(n) => Ok(Parallel::AtMost(n)),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Parallel, E> {
            u64::try_from(v).map_or_else(|_| Err(E::custom(EXPECTED)), |v| self.visit_u64(v))
        }
    }
    d.deserialize_any(ParallelVisitor).map(Some)
}

fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    struct TimeoutVisitor;
    impl TimeoutVisitor {
        fn check<E: de::Error>(limit: Duration) -> Result<Duration, E> {
            if limit.is_zero() {
                return Err(E::custom("timeout must be more than zero"));
            }
            if limit > MAX_TIMEOUT {
                return Err(E::custom(format!(
                    "timeout {} is more than the longest daft allows ({}); give a shorter one or none",
                    crate::duration::human(limit),
                    crate::duration::human(MAX_TIMEOUT)
                )));
            }
            Ok(limit)
        }
    }
    impl Visitor<'_> for TimeoutVisitor {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as 30s, 10m or 1h")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            Self::check(crate::duration::parse(v).map_err(E::custom)?)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Self::check(Duration::from_secs(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            Err(E::custom(format!(
                "timeout {v} is negative; give e.g. 30s or 10m"
            )))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
            match Duration::try_from_secs_f64(v) {
                Ok(limit) if v.fract() == 0.0 => Self::check(limit),
                Ok(_) => Err(E::custom(format!(
                    "timeout {v} is not a whole number of seconds; give e.g. 30s, 500ms or 10m"
                ))),
                Err(_) if v > 0.0 => Self::check(Duration::MAX),
                Err(_) => Err(E::custom(format!(
                    "timeout {v} is not a duration; give e.g. 30s or 10m"
                ))),
            }
        }
    }
    d.deserialize_any(TimeoutVisitor).map(Some)
}
