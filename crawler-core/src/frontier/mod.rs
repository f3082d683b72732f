//! The frontier: one queue per host, and the choice of which host goes next.
//!
//! A host (scheme + host + port, its [`HostKey`]) may be dispatched when its queue is
//! not empty, fewer than its concurrency of its requests are in flight, its page budget
//! is not spent, its `not_before` has passed and its rate limiter allows a request now.
//! Hosts that are dispatchable sit in ready rings, crawled in turns of up to 100 pages
//! (started hosts before those waiting for a turn: see `ready`); hosts waiting for their time
//! sit in a timer heap keyed by the instant they become ready. Picking the next URL
//! therefore never scans hosts that cannot go, so a slow, rate-limited, backed-off or
//! dead host never holds up the others, however many there are.
//!
//! Politeness beyond the rate lives here too, because it all decides *when* a host
//! may go next:
//!
//! - **robots.txt.** A host's first request is its robots.txt ([`Next::Robots`]); its
//!   other URLs wait until the rules are known. Every URL is checked against the rules
//!   as it leaves its queue: a disallowed one is not dispatched but handed out as
//!   [`Refused`], to be recorded without a fetch. While robots.txt is unreachable
//!   nothing of the host goes; robots.txt is retried with backoff, and when the retries
//!   are spent the host is closed: its URLs are refused as `robots-unavailable`. The
//!   rules are cached for `robots_ttl`, then fetched again.
//! - **Crawl-delay** raises the host's interval (capped by `max_crawl_delay`) and limits
//!   it to one request at a time.
//! - **Auto delay** (`--per-host-rate auto`, [`AutoDelay`]): the host's interval follows
//!   its last fetch's duration times a factor, doubles on 429, 503 and timeouts, and
//!   relaxes by at most half per quick answer; its `Crawl-delay` stays a floor.
//! - **Slow-down and failures** ([`Health`]): 429 and 503 pause the host for their
//!   `Retry-After` or else an exponential backoff; other 5xx and connection failures back
//!   off too. Retries come back through [`Frontier::retry`] and wait like any URL. After
//!   `park_after` connection failures in a row the host is parked: its URLs are refused
//!   as `host-unreachable`.
//!
//! **Bounded memory.** Every queued URL is in the store (the worker that found it wrote
//! it there with its page). Memory holds at most a small buffer per host. A host that
//! outgrows its buffer *spills*: from then on its new URLs are only counted, and its
//! buffer is refilled from the store, in the order the URLs were discovered, whenever it
//! runs dry while nothing of the host is in flight or waiting to be recorded. Refilling
//! only at that quiet moment is what keeps a URL from being handed out twice: everything
//! the store then holds for the host without a record is neither in memory nor leased.
//!
//! The frontier is plain data owned by the scheduler thread: no locks, no threads.
//!
//! The frontier is split by job: `queues` holds the [`Frontier`] itself and the queues'
//! bookkeeping (adding, completing, counting); `ready` the ready rings and turns, the timer heap
//! and the rate limiter (which host goes next); `spill` spilling to and refilling from
//! the store; `robots` each host's robots.txt state; `backoff` slowing down, parking and
//! closing a host; `board` naming hosts for a live status; `host` one host's queue and state; `reasons` the texts of
//! why hosts were closed, each held once; `moment` instants in 8 bytes;
//! `host_keys` every host's key in one string; `shared` the politeness a cluster node
//! shares with the host's next owner and adopts from its last. Each adds methods to the
//! `Frontier` of `queues`; this module only declares them and re-exports, so none of
//! them imports it. The messages it exchanges with the scheduler live in `messages.rs`
//! and are re-exported here.

mod auto_delay;
mod backoff;
mod board;
mod chunked;
mod host;
mod host_keys;
mod moment;
mod queues;
mod ready;
mod reasons;
mod rings;
mod robots;
mod shared;
mod spill;
#[cfg(test)]
mod tests;

pub use crate::messages::{
    AdoptedHost, Answered, Closure, Health, HostId, HostNews, Job, JobKind, Next, Queued, Refusal,
    Refused, RobotsJob, RobotsResult,
};
pub use auto_delay::AutoDelay;
pub use queues::{Frontier, Politeness, QueueSpill, NAMED_HOSTS};
pub(crate) use spill::{queued_from_store, StoreSpill};
