//! Whether an event's jobs form a sound graph: unique names, `needs` that name jobs of the
//! event, no synchronous job waiting on a background one, no cycle. These errors are found
//! after parsing, so their line is looked up by the job's name.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{EventConfig, Job};
use crate::error::ConfigError;

/// Every mistake in the event's graph.
pub(super) fn check(event: &str, config: &EventConfig, path: &Path) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let at = |job: &Job, message: String| ConfigError {
        job: Some(job.name.clone()),
        ..ConfigError::new(
            path,
            format!("hooks.{event}: job `{}`: {message}", job.name),
        )
    };
    let mut seen = HashSet::new();
    for job in &config.jobs {
        if !seen.insert(job.name.as_str()) {
            errors.push(at(
                job,
                "the name is used twice; job names must be unique within an event".into(),
            ));
        }
    }
    let index: HashMap<&str, usize> = config
        .jobs
        .iter()
        .enumerate()
        .map(|(i, job)| (job.name.as_str(), i))
        .collect();
    for job in &config.jobs {
        for need in &job.needs {
            if *need == job.name {
                errors.push(at(
                    job,
                    "needs itself; remove it from its own `needs`".into(),
                ));
                continue;
            }
            let Some(&i) = index.get(need.as_str()) else {
                let known: Vec<_> = config.jobs.iter().map(|j| j.name.as_str()).collect();
                errors.push(at(
                    job,
                    format!(
                        "needs `{need}`, which is not a job of this event (jobs: {})",
                        known.join(", ")
                    ),
                ));
                continue;
            };
            if !job.background && config.jobs[i].background {
                errors.push(at(
                    job,
                    format!(
                        "is synchronous but needs background job `{need}`; make `{}` background too, or `{need}` synchronous",
                        job.name
                    ),
                ));
            }
        }
    }
    let needs: Vec<Vec<usize>> = config
        .needs()
        .into_iter()
        .enumerate()
        .map(|(i, needs)| needs.into_iter().filter(|&n| n != i).collect())
        .collect();
    if let Some(cycle) = find_cycle(&needs) {
        let names: Vec<_> = cycle
            .iter()
            .map(|&i| config.jobs[i].name.as_str())
            .collect();
        errors.push(ConfigError {
            job: cycle.first().map(|&i| config.jobs[i].name.clone()),
            ..ConfigError::new(
                path,
                format!(
                    "hooks.{event}: `needs` form a cycle: {}; remove one of these needs",
                    names.join(" → ")
                ),
            )
        });
    }
    errors
}

/// A cycle in the graph, as a path that returns to its start, if there is one. Iterative, so
/// a long chain of needs cannot overflow the stack.
pub(super) fn find_cycle(needs: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; needs.len()];
    for start in 0..needs.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // (node, index of the next need to look at)
        let mut stack = vec![(start, 0usize)];
        marks[start] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let Some(&to) = needs[node].get(*next) else {
                marks[node] = Mark::Done;
                stack.pop();
                continue;
            };
            *next += 1;
            match marks[to] {
                Mark::OnPath => {
                    let from = stack.iter().position(|&(n, _)| n == to).unwrap_or(0);
                    let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                    cycle.push(to);
                    return Some(cycle);
                }
                Mark::New => {
                    marks[to] = Mark::OnPath;
                    stack.push((to, 0));
                }
                Mark::Done => {}
            }
        }
    }
    None
}
