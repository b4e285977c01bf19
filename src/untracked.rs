//! What a new worktree does not get from its commit: a `daft.yml` that is not committed (or
//! committed after the commit the worktree holds) is named, with what to do; the untracked
//! `daft.local.yml` of the worktree it was made from is carried into it, so its setup runs as
//! it would there (SPEC §3).

/// Why a linked worktree has no `daft.yml` when the worktree it was made from has one, and
/// what to do about it; or `None` when there is nothing to say (no config anywhere, the main
/// worktree, a bare clone's own). New worktrees are made from commits, so a config that is not
/// committed — or committed after the commit this worktree holds — never reaches them.
pub(crate) fn config_left_behind(repo: &crate::repo::Repo) -> Option<(String, String)> {
    let wt = crate::worktree::Worktree::of(repo).ok()?;
    if wt.identity.admin.is_none() || wt.root.join("daft.yml").exists() {
        return None;
    }
    let details = wt.details().ok()?;
    let (source, _) = crate::worktree::source_worktree(repo, &details);
    let source = source.filter(|source| *source != wt.root)?;
    if !source.join("daft.yml").is_file() {
        return None;
    }
    let shown = crate::escape::shell_quote(source.as_std_path());
    let committed = crate::git::output(
        source.as_std_path(),
        &["ls-tree", "--name-only", "HEAD", "--", "daft.yml"],
    )
    .is_ok_and(|listed| listed.trim() == "daft.yml");
    Some(if committed {
        (
            format!(
                "this worktree's commit has no daft.yml ({shown} has one, committed on its branch): nothing was set up here"
            ),
            "merge or rebase onto that branch here, then run `daft hooks run worktree-post-create`"
                .to_owned(),
        )
    } else {
        (
            format!(
                "daft.yml in {shown} is not committed, and new worktrees are made from commits: this one has none, and nothing was set up here"
            ),
            "commit it (`git add daft.yml && git commit`): worktrees made after that have it (for this one, merge that commit here, then run `daft hooks run worktree-post-create`)".to_owned(),
        )
    })
}

/// A new worktree's `daft.local.yml`, carried from the worktree it was made from: being
/// untracked, it is never in the commit, and the setup is to run as it does there (trust
/// covers the pair, as in the source). Only where the worktree has a config and no local file
/// of its own. Returns a sentence saying so.
pub(crate) fn carry_local_config(repo: &crate::repo::Repo) -> Option<String> {
    use crate::config::Sources;
    let wt = crate::worktree::Worktree::of(repo).ok()?;
    wt.identity.admin.as_ref()?;
    let here = Sources::find(wt.root.as_std_path()).ok()??;
    if here.local.is_some() {
        return None;
    }
    let details = wt.details().ok()?;
    let source = crate::worktree::source_worktree(repo, &details).0?;
    let local = Sources::find(source.as_std_path()).ok()??.local?;
    let to = wt.root.join(crate::config::LOCAL_FILE_NAME);
    crate::files::write_new_for_people(to.as_std_path(), &local.bytes).ok()?;
    Some(format!(
        "carried {} from {} (untracked, so not in the worktree's commit)",
        crate::config::LOCAL_FILE_NAME,
        crate::escape::shell_quote(source.as_std_path())
    ))
}

/// Whether the config found at `root` is in the commit `HEAD` names there — where new
/// worktrees get it from. True when there is no config (nothing to commit).
pub(crate) fn config_committed(root: &std::path::Path) -> bool {
    let Ok(Some(sources)) = crate::config::Sources::find(root) else {
        return true;
    };
    let name = sources.main.path.file_name().unwrap_or_default();
    crate::git::output(root, &["ls-tree", "--name-only", "HEAD", "--"]).is_ok_and(|listed| {
        listed
            .lines()
            .any(|line| std::ffi::OsStr::new(line) == name)
    })
}
