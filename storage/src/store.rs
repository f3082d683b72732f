use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::body;
use crate::body_log::{BodyLog, BodyPointer};
use crate::holder;
use crate::inlinks::{self, InlinkIndex};
use crate::keys::{self, url_key};
use crate::page_index::{self, PageIndex};
use crate::page_value::{self, Parts};
use crate::queue_files::{self, QueueFiles, QueueReader};
use crate::record::{CrawlRun, HttpExchange, PageRecord, QueueEntry, QueueSlot};
use crate::record_writer::{RecordWriter, Submission};
use crate::seen_table::SeenTable;
use crate::totals::{self, RunningTotals};
use crate::write_log::WriteLog;
use crate::StoreError;

/// The on-disk format this build writes and reads. Stored under `m` + `format`.
/// Version 2 added the secondary indexes and the HTTP exchanges; version 3 keys the
/// frontier by host and depth; version 4 moves the frontier to per-host queue files and
/// the seen-set to an on-disk hash table, beside sled; version 5 keeps running totals
/// (`z`, `y` + host) and one key per page (`p`: its parts are in the body
/// log, see `page_value`).
pub const FORMAT_VERSION: u32 = 6;

/// How to open a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// sled's page cache, in MiB.
    pub cache_mb: u64,
    /// Create the store when the directory is absent or empty. Readers set this to false.
    pub create: bool,
    /// Make every [`Store::write_page`] survive a kill once it returns: its sled
    /// changes are appended to the store's write log before they are handed to the
    /// writer, which flushes sled after every round (`record_writer`, `write_log`);
    /// the next open replays what was not flushed. Off, sled flushes by itself every
    /// half second, and a kill loses what it had not.
    pub durable_writes: bool,
    /// Open for reading only: this process writes nothing to the store (no open mark,
    /// no flush or sync at close), and every write fails with
    /// [`StoreError::ReadOnly`]. What the query commands use: a store that was killed
    /// mid-crawl is read as it is (its write log is not replayed), and left for the
    /// next crawl to repair.
    pub read_only: bool,
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
        }
    }
}

/// Everything that changes when one fetch completes, written atomically.
#[derive(Default)]
pub struct PageWrite<'a> {
    /// The record of the fetched URL.
    pub page: Option<&'a PageRecord>,
    /// The body to keep, if any.
    pub body: Option<&'a [u8]>,
    /// The page's outlinks (canonical URLs, deduplicated). Each becomes an inlink of
    /// its target.
    pub outlinks: &'a [String],
    /// The HTTP request and response head, when a response was received.
    pub exchange: Option<&'a HttpExchange>,
    /// New frontier entries, each with the fingerprint that marks it seen.
    pub discovered: &'a [(u128, QueueEntry)],
    /// URLs settled without a fetch (refused, too many redirects, ...), marked seen too.
    pub settled: &'a [(u128, PageRecord)],
    /// Frontier entries this write settles: the page's own and those of settled URLs
    /// that were queued. The record written here for each of them is what settles it
    /// (releases its lease): a queued URL with a page record is never handed out again.
    /// Each must therefore be `page` or among `settled` (checked in debug builds).
    pub released: &'a [QueueSlot<'a>],
}

/// A crawl store. Cheap to share between threads (`&Store` is enough to write).
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    tree: sled::Tree,
    bodies: BodyLog,
    inlinks: InlinkIndex,
    page_index: Arc<PageIndex>,
    queues: QueueFiles,
    seen: Arc<SeenTable>,
    /// Applies the sled changes of every write, many at a time; `None` when read-only.
    writer: Option<RecordWriter>,
    /// The frontier cursors this process moved, which the writer may not have applied
    /// yet (only this process writes them, so this is never stale).
    cursors: Mutex<HashMap<String, u64>>,
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
        let owned = || path.to_path_buf();
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_dir() => return Err(StoreError::NotADirectory { path: owned() }),
            Ok(_) if !looks_like_store(path) && !is_empty_dir(path) => {
                return Err(StoreError::NotAStore { path: owned() })
            }
            Ok(_) if !options.create && !looks_like_store(path) => {
                return Err(StoreError::NotAStore { path: owned() })
            }
            Err(_) if !options.create => return Err(StoreError::Missing { path: owned() }),
            _ => {}
        }
        let db = open_sled(path, options.cache_mb)?;
        let tree = db
            .open_tree("crawl")
            .map_err(|source| open_error(path, source))?;
        check_format(path, &db, &tree, options.create && !options.read_only)?;
        let inlinks = InlinkIndex::open(&path.join("inlinks"), &tree, fold_at)?;
        let page_index = Arc::new(PageIndex::open(
            &path.join("index"),
            &tree,
            options.read_only,
            fold_at.min(page_index::FOLD_AT),
        )?);
        let seen = Arc::new(SeenTable::open(&path.join("seen"))?);
        let writer = if options.read_only {
            None
        } else {
            let totals = RunningTotals::starting_from(
                totals::Totals::read(&tree)?.unwrap_or_default(),
                totals::read_host_counts(&tree)?,
            );
            let (log, logged) = WriteLog::open(path)?;
            let writer = RecordWriter::start(
                db.clone(),
                tree.clone(),
                Arc::clone(&seen),
                Arc::clone(&page_index),
                totals,
                options.durable_writes,
                Some(log),
            )?;
            // What a killed process had handed over and not flushed, before anything else.
            writer.replay(logged)?;
            Some(writer)
        };
        let store = Store {
            path: owned(),
            db,
            tree,
            bodies: BodyLog::open(&path.join("bodies")),
            inlinks,
            page_index,
            queues: QueueFiles::open(&path.join("frontier")),
            seen,
            writer,
            cursors: Mutex::default(),
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
        let key = keys::meta_key(OPEN_MARK);
        if self.tree.contains_key(&key)? {
            self.queues.repair(|host| self.cursor(host))?;
        } else {
            self.tree.insert(key, &[][..])?;
            self.db.flush()?;
        }
        Ok(())
    }

    /// The directory of this store.
    pub fn path(&self) -> &Path {
        &self.path
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

    /// The page indexes; read after [`Store::tree`], which waits for the writer.
    pub(crate) fn page_index(&self) -> &PageIndex {
        &self.page_index
    }

    fn writer(&self) -> Result<&RecordWriter, StoreError> {
        self.writer.as_ref().ok_or_else(|| StoreError::ReadOnly {
            path: self.path.clone(),
        })
    }

    /// Stores one completed fetch: page, body, outlinks, HTTP exchange, the frontier
    /// entries and seen marks its outlinks create, and the removal of its own frontier
    /// entry, all in one atomic batch, and then the index entries the page implies.
    ///
    /// The files beside sled are written first; the sled changes (the records, the
    /// totals) go to the store's writer, which applies many writes in one batch within
    /// milliseconds and then appends their index entries to the page index
    /// (`record_writer`, `page_index`); with `durable_writes` they are in its write log
    /// first. From the moment this returns the records count for
    /// the crawl (a written URL's frontier entry is settled) and every read of the
    /// store sees them.
    ///
    /// A URL written again replaces its record; the index entries of the old record
    /// stay, and queries skip them ([`Store::query`]). Its outlinks are recorded in the inlink index
    /// (`inlinks`) before the batch, like its body; the old ones need no removal,
    /// since [`Store::inlinks`] checks every candidate against the stored outlinks.
    ///
    /// Fails when an earlier write failed in the writer: nothing is stored after a
    /// lost write.
    pub fn write_page(&self, write: &PageWrite<'_>) -> Result<(), StoreError> {
        let writer = self.writer()?;
        let mut submission = Submission::default();
        if let Some(page) = write.page {
            if !write.outlinks.is_empty() {
                self.inlinks.append(&page.url, write.outlinks)?;
            }
            // The parts go to the body log, in one write, before the batch that points
            // to them.
            let encoded = [
                write.body.map(body::encode),
                (!write.outlinks.is_empty())
                    .then(|| body::encode(write.outlinks.join("\n").as_bytes())),
                write
                    .exchange
                    .map(|exchange| body::encode(&to_json(exchange))),
            ];
            let pointers = self.bodies.append_all(
                encoded
                    .each_ref()
                    .map(|part| part.as_deref().unwrap_or_default()),
            )?;
            let [body, outlinks, exchange] =
                [0, 1, 2].map(|i| encoded[i].is_some().then_some(pointers[i]));
            let parts = Parts {
                body,
                outlinks,
                exchange,
            };
            let key = url_key(keys::PAGE, &page.url);
            submission
                .changes
                .insert(key.clone(), page_value::encode(page, &parts));
            submission.records.push((key, page.clone()));
        }
        for (fingerprint, record) in write.settled {
            let key = url_key(keys::PAGE, &record.url);
            submission
                .changes
                .insert(key.clone(), page_value::encode(record, &Parts::default()));
            submission.records.push((key, record.clone()));
            // Marked after their records (by the writer): a crash in between leaves a
            // record of a URL not marked seen, which is recorded again if found again.
            submission.marks.push(*fingerprint);
        }
        debug_assert!(
            write.released.iter().all(|slot| {
                write.page.is_some_and(|p| p.url == slot.url)
                    || write.settled.iter().any(|(_, r)| r.url == slot.url)
            }),
            "a released frontier entry needs its record in the same write"
        );
        // The new entries go to disk first, then their seen marks, then the batch: a
        // URL marked seen is queued, and a stored page's discoveries are queued.
        self.queues
            .append(write.discovered.iter().map(|(_, entry)| entry))?;
        for (fingerprint, _) in write.discovered {
            self.seen.insert(*fingerprint)?;
        }
        if submission.is_empty() {
            return Ok(());
        }
        writer.submit(submission)
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        self.writer().map(|_| ())
    }

    /// Adds frontier entries (seeds) and marks them seen, atomically.
    pub fn enqueue(&self, entries: &[(u128, QueueEntry)]) -> Result<(), StoreError> {
        self.write_page(&PageWrite {
            discovered: entries,
            ..PageWrite::default()
        })
    }

    /// Whether a URL with this fingerprint was ever queued or settled (one lookup in
    /// the on-disk table: a few `pread`s).
    pub fn is_seen(&self, fingerprint: u128) -> Result<bool, StoreError> {
        // Pending first: the writer writes a mark before it stops being pending.
        if let Some(writer) = &self.writer {
            if writer.has_pending_mark(fingerprint) {
                return Ok(true);
            }
        }
        self.seen.contains(fingerprint)
    }

    /// How many fingerprints the seen-set holds.
    pub fn seen_count(&self) -> Result<u64, StoreError> {
        self.seen.count()
    }

    /// Calls `each` with every seen fingerprint (a sequential read of the table), for
    /// rebuilding the in-memory filter on resume. The fingerprint 0 comes back as 1.
    pub fn for_each_seen(&self, each: impl FnMut(u128)) -> Result<(), StoreError> {
        self.seen.for_each(each)
    }

    /// Whether `url` has a page record: it was fetched or settled, so a frontier entry
    /// of it is no longer queued.
    fn is_recorded(&self, url: &str) -> Result<bool, StoreError> {
        let key = url_key(keys::PAGE, url);
        // Pending first: the writer applies a record before it stops being pending.
        if let Some(writer) = &self.writer {
            if writer.has_pending_record(&key) {
                return Ok(true);
            }
        }
        Ok(self.tree.contains_key(key)?)
    }

    /// Where `host`'s queue file is known settled up to (0: nowhere yet).
    fn cursor(&self, host: &str) -> Result<u64, StoreError> {
        if let Some(&moved) = self.moved_cursors().get(host) {
            return Ok(moved);
        }
        let key = url_key(keys::CURSOR, host);
        let Some(value) = self.tree.get(&key)? else {
            return Ok(0);
        };
        from_be_u64(&key, &value, "a frontier cursor")
    }

    fn moved_cursors(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        // A map of numbers, valid after a panic elsewhere.
        self.cursors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn reader_at_cursor(&self, host: &str) -> Result<QueueReader, StoreError> {
        self.queues.reader(host, self.cursor(host)?)
    }

    /// The record of one URL (exact canonical spelling).
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>, StoreError> {
        Ok(self.page_and_parts(url)?.map(|(page, _)| page))
    }

    /// The record of one URL and where its parts are.
    pub(crate) fn page_and_parts(
        &self,
        url: &str,
    ) -> Result<Option<(PageRecord, Parts)>, StoreError> {
        let key = url_key(keys::PAGE, url);
        self.tree()
            .get(&key)?
            .map(|value| page_value::record_and_parts(&key, &value))
            .transpose()
    }

    /// Where the parts of one URL's page are (nothing when it has no record), without
    /// decoding the record.
    fn parts(&self, url: &str) -> Result<Parts, StoreError> {
        let key = url_key(keys::PAGE, url);
        match self.tree().get(&key)? {
            Some(value) => Ok(page_value::parts(&key, &value)?.0),
            None => Ok(Parts::default()),
        }
    }

    /// One part of a page, read from the body log and decoded.
    pub(crate) fn part(
        &self,
        url: &str,
        part: Option<BodyPointer>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        part.map(|pointer| body::decode(url, &self.bodies.read(pointer)?))
            .transpose()
    }

    /// The stored body of one URL.
    pub fn body(&self, url: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.part(url, self.parts(url)?.body)
    }

    /// The HTTP request and response head stored for one URL.
    pub fn exchange(&self, url: &str) -> Result<Option<HttpExchange>, StoreError> {
        self.exchange_at(url, self.parts(url)?.exchange)
    }

    pub(crate) fn exchange_at(
        &self,
        url: &str,
        part: Option<BodyPointer>,
    ) -> Result<Option<HttpExchange>, StoreError> {
        let Some(json) = self.part(url, part)? else {
            return Ok(None);
        };
        from_json(url_key(keys::PAGE, url).as_slice(), &json).map(Some)
    }

    /// The outlinks of one URL (empty when it has none or is unknown).
    pub fn outlinks(&self, url: &str) -> Result<Vec<String>, StoreError> {
        self.outlinks_at(url, self.parts(url)?.outlinks)
    }

    pub(crate) fn outlinks_at(
        &self,
        url: &str,
        part: Option<BodyPointer>,
    ) -> Result<Vec<String>, StoreError> {
        let Some(text) = self.part(url, part)? else {
            return Ok(Vec::new());
        };
        let text = String::from_utf8(text).map_err(|e| StoreError::Corrupt {
            key: url.to_owned(),
            reason: format!("outlinks are not UTF-8: {e}"),
        })?;
        Ok(text.split('\n').map(str::to_owned).collect())
    }

    /// Whether the stored outlinks of `source` contain `target`: the check that turns
    /// an inlink candidate into an inlink.
    pub(crate) fn links_to(&self, source: &str, target: &str) -> Result<bool, StoreError> {
        let Some(text) = self.part(source, self.parts(source)?.outlinks)? else {
            return Ok(false);
        };
        Ok(text
            .split(|b| *b == b'\n')
            .any(|line| line == target.as_bytes()))
    }

    pub(crate) fn inlink_index(&self) -> &InlinkIndex {
        &self.inlinks
    }

    #[cfg(test)]
    pub(crate) fn inlink_index_mut(&mut self) -> &mut InlinkIndex {
        &mut self.inlinks
    }

    /// Every page record, in URL order.
    pub fn pages(&self) -> impl Iterator<Item = Result<PageRecord, StoreError>> + '_ {
        self.query(&crate::PageFilter::default())
    }

    /// The number of frontier entries (reads every queue file past its cursor).
    pub fn queued_count(&self) -> Result<u64, StoreError> {
        self.queued()
            .try_fold(0, |count, entry| entry.map(|_| count + 1))
    }

    /// Every frontier entry (URLs discovered and not yet settled), host by host, in
    /// the order they were discovered.
    pub fn queued(&self) -> impl Iterator<Item = Result<QueueEntry, StoreError>> + '_ {
        let (mut hosts, mut failed) = match self.queues.hosts() {
            Ok(hosts) => (hosts.into_iter(), None),
            Err(error) => (Vec::new().into_iter(), Some(error)),
        };
        let mut reader: Option<QueueReader> = None;
        std::iter::from_fn(move || {
            if let Some(error) = failed.take() {
                return Some(Err(error));
            }
            loop {
                let current = match reader.as_mut() {
                    Some(current) => current,
                    None => match self.reader_at_cursor(&hosts.next()?) {
                        Ok(opened) => reader.insert(opened),
                        Err(error) => return Some(Err(error)),
                    },
                };
                let entry = match current.next_entry() {
                    Ok(Some(entry)) => entry,
                    Ok(None) => {
                        reader = None;
                        continue;
                    }
                    Err(error) => {
                        reader = None;
                        return Some(Err(error));
                    }
                };
                match self.is_recorded(&entry.url) {
                    Ok(true) => continue,
                    Ok(false) => return Some(Ok(entry)),
                    Err(error) => return Some(Err(error)),
                }
            }
        })
    }

    /// The hosts (politeness keys) whose queue files hold entries past their cursor
    /// (some of them may be settled).
    pub fn queued_hosts(&self) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        let (hosts, failed) = match self.queues.hosts() {
            Ok(hosts) => (hosts, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let pending = hosts.into_iter().filter_map(|host| {
            let past_cursor = self.cursor(&host).map(|cursor| {
                let len = std::fs::metadata(self.queues.path(&host)).map_or(0, |m| m.len());
                len > cursor
            });
            match past_cursor {
                Ok(true) => Some(Ok(host)),
                Ok(false) => None,
                Err(error) => Some(Err(error)),
            }
        });
        failed.map(Err).into_iter().chain(pending)
    }

    /// The first `limit` frontier entries of `host` not settled yet, in the order they
    /// were discovered, without duplicates.
    ///
    /// The host's cursor moves past the settled entries at the front of its file. Call
    /// it only when every entry it returned before is settled or still held by the
    /// caller; anything else it returned before and not settled comes back again.
    pub fn queued_for_host(&self, host: &str, limit: usize) -> Result<Vec<QueueEntry>, StoreError> {
        let mut reader = self.reader_at_cursor(host)?;
        let start = reader.offset;
        let (entries, cursor) = queue_files::load(&mut reader, limit, |url| self.is_recorded(url))?;
        if cursor != start {
            // Through the writer, after the records that settle what it passes: a
            // cursor on disk never passes a record that is not.
            let mut submission = Submission::default();
            submission
                .changes
                .insert(url_key(keys::CURSOR, host), &cursor.to_be_bytes()[..]);
            self.writer()?.submit(submission)?;
            self.moved_cursors().insert(host.to_owned(), cursor);
        }
        Ok(entries)
    }

    /// Empties the frontier's files, for a crawl that ran its frontier dry: nothing in
    /// them is queued any more, so they only cost disk, and readers
    /// ([`Store::queued_count`], `stats`) would check every entry of a host whose queue
    /// never outgrew memory (its cursor never moves: it is never refilled from its file).
    ///
    /// The cursors go first, durably, then the files: a crash in between leaves files
    /// whose entries are all settled, read from the start and skipped, and removed by
    /// the next crawl that drains. Call it only when no URL is queued or being fetched
    /// and nothing is being written.
    pub fn clear_frontier(&self) -> Result<(), StoreError> {
        self.writer()?.wait_idle()?;
        let mut batch = sled::Batch::default();
        for key in self.tree.scan_prefix([keys::CURSOR]).keys() {
            batch.remove(key?);
        }
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        self.moved_cursors().clear();
        self.queues.remove_all()
    }

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

    /// Writes everything to disk: bodies and the inlink log first (the inlinks
    /// collected in memory folded into a run), then the records pointing to them.
    /// sled also flushes by itself every half second.
    pub fn flush(&self) -> Result<(), StoreError> {
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
const OPEN_MARK: &str = "open";

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    key: &[u8],
    value: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt {
        key: keys::url_of(key),
        reason: e.to_string(),
    })
}

/// A stored big-endian u64 (`what` names it in the error when it is not 8 bytes).
pub(crate) fn from_be_u64(key: &[u8], value: &[u8], what: &str) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = value.try_into().map_err(|_| StoreError::Corrupt {
        key: keys::url_of(key),
        reason: format!("{what} is not 8 bytes"),
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// Opens sled, waiting a moment when the lock is held with no other process named as
/// the holder: a store this process just dropped lets go of the lock only when sled's
/// background threads notice, a few milliseconds later.
fn open_sled(path: &Path, cache_mb: u64) -> Result<sled::Db, StoreError> {
    const ATTEMPTS: u32 = 40;
    let mut attempt = 0;
    loop {
        let opened = sled::Config::new()
            .path(path)
            .cache_capacity(cache_mb.saturating_mul(1024 * 1024))
            .open();
        match opened {
            Err(source)
                if is_locked(&source) && attempt < ATTEMPTS && !holder::held_by_another(path) =>
            {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            other => return other.map_err(|source| open_error(path, source)),
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
            source,
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
) -> Result<(), StoreError> {
    let key = keys::meta_key("format");
    match tree.get(&key)? {
        Some(found) if found.as_ref() == FORMAT_VERSION.to_string().as_bytes() => Ok(()),
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

fn looks_like_store(path: &Path) -> bool {
    path.join("conf").is_file() && path.join("db").is_file()
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, status: u16) -> PageRecord {
        PageRecord {
            status: Some(status),
            ..PageRecord::new(url, "a.test", 1)
        }
    }

    fn settle(store: &Store, entries: &[&QueueEntry]) {
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

    fn urls(entries: Vec<QueueEntry>) -> Vec<String> {
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
    fn the_frontier_reads_back_per_host_in_discovery_order_without_settled_urls() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let entry = |host: &str, depth: u32, url: &str| QueueEntry {
            depth,
            ..QueueEntry::seed(url, host)
        };
        let entries = [
            entry("http://b.test:80", 0, "http://b.test/"),
            entry("http://a.test:80", 2, "http://a.test/deep"),
            entry("http://a.test:80", 1, "http://a.test/z"),
            entry("http://a.test:80", 1, "http://a.test/y"),
            entry("http://a.test:8080", 0, "http://a.test:8080/"),
        ];
        let with_fps: Vec<_> = entries
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, e)| (i as u128, e))
            .collect();
        store.enqueue(&with_fps).unwrap();
        let mut hosts: Vec<String> = store.queued_hosts().map(Result::unwrap).collect();
        hosts.sort();
        assert_eq!(
            hosts,
            ["http://a.test:80", "http://a.test:8080", "http://b.test:80"]
        );
        assert_eq!(
            urls(store.queued_for_host("http://a.test:80", 10).unwrap()),
            ["http://a.test/deep", "http://a.test/z", "http://a.test/y"]
        );
        assert_eq!(
            store.queued_for_host("http://a.test:80", 1).unwrap(),
            [entries[1].clone()]
        );
        settle(&store, &[&entries[2], &entries[3]]);
        assert_eq!(
            urls(store.queued_for_host("http://a.test:80", 10).unwrap()),
            ["http://a.test/deep"]
        );
        assert_eq!(store.queued_count().unwrap(), 3);
        settle(&store, &[&entries[1], &entries[0], &entries[4]]);
        assert_eq!(store.queued_count().unwrap(), 0);
        assert!(store
            .queued_for_host("http://a.test:80", 10)
            .unwrap()
            .is_empty());
        assert_eq!(
            store.queued_hosts().count(),
            2,
            "their cursors did not move"
        );
    }

    #[test]
    fn a_reload_after_a_crash_hands_out_what_was_not_settled_and_skips_what_was() {
        let dir = tempfile::tempdir().unwrap();
        let host = "http://a.test:80";
        let entries: Vec<QueueEntry> = (0..10)
            .map(|i| QueueEntry::seed(&format!("http://a.test/{i}"), host))
            .collect();
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            let with_fps: Vec<_> = entries.iter().map(|e| (1, e.clone())).collect();
            store.enqueue(&with_fps).unwrap();
            // The frontier took four; 0, 1 and 3 were fetched when the crawl died.
            assert_eq!(store.queued_for_host(host, 4).unwrap(), entries[..4]);
            settle(&store, &[&entries[0], &entries[1], &entries[3]]);
        }
        let store = Store::open(dir.path(), StoreOptions::existing()).unwrap();
        let again = urls(store.queued_for_host(host, 3).unwrap());
        assert_eq!(
            again,
            ["http://a.test/2", "http://a.test/4", "http://a.test/5"]
        );
        // Everything handed out is settled now: the cursor moves past it at the next read.
        settle(&store, &[&entries[2], &entries[4], &entries[5]]);
        let rest = urls(store.queued_for_host(host, 10).unwrap());
        assert_eq!(
            rest,
            [
                "http://a.test/6",
                "http://a.test/7",
                "http://a.test/8",
                "http://a.test/9"
            ]
        );
        let cursor = store.cursor(host).unwrap();
        assert!(cursor > 0);
        assert_eq!(
            store.reader_at_cursor(host).unwrap().next_entry().unwrap(),
            Some(entries[6].clone())
        );
    }

    #[test]
    fn a_torn_queue_file_of_a_killed_process_is_repaired_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let host = "http://a.test:80";
        let first = QueueEntry::seed("http://a.test/1", host);
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            store.enqueue(&[(1, first.clone())]).unwrap();
        }
        // What a kill mid-append leaves: the open mark, and half a frame at the end.
        {
            let db = sled::open(dir.path()).unwrap();
            let tree = db.open_tree("crawl").unwrap();
            tree.insert(keys::meta_key(OPEN_MARK), &[][..]).unwrap();
            db.flush().unwrap();
        }
        let path = dir.path().join("frontier").join(
            QueueFiles::open(&dir.path().join("frontier"))
                .path(host)
                .file_name()
                .unwrap(),
        );
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut file, &[40, 0, 0, 0, 1, 2, 3, 4, b'h']).unwrap();

        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let second = QueueEntry::seed("http://a.test/2", host);
        store.enqueue(&[(2, second.clone())]).unwrap();
        assert_eq!(store.queued_for_host(host, 10).unwrap(), [first, second]);
        assert!(store.is_seen(1).unwrap() && store.is_seen(2).unwrap());
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
                hops: 0,
                kind: None,
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

    #[test]
    fn refuses_a_store_of_another_format() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            store
                .tree
                .insert(keys::meta_key("format"), &b"99"[..])
                .unwrap();
            store.flush().unwrap();
        }
        let err = Store::open(dir.path(), StoreOptions::default())
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::UnsupportedFormat { .. }), "{err}");
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
    fn clearing_a_drained_frontier_deletes_its_files_and_later_entries_queue_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let entries: Vec<QueueEntry> = (0..5)
            .map(|n| QueueEntry::seed(&format!("http://a.test/{n}"), "http://a.test:80"))
            .collect();
        let with_fps: Vec<_> = entries.iter().cloned().map(|e| (0, e)).collect();
        store.enqueue(&with_fps).unwrap();
        settle(&store, &entries.iter().collect::<Vec<_>>());
        store.clear_frontier().unwrap();
        let files = std::fs::read_dir(dir.path().join("frontier"))
            .unwrap()
            .count();
        assert_eq!((files, store.queued_hosts().count()), (0, 0));
        assert_eq!(store.cursor("http://a.test:80").unwrap(), 0);

        let later = QueueEntry::seed("http://a.test/later", "http://a.test:80");
        store.enqueue(&[(9, later.clone())]).unwrap();
        assert_eq!(
            store.queued_for_host("http://a.test:80", 10).unwrap(),
            [later]
        );
        assert_eq!(store.queued_count().unwrap(), 1);
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
