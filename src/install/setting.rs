//! `core.hooksPath` as git sees it: its value, its scope and the file it is set in (includes
//! followed), and the directory it names.

use std::path::Path;

use anyhow::Result;

use crate::{env, git};

/// A `core.hooksPath` setting as git sees it: the value, its scope and the file it is in.
#[derive(Debug, Clone)]
pub(crate) struct Setting {
    pub(crate) value: String,
    pub(crate) scope: String,
    pub(crate) origin: String,
}

/// The `core.hooksPath` git uses in `dir`, with where it comes from (includes followed).
pub(crate) fn effective(dir: &Path, scopes: &[&str]) -> Result<Option<Setting>> {
    let mut args = vec!["--show-origin", "--show-scope", "--includes"];
    args.extend_from_slice(scopes);
    args.extend(["--get", "core.hooksPath"]);
    let Some(line) = git::config_get(dir, &args)? else {
        return Ok(None);
    };
    let mut parts = line.splitn(3, '\t');
    let (scope, origin, value) = (parts.next(), parts.next(), parts.next());
    Ok(Some(Setting {
        scope: scope.unwrap_or_default().to_owned(),
        origin: origin
            .unwrap_or_default()
            .trim_start_matches("file:")
            .to_owned(),
        value: value.unwrap_or_default().to_owned(),
    }))
}

/// Git expands a leading `~/` in path settings; so must we, to find the same directory.
pub(crate) fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), env::home()) {
        (Some(rest), Ok(home)) => home.join(rest).to_string_lossy().into_owned(),
        _ => path.to_owned(),
    }
}
