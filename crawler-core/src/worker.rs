//! A worker thread: take a task, do its network and disk work, report back.
//!
//! Workers do all the per-URL work in parallel (network, decoding, parsing,
//! canonicalization, dedup, the store write) so the scheduler thread only moves URLs.
//! A task is one of:
//!
//! - a page (or sitemap) fetch: fetch, extract, store, report new URLs (`page`);
//! - a robots.txt fetch: fetch, parse, select the group, report the rules (`robots`);
//! - with `--render`, a stored HTML page is also queued for the render pool
//!   (`render_queue`), whose threads (`render`) render it in a browser tab and
//!   answer its requests through the frontier;
//! - a batch of URLs the frontier refused (robots.txt, parked host): record them
//!   without fetching anything (`context`, which also holds what every worker shares
//!   and the loop a worker thread runs; `pool` starts and joins the threads).

mod context;
mod page;
mod pool;
#[cfg(feature = "render")]
mod render;
mod render_queue;
mod revisit;
mod robots;

pub(crate) use context::{unix_ms, WorkerContext};
pub(crate) use pool::WorkerPool;
pub(crate) use render_queue::RenderQueue;
