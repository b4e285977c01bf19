//! `copy:` — what a copy job carries over: paths and globs relative to the work tree root, and
//! include files (`{include: .worktreeinclude}`) whose gitignore-style patterns name the
//! gitignored files to carry. Written as one path, a list, `{include: FILE}`, or a list that
//! mixes paths and `{include: FILE}`.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::budget::spend;
use super::values::stays_inside;

/// One thing a copy job carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum CopyItem {
    /// A path or a glob.
    Path(String),
    /// A file of gitignore-style patterns naming gitignored files.
    Include(String),
}

fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.contains('\0') {
        return Err(format!("`{path}` is not a path"));
    }
    if Path::new(path).is_absolute() || !stays_inside(Path::new(path)) {
        return Err(format!(
            "`{path}` leaves the work tree; give a path relative to the work tree root"
        ));
    }
    if path.contains(['*', '?', '[', '{']) {
        globset::Glob::new(path)
            .map_err(|err| format!("`{path}` is not a glob: {}", err.kind()))?;
    }
    Ok(())
}

/// `{include: FILE}`.
fn include<'de, A: MapAccess<'de>>(mut map: A) -> Result<CopyItem, A::Error> {
    let mut file = None;
    while let Some(key) = map.next_key::<String>()? {
        if key != "include" {
            return Err(de::Error::custom(format!(
                "unknown key `{key}` in `copy`; expected `include: FILE` (a .worktreeinclude-style file)"
            )));
        }
        let value: String = map.next_value()?;
        spend(1, value.len())?;
        check_path(&value).map_err(de::Error::custom)?;
        if value.contains(['*', '?', '[', '{']) {
            return Err(de::Error::custom(format!(
                "`include: {value}` names one file, not a glob"
            )));
        }
        file = Some(value);
    }
    file.map(CopyItem::Include)
        .ok_or_else(|| de::Error::custom("`copy: {}` is empty; give `include: FILE`"))
}

/// One item of a `copy:` list.
struct Item;

impl<'de> de::Deserialize<'de> for CopyItemIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Item).map(CopyItemIn)
    }
}

struct CopyItemIn(CopyItem);

impl<'de> Visitor<'de> for Item {
    type Value = CopyItem;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a path or glob in the work tree, or `{include: FILE}`")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<CopyItem, E> {
        spend(1, v.len())?;
        check_path(v).map_err(E::custom)?;
        Ok(CopyItem::Path(v.to_owned()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CopyItem, A::Error> {
        include(map)
    }
}

/// `copy:` as written: one path, `{include: FILE}`, or a list of either.
pub(super) fn items<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<CopyItem>>, D::Error> {
    struct Items;
    impl<'de> Visitor<'de> for Items {
        type Value = Vec<CopyItem>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("paths or globs in the work tree, `{include: FILE}`, or a list of them")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Item.visit_str(v).map(|item| vec![item])
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            include(map).map(|item| vec![item])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(CopyItemIn(item)) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
    }
    let items = d.deserialize_any(Items)?;
    if items.is_empty() {
        return Err(de::Error::custom(
            "`copy` is empty; give the paths to carry over",
        ));
    }
    Ok(Some(items))
}

/// The schema of `copy:`.
pub(super) fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let path = serde_json::json!({ "type": "string", "minLength": 1 });
    let include = serde_json::json!({
        "type": "object",
        "properties": { "include": { "type": "string", "minLength": 1 } },
        "required": ["include"],
        "additionalProperties": false,
    });
    schemars::json_schema!({
        "description": "Files, directories or globs carried from the source worktree into the same place (relative to the work tree root), or {include: FILE}: the gitignored files FILE's gitignore-style patterns name (the .worktreeinclude convention).",
        "anyOf": [
            path,
            include,
            { "type": "array", "minItems": 1, "items": { "anyOf": [path, include] } },
        ],
    })
}
