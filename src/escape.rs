//! Text that came from a repository (a config, a path, a branch or job name, a YAML error) is
//! shown, never interpreted by the terminal. Everything daft prints of it goes through
//! [`visible`]: control characters, escape sequences, carriage returns and invisible or
//! bidirectional Unicode become readable markers (`\r`, `\x1b`, `<U+202E>`), so what a user
//! reads is what will run. [`shell_quote`] makes a path safe to paste into a shell.

use std::fmt::Write as _;

/// `bytes` as text a terminal shows exactly: newlines and tabs kept, everything that could
/// move the cursor, change colours, reorder or hide text made visible. Invalid UTF-8 bytes
/// show as `\xNN`.
pub(crate) fn visible(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_visible(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// [`visible`] for a `str`.
pub(crate) fn text(text: &str) -> String {
    if text.chars().all(|c| !is_hidden(c)) {
        return text.to_owned();
    }
    visible(text.as_bytes())
}

/// How many characters of `bytes` [`visible`] would change (invalid bytes included).
pub(crate) fn count_hidden(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|chunk| {
            chunk.valid().chars().filter(|&c| is_hidden(c)).count() + chunk.invalid().len()
        })
        .sum()
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' | '\t' => out.push(c),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x20 || c == '\x7f' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_hidden(c) => {
            let _ = write!(out, "<U+{:04X}>", c as u32);
        }
        c => out.push(c),
    }
}

/// Whether a terminal would not show `c` as itself: C0 and C1 controls (but newline and tab),
/// DEL, format characters (bidirectional overrides and isolates, zero-width characters, the
/// byte order mark, tags), line and paragraph separators, and spaces other than U+0020 that
/// pass for one.
pub(crate) fn is_hidden(c: char) -> bool {
    let u = c as u32;
    match u {
        0x0a | 0x09 | 0x20..=0x7e => false,
        0x00..=0x1f | 0x7f..=0x9f => true,
        _ => HIDDEN.iter().any(|&(lo, hi)| (lo..=hi).contains(&u)),
    }
}

/// Unicode's default-ignorable and format code points, separators and look-alike spaces.
const HIDDEN: &[(u32, u32)] = &[
    (0x00A0, 0x00A0), // no-break space
    (0x00AD, 0x00AD), // soft hyphen
    (0x034F, 0x034F),
    (0x061C, 0x061C), // Arabic letter mark
    (0x0600, 0x0605),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x1680, 0x1680),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2000, 0x200F), // wide spaces, zero-width characters, LRM/RLM
    (0x2028, 0x202F), // separators, bidirectional embeddings and overrides, narrow space
    (0x205F, 0x206F), // word joiner, invisible operators, isolates
    (0x3000, 0x3000),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F), // variation selectors
    (0xFEFF, 0xFEFF), // byte order mark
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF), // tags and variation selectors supplement
    (0xF0000, 0xFFFFD), // private use planes: no one can tell what they show
    (0x0010_0000, 0x0010_FFFD),
    (0xE000, 0xF8FF),
    (0xFFFE, 0xFFFF),
];

/// Lower-case hex of `bytes` (hashes, ids).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// `bytes` as one single-quoted sh word, byte for byte (for the commands and scripts daft
/// writes; `shell_quote` is for showing a path to a person).
pub(crate) fn sh_word(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'\''];
    for &b in bytes {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// `value` as one word that bash, zsh, dash and fish all read back as exactly `value`, for
/// output meant for `eval`: single quotes, with each `'` and `\` written outside them
/// (`'\''`, `'\\'`), the one form the four shells agree on. Nothing in it is expanded.
pub(crate) fn eval_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str(r"'\''"),
            '\\' => out.push_str(r"'\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `path` quoted for a POSIX shell, so a suggested command can be pasted: bare when it is
/// plain, in single quotes otherwise, and as `$'…'` with escapes when it holds characters a
/// terminal would not show. (Written here, not taken from a quoting crate: those leave
/// bidirectional and invisible Unicode as it is, and the user would paste what they did not
/// read.)
pub(crate) fn shell_quote(path: &std::path::Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    if std::str::from_utf8(bytes).is_ok_and(|s| s.chars().all(|c| !is_hidden(c))) {
        let text = String::from_utf8_lossy(bytes);
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\'' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if is_hidden(c) || c == '\n' || c == '\t' => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_shown() {
        assert_eq!(visible(b"echo hello\rtouch X\n"), "echo hello\\rtouch X\n");
        assert_eq!(visible(b"\x1b[2Kok\x07"), "\\x1b[2Kok\\x07");
        assert_eq!(
            visible("a\u{202E}b\u{200B}c".as_bytes()),
            "a<U+202E>b<U+200B>c"
        );
        assert_eq!(visible("\u{2066}x\u{2069}".as_bytes()), "<U+2066>x<U+2069>");
        assert_eq!(visible("\u{9b}31m".as_bytes()), "<U+009B>31m");
        assert_eq!(visible(b"bad \xff byte"), "bad \\xff byte");
        assert_eq!(visible("plain ü and tab\t".as_bytes()), "plain ü and tab\t");
        assert_eq!(count_hidden("a\r\u{202E}\x1b\n".as_bytes()), 3);
    }

    #[test]
    fn values_for_eval_hide_nothing_the_shells_would_expand() {
        assert_eq!(eval_quote("plain"), "'plain'");
        assert_eq!(eval_quote("it's"), r"'it'\''s'");
        assert_eq!(eval_quote(r"a\b"), r"'a'\\'b'");
        assert_eq!(eval_quote("$(x)`y`"), "'$(x)`y`'");
    }

    #[test]
    fn paths_are_quoted_for_pasting() {
        use std::path::Path;
        assert_eq!(shell_quote(Path::new("/tmp/repo")), "/tmp/repo");
        assert_eq!(shell_quote(Path::new("/tmp/my repo")), "'/tmp/my repo'");
        assert_eq!(shell_quote(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
        assert_eq!(shell_quote(Path::new("/tmp/a\x1bb")), r"$'/tmp/a\x1bb'");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever the bytes, the display holds nothing a terminal acts on or hides.
        #[test]
        fn the_display_holds_no_hidden_characters(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let shown = visible(&bytes);
            prop_assert!(shown.chars().all(|c| !is_hidden(c)), "{shown:?}");
        }

        #[test]
        fn text_made_of_any_characters_is_displayed_safely(text in "\\PC*|[\\u{0}-\\u{2070}\\u{E0000}-\\u{E0100}]{0,40}") {
            let shown = visible(text.as_bytes());
            prop_assert!(shown.chars().all(|c| !is_hidden(c)));
            // Nothing is lost: a text without hidden characters is shown unchanged.
            if count_hidden(text.as_bytes()) == 0 {
                prop_assert_eq!(shown, text);
            }
        }
    }
}
