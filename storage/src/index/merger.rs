//! The runs of one index and the thread that merges them, the same for the page index
//! and the inlinks: the index folds its tail into a level-0 run with [`Runs::add`],
//! reads a snapshot of the runs with [`Runs::current`], and the merger thread keeps
//! the number of runs small. Which runs count, and how far they cover the index's log,
//! is the manifest (`crate::index::manifest`), saved before any file it drops is
//! deleted.
//!
//! Merge policy: when a level has [`MERGE_FAN_IN`] runs, every run of the lowest such
//! level is merged into one run of the next level (a fold makes level 0). Each key is
//! then rewritten about log4(keys / fold) times, and a read merges at most three runs
//! a level plus the runs that arrive during a merge. Runs are picked by id, not by
//! place, so folds go on while a merge runs (the lock is held only to pick runs and to
//! swap in the result), and a merger that fell behind catches up in one merge per
//! level. The order of the runs means nothing: both indexes are sets of keys. (The
//! inlinks used to merge the newest four runs when they shared a level, inline after
//! each fold; with folds and merges on different threads the newest four change under
//! a merge, which picking by level and id does not mind.)
//!
//! Crash behaviour: a merged run is whole under its final name before the manifest
//! names it, and the runs it replaces are deleted only after; a crash in between
//! leaves files the manifest does not name, deleted at the next open.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

use crate::index::manifest::{Manifest, RunEntry};
use crate::index::sorted_run::{Cursor, Merge, RunBuilder, SortedRun, MERGE_READ};
use crate::StoreError;

/// How many runs of one level are merged into one run of the next.
pub(crate) const MERGE_FAN_IN: usize = 4;

/// The runs of one index, shared by the index and its merger thread.
pub(crate) struct Runs {
    dir: PathBuf,
    tree: sled::Tree,
    /// The manifest's name under `m`.
    name: &'static str,
    /// Held while the manifest changes and is saved, so saves keep their order.
    manifest: Mutex<Manifest>,
    /// What reads see; replaced under `manifest`'s lock, after the save.
    runs: RwLock<Vec<Arc<SortedRun>>>,
    /// Why the last merge failed; the index reports it from then on.
    failure: Mutex<Option<String>>,
}

/// The merger thread of one index; stopped and joined when dropped.
pub(crate) struct Merger {
    wake: Sender<Wake>,
    thread: Option<JoinHandle<()>>,
}

enum Wake {
    /// A level may have enough runs to merge.
    Merge,
    /// Answered once every merge asked for before it is done.
    Done(Sender<()>),
}

impl Runs {
    /// Opens the runs named by manifest `name` in `dir`. Unless `read_only`, deletes
    /// the files the manifest does not name (what a crash mid-fold or mid-merge left).
    /// The index creates `dir` before its first fold.
    pub(crate) fn open(
        dir: &Path,
        tree: &sled::Tree,
        name: &'static str,
        read_only: bool,
    ) -> Result<Arc<Runs>, StoreError> {
        let manifest = Manifest::load(tree, name)?;
        if !read_only {
            manifest.remove_unlisted_files(dir)?;
        }
        let runs = manifest
            .runs
            .iter()
            .map(|entry| SortedRun::open(dir, entry.id, entry.entries).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Runs {
            dir: dir.to_path_buf(),
            tree: tree.clone(),
            name,
            manifest: Mutex::new(manifest),
            runs: RwLock::new(runs),
            failure: Mutex::new(None),
        }))
    }

    fn lock_manifest(&self) -> MutexGuard<'_, Manifest> {
        // The manifest in memory changes only after a successful save.
        self.manifest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The runs a read goes through now.
    pub(crate) fn current(&self) -> Vec<Arc<SortedRun>> {
        self.runs.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Everything before this position of the index's log is in a run.
    pub(crate) fn covered(&self) -> u64 {
        self.lock_manifest().covered
    }

    /// The level of each run, in the manifest's order.
    #[cfg(test)]
    pub(crate) fn levels(&self) -> Vec<u32> {
        self.lock_manifest().runs.iter().map(|r| r.level).collect()
    }

    /// Bytes of the runs on disk.
    pub(crate) fn size(&self) -> u64 {
        self.current().iter().map(|run| run.size()).sum()
    }

    /// Why a merge failed, if one did.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Writes `keys` (ascending, no repeats) as a level-0 run and names it in the
    /// manifest with the log covered through `covered`, which the caller has made
    /// durable. Returns whether a level is now full (time to wake the merger).
    pub(crate) fn add<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
        covered: u64,
    ) -> Result<bool, StoreError> {
        let id = self.next_id();
        let mut out = RunBuilder::create(&self.dir, id)?;
        for key in keys {
            out.push(key.as_ref())?;
        }
        let run = out.finish()?;
        let mut manifest = self.lock_manifest();
        let mut next = manifest.clone();
        next.covered = covered;
        next.runs.push(RunEntry {
            id,
            entries: run.keys(),
            level: 0,
        });
        next.save(&self.tree, self.name)?;
        self.runs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(run));
        *manifest = next;
        Ok(full_level(&manifest).is_some())
    }

    fn next_id(&self) -> u64 {
        // Saved with the next manifest; an id lost to a crash is never named.
        let mut manifest = self.lock_manifest();
        manifest.next_run += 1;
        manifest.next_run - 1
    }

    /// Merges while a level has [`MERGE_FAN_IN`] runs.
    fn merge_full_levels(&self) -> Result<(), StoreError> {
        loop {
            let (level, picked) = {
                let manifest = self.lock_manifest();
                let Some(level) = full_level(&manifest) else {
                    return Ok(());
                };
                let ids: Vec<u64> = manifest
                    .runs
                    .iter()
                    .filter(|entry| entry.level == level)
                    .map(|entry| entry.id)
                    .collect();
                let picked: Vec<Arc<SortedRun>> = self
                    .current()
                    .into_iter()
                    .filter(|run| ids.contains(&run.id()))
                    .collect();
                (level, picked)
            };
            let id = self.next_id();
            let cursors = picked
                .iter()
                .map(|run| Cursor::from_start(run, MERGE_READ))
                .collect::<Result<Vec<_>, _>>()?;
            let merged = Merge::new(cursors, None).write(&self.dir, id)?;
            {
                let mut manifest = self.lock_manifest();
                let mut next = manifest.clone();
                let is_picked = |id: u64| picked.iter().any(|run| run.id() == id);
                next.runs.retain(|entry| !is_picked(entry.id));
                next.runs.push(RunEntry {
                    id,
                    entries: merged.keys(),
                    level: level + 1,
                });
                next.save(&self.tree, self.name)?;
                let mut runs = self.runs.write().unwrap_or_else(|p| p.into_inner());
                runs.retain(|run| !is_picked(run.id()));
                runs.push(Arc::new(merged));
                *manifest = next;
            }
            // Reads still holding a merged run keep its open file.
            for run in picked {
                run.delete();
            }
        }
    }
}

/// The lowest level with [`MERGE_FAN_IN`] runs, if any.
fn full_level(manifest: &Manifest) -> Option<u32> {
    let mut levels: Vec<u32> = manifest.runs.iter().map(|run| run.level).collect();
    levels.sort_unstable();
    levels
        .chunk_by(|a, b| a == b)
        .find(|same| same.len() >= MERGE_FAN_IN)
        .map(|same| same[0])
}

impl Merger {
    /// Starts the merger thread of `runs`; `what` names the index in its thread's name
    /// and in the failure it reports.
    pub(crate) fn start(runs: &Arc<Runs>, what: &'static str) -> Result<Merger, StoreError> {
        let (wake, wakes) = mpsc::channel();
        let for_thread = Arc::clone(runs);
        let thread = std::thread::Builder::new()
            .name(format!("{}-merge", what.replace(' ', "-")))
            .spawn(move || merge_when_woken(&for_thread, &wakes, what))
            .map_err(|e| StoreError::io(&runs.dir, e))?;
        Ok(Merger {
            wake,
            thread: Some(thread),
        })
    }

    /// Asks for the full levels to be merged.
    pub(crate) fn wake(&self) {
        // The thread stops only when the merger is dropped.
        let _ = self.wake.send(Wake::Merge);
    }

    /// Returns once the merges asked for so far are done.
    pub(crate) fn wait(&self) {
        let (done, answer) = mpsc::channel();
        if self.wake.send(Wake::Done(done)).is_ok() {
            let _ = answer.recv();
        }
    }
}

impl Drop for Merger {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it is done with what it was asked.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.wake, closed));
        if let Some(thread) = self.thread.take() {
            // The thread catches nothing: a panic there is its own bug, already told.
            let _ = thread.join();
        }
    }
}

/// The merger thread: merges full levels whenever woken, until the merger is dropped.
fn merge_when_woken(runs: &Runs, wakes: &Receiver<Wake>, what: &str) {
    for wake in wakes {
        match wake {
            Wake::Merge => {
                if runs.failure().is_some() {
                    continue;
                }
                if let Err(error) = runs.merge_full_levels() {
                    let mut failure = runs.failure.lock().unwrap_or_else(|p| p.into_inner());
                    failure.get_or_insert_with(|| format!("the {what} could not merge: {error}"));
                }
            }
            Wake::Done(done) => {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key a fold makes `i`-th in fold `fold`.
    type KeyOf = dyn Fn(u64, u64) -> Vec<u8>;

    fn open(dir: &Path, tree: &sled::Tree, name: &'static str) -> (Arc<Runs>, Merger) {
        std::fs::create_dir_all(dir).unwrap();
        let runs = Runs::open(dir, tree, name, false).unwrap();
        let merger = Merger::start(&runs, "test index").unwrap();
        (runs, merger)
    }

    fn all(runs: &Runs) -> Vec<Vec<u8>> {
        let cursors = runs
            .current()
            .iter()
            .map(|run| Cursor::from_start(run, 1).unwrap())
            .collect();
        Merge::new(cursors, None).map(Result::unwrap).collect()
    }

    /// Folds `folds` runs of `keys_per_fold` keys each from `key`, waiting for merges.
    fn fold_all(
        runs: &Runs,
        merger: &Merger,
        folds: u64,
        key: impl Fn(u64, u64) -> Vec<u8>,
    ) -> Vec<Vec<u8>> {
        let mut expected = Vec::new();
        for fold in 0..folds {
            let mut keys: Vec<Vec<u8>> = (0..50).map(|i| key(fold, i)).collect();
            keys.sort();
            keys.dedup();
            expected.extend(keys.iter().cloned());
            if runs.add(&keys, fold + 1).unwrap() {
                merger.wake();
            }
            merger.wait();
        }
        expected.sort();
        expected.dedup();
        expected
    }

    #[test]
    fn runs_of_both_kinds_merge_into_levels_and_reopen_as_the_manifest_says() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        // Page index keys (prefix and URL, overlapping between folds) and inlink
        // postings (target hash and record position, big-endian).
        let page_key = |fold: u64, i: u64| {
            format!("h\0a.test\0http://a.test/{}", (fold * 30 + i) % 400).into_bytes()
        };
        let posting = |fold: u64, i: u64| {
            let hash = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % 17;
            ((u128::from(hash) << 64) | u128::from(fold * 1000 + i))
                .to_be_bytes()
                .to_vec()
        };
        let kinds: [(&str, &KeyOf); 2] = [("pages", &page_key), ("inlinks", &posting)];
        for (name, key) in kinds {
            let index_dir = dir.path().join(name);
            let expected = {
                let (runs, merger) = open(&index_dir, &tree, name);
                let expected = fold_all(&runs, &merger, 21, key);
                // 21 folds: one run of level 2, one of level 1, one of level 0.
                let mut levels = runs.levels();
                levels.sort_unstable();
                assert_eq!(levels, [0, 1, 2], "{name}");
                assert_eq!(all(&runs), expected, "{name}");
                assert_eq!(runs.covered(), 21);
                expected
            };
            let files = std::fs::read_dir(&index_dir).unwrap().count();
            assert_eq!(files, 3, "{name}: merged runs are deleted");
            let (runs, _merger) = open(&index_dir, &tree, name);
            assert_eq!(all(&runs), expected, "{name} reopened");
        }
        // Inlink postings read back by prefix, numeric order being byte order.
        let runs = Runs::open(&dir.path().join("inlinks"), &tree, "inlinks", true).unwrap();
        let mut positions = Vec::new();
        for run in runs.current() {
            run.for_each_with_prefix(&3u64.to_be_bytes(), |key| {
                positions.push(u64::from_be_bytes(key[8..].try_into().unwrap()));
            })
            .unwrap();
        }
        positions.sort_unstable();
        let expected: Vec<u64> = (0..21u64)
            .flat_map(|fold| (0..50u64).map(move |i| (fold, i)))
            .filter(|&(_, i)| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % 17 == 3)
            .map(|(fold, i)| fold * 1000 + i)
            .collect();
        assert_eq!(positions, expected);
    }
}
