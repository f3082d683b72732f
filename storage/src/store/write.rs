//! The write path: [`Store::write_page`] writes a page's parts (its record among them),
//! its discoveries' queue entries and their seen marks to the files beside sled, in
//! that order, then hands the sled changes (the pointers to the parts) to the store's
//! writer (`crate::writer`).
//!
//! The order is the crash-safety promise: everything a page's sled value points to or
//! relies on is on disk before the value, so after a kill the store holds the page
//! with its record, outlinks and frontier updates, or none of it (the parts written
//! before the kill are unreferenced bytes in the body log).

use super::Store;
use crate::codec::history;
use crate::codec::json::to_json;
use crate::codec::keys::{self, url_key};
use crate::codec::page_value::{self, Parts, RecordAt};
use crate::codec::part;
use crate::files::body_log::BodyPointer;
use crate::record::{HttpExchange, PageRecord, QueueEntry, QueueSlot, Visit};
use crate::rendering::Rendering;
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
    /// `page` is a new visit of a URL the store may hold a record of: the record it
    /// replaces goes into the URL's history (`crate::codec::history`), and when the new
    /// record's `change` kept the content (a 304, or the same payload) the stored body,
    /// outlinks and heads stay, and `exchange` is kept as this visit's own heads
    /// (`body` and `outlinks` are then ignored).
    pub revisit: Option<Revisit<'a>>,
    /// A rendering of a stored page (with `page` `None`): it becomes a part of that
    /// page, whose record and other parts stay as they are.
    pub rendering: Option<RenderingWrite<'a>>,
}

/// A page's rendering, to store with the page (`crate::rendering`).
#[derive(Clone, Copy, Debug)]
pub struct RenderingWrite<'a> {
    /// The page rendered: a URL the store holds a record of.
    pub url: &'a str,
    /// What the rendering found.
    pub rendering: &'a Rendering,
    /// The rendered DOM (empty when it failed).
    pub dom: &'a [u8],
}

/// How a revisit's write keeps what it replaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Revisit<'a> {
    /// Bodies the URL keeps: the current one and up to `versions - 1` earlier ones
    /// (`--keep-versions`; at least 1).
    pub versions: u32,
    /// The record being replaced, when the caller read it already
    /// ([`Store::applied_page`]): spares reading it again. It must be the applied one.
    pub replaces: Option<&'a PageRecord>,
}

/// What a revisit's write takes from the value it replaces.
struct Replaced {
    parts: Parts,
    link: history::Link,
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
        }
        let rendered = match write.rendering {
            Some(rendering) => Some(self.rendered(rendering)?),
            None => None,
        };
        // Every part, the records' included, goes to the body log in one write before
        // the batch that points to them: the page's body, record, outlinks and heads
        // (the last three side by side, which an export reads together), then the
        // records of the settled URLs.
        let replaced = match (write.page, write.revisit) {
            (Some(page), Some(revisit)) => self.replaced(page, revisit)?,
            _ => None,
        };
        let kept = replaced.is_some()
            && write
                .page
                .and_then(|p| p.change)
                .is_some_and(|c| c.kept_content());
        let mut encoded = Vec::with_capacity(5 + write.settled.len());
        if let Some(page) = write.page {
            encoded.extend([
                write.body.filter(|_| !kept).map(part::encode),
                Some(page_value::encode_record(page)),
                (!write.outlinks.is_empty() && !kept)
                    .then(|| part::encode(write.outlinks.join("\n").as_bytes())),
                write
                    .exchange
                    .map(|exchange| part::encode(&to_json(exchange))),
                replaced
                    .as_ref()
                    .map(|replaced| history::encode(&replaced.link)),
            ]);
        }
        if let (Some(rendering), Some(_)) = (write.rendering, &rendered) {
            encoded.extend([
                Some(part::encode(&to_json(rendering.rendering))),
                Some(part::encode(rendering.dom)),
            ]);
        }
        encoded.extend(
            write
                .settled
                .iter()
                .map(|(_, record)| Some(page_value::encode_record(record))),
        );
        let each: Vec<Option<&[u8]>> = encoded.iter().map(Option::as_deref).collect();
        let mut pointers = self.bodies.append_all(&each)?.into_iter();
        let mut next = || pointers.next().flatten();
        if let Some(page) = write.page {
            let body = next();
            let record = logged(next())?;
            let (outlinks, exchange, history) = (next(), next(), next());
            let parts = match &replaced {
                Some(replaced) if kept => Parts {
                    history,
                    visit: exchange,
                    ..replaced.parts
                },
                _ => Parts {
                    body,
                    outlinks,
                    exchange,
                    history,
                    visit: None,
                    rendering: None,
                },
            };
            let key = url_key(keys::PAGE, &page.url);
            submission
                .changes
                .insert(key.clone(), page_value::encode(&parts, record));
            submission.records.push((key, page.clone()));
        }
        if let Some((key, parts, record)) = rendered {
            let found = appended(next())?;
            let dom = appended(next())?;
            let parts = Parts {
                rendering: Some((found, dom)),
                ..parts
            };
            // Not a record: the page's record, its totals and index entries stay.
            submission
                .changes
                .insert(key, page_value::encode(&parts, record));
        }
        for (fingerprint, record) in write.settled {
            let logged = logged(next())?;
            let key = url_key(keys::PAGE, &record.url);
            submission
                .changes
                .insert(key.clone(), page_value::encode(&Parts::default(), logged));
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

    /// What a revisit of `page` takes from the value it replaces: its parts, and the
    /// history link of the visit it replaces (`None` when the URL has no record yet).
    /// Read from sled as applied: a revisited URL's record is from an earlier run, and
    /// runs start after a flush.
    fn replaced(
        &self,
        page: &PageRecord,
        revisit: Revisit<'_>,
    ) -> Result<Option<Replaced>, StoreError> {
        let key = url_key(keys::PAGE, &page.url);
        let Some(value) = self.tree.get(&key)? else {
            return Ok(None);
        };
        let (parts, at) = page_value::decode(&key, &value)?;
        let read;
        let old = match revisit.replaces {
            Some(old) => old,
            None => {
                read = page_value::read_record(&key, at, &self.bodies)?;
                &read
            }
        };
        // Only the older versions are read from the link before: one version kept
        // needs none of them.
        let older = match parts.history.filter(|_| revisit.versions > 1) {
            Some(pointer) => {
                let framed = self
                    .bodies
                    .read(pointer)
                    .map_err(|e| e.of_page(&page.url))?;
                Some(history::decode(&page.url, &framed)?)
            }
            None => None,
        };
        let mut versions = older.map(|link| link.versions).unwrap_or_default();
        let content_changes = !page.change.is_some_and(|c| c.kept_content());
        if let (true, Some(body)) = (content_changes, parts.body) {
            versions.insert(0, (old.captured_at_ms(), body.into()));
        }
        versions.truncate(revisit.versions.saturating_sub(1) as usize);
        let link = history::Link {
            // Whether its body is kept is read from the newest link (`Store::history`).
            visit: Visit::of(old),
            older: parts.history.map(Into::into),
            versions,
        };
        Ok(Some(Replaced { parts, link }))
    }

    /// The page a rendering is written to: its key, its parts and its record's place,
    /// read once the writer has applied every write before (the page's own among
    /// them: a page is rendered after it is stored). Its rendering's links are
    /// recorded as the page's inlink candidates, like its outlinks.
    ///
    /// A page is rendered once per fetch, by one render thread, and written again only
    /// by a later run: nothing else writes its value between this read and the write.
    fn rendered(
        &self,
        write: RenderingWrite<'_>,
    ) -> Result<(Vec<u8>, Parts, RecordAt<'static>), StoreError> {
        let key = url_key(keys::PAGE, write.url);
        let no_record = || StoreError::NoRecord {
            url: write.url.to_owned(),
            part: "rendering",
        };
        let value = self.tree().get(&key)?.ok_or_else(no_record)?;
        let (parts, at) = page_value::decode(&key, &value)?;
        // A record of this build is in the body log; one inline (format 9) is from a
        // run long gone, never rendered now.
        let RecordAt::Logged(pointer) = at else {
            return Err(no_record());
        };
        if !write.rendering.links.is_empty() {
            self.inlinks.append(write.url, &write.rendering.links)?;
        }
        Ok((key, parts, RecordAt::Logged(pointer)))
    }

    /// Adds frontier entries (seeds) and marks them seen, atomically.
    pub fn enqueue(&self, entries: &[(u128, QueueEntry)]) -> Result<(), StoreError> {
        self.write_page(&PageWrite {
            discovered: entries,
            ..PageWrite::default()
        })
    }
}

/// Where an appended record part is: a part appended always has a pointer, so `None`
/// is a bug, reported rather than stored.
fn logged(pointer: Option<BodyPointer>) -> Result<RecordAt<'static>, StoreError> {
    appended(pointer).map(RecordAt::Logged)
}

/// The pointer to a part that was appended.
fn appended(pointer: Option<BodyPointer>) -> Result<BodyPointer, StoreError> {
    pointer.ok_or_else(|| StoreError::Corrupt {
        key: "body".into(),
        reason: "a part was appended without a pointer".into(),
    })
}
