//! The page indexes (by host, status, error kind and fetch time) beside sled: sorted
//! runs of keys, merged when read.
//!
//! In sled every entry was an insert into the tree, and a sled insert clones the leaf it
//! lands in, splits it every few inserts and rewrites it as it consolidates: the three
//! entries of a page cost about 1.4 CPU s and 55 MiB of a 50,000-page crawl, a ninth
//! of its CPU (BENCHMARKS.md). Here the store's writer appends each round's keys to a
//! log (`log`, one `write` per round) and to a sorted-later tail in memory; at
//! [`FOLD_AT`] keys the tail is sorted into an immutable run file (`run`), and runs are
//! merged four of a level at a time, so a range read merges a few runs and the tail.
//! Which runs count, and how far they cover the log, is the manifest, in sled's
//! metadata (`m` + `page-index`).
//!
//! Entries are never removed: the index only proposes URLs, and a query keeps one only
//! when its current record still has that entry ([`crate::index::page_keys`]), which
//! drops the entries of records replaced since, and duplicates are merged away.
//!
//! Crash behaviour: a durable store syncs the log in each round, before the round
//! leaves the write log, so a record's entries are on disk before the write log
//! forgets them (a crash in between replays the round, appending them again). A run is
//! written to a temporary file, synced and renamed, and the directory synced, before
//! the manifest names it; files the manifest does not name are deleted at open, and
//! the log after `covered` is read back into the tail (a torn last key ignored).

mod log;
mod run;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use self::log::KeyLog;
use self::run::{KeyRun, RunCursor};
use crate::{keys, StoreError};

/// Keys held in memory before they are folded into a run (about 5 MiB).
pub const FOLD_AT: usize = 64 * 1024;
/// How many runs of one level are merged into one run of the next.
const MERGE_FAN_IN: usize = 4;
const MANIFEST: &str = "page-index";

/// The page indexes of one store.
pub struct PageIndex {
    dir: PathBuf,
    fold_at: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    /// `None` when opened read-only.
    log: Option<KeyLog>,
    /// Keys appended since the last fold, unsorted.
    tail: Vec<Vec<u8>>,
    runs: Vec<Arc<KeyRun>>,
    manifest: Manifest,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    /// Every key before this log offset is in a run.
    covered: u64,
    /// The id the next run file gets.
    next_run: u64,
    /// The runs, oldest first.
    runs: Vec<RunEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct RunEntry {
    id: u64,
    /// 0 for a run folded from the tail; a merge of runs of level `l` has level `l + 1`.
    level: u32,
}

impl Manifest {
    fn load(tree: &sled::Tree) -> Result<Manifest, StoreError> {
        let key = keys::meta_key(MANIFEST);
        match tree.get(&key)? {
            Some(value) => crate::store::from_json(&key, &value),
            None => Ok(Manifest::default()),
        }
    }

    /// Stores the manifest durably: run files it drops may be deleted after this.
    fn save(&self, tree: &sled::Tree) -> Result<(), StoreError> {
        // Serializing plain numbers cannot fail.
        let value = serde_json::to_vec(self).unwrap_or_default();
        tree.insert(keys::meta_key(MANIFEST), value)?;
        tree.flush()?;
        Ok(())
    }
}

impl PageIndex {
    /// Opens the index in `dir`; `read_only` neither creates, repairs nor deletes.
    pub fn open(
        dir: &Path,
        tree: &sled::Tree,
        read_only: bool,
        fold_at: usize,
    ) -> Result<PageIndex, StoreError> {
        let manifest = Manifest::load(tree)?;
        if !read_only {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
            run::remove_unlisted(dir, manifest.runs.iter().map(|run| run.id))?;
        }
        let runs = manifest
            .runs
            .iter()
            .map(|entry| KeyRun::open(dir, entry.id).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (log, tail) = KeyLog::open(dir, manifest.covered, read_only)?;
        Ok(PageIndex {
            dir: dir.to_path_buf(),
            fold_at: fold_at.max(1),
            inner: Mutex::new(Inner {
                log,
                tail,
                runs,
                manifest,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The tail and the run list stay valid after a panic elsewhere.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a round's keys; `sync` makes them durable before returning. Folds the tail
    /// into a run when it is full.
    pub fn append(
        &self,
        round: Vec<Vec<u8>>,
        sync: bool,
        tree: &sled::Tree,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let Some(log) = inner.log.as_mut() else {
            return Err(StoreError::ReadOnly {
                path: self.dir.clone(),
            });
        };
        log.append(&round)?;
        if sync {
            log.sync()?;
        }
        inner.tail.extend(round);
        if inner.tail.len() >= self.fold_at {
            self.fold(&mut inner, tree)?;
        }
        Ok(())
    }

    /// Makes every appended key durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        match self.lock().log.as_mut() {
            Some(log) => log.sync(),
            None => Ok(()),
        }
    }

    /// Sorts the tail into a run, then merges runs while a level has enough of them.
    fn fold(&self, inner: &mut Inner, tree: &sled::Tree) -> Result<(), StoreError> {
        let mut tail = std::mem::take(&mut inner.tail);
        tail.sort_unstable();
        tail.dedup();
        let id = inner.manifest.next_run;
        let run = KeyRun::write(&self.dir, id, tail.into_iter().map(Ok))?;
        // The log up to `covered` on disk before the manifest says so: appends after a
        // crash must not start below it.
        if let Some(log) = inner.log.as_mut() {
            log.sync()?;
        }
        let covered = inner.log.as_ref().map_or(0, KeyLog::len);
        inner.manifest.next_run += 1;
        inner.manifest.covered = covered;
        inner.manifest.runs.push(RunEntry { id, level: 0 });
        inner.manifest.save(tree)?;
        inner.runs.push(Arc::new(run));
        while let Some(level) = full_level(&inner.manifest) {
            self.merge(inner, tree, level)?;
        }
        Ok(())
    }

    /// Merges the runs of `level` into one run of the next level.
    fn merge(&self, inner: &mut Inner, tree: &sled::Tree, level: u32) -> Result<(), StoreError> {
        let at_level = |entry: &RunEntry| entry.level == level;
        let merged: Vec<Arc<KeyRun>> = inner
            .manifest
            .runs
            .iter()
            .zip(&inner.runs)
            .filter(|(entry, _)| at_level(entry))
            .map(|(_, run)| Arc::clone(run))
            .collect();
        let id = inner.manifest.next_run;
        let sources = merged
            .iter()
            .map(RunCursor::from_start)
            .map(|cursor| Box::new(cursor) as Source)
            .collect();
        let run = KeyRun::write(&self.dir, id, Merged::new(sources, None))?;
        let (kept_entries, kept_runs) = inner
            .manifest
            .runs
            .drain(..)
            .zip(inner.runs.drain(..))
            .filter(|(entry, _)| !at_level(entry))
            .unzip();
        inner.manifest.runs = kept_entries;
        inner.runs = kept_runs;
        inner.manifest.next_run += 1;
        inner.manifest.runs.push(RunEntry {
            id,
            level: level + 1,
        });
        inner.manifest.save(tree)?;
        inner.runs.push(Arc::new(run));
        // Readers still holding a merged run keep its open file.
        for old in merged {
            old.delete();
        }
        Ok(())
    }

    /// The keys in `start..end` (`end` `None`: to the last), ascending, each once.
    pub fn range(&self, start: &[u8], end: Option<&[u8]>) -> Range {
        let inner = self.lock();
        let in_range =
            |key: &&Vec<u8>| key.as_slice() >= start && end.is_none_or(|end| key.as_slice() < end);
        let mut tail: Vec<Vec<u8>> = inner.tail.iter().filter(in_range).cloned().collect();
        let runs = inner.runs.clone();
        drop(inner);
        tail.sort_unstable();
        let mut sources: Vec<Source> = vec![Box::new(tail.into_iter().map(Ok))];
        for run in &runs {
            sources.push(Box::new(RunCursor::seek(run, start)));
        }
        Range {
            merged: Merged::new(sources, end.map(<[u8]>::to_vec)),
        }
    }

    /// Bytes the index occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        let inner = self.lock();
        inner.runs.iter().map(|run| run.size()).sum::<u64>()
            + inner.log.as_ref().map_or(0, KeyLog::len)
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

type Source = Box<dyn Iterator<Item = Result<Vec<u8>, StoreError>> + Send>;

/// Ascending keys from [`PageIndex::range`].
pub struct Range {
    merged: Merged,
}

impl Iterator for Range {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.merged.next()
    }
}

/// A merge of ascending sources into one ascending sequence without repeats, up to an
/// exclusive end.
struct Merged {
    sources: Vec<Source>,
    heads: BinaryHeap<Reverse<(Vec<u8>, usize)>>,
    started: bool,
    end: Option<Vec<u8>>,
    last: Option<Vec<u8>>,
    failed: Option<StoreError>,
}

impl Merged {
    fn new(sources: Vec<Source>, end: Option<Vec<u8>>) -> Merged {
        Merged {
            sources,
            heads: BinaryHeap::new(),
            started: false,
            end,
            last: None,
            failed: None,
        }
    }

    fn pull(&mut self, source: usize) {
        match self.sources[source].next() {
            Some(Ok(key)) => self.heads.push(Reverse((key, source))),
            Some(Err(error)) => {
                self.failed.get_or_insert(error);
            }
            None => {}
        }
    }
}

impl Iterator for Merged {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            for source in 0..self.sources.len() {
                self.pull(source);
            }
        }
        loop {
            if let Some(error) = self.failed.take() {
                self.heads.clear();
                return Some(Err(error));
            }
            let Reverse((key, source)) = self.heads.pop()?;
            self.pull(source);
            if self.end.as_ref().is_some_and(|end| key >= *end) {
                self.heads.clear();
                return None;
            }
            if self.last.as_ref() == Some(&key) {
                continue;
            }
            self.last = Some(key.clone());
            return Some(Ok(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Vec<u8> {
        format!("k{i:05}").into_bytes()
    }

    fn all(index: &PageIndex) -> Vec<Vec<u8>> {
        index.range(b"", None).map(Result::unwrap).collect()
    }

    #[test]
    fn keys_come_back_sorted_and_once_across_folds_merges_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        let tree = db.open_tree("t").unwrap();
        let index_dir = dir.path().join("index");
        // 100 rounds of 7 keys, every key twice, folded every 16: runs of three levels.
        let expected: Vec<Vec<u8>> = (0..350).map(key).collect();
        {
            let index = PageIndex::open(&index_dir, &tree, false, 16).unwrap();
            for round in 0..100u32 {
                let keys = (0..7).map(|i| key((round * 7 + i) % 350)).collect();
                index.append(keys, round % 2 == 0, &tree).unwrap();
            }
            assert_eq!(all(&index), expected);
            let levels: Vec<u32> = index.lock().manifest.runs.iter().map(|r| r.level).collect();
            assert!(levels.iter().any(|&level| level >= 2), "{levels:?}");
            let from_k00100: Vec<Vec<u8>> = index
                .range(&key(100), Some(&key(110)))
                .map(Result::unwrap)
                .collect();
            assert_eq!(from_k00100, (100..110).map(key).collect::<Vec<_>>());
        }
        // What a crash mid-fold leaves: a temporary file and a run no manifest names.
        std::fs::write(index_dir.join("00000999.tmp"), b"partial").unwrap();
        std::fs::write(index_dir.join("00000998.run"), b"unlisted").unwrap();
        let read_only = PageIndex::open(&index_dir, &tree, true, 16).unwrap();
        assert_eq!(all(&read_only), expected);
        drop(read_only);
        let reopened = PageIndex::open(&index_dir, &tree, false, 16).unwrap();
        assert_eq!(all(&reopened), expected, "runs and the log's tail");
        assert!(!index_dir.join("00000999.tmp").exists());
        assert!(!index_dir.join("00000998.run").exists());
        reopened.append(vec![key(1000)], true, &tree).unwrap();
        assert_eq!(all(&reopened).last(), Some(&key(1000)));
    }
}
