//! The hook's reports to its supervisor (`done <job> ok|fail`, `abort`, then the end of the
//! pipe), read by a thread that forwards them as they come, or — where the system has no
//! thread left to give — looked for at every turn of the supervisor's loop.

use std::io::{BufRead as _, BufReader};

use crate::engine::Msg;
use crate::platform;

/// The first line of `input`, read a byte at a time (nothing past it is taken).
pub(super) fn first_line(input: &mut impl std::io::Read) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 64 {
        match input.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => return String::from_utf8(line).ok(),
            Ok(1) => line.push(byte[0]),
            _ => return None,
        }
    }
    None
}

/// The hook's reports ("done <job> ok|fail", "abort", then the end of the pipe): forwarded as
/// they come by a thread, or — where the system has no thread left to give — looked for at
/// every turn of the loop.
pub(super) enum Reports {
    Relayed,
    Polled { buf: Vec<u8>, ended: bool },
}

impl Reports {
    /// `went`: the hook said "go" (else it died before: no report will come).
    pub(super) fn start(went: bool, tx: std::sync::mpsc::Sender<Msg>) -> Self {
        if !went {
            let _ = tx.send(Msg::HookEnded);
            return Self::Relayed;
        }
        let relay = std::thread::Builder::new().spawn(move || {
            let lines = BufReader::new(std::io::stdin()).lines();
            for line in lines.map_while(Result::ok) {
                if let Some(msg) = report(&line) {
                    let _ = tx.send(msg);
                }
            }
            let _ = tx.send(Msg::HookEnded);
        });
        if relay.is_ok() {
            return Self::Relayed;
        }
        let _ = platform::nonblocking(&std::io::stdin());
        Self::Polled {
            buf: Vec::new(),
            ended: false,
        }
    }

    /// What came since the last turn (where no thread forwards it).
    pub(super) fn poll(&mut self) -> Vec<Msg> {
        let Self::Polled { buf, ended } = self else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if *ended {
            return out;
        }
        let mut chunk = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut std::io::stdin(), &mut chunk) {
                Ok(0) => {
                    *ended = true;
                    break;
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break, // nothing more for now
            }
        }
        while let Some(at) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=at).collect();
            if let Some(msg) = report(String::from_utf8_lossy(&line).trim_end()) {
                out.push(msg);
            }
        }
        if *ended {
            out.push(Msg::HookEnded);
        }
        out
    }
}

/// One report of the hook, as a message for the loop.
fn report(line: &str) -> Option<Msg> {
    let mut words = line.split(' ');
    match (
        words.next(),
        words.next().and_then(|i| i.parse().ok()),
        words.next(),
    ) {
        (Some("done"), Some(i), Some(result)) => Some(Msg::SyncDone(i, result == "ok")),
        (Some("abort"), ..) => Some(Msg::Abort),
        _ => None,
    }
}
