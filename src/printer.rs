//! All of daft's output to the user goes through here: job lines prefixed with the job's name,
//! notices, warnings, errors, the live status line on a terminal and the closing summary.
//! Colour and redrawing only when stderr is a terminal and `NO_COLOR` is unset (and `TERM` is
//! not `dumb`); symbols only in a UTF-8 locale, ASCII otherwise. Messages may quote a
//! repository (paths, names, YAML errors): they are shown with control characters made
//! visible, never interpreted by the terminal.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;

use anstyle::{AnsiColor, Style};

use crate::{env, escape};

const RED: Style = AnsiColor::Red.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const BLUE: Style = AnsiColor::Blue.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();
const DIM: Style = Style::new().dimmed();

pub(crate) struct Printer {
    color: bool,
    live: bool,
    utf8: bool,
    /// The status line currently drawn at the bottom, if any; also serialises writers.
    status: Mutex<Option<String>>,
}

/// How a job ended, for the summary line.
pub(crate) enum Mark {
    Ok,
    /// Succeeded, with something to say (a copy that flagged a problem).
    Warned,
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
            utf8: env::utf8_locale(),
            status: Mutex::new(None),
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
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
        let bar = if self.utf8 { "│" } else { "|" };
        self.write(&format!(
            "{} {line}\n",
            self.paint(CYAN, &format!("{job} {bar}"))
        ));
    }

    pub(crate) fn notice(&self, message: &str) {
        let message = for_terminal(&escape::text(message)).into_owned();
        self.write(&format!("daft: {message}\n"));
    }

    pub(crate) fn warn(&self, message: &str) {
        let message = for_terminal(&escape::text(message)).into_owned();
        self.write(&format!(
            "{} {message}\n",
            self.paint(YELLOW, "daft: warning:")
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
        let line = line.map(|l| for_terminal(&l).into_owned());
        if let Some(line) = &line {
            let _ = write!(err, "{}", self.paint(DIM, line));
        }
        let _ = err.flush();
        *status = line.map(|l| self.paint(DIM, &l));
    }

    /// `✓ fetch-deps 1.2s · ↻ warmup-build (background) · ✗ lint exit 1`
    pub(crate) fn summary(&self, items: &[(Mark, String)]) {
        let parts: Vec<String> = items
            .iter()
            .map(|(mark, text)| {
                let (code, glyph) = match mark {
                    Mark::Ok => (GREEN, "✓"),
                    Mark::Warned => (YELLOW, "!"),
                    Mark::Failed => (RED, "✗"),
                    Mark::Background => (BLUE, "↻"),
                    Mark::Skipped => (DIM, "-"),
                };
                self.paint(code, &for_terminal(&format!("{glyph} {text}")))
            })
            .collect();
        let dot = if self.utf8 { " · " } else { " | " };
        self.write(&format!("daft: {}\n", parts.join(dot)));
    }
}

/// Prints an error that ends the command, on one line with its causes.
pub(crate) fn error(err: &anyhow::Error) {
    let color = std::io::stderr().is_terminal() && !env::no_color();
    let label = if color {
        format!("{RED}daft: error:{RED:#}")
    } else {
        "daft: error:".to_owned()
    };
    let _ = writeln!(
        std::io::stderr(),
        "{label} {}",
        for_terminal(&escape::text(&format!("{err:#}")))
    );
}

/// `text` as this terminal can show it: as it is in a UTF-8 locale; otherwise daft's own
/// symbols in ASCII and every other character that is not ASCII as `<U+XXXX>`.
pub(crate) fn for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write as _;
    if text.is_ascii() || env::utf8_locale() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '│' => out.push('|'),
            '✓' => out.push('+'),
            '✗' => out.push('x'),
            '↻' => out.push('~'),
            '·' | '─' | '–' => out.push('-'),
            '→' => out.push_str("->"),
            '—' => out.push_str("--"),
            '…' => out.push_str("..."),
            c if c.is_ascii() => out.push(c),
            c => {
                let _ = write!(out, "<U+{:04X}>", c as u32);
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer(color: bool) -> Printer {
        Printer {
            color,
            live: false,
            utf8: true,
            status: Mutex::new(None),
        }
    }

    #[test]
    fn colour_is_the_terminal_s_basic_codes_and_only_where_asked() {
        assert_eq!(printer(true).paint(RED, "x"), "\x1b[31mx\x1b[0m");
        assert_eq!(printer(true).paint(DIM, "x"), "\x1b[2mx\x1b[0m");
        assert_eq!(printer(false).paint(RED, "x"), "x");
    }
}
