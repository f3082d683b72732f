//! The inlink index: which pages link to a URL, kept beside sled rather than in it.
//!
//! One sled key per link made sled's memory (its nodes and page table grow with the
//! number of keys, whatever its cache size says) and its writes grow with every link a
//! crawl stores: a page of 500 links was 500 keys. Here a page write appends *one*
//! record to a postings log (`log`): the source URL and the 64-bit hashes of its
//! outlink targets. The postings, `(target hash, record position)` pairs, collect in
//! memory (the *tail*) until there are `FOLD_AT` of them (4 MiB); then a background
//! thread sorts them into an immutable run (`crate::index::sorted_run`, each posting a
//! 16-byte big-endian key), and the index's merger thread (`crate::index::merger`)
//! merges the runs, so a lookup reads a few runs (one `pread` each, of the block
//! where the target's hash starts) plus the tail. Which runs count and how far they
//! cover the log is the manifest (`crate::index::manifest`), in sled's metadata. What
//! is this module's own: the log, the tail and its hand-over to the folder thread, and
//! the lookup.
//!
//! The index only proposes candidates: [`crate::Store::inlinks`] keeps a source only
//! when its stored outlinks (in the body log, through its page record) still contain
//! the URL. That one check removes hash
//! collisions, records whose page batch never committed (the record is written first)
//! and the postings of a page written again since, so nothing is ever removed from the
//! log or the runs.
//!
//! Crash behaviour: a run is written to a temporary file, synced and renamed before
//! the manifest names it, and the log is synced before the manifest says a run covers
//! it. A crash mid-fold leaves the previous manifest valid: the files it does not name
//! are deleted at open and the log after `covered` is read back into the tail (its
//! torn last record, if any, ignored). Like bodies, records are synced by
//! [`InlinkIndex::flush`] and by each fold, not by every page write.
//!
//! Memory: the tail (at most `FOLD_AT` postings of 16 bytes), the chunk being folded,
//! a read buffer per merged run, and about 40 bytes per 16 KiB block (some 960
//! postings) of each run's sparse index.

mod log;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

use self::log::{LogReader, LogWriter, Position};
use crate::index::merger::{Merger, Runs};
use crate::StoreError;

/// Postings collected in memory before they are folded into a run: 4 MiB.
pub const FOLD_AT: usize = 256 * 1024;
/// Room past `FOLD_AT` for the postings of the record that reaches it.
const FOLD_SLACK: usize = 8 * 1024;
/// The manifest's name under `m`.
const MANIFEST: &str = "inlinks";

/// The files of the postings log in `dir`, oldest first (for `crawler check`).
pub fn log_segments(dir: &Path) -> Result<Vec<std::path::PathBuf>, StoreError> {
    Ok(log::segment_ids(dir)?
        .into_iter()
        .map(|id| log::segment_path(dir, id))
        .collect())
}

/// The 64-bit hash that names a target URL in the index.
pub fn target_hash(url: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(url.as_bytes())
}

/// A posting as a number; its 16 big-endian bytes are its key in a run, so byte order
/// is numeric order and a target's postings share its hash's 8 bytes as a prefix.
fn posting(hash: u64, at: Position) -> u128 {
    (u128::from(hash) << 64) | u128::from(at)
}

fn hash_of(posting: u128) -> u64 {
    (posting >> 64) as u64
}

/// The inlink index of one store. Appends from many threads; lookups at any time.
pub struct InlinkIndex {
    shared: Arc<Shared>,
    folder: Option<(Sender<Job>, JoinHandle<()>)>,
    /// Whether closing folds what this process appended (tests turn it off to leave
    /// the store as a crash would).
    fold_on_close: bool,
}

struct Shared {
    dir: PathBuf,
    fold_at: usize,
    tail: Mutex<Tail>,
    /// Chunks taken from the tail and not yet in a run.
    pending: RwLock<Vec<Arc<Chunk>>>,
    runs: Arc<Runs>,
    log: LogReader,
    /// Why the last fold failed; page writes report it from then on.
    failure: Mutex<Option<String>>,
}

/// The log writer and the postings no run holds yet, in log order.
struct Tail {
    writer: LogWriter,
    postings: Vec<u128>,
    /// The position after the last record.
    end: Position,
    /// Whether this process appended anything.
    appended: bool,
}

/// Postings on their way from the tail to a run; sorted by the folder in place.
struct Chunk {
    postings: RwLock<Vec<u128>>,
    /// The log position after the last record the chunk holds.
    end: Position,
}

enum Job {
    Fold(Arc<Chunk>),
    /// Answered once every job sent before it, and every merge, is done.
    Flush(Sender<Option<String>>),
}

impl InlinkIndex {
    /// Opens the index in `dir` (created on first append) with its manifest in `tree`.
    pub fn open(dir: &Path, tree: &sled::Tree, fold_at: usize) -> Result<InlinkIndex, StoreError> {
        let runs = Runs::open(dir, tree, MANIFEST, false)?;
        let recovered = log::recover(dir, runs.covered())?;
        let merger = Merger::start(&runs, "inlink index")?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            fold_at: fold_at.max(1),
            tail: Mutex::new(Tail {
                writer: LogWriter::new(dir, recovered.next_segment),
                postings: recovered.postings,
                end: recovered.end,
                appended: false,
            }),
            pending: RwLock::new(Vec::new()),
            runs,
            log: LogReader::new(dir),
            failure: Mutex::new(None),
        });
        let (jobs, receiver) = mpsc::channel();
        let folder = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("inlink-fold".into())
                .spawn(move || fold_jobs(&shared, &merger, receiver))
                .map_err(|e| StoreError::io(dir, e))?
        };
        Ok(InlinkIndex {
            shared,
            folder: Some((jobs, folder)),
            fold_on_close: true,
        })
    }

    /// Records that `source` links to each of `targets`. Written before the page's
    /// batch; a record whose batch never commits is dropped by the lookup's check.
    pub fn append(&self, source: &str, targets: &[String]) -> Result<(), StoreError> {
        let hashes: Vec<u64> = targets.iter().map(|t| target_hash(t)).collect();
        self.append_hashes(source, &hashes)
    }

    fn append_hashes(&self, source: &str, hashes: &[u64]) -> Result<(), StoreError> {
        self.shared.check()?;
        let record = log::encode(source, hashes)?;
        let mut tail = self.shared.lock_tail();
        let (at, end) = tail.writer.append(&record)?;
        // One allocation per chunk, sized to the fold, rather than doubling past it.
        let needed = tail.postings.len() + hashes.len();
        if needed > tail.postings.capacity() {
            let room = needed.max(self.shared.fold_at + FOLD_SLACK) - tail.postings.len();
            tail.postings.reserve_exact(room);
        }
        tail.postings
            .extend(hashes.iter().map(|hash| posting(*hash, at)));
        tail.end = end;
        tail.appended = true;
        if tail.postings.len() >= self.shared.fold_at {
            self.hand_over(&mut tail);
        }
        Ok(())
    }

    /// Moves the tail's postings to a chunk the folder turns into a run. The chunk is
    /// visible to lookups before the tail lock is released, so no lookup misses it.
    fn hand_over(&self, tail: &mut Tail) {
        let Some((jobs, _)) = &self.folder else {
            return;
        };
        let chunk = Arc::new(Chunk {
            postings: RwLock::new(std::mem::take(&mut tail.postings)),
            end: tail.end,
        });
        self.shared.write_pending().push(Arc::clone(&chunk));
        // The folder only stops when the index closes, after the last send.
        let _ = jobs.send(Job::Fold(chunk));
    }

    /// The URLs of the records that list a target with `url`'s hash, sorted and
    /// deduplicated. Candidates only: the caller checks each against its outlinks.
    pub fn candidates(&self, url: &str) -> Result<Vec<String>, StoreError> {
        let hash = target_hash(url);
        let matching = |postings: &[u128], into: &mut Vec<u64>| {
            into.extend(
                postings
                    .iter()
                    .filter(|p| hash_of(**p) == hash)
                    .map(|p| *p as u64),
            );
        };
        let mut positions = Vec::new();
        // The tail, the pending chunks, then the runs: a chunk leaves the tail for the
        // pending list, and the pending list only once it is in a run.
        matching(&self.shared.lock_tail().postings, &mut positions);
        let pending = self.shared.read_pending().clone();
        let runs = self.shared.runs.current();
        for chunk in pending {
            let postings = chunk.postings.read().unwrap_or_else(|p| p.into_inner());
            matching(&postings, &mut positions);
        }
        for run in runs {
            run.for_each_with_prefix(&hash.to_be_bytes(), |key| {
                if let Some(at) = key.get(8..).and_then(|at| at.try_into().ok()) {
                    positions.push(u64::from_be_bytes(at));
                }
            })?;
        }
        positions.sort_unstable();
        positions.dedup();
        let mut sources = Vec::with_capacity(positions.len());
        for at in positions {
            if let Some(source) = self.shared.log.source_at(at)? {
                sources.push(source);
            }
        }
        sources.sort_unstable();
        sources.dedup();
        Ok(sources)
    }

    /// Folds the tail into a run and waits until every fold and merge is done and
    /// durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        let Some((jobs, _)) = &self.folder else {
            return Ok(());
        };
        {
            let mut tail = self.shared.lock_tail();
            if !tail.postings.is_empty() {
                self.hand_over(&mut tail);
            }
        }
        let (reply, answer) = mpsc::channel();
        let _ = jobs.send(Job::Flush(reply));
        let _ = answer.recv();
        self.shared.check()
    }

    /// Bytes of the log and the runs.
    pub fn size_on_disk(&self) -> u64 {
        crate::files::dir_size(&self.shared.dir)
    }

    /// Folds what this process appended and stops the folder (and with it the
    /// merger). Errors are dropped: the next open reads anything unfolded back from
    /// the log.
    pub fn close(&mut self) {
        if self.fold_on_close {
            let mut tail = self.shared.lock_tail();
            if tail.appended && !tail.postings.is_empty() {
                self.hand_over(&mut tail);
            }
        }
        if let Some((jobs, folder)) = self.folder.take() {
            drop(jobs);
            let _ = folder.join();
        }
    }

    /// Leaves the tail unfolded at close, as a crash would.
    #[cfg(test)]
    pub fn skip_fold_on_close(&mut self) {
        self.fold_on_close = false;
    }

    /// Waits until the folder has done every job sent so far, and the merger every
    /// merge.
    #[cfg(test)]
    pub fn settle(&self) {
        if let Some((jobs, _)) = &self.folder {
            let (reply, answer) = mpsc::channel();
            let _ = jobs.send(Job::Flush(reply));
            let _ = answer.recv();
        }
    }

    /// How many runs the index has and how many postings wait in the tail.
    #[cfg(test)]
    pub fn shape(&self) -> (usize, usize) {
        let tail = self.shared.lock_tail().postings.len();
        (self.shared.runs.current().len(), tail)
    }
}

impl Drop for InlinkIndex {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    fn lock_tail(&self) -> MutexGuard<'_, Tail> {
        // A panic cannot leave the tail half-made: the record is written before its
        // postings are pushed, and an unreferenced record is harmless.
        self.tail.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_pending(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Chunk>>> {
        self.pending.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_pending(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<Chunk>>> {
        self.pending.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The folder's or the merger's failure, as the error of whoever asks next.
    fn check(&self) -> Result<(), StoreError> {
        let failure = self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .or_else(|| self.runs.failure());
        match failure {
            None => Ok(()),
            Some(reason) => Err(StoreError::io(
                &self.dir,
                std::io::Error::other(format!("folding the inlink index failed: {reason}")),
            )),
        }
    }
}

/// The folder thread: turns chunks into runs, one at a time, in log order, and wakes
/// the merger. Ending, it stops the merger.
fn fold_jobs(shared: &Shared, merger: &Merger, jobs: Receiver<Job>) {
    for job in jobs {
        match job {
            Job::Fold(chunk) => {
                if shared.check().is_err() {
                    continue;
                }
                match fold(shared, &chunk) {
                    Ok(full) => {
                        if full {
                            merger.wake();
                        }
                    }
                    Err(e) => {
                        *shared.failure.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(e.to_string());
                    }
                }
            }
            Job::Flush(reply) => {
                merger.wait();
                let _ = reply.send(None);
            }
        }
    }
}

/// Writes `chunk` as a level-0 run covering the log through its end; returns whether
/// a level is full.
fn fold(shared: &Shared, chunk: &Arc<Chunk>) -> Result<bool, StoreError> {
    {
        let mut postings = chunk.postings.write().unwrap_or_else(|p| p.into_inner());
        postings.sort_unstable();
        postings.dedup();
    }
    shared.log.sync(
        log::segment_of(shared.runs.covered()),
        log::segment_of(chunk.end),
    )?;
    let full = {
        let postings = chunk.postings.read().unwrap_or_else(|p| p.into_inner());
        shared
            .runs
            .add(postings.iter().map(|p| p.to_be_bytes()), chunk.end)?
    };
    shared.write_pending().retain(|c| !Arc::ptr_eq(c, chunk));
    Ok(full)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::{PageRecord, PageWrite, Store, StoreOptions};

    fn open(dir: &Path, fold_at: usize) -> Store {
        Store::open_folding_at(dir, StoreOptions::default(), fold_at).unwrap()
    }

    fn write(store: &Store, source: &str, targets: &[String]) {
        let page = PageRecord::new(source, "a.test", 0);
        store
            .write_page(&PageWrite {
                page: Some(&page),
                outlinks: targets,
                ..PageWrite::default()
            })
            .unwrap();
    }

    fn inlinks(store: &Store, target: &str) -> Vec<String> {
        store.inlinks(target).map(Result::unwrap).collect()
    }

    /// Page `i` links to a few of twelve targets; returns what it wrote.
    fn targets_of(i: usize) -> Vec<String> {
        (0..1 + i % 4)
            .map(|k| format!("http://t.test/{}", (i * 7 + k * 5) % 12))
            .collect()
    }

    fn source(i: usize) -> String {
        format!("http://s.test/{i:03}")
    }

    /// Every target's expected inlinks, sorted.
    fn expected(pages: impl Iterator<Item = usize>) -> BTreeMap<String, Vec<String>> {
        let mut by_target: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for i in pages {
            for target in targets_of(i) {
                by_target.entry(target).or_default().insert(source(i));
            }
        }
        by_target
            .into_iter()
            .map(|(t, s)| (t, s.into_iter().collect()))
            .collect()
    }

    fn assert_all_found(store: &Store, expected: &BTreeMap<String, Vec<String>>) {
        for (target, sources) in expected {
            assert_eq!(&inlinks(store, target), sources, "inlinks of {target}");
        }
        assert!(inlinks(store, "http://t.test/none").is_empty());
    }

    #[test]
    fn inlinks_are_found_across_runs_and_the_tail_after_folds_and_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 8);
        for i in 0..61 {
            write(&store, &source(i), &targets_of(i));
        }
        let expected = expected(0..61);
        assert_all_found(&store, &expected);
        store.inlink_index().settle();
        let (runs, tail) = store.inlink_index().shape();
        assert!(runs >= 2 && tail > 0, "{runs} runs, {tail} in the tail");
        // 150 postings in chunks of 8 are about 18 folds; merging keeps the runs few.
        assert!(runs <= 6, "{runs} runs");
        assert_all_found(&store, &expected);
        drop(store);

        let store = open(dir.path(), 8);
        assert_eq!(store.inlink_index().shape().1, 0, "closing folded the tail");
        assert_all_found(&store, &expected);
    }

    #[test]
    fn writers_on_many_threads_lose_no_inlink() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 16);
        std::thread::scope(|scope| {
            for t in 0..4 {
                let store = &store;
                scope.spawn(move || {
                    for i in (t..200).step_by(4) {
                        write(store, &source(i), &targets_of(i));
                    }
                });
            }
        });
        assert_all_found(&store, &expected(0..200));
        store.flush().unwrap();
        assert_eq!(store.inlink_index().shape().1, 0);
        assert_all_found(&store, &expected(0..200));
    }

    #[test]
    fn after_a_crash_the_tail_is_read_back_from_the_log_and_a_torn_record_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let inlinks_dir = dir.path().join("inlinks");
        {
            let mut store = open(dir.path(), 10);
            for i in 0..30 {
                write(&store, &source(i), &targets_of(i));
            }
            store.inlink_index().settle();
            assert!(store.inlink_index().shape().1 > 0);
            store.inlink_index_mut().skip_fold_on_close();
        }
        // The last record loses its end, as if the crash cut its write short; a fold
        // the crash interrupted left a temporary file and a run no manifest names.
        let segment = log::segment_path(&inlinks_dir, 0);
        let len = std::fs::metadata(&segment).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        std::fs::write(inlinks_dir.join("00000999.run"), b"half").unwrap();
        std::fs::write(inlinks_dir.join("00000999.tmp"), b"half").unwrap();

        let store = open(dir.path(), 10);
        assert!(!inlinks_dir.join("00000999.run").exists());
        assert!(!inlinks_dir.join("00000999.tmp").exists());
        // Page 29's record is torn (in a real crash its batch would not have been
        // written either): its links are not reported, every earlier one is.
        let mut torn = expected(0..29);
        for target in targets_of(29) {
            assert_eq!(inlinks(&store, &target), torn[&target], "{target}");
        }
        assert_all_found(&store, &torn);

        // Writing goes on in a new segment; everything survives a clean reopen.
        for i in 29..50 {
            write(&store, &source(i), &targets_of(i));
        }
        torn = expected(0..50);
        assert_all_found(&store, &torn);
        drop(store);
        assert!(log::segment_path(&inlinks_dir, 1).exists());
        let store = open(dir.path(), 10);
        assert_all_found(&store, &torn);
    }

    #[test]
    fn stale_outlinks_collisions_and_unwritten_pages_are_not_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 1000);
        let (a, x, y, z) = (
            "http://a.test/",
            "http://x.test/",
            "http://y.test/",
            "http://z.test/",
        );
        write(&store, a, &[x.to_string(), y.to_string()]);
        write(&store, a, &[y.to_string()]);
        // A record naming z's hash from a page whose outlinks do not hold z (what a
        // hash collision looks like), and one from a page whose batch never came.
        let index = store.inlink_index();
        index.append_hashes(a, &[target_hash(z)]).unwrap();
        index
            .append_hashes("http://never.test/", &[target_hash(y)])
            .unwrap();
        let check = |store: &Store| {
            assert_eq!(inlinks(store, x), Vec::<String>::new());
            assert_eq!(inlinks(store, y), [a]);
            assert_eq!(inlinks(store, z), Vec::<String>::new());
        };
        check(&store);
        store.flush().unwrap();
        assert_eq!(store.inlink_index().shape(), (1, 0));
        check(&store);
        // No outlinks at all any more.
        write(&store, a, &[]);
        assert_eq!(inlinks(&store, y), Vec::<String>::new());
    }
}
