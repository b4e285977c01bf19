//! The command line, as clap parses it. Called as `git-daft` it is `daft`; called as
//! `git-daft-hooks` it is `daft hooks`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

use crate::complete::{branches, event_names, job_names, worktree_paths};

#[derive(Debug, Parser)]
#[command(
    name = "daft",
    version,
    about = "Make a fresh git worktree ready to work in",
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Register daft with git, for a repository or every repository of yours
    Install(InstallArgs),
    /// Take daft out of git and restore what was there before
    Uninstall(UninstallArgs),
    /// Will git call daft here? If not, why, and what to do (exit 0 when all is well)
    Doctor,
    /// What the shims call: handle one git hook
    #[command(hide = true)]
    Hook(HookArgs),
    /// Review this worktree's daft.yml and trust it to run
    Trust(TrustArgs),
    /// Stop trusting this worktree's daft.yml
    Untrust,
    /// Run, inspect and cancel jobs
    #[command(subcommand)]
    Hooks(HooksCommand),
    /// Add a worktree for BRANCH beside this one (a new branch if it does not exist)
    Start(StartArgs),
    /// Run worktree-pre-remove, cancel the worktree's jobs, then remove it with git
    Remove(RemoveArgs),
    /// What Claude Code's worktree hooks run (`WorktreeCreate`, `WorktreeRemove`; JSON on stdin)
    ClaudeCode,
    /// This worktree's DAFT_* values (ports too), for `eval "$(daft env)"`
    Env(EnvArgs),
    /// Write a starter daft.yml from what the repository holds (never over one)
    #[command(
        long_about = "Write a starter daft.yml from what the repository holds (never over one), and daft.schema.json beside it (the JSON Schema editors use to check and complete daft.yml; the first line of daft.yml points at it). Nothing runs until you commit it and trust it with `daft trust`."
    )]
    Init,
    /// Check daft.yml without running anything
    Validate,
    /// The JSON Schema of daft.yml (also committed as daft.schema.json)
    Schema,
    /// The script that gives a shell completions for daft
    Completions(CompletionsArgs),
    /// A shell function so that `daft start` leaves the shell in the new worktree
    ShellInit(ShellInitArgs),
    /// Write daft's man pages (daft.1, one per command, git-daft.1 for `git daft --help`)
    Man(ManArgs),
    /// Runs one run's background jobs, detached (started by `daft hook`)
    #[command(name = "__supervise", hide = true)]
    Supervise { run_dir: PathBuf },
    /// A `copy` job's process: carries PATHs from one work tree into another
    #[command(name = "__copy", hide = true)]
    Copy(CopyArgs),
    /// Ends processes daft started: SIGTERM, SIGKILL after the grace period (detached)
    #[command(name = "__end", hide = true)]
    End { targets: Vec<String> },
    /// Tears a worktree down once another tool has removed it (`remove --prepare`, detached)
    #[command(name = "__await-removal", hide = true)]
    AwaitRemoval { common_dir: PathBuf, id: String },
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The source worktree's root
    #[arg(long)]
    pub(crate) from: PathBuf,
    /// The new worktree's root
    #[arg(long)]
    pub(crate) to: PathBuf,
    /// A .worktreeinclude-style file (in the new worktree, else the source)
    #[arg(long)]
    pub(crate) include: Vec<String>,
    /// Whether tracked files equal to the source's get its modification times
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) carry_times: CarryTimes,
    /// Why no times may be carried: the worktree was in use before its setup ran
    #[arg(long)]
    pub(crate) in_use: Option<String>,
    /// Where to leave a one-line note for the job's summary
    #[arg(long)]
    pub(crate) note: Option<PathBuf>,
    /// Paths and globs, relative to the work tree root
    pub(crate) paths: Vec<String>,
}

/// Whether a copy job carries modification times onto the new worktree's tracked files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CarryTimes {
    /// When the job carried a tree (a build cache), not for single files
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
    /// For every repository of this user (git config --global)
    #[arg(long)]
    pub(crate) global: bool,
    /// How git reaches daft (default: config on git 2.54 or later, else hooks-path)
    #[arg(long, value_enum)]
    pub(crate) mode: Option<crate::install::Mode>,
    /// The repository (default: the current one)
    #[arg(conflicts_with = "global")]
    pub(crate) path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct UninstallArgs {
    /// For every repository of this user (git config --global)
    #[arg(long)]
    pub(crate) global: bool,
    /// The repository (default: the current one)
    #[arg(conflicts_with = "global")]
    pub(crate) path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell
    pub(crate) shell: clap_complete::Shell,
}

/// Shells `daft shell-init` knows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum InitShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub(crate) struct ShellInitArgs {
    /// The shell
    pub(crate) shell: InitShell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Where to write them (default: where `man` looks for the PATH entry that holds daft,
    /// e.g. ~/.cargo/share/man/man1 beside ~/.cargo/bin)
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct HookArgs {
    /// The git hook's name
    pub(crate) name: String,
    /// The linked name git ran (config mode), when it ran one.
    #[arg(skip)]
    pub(crate) linked: Option<PathBuf>,
    /// git's arguments to the hook, passed on byte for byte
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_parser = clap::value_parser!(OsString))]
    pub(crate) args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// Trust without asking
    #[arg(long, short)]
    pub(crate) yes: bool,
    /// Only tell whether the config is trusted (exit 0), untrusted or changed (exit 1)
    #[arg(long, conflicts_with = "yes")]
    pub(crate) status: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HooksCommand {
    /// Run an event's jobs by hand (trust still applies); a service is restarted and waited for
    #[command(
        after_help = "Background jobs are started and left running (`daft hooks wait` waits for them). A service (a job with `ready:`) that is running is stopped first, and the run returns once the new one is ready.\n\nExit codes:\n  0  every synchronous job succeeded, every service it started is ready\n  1  a job failed (whatever `fail_mode` says: that is about git), or a service did not become ready\n  2  a usage or config error"
    )]
    Run(RunArgs),
    /// Show runs and job logs (`log` alone is `log show`)
    Log(LogArgs),
    /// Cancel running background jobs of this worktree (all, or JOB)
    Cancel(CancelArgs),
    /// Wait until this worktree's setup and latest run (or the named jobs) are done
    #[command(
        after_help = "A pending setup whose config is trusted is started first. A service (a job with `ready:`) counts as done once it is ready.\n\nExit codes:\n  0    every job succeeded or was skipped by its own condition, every service is ready\n  1    a job failed (or a service ended or was not ready in time), or a record cannot be read\n  2    the setup cannot run here (untrusted or invalid config, another user's repository): it says why and what to do\n  124  the timeout passed"
    )]
    Wait(WaitArgs),
    /// Same as `daft trust`
    Trust(TrustArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The event, e.g. worktree-post-create or pre-commit
    #[arg(add = ArgValueCandidates::new(event_names))]
    pub(crate) event: String,
    /// Run only this job (its needs are taken as met)
    #[arg(long, add = ArgValueCandidates::new(job_names))]
    pub(crate) job: Option<String>,
    /// Print the plan instead of running it
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct LogArgs {
    #[command(subcommand)]
    pub(crate) command: Option<LogCommand>,
    #[command(flatten)]
    pub(crate) show: ShowArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// The runs of this worktree, newest first, or one job's latest log
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Print this job's latest log
    #[arg(add = ArgValueCandidates::new(job_names))]
    pub(crate) job: Option<String>,
    /// The runs of removed worktrees (their worktree-post-remove jobs)
    #[arg(long, conflicts_with = "follow")]
    pub(crate) removed: bool,
    /// Keep printing the log until the job ends
    #[arg(long, short, requires = "job")]
    pub(crate) follow: bool,
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// Only these jobs (default: every job of the latest run)
    #[arg(add = ArgValueCandidates::new(job_names))]
    pub(crate) jobs: Vec<String>,
    /// Give up after this long (e.g. 90s, 10m); exit 124
    #[arg(long, value_parser = parse_duration)]
    pub(crate) timeout: Option<std::time::Duration>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse(text)
}

#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// One JSON object instead of `export` lines
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// Only this job
    #[arg(add = ArgValueCandidates::new(job_names))]
    pub(crate) job: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// The branch to work on
    #[arg(add = ArgValueCandidates::new(branches))]
    pub(crate) branch: String,
    /// Where to put the worktree (default: ../<repo>.<branch>)
    pub(crate) path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// The worktree: its path (or any directory in it), or the branch checked out in it
    #[arg(add = ArgValueCandidates::new(worktree_paths))]
    pub(crate) worktree: PathBuf,
    /// Remove it even if it has changes (git worktree remove --force), or if
    /// worktree-pre-remove fails
    #[arg(long, short)]
    pub(crate) force: bool,
    /// Leave the removal to the tool that calls this (an agent app's cleanup script):
    /// run worktree-pre-remove and cancel the jobs now, and worktree-post-remove once the
    /// worktree is gone
    #[arg(long, conflicts_with = "force")]
    pub(crate) prepare: bool,
}

/// Parses the command line; `--help`, `--version` and usage errors exit here (usage: 2).
pub(crate) fn parse(mut args: Vec<OsString>) -> Cli {
    // `daft hook NAME ARGS…` comes from a shim on every checkout: its shape is fixed, and
    // building clap's whole command tree would be a fifth of the call's cost.
    if let Some(hook) = shim_call(&args) {
        return Cli {
            command: Command::Hook(hook),
        };
    }
    // `COMPLETE=<shell> daft …`: the shell asks for completions (`daft completions`).
    if std::env::var_os("COMPLETE").is_some_and(|v| !v.is_empty())
        && clap_complete::CompleteEnv::with_factory(Cli::command)
            .bin("daft")
            .try_complete(args.clone(), std::env::current_dir().ok().as_deref())
            .unwrap_or(false)
    {
        std::process::exit(0);
    }
    let called_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if called_as.as_deref() == Some("git-daft-hooks") {
        args.insert(1, "hooks".into());
    }
    if let Some(first) = args.first_mut() {
        *first = "daft".into();
    }
    Cli::parse_from(args)
}

/// The whole command tree, for completions and man pages.
pub(crate) fn command() -> clap::Command {
    Cli::command()
}

/// `daft hook NAME ARGS…` with a plain hook name, as git and the shims send it. The arguments
/// are git's, byte for byte, UTF-8 or not.
fn shim_call(args: &[OsString]) -> Option<HookArgs> {
    // Config mode: git ran `<daft dir>/bin/<hook>` with the hook's arguments.
    let argv0 = std::path::Path::new(args.first()?);
    if let Some(hook) = argv0
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(crate::event::Hook::parse)
    {
        return Some(HookArgs {
            name: hook.name().to_owned(),
            linked: Some(argv0.to_owned()),
            args: args[1..].to_vec(),
        });
    }
    let mut args = args.iter().skip(1);
    if args.next()?.to_str()? != "hook" {
        return None;
    }
    let name = args.next()?.to_str()?;
    if name.starts_with('-') || name.is_empty() {
        return None; // `daft hook --help` and the like: let clap answer
    }
    Some(HookArgs {
        name: name.to_owned(),
        linked: None,
        args: args.cloned().collect(),
    })
}
