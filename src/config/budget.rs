//! The budget a config is parsed under: how many entries and bytes of text it may amount to
//! once YAML aliases are expanded (a few hundred bytes of `*alias` must not become millions of
//! entries), and which file is being read, so each job remembers where it came from.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use serde::de;

/// How many entries (jobs, needs, env variables) a file may amount to once aliases are
/// expanded, and how many bytes of text. Far above any real config, far below a slow parse.
const MAX_ITEMS: usize = 10_000;
const MAX_TEXT: usize = 2 * 1024 * 1024;
/// The longest timeout daft accepts: anything longer is a mistake, and larger values overflow.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);
/// How deep `[` and `{` may nest: the YAML parser's time grows with the square of the depth.
pub(super) const MAX_DEPTH: usize = 64;

/// What is being parsed: the file (each job remembers where it came from) and what is left of
/// the budget.
struct State {
    file: PathBuf,
    items: usize,
    text: usize,
}

std::thread_local! {
    static STATE: RefCell<State> = RefCell::new(State { file: PathBuf::new(), items: 0, text: 0 });
}

/// Counts `items` entries and `text` bytes against the budget.
pub(super) fn spend<E: de::Error>(items: usize, text: usize) -> Result<(), E> {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        if state.items < items || state.text < text {
            return Err(E::custom(format!(
                "the config expands to more than {MAX_ITEMS} entries or {} MiB of text (YAML aliases repeat what they point to); write it out without so many aliases",
                MAX_TEXT / (1024 * 1024)
            )));
        }
        state.items -= items;
        state.text -= text;
        Ok(())
    })
}

/// Starts the budget for parsing `file`.
pub(super) fn start(file: PathBuf) {
    STATE.with(|state| {
        *state.borrow_mut() = State {
            file,
            items: MAX_ITEMS,
            text: MAX_TEXT,
        };
    });
}

/// The file being parsed.
pub(super) fn file() -> PathBuf {
    STATE.with(|state| state.borrow().file.clone())
}
