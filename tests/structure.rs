//! The house (STYLE.md): no file of `src/` reaches back up to one that uses it — the module
//! graph has no cycle — and no file grows past what one concept needs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::read;

/// Lines of code (tests aside) past which a file should be split by concept.
const MAX_LINES: usize = 450;

/// Every module of `src/` (`copy::transfer`, `commands`, …) with its source, tests cut off.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{name}::"), out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let module = match stem {
                    "mod" => prefix.trim_end_matches("::").to_owned(),
                    "lib" | "main" => continue,
                    stem => format!("{prefix}{stem}"),
                };
                let text = read(&path);
                let code = text
                    .split("#[cfg(test)]")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                out.insert(module, code);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut out,
    );
    out
}

/// The modules `code` (of `module`) names: `crate::a::b`, `super::c`, `use crate::{d, e::f}`.
fn uses(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut paths = Vec::new();
    for (marker, base) in [("crate::", String::new()), ("super::", parent.to_owned())] {
        for (at, _) in code.match_indices(marker) {
            let rest = &code[at + marker.len()..];
            let prefix = if base.is_empty() {
                String::new()
            } else {
                format!("{base}::")
            };
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    paths.push(format!("{prefix}{}", item.trim()));
                }
            } else {
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                paths.push(format!("{prefix}{path}"));
            }
        }
    }
    let mut out = BTreeSet::new();
    for path in paths {
        let parts: Vec<&str> = path
            .split("::")
            .map(|p| p.split_whitespace().next().unwrap_or(""))
            .collect();
        // The longest prefix of the path that is a module.
        let target = (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|candidate| known.contains(candidate));
        if let Some(target) = target
            && target != module
            && !module.starts_with(&format!("{target}::"))
            && !target.starts_with(&format!("{module}::"))
        {
            out.insert(target);
        }
    }
    out
}

/// Depth-first from `node`: the first cycle found, as a path.
fn visit(
    node: &str,
    graph: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|p| p == node) {
        let mut cycle = path[at..].to_vec();
        cycle.push(node.to_owned());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_owned());
    for next in &graph[node] {
        if let Some(cycle) = visit(next, graph, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(node.to_owned());
    None
}

fn no_file_reaches_back_to_a_file_that_uses_it() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|(module, code)| (module.clone(), uses(module, code, &known)))
        .collect();
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        let cycle = visit(module, &graph, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "an import cycle: {}",
            cycle.unwrap().join(" → ")
        );
    }
    // The check sees the edges it must: the hook's command resolves through `resolve`.
    assert!(graph["commands::hook"].contains("resolve"), "{graph:?}");
}

fn every_file_says_why_it_exists_and_stays_small() {
    for (module, code) in modules() {
        assert!(
            code.starts_with("//!"),
            "{module} does not open with a //! paragraph"
        );
        let lines = code.lines().count();
        assert!(
            lines <= MAX_LINES,
            "{module} has {lines} lines of code; split it by concept"
        );
    }
}

/// Every test of the integration suite is a `fn name() {` at the top of its module, and the
/// runner knows only those its module's `cases!` lists: one left out would never run.
fn every_integration_test_is_registered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let lib = std::fs::read_to_string(dir.join("lib.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if matches!(module, "lib" | "harness") {
            continue;
        }
        let code = std::fs::read_to_string(entry.path()).unwrap();
        assert!(
            lib.contains(&format!("{module}::tests(),")),
            "tests/lib.rs does not run {module}::tests()"
        );
        let listed = &code[code.rfind("crate::cases![").expect(module)..];
        for line in code.lines() {
            let Some(test) = line
                .strip_prefix("fn ")
                .and_then(|l| l.strip_suffix("() {"))
            else {
                continue;
            };
            let registered = listed
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == test);
            assert!(registered, "{module}::{test} is not in its module's cases!");
        }
    }
}

crate::cases![
    no_file_reaches_back_to_a_file_that_uses_it,
    every_file_says_why_it_exists_and_stays_small,
    every_integration_test_is_registered,
];
