//! All of daft's output to the user goes through here: job lines prefixed with the job's name,
//! notices, warnings, errors, the live status line on a terminal and the closing summary.
//! Colour and redrawing only when stderr is a terminal and `NO_COLOR` is unset. Messages may
//! quote a repository (paths, names, YAML errors): they are shown with control characters
//! made visible, never interpreted by the terminal.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;

use crate::{env, escape};

pub(crate) struct Printer {
    color: bool,
    live: bool,
    /// The status line currently drawn at the bottom, if any; also serialises writers.
    status: Mutex<Option<String>>,
}

/// How a job ended, for the summary line.
pub(crate) enum Mark {
    Ok,
    Failed,
    Background,
    Skipped,
}

impl Printer {
    pub(crate) fn stderr() -> Self {
        let tty = std::io::stderr().is_terminal();
        Self {
            color: tty && !env::no_color(),
            live: tty && !env::no_color(),
            status: Mutex::new(None),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Writes `text` (whole lines) above the status line.
    fn write(&self, text: &str) {
        let status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut err = std::io::stderr().lock();
        if self.live && status.is_some() {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = err.write_all(text.as_bytes());
        if let (true, Some(line)) = (self.live, status.as_ref()) {
            let _ = write!(err, "{line}");
        }
        let _ = err.flush();
    }

    /// One line of a job's output.
    pub(crate) fn job_line(&self, job: &str, line: &str) {
        self.write(&format!(
            "{} {line}\n",
            self.paint("36", &format!("{job} │"))
        ));
    }

    pub(crate) fn notice(&self, message: &str) {
        self.write(&format!("daft: {}\n", escape::text(message)));
    }

    pub(crate) fn warn(&self, message: &str) {
        self.write(&format!(
            "{} {}\n",
            self.paint("33", "daft: warning:"),
            escape::text(message)
        ));
    }

    /// Whether a live status line is drawn.
    pub(crate) fn is_live(&self) -> bool {
        self.live
    }

    /// Replaces the status line (terminal only); `None` clears it.
    pub(crate) fn set_status(&self, line: Option<String>) {
        if !self.live {
            return;
        }
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        if let Some(line) = &line {
            let _ = write!(err, "{}", self.paint("2", line));
        }
        let _ = err.flush();
        *status = line.map(|l| self.paint("2", &l));
    }

    /// `✓ fetch-deps 1.2s · ↻ warmup-build (background) · ✗ lint exit 1`
    pub(crate) fn summary(&self, items: &[(Mark, String)]) {
        let parts: Vec<String> = items
            .iter()
            .map(|(mark, text)| match mark {
                Mark::Ok => self.paint("32", &format!("✓ {text}")),
                Mark::Failed => self.paint("31", &format!("✗ {text}")),
                Mark::Background => self.paint("34", &format!("↻ {text}")),
                Mark::Skipped => self.paint("2", &format!("- {text}")),
            })
            .collect();
        self.write(&format!("daft: {}\n", parts.join(" · ")));
    }
}

/// Prints an error that ends the command, on one line with its causes.
pub(crate) fn error(err: &anyhow::Error) {
    let color = std::io::stderr().is_terminal() && !env::no_color();
    let label = if color {
        "\x1b[31mdaft: error:\x1b[0m"
    } else {
        "daft: error:"
    };
    let _ = writeln!(
        std::io::stderr(),
        "{label} {}",
        escape::text(&format!("{err:#}"))
    );
}
