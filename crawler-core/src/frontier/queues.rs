//! The [`Frontier`] and the queues' bookkeeping: adding URLs, completing requests,
//! counting. The other modules of `frontier` add the rest of its methods.

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BinaryHeap};
use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::clock::DefaultClock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hashbrown::HashTable;

use crawler_storage::StoreError;

use super::auto_delay::AutoDelay;
use super::chunked::Chunked;
use super::host::{far_future, HostQueue, RobotsState};
use super::host_keys::HostKeys;
use super::reasons::Reasons;
use super::rings::ReadyRings;
use crate::messages::{Answered, Closure, Health, HostId, HostNews, Queued, Refused};
use crate::robots::RobotsRules;
use crate::url::CanonicalUrl;

/// URLs kept in memory for the whole frontier at most, shared out among hosts (each
/// host keeps between `spill::MIN_BUFFER` and `spill::MAX_BUFFER`).
pub(super) const MEMORY_BUDGET: usize = 200_000;

/// Hosts named in the lists of parked hosts and of capped crawl delays at most: a
/// broad crawl parks hosts by the hundred thousand, and the counters count them all.
pub const NAMED_HOSTS: usize = 100;

/// Per-host politeness, the same for every host.
#[derive(Clone, Copy, Debug)]
pub struct Politeness {
    /// Requests in flight at once per host.
    pub concurrency: usize,
    /// Requests per second; 0 for no limit.
    pub rate: f64,
    /// `--per-host-rate auto`: each host's interval follows its response time (the
    /// rate is then 0).
    pub adaptive: Option<AutoDelay>,
    /// Page fetches per host at most in the whole crawl (earlier runs counted).
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
            adaptive: None,
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

/// Where host queues spill when they outgrow memory: the store's frontier.
pub trait QueueSpill: Send {
    /// The first `limit` URLs the store holds for `host` and has not recorded, in the
    /// order they were discovered. Called only when every URL of the host handed out
    /// before is recorded (or held again in memory, as a retry is).
    fn load(&self, host: &str, limit: usize) -> Result<Vec<Queued>, StoreError>;

    /// Pages of the host `url` is on that earlier runs fetched (records refused
    /// without a fetch left out): what they spent of its page budget.
    fn fetched_before(&self, url: &CanonicalUrl) -> Result<u64, StoreError> {
        let _ = url;
        Ok(0)
    }

    /// How many URLs the store holds for `host` from where [`QueueSpill::load`] last
    /// started: at least those not recorded, perhaps a few recorded ones too (it is
    /// read cheaply, for counting, not for handing out).
    fn count(&self, host: &str) -> Result<u64, StoreError>;
}

/// The per-host queues and politeness state of a crawl; owned by the scheduler thread.
pub struct Frontier {
    pub(super) hosts: Chunked<HostQueue>,
    /// Each host's id, found by its key in `keys`: a key is held once.
    /// Host ids by key, as `u32` (4 bytes a host less than `HostId`; a crawl with
    /// more than four billion hosts would need more than the memory it has).
    pub(super) ids: HashTable<u32>,
    pub(super) hasher: RandomState,
    pub(super) keys: HostKeys,
    /// Hosts that may go now, by priority and turn (see [`Frontier::next`]).
    pub(super) ready: ReadyRings,
    pub(super) waiting: BinaryHeap<Reverse<(Instant, HostId)>>,
    pub(super) limiter: Option<DefaultKeyedRateLimiter<HostId>>,
    pub(super) clock: DefaultClock,
    pub(super) politeness: Politeness,
    /// The even spacing the rate asks for (zero without a rate); in auto mode, the
    /// delay a host starts from (`min`).
    pub(super) period: Duration,
    /// A host's delay or backoff level changed since the last
    /// [`Frontier::take_pace_changed`]: the saved politeness state is behind.
    pub(super) pace_changed: bool,
    pub(super) queued: usize,
    /// URLs held in hosts' buffers (the rest of `queued` is in the store).
    pub(super) in_memory: usize,
    /// `in_memory` at which new URLs go to the store only.
    pub(super) memory_budget: usize,
    pub(super) in_flight: usize,
    /// URLs taken out of their queues without a fetch, waiting to be recorded.
    pub(super) refused: Vec<Refused>,
    /// Hosts whose `Crawl-delay` was above the cap, with the delay they asked for
    /// (the first [`NAMED_HOSTS`]).
    pub(super) capped: BTreeMap<String, f64>,
    /// Hosts parked, with why (the first [`NAMED_HOSTS`]).
    pub(super) parked: BTreeMap<String, String>,
    /// Hosts parked, and hosts whose `Crawl-delay` was capped, named or not.
    pub(super) parked_count: u64,
    pub(super) capped_count: u64,
    /// Why hosts were closed, each distinct text held once (see [`Reasons`]).
    pub(super) reasons: Reasons,
    /// Hosts closed (parked, or robots.txt unavailable) since the last
    /// [`Frontier::take_closures`], for the scheduler to announce.
    pub(super) closures: Vec<Closure>,
    /// Where queues spill; `None` keeps everything in memory.
    pub(super) spill: Option<Box<dyn QueueSpill>>,
    /// A store error met while refilling a queue: the crawl must stop.
    pub(super) spill_error: Option<StoreError>,
    /// What a cluster node shares of its hosts' politeness (see `shared`); `None`
    /// when not a cluster node.
    pub(super) news: Option<Vec<HostNews>>,
}

impl Frontier {
    /// An empty frontier with these politeness settings.
    pub fn new(politeness: Politeness) -> Frontier {
        let (period, limiter) = match politeness.adaptive {
            Some(auto) => (auto.min, None),
            None => rate_limiter(politeness.rate),
        };
        Frontier {
            hosts: Chunked::default(),
            ids: HashTable::new(),
            hasher: RandomState::new(),
            keys: HostKeys::default(),
            ready: ReadyRings::default(),
            waiting: BinaryHeap::new(),
            limiter,
            clock: DefaultClock::default(),
            politeness,
            period,
            pace_changed: false,
            queued: 0,
            in_memory: 0,
            memory_budget: MEMORY_BUDGET,
            in_flight: 0,
            refused: Vec::new(),
            capped: BTreeMap::new(),
            parked: BTreeMap::new(),
            reasons: Reasons::default(),
            parked_count: 0,
            capped_count: 0,
            closures: Vec::new(),
            spill: None,
            spill_error: None,
            news: None,
        }
    }

    /// [`Frontier::push`]es each of `discovered`, in order.
    pub fn push_all(&mut self, discovered: impl IntoIterator<Item = Queued>) {
        for queued in discovered {
            self.push(queued);
        }
    }

    /// Adds a URL to its host's queue (the caller has deduplicated it, and stored it
    /// when the frontier spills). A host that has spilled only counts it: the URL will
    /// come back from the store. A host spills when its buffer is full, or when the
    /// buffers of all hosts together hold the memory budget (a broad crawl's millions
    /// of hosts wait in the store, not in memory).
    pub fn push(&mut self, queued: Queued) {
        let id = self.host_id(&queued.url);
        let cap = self.buffer_cap();
        let can_spill = self.spill.is_some();
        let memory_full = self.in_memory >= self.memory_budget;
        let host = &mut self.hosts[id];
        if queued.depth == 0 && queued.from.is_none() {
            host.seed = true;
        }
        // A spilled host's memory holds the best of its queue as it was; a URL that
        // goes before some of it is held too (up to twice the buffer), or a page
        // found after the host spilled would wait behind all the buffer holds. It is
        // in the store as well: read again only once memory ran dry, and settled by then.
        let goes_first = host.spilled
            && !memory_full
            && host.len() < 2 * cap
            && host
                .worst_order()
                .is_some_and(|worst| queued.order() < worst);
        if !goes_first && (host.spilled || (can_spill && (host.len() >= cap || memory_full))) {
            host.spilled = true;
            host.stored += 1;
        } else {
            host.push(queued);
            self.in_memory += 1;
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
        self.in_memory += 1;
        self.wake(id);
    }

    /// Drops the queued URLs (not those in flight) of the hosts whose key `lost`
    /// names: a cluster node's hosts whose partition passed to another node, which
    /// fetches them now. Returns how many were dropped.
    pub fn drop_queued(&mut self, mut lost: impl FnMut(&str) -> bool) -> usize {
        let mut dropped = 0;
        for id in 0..self.hosts.len() {
            if self.hosts[id].is_empty() || !lost(&self.keys[id]) {
                continue;
            }
            while self.hosts[id].pop().is_some() {
                dropped += 1;
            }
        }
        self.queued -= dropped;
        self.in_memory -= dropped;
        dropped
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

    /// The id of the host `key` names (added if new); `None` for a string that is no
    /// host key (state read back from a store or a cluster is not trusted blindly).
    pub(super) fn host_id_of_key(&mut self, key: &str) -> Option<HostId> {
        let url = CanonicalUrl::parse(&format!("{key}/")).ok()?;
        (url.host_key().as_str() == key).then(|| self.host_id(&url))
    }

    pub(super) fn host_id(&mut self, url: &CanonicalUrl) -> HostId {
        let key = url.host_key();
        let hash = self.hasher.hash_one(key.as_str());
        let keys = &self.keys;
        if let Some(&id) = self
            .ids
            .find(hash, |&id| &keys[id as usize] == key.as_str())
        {
            return id as usize;
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
        if self.politeness.max_pages_per_host.is_some() {
            // The budget is the crawl's: what earlier runs fetched of the host counts.
            match self.spill.as_ref().map(|spill| spill.fetched_before(url)) {
                Some(Ok(fetched)) => host.dispatched = fetched,
                Some(Err(error)) => {
                    self.spill_error.get_or_insert(error);
                }
                None => {}
            }
        }
        self.hosts.push(host);
        let (keys, hasher) = (&self.keys, &self.hasher);
        let short = u32::try_from(id).unwrap_or(u32::MAX);
        self.ids
            .insert_unique(hash, short, |&id| hasher.hash_one(&keys[id as usize]));
        self.keys.push(key.as_str());
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

    /// A page fetch of `host` finished (whatever its outcome). `answered.at` is when its
    /// response began: the server had the request by then, so waiting a full interval
    /// from it guarantees the spacing as the server sees it, whatever the delays
    /// between dispatch, send and arrival (a new connection costs milliseconds). In
    /// auto mode the interval is first moved by what the fetch said of the host's pace.
    pub fn complete(&mut self, host: HostId, answered: Option<Answered>, health: Health) {
        let Some(state) = self.hosts.get_mut(host) else {
            return;
        };
        state.in_flight = state.in_flight.saturating_sub(1);
        self.in_flight = self.in_flight.saturating_sub(1);
        if matches!(state.robots, RobotsState::Fetching) {
            // A robots job that was abandoned: fetch robots.txt again.
            state.robots = RobotsState::Unknown;
        }
        self.adapt(host, answered.map(|answered| answered.took), &health);
        let state = &mut self.hosts[host];
        let answered = answered.map(|answered| answered.at);
        if let Some(answered) = answered.filter(|_| !state.interval().is_zero()) {
            state.hold_until(answered + state.interval());
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
        for host in self.hosts.iter() {
            if host.closed.is_some() {
                closed += 1;
            } else if host.in_flight > 0 || !host.is_empty() || host.may_refill() {
                active += 1;
            }
        }
        (active, closed)
    }

    /// Hosts parked for failing again and again, with why: the first
    /// [`NAMED_HOSTS`] of them.
    pub fn parked_hosts(&self) -> &BTreeMap<String, String> {
        &self.parked
    }

    /// Hosts parked, and hosts whose `Crawl-delay` was capped, named or not.
    pub fn parked_and_capped_counts(&self) -> (u64, u64) {
        (self.parked_count, self.capped_count)
    }

    /// Drops the rate limiter's state of hosts whose last request is a full period
    /// ago (a fresh state allows the same): a broad crawl's idle hosts cost nothing.
    /// Walks every host the limiter knows: call it now and then.
    pub fn forget_idle_rate_limits(&mut self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
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

/// The even spacing a rate (requests per second, 0 for none) asks for, and the keyed
/// limiter that enforces it per host (`None` without a rate).
fn rate_limiter(rate: f64) -> (Duration, Option<DefaultKeyedRateLimiter<HostId>>) {
    let period = if rate > 0.0 {
        Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1))
    } else {
        Duration::ZERO
    };
    let limiter = (rate > 0.0).then(|| {
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        RateLimiter::keyed(quota)
    });
    (period, limiter)
}
