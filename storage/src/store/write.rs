//! The write path: [`Store::write_page`] writes a page's parts, its discoveries'
//! queue entries and their seen marks to the files beside sled, in that order, then
//! hands the sled changes to the store's writer (`crate::writer`).
//!
//! The order is the crash-safety promise: everything the page's record relies on is
//! on disk before the record, so after a kill the store holds the page with its
//! outlinks and frontier updates, or none of it.

use super::Store;
use crate::codec::json::to_json;
use crate::codec::keys::{self, url_key};
use crate::codec::page_value::{self, Parts};
use crate::codec::part;
use crate::record::{HttpExchange, PageRecord, QueueEntry, QueueSlot};
use crate::writer::submission::Submission;
use crate::StoreError;

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

impl Store {
    /// Stores one completed fetch: page, body, outlinks, HTTP exchange, the frontier
    /// entries and seen marks its outlinks create, and the removal of its own frontier
    /// entry, all in one atomic batch, and then the index entries the page implies.
    ///
    /// The files beside sled are written first; the sled changes (the records, the
    /// totals) go to the store's writer, which applies many writes in one batch within
    /// milliseconds and then appends their index entries to the page index
    /// (`crate::writer`, `crate::index::page_index`); with `durable_writes` they are in its write log
    /// first. From the moment this returns the records count for
    /// the crawl (a written URL's frontier entry is settled) and every read of the
    /// store sees them.
    ///
    /// A URL written again replaces its record; the index entries of the old record
    /// stay, and queries skip them ([`Store::query`]). Its outlinks are recorded in the inlink index
    /// (`crate::index::inlinks`) before the batch, like its body; the old ones need no removal,
    /// since [`Store::inlinks`] checks every candidate against the stored outlinks.
    ///
    /// Fails when an earlier write failed in the writer: nothing is stored after a
    /// lost write.
    ///
    /// Fails with [`StoreError::LowOnSpace`] when the store's filesystem has less than
    /// [`crate::StoreOptions::min_free_space`] free, and with
    /// [`StoreError::DiskFull`] when a write met a full disk.
    pub fn write_page(&self, write: &PageWrite<'_>) -> Result<(), StoreError> {
        self.space.check()?;
        self.write_checked(write)
            .map_err(|error| self.space.explain(error))
    }

    fn write_checked(&self, write: &PageWrite<'_>) -> Result<(), StoreError> {
        let writer = self.writer()?;
        let mut submission = Submission::default();
        if let Some(page) = write.page {
            if !write.outlinks.is_empty() {
                self.inlinks.append(&page.url, write.outlinks)?;
            }
            // The parts go to the body log, in one write, before the batch that points
            // to them.
            let encoded = [
                write.body.map(part::encode),
                (!write.outlinks.is_empty())
                    .then(|| part::encode(write.outlinks.join("\n").as_bytes())),
                write
                    .exchange
                    .map(|exchange| part::encode(&to_json(exchange))),
            ];
            let [body, outlinks, exchange] = self
                .bodies
                .append_all(encoded.each_ref().map(|part| part.as_deref()))?;
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
        let mut buckets = self
            .queues
            .append(write.discovered.iter().map(|(_, entry)| entry))?;
        for (fingerprint, _) in write.discovered {
            self.seen.insert(*fingerprint)?;
        }
        if !submission.is_empty() {
            writer.submit(submission)?;
        }
        // After the records: a compaction drops the entries they settle.
        buckets.extend(self.queues.settled(write.released.iter().map(|s| s.host)));
        self.compact_due(buckets)
    }

    /// Adds frontier entries (seeds) and marks them seen, atomically.
    pub fn enqueue(&self, entries: &[(u128, QueueEntry)]) -> Result<(), StoreError> {
        self.write_page(&PageWrite {
            discovered: entries,
            ..PageWrite::default()
        })
    }
}
