//! A job's log, capped while it is written: it keeps the first [`HEAD`] bytes and the last
//! [`TAIL`] bytes of what the job printed, and says in between how much was left out — so a
//! job that prints 400 MB leaves a few MiB under `.git/daft`, at every moment, and its log
//! still shows how it started and how it ended. The middle is dropped by rewriting the tail
//! behind the head now and then, so the file never grows past `HEAD + 2 × TAIL` and a reader
//! following it sees it shrink (and goes on from its new end).

use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt as _;

/// What a log keeps of its start, and of its end.
pub(crate) const HEAD: u64 = 1024 * 1024;
pub(crate) const TAIL: u64 = 1024 * 1024;
/// The most a log takes on disk.
pub(crate) const CAP: u64 = HEAD + 2 * TAIL + 256;

pub(crate) struct LogFile {
    file: File,
    /// Bytes in the file now.
    len: u64,
    /// Bytes the job printed that are no longer in the file.
    dropped: u64,
}

impl LogFile {
    /// A new, empty log at `path` (read and written: cutting it reads its tail back).
    pub(crate) fn create(path: &std::path::Path) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    pub(crate) fn new(file: File) -> Self {
        Self {
            file,
            len: 0,
            dropped: 0,
        }
    }

    /// Appends `bytes`, cutting the middle when the file would pass its cap.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all_at(bytes, self.len)?;
        self.len += bytes.len() as u64;
        if self.len > HEAD + 2 * TAIL {
            self.compact()?;
        }
        Ok(())
    }

    /// Keeps the head and the last [`TAIL`] bytes, with a line between that says what is gone.
    fn compact(&mut self) -> io::Result<()> {
        let marker_start = HEAD.min(self.len);
        let tail_start = self.len - TAIL;
        let mut tail = vec![0; TAIL as usize];
        self.file.read_exact_at(&mut tail, tail_start)?;
        self.dropped += tail_start - marker_start - self.marker_len_at(marker_start)?;
        let marker = format!(
            "\n[daft: {} bytes of output left out here; a log keeps its first {} and its last {} bytes]\n",
            self.dropped, HEAD, TAIL
        );
        self.file.write_all_at(marker.as_bytes(), marker_start)?;
        let at = marker_start + marker.len() as u64;
        self.file.write_all_at(&tail, at)?;
        self.len = at + TAIL;
        self.file.set_len(self.len)
    }

    /// How long the marker already in the file at `at` is (0 before the first compaction).
    fn marker_len_at(&self, at: u64) -> io::Result<u64> {
        if self.dropped == 0 {
            return Ok(0);
        }
        let mut head = vec![0; 256];
        let n = self.file.read_at(&mut head, at)?;
        let text = &head[..n];
        // "\n[daft: … bytes]\n": up to the second newline.
        Ok(text
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(1)
            .map_or(0, |(i, _)| i as u64 + 1))
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }

    /// What a job that printed past the cap printed, for its record: `None` when its log
    /// holds all of it.
    pub(crate) fn summary(&self) -> Option<String> {
        (self.dropped > 0).then(|| {
            let printed = self.len + self.dropped;
            format!(
                "printed {:.1} MB; its log keeps the first and the last MiB",
                printed as f64 / 1e6
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_keeps_the_head_and_the_tail_and_says_what_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = LogFile::new(LogFile::create(&path).unwrap());
        log.write(b"START\n").unwrap();
        let line = vec![b'x'; 1000];
        for _ in 0..10_000 {
            log.write(&line).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() <= CAP);
        }
        log.write(b"\nEND\n").unwrap();
        let text = std::fs::read(&path).unwrap();
        assert!(text.starts_with(b"START\n"));
        assert!(text.ends_with(b"\nEND\n"));
        let shown = String::from_utf8_lossy(&text);
        let printed = 6 + 10_000 * 1000 + 5;
        let kept = text.len() as u64;
        let marker = shown
            .lines()
            .find(|l| l.starts_with("[daft: "))
            .expect("a marker");
        let dropped: u64 = marker["[daft: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            kept - marker.len() as u64 - 2 + dropped,
            printed,
            "every byte is kept or counted: {marker}"
        );
        assert_eq!(shown.matches("[daft: ").count(), 1);
    }
}
