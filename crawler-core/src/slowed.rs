//! The hosts a crawl slowed down, as the summary and `crawler stats` name them: plain
//! data the frontier fills and `pace` saves, kept apart so that neither imports the
//! other.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Hosts the summary and `crawler stats` name, slowest first; the rest are counted.
pub const NAMED_SLOWEST: usize = 10;

/// One host's pace: the least time between its requests now, and its backoff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostPace {
    /// The host's key: `scheme://host:port`.
    pub host: String,
    /// Seconds from one response's start to the host's next request: its rate's
    /// spacing, its `Crawl-delay`, or with `--per-host-rate auto` its current delay.
    pub delay_secs: f64,
    /// Slow-down answers and failures since its last good answer (0: not backing off).
    pub backoff_level: u8,
}

impl HostPace {
    pub(crate) fn new(host: &str, delay: Duration, backoff_level: u8) -> HostPace {
        HostPace {
            host: host.to_owned(),
            delay_secs: delay.as_secs_f64(),
            backoff_level,
        }
    }
}

/// The hosts spaced out the most, and how many are slowed in all.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SlowedHosts {
    /// Slowest first, the first [`NAMED_SLOWEST`]: by their `Crawl-delay`, by backoff,
    /// or with `--per-host-rate auto` by their current delay.
    pub slowest_hosts: Vec<HostPace>,
    /// Hosts whose delay is not a new host's (above the rate's spacing, or in auto
    /// mode above `min_delay`) or that are backing off, named or not.
    pub hosts_slowed: u64,
}
