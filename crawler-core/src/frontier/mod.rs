//! The frontier: one queue per host, and the choice of which host goes next.
//!
//! A host (scheme + host + port, its [`HostKey`]) may be dispatched when its queue is
//! not empty, fewer than its concurrency of its requests are in flight, its page budget
//! is not spent, its `not_before` has passed and its rate limiter allows a request now.
//! Hosts that are dispatchable sit in a round-robin ring; hosts waiting for their time
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
//! The frontier is split by job: this module holds the queues' bookkeeping (adding,
//! completing, counting); `ready` the ready ring, the timer heap and the rate limiter
//! (which host goes next); `spill` spilling to and refilling from the store; `robots`
//! each host's robots.txt state; `backoff` slowing down, parking and closing a host;
//! `host` one host's queue and state. The messages it exchanges with the scheduler live
//! in `messages.rs` and are re-exported here.

mod backoff;
mod host;
mod ready;
mod robots;
mod spill;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use governor::clock::DefaultClock;
use governor::DefaultKeyedRateLimiter;

use crawler_storage::StoreError;

use crate::robots::RobotsRules;
use crate::url::{CanonicalUrl, HostKey};
use host::{HostQueue, RobotsState};
use robots::far_future;

pub use crate::messages::{
    Closure, Health, HostId, Job, JobKind, Next, Queued, Refusal, Refused, RobotsJob, RobotsResult,
};
pub use spill::QueueSpill;
pub(crate) use spill::StoreSpill;

/// Per-host politeness, the same for every host.
#[derive(Clone, Copy, Debug)]
pub struct Politeness {
    /// Requests in flight at once per host.
    pub concurrency: usize,
    /// Requests per second; 0 for no limit.
    pub rate: f64,
    /// Fetches started per host at most.
    pub max_pages_per_host: Option<u64>,
    /// Fetch and obey robots.txt.
    pub obey_robots: bool,
    /// How long robots.txt rules are cached.
    pub robots_ttl: Duration,
    /// The longest `Crawl-delay` honoured; longer ones are cut to this.
    pub max_crawl_delay: Duration,
    /// Retries of a failed robots.txt fetch before the host is given up.
    pub retries: u32,
    /// The first backoff pause; each further failure doubles it.
    pub backoff: Duration,
    /// The longest pause, `Retry-After` included.
    pub max_backoff: Duration,
    /// Connection failures in a row that park a host.
    pub park_after: u32,
}

impl Default for Politeness {
    fn default() -> Politeness {
        Politeness {
            concurrency: 1,
            rate: 0.0,
            max_pages_per_host: None,
            obey_robots: true,
            robots_ttl: Duration::from_secs(24 * 3600),
            max_crawl_delay: Duration::from_secs(30),
            retries: 2,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            park_after: 10,
        }
    }
}

/// The per-host queues and politeness state of a crawl; owned by the scheduler thread.
pub struct Frontier {
    hosts: Vec<HostQueue>,
    ids: HashMap<HostKey, HostId>,
    keys: Vec<HostKey>,
    ready: VecDeque<HostId>,
    waiting: BinaryHeap<Reverse<(Instant, HostId)>>,
    limiter: Option<DefaultKeyedRateLimiter<HostId>>,
    clock: DefaultClock,
    politeness: Politeness,
    /// The even spacing the rate asks for (zero without a rate).
    period: Duration,
    queued: usize,
    in_flight: usize,
    /// URLs taken out of their queues without a fetch, waiting to be recorded.
    refused: Vec<Refused>,
    /// Hosts whose `Crawl-delay` was above the cap, with the delay they asked for.
    capped: BTreeMap<String, f64>,
    /// Hosts parked, with why.
    parked: BTreeMap<String, String>,
    /// Hosts closed (parked, or robots.txt unavailable) since the last
    /// [`Frontier::take_closures`], for the scheduler to announce.
    closures: Vec<Closure>,
    /// Where queues spill; `None` keeps everything in memory.
    spill: Option<Box<dyn QueueSpill>>,
    /// A store error met while refilling a queue: the crawl must stop.
    spill_error: Option<StoreError>,
}

impl Frontier {
    /// An empty frontier with these politeness settings.
    pub fn new(politeness: Politeness) -> Frontier {
        let (period, limiter) = ready::rate_limiter(politeness.rate);
        Frontier {
            hosts: Vec::new(),
            ids: HashMap::new(),
            keys: Vec::new(),
            ready: VecDeque::new(),
            waiting: BinaryHeap::new(),
            limiter,
            clock: DefaultClock::default(),
            politeness,
            period,
            queued: 0,
            in_flight: 0,
            refused: Vec::new(),
            capped: BTreeMap::new(),
            parked: BTreeMap::new(),
            closures: Vec::new(),
            spill: None,
            spill_error: None,
        }
    }

    /// Adds a URL to its host's queue (the caller has deduplicated it, and stored it
    /// when the frontier spills). A host that has spilled only counts it: the URL will
    /// come back from the store.
    pub fn push(&mut self, queued: Queued) {
        let id = self.host_id(&queued.url);
        let cap = self.buffer_cap();
        let can_spill = self.spill.is_some();
        let host = &mut self.hosts[id];
        if queued.depth == 0 && queued.from.is_none() {
            host.seed = true;
        }
        if host.spilled || (can_spill && host.len() >= cap) {
            host.spilled = true;
            host.stored += 1;
        } else {
            host.push(queued);
        }
        self.queued += 1;
        self.wake(id);
    }

    /// Puts back a URL whose fetch failed and will be tried again. It goes first in its
    /// host's queue, once the host's backoff (set by [`Frontier::complete`]) has passed.
    pub fn retry(&mut self, queued: Queued) {
        let id = self.host_id(&queued.url);
        self.hosts[id].push_front(queued);
        self.queued += 1;
        self.wake(id);
    }

    /// Records of refused URLs of these hosts were written.
    pub fn settled(&mut self, hosts: &[HostId]) {
        for &id in hosts {
            if let Some(host) = self.hosts.get_mut(id) {
                host.refusing = host.refusing.saturating_sub(1);
            }
        }
        for &id in hosts {
            if id < self.hosts.len() {
                self.wake(id);
            }
        }
    }

    fn host_id(&mut self, url: &CanonicalUrl) -> HostId {
        let key = url.host_key();
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = self.hosts.len();
        let robots = if self.politeness.obey_robots {
            RobotsState::Unknown
        } else {
            RobotsState::Ready {
                rules: RobotsRules::allow_all(),
                expires: far_future(),
            }
        };
        let mut host = HostQueue::new(self.period, robots);
        host.robots_url = url
            .as_url()
            .join("/robots.txt")
            .ok()
            .and_then(|u| CanonicalUrl::from_url(u).ok());
        self.hosts.push(host);
        self.ids.insert(key.clone(), id);
        self.keys.push(key);
        id
    }

    /// Taken-out URLs to record without a fetch, at most `max` of them.
    pub fn take_refused(&mut self, max: usize) -> Option<Vec<Refused>> {
        if self.refused.is_empty() {
            return None;
        }
        let keep = self.refused.len().saturating_sub(max);
        Some(self.refused.split_off(keep))
    }

    /// A page fetch of `host` finished (whatever its outcome). `answered` is when its
    /// response began: the server had the request by then, so waiting a full interval
    /// from it guarantees the spacing as the server sees it, whatever the delays
    /// between dispatch, send and arrival (a new connection costs milliseconds).
    pub fn complete(&mut self, host: HostId, answered: Option<Instant>, health: Health) {
        let Some(state) = self.hosts.get_mut(host) else {
            return;
        };
        state.in_flight = state.in_flight.saturating_sub(1);
        self.in_flight = self.in_flight.saturating_sub(1);
        if matches!(state.robots, RobotsState::Fetching) {
            // A robots job that was abandoned: fetch robots.txt again.
            state.robots = RobotsState::Unknown;
        }
        if let Some(answered) = answered.filter(|_| !state.interval.is_zero()) {
            state.hold_until(answered + state.interval);
        }
        let now = answered.unwrap_or_else(Instant::now);
        self.heed(host, now, health);
        self.wake(host);
    }

    /// URLs queued and not dispatched (including those of hosts whose budget is spent).
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Jobs handed out and not reported yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Hosts known to the frontier.
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// Hosts whose `Crawl-delay` was above `max_crawl_delay`, with what they asked for.
    pub fn capped_crawl_delays(&self) -> &BTreeMap<String, f64> {
        &self.capped
    }

    /// Hosts closed since the last call: parked, or their robots.txt unavailable.
    pub fn take_closures(&mut self) -> Vec<Closure> {
        std::mem::take(&mut self.closures)
    }

    /// Hosts with work queued or in flight that are not closed, and hosts closed
    /// (parked, or robots.txt unavailable). Walks every host: call it now and then.
    pub fn host_counts(&self) -> (usize, usize) {
        let (mut active, mut closed) = (0, 0);
        for host in &self.hosts {
            if host.closed.is_some() {
                closed += 1;
            } else if host.in_flight > 0 || !host.is_empty() || host.may_refill() {
                active += 1;
            }
        }
        (active, closed)
    }

    /// Hosts parked for failing again and again, with why.
    pub fn parked_hosts(&self) -> &BTreeMap<String, String> {
        &self.parked
    }

    /// No URL is in flight, none can ever be dispatched and none waits to be recorded
    /// as refused: the crawl is over.
    pub fn is_exhausted(&self) -> bool {
        self.in_flight == 0
            && self.ready.is_empty()
            && self.waiting.is_empty()
            && self.refused.is_empty()
    }
}
