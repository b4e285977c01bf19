//! Ports of a worktree's own (SPEC §3.2): `ports: [web, db]` leases each worktree one TCP
//! port per name, probed free on 127.0.0.1 when leased, never the same as another live lease
//! on this machine — across clones too: the leases are kept in the user's state directory,
//! changed only under a lock — and stable for the worktree's life. Removal releases them.
//!
//! The registry is data, not code: every lease read back is checked as strictly as the
//! config (a name daft would accept, a port of its range, an absolute clone path, a worktree
//! id daft makes), and one that is not is dropped and said, never passed on to `daft env`.

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::files::{open_lock, write_atomically};
use crate::state::UserState;

/// Where ports are leased from: clear of the well-known ports and of Linux's ephemeral range
/// (32768–60999), where the kernel picks ports for outgoing connections.
const RANGE: std::ops::Range<u16> = 20_000..32_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Lease {
    port: u16,
    name: String,
    /// The clone's git common dir, and the worktree's id in it.
    clone: PathBuf,
    worktree: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Registry {
    leases: Vec<Lease>,
}

impl Lease {
    /// Whether daft could have written this lease.
    fn valid(&self) -> bool {
        crate::config::valid_port_name(&self.name)
            && RANGE.contains(&self.port)
            && self.clone.is_absolute()
            && !self.clone.as_os_str().as_encoded_bytes().contains(&0)
            && crate::worktree::Identity::valid_id(&self.worktree)
    }
}

/// The ports of worktree `id` of the clone at `clone` for `names`: its existing leases, and
/// new ones for names it has none for yet. Returns name → port.
pub(crate) fn lease(clone: &Path, id: &str, names: &[String]) -> Result<BTreeMap<String, u16>> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    change(|registry| {
        // A lease of a clone that no longer exists is nobody's.
        registry.leases.retain(|l| l.clone.join("daft").is_dir());
        let mut out = BTreeMap::new();
        for name in names {
            if let Some(lease) = registry
                .leases
                .iter()
                .find(|l| l.clone == clone && l.worktree == id && &l.name == name)
            {
                out.insert(name.clone(), lease.port);
                continue;
            }
            let port = free_port(registry, clone, id, name).with_context(|| {
                format!(
                    "no free port for `{name}` in {}–{}",
                    RANGE.start,
                    RANGE.end - 1
                )
            })?;
            registry.leases.push(Lease {
                port,
                name: name.clone(),
                clone: clone.to_owned(),
                worktree: id.to_owned(),
            });
            out.insert(name.clone(), port);
        }
        Ok(out)
    })
}

/// The ports worktree `id` holds, without leasing any.
pub(crate) fn held(clone: &Path, id: &str) -> BTreeMap<String, u16> {
    let Ok(user) = UserState::new() else {
        return BTreeMap::new();
    };
    read(&user.ports())
        .leases
        .into_iter()
        .filter(|l| l.clone == clone && l.worktree == id)
        .map(|l| (l.name, l.port))
        .collect()
}

/// Gives back the ports of worktree `id`.
pub(crate) fn release(clone: &Path, id: &str) -> Result<()> {
    change(|registry| {
        registry
            .leases
            .retain(|l| !(l.clone == clone && l.worktree == id));
        Ok(())
    })
}

/// A port in [`RANGE`] no lease holds and nothing listens on. The search starts at a point
/// derived from the clone, worktree and name, so a worktree tends to get the same port back.
fn free_port(registry: &Registry, clone: &Path, id: &str, name: &str) -> Option<u16> {
    let digest = Sha256::digest(format!("{}\0{id}\0{name}", clone.display()));
    let span = u32::from(RANGE.end - RANGE.start);
    let start = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % span;
    (0..span)
        .map(|step| RANGE.start + ((start + step) % span) as u16)
        .find(|&port| {
            !registry.leases.iter().any(|l| l.port == port)
                && TcpListener::bind(("127.0.0.1", port)).is_ok()
        })
}

/// Changes the registry under its lock, and writes it back atomically.
fn change<T>(f: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
    let user = UserState::new()?;
    let path = user.ports();
    fs::create_dir_all(user.dir())
        .with_context(|| format!("cannot create {}", user.dir().display()))?;
    let _lock = open_lock(&user.ports_lock())?;
    let mut registry = read(&path);
    let out = f(&mut registry)?;
    write_atomically(&path, &serde_json::to_vec_pretty(&registry)?)?;
    Ok(out)
}

/// The registry; a damaged one is set aside (never lost) and started again, and leases daft
/// could not have written are dropped. Either is said.
fn read(path: &Path) -> Registry {
    let printer = crate::printer::Printer::stderr();
    let Ok(bytes) = fs::read(path) else {
        return Registry::default();
    };
    let mut registry = match serde_json::from_slice::<Registry>(&bytes) {
        Ok(registry) => registry,
        Err(err) => {
            let aside = path.with_extension(format!("damaged-{}", std::process::id()));
            let _ = fs::rename(path, &aside);
            printer.warn(&format!(
                "the port registry {} was damaged ({err}); moved it to {} and started a new one",
                path.display(),
                aside.display()
            ));
            return Registry::default();
        }
    };
    let before = registry.leases.len();
    registry.leases.retain(Lease::valid);
    if registry.leases.len() != before {
        printer.warn(&format!(
            "the port registry {} held {} lease(s) daft could not have written; they are ignored",
            path.display(),
            before - registry.leases.len()
        ));
    }
    registry
}

/// `DAFT_PORT_<NAME>` for a port name.
pub(crate) fn variable(name: &str) -> String {
    format!("DAFT_PORT_{}", name.to_ascii_uppercase().replace('-', "_"))
}
