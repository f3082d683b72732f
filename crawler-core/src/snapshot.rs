//! The live counters of a running crawl copied at one instant: what
//! [`crate::Progress::snapshot`] returns and every live view starts from.

use serde::{Deserialize, Serialize};

/// A copy of the counters at one instant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Fetches completed (with a response or an error).
    pub fetched: u64,
    /// Fetches that ended in an error.
    pub errors: u64,
    /// Decompressed body bytes received.
    pub bytes: u64,
    /// URLs waiting in the frontier.
    pub queued: u64,
    /// Fetches under way.
    pub in_flight: u64,
    /// Hosts the frontier knows.
    pub hosts: u64,
    /// Hosts with work queued or in flight that are not parked or closed.
    pub hosts_active: u64,
    /// Hosts parked after repeated connection failures, or closed because their
    /// robots.txt stayed unreachable.
    pub hosts_parked: u64,
    /// Hook calls (page handler, URL filter, page sink) that failed or panicked; a
    /// page's handler and sink failing count twice, a page's URL filter failing on
    /// several links once.
    pub hook_failures: u64,
    /// Events not delivered because the event channel was full (see [`crate::events`]).
    pub events_dropped: u64,
    /// The scheduler has taken a pause ([`crate::StopHandle::pause`]): it hands out
    /// nothing new, so once `in_flight` is 0 no request is being made.
    pub paused: bool,
    /// Seconds since the crawl was set up.
    pub elapsed_secs: f64,
    /// `fetched` over `elapsed_secs`.
    pub pages_per_sec: f64,
}
