//! How many idle connections the crawl keeps, over all hosts.
//!
//! reqwest's pool bounds idle connections per host only: a crawl of 1,000 hosts, each
//! fetched every few seconds, kept a socket per host, and died for want of file
//! descriptors under the common limit of 1,024. Here a request goes through the
//! pooling client only while fewer than a budget of hosts (sized from the open-file
//! limit) may hold an idle connection; beyond it, through a client that closes its
//! connection after the response. A host counts as holding one from its request until
//! `hold` after its last one ended (the pool's idle timeout, with a margin for its
//! reaper), or until a request that closed its connection ([`Keep::Nothing`]) ended.
//!
//! There is such a pair of clients per route: one for each port `--resolve` rules
//! name, whose resolver knows that port's rules only, and one for every other port
//! (see `resolver.rs`). Without rules there is one route. The budget is shared: an
//! origin names its port, so it holds connections of one route only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;

/// Descriptors left to the store, the log and the runtime before sockets are counted.
const RESERVED_DESCRIPTORS: u64 = 256;
/// Hosts holding idle connections at most, however high the open-file limit.
const MAX_POOLED_HOSTS: usize = 4096;

/// What a request leaves behind for its host's next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keep {
    /// Its connection, idle in the pool if the host may hold one.
    Connection,
    /// Nothing: the connection closes after the response.
    Nothing,
}

pub(super) struct Pools {
    /// The route of each port rules name.
    by_port: Vec<(u16, Route)>,
    /// The route of every other port.
    other: Route,
    holding: Mutex<Holding>,
    budget: usize,
    hold: Duration,
}

/// The pooling and the closing client of one route.
pub(super) struct Route {
    pub(super) pooled: Client,
    pub(super) unpooled: Client,
}

/// Hosts that may hold an idle connection of `pooled`, with when they last used it.
struct Holding {
    hosts: HashMap<String, Instant>,
    /// No host's hold ends before this: a full budget is not swept again until then
    /// (a sweep walks every host; before, it ran on each request past the budget).
    next_sweep: Instant,
}

impl Pools {
    /// `by_port` routes requests to their ports, `other` every other request.
    pub(super) fn new(
        by_port: Vec<(u16, Route)>,
        other: Route,
        budget: usize,
        hold: Duration,
    ) -> Pools {
        Pools {
            by_port,
            other,
            holding: Mutex::new(Holding {
                hosts: HashMap::new(),
                next_sweep: Instant::now(),
            }),
            budget,
            hold,
        }
    }

    /// The client for a request to `origin` (scheme, host, port) on `port`.
    pub(super) fn client(&self, origin: &str, port: Option<u16>) -> &Client {
        let route = self.route(port);
        let now = Instant::now();
        // A map of instants: whole after any panic.
        let mut holding = self.holding.lock().unwrap_or_else(|p| p.into_inner());
        let Holding { hosts, next_sweep } = &mut *holding;
        if let Some(used) = hosts.get_mut(origin) {
            *used = now;
            return &route.pooled;
        }
        if hosts.len() >= self.budget && now >= *next_sweep {
            hosts.retain(|_, used| now.duration_since(*used) < self.hold);
            let first_end = hosts.values().min().map(|&used| used + self.hold);
            *next_sweep = first_end.unwrap_or(now);
        }
        if hosts.len() < self.budget {
            hosts.insert(origin.to_owned(), now);
            return &route.pooled;
        }
        &route.unpooled
    }

    fn route(&self, port: Option<u16>) -> &Route {
        let found = self.by_port.iter().find(|(p, _)| Some(*p) == port);
        found.map_or(&self.other, |(_, route)| route)
    }

    /// A request to `origin` ended: its idle time starts now, or, when it kept
    /// nothing, the host holds no connection any more.
    pub(super) fn done(&self, origin: &str, keep: Keep) {
        let mut holding = self.holding.lock().unwrap_or_else(|p| p.into_inner());
        match keep {
            Keep::Connection => {
                if let Some(used) = holding.hosts.get_mut(origin) {
                    *used = Instant::now();
                }
            }
            Keep::Nothing => {
                holding.hosts.remove(origin);
            }
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
