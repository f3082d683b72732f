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
//! ```no_run
//! use crawler_core::{CanonicalUrl, CrawlConfig, Crawler};
//! let config = CrawlConfig { store: "example.store".into(), max_pages: Some(100), ..CrawlConfig::default() };
//! let mut crawler = Crawler::new(config)?;
//! crawler.add_seeds([CanonicalUrl::parse("http://127.0.0.1:8080/")?]);
//! let summary = crawler.run()?;
//! println!("{} pages in {:.1} s", summary.pages_fetched, summary.elapsed_secs);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What this crate does not do: print, parse flags or choose exit codes (that is
//! `crawler-cli`), or know how the store lays out its records (that is `crawler-storage`).

pub mod config;
mod crawl;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod progress;
pub mod robots;
mod seeds;
mod seen;
pub mod sitemap;
pub mod traps;
pub mod url;
mod worker;

pub use config::{BodyPolicy, ConfigError, CrawlConfig, ValidConfig, DEFAULT_USER_AGENT};
pub use crawl::{CrawlError, Crawler, StopHandle};
pub use progress::{CrawlSummary, Progress, Snapshot};
pub use seeds::{read_seeds, read_seeds_with, SeedError};
pub use traps::{Trap, TrapRules};
pub use url::{CanonicalUrl, HostKey, Scope, ScopeMode, UrlError};
