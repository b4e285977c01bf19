//! The JSON Schema of `daft.yml`, derived from the raw types in `raw` (schemars), so that it
//! cannot drift from what daft parses: the derive covers the structure, and the functions
//! here describe the values daft reads with its own checks (durations, `parallel`, a path or
//! a list of them). `daft schema` prints it; `daft.schema.json` is the same text, committed.

use schemars::{Schema, SchemaGenerator, json_schema};

/// `parallel:`: `true`, `false` or a number of jobs.
pub(super) fn parallel(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "How many jobs run at once: true (one per CPU, the default), a number, or false (one at a time, in file order).",
        "anyOf": [{ "type": "boolean" }, { "type": "integer", "minimum": 1 }],
    })
}

/// `timeout:`: `30s`, `10m`, `1h30m`, `500ms`, or seconds.
pub(super) fn duration(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Killed (TERM, then KILL) after this long: 30s, 10m, 1h30m, 500ms, or a number of seconds; at most 30 days.",
        "anyOf": [
            { "type": "string", "pattern": "^\\s*([0-9]+(ms|s|m|h))+\\s*$|^\\s*[0-9]+\\s*$" },
            { "type": "integer", "minimum": 1 },
        ],
    })
}

/// `env:`: variable names to strings, numbers or booleans.
pub(super) fn env(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Variables for the job; ${NAME} expands from its environment, $${ is a literal ${.",
        "type": "object",
        "propertyNames": { "pattern": "^[^=\\u0000]+$" },
        "additionalProperties": { "type": ["string", "number", "boolean"] },
    })
}

/// A job name, as `needs`, logs and `--job` refer to it.
pub(super) fn job_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$",
    })
}

/// A list of job names.
pub(super) fn job_names(generator: &mut SchemaGenerator) -> Schema {
    let name = job_name(generator);
    json_schema!({ "type": "array", "items": name })
}

/// A string, or a list of strings.
pub(super) fn one_or_more(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string", "minLength": 1 },
            { "type": "array", "items": { "type": "string", "minLength": 1 } },
        ],
    })
}

/// `ports:` names.
pub(super) fn ports(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "One free TCP port per name for each worktree, as DAFT_PORT_<NAME>.",
        "type": "array",
        "maxItems": 32,
        "items": { "type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_-]{0,39}$" },
    })
}

/// `ready: { timeout: }`: how long a service may take to be ready.
pub(super) fn ready_within(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "How long the service may take to become ready (default 60s): 30s, 2m, or a number of seconds; not ready by then, it fails and is ended.",
        "anyOf": [
            { "type": "string", "pattern": "^\\s*([0-9]+(ms|s|m|h))+\\s*$|^\\s*[0-9]+\\s*$" },
            { "type": "integer", "minimum": 1 },
        ],
    })
}

/// One of the names in `ports:`.
pub(super) fn port_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Ready when a TCP connection to this worktree's port NAME (one of `ports:`) succeeds on 127.0.0.1.",
        "type": "string",
        "pattern": "^[A-Za-z][A-Za-z0-9_-]{0,39}$",
    })
}

/// A service is ready by one test: its `port` answers, or its `run` command exits 0.
pub(super) fn one_probe(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        serde_json::json!([{ "required": ["port"] }, { "required": ["run"] }]),
    );
}

/// A job does one thing: `run` a command, or `copy` paths.
pub(super) fn one_action(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        serde_json::json!([{ "required": ["run"] }, { "required": ["copy"] }]),
    );
}
