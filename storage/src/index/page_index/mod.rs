//! The page indexes (by host, status, error kind and fetch time) beside sled: sorted
//! runs of keys, merged when read.
//!
//! In sled every entry was an insert into the tree, and a sled insert clones the leaf it
//! lands in, splits it every few inserts and rewrites it as it consolidates: a page's
//! entries were a large share of a crawl's CPU and memory (the figures are in
//! ARCHITECTURE.md, "Why it is built this way"). Here the store's writer appends each
//! round's keys to a log (`log`, one `write` per round) and to a sorted-later tail in
//! memory; at [`FOLD_AT`] keys the tail is sorted into an immutable run
//! (`crate::index::sorted_run`), and the index's merger thread (`crate::index::merger`)
//! merges the runs, so a range read merges a few runs and the tail, and the writer
//! never waits for a merge. Which runs count, and how far they cover the log, is the
//! manifest, in sled's metadata (`m` + `page-index`). What is this module's own: the
//! log, the tail, and reading a range across the tail and the runs.
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

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use self::log::KeyLog;
use crate::index::merger::{Merger, Runs};
use crate::index::sorted_run::{Cursor, Merge};
use crate::StoreError;

/// Keys held in memory before they are folded into a run (about 5 MiB).
pub const FOLD_AT: usize = 64 * 1024;
/// The manifest's name under `m`.
const MANIFEST: &str = "page-index";

/// The page indexes of one store.
pub struct PageIndex {
    shared: Arc<Shared>,
    /// The thread that merges runs; `None` when read-only.
    merger: Option<Merger>,
}

struct Shared {
    dir: PathBuf,
    fold_at: usize,
    inner: Mutex<Inner>,
    runs: Arc<Runs>,
}

struct Inner {
    /// `None` when opened read-only.
    log: Option<KeyLog>,
    /// Keys appended since the last fold, unsorted.
    tail: Vec<Vec<u8>>,
}

impl PageIndex {
    /// Opens the index in `dir`; `read_only` neither creates, repairs nor deletes.
    /// `closed_cleanly`: the store's last writer closed it (a bad end of the log is
    /// damage, not an append a kill cut short).
    pub fn open(
        dir: &Path,
        tree: &sled::Tree,
        read_only: bool,
        closed_cleanly: bool,
        fold_at: usize,
    ) -> Result<PageIndex, StoreError> {
        if !read_only {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        let runs = Runs::open(dir, tree, MANIFEST, read_only)?;
        let (log, tail) = KeyLog::open(dir, runs.covered(), read_only, closed_cleanly)?;
        let merger = if read_only {
            None
        } else {
            Some(Merger::start(&runs, "page index")?)
        };
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            fold_at: fold_at.max(1),
            inner: Mutex::new(Inner { log, tail }),
            runs,
        });
        Ok(PageIndex { shared, merger })
    }

    /// Adds a round's keys; `sync` makes them durable before returning. Folds the tail
    /// into a run when it is full, and wakes the merger when a level is.
    pub fn append(&self, round: Vec<Vec<u8>>, sync: bool) -> Result<(), StoreError> {
        if let Some(failure) = self.shared.runs.failure() {
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
        if inner.tail.len() >= self.shared.fold_at && self.shared.fold(&mut inner)? {
            if let Some(merger) = &self.merger {
                merger.wake();
            }
        }
        Ok(())
    }

    /// Makes every appended key durable, once the merges asked for so far are done
    /// (and reports a merge that failed).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.wait_for_merges();
        if let Some(failure) = self.shared.runs.failure() {
            return Err(StoreError::WriteFailed { reason: failure });
        }
        match self.shared.lock().log.as_mut() {
            Some(log) => log.sync(),
            None => Ok(()),
        }
    }

    /// Returns once the merges asked for so far are done.
    fn wait_for_merges(&self) {
        if let Some(merger) = &self.merger {
            merger.wait();
        }
    }

    /// The keys in `start..end` (`end` `None`: to the last), ascending, each once.
    pub fn range(&self, start: &[u8], end: Option<&[u8]>) -> Range {
        let inner = self.shared.lock();
        let in_range =
            |key: &&Vec<u8>| key.as_slice() >= start && end.is_none_or(|end| key.as_slice() < end);
        let mut tail: Vec<&Vec<u8>> = inner.tail.iter().filter(in_range).collect();
        tail.sort_unstable();
        let mut cursors = vec![Cursor::in_memory(&tail)];
        // Taken under the tail's lock: a fold moves keys from one to the other.
        let runs = self.shared.runs.current();
        drop(inner);
        for run in &runs {
            match Cursor::seek(run, start) {
                Ok(cursor) => cursors.push(cursor),
                Err(error) => return Range::Failed(Some(error)),
            }
        }
        Range::Keys(Merge::new(cursors, end.map(<[u8]>::to_vec)))
    }

    /// Bytes the index occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.shared.runs.size() + self.shared.lock().log.as_ref().map_or(0, KeyLog::len)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The tail and the log stay valid after a panic elsewhere.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sorts the tail into a level-0 run; returns whether a level is full.
    fn fold(&self, inner: &mut Inner) -> Result<bool, StoreError> {
        let mut tail = std::mem::take(&mut inner.tail);
        tail.sort_unstable();
        tail.dedup();
        // The log up to `covered` on disk before the manifest says so: appends after a
        // crash must not start below it.
        if let Some(log) = inner.log.as_mut() {
            log.sync()?;
        }
        let covered = inner.log.as_ref().map_or(0, KeyLog::len);
        self.runs.add(&tail, covered)
    }
}

/// Ascending keys from [`PageIndex::range`].
pub enum Range {
    Keys(Merge),
    /// A run could not be read from the start of the range.
    Failed(Option<StoreError>),
}

impl Iterator for Range {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Range::Keys(merge) => merge.next(),
            Range::Failed(error) => error.take().map(Err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Vec<u8> {
        format!("k{i:05}").into_bytes()
    }

    /// A directory with a sled tree for the manifest.
    fn store_dir() -> (tempfile::TempDir, sled::Db, sled::Tree) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        let tree = db.open_tree("t").unwrap();
        (dir, db, tree)
    }

    fn all(index: &PageIndex) -> Vec<Vec<u8>> {
        index.range(b"", None).map(Result::unwrap).collect()
    }

    #[test]
    fn keys_come_back_sorted_and_once_across_folds_merges_and_reopens() {
        let (dir, _db, tree) = store_dir();
        let index_dir = dir.path().join("index");
        // 100 rounds of 7 keys, every key twice, folded every 16: runs of three levels.
        let expected: Vec<Vec<u8>> = (0..350).map(key).collect();
        {
            let index = PageIndex::open(&index_dir, &tree, false, false, 16).unwrap();
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
            let levels = index.shared.runs.levels();
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
        let read_only = PageIndex::open(&index_dir, &tree, true, false, 16).unwrap();
        assert_eq!(all(&read_only), expected);
        drop(read_only);
        let reopened = PageIndex::open(&index_dir, &tree, false, false, 16).unwrap();
        assert_eq!(all(&reopened), expected, "runs and the log's tail");
        assert!(!index_dir.join("00000999.tmp").exists());
        assert!(!index_dir.join("00000998.run").exists());
        reopened.append(vec![key(1000)], true).unwrap();
        assert_eq!(all(&reopened).last(), Some(&key(1000)));
    }

    #[test]
    fn a_damaged_run_is_an_error_naming_its_file_not_wrong_keys() {
        let (dir, _db, tree) = store_dir();
        let index_dir = dir.path().join("index");
        let index = PageIndex::open(&index_dir, &tree, false, false, 1000).unwrap();
        index.append((0..1000).map(key).collect(), true).unwrap();
        index.flush().unwrap();
        let run = index_dir.join("00000000.run");
        let mut bytes = std::fs::read(&run).unwrap();
        let at = bytes.windows(6).position(|w| w == b"k00500").unwrap();
        bytes[at + 3] ^= 0x01;
        std::fs::write(&run, &bytes).unwrap();
        let read: Result<Vec<Vec<u8>>, StoreError> = index.range(b"", None).collect();
        let error = read.unwrap_err().to_string();
        assert!(error.contains("00000000.run"), "{error}");
    }
}
