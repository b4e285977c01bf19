//! `daft env [--json]`: this worktree's `DAFT_*` values — its id, branch, source worktree and
//! leased ports among them — for `eval "$(daft env)"` in a shell, or as JSON.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::cli::EnvArgs;
use crate::escape::shell_quote;
use crate::trust::{Fingerprint, Status, Store};

pub(crate) fn run(args: &EnvArgs) -> Result<u8> {
    let (wt, sources) = super::here()?;
    let details = wt.details()?;
    let common = wt.common_dir.as_std_path();
    let mut ports = crate::ports::held(common, &wt.identity.id);
    // A trusted config's ports are leased now if this worktree holds none yet.
    if let Some(sources) = &sources
        && Store::new(common).status(&Fingerprint::of(sources)) == Status::Trusted
        && wt.repo.check_owner().is_ok()
        && let Ok(config) = sources.parse()
    {
        ports = crate::ports::lease(common, &wt.identity.id, &config.ports)?;
    }
    let source = crate::event::source_worktree(&wt.repo, &details)
        .map(|path| path.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut vars: BTreeMap<String, String> = [
        ("DAFT_WORKTREE", wt.root.to_string()),
        ("DAFT_WORKTREE_ID", wt.identity.id.clone()),
        ("DAFT_BRANCH", details.branch),
        ("DAFT_COMMIT", details.commit),
        ("DAFT_MAIN_WORKTREE", details.main_worktree),
        ("DAFT_SOURCE_WORKTREE", source),
        ("DAFT_GIT_COMMON_DIR", wt.common_dir.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (name, port) in ports {
        vars.insert(crate::ports::variable(&name), port.to_string());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&vars)?);
    } else {
        for (name, value) in vars {
            let value = if value.is_empty() {
                "''".to_owned()
            } else {
                shell_quote(std::path::Path::new(&value))
            };
            println!("export {name}={value}");
        }
    }
    Ok(0)
}
