//! `daft man DIR`: daft's man pages, generated from the same clap definitions as `--help`
//! (`clap_mangen`): `daft.1`, and one page per command (`daft-hooks-log-show.1`), never written
//! by hand. Install them with `daft man ~/.local/share/man/man1` (or any MANPATH directory).

use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::ManArgs;

pub(crate) fn run(args: &ManArgs) -> Result<u8> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut written = Vec::new();
    write_pages(&crate::cli::command(), "daft", &args.dir, &mut written)?;
    for page in &written {
        println!("{}", page.display());
    }
    Ok(0)
}

/// Writes the page of `cmd` (named `name`) and of each of its visible subcommands.
fn write_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<std::path::PathBuf>,
) -> Result<()> {
    let cmd = cmd
        .clone()
        .name(name.to_owned())
        .bin_name(name.replace('-', " "));
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    crate::files::write_atomically(&path, &page)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
