//! How many idle connections the crawl keeps, over all hosts.
//!
//! reqwest's pool bounds idle connections per host only: a crawl of 1,000 hosts, each
//! fetched every few seconds, kept a socket per host, and died for want of file
//! descriptors under the common limit of 1,024. Here a request goes through the
//! pooling client only while fewer than a budget of hosts (sized from the open-file
//! limit) may hold an idle connection; beyond it, through a client that closes its
//! connection after the response. A host counts as holding one from its request until
//! `hold` after its last one ended (the pool's idle timeout, with a margin for its
//! reaper).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;

/// Descriptors left to the store, the log and the runtime before sockets are counted.
const RESERVED_DESCRIPTORS: u64 = 256;
/// Hosts holding idle connections at most, however high the open-file limit.
const MAX_POOLED_HOSTS: usize = 4096;

pub(super) struct Pools {
    pooled: Client,
    unpooled: Client,
    /// Hosts that may hold an idle connection of `pooled`, with when they last used it.
    holding: Mutex<HashMap<String, Instant>>,
    budget: usize,
    hold: Duration,
}

impl Pools {
    pub(super) fn new(pooled: Client, unpooled: Client, budget: usize, hold: Duration) -> Pools {
        Pools {
            pooled,
            unpooled,
            holding: Mutex::new(HashMap::new()),
            budget,
            hold,
        }
    }

    /// The client for a request to `origin` (scheme, host, port).
    pub(super) fn client(&self, origin: &str) -> &Client {
        let now = Instant::now();
        // A map of instants: whole after any panic.
        let mut holding = self.holding.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(used) = holding.get_mut(origin) {
            *used = now;
            return &self.pooled;
        }
        if holding.len() >= self.budget {
            holding.retain(|_, used| now.duration_since(*used) < self.hold);
        }
        if holding.len() < self.budget {
            holding.insert(origin.to_owned(), now);
            return &self.pooled;
        }
        &self.unpooled
    }

    /// A request to `origin` ended: its idle time starts now.
    pub(super) fn done(&self, origin: &str) {
        let mut holding = self.holding.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(used) = holding.get_mut(origin) {
            *used = Instant::now();
        }
    }
}

/// Hosts that may hold idle connections: half of the descriptors the open-file limit
/// leaves after [`RESERVED_DESCRIPTORS`] (the other half for the server side of
/// closing sockets and for requests in flight), at most [`MAX_POOLED_HOSTS`].
pub(super) fn pooled_hosts_budget(idle_per_host: usize) -> usize {
    let limit = open_files_limit().unwrap_or(1024);
    let spare = limit.saturating_sub(RESERVED_DESCRIPTORS) / 2;
    let hosts = usize::try_from(spare).unwrap_or(usize::MAX) / idle_per_host.max(1);
    hosts.min(MAX_POOLED_HOSTS)
}

#[cfg(unix)]
fn open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, a live local.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    read.then_some(limit.rlim_cur)
}

#[cfg(not(unix))]
fn open_files_limit() -> Option<u64> {
    None
}
