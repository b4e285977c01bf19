//! What `daft trust` shows before it records a hash: the config exactly as it will run, or
//! the change since the last trusted version. The diff is daft's own (no `git diff`, so no
//! attribute, textconv, external diff, pager or colour setting can change or hide it), and
//! every line goes through [`escape::visible`], so a carriage return, an escape sequence or a
//! bidirectional override cannot make the terminal show something other than what runs.

use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use crate::config::{Source, Sources};
use crate::escape;

/// The text to show for `sources`, given the config content trusted last (if any).
pub(crate) fn render(sources: &Sources, last_trusted: Option<&[u8]>) -> String {
    let mut out = String::new();
    let name = escape::text(&sources.main.path.to_string_lossy());
    match last_trusted {
        Some(old) if old != sources.main.bytes.as_slice() => {
            let _ = writeln!(out, "{name} changed since it was last trusted:");
            diff(&mut out, old, &sources.main.bytes);
        }
        _ => {
            let _ = writeln!(out, "── {name} ──");
            listing(&mut out, &sources.main);
        }
    }
    if let Some(local) = &sources.local {
        let _ = writeln!(
            out,
            "── {} (local overrides) ──",
            escape::text(&local.path.to_string_lossy())
        );
        listing(&mut out, local);
    }
    for source in std::iter::once(&sources.main).chain(&sources.local) {
        let hidden = escape::count_hidden(&source.bytes);
        if hidden > 0 {
            let _ = writeln!(
                out,
                "warning: {} holds {hidden} character{} a terminal would not show as written (control characters, escape sequences, invisible or bidirectional Unicode, bytes that are not UTF-8); they are shown above as \\r, \\x1b, <U+202E> and the like. Read those lines with care.",
                escape::text(&source.path.to_string_lossy()),
                if hidden == 1 { "" } else { "s" }
            );
        }
    }
    out
}

/// Every line, numbered, made visible.
fn listing(out: &mut String, source: &Source) {
    let bytes = &source.bytes;
    let lines = bytes.split_inclusive(|&b| b == b'\n');
    let width = (bytes.split(|&b| b == b'\n').count() - 1)
        .max(1)
        .to_string()
        .len();
    for (number, line) in lines.enumerate() {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let _ = writeln!(out, "{:>width$} │ {}", number + 1, escape::visible(body));
    }
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        let _ = writeln!(out, "(no newline at the end of the file)");
    }
}

/// A unified diff of `old` → `new` by lines (split at `\n` only: a carriage return is part of
/// its line, and shown), three lines of context, made visible.
fn diff(out: &mut String, old: &[u8], new: &[u8]) {
    let old: Vec<&[u8]> = old.split_inclusive(|&b| b == b'\n').collect();
    let new: Vec<&[u8]> = new.split_inclusive(|&b| b == b'\n').collect();
    let diff = TextDiff::configure().diff_slices(&old, &new);
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        let _ = writeln!(out, "{}", hunk.header());
        for change in hunk.iter_changes() {
            let sign = match change.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            };
            let value = change.value();
            let body = value.strip_suffix(b"\n").unwrap_or(value);
            let _ = writeln!(out, "{sign}{}", escape::visible(body));
            if change.missing_newline() {
                let _ = writeln!(out, "\\ No newline at end of file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sources(bytes: &[u8]) -> Sources {
        Sources {
            main: Source {
                path: "daft.yml".into(),
                bytes: bytes.to_vec(),
            },
            local: None,
        }
    }

    #[test]
    fn a_carriage_return_cannot_hide_what_runs() {
        let shown = render(&sources(b"run: touch X; rm -rf ~\recho hello\n"), None);
        assert!(
            shown.contains(r"run: touch X; rm -rf ~\recho hello"),
            "{shown}"
        );
        assert!(
            shown.contains("warning: daft.yml holds 1 character"),
            "{shown}"
        );
    }

    #[test]
    fn the_diff_is_daft_s_own_and_visible() {
        let shown = render(&sources(b"a\nb\x1b[8mhidden\n"), Some(b"a\nb\n"));
        assert!(shown.contains("-b\n+b\\x1b[8mhidden\n"), "{shown}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Whatever the bytes, old and new, the review holds nothing a terminal acts on or
        /// hides, and every line of the config appears in it.
        #[test]
        fn the_review_never_holds_hidden_characters(
            old in prop::collection::vec(any::<u8>(), 0..200),
            new in prop::collection::vec(any::<u8>(), 0..200),
            with_old in any::<bool>(),
        ) {
            let shown = render(&sources(&new), with_old.then_some(old.as_slice()));
            prop_assert!(shown.chars().all(|c| c == '\n' || c == '\t' || !escape::is_hidden(c)), "{shown:?}");
        }
    }
}
