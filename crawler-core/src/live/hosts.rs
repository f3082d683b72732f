//! The hosts a live status names: the ten with the most queued, the most failures and
//! the longest delay, and the parked ones with why.
//!
//! The scheduler builds a [`HostBoard`] by walking every host (see [`crate::live`] for
//! how often), then hands it over whole: a reader takes the latest board and never
//! touches the frontier.

use serde::{Deserialize, Serialize};

/// One host as a live status shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStatus {
    /// The host key (`http://a.test:80`).
    pub host: String,
    /// URLs waiting, in memory and in the store.
    pub queued: u64,
    /// Requests under way.
    pub in_flight: u32,
    /// Page fetches started this run.
    pub fetched: u64,
    /// Failed fetches and slow-down answers (429, 5xx, no answer, robots.txt's
    /// included) this run; it stops at 65,535.
    pub errors: u64,
    /// The least time between two requests, in milliseconds (rate, `Crawl-delay` or
    /// auto delay).
    pub delay_ms: u64,
    /// Milliseconds until the host may be asked again (a backoff or `Retry-After`
    /// pause, or its spacing); 0 when it may go now.
    pub paused_ms: u64,
    /// `fetching`, `ready`, `waiting` (for its time), `backing-off`, `robots` (its
    /// robots.txt goes first), `idle`, `parked` or `robots-unavailable`.
    pub state: String,
}

/// A host that is not crawled any more, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedHost {
    /// The host key.
    pub host: String,
    /// `host-unreachable` (parked after failures in a row) or `robots-unavailable`.
    pub kind: String,
    /// What failed, as recorded against its URLs.
    pub why: String,
}

/// The named hosts at one walk of the frontier ([`crate::frontier::Frontier::host_board`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostBoard {
    /// The most URLs queued first.
    pub by_queue: Vec<HostStatus>,
    /// The most errors first.
    pub by_errors: Vec<HostStatus>,
    /// The longest delay or pause first.
    pub by_delay: Vec<HostStatus>,
    /// The first parked hosts met in the walk.
    pub parked: Vec<ParkedHost>,
    /// Hosts backing off after failures or slow-down answers.
    pub backing_off: u64,
}

/// Hosts named in each list of a live status.
pub const NAMED: usize = 10;
