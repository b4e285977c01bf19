//! `daft man [DIR]`: daft's man pages, generated from the same clap definitions as `--help`
//! (`clap_mangen`): `daft.1`, one page per command (`daft-hooks-log-show.1`), and `git-daft.1`
//! and `git-daft-hooks.1`, which `git daft --help` opens (git runs `man git-daft`). Without DIR
//! they go where `man` looks for the PATH entry that holds daft: `man` searches `../share/man`
//! beside each `bin` directory on PATH, so `~/.cargo/bin/daft` gets `~/.cargo/share/man/man1`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::cli::ManArgs;
use crate::error::usage;

pub(crate) fn run(args: &ManArgs) -> Result<u8> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => default_dir()?,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let cli = crate::cli::command();
    write_pages(&cli, "daft", &dir, &mut written)?;
    write_page(&cli, "git-daft", &dir, &mut written)?;
    if let Some(hooks) = cli.find_subcommand("hooks") {
        write_page(hooks, "git-daft-hooks", &dir, &mut written)?;
    }
    for page in &written {
        println!("{}", page.display());
    }
    if args.dir.is_none() {
        eprintln!("daft: `man daft` and `git daft --help` open them (man finds them through PATH)");
    }
    Ok(0)
}

/// `<prefix>/share/man/man1` for the `<prefix>/bin` on PATH that holds this daft.
fn default_dir() -> Result<PathBuf> {
    let me = crate::platform::own_exe()
        .ok()
        .and_then(|exe| std::fs::canonicalize(exe).ok());
    let on_path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .find(|dir| {
            std::fs::canonicalize(dir.join("daft")).is_ok_and(|daft| Some(&daft) == me.as_ref())
        })
        .or_else(|| me.as_ref().and_then(|exe| exe.parent().map(Path::to_owned)));
    match on_path {
        Some(bin) if bin.file_name().is_some_and(|n| n == "bin") => {
            Ok(bin.parent().unwrap_or(&bin).join("share/man/man1"))
        }
        Some(dir) => usage!(
            "daft is in {}, which is not a bin directory, so man would not look beside it; give the directory: daft man ~/.local/share/man/man1",
            crate::escape::shell_quote(&dir)
        ),
        None => usage!(
            "cannot tell where daft is; give the directory: daft man ~/.local/share/man/man1"
        ),
    }
}

/// Writes the page of `cmd` (named `name`) and of each of its visible subcommands.
fn write_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    let cmd = write_page(cmd, name, dir, written)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

/// Writes the page of `cmd` as `name.1`; returns the command as named.
fn write_page(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<clap::Command> {
    let cmd = cmd
        .clone()
        .name(name.to_owned())
        .bin_name(name.replace('-', " "));
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    crate::files::write_for_people(&path, &page)?;
    written.push(path);
    Ok(cmd)
}
