//! Where each part of a YAML text is: its mappings, lists and values as a tree of byte ranges,
//! read by saphyr-parser's event stream. `daft validate` uses it to set aside the one part a
//! mistake is in, in block and flow style alike.

use std::ops::Range;

use saphyr_parser::{Event, Parser, Span};

pub(super) struct Node {
    /// Bytes of the text this node is written in. A block collection runs to where the next
    /// thing outside it starts (its trailing blank lines and comments are its own).
    pub(super) range: Range<usize>,
    pub(super) kind: Kind,
}

pub(super) enum Kind {
    Scalar(String),
    List {
        flow: bool,
        items: Vec<Node>,
    },
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
}

impl Node {
    /// The value of key `name`, if this is a mapping that has it.
    pub(super) fn get(&self, name: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .find(|(key, _)| key.scalar() == Some(name))
                .map(|(_, value)| value),
            _ => None,
        }
    }

    pub(super) fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(text) => Some(text),
            _ => None,
        }
    }

    pub(super) fn is_flow(&self) -> bool {
        matches!(
            self.kind,
            Kind::List { flow: true, .. } | Kind::Map { flow: true, .. }
        )
    }
}

/// One step down from a collection towards a place in the text.
pub(super) enum Step<'a> {
    /// Entry `key: value` of mapping `map`.
    Entry {
        map: &'a Node,
        key: &'a Node,
        value: &'a Node,
    },
    /// Item `item` of list `list`.
    Item { list: &'a Node, item: &'a Node },
}

impl Step<'_> {
    /// The bytes of the whole step: a key with its value, or one item.
    pub(super) fn range(&self) -> Range<usize> {
        match self {
            Step::Entry { key, value, .. } => key.range.start..value.range.end.max(key.range.end),
            Step::Item { item, .. } => item.range.clone(),
        }
    }

    /// Whether it is written inside `{ }` or `[ ]`.
    pub(super) fn in_flow(&self) -> bool {
        match self {
            Step::Entry { map, .. } => map.is_flow(),
            Step::Item { list, .. } => list.is_flow(),
        }
    }
}

/// The first document of `text`, or `None` where the text is not YAML saphyr can read.
pub(super) fn tree(text: &str) -> Option<Node> {
    let chars = CharOffsets::of(text);
    let mut events = Parser::new_from_str(text).map(Result::ok);
    loop {
        let (event, span) = events.next()??;
        match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => {}
            Event::StreamEnd | Event::DocumentEnd => return None,
            event => return node(event, span, &mut events, &chars),
        }
    }
}

/// The steps from `root` down to the innermost part that holds byte `at`.
pub(super) fn path_to(root: &Node, at: usize) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    let mut here = root;
    loop {
        let next = match &here.kind {
            Kind::Scalar(_) => None,
            Kind::List { items, .. } => items
                .iter()
                .find(|item| item.range.contains(&at))
                .map(|item| Step::Item { list: here, item }),
            Kind::Map { entries, .. } => entries
                .iter()
                .map(|(key, value)| Step::Entry {
                    map: here,
                    key,
                    value,
                })
                .find(|step| step.range().contains(&at)),
        };
        let Some(step) = next else {
            return steps;
        };
        here = match &step {
            Step::Entry { key, .. } if key.range.contains(&at) => {
                steps.push(step);
                return steps;
            }
            Step::Entry { value, .. } => value,
            Step::Item { item, .. } => item,
        };
        steps.push(step);
    }
}

/// The 1-based line and column of byte `at`.
pub(super) fn position(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// Where key `name` is written (its `nth` time, from 0) in the innermost mapping around byte
/// `near` that has it, else under `hooks:`.
pub(super) fn key_position(
    text: &str,
    near: Option<usize>,
    name: &str,
    nth: usize,
) -> Option<(usize, usize)> {
    let root = tree(text)?;
    let steps = near.map(|at| path_to(&root, at)).unwrap_or_default();
    let mut maps = steps
        .iter()
        .rev()
        .filter_map(|step| match step {
            Step::Entry { map, .. } => Some(*map),
            Step::Item { .. } => None,
        })
        .chain(root.get("hooks"));
    maps.find_map(|map| match &map.kind {
        Kind::Map { entries, .. } => entries
            .iter()
            .filter(|(key, _)| key.scalar() == Some(name))
            .nth(nth),
        _ => None,
    })
    .map(|(key, _)| position(text, key.range.start))
}

/// Where job `job` is written: its `name:` key, in event `event`'s jobs where that is given.
pub(super) fn job_position(text: &str, event: Option<&str>, job: &str) -> Option<(usize, usize)> {
    let root = tree(text)?;
    let Kind::Map { entries, .. } = &root.get("hooks")?.kind else {
        return None;
    };
    let named = entries
        .iter()
        .filter(|(name, _)| event.is_none_or(|event| name.scalar() == Some(event)))
        .filter_map(|(_, jobs)| match &jobs.get("jobs")?.kind {
            Kind::List { items, .. } => Some(items),
            _ => None,
        })
        .flatten()
        .find_map(|item| match &item.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .find(|(key, value)| key.scalar() == Some("name") && value.scalar() == Some(job)),
            _ => None,
        })?;
    Some(position(text, named.0.range.start))
}

/// The byte of 1-based `line` and `column` (in characters, as parsers count them).
pub(super) fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let start = if line == 1 {
        0
    } else {
        text.match_indices('\n').nth(line.checked_sub(2)?)?.0 + 1
    };
    let rest = &text[start..];
    let within = rest
        .char_indices()
        .map(|(at, _)| at)
        .chain([rest.len()])
        .nth(column.checked_sub(1)?)?;
    Some(start + within)
}

fn node<'a>(
    event: Event<'a>,
    span: Span,
    events: &mut impl Iterator<Item = Option<(Event<'a>, Span)>>,
    chars: &CharOffsets,
) -> Option<Node> {
    let start = chars.byte(span.start.index());
    let flow = span.end.index() > span.start.index();
    match event {
        Event::Scalar(text, ..) => Some(Node {
            range: start..chars.byte(span.end.index()).max(start),
            kind: Kind::Scalar(text.into_owned()),
        }),
        Event::Alias(_) => Some(Node {
            range: start..chars.byte(span.end.index()).max(start),
            kind: Kind::Scalar(String::new()),
        }),
        Event::SequenceStart(..) | Event::MappingStart(..) => {
            let is_map = matches!(event, Event::MappingStart(..));
            let mut children = Vec::new();
            let end = loop {
                let (event, span) = events.next()??;
                if matches!(event, Event::SequenceEnd | Event::MappingEnd) {
                    break span;
                }
                children.push(node(event, span, events, chars)?);
            };
            let kind = if is_map {
                let mut children = children.into_iter();
                let mut entries = Vec::new();
                while let (Some(key), Some(value)) = (children.next(), children.next()) {
                    entries.push((key, value));
                }
                Kind::Map { flow, entries }
            } else {
                Kind::List {
                    flow,
                    items: children,
                }
            };
            Some(Node {
                range: start..closed(flow, &end, chars).max(start),
                kind,
            })
        }
        _ => None,
    }
}

/// Where a collection ends, given its end event: after its closing bracket (the event runs on
/// over the spaces after it), or where what follows a block one begins.
fn closed(flow: bool, end: &Span, chars: &CharOffsets) -> usize {
    chars.byte(end.start.index()) + usize::from(flow)
}

/// The parser counts characters; the text is sliced by bytes.
struct CharOffsets(Vec<usize>);

impl CharOffsets {
    fn of(text: &str) -> Self {
        Self(
            text.char_indices()
                .map(|(at, _)| at)
                .chain([text.len()])
                .collect(),
        )
    }

    fn byte(&self, char_index: usize) -> usize {
        self.0
            .get(char_index)
            .copied()
            .unwrap_or_else(|| *self.0.last().unwrap_or(&0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'t>(text: &'t str, node: &Node) -> &'t str {
        &text[node.range.clone()]
    }

    #[test]
    fn flow_and_block_parts_have_their_own_bytes() {
        let text = "a:\n  - { x: 1, y: [p, 'q r'] }\n  - z: é\n    w: 2\nb: 3\n";
        let root = tree(text).unwrap();
        let list = root.get("a").unwrap();
        let Kind::List { flow: false, items } = &list.kind else {
            panic!("a is a block list");
        };
        assert_eq!(at(text, &items[0]), "{ x: 1, y: [p, 'q r'] }");
        assert_eq!(at(text, items[0].get("y").unwrap()), "[p, 'q r']");
        assert_eq!(at(text, items[1].get("z").unwrap()), "é");
        assert_eq!(at(text, root.get("b").unwrap()), "3");
    }

    #[test]
    fn a_path_leads_to_the_innermost_part() {
        let text = "a:\n  - { x: 1, y: [p, 'q r'] }\n";
        let root = tree(text).unwrap();
        let steps = path_to(&root, offset(text, 2, 23).unwrap());
        let ranges: Vec<&str> = steps.iter().map(|s| &text[s.range()]).collect();
        assert_eq!(
            ranges,
            [
                "a:\n  - { x: 1, y: [p, 'q r'] }\n",
                "{ x: 1, y: [p, 'q r'] }",
                "y: [p, 'q r']",
                "'q r'"
            ]
        );
        assert!(steps[2].in_flow());
    }

    #[test]
    fn offsets_count_characters() {
        let text = "é: 1\nb: ü2\n";
        assert_eq!(offset(text, 2, 4), Some(text.find('ü').unwrap()));
        assert_eq!(offset(text, 1, 1), Some(0));
        assert_eq!(offset(text, 9, 1), None);
    }
}
