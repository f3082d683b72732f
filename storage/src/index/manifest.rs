//! The manifest of an index kept as run files beside sled (the inlink index, the page
//! index): which run files make it up and how much of its log they cover, kept in
//! sled under `m` + the index's name.
//!
//! It is the one place that says which files count: a run file it does not name is
//! the leftover of a fold or merge a crash interrupted (deleted at open, with any
//! temporary file), and the log from `covered` on is the tail that no run holds yet
//! (read back at open).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::run_file;
use crate::codec::keys;
use crate::StoreError;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Everything before this log position is in a run.
    pub covered: u64,
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

impl Manifest {
    /// The manifest stored under `name`; empty when there is none yet.
    pub fn load(tree: &sled::Tree, name: &str) -> Result<Manifest, StoreError> {
        let key = keys::meta_key(name);
        match tree.get(&key)? {
            Some(value) => crate::codec::json::from_json(&key, &value),
            None => Ok(Manifest::default()),
        }
    }

    /// Stores the manifest durably: run files it drops may be deleted after this.
    pub fn save(&self, tree: &sled::Tree, name: &str) -> Result<(), StoreError> {
        // Serializing plain numbers cannot fail.
        let value = serde_json::to_vec(self).unwrap_or_default();
        tree.insert(keys::meta_key(name), value)?;
        tree.flush()?;
        Ok(())
    }

    /// Deletes from `dir` the run files (`NNNNNNNN.run`) this manifest does not name and
    /// every temporary file. A missing `dir` holds nothing to delete.
    pub fn remove_unlisted_files(&self, dir: &Path) -> Result<(), StoreError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(dir, e)),
        };
        for entry in entries {
            let path = entry.map_err(|e| StoreError::io(dir, e))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let named =
                run_file::id_of(name).is_some_and(|id| self.runs.iter().any(|r| r.id == id));
            let leftover = run_file::is_temporary(name) || (name.ends_with(".run") && !named);
            if leftover {
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            }
        }
        Ok(())
    }
}
