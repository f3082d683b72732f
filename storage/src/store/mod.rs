//! The store: what a [`Store`] holds, how it is opened (the format check, the lock,
//! replaying the write log of a killed process, repairing its queue files) and how it
//! is closed (the writer drained, everything synced, the open mark removed).
//!
//! Its methods are split by job: the write path (`write`), the frontier and the
//! seen-set (`frontier`), reading pages back (`pages`), the runs (`runs`) and their
//! seeds (`seeds`), its size beside the data it holds (`footprint`), the hosts'
//! politeness state (`politeness`); queries
//! and statistics are in `crate::query`.

pub(crate) mod check;
pub(crate) mod cookies;
pub(crate) mod footprint;
pub(crate) mod frontier;
pub(crate) mod holder;
pub(crate) mod leftovers;
pub(crate) mod pages;
pub(crate) mod politeness;
pub(crate) mod repair;
pub(crate) mod revisits;
pub(crate) mod runs;
pub(crate) mod seeds;
pub(crate) mod space;
mod unwritable;
pub(crate) mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::codec::keys;
use crate::files::body_log::BodyLog;
use crate::files::queue_files::QueueFiles;
use crate::files::seen_table::SeenTable;
use crate::index::inlinks::{self, InlinkIndex};
use crate::index::page_index::{self, PageIndex};
use crate::writer::host_counts;
use crate::writer::totals::{self, RunningTotals};
use crate::writer::write_log::WriteLog;
use crate::writer::{Beside, RecordWriter};
use crate::StoreError;

/// The on-disk format this build writes and reads, stored under `m` + `format`; a
/// store of another version is refused ([`StoreError::UnsupportedFormat`]).
///
/// - 1: pages, bodies and the frontier in sled.
/// - 2: secondary indexes (host, status, error kind, fetch time, inlinks) and the HTTP
///   exchanges.
/// - 3: the frontier keyed by host and depth.
/// - 4: the frontier in per-host queue files and the seen-set in an on-disk hash
///   table, beside sled.
/// - 5: running totals (`z`, `y` + host) and one key per page (`p`: its parts are in
///   the body log, see `crate::codec::page_value`).
/// - 6: the page index beside sled, in `index/` (`crate::index::page_index`).
/// - 7: one checksummed frame (`crate::files::frame`) in every append-only file: the
///   body log's parts, the page index's log and the inlink log take it (the queue
///   files and the write log had it already).
/// - 8: one sorted-run format for both indexes beside sled (`crate::index::sorted_run`):
///   byte-ordered keys in checksummed blocks (an inlink posting is a 16-byte
///   big-endian key), one sparse index, one checksummed footer.
/// - 9: the queue entries of small hosts in shared bucket files, `frontier/shared/`
///   (`crate::files::queue_buckets`); a host's own queue file only past a size. A
///   version 8 store is read as it is (its hosts all have files of their own) and marked
///   9 when opened for writing, since a version 8 build would not see the buckets.
/// - 10: the page record in the body log, a part like the body (`crate::codec::page_value`):
///   sled's value of a page is its flags and pointers. A value of version 9 (or 8), its
///   record inline as JSON, reads as it is; such a store is marked 10 when opened for
///   writing, since an older build would not read the records written then.
/// - 11: revisits: a page's value may point to its history (`crate::codec::history`)
///   and to its last visit's heads, and its record has a digest and what the visit
///   found; a due index (`d`). Versions 8 to 10 read as they are and are marked 11 when
///   opened for writing.
/// - 12: host page counts in a fixed number of buckets (`x` + bucket), not one `y` key
///   per host (`crate::writer::host_counts`). Older stores read as they are; a writer
///   moves their `y` keys into buckets when it opens them.
/// - 13: a page's rendering (`crawl --render`) is a part of the page
///   (`crate::rendering`, `crate::codec::page_value`'s bit 7), not a record of its own
///   keyed `URL#rendered`. Older stores read as they are (their `#rendered` records
///   stay records) and are marked 13 when opened for writing, since an older build
///   would refuse a value with a rendering as damaged.
pub const FORMAT_VERSION: u32 = 13;
/// The older versions read as [`FORMAT_VERSION`]: their layouts are cases of this one.
const READ_AS_CURRENT: [u32; 5] = [8, 9, 10, 11, 12];

/// How to open a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// sled's page cache, in MiB.
    pub cache_mb: u64,
    /// Create the store when the directory is absent or empty. Readers set this to false.
    pub create: bool,
    /// Make every [`Store::write_page`] survive a kill once it returns: its sled
    /// changes are appended to the store's write log before they are handed to the
    /// writer, which flushes sled after every round (`crate::writer`);
    /// the next open replays what was not flushed. Off, sled flushes by itself every
    /// half second, and a kill loses what it had not.
    pub durable_writes: bool,
    /// Open for reading only: this process writes nothing to the store (no open mark,
    /// no flush or sync at close), and every write fails with
    /// [`StoreError::ReadOnly`]. What the query commands use: a store that was killed
    /// mid-crawl is read as it is (its write log is not replayed), and left for the
    /// next crawl to repair.
    pub read_only: bool,
    /// Bytes to keep free on the store's filesystem: a write that finds less free
    /// fails with [`StoreError::LowOnSpace`] (checked every few hundred milliseconds).
    /// `None`: 1% of the filesystem, at most 100 MiB; `Some(0)`: no check.
    pub min_free_space: Option<u64>,
}

impl StoreOptions {
    /// Options for reading a store that must already exist.
    pub fn existing() -> StoreOptions {
        StoreOptions {
            create: false,
            ..StoreOptions::default()
        }
    }

    /// Options for reading a store that must exist, writing nothing to it.
    pub fn read_only() -> StoreOptions {
        StoreOptions {
            create: false,
            read_only: true,
            ..StoreOptions::default()
        }
    }
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            cache_mb: 256,
            create: true,
            durable_writes: false,
            read_only: false,
            min_free_space: None,
        }
    }
}

/// A crawl store. Cheap to share between threads (`&Store` is enough to write).
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    tree: sled::Tree,
    bodies: Arc<BodyLog>,
    inlinks: InlinkIndex,
    page_index: Arc<PageIndex>,
    queues: QueueFiles,
    seen: Arc<SeenTable>,
    /// Applies the sled changes of every write, many at a time; `None` when read-only.
    writer: Option<RecordWriter>,
    /// The frontier cursors this process moved, which the writer may not have applied
    /// yet (only this process writes them, so this is never stale).
    cursors: Mutex<HashMap<String, u64>>,
    /// Refuses writes when the disk is nearly full.
    space: space::SpaceGuard,
    /// The private copy of sled's files a reader opened because the store's own
    /// directory cannot be written (`unwritable`); removed when the store is dropped,
    /// after `db` (fields drop in order).
    _sled_copy: Option<tempfile::TempDir>,
}

impl Store {
    /// Opens the store at `path`, creating it when `options.create` allows.
    ///
    /// Fails with a clear error when the path is a file, a directory that is not a
    /// crawl store, a store of another format version, or a store another process has open.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Store::open_folding_at(path, options, inlinks::FOLD_AT)
    }

    /// [`Store::open`] with the number of inlink postings held in memory before they
    /// are folded into a run (tests make it small to exercise folds and merges).
    pub(crate) fn open_folding_at(
        path: &Path,
        options: StoreOptions,
        fold_at: usize,
    ) -> Result<Store, StoreError> {
        check_path(path, options.create)?;
        if path.is_dir() {
            leftovers::remove_incomplete_snapshots(path)?;
        }
        let (db, sled_copy) = match open_sled_in(path, path, options.cache_mb) {
            Err(source) if options.read_only && unwritable::is_unwritable(&source) => {
                let copy = unwritable::copy_sled_files(path)?;
                let db = open_sled_in(path, copy.path(), options.cache_mb)
                    .map_err(|source| open_error(path, source))?;
                (db, Some(copy))
            }
            opened => (opened.map_err(|source| open_error(path, source))?, None),
        };
        let tree = db
            .open_tree("crawl")
            .map_err(|source| open_error(path, source))?;
        check_format(
            path,
            &db,
            &tree,
            options.create && !options.read_only,
            !options.read_only,
        )?;
        let inlinks = InlinkIndex::open(&path.join("inlinks"), &tree, fold_at)?;
        let closed_cleanly = closed_cleanly(&tree)?;
        let page_index = Arc::new(PageIndex::open(
            &path.join("index"),
            &tree,
            options.read_only,
            closed_cleanly,
            fold_at.min(page_index::FOLD_AT),
        )?);
        let seen = Arc::new(SeenTable::open(&path.join("seen"))?);
        let bodies = Arc::new(BodyLog::open(&path.join("bodies")));
        let writer = if options.read_only {
            None
        } else {
            let totals =
                RunningTotals::starting_from(totals::Totals::read(&tree)?.unwrap_or_default());
            host_counts::move_legacy_counts(&tree)?;
            let (log, logged) = WriteLog::open(path, &bodies)?;
            let writer = RecordWriter::start(
                db.clone(),
                tree.clone(),
                Beside {
                    seen: Arc::clone(&seen),
                    bodies: Arc::clone(&bodies),
                    page_index: Arc::clone(&page_index),
                },
                totals,
                options.durable_writes,
                Some(log),
            )?;
            // What a killed process had handed over and not flushed, before anything else.
            writer.replay(logged)?;
            Some(writer)
        };
        let store = Store {
            path: path.to_path_buf(),
            db,
            tree,
            bodies,
            inlinks,
            page_index,
            queues: QueueFiles::open(&path.join("frontier")),
            seen,
            writer,
            cursors: Mutex::default(),
            space: space::SpaceGuard::new(path, options.min_free_space),
            _sled_copy: sled_copy,
        };
        if store.writer.is_some() {
            store.mark_open()?;
        }
        holder::claim(path);
        Ok(store)
    }

    /// Marks the store open until it is dropped; a store found marked was not closed
    /// (the process was killed), so the tails of its queue files are checked first.
    fn mark_open(&self) -> Result<(), StoreError> {
        if !closed_cleanly(&self.tree)? {
            self.queues.repair(|host| self.cursor(host))?;
        } else {
            self.tree.insert(keys::meta_key(OPEN_MARK), &[][..])?;
            self.db.flush()?;
        }
        Ok(())
    }

    /// The directory of this store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Advertises `name = value` (where this process serves, say) in the store's
    /// holder file while this process holds it, for [`crate::advertised`] to find.
    /// Best effort: a store opened read-only, or a file that cannot be written,
    /// advertises nothing.
    pub fn advertise(&self, name: &str, value: &str) {
        if self.writer.is_some() {
            holder::advertise(&self.path, name, value);
        }
    }

    /// The tree, once every write that returned before is applied to it: what the
    /// read API reads.
    pub(crate) fn tree(&self) -> &sled::Tree {
        if let Some(writer) = &self.writer {
            // A failed write is reported to writers; readers read what is there.
            let _ = writer.wait_idle();
        }
        &self.tree
    }

    /// The body log: every page's parts, its record among them.
    pub(crate) fn bodies(&self) -> &BodyLog {
        &self.bodies
    }

    /// The page indexes; read after [`Store::tree`], which waits for the writer.
    pub(crate) fn page_index(&self) -> &PageIndex {
        &self.page_index
    }

    fn writer(&self) -> Result<&RecordWriter, StoreError> {
        self.writer.as_ref().ok_or_else(|| StoreError::ReadOnly {
            path: self.path.clone(),
        })
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        self.writer().map(|_| ())
    }

    /// Writes everything to disk: bodies and the inlink log first (the inlinks
    /// collected in memory folded into a run), then the records pointing to them.
    /// sled also flushes by itself every half second.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.flush_all().map_err(|error| self.space.explain(error))
    }

    fn flush_all(&self) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        writer.wait_idle()?;
        self.bodies.sync()?;
        self.inlinks.flush()?;
        self.page_index.flush()?;
        self.queues.sync()?;
        self.seen.sync()?;
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?
            + self.bodies.size_on_disk()
            + self.inlinks.size_on_disk()
            + self.page_index.size_on_disk()
            + self.queues.size_on_disk()
            + self.seen.size_on_disk())
    }
}

/// Meta key present while a process has the store open.
pub(crate) const OPEN_MARK: &str = "open";

/// Whether the store's last writer closed it (no open mark): a kill leaves the mark.
pub(crate) fn closed_cleanly(tree: &sled::Tree) -> Result<bool, StoreError> {
    Ok(!tree.contains_key(keys::meta_key(OPEN_MARK))?)
}

/// Opens sled, waiting a moment when the lock is held with no other process named as
/// the holder: a store this process just dropped lets go of the lock only when sled's
/// background threads notice, a few milliseconds later.
/// Opens sled's files of the store at `path`.
fn open_sled(path: &Path, cache_mb: u64) -> Result<sled::Db, StoreError> {
    open_sled_in(path, path, cache_mb).map_err(|source| open_error(path, source))
}

/// Opens sled's files in `sled_dir` (the store at `store`, or a reader's copy of it).
fn open_sled_in(store: &Path, sled_dir: &Path, cache_mb: u64) -> Result<sled::Db, sled::Error> {
    const ATTEMPTS: u32 = 40;
    let mut attempt = 0;
    loop {
        let opened = sled::Config::new()
            .path(sled_dir)
            .cache_capacity(cache_mb.saturating_mul(1024 * 1024))
            .open();
        match opened {
            Err(source)
                if is_locked(&source) && attempt < ATTEMPTS && !holder::held_by_another(store) =>
            {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

fn is_locked(source: &sled::Error) -> bool {
    matches!(source, sled::Error::Io(e) if e.to_string().contains("could not acquire lock"))
}

fn open_error(path: &Path, source: sled::Error) -> StoreError {
    if is_locked(&source) {
        StoreError::InUse {
            path: path.to_path_buf(),
            holder: holder::describe(path),
        }
    } else {
        StoreError::Open {
            path: path.to_path_buf(),
            error: source,
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Everything handed to the writer is applied before anything closes.
        let written = self.writer.as_mut().map(RecordWriter::close);
        self.inlinks.close();
        // No writer: opened read-only, nothing to make durable.
        let Some(written) = written else {
            holder::release(&self.path);
            return;
        };
        // A clean close: everything durable, then the open mark removed. Errors leave
        // the mark, which only costs a check of the queue files at the next open.
        let closed = written
            .and_then(|()| self.flush())
            .and_then(|()| Ok(self.tree.remove(keys::meta_key(OPEN_MARK))?))
            .and_then(|_| Ok(self.db.flush()?));
        drop(closed);
        holder::release(&self.path);
    }
}

fn check_format(
    path: &Path,
    db: &sled::Db,
    tree: &sled::Tree,
    create: bool,
    writable: bool,
) -> Result<(), StoreError> {
    let key = keys::meta_key("format");
    match tree.get(&key)? {
        Some(found) if found.as_ref() == FORMAT_VERSION.to_string().as_bytes() => Ok(()),
        Some(found)
            if READ_AS_CURRENT
                .iter()
                .any(|old| found.as_ref() == old.to_string().as_bytes()) =>
        {
            if writable {
                tree.insert(key, FORMAT_VERSION.to_string().as_bytes())?;
                db.flush()?;
            }
            Ok(())
        }
        Some(found) => Err(StoreError::UnsupportedFormat {
            path: path.to_path_buf(),
            found: String::from_utf8_lossy(&found).into_owned(),
            supported: FORMAT_VERSION,
        }),
        None if create && tree.is_empty() => {
            tree.insert(key, FORMAT_VERSION.to_string().as_bytes())?;
            db.flush()?;
            Ok(())
        }
        None => Err(StoreError::NotAStore {
            path: path.to_path_buf(),
        }),
    }
}

/// Whether `path` can be opened as a store (created, with `create`), before sled
/// tries: every way it cannot is an error naming the path and what is wrong with it.
fn check_path(path: &Path, create: bool) -> Result<(), StoreError> {
    let owned = || path.to_path_buf();
    let unusable = |reason: String| StoreError::Unusable {
        path: owned(),
        reason,
    };
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => Err(StoreError::NotADirectory { path: owned() }),
        Ok(_) => {
            let mut entries = std::fs::read_dir(path)
                .map_err(|e| unusable(format!("the directory cannot be read: {e}")))?;
            let empty = entries.next().is_none();
            if looks_like_store(path) || (empty && create) {
                Ok(())
            } else {
                Err(StoreError::NotAStore { path: owned() })
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if create {
                Ok(())
            } else {
                Err(StoreError::Missing { path: owned() })
            }
        }
        Err(e) => {
            let file = path.ancestors().skip(1).find(|part| part.is_file());
            Err(unusable(match file {
                Some(file) => format!(
                    "{} is a file, so it cannot hold the store directory",
                    file.display()
                ),
                None => format!("cannot be looked at: {e}"),
            }))
        }
    }
}

fn looks_like_store(path: &Path) -> bool {
    path.join("conf").is_file() && path.join("db").is_file()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::{CrawlRun, HttpExchange, PageRecord, QueueEntry, QueueSlot};
    use crate::PageWrite;

    pub(super) fn page(url: &str, status: u16) -> PageRecord {
        PageRecord {
            status: Some(status),
            ..PageRecord::new(url, "a.test", 1)
        }
    }

    pub(super) fn settle(store: &Store, entries: &[&QueueEntry]) {
        let records: Vec<(u128, PageRecord)> =
            entries.iter().map(|e| (0, page(&e.url, 200))).collect();
        let slots: Vec<QueueSlot<'_>> = entries.iter().map(|e| e.slot()).collect();
        store
            .write_page(&PageWrite {
                settled: &records,
                released: &slots,
                ..PageWrite::default()
            })
            .unwrap();
    }

    pub(super) fn urls(entries: Vec<QueueEntry>) -> Vec<String> {
        entries.into_iter().map(|e| e.url).collect()
    }

    #[test]
    fn a_write_is_read_back_the_moment_it_returns_and_counted_in_the_stats() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        for n in 0..50 {
            let url = format!("http://a.test/{n}");
            let record = page(&url, 200);
            store
                .write_page(&PageWrite {
                    page: Some(&record),
                    body: Some(b"<html>"),
                    ..PageWrite::default()
                })
                .unwrap();
            // No flush, no wait: the writer may not have applied it yet.
            assert_eq!(store.page(&url).unwrap(), Some(record));
            assert_eq!(store.body(&url).unwrap().as_deref(), Some(&b"<html>"[..]));
            assert_eq!(store.stats().unwrap().urls, n + 1);
        }
    }

    #[test]
    fn a_failed_round_of_the_writer_fails_every_later_write_and_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        // The seen marks of settled URLs are written by the writer after their
        // records; with the table's directory replaced by a file, that fails.
        std::fs::remove_dir_all(dir.path().join("seen")).ok();
        std::fs::write(dir.path().join("seen"), b"not a directory").unwrap();
        let entry = QueueEntry::seed("http://a.test/x", "http://a.test:80");
        let settled = [(7u128, page(&entry.url, 200))];
        store
            .write_page(&PageWrite {
                settled: &settled,
                ..PageWrite::default()
            })
            .unwrap();
        let flushed = store.flush();
        assert!(
            matches!(flushed, Err(StoreError::WriteFailed { .. })),
            "{flushed:?}"
        );
        let later = store.write_page(&PageWrite {
            settled: &[(8u128, page("http://a.test/y", 200))],
            ..PageWrite::default()
        });
        assert!(
            matches!(later, Err(StoreError::WriteFailed { .. })),
            "{later:?}"
        );
        let message = later.unwrap_err().to_string();
        assert!(message.contains("nothing more is written"), "{message}");
    }

    #[test]
    fn page_write_stores_links_frontier_and_releases_its_own_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let seed = QueueEntry::seed("http://a.test/", "http://a.test:80");
        store.enqueue(&[(1, seed.clone())]).unwrap();
        assert!(store.is_seen(1).unwrap());

        let root = page("http://a.test/", 200);
        let outlinks = vec!["http://a.test/x".to_string()];
        let discovered = vec![(
            2,
            QueueEntry {
                url: "http://a.test/x".into(),
                host: "http://a.test:80".into(),
                depth: 1,
                from: Some("http://a.test/".into()),
                via: Some(crate::Via::Link),
                ..QueueEntry::default()
            },
        )];
        store
            .write_page(&PageWrite {
                page: Some(&root),
                body: Some(b"hello"),
                outlinks: &outlinks,
                discovered: &discovered,
                released: &[seed.slot()],
                ..PageWrite::default()
            })
            .unwrap();

        assert_eq!(store.page("http://a.test/").unwrap(), Some(root));
        assert_eq!(
            store.body("http://a.test/").unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(store.outlinks("http://a.test/").unwrap(), outlinks);
        let queued: Vec<_> = store.queued().map(Result::unwrap).collect();
        assert_eq!(queued, vec![discovered[0].1.clone()]);
        let mut seen = Vec::new();
        store.for_each_seen(|fp| seen.push(fp)).unwrap();
        seen.sort_unstable();
        assert_eq!(seen, vec![1, 2]);
    }

    #[test]
    fn reopening_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            store
                .enqueue(&[(7, QueueEntry::seed("http://a.test/", "http://a.test:80"))])
                .unwrap();
            store.flush().unwrap();
        }
        let store = Store::open(
            dir.path(),
            StoreOptions {
                create: false,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(store.queued().count(), 1);
        assert!(store.is_seen(7).unwrap());
    }

    #[test]
    fn refuses_files_foreign_directories_and_missing_stores() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = Store::open(&file, StoreOptions::default()).err().unwrap();
        assert!(matches!(err, StoreError::NotADirectory { .. }), "{err}");
        // A path through a file names the file, once.
        let err = Store::open(&file.join("sub"), StoreOptions::default())
            .err()
            .unwrap();
        let message = err.to_string();
        assert!(matches!(err, StoreError::Unusable { .. }), "{err}");
        assert!(
            message.contains("file/sub: ") && message.contains("file is a file"),
            "{err}"
        );

        let foreign = dir.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "x").unwrap();
        let err = Store::open(&foreign, StoreOptions::default())
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::NotAStore { .. }), "{err}");
        assert!(err.to_string().contains("foreign"), "{err}");

        let missing = dir.path().join("missing");
        let read_only = StoreOptions {
            create: false,
            ..Default::default()
        };
        let err = Store::open(&missing, read_only).err().unwrap();
        assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    }

    #[test]
    fn a_second_opener_is_refused_at_once_and_told_who_holds_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        // `store` stays open: an opener that waited for it would never return.
        let err = Store::open(dir.path(), StoreOptions::existing())
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::InUse { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("crawl"), "{message}");
        drop(store);
        assert!(!dir.path().join("lock-holder").exists());
        Store::open(dir.path(), StoreOptions::existing()).unwrap();
    }

    #[test]
    fn exchanges_are_stored_with_the_page_and_replaced_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let exchange = HttpExchange {
            request: crate::RequestHead {
                method: "GET".into(),
                target: "/".into(),
                version: "HTTP/1.1".into(),
                headers: vec![("host".into(), "a.test".into())],
            },
            response: crate::ResponseHead {
                version: "HTTP/1.1".into(),
                status: 200,
                reason: "OK".into(),
                headers: vec![
                    ("set-cookie".into(), "a=1".into()),
                    ("set-cookie".into(), "b=2".into()),
                ],
            },
        };
        let root = page("http://a.test/", 200);
        let write = |exchange| {
            store
                .write_page(&PageWrite {
                    page: Some(&root),
                    exchange,
                    ..PageWrite::default()
                })
                .unwrap()
        };
        write(Some(&exchange));
        assert_eq!(
            store.exchange("http://a.test/").unwrap().as_ref(),
            Some(&exchange)
        );
        write(None);
        assert_eq!(store.exchange("http://a.test/").unwrap(), None);
    }

    /// The error of opening (with `options`) a store marked with format `format`.
    fn open_marked_with_format(format: &[u8], options: StoreOptions) -> StoreError {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            store.tree.insert(keys::meta_key("format"), format).unwrap();
            store.flush().unwrap();
        }
        Store::open(dir.path(), options).err().unwrap()
    }

    #[test]
    fn refuses_a_store_of_another_format() {
        let err = open_marked_with_format(b"99", StoreOptions::default());
        assert!(matches!(err, StoreError::UnsupportedFormat { .. }), "{err}");
    }

    #[test]
    fn a_format_7_store_is_refused_naming_both_versions() {
        let err = open_marked_with_format(b"7", StoreOptions::read_only());
        assert!(matches!(err, StoreError::UnsupportedFormat { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("format version 7"), "{message}");
        assert!(
            message.contains(&format!("reads version {FORMAT_VERSION}")),
            "{message}"
        );
    }

    #[test]
    fn a_format_8_store_reads_its_queue_files_and_is_marked_current_when_written() {
        let dir = tempfile::tempdir().unwrap();
        let host = "http://a.test:80";
        let entry = QueueEntry::seed("http://a.test/", host);
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            // Version 8 kept every host in a file of its own.
            store
                .queues
                .promote(host, std::slice::from_ref(&entry))
                .unwrap();
            store
                .tree
                .insert(keys::meta_key("format"), &b"8"[..])
                .unwrap();
            store.flush().unwrap();
        }
        let format = |store: &Store| store.tree.get(keys::meta_key("format")).unwrap();
        let reader = Store::open(dir.path(), StoreOptions::read_only()).unwrap();
        assert_eq!(
            reader.queued().map(Result::unwrap).collect::<Vec<_>>(),
            std::slice::from_ref(&entry)
        );
        assert_eq!(format(&reader).as_deref(), Some(&b"8"[..]));
        drop(reader);
        let writer = Store::open(dir.path(), StoreOptions::existing()).unwrap();
        assert_eq!(writer.queued_for_host(host, 10).unwrap(), [entry]);
        let current = FORMAT_VERSION.to_string();
        assert_eq!(format(&writer).as_deref(), Some(current.as_bytes()));
    }

    #[test]
    fn a_format_11_store_keeps_its_host_counts_read_and_moved_into_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let on = |host: &str, i: u32| PageRecord {
            host: host.into(),
            ..page(&format!("http://{host}/{i}"), 200)
        };
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            for record in [on("a.test", 1), on("a.test", 2), on("b.test", 1)] {
                store
                    .write_page(&PageWrite {
                        page: Some(&record),
                        ..PageWrite::default()
                    })
                    .unwrap();
            }
            store.flush().unwrap();
            // What format 11 kept: a `y` key per host, no buckets.
            let buckets: Vec<_> = store.tree.scan_prefix([keys::HOST_COUNTS]).keys().collect();
            for key in buckets {
                store.tree.remove(key.unwrap()).unwrap();
            }
            for (host, count) in [("a.test", 2u64), ("b.test", 1)] {
                let key = keys::url_key(keys::HOST_COUNT, host);
                store.tree.insert(key, &count.to_be_bytes()).unwrap();
            }
            store.tree.insert(keys::meta_key("format"), "11").unwrap();
            store.flush().unwrap();
        }
        let expected = |a: u64, b: u64| {
            std::collections::BTreeMap::from([("a.test".to_owned(), a), ("b.test".to_owned(), b)])
        };
        let reader = Store::open(dir.path(), StoreOptions::read_only()).unwrap();
        assert_eq!(reader.stats().unwrap().pages_per_host, expected(2, 1));
        drop(reader);
        let store = Store::open(dir.path(), StoreOptions::existing()).unwrap();
        assert_eq!(store.tree.scan_prefix([keys::HOST_COUNT]).count(), 0);
        store
            .write_page(&PageWrite {
                page: Some(&on("b.test", 2)),
                ..PageWrite::default()
            })
            .unwrap();
        store.flush().unwrap();
        assert_eq!(store.stats().unwrap().pages_per_host, expected(2, 2));
        drop(store);
        let report = Store::check(dir.path(), &|_| None).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    /// Rewrites every page value of the store at `dir` as format 9 wrote it (the record
    /// as JSON after the pointers, nothing of it in the body log is read) and marks the
    /// store 9.
    fn rewrite_as_format_9(dir: &Path) {
        use crate::codec::page_value::{self, RecordAt};
        let store = Store::open(dir, StoreOptions::existing()).unwrap();
        let values: Vec<_> = store.tree().scan_prefix([keys::PAGE]).collect();
        for (key, value) in values.into_iter().map(Result::unwrap) {
            let (parts, at) = page_value::decode(&key, &value).unwrap();
            let record = page_value::read_record(&key, at, &store.bodies).unwrap();
            let json = crate::codec::json::to_json(&record);
            let old = page_value::encode(&parts, RecordAt::Inline(&json));
            store.tree.insert(key, old).unwrap();
        }
        store.tree.insert(keys::meta_key("format"), "9").unwrap();
        store.flush().unwrap();
    }

    #[test]
    fn a_format_9_store_with_records_in_sled_reads_and_takes_new_writes() {
        let dir = tempfile::tempdir().unwrap();
        let root = PageRecord {
            outlinks: 1,
            ..page("http://a.test/", 200)
        };
        let refused = PageRecord {
            error: Some("robots".into()),
            ..page("http://b.test/x", 0)
        };
        let links = ["http://a.test/next".to_owned()];
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            store
                .write_page(&PageWrite {
                    page: Some(&root),
                    body: Some(b"<html>root"),
                    outlinks: &links,
                    settled: &[(3, refused.clone())],
                    ..PageWrite::default()
                })
                .unwrap();
        }
        rewrite_as_format_9(dir.path());

        let reader = Store::open(dir.path(), StoreOptions::read_only()).unwrap();
        assert_eq!(reader.page(&root.url).unwrap().as_ref(), Some(&root));
        assert_eq!(reader.page(&refused.url).unwrap().as_ref(), Some(&refused));
        assert_eq!(reader.body(&root.url).unwrap().unwrap(), b"<html>root");
        assert_eq!(reader.outlinks(&root.url).unwrap(), links);
        let all: Vec<PageRecord> = reader.pages().map(Result::unwrap).collect();
        assert_eq!(all, [root.clone(), refused.clone()]);
        let filter = crate::PageFilter {
            host: Some("a.test".into()),
            ..Default::default()
        };
        let (found, content) = reader
            .query(&filter)
            .with_content(true)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!((found, content.outlinks), (root.clone(), links.to_vec()));
        drop(reader);
        let report = Store::check(dir.path(), &|_| None).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.pages, 2);

        // Written again: marked 10, the old record counted out, both kinds read.
        let store = Store::open(dir.path(), StoreOptions::existing()).unwrap();
        let format = store.tree.get(keys::meta_key("format")).unwrap();
        assert_eq!(
            format.as_deref(),
            Some(FORMAT_VERSION.to_string().as_bytes())
        );
        let moved = page(&root.url, 301);
        store
            .write_page(&PageWrite {
                page: Some(&moved),
                ..PageWrite::default()
            })
            .unwrap();
        assert_eq!(store.page(&root.url).unwrap(), Some(moved));
        assert_eq!(store.page(&refused.url).unwrap(), Some(refused));
        let stats = store.stats().unwrap();
        assert_eq!(stats.urls, 2);
        assert_eq!(stats.by_status.get(&200), None, "{stats:?}");
        assert_eq!(stats.by_status.get(&301), Some(&1), "{stats:?}");
    }

    /// Pages over three hosts from `writers` threads, a third of them written twice
    /// (a failure, then the retry's response), with settled URLs among them.
    fn write_from_threads(store: &Store, writers: usize) {
        std::thread::scope(|scope| {
            for writer in 0..writers {
                scope.spawn(move || {
                    for n in 0..60 {
                        let host = ["a.test", "b.test", "c.test"][n % 3];
                        let url = format!("http://{host}/{writer}/{n}");
                        let mut record = PageRecord {
                            status: Some([200, 404, 500][n % 3]),
                            bytes: n as u64,
                            fetched_at_ms: 1_000 + n as u64,
                            ..PageRecord::new(&url, host, 1)
                        };
                        if n % 3 == 0 {
                            let failed = PageRecord {
                                status: None,
                                error: Some("timeout".into()),
                                ..record.clone()
                            };
                            let write = PageWrite {
                                page: Some(&failed),
                                ..PageWrite::default()
                            };
                            store.write_page(&write).unwrap();
                        }
                        let settled = [(
                            0,
                            PageRecord {
                                status: None,
                                error: Some("trap-suspected".into()),
                                attempts: 0,
                                ..PageRecord::new(&format!("{url}/trap"), host, 2)
                            },
                        )];
                        record.attempts = 1;
                        store
                            .write_page(&PageWrite {
                                page: Some(&record),
                                settled: if n % 5 == 0 { &settled } else { &[] },
                                ..PageWrite::default()
                            })
                            .unwrap();
                    }
                });
            }
        });
    }

    #[test]
    fn stats_kept_while_writing_equal_a_count_of_every_record() {
        for durable_writes in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let options = StoreOptions {
                durable_writes,
                ..StoreOptions::default()
            };
            {
                let store = Store::open(dir.path(), options.clone()).unwrap();
                write_from_threads(&store, 4);
                let kept = store.stats().unwrap();
                let counted = store.stats_for(&crate::PageFilter::default()).unwrap();
                assert_eq!(kept.urls, 4 * (60 + 12));
                assert_eq!(kept.errors.get("timeout"), None, "retried pages replace it");
                assert_eq!(kept.pages_per_host["a.test"], 4 * (20 + 4));
                assert_eq!(
                    (kept.by_status_class["2xx"], kept.errors["trap-suspected"]),
                    (80, 48)
                );
                assert_eq!(
                    crate::StoreStats {
                        queued: 0,
                        runs: 0,
                        elapsed_ms: 0,
                        ..kept
                    },
                    counted
                );
            }
            // A second process (a second run) goes on from the stored totals.
            let store = Store::open(dir.path(), options).unwrap();
            let before = store.stats().unwrap();
            let more = page("http://d.test/", 301);
            store
                .write_page(&PageWrite {
                    page: Some(&more),
                    ..PageWrite::default()
                })
                .unwrap();
            let after = store.stats().unwrap();
            assert_eq!(after.urls, before.urls + 1);
            assert_eq!(after.by_status[&301], 1);
            assert_eq!(
                after.pages_per_host["a.test"],
                before.pages_per_host["a.test"] + 1
            );
        }
    }

    #[test]
    fn a_read_only_store_refuses_writes_and_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            let written = page("http://a.test/", 200);
            store
                .write_page(&PageWrite {
                    page: Some(&written),
                    ..PageWrite::default()
                })
                .unwrap();
        }
        let reader = Store::open(dir.path(), StoreOptions::read_only()).unwrap();
        assert!(!reader.tree.contains_key(keys::meta_key(OPEN_MARK)).unwrap());
        assert_eq!(reader.stats().unwrap().urls, 1);
        let refused = reader.write_page(&PageWrite {
            page: Some(&page("http://a.test/b", 200)),
            ..PageWrite::default()
        });
        assert!(
            matches!(refused, Err(StoreError::ReadOnly { .. })),
            "{refused:?}"
        );
        assert!(matches!(
            reader.start_run(&CrawlRun::default()),
            Err(StoreError::ReadOnly { .. })
        ));
        drop(reader);
        assert!(
            Store::open(dir.path(), StoreOptions::read_only()).is_ok(),
            "a missing store is not created, an existing one opens again"
        );
        let missing = dir.path().join("missing");
        assert!(matches!(
            Store::open(&missing, StoreOptions::read_only()),
            Err(StoreError::Missing { .. })
        ));
    }

    #[test]
    fn settled_urls_are_recorded_and_seen_without_a_body() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let refused = PageRecord {
            error: Some("too-many-redirects".into()),
            ..PageRecord::new("http://a.test/r", "a.test", 0)
        };
        store
            .write_page(&PageWrite {
                settled: &[(9, refused.clone())],
                ..PageWrite::default()
            })
            .unwrap();
        assert_eq!(store.page("http://a.test/r").unwrap(), Some(refused));
        assert!(store.is_seen(9).unwrap());
        assert_eq!(store.body("http://a.test/r").unwrap(), None);
    }
}
