//! The page indexes (by host, status, error kind and fetch time) beside sled: sorted
//! runs of keys, merged when read.
//!
//! In sled every entry was an insert into the tree, and a sled insert clones the leaf it
//! lands in, splits it every few inserts and rewrites it as it consolidates: a page's
//! entries were a large share of a crawl's CPU and memory (the figures are in
//! ARCHITECTURE.md, "Why it is built this way"). Here the store's writer appends each round's keys to a
//! log (`log`, one `write` per round) and to a sorted-later tail in memory; at
//! [`FOLD_AT`] keys the tail is sorted into an immutable run file (`run`), and a thread
//! of the index's own merges runs four of a level at a time (holding the lock only to
//! pick them and to swap in the result), so a range read merges a few runs and the
//! tail, and the writer never waits for a merge.
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
//! the log after `covered` is read back into the tail (a torn last round ignored).

mod log;
mod run;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use self::log::KeyLog;
use self::run::{KeyRun, RunCursor};
use crate::index::manifest::{Manifest, RunEntry};
use crate::StoreError;

/// Keys held in memory before they are folded into a run (about 5 MiB).
pub const FOLD_AT: usize = 64 * 1024;
/// How many runs of one level are merged into one run of the next.
const MERGE_FAN_IN: usize = 4;
/// The manifest's name under `m`.
const MANIFEST: &str = "page-index";

/// The page indexes of one store.
pub struct PageIndex {
    shared: Arc<Shared>,
    /// The thread that merges runs, and how to wake it; `None` when read-only.
    merger: Option<(Sender<Wake>, JoinHandle<()>)>,
}

struct Shared {
    dir: PathBuf,
    fold_at: usize,
    tree: sled::Tree,
    inner: Mutex<Inner>,
    /// Why the last merge failed; appends report it from then on.
    failure: Mutex<Option<String>>,
}

struct Inner {
    /// `None` when opened read-only.
    log: Option<KeyLog>,
    /// Keys appended since the last fold, unsorted.
    tail: Vec<Vec<u8>>,
    runs: Vec<Arc<KeyRun>>,
    manifest: Manifest,
}

enum Wake {
    /// A level may have enough runs to merge.
    Merge,
    /// Answered once every merge asked for before it is done.
    Done(Sender<()>),
}

impl PageIndex {
    /// Opens the index in `dir`; `read_only` neither creates, repairs nor deletes.
    pub fn open(
        dir: &Path,
        tree: &sled::Tree,
        read_only: bool,
        fold_at: usize,
    ) -> Result<PageIndex, StoreError> {
        let manifest = Manifest::load(tree, MANIFEST)?;
        if !read_only {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
            manifest.remove_unlisted_files(dir)?;
        }
        let runs = manifest
            .runs
            .iter()
            .map(|entry| KeyRun::open(dir, entry.id).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (log, tail) = KeyLog::open(dir, manifest.covered, read_only)?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            fold_at: fold_at.max(1),
            tree: tree.clone(),
            inner: Mutex::new(Inner {
                log,
                tail,
                runs,
                manifest,
            }),
            failure: Mutex::new(None),
        });
        let merger = if read_only {
            None
        } else {
            let (wake, wakes) = mpsc::channel();
            let for_thread = Arc::clone(&shared);
            let thread = std::thread::Builder::new()
                .name("page-index-merge".into())
                .spawn(move || merge_when_woken(&for_thread, &wakes))
                .map_err(|e| StoreError::io(dir, e))?;
            Some((wake, thread))
        };
        Ok(PageIndex { shared, merger })
    }

    /// Adds a round's keys; `sync` makes them durable before returning. Folds the tail
    /// into a run when it is full, and wakes the merger when a level is.
    pub fn append(&self, round: Vec<Vec<u8>>, sync: bool) -> Result<(), StoreError> {
        if let Some(failure) = self.shared.failure_so_far() {
            return Err(StoreError::WriteFailed { reason: failure });
        }
        let mut inner = self.shared.lock();
        let Some(log) = inner.log.as_mut() else {
            return Err(StoreError::ReadOnly {
                path: self.shared.dir.clone(),
            });
        };
        log.append(&round)?;
        if sync {
            log.sync()?;
        }
        inner.tail.extend(round);
        if inner.tail.len() >= self.shared.fold_at {
            self.shared.fold(&mut inner)?;
            if full_level(&inner.manifest).is_some() {
                if let Some((wake, _)) = &self.merger {
                    // The merger stops only when the index is dropped.
                    let _ = wake.send(Wake::Merge);
                }
            }
        }
        Ok(())
    }

    /// Makes every appended key durable, once the merges asked for so far are done
    /// (and reports a merge that failed).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.wait_for_merges();
        if let Some(failure) = self.shared.failure_so_far() {
            return Err(StoreError::WriteFailed { reason: failure });
        }
        match self.shared.lock().log.as_mut() {
            Some(log) => log.sync(),
            None => Ok(()),
        }
    }

    /// Returns once the merges asked for so far are done.
    fn wait_for_merges(&self) {
        if let Some((wake, _)) = &self.merger {
            let (done, answer) = mpsc::channel();
            if wake.send(Wake::Done(done)).is_ok() {
                let _ = answer.recv();
            }
        }
    }

    /// The keys in `start..end` (`end` `None`: to the last), ascending, each once.
    pub fn range(&self, start: &[u8], end: Option<&[u8]>) -> Range {
        let inner = self.shared.lock();
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
        let inner = self.shared.lock();
        inner.runs.iter().map(|run| run.size()).sum::<u64>()
            + inner.log.as_ref().map_or(0, KeyLog::len)
    }
}

impl Drop for PageIndex {
    fn drop(&mut self) {
        if let Some((wake, thread)) = self.merger.take() {
            drop(wake);
            // The thread catches nothing: a panic there is its own bug, already told.
            let _ = thread.join();
        }
    }
}

/// The merger thread: merges full levels whenever woken, until the index is dropped.
fn merge_when_woken(shared: &Shared, wakes: &Receiver<Wake>) {
    for wake in wakes {
        match wake {
            Wake::Merge => {
                if let Err(error) = shared.merge_full_levels() {
                    let mut failure = shared
                        .failure
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    failure
                        .get_or_insert_with(|| format!("the page index could not merge: {error}"));
                }
            }
            Wake::Done(done) => {
                let _ = done.send(());
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The tail and the run list stay valid after a panic elsewhere.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn failure_so_far(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Sorts the tail into a level-0 run.
    fn fold(&self, inner: &mut Inner) -> Result<(), StoreError> {
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
        inner.manifest.runs.push(RunEntry {
            id,
            entries: run.keys(),
            level: 0,
        });
        inner.manifest.save(&self.tree, MANIFEST)?;
        inner.runs.push(Arc::new(run));
        Ok(())
    }

    /// Merges, while a level has [`MERGE_FAN_IN`] runs, that level's runs into one run
    /// of the next. The lock is held only to pick the runs and to swap them for the
    /// merged one; appends and reads go on meanwhile.
    fn merge_full_levels(&self) -> Result<(), StoreError> {
        loop {
            let (level, picked, id) = {
                let mut inner = self.lock();
                let Some(level) = full_level(&inner.manifest) else {
                    return Ok(());
                };
                let picked: Vec<(u64, Arc<KeyRun>)> = inner
                    .manifest
                    .runs
                    .iter()
                    .zip(&inner.runs)
                    .filter(|(entry, _)| entry.level == level)
                    .map(|(entry, run)| (entry.id, Arc::clone(run)))
                    .collect();
                let id = inner.manifest.next_run;
                inner.manifest.next_run += 1;
                (level, picked, id)
            };
            let sources = picked
                .iter()
                .map(|(_, run)| Box::new(RunCursor::from_start(run)) as Source)
                .collect();
            let run = KeyRun::write(&self.dir, id, Merged::new(sources, None))?;
            {
                let mut guard = self.lock();
                let inner = &mut *guard;
                let merged = |entry: &RunEntry| picked.iter().any(|(id, _)| *id == entry.id);
                let (kept_entries, kept_runs) = inner
                    .manifest
                    .runs
                    .drain(..)
                    .zip(inner.runs.drain(..))
                    .filter(|(entry, _)| !merged(entry))
                    .unzip();
                inner.manifest.runs = kept_entries;
                inner.runs = kept_runs;
                inner.manifest.runs.push(RunEntry {
                    id,
                    entries: run.keys(),
                    level: level + 1,
                });
                inner.manifest.save(&self.tree, MANIFEST)?;
                inner.runs.push(Arc::new(run));
            }
            // Readers still holding a merged run keep its open file.
            for (_, old) in picked {
                old.delete();
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
                index.append(keys, round % 2 == 0).unwrap();
                if round == 50 {
                    // Reads while the merger may be at work.
                    assert_eq!(all(&index).len(), 350);
                }
                // A merger that fell behind merges every run of a level at once, which
                // may leave fewer levels: let it keep up so the shape is the same on
                // any machine.
                index.wait_for_merges();
            }
            assert_eq!(all(&index), expected);
            assert_eq!(all(&index), expected, "after the merges");
            let levels: Vec<u32> = index
                .shared
                .lock()
                .manifest
                .runs
                .iter()
                .map(|r| r.level)
                .collect();
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
        reopened.append(vec![key(1000)], true).unwrap();
        assert_eq!(all(&reopened).last(), Some(&key(1000)));
    }
}
