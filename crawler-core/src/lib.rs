//! The crawl engine.
//!
//! A crawl starts from seed URLs and fetches every page they lead to within a scope,
//! politely: each host (scheme + host + port) gets at most `per_host_concurrency`
//! requests at once, evenly spaced by its rate limit, while a fixed pool of worker
//! threads stays busy with whichever hosts are ready. Every URL is canonicalized
//! before it enters the frontier and fetched at most once. Everything fetched is
//! written to a [`crawler_storage::Store`], each page atomically with its outlinks and
//! the frontier entries they create, so a crawl can be queried and continued.
//!
//! # Embedding
//!
//! [`Crawler::builder`] takes every setting of [`CrawlConfig`] (the same struct the
//! command line and its config file fill in), the seeds and your hooks; `build`
//! validates them once (a [`ConfigError`] names the setting as the CLI flag does) and
//! opens the store. Then either [`Crawler::run`] blocks until the crawl ends and
//! returns its [`CrawlSummary`], or [`Crawler::spawn`] runs it on a thread of its own
//! and returns a [`CrawlHandle`]: `stop()` (graceful: fetches in flight finish and
//! are stored), `pause()` / `resume()`, `stats()` (a [`Snapshot`] of live counters,
//! cheap from any thread), `events()` (see [`events`]) and `join()`.
//!
//! This crawls a test web served on loopback by `crawler-fixtures`:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use crawler_core::hooks::{HookError, Page, PageActions};
//! use crawler_core::{CanonicalUrl, CrawlEvent, Crawler};
//! use crawler_fixtures::{FixtureServer, WebConfig};
//!
//! let web = FixtureServer::start(WebConfig { hosts: 1, pages: 8, ..WebConfig::default() })?;
//! let dir = tempfile::tempdir()?;
//! let titles = Arc::new(Mutex::new(Vec::new()));
//! let seen = Arc::clone(&titles);
//!
//! let handle = Crawler::builder()
//!     .seed(web.url("h0.test", "/"))
//!     .resolve(web.resolve_arg())          // h0.test -> 127.0.0.1:PORT
//!     .store(dir.path().join("crawl.store"))
//!     .workers(4)
//!     .per_host_rate(0.0)                   // no politeness delay against our own server
//!     .url_filter(|url: &CanonicalUrl| !url.as_str().ends_with("/page/7"))
//!     .page_handler(move |page: &Page<'_>, _: &mut PageActions| -> Result<(), HookError> {
//!         seen.lock().unwrap().push(page.title().unwrap_or_default().to_owned());
//!         Ok(())
//!     })
//!     .build()?
//!     .spawn()?;
//! let live = handle.stats();                // from any thread, while it runs
//! assert!(live.fetched <= 7);
//! let summary = handle.join()?;
//!
//! assert_eq!(summary.pages_fetched, 7);     // /page/7 was filtered out
//! let mut titles = titles.lock().unwrap().clone();
//! titles.sort();
//! assert_eq!(titles[0], "Host 0 page 0");
//! assert!(!titles.contains(&"Host 0 page 7".to_owned()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Hooks ([`hooks`]) run on the worker threads; an error or panic in one is recorded
//! against its page (error kind `hook-failed`) and never stops a worker. A
//! [`PageSink`] receives every page as it is stored, as well as the store or, with
//! [`CrawlerBuilder::page_sink_instead`], instead of the store for bodies. The
//! `examples/` directory has complete programs: `titles`, `structured_data` and
//! `service` (`cargo run -p crawler-core --example service`).
//!
//! One dependency is enough: [`scraper`] (the type of [`Page::html`]) and the store's
//! read API ([`storage`]) are re-exported here.
//!
//! The engine logs through [`tracing`] (crawl start and end, robots.txt per host,
//! hosts closed, fetch failures and each page at debug); install a subscriber to see
//! it. It never prints.
//!
//! What this crate does not do: print, parse flags or choose exit codes (that is
//! `crawler-cli`), or know how the store lays out its records (that is `crawler-storage`).

#![warn(missing_docs)]

mod budgets;
mod builder;
mod closure_log;
mod cluster_node;
pub mod config;
mod cookie_keeper;
mod crawl;
mod crawl_error;
pub mod error_kind;
pub mod events;
pub mod extract;
pub mod fetch;
pub mod frontier;
mod handle;
pub mod hooks;
pub mod live;
mod messages;
mod millis;
pub mod pace;
mod pass_through;
pub mod priority;
pub mod progress;
pub mod render;
mod retry;
pub mod revisit;
pub mod robots;
mod runs;
mod scheduler;
mod seeds;
mod seen;
mod settings;
pub mod sitemap;
mod slowed;
mod snapshot;
pub mod traps;
pub mod url;
mod worker;

/// The Redis side of a crawl shared by several crawler processes ([`CrawlerBuilder::cluster`]).
pub use crawler_cluster as cluster;
/// The store a crawl writes, to read it back ([`storage::Store::open`] with
/// [`storage::StoreOptions::read_only`], then `query`, `page`, `inlinks`, `stats`):
/// `crawler_storage` under this name, so an embedder needs one dependency.
pub use crawler_storage as storage;
/// The HTML parser whose document [`Page::html`] returns: query a page with
/// `crawler_core::scraper::Selector` without depending on a matching `scraper` yourself.
pub use scraper;

pub use builder::{CrawlerBuilder, MAX_EVENT_CAPACITY};
pub use cluster_node::{join_cluster, SHARED_SETTINGS};
pub use config::{
    BasicAuthConfig, BodyPolicy, ConfigError, CrawlConfig, HostConfig, PerHostRate, ValidConfig,
    DEFAULT_DELAY_FACTOR, DEFAULT_USER_AGENT,
};
pub use crawl::Crawler;
pub use crawl_error::CrawlError;
pub use error_kind::{ErrorKind, UnknownErrorKind};
pub use events::{CrawlEvent, DEFAULT_EVENT_CAPACITY};
pub use handle::CrawlHandle;
pub use hooks::{HookError, Page, PageActions, PageHandler, PageSink, StoredPage, UrlFilter};
pub use live::{HostStatus, LiveStatus, ParkedHost, WorkerStatus};
pub use priority::{ScoredUrl, UrlScorer};
pub use progress::{CrawlSummary, Progress, RenderSummary, Revisits, Snapshot};
pub use revisit::{RevisitPolicy, RevisitsQueued};
pub use scheduler::StopHandle;
pub use seeds::{
    parse_seed, read_seeds, read_seeds_and_credentials, read_seeds_with, BadSeedLine, SeedError,
    SeedFile, SeedLines,
};
pub use traps::{Trap, TrapRules};
pub use url::{CanonicalUrl, HostKey, Scope, ScopeMode, UrlError};
