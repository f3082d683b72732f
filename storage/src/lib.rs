//! The embedded store of a crawl, on [`sled`], with the files beside it that would
//! make sled grow with every URL or every link.
//!
//! One store holds everything a crawl knows: every fetched (or failed) URL with its
//! metadata, the bodies, the outlinks, the frontier (URLs discovered and not yet
//! fetched) and the seen-set (fingerprints of every URL ever queued). It is what lets
//! a crawl be queried when it is done and resumed when it was interrupted.
//!
//! The central promise is atomicity: [`Store::write_page`] appends a page's body,
//! outlinks and heads to the body log and the frontier entries its outlinks create
//! (and their seen marks) to their files, then hands the store's writer the page
//! record, which points to its parts; the writer puts it with the running totals in
//! one sled batch. The page record is what settles the page's own frontier entry.
//! After a crash the store holds either all of the page or none of it, and never a
//! page whose discoveries are not queued.
//!
//! The crate's folders follow its design:
//! - `store`: [`Store`] itself: opening and closing, the write path, the frontier and
//!   the seen-set, reading pages back, the runs;
//! - `writer`: the thread that applies every write's sled changes in rounds, its write
//!   log, the running totals;
//! - `files`: the files beside sled: the body log (bodies, outlinks and HTTP heads,
//!   LZ4-compressed), the per-host queue files of the frontier, the seen table, and
//!   the checksummed frame they are written in;
//! - `index`: the page index (by host, status, error kind, fetch time) and the inlink
//!   index, beside sled as logs folded into sorted runs of one format (`sorted_run`)
//!   that one merger (`merger`) merges for both;
//! - `query`: [`Store::query`] with a [`PageFilter`], inlinks, the link graph,
//!   [`Store::stats`];
//! - `union`: [`StoreUnion`], several stores (a cluster crawl's nodes') read as one
//!   crawl, each URL once with its newest record;
//! - `codec`: how keys and values are laid out in bytes.
//!
//! Reading a crawl back is cheap at any size: the page index's entries are appended
//! beside sled by the writer, in the round that applies their records, so
//! [`Store::query`] with a [`PageFilter`] costs in proportion to what it finds;
//! [`Store::inlinks`] costs a few reads plus one outlinks lookup per inlink; large
//! results are iterators; [`Store::stats`] reads the running totals. Readers open a
//! store with [`StoreOptions::read_only`] and write nothing to it. A store is open in
//! one process at a time (sled's lock); a second process gets [`StoreError::InUse`]
//! at once, naming the process that holds it.
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

mod codec;
mod digest;
mod error;
mod files;
mod growing_filter;
mod index;
mod query;
mod record;
mod rendering;
mod store;
mod union;
mod writer;

pub use digest::payload_digest;
pub use error::StoreError;
pub use growing_filter::GrowingFilter;
pub use query::{PageContent, PageFilter, Pages, PagesWithContent, StatusFilter};
pub use record::{
    now_ms, queue_order, CrawlRun, HttpExchange, Link, PageRecord, ProxyUse, QueueEntry, QueueSlot,
    RequestHead, ResponseHead, StoreStats, Via,
};
pub use record::{Change, Visit};
pub use rendering::{Rendering, Settled};
pub use store::check::{CheckReport, Fingerprint, Problem, Requeue};
pub use store::footprint::{Footprint, PartBytes};
pub use store::holder::{advertised, without_userinfo};
pub use store::repair::RepairReport;
pub use store::seeds::StoredSeeds;
pub use store::write::{PageWrite, RenderingWrite, Revisit};
pub use store::{Store, StoreOptions, FORMAT_VERSION};
pub use union::{StoreUnion, UnionPages};
