//! Services (SPEC §3.1a): a background job with `ready:` runs until its worktree goes, and is
//! *ready* once its port answers or its `run:` command exits 0. Probing is driven by the
//! engine's loop, never blocking it for long: a port is one connection attempt on the loopback
//! interface, a command is a process looked at each turn. How long a service may take is its
//! own `ready: { timeout }`; past it, the engine ends it as failed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{Job, Probe};
use crate::platform::{self, Signal};
use crate::runs::Service;

/// How often a service that is not ready yet is tried: a port is one connection attempt on
/// the loopback interface, a command is a process.
const PORT_EVERY: Duration = Duration::from_millis(50);
const RUN_EVERY: Duration = Duration::from_millis(250);
/// How long one try may take: a `run:` probe that hangs counts as "not yet".
const ONE_TRY: Duration = Duration::from_secs(10);
/// How long a connection attempt may take (the loopback answers or refuses at once).
const CONNECT: Duration = Duration::from_millis(100);

/// How a service is told ready, with what that needs at hand (its port, or its command's
/// directory and environment).
pub(crate) enum Test {
    Port {
        name: String,
        port: u16,
    },
    Run {
        run: String,
        dir: PathBuf,
        env: BTreeMap<OsString, OsString>,
    },
}

impl Test {
    /// The test for `job`, if it is a service. Fails with a sentence for its record when its
    /// port is not leased for this worktree.
    pub(crate) fn of(
        job: &Job,
        ports: &BTreeMap<String, u16>,
        dir: PathBuf,
        env: &BTreeMap<OsString, OsString>,
    ) -> Result<Option<Self>, String> {
        let Some(ready) = &job.ready else {
            return Ok(None);
        };
        Ok(Some(match &ready.probe {
            Probe::Port(name) => {
                let Some(&port) = ports.get(name) else {
                    return Err(format!(
                        "its `ready:` port `{name}` has no port leased for this worktree; is `{name}` in `ports:`?"
                    ));
                };
                Self::Port {
                    name: name.clone(),
                    port,
                }
            }
            Probe::Run(run) => Self::Run {
                run: run.clone(),
                dir,
                env: env.clone(),
            },
        }))
    }

    /// What its record says about it.
    pub(crate) fn record(&self) -> Service {
        match self {
            Self::Port { name, port } => Service {
                port: Some(*port),
                probe: format!("port {name} ({port}) answers"),
                ready_at: None,
            },
            Self::Run { run, .. } => Service {
                port: None,
                probe: format!("`{run}` exits 0"),
                ready_at: None,
            },
        }
    }
}

/// A service being told ready.
pub(crate) struct Probing {
    test: Test,
    deadline: Instant,
    within: Duration,
    next: Instant,
    /// A `run:` probe under way, and when it started.
    child: Option<(Child, Instant)>,
}

/// What a look at a service found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Look {
    Ready,
    NotYet,
    /// Not ready within its time: why, for its record.
    TooLate(String),
}

impl Probing {
    /// Starts telling: the service's process has just started.
    pub(crate) fn new(test: Test, within: Duration) -> Self {
        let now = Instant::now();
        Self {
            test,
            deadline: now + within,
            within,
            next: now,
            child: None,
        }
    }

    /// When the engine should look next.
    pub(crate) fn next_look(&self) -> Instant {
        self.next.min(self.deadline)
    }

    /// The process of a `run:` probe under way.
    pub(crate) fn process(&self) -> Option<u32> {
        self.child.as_ref().map(|(child, _)| child.id())
    }

    /// Tries the service if it is time to.
    pub(crate) fn look(&mut self, now: Instant) -> Look {
        if now < self.next_look() {
            return Look::NotYet;
        }
        let ready = match &self.test {
            Test::Port { port, .. } => answers(*port),
            Test::Run { run, dir, env } => {
                let (run, dir, env) = (run.clone(), dir.clone(), env.clone());
                self.run_probe(now, &run, &dir, &env)
            }
        };
        if ready {
            self.stop_probe();
            return Look::Ready;
        }
        if now >= self.deadline {
            self.stop_probe();
            let within = crate::duration::human(self.within);
            return Look::TooLate(match &self.test {
                Test::Port { name, port } => format!(
                    "not ready within {within}: nothing answered on port {name} ({port}); does it listen on 127.0.0.1:$DAFT_PORT_{}?",
                    crate::ports::variable(name).trim_start_matches("DAFT_PORT_")
                ),
                Test::Run { run, .. } => {
                    format!("not ready within {within}: `{run}` never exited 0")
                }
            });
        }
        self.next = now
            + match self.test {
                Test::Port { .. } => PORT_EVERY,
                Test::Run { .. } => RUN_EVERY,
            };
        Look::NotYet
    }

    /// Whether the `run:` probe has exited 0; starts one when none is under way.
    fn run_probe(
        &mut self,
        now: Instant,
        run: &str,
        dir: &std::path::Path,
        env: &BTreeMap<OsString, OsString>,
    ) -> bool {
        if let Some((child, started)) = &mut self.child {
            match child.try_wait() {
                Ok(None) if started.elapsed() < ONE_TRY => return false,
                Ok(None) => {
                    self.stop_probe();
                    return false;
                }
                Ok(Some(status)) => {
                    self.child = None;
                    if status.success() {
                        return true;
                    }
                }
                Err(_) => self.child = None,
            }
        }
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(run)
            .current_dir(dir)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        // No process to spare right now: tried again next time.
        if let Ok(child) = cmd.spawn() {
            self.child = Some((child, now));
        }
        false
    }

    fn stop_probe(&mut self) {
        if let Some((mut child, _)) = self.child.take() {
            platform::signal_group(child.id(), Signal::Kill);
            let _ = child.wait();
        }
    }
}

impl Drop for Probing {
    fn drop(&mut self) {
        self.stop_probe();
    }
}

/// Whether something accepts a TCP connection on `port` of this machine's loopback interface
/// (IPv4, or IPv6 for servers that listen on `localhost` as `::1`).
pub(crate) fn answers(port: u16) -> bool {
    [
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
    ]
    .iter()
    .any(|addr| TcpStream::connect_timeout(addr, CONNECT).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_test(run: &str) -> Test {
        Test::Run {
            run: run.into(),
            dir: std::env::temp_dir(),
            env: std::env::vars_os().collect(),
        }
    }

    /// Looks until the answer is not "not yet", at most `limit`.
    fn settle(probing: &mut Probing, limit: Duration) -> Look {
        let end = Instant::now() + limit;
        loop {
            let look = probing.look(Instant::now());
            if look != Look::NotYet || Instant::now() >= end {
                return look;
            }
            std::thread::sleep(
                probing
                    .next_look()
                    .saturating_duration_since(Instant::now()),
            );
        }
    }

    #[test]
    fn a_port_is_ready_once_something_listens_on_it() {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(answers(port));
        drop(listener);
        assert!(!answers(port));
    }

    #[test]
    fn a_command_is_ready_when_it_exits_0_and_too_late_past_its_time() {
        let mut ok = Probing::new(run_test("exit 0"), Duration::from_secs(5));
        assert_eq!(settle(&mut ok, Duration::from_secs(5)), Look::Ready);
        let mut never = Probing::new(run_test("exit 1"), Duration::from_millis(600));
        match settle(&mut never, Duration::from_secs(5)) {
            Look::TooLate(why) => assert_eq!(why, "not ready within 0.6s: `exit 1` never exited 0"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_port_that_never_answers_says_which_port() {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let test = Test::Port {
            name: "web".into(),
            port,
        };
        let mut probing = Probing::new(test, Duration::from_millis(300));
        match settle(&mut probing, Duration::from_secs(5)) {
            Look::TooLate(why) => assert_eq!(
                why,
                format!(
                    "not ready within 0.3s: nothing answered on port web ({port}); does it listen on 127.0.0.1:$DAFT_PORT_WEB?"
                )
            ),
            other => panic!("{other:?}"),
        }
    }
}
