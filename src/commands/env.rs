//! `daft env [--json]`: this worktree's `DAFT_*` values — its id, branch, source worktree and
//! leased ports among them — for `eval "$(daft env)"` in a shell, or as JSON. Every value is
//! quoted so that bash, zsh, dash and fish all read it back as it is; nothing from a record
//! reaches the output unchecked.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::cli::EnvArgs;
use crate::escape::eval_quote;
use crate::event::Event;
use crate::resolve;

pub(crate) fn run(args: &EnvArgs) -> Result<u8> {
    let (wt, _) = super::here()?;
    wt.repo.check_owner()?;
    let details = wt.details()?;
    let common = wt.common_dir.as_std_path();
    // A trusted config's ports are leased now if this worktree holds none yet.
    let ports = match resolve::check(&wt.repo, None::<Event>) {
        Ok(checked) => crate::ports::lease(common, &wt.identity.id, &checked.config.ports)?,
        Err(_) => crate::ports::held(common, &wt.identity.id),
    };
    let (source, ignored) = crate::worktree::source_worktree(&wt.repo, &details);
    if let Some(ignored) = ignored {
        crate::printer::Printer::stderr().notice(&ignored);
    }
    let path = |p: Option<camino::Utf8PathBuf>| p.map(String::from).unwrap_or_default();
    let mut vars: BTreeMap<String, String> = [
        ("DAFT_WORKTREE", wt.root.to_string()),
        ("DAFT_WORKTREE_ID", wt.identity.id.clone()),
        ("DAFT_BRANCH", details.branch),
        ("DAFT_COMMIT", details.commit),
        ("DAFT_MAIN_WORKTREE", path(details.main_worktree)),
        ("DAFT_SOURCE_WORKTREE", path(source)),
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
            println!("export {name}={}", eval_quote(&value));
        }
    }
    Ok(0)
}
