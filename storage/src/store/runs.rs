//! The runs made over a store (their settings, seeds and totals), kept as one JSON
//! list under `m` + `runs`.

use super::Store;
use crate::codec::json::{from_json, to_json};
use crate::codec::keys;
use crate::record::CrawlRun;
use crate::StoreError;

impl Store {
    /// Records the start of a run; returns its index for [`Store::finish_run`].
    pub fn start_run(&self, run: &CrawlRun) -> Result<usize, StoreError> {
        self.check_writable()?;
        let mut runs = self.runs()?;
        runs.push(run.clone());
        self.put_runs(&runs)?;
        Ok(runs.len() - 1)
    }

    /// Overwrites run `index` (normally with its end time and totals).
    pub fn finish_run(&self, index: usize, run: &CrawlRun) -> Result<(), StoreError> {
        self.check_writable()?;
        let mut runs = self.runs()?;
        if let Some(slot) = runs.get_mut(index) {
            *slot = run.clone();
        } else {
            runs.push(run.clone());
        }
        self.put_runs(&runs)
    }

    /// The runs made over this store, oldest first.
    pub fn runs(&self) -> Result<Vec<CrawlRun>, StoreError> {
        let key = keys::meta_key("runs");
        match self.tree().get(&key)? {
            Some(value) => from_json(&key, &value),
            None => Ok(Vec::new()),
        }
    }

    fn put_runs(&self, runs: &[CrawlRun]) -> Result<(), StoreError> {
        self.tree.insert(keys::meta_key("runs"), to_json(&runs))?;
        self.db.flush()?;
        Ok(())
    }
}
