//! `daft completions <shell>`: the script that gives a shell completions for daft, generated
//! from the clap definitions; at each Tab it asks daft itself (see `complete`).

use anyhow::{Result, anyhow};

use crate::cli::CompletionsArgs;

pub(crate) fn run(args: &CompletionsArgs) -> Result<u8> {
    let name = args.shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let shell = shells
        .completer(&name)
        .ok_or_else(|| anyhow!("no completions for {name}"))?;
    shell.write_registration("COMPLETE", "daft", "daft", "daft", &mut std::io::stdout())?;
    Ok(0)
}
