//! From the file as written to a [`Config`] whose every value can run: `daft.local.yml`
//! merged in, each job's settings checked against one another (what goes with `run`, with
//! `copy`, with `background`, with `ready`), and each event's graph checked. Every mistake is
//! collected, not only the first.

use std::collections::BTreeMap;
use std::path::Path;

use super::{
    Action, Condition, Config, EventConfig, FailMode, Job, Parallel, Probe, READY_WITHIN, Ready,
    graph, raw,
};
use crate::error::ConfigError;

/// `daft.local.yml` replaces jobs by name, adds new ones, and overrides event settings and
/// the list of ports.
pub(super) fn merge(file: &mut raw::RawFile, local: raw::RawFile) {
    if local.ports.is_some() {
        file.ports = local.ports;
    }
    for (name, overrides) in local.hooks {
        let Some((_, event)) = file.hooks.iter_mut().find(|(n, _)| *n == name) else {
            file.hooks.push((name, overrides));
            continue;
        };
        event.fail_mode = overrides.fail_mode.or(event.fail_mode);
        event.parallel = overrides.parallel.or(event.parallel);
        for job in overrides.jobs {
            match event.jobs.iter_mut().find(|(j, _)| j.name == job.0.name) {
                Some(slot) => *slot = job,
                None => event.jobs.push(job),
            }
        }
    }
}

/// The config, or every mistake found in it, in file order of events and jobs.
pub(super) fn validate(file: raw::RawFile, main_path: &Path) -> Result<Config, Vec<ConfigError>> {
    let mut events = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, raw_event) in file.hooks {
        let mut jobs = Vec::new();
        for (job, origin) in raw_event.jobs {
            let wrong = |message: &str| ConfigError {
                job: Some(job.name.clone()),
                ..ConfigError::new(
                    &origin,
                    format!("hooks.{name}: job `{}`: {message}", job.name),
                )
            };
            if !job.background && (job.nice.is_some() || job.yields.is_some()) {
                errors.push(wrong(
                    "`nice` and `yield` go with `background: true`: a synchronous job already has git waiting for it",
                ));
            }
            let action = match (job.run, job.copy) {
                (Some(run), None) => {
                    if job.from.is_some() {
                        errors.push(wrong("`from` goes with `copy`, not `run`"));
                    }
                    if job.carry_times.is_some() {
                        errors.push(wrong("`carry_times` goes with `copy`, not `run`"));
                    }
                    Action::Run(run)
                }
                (None, Some(items)) => {
                    if job.root.is_some() || !job.env.is_empty() {
                        errors.push(wrong(
                            "a `copy` job takes no `root` or `env`: it copies into the same place in the new work tree",
                        ));
                    }
                    Action::Copy {
                        items,
                        from: job.from,
                    }
                }
                (Some(_), Some(_)) => {
                    errors.push(wrong("has both `run` and `copy`; a job does one of them"));
                    Action::Run(String::new()) // never used: the config is refused
                }
                (None, None) => {
                    errors.push(wrong(
                        "needs `run` (a shell command) or `copy` (paths to carry over)",
                    ));
                    Action::Run(String::new()) // never used: the config is refused
                }
            };
            let ready = job.ready.map(|raw| {
                let settings = (job.background, job.timeout.is_some());
                let ports = file.ports.as_deref().unwrap_or_default();
                let mistakes = service_mistakes(&raw, settings, &action, ports);
                errors.extend(mistakes.iter().map(|m| wrong(m)));
                ready(raw)
            });
            jobs.push(Job {
                name: job.name,
                action,
                background: job.background,
                needs: job.needs,
                env: job.env,
                root: job.root,
                timeout: job.timeout,
                priority: job.priority,
                only: condition(job.only),
                skip: condition(job.skip),
                nice: job.nice.unwrap_or(true),
                // A service is not stopped for a lock wait unless it says so: stopping it is
                // not giving way, it is taking the server away.
                yields: job.yields.unwrap_or(ready.is_none()),
                carry_times: job.carry_times,
                ready,
            });
        }
        let fail_mode = raw_event.fail_mode.unwrap_or(if name.can_veto() {
            FailMode::Abort
        } else {
            FailMode::Warn
        });
        let config = EventConfig {
            fail_mode,
            parallel: raw_event.parallel.unwrap_or(Parallel::Cpus),
            jobs,
        };
        errors.extend(graph::check(name.name(), &config, main_path));
        events.insert(name, config);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Config {
        events,
        ports: file.ports.unwrap_or_default(),
    })
}

fn condition(raw: Option<raw::RawCondition>) -> Option<Condition> {
    raw.map(|c| Condition {
        branch: c.branch,
        files: c.files,
        env: c.env,
        run: c.run,
    })
}

fn ready(raw: raw::RawReady) -> Ready {
    Ready {
        probe: match (raw.port, raw.run) {
            (Some(port), _) => Probe::Port(port),
            (None, run) => Probe::Run(run.unwrap_or_default()),
        },
        within: raw.timeout.unwrap_or(READY_WITHIN),
    }
}

/// What is wrong with a job's `ready:` (a service), each said as what to do.
fn service_mistakes(
    ready: &raw::RawReady,
    (background, timed): (bool, bool),
    action: &Action,
    ports: &[String],
) -> Vec<String> {
    let mut mistakes = Vec::new();
    if !background {
        mistakes.push(
            "`ready` makes a service, which runs until its worktree goes: add `background: true` (git cannot wait for a job that never ends)".to_owned(),
        );
    }
    if matches!(action, Action::Copy { .. }) {
        mistakes.push("`ready` goes with `run` (a service), not `copy`".to_owned());
    }
    if timed {
        mistakes.push(
            "a service runs until its worktree goes, so `timeout` would end it: say how long it may take to start with `ready: { timeout: … }`".to_owned(),
        );
    }
    match (&ready.port, &ready.run) {
        (Some(_), Some(_)) => mistakes.push(
            "`ready` takes `port` or `run`, not both: one test of readiness".to_owned(),
        ),
        (None, None) => mistakes.push(
            "`ready` needs `port: NAME` (one of `ports:`) or `run: CMD` (exits 0 once it is ready)".to_owned(),
        ),
        (Some(port), None) if !ports.contains(port) => mistakes.push(if ports.is_empty() {
            format!("`ready: {{ port: {port} }}` names a port, but the file has no `ports:`; add `ports: [{port}]` at the top")
        } else {
            format!(
                "`ready: {{ port: {port} }}` is not one of `ports:` ({}); add it there or use one of them",
                ports.join(", ")
            )
        }),
        _ => {}
    }
    mistakes
}
