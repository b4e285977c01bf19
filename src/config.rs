//! `daft.yml`: finding it, reading its bytes once (what trust hashes is what runs), parsing it
//! strictly, merging `daft.local.yml`, and checking that each event's jobs form a sound graph.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use camino::{Utf8Component, Utf8Path, Utf8PathBuf};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::event;

/// Looked up in this order at the work tree root; the first found wins.
pub(crate) const FILE_NAMES: [&str; 4] = ["daft.yml", "daft.yaml", ".daft.yml", ".daft.yaml"];
/// Larger than this is not a config someone wrote: refuse it rather than parse it.
const MAX_SIZE: u64 = 256 * 1024;
/// Untracked overrides, beside the config.
pub(crate) const LOCAL_FILE_NAME: &str = "daft.local.yml";

/// A config file's exact bytes, read once.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) path: Utf8PathBuf,
    pub(crate) bytes: Vec<u8>,
}

/// The config and its local overrides, as found in one work tree.
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    pub(crate) main: Source,
    pub(crate) local: Option<Source>,
}

impl Sources {
    /// Finds the config at `root`. `Ok(None)` when there is none: the common, cheap case.
    pub(crate) fn find(root: &Utf8Path) -> Result<Option<Self>, ConfigError> {
        let Some(main) = FILE_NAMES
            .iter()
            .find_map(|name| read_regular(&root.join(name)).transpose())
        else {
            return Ok(None);
        };
        let local = read_regular(&root.join(LOCAL_FILE_NAME))?;
        Ok(Some(Self { main: main?, local }))
    }

    /// Whether either file contains `name` at all: a cheap test before parsing.
    pub(crate) fn mention(&self, name: &str) -> bool {
        let contains = |bytes: &[u8]| {
            bytes
                .windows(name.len())
                .any(|window| window == name.as_bytes())
        };
        contains(&self.main.bytes)
            || self
                .local
                .as_ref()
                .is_some_and(|local| contains(&local.bytes))
    }

    /// Parses and validates both files.
    pub(crate) fn parse(&self) -> Result<Config, ConfigError> {
        let mut raw = parse_file(&self.main)?;
        if let Some(local) = &self.local {
            let overrides = parse_file(local)?;
            raw.merge(overrides, &local.path);
        }
        Config::validate(raw, &self.main.path).map_err(|mut err| {
            if let (None, Some(job)) = (err.location, &err.job) {
                let source = std::iter::once(&self.main)
                    .chain(&self.local)
                    .find(|s| s.path == err.path);
                err.location =
                    source.and_then(|s| locate_job(&String::from_utf8_lossy(&s.bytes), job));
            }
            err
        })
    }
}

/// Reads `path` if it exists. A symlink is refused: the bytes that run must be the bytes in the
/// work tree, not in a file elsewhere that can change without the tree changing.
fn read_regular(path: &Utf8Path) -> Result<Option<Source>, ConfigError> {
    let error = |message: String| ConfigError {
        path: path.to_owned(),
        location: None,
        message,
        job: None,
    };
    let meta = match path.symlink_metadata() {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(error(format!("cannot read it: {err}"))),
    };
    if meta.file_type().is_symlink() {
        return Err(error(
            "is a symlink; daft only reads a regular file (copy the target in its place)".into(),
        ));
    }
    if !meta.is_file() {
        return Err(error("is not a regular file".into()));
    }
    if meta.len() > MAX_SIZE {
        return Err(error(format!(
            "is {} bytes; a config is at most {MAX_SIZE} bytes",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|err| error(format!("cannot read it: {err}")))?;
    Ok(Some(Source {
        path: path.to_owned(),
        bytes,
    }))
}

/// How a failed job affects the hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
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

/// One job, as validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Job {
    pub(crate) name: String,
    pub(crate) run: String,
    pub(crate) background: bool,
    pub(crate) needs: Vec<String>,
    /// In file order: later values may refer to earlier ones.
    pub(crate) env: Vec<(String, String)>,
    /// Relative to the work tree root; never leaves it.
    pub(crate) root: Option<String>,
    pub(crate) timeout: Option<Duration>,
}

/// One event's jobs and how to run them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EventConfig {
    pub(crate) fail_mode: FailMode,
    pub(crate) parallel: Parallel,
    pub(crate) jobs: Vec<Job>,
}

impl EventConfig {
    /// The index of the job called `name`.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.jobs.iter().position(|job| job.name == name)
    }

    /// For each job, the indices of the jobs it needs.
    pub(crate) fn needs(&self) -> Vec<Vec<usize>> {
        self.jobs
            .iter()
            .map(|job| {
                job.needs
                    .iter()
                    .filter_map(|need| self.position(need))
                    .collect()
            })
            .collect()
    }
}

/// A whole, valid `daft.yml` (with `daft.local.yml` merged in).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) events: BTreeMap<String, EventConfig>,
}

impl Config {
    fn validate(raw: RawFile, main_path: &Utf8Path) -> Result<Self, ConfigError> {
        let mut events = BTreeMap::new();
        for (name, raw_event) in raw.hooks {
            let error = |path: &Utf8Path, message: String| ConfigError {
                path: path.to_owned(),
                location: None,
                message,
                job: None,
            };
            if !event::is_known(&name) {
                return Err(error(
                    main_path,
                    format!(
                        "hooks: unknown event `{name}`; expected worktree-post-create, post-clone, post-checkout or a git hook name such as pre-commit"
                    ),
                ));
            }
            let jobs = raw_event
                .jobs
                .into_iter()
                .map(|(job, origin)| job.validate(&name, &origin))
                .collect::<Result<Vec<_>, _>>()?;
            let fail_mode = raw_event.fail_mode.unwrap_or(if event::can_veto(&name) {
                FailMode::Abort
            } else {
                FailMode::Warn
            });
            let parallel = raw_event.parallel.unwrap_or(Parallel::Cpus);
            let config = EventConfig {
                fail_mode,
                parallel,
                jobs,
            };
            check_graph(&name, &config, main_path)?;
            events.insert(name, config);
        }
        Ok(Self { events })
    }

    /// The event's config, if it has jobs.
    pub(crate) fn event(&self, name: &str) -> Option<&EventConfig> {
        self.events.get(name).filter(|event| !event.jobs.is_empty())
    }
}

/// The line and column of `name: <job>`, for errors found after parsing (serde gives no
/// positions for values it has already accepted).
fn locate_job(text: &str, job: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(number, line)| {
        let body = line.trim_start().trim_start_matches("- ");
        let value = body.strip_prefix("name:")?.trim();
        let unquoted = value.trim_matches(|c| c == '"' || c == '\'');
        (unquoted == job).then(|| (number + 1, line.len() - body.len() + 1))
    })
}

/// Names that are safe as file names and on a command line.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Duplicate names, unknown or self needs, a synchronous job needing a background one, cycles.
fn check_graph(event: &str, config: &EventConfig, path: &Utf8Path) -> Result<(), ConfigError> {
    let at = |job: &Job, message: String| ConfigError {
        path: path.to_owned(),
        location: None,
        message: format!("hooks.{event}: job `{}`: {message}", job.name),
        job: Some(job.name.clone()),
    };
    let mut seen = HashSet::new();
    for job in &config.jobs {
        if !seen.insert(job.name.as_str()) {
            return Err(at(
                job,
                "the name is used twice; job names must be unique within an event".into(),
            ));
        }
    }
    for job in &config.jobs {
        for need in &job.needs {
            if *need == job.name {
                return Err(at(
                    job,
                    "needs itself; remove it from its own `needs`".into(),
                ));
            }
            let Some(index) = config.position(need) else {
                let known: Vec<_> = config.jobs.iter().map(|j| j.name.as_str()).collect();
                return Err(at(
                    job,
                    format!(
                        "needs `{need}`, which is not a job of this event (jobs: {})",
                        known.join(", ")
                    ),
                ));
            };
            if !job.background && config.jobs[index].background {
                return Err(at(
                    job,
                    format!(
                        "is synchronous but needs background job `{need}`; make `{}` background too, or `{need}` synchronous",
                        job.name
                    ),
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(&config.needs()) {
        let names: Vec<_> = cycle
            .iter()
            .map(|&i| config.jobs[i].name.as_str())
            .collect();
        return Err(ConfigError {
            path: path.to_owned(),
            location: None,
            message: format!(
                "hooks.{event}: `needs` form a cycle: {}; remove one of these needs",
                names.join(" → ")
            ),
            job: cycle.first().map(|&i| config.jobs[i].name.clone()),
        });
    }
    Ok(())
}

/// A cycle in the graph, as a path that returns to its start, if there is one.
fn find_cycle(needs: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        node: usize,
        needs: &[Vec<usize>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[node] = Mark::OnPath;
        path.push(node);
        for &next in &needs[node] {
            match marks[next] {
                Mark::OnPath => {
                    let start = path.iter().position(|&n| n == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(next, needs, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[node] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; needs.len()];
    (0..needs.len()).find_map(|node| {
        if marks[node] == Mark::New {
            visit(node, needs, &mut marks, &mut Vec::new())
        } else {
            None
        }
    })
}

// ---- The file as written: strict serde structs -------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default, deserialize_with = "unique_map")]
    hooks: Vec<(String, RawEvent)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    fail_mode: Option<FailMode>,
    #[serde(default, deserialize_with = "parallel")]
    parallel: Option<Parallel>,
    #[serde(default, deserialize_with = "jobs_with_origin")]
    jobs: Vec<(RawJob, Utf8PathBuf)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    name: String,
    run: String,
    #[serde(default)]
    background: bool,
    #[serde(default)]
    needs: Vec<String>,
    #[serde(default, deserialize_with = "env_map")]
    env: Vec<(String, String)>,
    root: Option<String>,
    #[serde(default, deserialize_with = "timeout")]
    timeout: Option<Duration>,
}

impl RawFile {
    /// `daft.local.yml` replaces jobs by name, adds new ones, and overrides event settings.
    fn merge(&mut self, local: RawFile, local_path: &Utf8Path) {
        for (name, overrides) in local.hooks {
            let Some((_, event)) = self.hooks.iter_mut().find(|(n, _)| *n == name) else {
                self.hooks.push((name, overrides));
                continue;
            };
            event.fail_mode = overrides.fail_mode.or(event.fail_mode);
            event.parallel = overrides.parallel.or(event.parallel);
            for (job, _) in overrides.jobs {
                match event.jobs.iter_mut().find(|(j, _)| j.name == job.name) {
                    Some(slot) => *slot = (job, local_path.to_owned()),
                    None => event.jobs.push((job, local_path.to_owned())),
                }
            }
        }
    }
}

impl RawJob {
    fn validate(self, event: &str, origin: &Utf8Path) -> Result<Job, ConfigError> {
        let error = |message: String| ConfigError {
            path: origin.to_owned(),
            location: None,
            message: format!("hooks.{event}: job `{}`: {message}", self.name),
            job: Some(self.name.clone()),
        };
        if !valid_name(&self.name) {
            return Err(error("job names may use letters, digits, `.`, `_` and `-` (up to 100, not starting with `.`)".into()));
        }
        if self.run.trim().is_empty() {
            return Err(error(
                "`run` is empty; give the shell command to run".into(),
            ));
        }
        if let Some(root) = &self.root {
            let inside =
                Utf8Path::new(root)
                    .components()
                    .try_fold(0usize, |depth, part| match part {
                        Utf8Component::Normal(_) => Some(depth + 1),
                        Utf8Component::CurDir => Some(depth),
                        Utf8Component::ParentDir => depth.checked_sub(1),
                        Utf8Component::RootDir | Utf8Component::Prefix(_) => None,
                    });
            if inside.is_none() {
                return Err(error(format!(
                    "root `{root}` leaves the work tree; give a path relative to the work tree root"
                )));
            }
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(error("timeout must be more than zero".into()));
        }
        Ok(Job {
            name: self.name,
            run: self.run,
            background: self.background,
            needs: self.needs,
            env: self.env,
            root: self.root,
            timeout: self.timeout,
        })
    }
}

fn parse_file(source: &Source) -> Result<RawFile, ConfigError> {
    let error = |location, message: String| ConfigError {
        path: source.path.clone(),
        location,
        message,
        job: None,
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
    CURRENT_FILE.with(|file| *file.borrow_mut() = source.path.clone());
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

/// How deep `[` and `{` may nest. The YAML parser's time grows with the square of the depth,
/// and hooks parse configs from any checkout: bound it before parsing.
const MAX_DEPTH: usize = 64;

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

std::thread_local! {
    /// The file being parsed, so each job can remember where it came from.
    static CURRENT_FILE: std::cell::RefCell<Utf8PathBuf> = std::cell::RefCell::default();
}

fn jobs_with_origin<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<(RawJob, Utf8PathBuf)>, D::Error> {
    let jobs = Vec::<RawJob>::deserialize(d)?;
    let origin = CURRENT_FILE.with(|file| file.borrow().clone());
    Ok(jobs.into_iter().map(|job| (job, origin.clone())).collect())
}

/// A mapping whose keys must be unique, kept in file order.
fn unique_map<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<Vec<(String, V)>, D::Error> {
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Unique<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of event names to their jobs")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries: Vec<(String, V)> = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                if entries.iter().any(|(k, _)| *k == key) {
                    return Err(de::Error::custom(format!("`{key}` appears twice")));
                }
                let value = map.next_value()?;
                entries.push((key, value));
            }
            Ok(entries)
        }
    }
    d.deserialize_map(Unique(std::marker::PhantomData))
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
    struct EnvVisitor;
    impl<'de> Visitor<'de> for EnvVisitor {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of variable names to values")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut vars: Vec<(String, String)> = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                if key.is_empty() || key.contains('=') || key.contains('\0') {
                    return Err(de::Error::custom(format!(
                        "`{key}` is not a valid environment variable name"
                    )));
                }
                if vars.iter().any(|(k, _)| *k == key) {
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
                if value.contains('\0') {
                    return Err(de::Error::custom(format!("`{key}` contains a NUL byte")));
                }
                vars.push((key, value));
            }
            Ok(vars)
        }
    }
    d.deserialize_map(EnvVisitor)
}

fn parallel<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Parallel>, D::Error> {
    struct ParallelVisitor;
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
                Ok(0) | Err(_) => Err(E::custom(
                    "parallel must be true, false or a number of jobs (1 or more)",
                )),
                Ok(n) => Ok(Parallel::AtMost(n)),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Parallel, E> {
            u64::try_from(v).map_or_else(
                |_| {
                    Err(E::custom(
                        "parallel must be true, false or a number of jobs (1 or more)",
                    ))
                },
                |v| self.visit_u64(v),
            )
        }
    }
    d.deserialize_any(ParallelVisitor).map(Some)
}

fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    struct TimeoutVisitor;
    impl Visitor<'_> for TimeoutVisitor {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as 30s, 10m or 1h")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            crate::duration::parse(v).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }
    }
    d.deserialize_any(TimeoutVisitor).map(Some)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Sources {
            main: Source {
                path: "daft.yml".into(),
                bytes: text.as_bytes().to_vec(),
            },
            local: None,
        }
        .parse()
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
            "        run: 'true'\n",
            "        needs: [a]\n",
            "        needs: [b]\n",
            "        background: true\n",
            "        timeout: 1m\n",
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
            "ü",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parsing_never_panics(pieces in prop::collection::vec(piece(), 0..40)) {
            let _ = parse(&pieces.concat());
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn a_valid_config_has_an_acyclic_graph(pieces in prop::collection::vec(piece(), 0..40)) {
            if let Ok(config) = parse(&pieces.concat()) {
                for event in config.events.values() {
                    prop_assert!(find_cycle(&event.needs()).is_none());
                }
            }
        }
    }
}
