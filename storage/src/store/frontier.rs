//! The store's side of the frontier and the seen-set: what is queued (each host's
//! entries in its shared bucket, or in its own queue file past its cursor, less what has
//! a record), the cursors, the buckets' compaction, and the seen marks.
//!
//! An entry leaves the frontier only by its URL getting a page record; a host's
//! cursor moves over the settled entries at the front of its own file, through the
//! writer, after the records that settle them. A host without a file of its own has no
//! cursor (no key in sled): its few entries are checked each time they are read, and
//! its bucket is compacted as its entries settle.

use std::collections::{HashMap, HashSet};
use std::sync::MutexGuard;

use super::Store;
use crate::codec::json::from_be_u64;
use crate::codec::keys::{self, url_key};
use crate::codec::page_value;
use crate::files::queue_files::HostQueue;
use crate::record::QueueEntry;
use crate::writer::submission::Submission;
use crate::StoreError;

impl Store {
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

    /// Marks URLs seen without queuing them: for a store built from the records of
    /// others (`crawler merge`), whose URLs were queued there. A crawl marks a URL when
    /// it queues it ([`Store::write_page`]); these marks are made durable by
    /// [`Store::flush`].
    pub fn mark_seen(&self, fingerprints: &[u128]) -> Result<(), StoreError> {
        self.check_writable()?;
        for fingerprint in fingerprints {
            self.seen.insert(*fingerprint)?;
        }
        Ok(())
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

    /// Whether a frontier entry is settled: its URL has a page record (it was fetched
    /// or refused), or, for an entry that retries a failed record, that record was
    /// replaced.
    pub(super) fn is_settled(&self, entry: &QueueEntry) -> Result<bool, StoreError> {
        let key = url_key(keys::PAGE, &entry.url);
        // Pending first: the writer applies a record before it stops being pending. A
        // pending record is a new one, which settles a retry too: retries are queued
        // after a flush, when no failed record they retry is pending.
        if let Some(writer) = &self.writer {
            if writer.has_pending_record(&key) {
                return Ok(true);
            }
        }
        let Some(failed_at) = entry.retry_of else {
            return Ok(self.tree.contains_key(key)?);
        };
        match self.tree.get(&key)? {
            // Replaced by a later fetch, whatever its outcome.
            Some(value) => Ok(page_value::fetched_at(&key, &value, &self.bodies)? != failed_at),
            None => Ok(false),
        }
    }

    /// Where `host`'s queue file is known settled up to (0: nowhere yet).
    pub(super) fn cursor(&self, host: &str) -> Result<u64, StoreError> {
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

    fn reader_at_cursor(&self, host: &str) -> Result<HostQueue, StoreError> {
        self.queues.reader(host, self.cursor(host)?)
    }

    /// Compacts the buckets among `buckets` that are due: their settled entries go.
    pub(super) fn compact_due(&self, mut buckets: Vec<u64>) -> Result<(), StoreError> {
        buckets.sort_unstable();
        buckets.dedup();
        for bucket in buckets {
            self.queues
                .compact_if_due(bucket, |entry| self.is_settled(entry))?;
        }
        Ok(())
    }

    /// The number of frontier entries (reads every queue file past its cursor).
    pub fn queued_count(&self) -> Result<u64, StoreError> {
        self.queued()
            .try_fold(0, |count, entry| entry.map(|_| count + 1))
    }

    /// The number of frontier entries of one host (reads its entries in its bucket, or
    /// its own queue file past its cursor).
    pub fn queued_count_for(&self, host: &str) -> Result<u64, StoreError> {
        self.count_past_cursor(host, |entry| Ok(!self.is_settled(entry)?))
    }

    /// The entries of `host`'s queue past its cursor that `counts` accepts.
    fn count_past_cursor(
        &self,
        host: &str,
        counts: impl Fn(&QueueEntry) -> Result<bool, StoreError>,
    ) -> Result<u64, StoreError> {
        let mut reader = self.reader_at_cursor(host)?;
        let mut count = 0;
        while let Some(entry) = reader.next_entry()? {
            if counts(&entry)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Every frontier entry (URLs discovered and not yet settled), host by host, in
    /// the order they were discovered: the hosts of each bucket, then those with files
    /// of their own.
    pub fn queued(&self) -> impl Iterator<Item = Result<QueueEntry, StoreError>> + '_ {
        let mut hosts = self.queued_host_keys();
        let mut reader: Option<HostQueue> = None;
        std::iter::from_fn(move || loop {
            let current = match reader.as_mut() {
                Some(current) => current,
                None => match hosts.next()?.and_then(|host| self.reader_at_cursor(&host)) {
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
            match self.is_settled(&entry) {
                Ok(true) => continue,
                Ok(false) => return Some(Ok(entry)),
                Err(error) => return Some(Err(error)),
            }
        })
    }

    /// Every host key with a queue: the shared hosts bucket by bucket (one bucket's
    /// hosts in memory at a time), then the hosts with files of their own.
    fn queued_host_keys(&self) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        let (buckets, failed) = match self.queues.buckets() {
            Ok(buckets) => (buckets, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let shared =
            buckets
                .into_iter()
                .flat_map(move |bucket| match self.queues.shared_hosts(bucket) {
                    Ok(hosts) => hosts.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(error) => vec![Err(error)],
                });
        let mut own_done = false;
        let own = std::iter::from_fn(move || {
            if own_done {
                return None;
            }
            own_done = true;
            Some(match self.queues.own_hosts() {
                Ok(hosts) => hosts.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(error) => vec![Err(error)],
            })
        })
        .flatten();
        failed.map(Err).into_iter().chain(shared).chain(own)
    }

    /// The hosts (politeness keys) with entries in a bucket, or in their own queue files
    /// past their cursors (some of them may be settled). Hosts of one bucket come one
    /// after another, so reading each one's queue in this order reads each bucket once.
    pub fn queued_hosts(&self) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        self.queued_host_keys().filter_map(|host| {
            let host = match host {
                Ok(host) => host,
                Err(error) => return Some(Err(error)),
            };
            if !self.queues.is_own(&host) {
                return Some(Ok(host));
            }
            let past_cursor = self.cursor(&host).map(|cursor| {
                let len = std::fs::metadata(self.queues.path(&host)).map_or(0, |m| m.len());
                len > cursor
            });
            match past_cursor {
                Ok(true) => Some(Ok(host)),
                Ok(false) => None,
                Err(error) => Some(Err(error)),
            }
        })
    }

    /// The frontier entries of `host` past its cursor, settled ones included: an upper
    /// bound of what the host has queued, read without a lookup per entry (a resumed
    /// crawl shows it as queued until it has read the entries themselves). A host read
    /// in order already is answered from its read plan, without reading its file again.
    pub fn queued_upper_bound(&self, host: &str) -> Result<u64, StoreError> {
        if let Some(count) = self.queues.planned_count(host) {
            return Ok(count);
        }
        self.count_past_cursor(host, |_| Ok(true))
    }

    /// The first `limit` frontier entries of `host` not settled yet, best first by
    /// [`QueueEntry::order`] (priority, depth, turn class), in discovery order within
    /// one order, without duplicates.
    ///
    /// The host's cursor moves past what earlier calls read. Call it only when every
    /// entry it returned before is settled or still held by the caller; anything else
    /// it returned before and not settled comes back again.
    pub fn queued_for_host(&self, host: &str, limit: usize) -> Result<Vec<QueueEntry>, StoreError> {
        let cursor = self.cursor(host)?;
        let reader = self.queues.reader(host, cursor)?;
        let HostQueue::Shared(entries) = reader else {
            let (entries, moved) = self
                .queues
                .take_in_order(host, cursor, limit, |entry| self.is_settled(entry))?;
            if let Some(moved) = moved {
                self.move_cursor(host, moved)?;
            }
            return Ok(entries);
        };
        // A host without a file of its own has few entries: all of them, sorted.
        let mut urls = HashSet::new();
        let mut unsettled = Vec::new();
        for entry in entries {
            if !self.is_settled(&entry)? && urls.insert(entry.url.clone()) {
                unsettled.push(entry);
            }
        }
        unsettled.sort_by_key(QueueEntry::order);
        unsettled.truncate(limit);
        Ok(unsettled)
    }

    /// Moves `host`'s cursor to `cursor`: through the writer, after the records that
    /// settle what it passes, so a cursor on disk never passes a record that is not.
    fn move_cursor(&self, host: &str, cursor: u64) -> Result<(), StoreError> {
        let mut submission = Submission::default();
        submission
            .changes
            .insert(url_key(keys::CURSOR, host), &cursor.to_be_bytes()[..]);
        self.writer()?.submit(submission)?;
        self.moved_cursors().insert(host.to_owned(), cursor);
        Ok(())
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
}

#[cfg(test)]
mod tests {
    use crate::codec::keys;
    use crate::files::queue_files::QueueFiles;
    use crate::store::tests::{settle, urls};
    use crate::store::{StoreOptions, OPEN_MARK};
    use crate::{PageRecord, PageWrite, QueueEntry, Store};

    #[test]
    fn the_frontier_reads_back_per_host_lowest_depth_first_without_settled_urls() {
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
            ["http://a.test/z", "http://a.test/y", "http://a.test/deep"]
        );
        assert_eq!(
            store.queued_for_host("http://a.test:80", 1).unwrap(),
            [entries[2].clone()]
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
            3,
            "in their bucket until a compaction drops their settled entries"
        );
    }

    #[test]
    fn an_entry_retrying_a_failed_record_stays_queued_until_that_record_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let host = "http://a.test:80";
        let write = |record: PageRecord, entry: &QueueEntry| {
            store
                .write_page(&PageWrite {
                    page: Some(&record),
                    released: &[entry.slot()],
                    ..PageWrite::default()
                })
                .unwrap();
        };
        let seed = QueueEntry::seed("http://a.test/", host);
        store.enqueue(&[(1, seed.clone())]).unwrap();
        let failed = PageRecord {
            error: Some("connect".into()),
            fetched_at_ms: 1_000,
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        write(failed, &seed);
        assert_eq!(store.queued_count().unwrap(), 0, "an error settles a URL");
        store.flush().unwrap();

        let retry = QueueEntry {
            retry_of: Some(1_000),
            ..seed.clone()
        };
        store.enqueue(&[(1, retry.clone())]).unwrap();
        assert_eq!(
            store.queued_for_host(host, 10).unwrap(),
            std::slice::from_ref(&retry),
            "queued again, its failed record notwithstanding"
        );
        let fetched = PageRecord {
            status: Some(200),
            fetched_at_ms: 2_000,
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        write(fetched, &retry);
        assert_eq!(store.queued_count().unwrap(), 0);
        assert!(store.queued_for_host(host, 10).unwrap().is_empty());
        assert_eq!(store.stats().unwrap().errors.get("connect"), None);
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
            // A big host's file of its own, where its cursor moves.
            store.queues.promote(host, &[]).unwrap();
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
            store.queues.promote(host, &[]).unwrap();
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
    fn a_crawl_settling_its_small_hosts_compacts_their_shared_file_before_the_frontier_drains() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let bucket = crate::files::queue_buckets::bucket_of("http://h0.test:80");
        let entries: Vec<QueueEntry> = (0..)
            .map(|i| format!("http://h{i}.test:80"))
            .filter(|host| crate::files::queue_buckets::bucket_of(host) == bucket)
            .take(100)
            .map(|host| QueueEntry::seed(&format!("{}/", &host[..host.len() - 3]), &host))
            .collect();
        let with_fps: Vec<_> = entries.iter().cloned().map(|e| (0, e)).collect();
        store.enqueue(&with_fps).unwrap();
        let shared = dir.path().join("frontier").join("shared");
        let size = || -> u64 {
            std::fs::read_dir(&shared)
                .map(|d| d.map(|e| e.unwrap().metadata().unwrap().len()).sum())
                .unwrap_or(0)
        };
        let full = size();
        // Hosts fetched one at a time, as workers do.
        for entry in &entries[..70] {
            settle(&store, &[entry]);
        }
        // Compacted when 32 were settled, then when half of the rest were.
        assert!(size() < full * 4 / 10, "{} of {full} bytes left", size());
        assert_eq!(store.queued_count().unwrap(), 30);
        for entry in &entries[70..] {
            settle(&store, &[entry]);
        }
        assert_eq!(size(), 0, "every entry settled: the shared file is gone");
        assert_eq!(store.queued_hosts().count(), 0);
        let files = std::fs::read_dir(dir.path().join("frontier"))
            .unwrap()
            .count();
        assert_eq!(files, 1, "the shared folder, and no file per host");
    }

    #[test]
    fn a_host_that_grows_in_its_shared_file_gets_a_file_of_its_own_and_keeps_its_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let host = "http://big.test:80";
        let padding = "p".repeat(200);
        let entries: Vec<QueueEntry> = (0..1500)
            .map(|i| QueueEntry::seed(&format!("http://big.test/{padding}/{i}"), host))
            .collect();
        for batch in entries.chunks(50) {
            let with_fps: Vec<_> = batch.iter().cloned().map(|e| (0, e)).collect();
            store.enqueue(&with_fps).unwrap();
        }
        assert!(store.queues.is_own(host), "moved when its bucket doubled");
        assert!(store.queues.path(host).exists());
        let shared = dir.path().join("frontier").join("shared");
        let left: u64 = std::fs::read_dir(&shared)
            .map(|d| d.map(|e| e.unwrap().metadata().unwrap().len()).sum())
            .unwrap_or(0);
        assert!(left < 64 * 1024, "{left} bytes left in shared files");
        assert_eq!(store.queued_for_host(host, 2000).unwrap(), entries);
        assert_eq!(store.queued_upper_bound(host).unwrap(), 1500);
    }
}
