//! The runner (libtest-mimic): every test of every module, each with what it needs from this
//! machine. A test whose needs are not met here shows as ignored in the runner's own summary
//! (`test [skipped] ecosystem::… ... ignored`), and the end of the output lists them by reason. `DAFT_TEST_REQUIRE=zsh,fish,tools,…` (what `.ci/run`
//! installed) turns a skip for one of those into a failure, so nothing installed is skipped
//! anyway.

use std::path::PathBuf;
use std::sync::OnceLock;

use libtest_mimic::{Arguments, Trial};

/// Something a test needs that a machine may not have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    /// git 2.54 or later (`DAFT_TEST_GIT`): daft installs in config mode.
    ConfigMode,
    /// git before 2.54: daft installs in hooks-path mode.
    HooksPathMode,
    /// A program on PATH (a shell, `man`, `script`).
    Program(&'static str),
    /// A hook manager or worktree tool under `DAFT_TEST_TOOLS` (or on PATH).
    Tool(Tool),
    /// Python's pygit2 (libgit2), under `DAFT_TEST_TOOLS` or for `python3`.
    Pygit2,
    /// Root, to make files and processes of another user.
    Root,
    /// Root that can mount a tmpfs (a disk that fills).
    Mount,
    /// `../shared` (SPEC.md and the seed pages).
    Shared,
    /// A kernel that shares CPU time by session (Linux's autogroup, enabled).
    Autogroup,
    /// Linux's own enhancements (FICLONE, I/O priority, the lock table, `/proc/self/cwd`):
    /// left out of the portable build, which takes the paths macOS takes.
    LinuxOnly,
}

/// The tools `.ci/run` installs under `DAFT_TEST_TOOLS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    PreCommit,
    Prek,
    LefthookPypi,
    LefthookNpm,
    Husky,
    Worktrunk,
}

impl Tool {
    /// The command, and where under `DAFT_TEST_TOOLS` it lives.
    fn place(self) -> (&'static str, &'static str) {
        match self {
            Self::PreCommit => ("pre-commit", "venv/bin"),
            Self::Prek => ("prek", "venv/bin"),
            Self::LefthookPypi => ("lefthook", "venv/bin"),
            Self::LefthookNpm => ("lefthook", "npm/node_modules/.bin"),
            Self::Husky => ("husky", "npm/node_modules/.bin"),
            Self::Worktrunk => ("wt", "cargo/bin"),
        }
    }

    /// The tool's command, if it is installed: under `DAFT_TEST_TOOLS`, else on PATH (but
    /// lefthook, which is told apart by where it came from).
    pub(crate) fn path(self) -> Option<PathBuf> {
        let (name, under) = self.place();
        let tools = std::env::var_os("DAFT_TEST_TOOLS").filter(|r| !r.is_empty());
        let mut dirs: Vec<PathBuf> = tools
            .map(|r| PathBuf::from(r).join(under))
            .into_iter()
            .collect();
        if !matches!(self, Self::LefthookPypi | Self::LefthookNpm) {
            dirs.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
        }
        dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
    }
}

impl Need {
    /// The word `DAFT_TEST_REQUIRE` uses for it.
    fn word(self) -> &'static str {
        match self {
            Self::ConfigMode | Self::HooksPathMode => "mode",
            Self::Program(name) => name,
            Self::Tool(Tool::Worktrunk) => "worktrunk",
            Self::Tool(_) => "tools",
            Self::Pygit2 => "pygit2",
            Self::Root => "root",
            Self::Mount => "mount",
            Self::Shared => "shared",
            Self::Autogroup => "autogroup",
            Self::LinuxOnly => "linux",
        }
    }

    /// Why the need is not met here, if it is not.
    fn missing(self) -> Option<String> {
        let met = match self {
            Self::ConfigMode => crate::common::config_mode(),
            Self::HooksPathMode => !crate::common::config_mode(),
            Self::Program(name) => on_path(name),
            Self::Tool(tool) => tool.path().is_some(),
            Self::Pygit2 => pygit2_python().is_some(),
            Self::Root => is_root(),
            Self::Mount => can_mount(),
            Self::Shared => crate::common::shared_dir().is_some(),
            // Enabled, and a new session gets a group of its own, as daft's supervisor does.
            Self::LinuxOnly => !cfg!(feature = "portable"),
            Self::Autogroup => {
                !cfg!(feature = "portable")
                    && std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
                        .is_ok_and(|s| s.trim() == "1")
                    && std::process::Command::new("setsid")
                        .args(["cat", "/proc/self/autogroup"])
                        .output()
                        .is_ok_and(|out| out.stdout.starts_with(b"/autogroup-"))
            }
        };
        if met {
            return None;
        }
        Some(match self {
            Self::ConfigMode => "config mode needs git 2.54 or later (DAFT_TEST_GIT)".to_owned(),
            Self::HooksPathMode => "a hooks-path mode test; this git has config hooks".to_owned(),
            Self::Program(name) => format!("{name} is not installed"),
            Self::Tool(tool) => format!(
                "{} is not under DAFT_TEST_TOOLS (.ci/run installs it)",
                tool.place().0
            ),
            Self::Pygit2 => "pygit2 is not installed (.ci/run installs it)".to_owned(),
            Self::Root => "needs root, to act as another user".to_owned(),
            Self::Mount => "needs root that can mount a tmpfs".to_owned(),
            Self::Shared => "../shared is not here".to_owned(),
            Self::LinuxOnly => {
                "a Linux-only enhancement, left out of this portable build (as on macOS)".to_owned()
            }
            Self::Autogroup => {
                "CPU time is not shared by session here (autogroup off, or a new session gets no group of its own)"
                    .to_owned()
            }
        })
    }
}

fn on_path(name: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|dir| dir.join(name).is_file())
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a tmpfs can be mounted here (root in a container may lack the right): tried once.
fn can_mount() -> bool {
    static CAN: OnceLock<bool> = OnceLock::new();
    *CAN.get_or_init(|| {
        let Ok(dir) = tempfile::tempdir() else {
            return false;
        };
        let mounted = is_root()
            && std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
                .arg(dir.path())
                .output()
                .is_ok_and(|out| out.status.success());
        if mounted {
            let _ = std::process::Command::new("umount")
                .arg(dir.path())
                .status();
        }
        mounted
    })
}

/// A python that has pygit2: the tools' venv, else `python3`. Tried once.
pub(crate) fn pygit2_python() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let venv = std::env::var_os("DAFT_TEST_TOOLS")
                .map(|root| PathBuf::from(root).join("venv/bin/python"));
            venv.into_iter()
                .chain([PathBuf::from("python3")])
                .find(|python| {
                    std::process::Command::new(python)
                        .args(["-c", "import pygit2"])
                        .output()
                        .is_ok_and(|out| out.status.success())
                })
        })
        .clone()
}

/// One test: its module, name, needs and body.
pub(crate) struct Case {
    pub(crate) module: &'static str,
    pub(crate) name: &'static str,
    pub(crate) needs: Vec<Need>,
    pub(crate) run: fn(),
}

/// A module's tests: `cases![plain_test, [Need::Root] root_test]` defines `tests()`.
#[macro_export]
macro_rules! cases {
    ($( $([$($need:expr),+ $(,)?])? $name:ident ),* $(,)?) => {
        pub(crate) fn tests() -> Vec<$crate::harness::Case> {
            #[allow(unused_imports)]
            use $crate::harness::{Need, Tool};
            vec![$(
                $crate::harness::Case {
                    module: module_path!(),
                    name: stringify!($name),
                    needs: vec![$($($need),+)?],
                    run: $name,
                },
            )*]
        }
    };
}

/// Runs `cases` as the command line asks, then says what was skipped and why.
pub(crate) fn run(cases: Vec<Case>) -> std::process::ExitCode {
    let args = Arguments::from_args();
    let required: Vec<String> = std::env::var("DAFT_TEST_REQUIRE")
        .unwrap_or_default()
        .split(',')
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    let mut skipped = std::collections::BTreeMap::<String, Vec<String>>::new();
    let trials: Vec<Trial> = cases
        .into_iter()
        .map(|case| {
            let module = case
                .module
                .split("::")
                .skip(1)
                .collect::<Vec<_>>()
                .join("::");
            let name = format!("{module}::{}", case.name);
            let unmet = case
                .needs
                .iter()
                .find_map(|need| need.missing().map(|why| (*need, why)));
            let body = case.run;
            match unmet {
                None => Trial::test(name, move || {
                    body();
                    Ok(())
                }),
                Some((need, why)) if required.iter().any(|w| w == need.word()) => {
                    Trial::test(name, move || {
                        Err(format!("DAFT_TEST_REQUIRE has `{}`, but {why}", need.word()).into())
                    })
                }
                Some((_, why)) => {
                    if args
                        .filter
                        .as_ref()
                        .is_none_or(|f| name.contains(f.as_str()))
                    {
                        skipped.entry(why.clone()).or_default().push(name.clone());
                    }
                    Trial::test(name, move || Err(format!("cannot run here: {why}").into()))
                        .with_ignored_flag(true)
                        .with_kind("skipped")
                }
            }
        })
        .collect();
    let listing = args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if !listing && !skipped.is_empty() {
        println!("skipped here, by reason:");
        for (why, names) in &skipped {
            println!("  {why}:");
            for name in names {
                println!("    {name}");
            }
        }
    }
    conclusion.exit_code()
}
