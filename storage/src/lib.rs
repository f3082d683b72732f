//! The embedded store of a crawl, on [`sled`].
//!
//! One store holds everything a crawl knows: every fetched (or failed) URL with its
//! metadata, the bodies, the outlinks, the frontier (URLs discovered and not yet
//! fetched) and the seen-set (fingerprints of every URL ever queued). It is what lets
//! a crawl be queried when it is done and resumed when it was interrupted.
//!
//! Three things are not inside sled. Bodies, outlink lists and HTTP heads are appended,
//! LZ4-compressed, to segment files in `bodies/`, and a page's record in sled starts
//! with a pointer to each (see `body_log` and `page_value`): sled rewrites large values
//! several times over as it compacts, and every key per page costs it time at each
//! open. The frontier (one append-only queue file per host, `queue_files`) and the
//! seen-set (an on-disk hash table of fingerprints, `seen_table`) hold one entry per URL
//! discovered, and sled's memory grows with its number of keys; in files they cost page
//! cache, not heap.
//!
//! The central promise is atomicity: [`Store::write_page`] stores a page record (which
//! points to its body, outlinks and heads) with its index entries and the running
//! totals in one sled batch, after appending the frontier entries its outlinks create
//! and their seen marks; the page record is what settles the page's own frontier entry. After a crash the store holds either all of
//! the page or none of it, and never a page whose discoveries are not queued.
//!
//! Reading a crawl back is cheap at any size: secondary indexes by host, status, error
//! kind and fetch time are written in the page's batch too, so [`Store::query`] with a
//! [`PageFilter`] costs in proportion to what it finds. The inlink index lives beside
//! sled (in `inlinks/`: an append-only postings log folded into sorted runs, one record
//! per page rather than one key per link), so [`Store::inlinks`] costs a few reads plus
//! one outlinks lookup per inlink. Large results are iterators. [`Store::stats`] reads
//! running totals that every page write keeps up to date in its own batch (`totals`).
//! Readers open a store with [`StoreOptions::read_only`] and write nothing to it.
//! A store is open in one process at a time (sled's lock); a second process gets
//! [`StoreError::InUse`] at once, naming the process that holds it.
//!
//! This crate knows nothing about HTTP, HTML or URL syntax: URLs are opaque strings
//! (the engine canonicalizes them before they get here), statuses are numbers and
//! error kinds are short names chosen by the engine. The HTTP heads it keeps for
//! archives ([`HttpExchange`]) are stored as given, not interpreted.
//!
//! ```
//! use crawler_storage::{PageFilter, PageRecord, PageWrite, QueueEntry, StatusFilter, Store, StoreOptions};
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), StoreOptions::default())?;
//! let seed = QueueEntry::seed("http://a.test/", "http://a.test:80");
//! store.enqueue(&[(1, seed.clone())])?;
//! let page = PageRecord { status: Some(200), ..PageRecord::new("http://a.test/", "a.test", 0) };
//! store.write_page(&PageWrite { page: Some(&page), body: Some(b"<html></html>"), released: &[seed.slot()], ..PageWrite::default() })?;
//! assert_eq!(store.page("http://a.test/")?.and_then(|p| p.status), Some(200));
//! assert_eq!(store.queued().count(), 0);
//!
//! let ok = PageFilter { status: Some(StatusFilter::Class(2)), ..PageFilter::default() };
//! let urls: Vec<String> = store.query(&ok).map(|p| p.map(|p| p.url)).collect::<Result<_, _>>()?;
//! assert_eq!(urls, ["http://a.test/"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod body;
mod body_log;
mod error;
mod files;
mod holder;
mod index;
mod inlinks;
mod keys;
mod page_index;
mod page_value;
mod query;
mod queue_files;
mod record;
mod record_writer;
mod recorded_keys;
mod run_manifest;
mod seen_table;
mod stats;
mod store;
mod totals;
mod write_log;

pub use error::StoreError;
pub use query::{PageContent, PageFilter, Pages, PagesWithContent, StatusFilter};
pub use record::{
    now_ms, CrawlRun, HttpExchange, Link, PageRecord, QueueEntry, QueueSlot, RequestHead,
    ResponseHead,
};
pub use stats::StoreStats;
pub use store::{PageWrite, Store, StoreOptions, FORMAT_VERSION};
