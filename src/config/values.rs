//! The checks each value of `daft.yml` gets while it is read: job names, commands, paths that
//! must stay in the work tree, environment maps, durations, conditions, port names. Each
//! error is raised where the value is, so `serde_yaml` gives its line and column.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::Parallel;
use super::budget::{MAX_TIMEOUT, spend};

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

pub(super) fn job_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, "a job name", |name| {
        if valid_name(name) {
            Ok(())
        } else {
            Err(format!("`{name}`: {NAME_RULE}"))
        }
    })
}

pub(super) fn job_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
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
pub(super) fn command<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
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
pub(super) fn root<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
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
pub(super) fn env_map<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
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

pub(super) fn parallel<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Parallel>, D::Error> {
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

pub(super) fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
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

/// A list of strings, each checked while read; `one` also accepts a single string.
pub(super) fn checked_list<'de, D: Deserializer<'de>>(
    d: D,
    what: &'static str,
    one: bool,
    check: fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, D::Error> {
    struct List {
        what: &'static str,
        one: bool,
        check: fn(&str) -> Result<(), String>,
    }
    impl<'de> Visitor<'de> for List {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.one {
                write!(f, "{}, or a list of them", self.what)
            } else {
                write!(f, "a list of {}", self.what)
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if !self.one {
                return Err(E::invalid_type(de::Unexpected::Str(v), &self));
            }
            spend(1, v.len())?;
            (self.check)(v).map_err(E::custom)?;
            Ok(vec![v.to_owned()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                spend(1, item.len())?;
                (self.check)(&item).map_err(de::Error::custom)?;
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_any(List { what, one, check })
}

/// `branch:` globs, matched against the branch name.
pub(super) fn globs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    checked_list(d, "a glob on the branch name", true, |glob| {
        globset::Glob::new(glob)
            .map(|_| ())
            .map_err(|err| format!("`{glob}` is not a glob: {}", err.kind()))
    })
}

/// `files:` paths, relative to the work tree root and inside it.
pub(super) fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    checked_list(d, "paths in the work tree", true, |path| {
        if path.is_empty() || path.contains('\0') {
            Err(format!("`{path}` is not a path"))
        } else if stays_inside(Path::new(path)) {
            Ok(())
        } else {
            Err(format!(
                "`{path}` leaves the work tree; give a path relative to the work tree root"
            ))
        }
    })
}

/// `env:` in a condition: names of variables that must be set and non-empty.
pub(super) fn var_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    checked_list(d, "environment variable names", true, |name| {
        if name.is_empty() || name.contains(['=', '\0']) {
            Err(format!("`{name}` is not an environment variable name"))
        } else {
            Ok(())
        }
    })
}

/// `run:` of a job.
pub(super) fn command_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    command(d).map(Some)
}

/// `from:` the worktree to copy from: a path, absolute or relative to the new work tree.
pub(super) fn from_dir<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    checked(d, "the path of a worktree", |path| {
        if path.is_empty() || path.contains('\0') {
            Err(format!("`{path}` is not a path"))
        } else {
            Ok(())
        }
    })
    .map(Some)
}

/// `run:` in a condition: a command that must exit 0.
pub(super) fn condition_command<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    command(d).map(Some)
}

/// Whether `name` may name a port: it becomes part of `DAFT_PORT_<NAME>`.
pub(crate) fn valid_port_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `ready: { port: NAME }`: a port name (that it is one of `ports:` is checked with the whole
/// file).
pub(super) fn port_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(d)?;
    if !valid_port_name(&name) {
        return Err(de::Error::custom(format!(
            "port name `{name}`: use letters, digits, `_` and `-`, starting with a letter, as in `ports:`"
        )));
    }
    Ok(Some(name))
}

/// `ports:` names, each once: they become `DAFT_PORT_<NAME>`.
pub(super) fn ports<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let names = checked_list(d, "port names", false, |name| {
        if valid_port_name(name) {
            Ok(())
        } else {
            Err(format!(
                "port name `{name}`: use letters, digits, `_` and `-`, starting with a letter (it becomes DAFT_PORT_<NAME>)"
            ))
        }
    })?;
    let mut seen = HashSet::new();
    for name in &names {
        if !seen.insert(name.to_ascii_uppercase().replace('-', "_")) {
            return Err(de::Error::custom(format!(
                "port `{name}` is named twice (DAFT_PORT_ names ignore case and `-`)"
            )));
        }
    }
    if names.len() > 32 {
        return Err(de::Error::custom("at most 32 ports per worktree"));
    }
    Ok(Some(names))
}
