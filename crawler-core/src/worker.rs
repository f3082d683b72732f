//! A worker thread: take a task, do its network and disk work, report back.
//!
//! Workers do all the per-URL work in parallel (network, decoding, parsing,
//! canonicalization, dedup, the store write) so the scheduler thread only moves URLs.
//! A task is one of:
//!
//! - a page (or sitemap) fetch: fetch, extract, store, report new URLs (`page`);
//! - a robots.txt fetch: fetch, parse, select the group, report the rules (`robots`);
//! - a batch of URLs the frontier refused (robots.txt, parked host): record them
//!   without fetching anything (`context`, which also holds what every worker shares
//!   and the loop a worker thread runs; `pool` starts and joins the threads).

mod context;
mod page;
mod pool;
mod revisit;
mod robots;

pub(crate) use context::{unix_ms, WorkerContext};
pub(crate) use pool::WorkerPool;
