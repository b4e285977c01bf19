//! Starting a job's process — and a condition's — with threads waiting for it and carrying
//! its output into its capped log (and to the terminal), made before it starts so that a
//! system out of threads never leaves one running that nobody waits for.

use std::io::Write as _;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use crate::logfile::LogFile;
use crate::printer::Printer;

/// Starts a condition's command; `on_exit` gets its exit status from a thread that waits for
/// it.
pub(crate) fn spawn_check(
    mut cmd: Command,
    on_exit: impl FnOnce(ExitStatus) + Send + 'static,
) -> Result<u32, NotStarted> {
    let (start_tx, start_rx) = mpsc::channel::<std::process::Child>();
    let waiter = thread::Builder::new()
        .spawn(move || {
            if let Ok(mut child) = start_rx.recv()
                && let Ok(status) = child.wait()
            {
                on_exit(status);
            }
        })
        .map_err(|err| not_started("cannot start a thread to wait for its condition", &err))?;
    match cmd.spawn() {
        Ok(child) => {
            let pid = child.id();
            let _ = start_tx.send(child);
            Ok(pid)
        }
        Err(err) => {
            drop(start_tx);
            let _ = waiter.join();
            Err(not_started("cannot start its condition's `sh`", &err))
        }
    }
}

/// A job's process, started.
pub(crate) struct Started {
    pub(crate) pid: u32,
    /// Signals once all its output is copied.
    pub(crate) output_done: Option<Output>,
}

/// A job's output on its way to the log.
pub(crate) struct Output {
    done: Receiver<()>,
    /// The read end the relay reads, to see what it has yet to read.
    pipe: Arc<std::io::PipeReader>,
}

impl Output {
    /// Waits, once the job has exited, until what it printed is in its log: the relay reaches
    /// the end of the pipe, or — where a process it left behind holds the pipe open — the
    /// pipe has stayed empty a moment. A relay starved of CPU time on a busy machine is waited
    /// for (within a bound) while the pipe still holds output: a record never says a job ended
    /// before its last lines are logged.
    pub(crate) fn drain(self) {
        const QUIET: Duration = Duration::from_millis(200);
        const AT_MOST: Duration = Duration::from_secs(3);
        let started = Instant::now();
        let mut quiet_since = Instant::now();
        while started.elapsed() < AT_MOST {
            if self.done.recv_timeout(Duration::from_millis(20)).is_ok() {
                return;
            }
            let unread = rustix::io::ioctl_fionread(&*self.pipe).unwrap_or(0);
            if unread > 0 {
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= QUIET {
                return;
            }
        }
    }
}

/// Why a job's process did not start.
pub(crate) enum NotStarted {
    /// The system is out of processes, threads or memory: it may start later.
    ForNow(String),
    /// A sentence for the job's record.
    Never(String),
}

pub(super) fn not_started(what: &str, err: &std::io::Error) -> NotStarted {
    let why = format!("{what}: {err}");
    match err.raw_os_error() {
        Some(code)
            if [
                rustix::io::Errno::AGAIN,
                rustix::io::Errno::NOMEM,
                rustix::io::Errno::MFILE,
                rustix::io::Errno::NFILE,
            ]
            .contains(&rustix::io::Errno::from_raw_os_error(code)) =>
        {
            NotStarted::ForNow(why)
        }
        _ => NotStarted::Never(why),
    }
}

/// The note a job left beside its log (a copy's warning), taken once.
pub(crate) fn take_note(log: &std::path::Path) -> Option<String> {
    let path = note_path(log);
    let text = std::fs::read_to_string(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(500).collect())
}

/// Where a job's note is kept, beside its log.
pub(crate) fn note_path(log: &std::path::Path) -> std::path::PathBuf {
    log.with_extension("note")
}

/// Starts `cmd` with its output in the log at `log_path` — and, given a job name and a
/// printer, also on the terminal line by line under that name — and `stdin` fed to it.
/// `on_exit` gets its exit status, from a thread that waits for it.
pub(crate) fn spawn(
    mut cmd: Command,
    log_path: &std::path::Path,
    terminal: Option<(String, Arc<Printer>)>,
    stdin: Option<Arc<Vec<u8>>>,
    on_exit: impl FnOnce(ExitStatus) + Send + 'static,
) -> Result<Started, NotStarted> {
    let log = LogFile::create(log_path).map_err(|err| {
        not_started(
            &format!("cannot create its log {}", log_path.display()),
            &err,
        )
    })?;
    // Through daft, so the log keeps its cap.
    let mut reader = None;
    std::io::pipe()
        .and_then(|(read_end, pipe_end)| {
            cmd.stdout(pipe_end.try_clone()?).stderr(pipe_end);
            reader = Some(read_end);
            Ok(())
        })
        .map_err(|err| not_started("cannot set up its output", &err))?;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    // The threads that wait for it and copy its output are made before it starts: a system out
    // of threads must not leave a job running that nobody waits for.
    let (start_tx, start_rx) = mpsc::channel::<std::process::Child>();
    let waiter = thread::Builder::new()
        .spawn(move || {
            if let Ok(mut child) = start_rx.recv()
                && let Ok(status) = child.wait()
            {
                on_exit(status);
            }
        })
        .map_err(|err| not_started("cannot start a thread to wait for it", &err))?;
    let output = match reader {
        Some(reader) => Some(
            relay(reader, LogFile::new(log), terminal, note_path(log_path))
                .map_err(|err| not_started("cannot start a thread for its output", &err))?,
        ),
        None => None,
    };
    let spawned = cmd.spawn();
    drop(cmd); // closes our copies of the pipe's write end, so the reader sees EOF
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            drop(start_tx); // the waiter ends
            let _ = waiter.join();
            return Err(not_started("cannot start `sh`", &err));
        }
    };
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Without a thread for it the pipe is dropped unwritten: the job sees the end of its
        // stdin rather than waiting for it forever.
        let _ = thread::Builder::new().spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let pid = child.id();
    let _ = start_tx.send(child);
    Ok(Started {
        pid,
        output_done: output,
    })
}

/// The longest line shown on the terminal; the rest of a longer one is in the log.
const MAX_LINE: usize = 4096;

/// Copies a job's output into its capped log as it comes, a chunk at a time (so a job that
/// prints without a newline costs no more memory than one chunk), and — given a job name and
/// a printer — to the terminal, line by line under that name, each line cut at [`MAX_LINE`].
/// When the job printed past the log's cap, leaves a note saying so for its record. Signals on
/// the returned channel when the job's end of the pipe is closed.
fn relay(
    reader: std::io::PipeReader,
    mut log: LogFile,
    terminal: Option<(String, Arc<Printer>)>,
    note: std::path::PathBuf,
) -> std::io::Result<Output> {
    use std::io::Read as _;
    let (done_tx, done_rx) = mpsc::channel();
    let pipe = Arc::new(reader);
    let output = Output {
        done: done_rx,
        pipe: Arc::clone(&pipe),
    };
    thread::Builder::new().spawn(move || {
        let mut reader = &*pipe;
        let mut buf = vec![0u8; 64 * 1024];
        let mut line: Vec<u8> = Vec::new();
        let mut cut = false;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let _ = log.write(&buf[..n]);
            let Some((name, printer)) = &terminal else {
                continue;
            };
            for &byte in &buf[..n] {
                if byte == b'\n' {
                    show(printer, name, &line, cut);
                    line.clear();
                    cut = false;
                } else if line.len() < MAX_LINE {
                    line.push(byte);
                } else {
                    cut = true;
                }
            }
        }
        if let Some((name, printer)) = &terminal
            && !line.is_empty()
        {
            show(printer, name, &line, cut);
        }
        let _ = log.flush();
        if let Some(summary) = log.summary() {
            add_note(&note, &summary);
        }
        let _ = done_tx.send(());
    })?;
    Ok(output)
}

/// One line of a job's output on the terminal.
fn show(printer: &Printer, name: &str, line: &[u8], cut: bool) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches('\r');
    if cut {
        printer.job_line(
            name,
            &format!("{text}… (cut: the whole line is in the log)"),
        );
    } else {
        printer.job_line(name, text);
    }
}

/// Adds `text` to the note beside a job's log.
fn add_note(path: &std::path::Path, text: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = if old.trim().is_empty() {
        text.to_owned()
    } else {
        format!("{}; {text}", old.trim())
    };
    let _ = crate::files::write_atomically(path, new.as_bytes());
}
