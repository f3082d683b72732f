use std::path::{Path, PathBuf};

use crate::body;
use crate::body_log::{BodyLog, BodyPointer};
use crate::group_commit::GroupCommit;
use crate::holder;
use crate::index;
use crate::inlinks::{self, InlinkIndex};
use crate::keys::{self, url_key};
use crate::record::{CrawlRun, HttpExchange, PageRecord, QueueEntry, QueueSlot};
use crate::StoreError;

/// The on-disk format this build writes and reads. Stored under `m` + `format`.
/// Version 2 added the secondary indexes and the HTTP exchanges; version 3 keys the
/// frontier by host and depth.
pub const FORMAT_VERSION: u32 = 3;

/// How to open a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// sled's page cache, in MiB.
    pub cache_mb: u64,
    /// Create the store when the directory is absent or empty. Readers set this to false.
    pub create: bool,
    /// Make every [`Store::write_page`] durable before it returns, so that a killed
    /// process never loses a page it was told was stored (writers running concurrently
    /// share each flush). Off, sled flushes by itself every half second.
    pub durable_writes: bool,
}

impl StoreOptions {
    /// Options for reading a store that must already exist.
    pub fn existing() -> StoreOptions {
        StoreOptions {
            create: false,
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
    /// Frontier entries to remove: those of the page and of settled URLs that were
    /// queued. Removing them in the page's batch is what releases a URL's lease.
    pub released: &'a [QueueSlot<'a>],
}

/// A crawl store. Cheap to share between threads (`&Store` is enough to write).
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    tree: sled::Tree,
    bodies: BodyLog,
    inlinks: InlinkIndex,
    durable_writes: bool,
    /// Durable writes go through it, so that one flush covers every writer waiting.
    group_commit: GroupCommit,
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
        check_format(path, &db, &tree, options.create)?;
        let inlinks = InlinkIndex::open(&path.join("inlinks"), &tree, fold_at)?;
        let store = Store {
            path: owned(),
            db,
            tree,
            bodies: BodyLog::open(&path.join("bodies")),
            inlinks,
            durable_writes: options.durable_writes,
            group_commit: GroupCommit::default(),
        };
        holder::claim(path);
        Ok(store)
    }

    /// The directory of this store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// Stores one completed fetch: page, body, outlinks, HTTP exchange, the index
    /// entries they imply, the frontier entries and seen marks its outlinks create,
    /// and the removal of its own frontier entry, all in one atomic batch.
    ///
    /// A URL written again replaces its record; the index entries of the old record
    /// are removed in the same batch. Its outlinks are recorded in the inlink index
    /// (`inlinks`) before the batch, like its body; the old ones need no removal,
    /// since [`Store::inlinks`] checks every candidate against the stored outlinks.
    pub fn write_page(&self, write: &PageWrite<'_>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        if let Some(page) = write.page {
            self.unindex_previous(&mut batch, &page.url)?;
            batch.insert(url_key(keys::PAGE, &page.url), to_json(page));
            index::add(&mut batch, page);
            if !write.outlinks.is_empty() {
                self.inlinks.append(&page.url, write.outlinks)?;
            }
            match write.body {
                Some(body) => {
                    let pointer = self.bodies.append(&body::encode(body))?;
                    batch.insert(url_key(keys::BODY, &page.url), &pointer.encode()[..]);
                }
                None => batch.remove(url_key(keys::BODY, &page.url)),
            }
            if write.outlinks.is_empty() {
                batch.remove(url_key(keys::OUTLINKS, &page.url));
            } else {
                batch.insert(
                    url_key(keys::OUTLINKS, &page.url),
                    body::encode(write.outlinks.join("\n").as_bytes()),
                );
            }
            match write.exchange {
                Some(exchange) => batch.insert(
                    url_key(keys::EXCHANGE, &page.url),
                    body::encode(&to_json(exchange)),
                ),
                None => batch.remove(url_key(keys::EXCHANGE, &page.url)),
            }
        }
        for (fingerprint, entry) in write.discovered {
            batch.insert(&keys::seen_key(*fingerprint)[..], &[][..]);
            batch.insert(
                keys::queue_key(&entry.host, entry.depth, &entry.url),
                to_json(entry),
            );
        }
        for (fingerprint, record) in write.settled {
            self.unindex_previous(&mut batch, &record.url)?;
            batch.insert(&keys::seen_key(*fingerprint)[..], &[][..]);
            batch.insert(url_key(keys::PAGE, &record.url), to_json(record));
            index::add(&mut batch, record);
        }
        for slot in write.released {
            batch.remove(keys::queue_key(slot.host, slot.depth, slot.url));
        }
        if self.durable_writes {
            self.group_commit.commit(&self.db, &self.tree, batch)?;
        } else {
            self.tree.apply_batch(batch)?;
        }
        Ok(())
    }

    /// Adds the removal of the index entries of `url`'s current record, if it has one.
    /// A URL is normally written once, so this is one lookup that finds nothing.
    /// A damaged old record cannot be unindexed; queries skip what no longer matches.
    fn unindex_previous(&self, batch: &mut sled::Batch, url: &str) -> Result<(), StoreError> {
        let key = url_key(keys::PAGE, url);
        let Some(value) = self.tree.get(&key)? else {
            return Ok(());
        };
        let Ok(old) = from_json::<PageRecord>(&key, &value) else {
            return Ok(());
        };
        index::remove(batch, &old);
        Ok(())
    }

    /// Adds frontier entries (seeds) and marks them seen, atomically.
    pub fn enqueue(&self, entries: &[(u128, QueueEntry)]) -> Result<(), StoreError> {
        self.write_page(&PageWrite {
            discovered: entries,
            ..PageWrite::default()
        })
    }

    /// Whether a URL with this fingerprint was ever queued or settled.
    pub fn is_seen(&self, fingerprint: u128) -> Result<bool, StoreError> {
        Ok(self.tree.contains_key(keys::seen_key(fingerprint))?)
    }

    /// How many fingerprints the seen-set holds (a scan of its keys).
    pub fn seen_count(&self) -> Result<u64, StoreError> {
        let mut count = 0;
        for item in self.tree.scan_prefix([keys::SEEN]).keys() {
            item?;
            count += 1;
        }
        Ok(count)
    }

    /// Every seen fingerprint, for rebuilding the in-memory filter on resume.
    pub fn seen(&self) -> impl Iterator<Item = Result<u128, StoreError>> + '_ {
        self.tree.scan_prefix([keys::SEEN]).map(|item| {
            let (key, _) = item?;
            let bytes: [u8; 16] =
                key.get(1..17)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| StoreError::Corrupt {
                        key: format!("{key:?}"),
                        reason: "seen key is not 17 bytes".into(),
                    })?;
            Ok(u128::from_be_bytes(bytes))
        })
    }

    /// The record of one URL (exact canonical spelling).
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>, StoreError> {
        let key = url_key(keys::PAGE, url);
        self.tree
            .get(&key)?
            .map(|value| from_json(&key, &value))
            .transpose()
    }

    /// The stored body of one URL.
    pub fn body(&self, url: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(value) = self.tree.get(url_key(keys::BODY, url))? else {
            return Ok(None);
        };
        let pointer = BodyPointer::decode(&value).ok_or_else(|| StoreError::Corrupt {
            key: url.to_owned(),
            reason: "body pointer is not 16 bytes".into(),
        })?;
        body::decode(url, &self.bodies.read(pointer)?).map(Some)
    }

    /// The HTTP request and response head stored for one URL.
    pub fn exchange(&self, url: &str) -> Result<Option<HttpExchange>, StoreError> {
        let key = url_key(keys::EXCHANGE, url);
        let Some(value) = self.tree.get(&key)? else {
            return Ok(None);
        };
        from_json(&key, &body::decode(url, &value)?).map(Some)
    }

    /// The outlinks of one URL (empty when it has none or is unknown).
    pub fn outlinks(&self, url: &str) -> Result<Vec<String>, StoreError> {
        let Some(value) = self.tree.get(url_key(keys::OUTLINKS, url))? else {
            return Ok(Vec::new());
        };
        let text = body::decode(url, &value)?;
        let text = String::from_utf8(text).map_err(|e| StoreError::Corrupt {
            key: url.to_owned(),
            reason: format!("outlinks are not UTF-8: {e}"),
        })?;
        Ok(text.split('\n').map(str::to_owned).collect())
    }

    /// Whether the stored outlinks of `source` contain `target`: the check that turns
    /// an inlink candidate into an inlink.
    pub(crate) fn links_to(&self, source: &str, target: &str) -> Result<bool, StoreError> {
        let Some(value) = self.tree.get(url_key(keys::OUTLINKS, source))? else {
            return Ok(false);
        };
        let text = body::decode(source, &value)?;
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
        self.scan(keys::PAGE)
    }

    /// The number of frontier entries, counted without decoding them.
    pub fn queued_count(&self) -> Result<u64, StoreError> {
        let mut count = 0;
        for item in self.tree.scan_prefix([keys::QUEUE]).keys() {
            item?;
            count += 1;
        }
        Ok(count)
    }

    /// Every frontier entry (URLs discovered and not yet settled), host by host.
    pub fn queued(&self) -> impl Iterator<Item = Result<QueueEntry, StoreError>> + '_ {
        self.scan(keys::QUEUE)
    }

    /// The hosts (politeness keys) that have frontier entries, one seek per host.
    pub fn queued_hosts(&self) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        let mut from = Some(vec![keys::QUEUE]);
        std::iter::from_fn(move || {
            let start = from.take()?;
            let item = self.tree.range(start..).next()?;
            let key = match item {
                Ok((key, _)) => key,
                Err(e) => return Some(Err(e.into())),
            };
            if key.first() != Some(&keys::QUEUE) {
                return None;
            }
            let Some((host, end)) = keys::queue_host_of(&key) else {
                return Some(Err(StoreError::Corrupt {
                    key: keys::url_of(&key),
                    reason: "frontier key without a host".into(),
                }));
            };
            from = keys::prefix_successor(&key[..end]);
            Some(Ok(host.to_owned()))
        })
    }

    /// The first `limit` frontier entries of `host`, lowest depth first.
    pub fn queued_for_host(&self, host: &str, limit: usize) -> Result<Vec<QueueEntry>, StoreError> {
        self.tree
            .scan_prefix(keys::named_prefix(keys::QUEUE, host))
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                from_json(&key, &value)
            })
            .collect()
    }

    fn scan<T: serde::de::DeserializeOwned>(
        &self,
        kind: u8,
    ) -> impl Iterator<Item = Result<T, StoreError>> + '_ {
        self.tree.scan_prefix([kind]).map(|item| {
            let (key, value) = item?;
            from_json(&key, &value)
        })
    }

    /// Records the start of a run; returns its index for [`Store::finish_run`].
    pub fn start_run(&self, run: &CrawlRun) -> Result<usize, StoreError> {
        let mut runs = self.runs()?;
        runs.push(run.clone());
        self.put_runs(&runs)?;
        Ok(runs.len() - 1)
    }

    /// Overwrites run `index` (normally with its end time and totals).
    pub fn finish_run(&self, index: usize, run: &CrawlRun) -> Result<(), StoreError> {
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
        match self.tree.get(&key)? {
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
        self.bodies.sync()?;
        self.inlinks.flush()?;
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()? + self.bodies.size_on_disk() + self.inlinks.size_on_disk())
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
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
        self.inlinks.close();
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

    #[test]
    fn the_frontier_reads_back_per_host_lowest_depth_first() {
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
        let a: Vec<String> = store
            .queued_for_host("http://a.test:80", 10)
            .unwrap()
            .into_iter()
            .map(|e| e.url)
            .collect();
        assert_eq!(
            a,
            ["http://a.test/y", "http://a.test/z", "http://a.test/deep"]
        );
        assert_eq!(
            store.queued_for_host("http://a.test:80", 1).unwrap().len(),
            1
        );
        store
            .write_page(&PageWrite {
                released: &[entries[2].slot(), entries[3].slot()],
                ..PageWrite::default()
            })
            .unwrap();
        assert_eq!(
            store.queued_for_host("http://a.test:80", 10).unwrap().len(),
            1
        );
        assert_eq!(store.queued_count().unwrap(), 3);
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
        assert_eq!(
            store.seen().map(Result::unwrap).collect::<Vec<_>>(),
            vec![1, 2]
        );
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
        let started = std::time::Instant::now();
        let err = Store::open(dir.path(), StoreOptions::existing())
            .err()
            .unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
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
