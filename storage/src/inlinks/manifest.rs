//! The manifest: which run files make up the index and how much of the log they cover,
//! kept in sled under `m` + `inlinks`.
//!
//! It is the one place that says which files count: a run file it does not name is
//! the leftover of a fold a crash interrupted (deleted at open), and the log from
//! `covered` on is the tail that no run holds yet (read back at open).

use serde::{Deserialize, Serialize};

use super::log::Position;
use crate::keys;
use crate::StoreError;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Every record before this log position is in a run.
    pub covered: Position,
    /// The id the next run file gets.
    pub next_run: u64,
    /// The runs, oldest first.
    pub runs: Vec<RunEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEntry {
    pub id: u64,
    pub entries: u64,
    /// 0 for a run folded from the tail; a merge of runs of level `l` has level `l + 1`.
    pub level: u32,
}

const NAME: &str = "inlinks";

impl Manifest {
    pub fn load(tree: &sled::Tree) -> Result<Manifest, StoreError> {
        let key = keys::meta_key(NAME);
        match tree.get(&key)? {
            Some(value) => crate::store::from_json(&key, &value),
            None => Ok(Manifest::default()),
        }
    }

    /// Stores the manifest durably: run files it drops may be deleted after this.
    pub fn save(&self, tree: &sled::Tree) -> Result<(), StoreError> {
        // Serializing plain numbers cannot fail.
        let value = serde_json::to_vec(self).unwrap_or_default();
        tree.insert(keys::meta_key(NAME), value)?;
        tree.flush()?;
        Ok(())
    }
}
