//! `daft shell-init <shell>`: a shell function named `daft` that runs daft and then changes
//! the shell's directory where daft says: into the new worktree after `daft start`, into the
//! main worktree after `daft remove` of the worktree the shell was in. daft names the
//! directory in a private file the function made (`DAFT_CD_FILE`); nothing else changes.
//! Add `eval "$(daft shell-init bash)"` to ~/.bashrc (zsh: ~/.zshrc; fish:
//! `daft shell-init fish | source` in ~/.config/fish/config.fish).

use std::io::Write as _;
use std::path::Path;

use crate::cli::{InitShell, ShellInitArgs};

const POSIX: &str = r#"# daft's shell integration: `daft start` leaves you in the new worktree, `daft remove` of
# the worktree you are in leaves you in the main one.
daft() {
    local daft_cd_file daft_status
    daft_cd_file=$(mktemp "${TMPDIR:-/tmp}/daft-cd.XXXXXX") || { command daft "$@"; return; }
    DAFT_CD_FILE=$daft_cd_file command daft "$@"
    daft_status=$?
    if [ -s "$daft_cd_file" ]; then
        cd -- "$(cat "$daft_cd_file")" || daft_status=1
    fi
    rm -f -- "$daft_cd_file"
    return $daft_status
}
"#;

const FISH: &str = r"# daft's shell integration: `daft start` leaves you in the new worktree, `daft remove` of
# the worktree you are in leaves you in the main one.
function daft --wraps daft
    set -l daft_cd_file (mktemp (set -q TMPDIR; and echo $TMPDIR; or echo /tmp)/daft-cd.XXXXXX)
    or begin; command daft $argv; return; end
    DAFT_CD_FILE=$daft_cd_file command daft $argv
    set -l daft_status $status
    if test -s $daft_cd_file
        cd (cat $daft_cd_file); or set daft_status 1
    end
    rm -f -- $daft_cd_file
    return $daft_status
end
";

pub(crate) fn run(args: &ShellInitArgs) -> u8 {
    print!(
        "{}",
        match args.shell {
            InitShell::Bash | InitShell::Zsh => POSIX,
            InitShell::Fish => FISH,
        }
    );
    0
}

/// Tells the shell function (if one called daft) to change into `dir`. The file must be the
/// one the function made: a regular file of ours, written without following a link.
pub(crate) fn change_directory(dir: &Path) {
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let Some(file) = std::env::var_os("DAFT_CD_FILE").filter(|f| !f.is_empty()) else {
        return;
    };
    let Ok(meta) = std::fs::symlink_metadata(&file) else {
        return;
    };
    if !meta.is_file() || meta.uid() != crate::platform::effective_uid() {
        return;
    }
    if let Ok(mut out) = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(crate::platform::NO_FOLLOW)
        .open(&file)
    {
        let _ = out.write_all(dir.as_os_str().as_encoded_bytes());
    }
}
