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

mod host;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crawler_storage::StoreError;

use crate::error_kind::ErrorKind;
use crate::robots::RobotsRules;
use crate::url::{CanonicalUrl, HostKey};
use host::{Closed, HostQueue, RobotsState, Slot};

/// Index of a host in the frontier.
pub type HostId = usize;

/// What a queued URL is fetched as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// A page: stored, and its links followed.
    Page,
    /// A sitemap, `level` sitemap indexes below the one that was found first.
    Sitemap {
        /// Sitemap indexes followed to reach it (0 for one named by robots.txt or
        /// `--sitemap`).
        level: u8,
    },
}

impl JobKind {
    /// How the store's frontier spells the kind (`None` for a page).
    pub fn store_name(self) -> Option<String> {
        match self {
            JobKind::Page => None,
            JobKind::Sitemap { level } => Some(format!("sitemap:{level}")),
        }
    }

    /// The kind a stored frontier entry names; anything unknown is a page.
    pub fn from_store_name(name: Option<&str>) -> JobKind {
        name.and_then(|name| name.strip_prefix("sitemap:"))
            .and_then(|level| level.parse().ok())
            .map_or(JobKind::Page, |level| JobKind::Sitemap { level })
    }
}

/// A URL handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The URL to fetch.
    pub url: CanonicalUrl,
    /// Its host in the frontier.
    pub host: HostId,
    /// Link hops from a seed.
    pub depth: u32,
    /// The page it was discovered on (`None` for seeds).
    pub from: Option<String>,
    /// Redirect hops that led here.
    pub hops: u8,
    /// A page or a sitemap.
    pub kind: JobKind,
    /// Fetch attempts already made (0 for a first try).
    pub attempts: u32,
}

/// A URL waiting in a host queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The URL, canonical.
    pub url: CanonicalUrl,
    /// Link hops from a seed.
    pub depth: u32,
    /// The page it was discovered on (`None` for seeds).
    pub from: Option<String>,
    /// Redirect hops that led here.
    pub hops: u8,
    /// A page or a sitemap.
    pub kind: JobKind,
    /// Fetch attempts already made.
    pub attempts: u32,
}

impl Queued {
    /// A page URL on its first try.
    pub fn page(url: CanonicalUrl, depth: u32, from: Option<String>, hops: u8) -> Queued {
        Queued {
            url,
            depth,
            from,
            hops,
            kind: JobKind::Page,
            attempts: 0,
        }
    }
}

/// Where host queues spill when they outgrow memory: the store's frontier.
pub trait QueueSpill: Send {
    /// The first `limit` URLs the store holds for `host` and has not recorded, in the
    /// order they were discovered. Called only when every URL of the host handed out
    /// before is recorded (or held again in memory, as a retry is).
    fn load(&self, host: &str, limit: usize) -> Result<Vec<Queued>, StoreError>;
}

/// URLs kept in memory for the whole frontier at most, shared out among hosts (each
/// host keeps between [`MIN_BUFFER`] and [`MAX_BUFFER`]).
const MEMORY_BUDGET: usize = 200_000;
const MIN_BUFFER: usize = 8;
const MAX_BUFFER: usize = 256;

/// A robots.txt fetch for a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RobotsJob {
    /// The host in the frontier.
    pub host: HostId,
    /// `/robots.txt` of the host, or where it redirected.
    pub url: CanonicalUrl,
    /// Redirects followed to get here.
    pub hops: u8,
    /// Whether a seed is on the host (its `Sitemap` lines are wanted then).
    pub seed_host: bool,
}

/// A URL settled without a fetch, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The host in the frontier.
    pub host: HostId,
    /// The URL not fetched.
    pub queued: Queued,
    /// Why.
    pub reason: Refusal,
}

/// Why a URL is not fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A robots.txt rule disallows it (the rule and group, for the record).
    RobotsDisallowed(String),
    /// The host's robots.txt could not be fetched through all retries.
    RobotsUnavailable(Arc<str>),
    /// The host is parked after failing again and again.
    HostUnreachable(Arc<str>),
}

impl Refusal {
    /// The error kind the store records.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Refusal::RobotsDisallowed(_) => ErrorKind::RobotsDisallowed,
            Refusal::RobotsUnavailable(_) => ErrorKind::RobotsUnavailable,
            Refusal::HostUnreachable(_) => ErrorKind::HostUnreachable,
        }
    }

    /// The human-readable detail the store records.
    pub fn message(&self) -> String {
        match self {
            Refusal::RobotsDisallowed(rule) => format!("disallowed by robots.txt: {rule}"),
            Refusal::RobotsUnavailable(why) => {
                format!("robots.txt unreachable, so nothing on the host is fetched ({why})")
            }
            Refusal::HostUnreachable(why) => format!("host parked after repeated failures ({why})"),
        }
    }
}

/// A host the frontier closed: nothing more of it is fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closure {
    /// The host key (`http://a.test:80`).
    pub host: String,
    /// `host-unreachable` (parked) or `robots-unavailable`.
    pub kind: &'static str,
    /// Why, as recorded against its URLs.
    pub reason: String,
}

/// What the frontier can give the scheduler now.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Fetch this.
    Job(Job),
    /// Fetch this host's robots.txt.
    Robots(RobotsJob),
    /// Nothing is ready; the earliest host becomes ready at this instant.
    WaitUntil(Instant),
    /// Nothing is ready or waiting: only completions in flight can bring more work.
    Idle,
}

/// What a finished request says about its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// An answer that asks nothing of us (any status but 429 and 5xx).
    Fine,
    /// 429 or 503: slow down, for `retry_after` if the server said.
    Overloaded {
        /// The server's `Retry-After`, read.
        retry_after: Option<Duration>,
    },
    /// Another 5xx.
    ServerError,
    /// No usable answer: connection refused, DNS, timeout, broken connection.
    Unreachable {
        /// What failed, for the record of a parked host.
        reason: String,
    },
    /// Nothing was sent.
    NotContacted,
}

/// The meaning of a finished robots.txt fetch, for the frontier.
#[derive(Clone, Debug, PartialEq)]
pub enum RobotsResult {
    /// These rules apply (a missing file gives [`RobotsRules::allow_all`]).
    Rules(Arc<RobotsRules>),
    /// Fetch this next, for the same host.
    Redirect {
        /// Where robots.txt moved to.
        url: CanonicalUrl,
        /// Redirect hops so far.
        hops: u8,
    },
    /// No usable answer: nothing of the host goes; retry later.
    Unreachable {
        /// What failed.
        reason: String,
        /// The server's `Retry-After`, read.
        retry_after: Option<Duration>,
        /// No connection at all (counts toward parking the host).
        connection_failure: bool,
    },
}

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

/// URLs refused in one call to [`Frontier::next`] at most, so one host with a huge
/// disallowed queue cannot keep the scheduler from its other work.
const REFUSALS_PER_CALL: usize = 4096;

impl Frontier {
    /// An empty frontier with these politeness settings.
    pub fn new(politeness: Politeness) -> Frontier {
        let period = if politeness.rate > 0.0 {
            Duration::from_secs_f64(1.0 / politeness.rate).max(Duration::from_nanos(1))
        } else {
            Duration::ZERO
        };
        let limiter = (politeness.rate > 0.0).then(|| {
            let quota = Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::MIN);
            RateLimiter::keyed(quota)
        });
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

    /// Lets host queues spill to `spill` instead of growing without bound.
    pub fn with_spill(mut self, spill: Box<dyn QueueSpill>) -> Frontier {
        self.spill = Some(spill);
        self
    }

    /// The store error a refill met, if any (the crawl must stop).
    pub fn take_spill_error(&mut self) -> Option<StoreError> {
        self.spill_error.take()
    }

    /// Memory buffer of each host: the budget shared by the hosts known.
    fn buffer_cap(&self) -> usize {
        (MEMORY_BUDGET / self.hosts.len().max(1)).clamp(MIN_BUFFER, MAX_BUFFER)
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

    /// Takes up a host the store has URLs for (a resumed crawl): its buffer is filled
    /// from the store, and it spills when the store holds more than the buffer took.
    pub fn resume_host(&mut self, host: &str) {
        let cap = self.buffer_cap();
        let loaded = match self.spill.as_ref().map(|spill| spill.load(host, cap)) {
            Some(Ok(loaded)) => loaded,
            Some(Err(error)) => {
                self.spill_error.get_or_insert(error);
                return;
            }
            None => return,
        };
        let full = loaded.len() >= cap;
        let mut id = None;
        for queued in loaded {
            id = Some(self.host_id(&queued.url));
            self.push(queued);
        }
        if let Some(id) = id.filter(|_| full) {
            self.hosts[id].spilled = true;
            self.hosts[id].stored += 1;
            self.queued += 1;
        }
    }

    /// The next URL of a host's queue, refilling its buffer from the store when it ran
    /// dry and nothing of the host is leased.
    fn pop(&mut self, id: HostId) -> Option<Queued> {
        if self.hosts[id].is_empty() && self.hosts[id].may_refill() {
            self.refill(id);
        }
        let queued = self.hosts[id].pop()?;
        self.queued -= 1;
        Some(queued)
    }

    fn refill(&mut self, id: HostId) {
        let cap = self.buffer_cap();
        let Some(spill) = self.spill.as_ref() else {
            return;
        };
        let loaded = match spill.load(self.keys[id].as_str(), cap) {
            Ok(loaded) => loaded,
            Err(error) => {
                self.spill_error.get_or_insert(error);
                Vec::new()
            }
        };
        let host = &mut self.hosts[id];
        let count = loaded.len() as u64;
        for queued in loaded {
            host.push(queued);
        }
        // `stored` counted what reports announced; the store is the truth. Once it
        // holds nothing beyond what was just loaded, the estimate is spent.
        let before = host.stored;
        host.stored = if count < cap as u64 {
            0
        } else {
            before.saturating_sub(count).max(1)
        };
        self.queued =
            (self.queued + count as usize + host.stored as usize).saturating_sub(before as usize);
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

    /// Puts back a URL whose fetch failed and will be tried again. It goes first in its
    /// host's queue, once the host's backoff (set by [`Frontier::complete`]) has passed.
    pub fn retry(&mut self, queued: Queued) {
        let id = self.host_id(&queued.url);
        self.hosts[id].push_front(queued);
        self.queued += 1;
        self.wake(id);
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

    /// Hands out the next URL (or robots.txt) whose host may be fetched now.
    ///
    /// URLs that must not be fetched (disallowed, or of a closed host) are moved to the
    /// refused list on the way; see [`Frontier::take_refused`].
    pub fn next(&mut self, now: Instant) -> Next {
        while let Some(Reverse((at, id))) = self.waiting.peek().copied() {
            if at > now {
                break;
            }
            self.waiting.pop();
            self.hosts[id].slot = Slot::Idle;
            self.wake(id);
        }
        while let Some(id) = self.ready.pop_front() {
            self.hosts[id].slot = Slot::Idle;
            self.expire_robots(id, now);
            if !self.dispatchable(id) {
                continue;
            }
            if let Some(closed) = self.hosts[id].closed.clone() {
                self.refuse_all(id, &closed);
                continue;
            }
            let not_before = self.hosts[id].not_before;
            if not_before > now {
                self.wait(id, not_before);
                continue;
            }
            if self.hosts[id].needs_robots() {
                if let Some(wait) = self.rate_wait(id) {
                    self.wait(id, now + wait);
                    continue;
                }
                if let Some(job) = self.robots_job(id) {
                    return Next::Robots(job);
                }
                continue;
            }
            let Some(queued) = self.next_allowed(id) else {
                self.wake(id);
                continue;
            };
            if let Some(wait) = self.rate_wait(id) {
                self.hosts[id].push_front(queued);
                self.queued += 1;
                self.wait(id, now + wait);
                continue;
            }
            let host = &mut self.hosts[id];
            host.in_flight += 1;
            if queued.attempts == 0 {
                host.dispatched += 1;
            }
            self.in_flight += 1;
            self.wake(id);
            return Next::Job(Job {
                url: queued.url,
                host: id,
                depth: queued.depth,
                from: queued.from,
                hops: queued.hops,
                kind: queued.kind,
                attempts: queued.attempts,
            });
        }
        match self.waiting.peek() {
            Some(Reverse((at, _))) => Next::WaitUntil(*at),
            None => Next::Idle,
        }
    }

    /// Pops the host's queue until a URL its robots.txt allows; the others are refused.
    fn next_allowed(&mut self, id: HostId) -> Option<Queued> {
        let RobotsState::Ready { rules, .. } = &self.hosts[id].robots else {
            return None;
        };
        let rules = Arc::clone(rules);
        for _ in 0..REFUSALS_PER_CALL {
            let queued = self.pop(id)?;
            let verdict = rules.verdict(&queued.url);
            if verdict.allowed {
                return Some(queued);
            }
            let rule = match (verdict.rule, rules.group()) {
                (Some(rule), Some(group)) => {
                    format!("{rule} (line {}, group {group})", rule.line)
                }
                (Some(rule), None) => format!("{rule} (line {})", rule.line),
                (None, _) => "no rule".to_owned(),
            };
            self.hosts[id].refusing += 1;
            self.refused.push(Refused {
                host: id,
                queued,
                reason: Refusal::RobotsDisallowed(rule),
            });
        }
        None
    }

    /// Moves a closed host's queue to the refused list.
    fn refuse_all(&mut self, id: HostId, closed: &Closed) {
        let reason = match closed {
            Closed::RobotsUnavailable(why) => Refusal::RobotsUnavailable(Arc::clone(why)),
            Closed::Unreachable(why) => Refusal::HostUnreachable(Arc::clone(why)),
        };
        while let Some(queued) = self.pop(id) {
            self.hosts[id].refusing += 1;
            self.refused.push(Refused {
                host: id,
                queued,
                reason: reason.clone(),
            });
        }
    }

    fn robots_job(&mut self, id: HostId) -> Option<RobotsJob> {
        let host = &mut self.hosts[id];
        let (url, hops) = match &host.robots {
            RobotsState::Redirected { url, hops } => (url.clone(), *hops),
            _ => (host.robots_url.clone()?, 0),
        };
        host.robots = RobotsState::Fetching;
        host.in_flight += 1;
        self.in_flight += 1;
        Some(RobotsJob {
            host: id,
            url,
            hops,
            seed_host: host.seed,
        })
    }

    /// Rules older than the cache time are fetched again before the host's next request.
    fn expire_robots(&mut self, id: HostId, now: Instant) {
        let host = &mut self.hosts[id];
        if let RobotsState::Ready { expires, .. } = host.robots {
            if expires <= now && host.in_flight == 0 {
                host.robots = RobotsState::Unknown;
            }
        }
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
        match health {
            Health::Fine => {
                state.backoff_level = 0;
                state.failures = 0;
            }
            Health::Overloaded { retry_after } => {
                state.failures = 0;
                self.back_off(host, now, retry_after);
            }
            Health::ServerError => {
                self.hosts[host].failures = 0;
                self.back_off(host, now, None);
            }
            Health::Unreachable { reason } => {
                self.hosts[host].failures += 1;
                self.back_off(host, now, None);
                self.park_if_failing(host, &reason);
            }
            Health::NotContacted => {}
        }
        self.wake(host);
    }

    /// A robots.txt fetch of `host` finished.
    pub fn robots_done(&mut self, host: HostId, answered: Option<Instant>, result: RobotsResult) {
        let period = self.period;
        let Some(state) = self.hosts.get_mut(host) else {
            return;
        };
        state.in_flight = state.in_flight.saturating_sub(1);
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(answered) = answered.filter(|_| !period.is_zero()) {
            state.hold_until(answered + period);
        }
        let now = answered.unwrap_or_else(Instant::now);
        match result {
            RobotsResult::Rules(rules) => {
                state.backoff_level = 0;
                state.failures = 0;
                state.robots_failures = 0;
                if let Some(delay) = rules.crawl_delay() {
                    self.apply_crawl_delay(host, delay, now);
                }
                self.hosts[host].robots = RobotsState::Ready {
                    rules,
                    expires: now + self.politeness.robots_ttl,
                };
            }
            RobotsResult::Redirect { url, hops } => {
                state.robots = RobotsState::Redirected { url, hops };
            }
            RobotsResult::Unreachable {
                reason,
                retry_after,
                connection_failure,
            } => {
                state.robots_failures += 1;
                let attempts = state.robots_failures;
                state.robots = RobotsState::Retrying;
                if connection_failure {
                    state.failures += 1;
                } else {
                    state.failures = 0;
                }
                self.back_off(host, now, retry_after);
                self.park_if_failing(host, &reason);
                if attempts > self.politeness.retries && self.hosts[host].closed.is_none() {
                    let why = format!("{reason}; gave up after {attempts} attempts");
                    self.closures.push(Closure {
                        host: self.keys[host].to_string(),
                        kind: ErrorKind::RobotsUnavailable.as_str(),
                        reason: why.clone(),
                    });
                    self.hosts[host].closed = Some(Closed::RobotsUnavailable(why.into()));
                }
            }
        }
        self.wake(host);
    }

    /// Sets the host's interval from its `Crawl-delay`, within the cap.
    fn apply_crawl_delay(&mut self, host: HostId, delay: f64, now: Instant) {
        let cap = self.politeness.max_crawl_delay;
        let asked = Duration::try_from_secs_f64(delay).unwrap_or(Duration::MAX);
        if asked > cap {
            self.capped.insert(self.keys[host].to_string(), delay);
        }
        let state = &mut self.hosts[host];
        let delay = asked.min(cap);
        if delay > self.period {
            state.interval = delay;
            state.one_at_a_time = true;
            state.hold_until(now + delay);
        }
    }

    /// Pauses a host after a failure or a slow-down answer: `retry_after` when the
    /// server gave one, else an exponential backoff; never longer than `max_backoff`.
    fn back_off(&mut self, host: HostId, now: Instant, retry_after: Option<Duration>) {
        let politeness = self.politeness;
        let state = &mut self.hosts[host];
        state.backoff_level = state.backoff_level.saturating_add(1);
        let exponent = state.backoff_level.saturating_sub(1).min(30);
        let backoff = politeness.backoff.saturating_mul(1 << exponent);
        let pause = retry_after.unwrap_or(backoff).min(politeness.max_backoff);
        state.hold_until(now + pause);
    }

    fn park_if_failing(&mut self, host: HostId, reason: &str) {
        let state = &mut self.hosts[host];
        if state.failures >= self.politeness.park_after.max(1) && state.closed.is_none() {
            let why = format!(
                "{} connection failures in a row; last: {reason}",
                state.failures
            );
            self.parked.insert(self.keys[host].to_string(), why.clone());
            self.closures.push(Closure {
                host: self.keys[host].to_string(),
                kind: ErrorKind::HostUnreachable.as_str(),
                reason: why.clone(),
            });
            state.closed = Some(Closed::Unreachable(why.into()));
        }
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

    fn dispatchable(&self, id: HostId) -> bool {
        let host = &self.hosts[id];
        if host.is_empty() && !host.may_refill() {
            return false;
        }
        if host.closed.is_some() {
            return true;
        }
        let budget_left = self
            .politeness
            .max_pages_per_host
            .is_none_or(|max| host.dispatched < max);
        let room = match host.robots {
            RobotsState::Fetching => false,
            _ if host.needs_robots() => host.in_flight == 0,
            _ => host.in_flight < host.concurrency(self.politeness.concurrency),
        };
        room && budget_left
    }

    /// Puts an idle host in the ready ring if it can go.
    fn wake(&mut self, id: HostId) {
        if self.hosts[id].slot == Slot::Idle && self.dispatchable(id) {
            self.hosts[id].slot = Slot::Ready;
            self.ready.push_back(id);
        }
    }

    /// Puts a host in the timer heap until `at`.
    fn wait(&mut self, id: HostId, at: Instant) {
        self.hosts[id].slot = Slot::Waiting;
        self.waiting.push(Reverse((at, id)));
    }

    /// How long the host's rate limiter wants us to wait; `None` takes a request slot.
    fn rate_wait(&self, id: HostId) -> Option<Duration> {
        let limiter = self.limiter.as_ref()?;
        match limiter.check_key(&id) {
            Ok(()) => None,
            Err(not_until) => Some(
                not_until
                    .wait_time_from(self.clock.now())
                    .max(Duration::from_micros(100)),
            ),
        }
    }
}

/// An instant rules never expire at in practice (a century away).
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(url: &str, depth: u32) -> Queued {
        Queued::page(CanonicalUrl::parse(url).unwrap(), depth, None, 0)
    }

    fn unlimited(concurrency: usize) -> Frontier {
        Frontier::new(Politeness {
            concurrency,
            rate: 0.0,
            obey_robots: false,
            ..Politeness::default()
        })
    }

    fn take(frontier: &mut Frontier) -> Option<Job> {
        match frontier.next(Instant::now()) {
            Next::Job(job) => Some(job),
            _ => None,
        }
    }

    /// A stand-in for the store's frontier: what the workers wrote, by (depth, URL).
    #[derive(Clone, Default)]
    struct FakeStore(std::sync::Arc<std::sync::Mutex<BTreeMap<(u32, String), Queued>>>);

    impl QueueSpill for FakeStore {
        fn load(&self, _host: &str, limit: usize) -> Result<Vec<Queued>, StoreError> {
            let stored = self.0.lock().unwrap();
            Ok(stored.values().take(limit).cloned().collect())
        }
    }

    #[test]
    fn a_spilled_host_is_refilled_from_the_store_and_hands_out_each_url_once() {
        let store = FakeStore::default();
        let mut frontier = Frontier::new(Politeness {
            concurrency: 2,
            rate: 0.0,
            obey_robots: false,
            ..Politeness::default()
        })
        .with_spill(Box::new(store.clone()));
        let total = 1000;
        let mut handed_out = std::collections::BTreeMap::new();
        let mut next_url = 0;
        let mut in_flight: Vec<Job> = Vec::new();
        // Discover URLs in bursts while fetching, as workers do: each discovery is
        // written to the store first, then reported; each fetch removes its entry.
        while handed_out.len() < total {
            for _ in 0..7 {
                if next_url < total {
                    let url = format!("http://a.test/{next_url}");
                    let entry = queued(&url, (next_url % 3) as u32);
                    store
                        .0
                        .lock()
                        .unwrap()
                        .insert((entry.depth, url), entry.clone());
                    frontier.push(entry);
                    next_url += 1;
                }
            }
            while let Some(job) = take(&mut frontier) {
                *handed_out.entry(job.url.as_str().to_owned()).or_insert(0) += 1;
                in_flight.push(job);
            }
            for job in in_flight.drain(..) {
                store
                    .0
                    .lock()
                    .unwrap()
                    .remove(&(job.depth, job.url.as_str().to_owned()));
                frontier.complete(job.host, None, Health::Fine);
            }
            assert!(
                frontier.hosts[0].len() <= MAX_BUFFER,
                "memory holds at most one buffer"
            );
        }
        assert!(
            frontier.hosts[0].spilled,
            "1,000 URLs must outgrow one host's buffer"
        );
        assert_eq!(handed_out.len(), total);
        assert!(
            handed_out.values().all(|n| *n == 1),
            "a URL was handed out twice"
        );
        assert!(store.0.lock().unwrap().is_empty());
        assert!(frontier.take_spill_error().is_none());
    }

    #[test]
    fn one_request_per_host_at_a_time_by_default() {
        let mut frontier = unlimited(1);
        frontier.push(queued("http://a.test/1", 0));
        frontier.push(queued("http://a.test/2", 0));
        let first = take(&mut frontier).unwrap();
        assert_eq!(
            take(&mut frontier),
            None,
            "second request while the first is in flight"
        );
        frontier.complete(first.host, None, Health::Fine);
        assert_eq!(take(&mut frontier).unwrap().url.as_str(), "http://a.test/2");
        assert_eq!(frontier.next(Instant::now()), Next::Idle);
    }

    #[test]
    fn a_busy_host_does_not_block_the_others() {
        let mut frontier = unlimited(1);
        for i in 0..3 {
            frontier.push(queued(&format!("http://a.test/{i}"), 0));
        }
        frontier.push(queued("http://b.test/", 0));
        frontier.push(queued("http://c.test/", 0));
        let hosts: Vec<String> = std::iter::from_fn(|| take(&mut frontier))
            .map(|job| job.url.host().to_owned())
            .collect();
        assert_eq!(hosts, ["a.test", "b.test", "c.test"]);
    }

    #[test]
    fn lower_depth_goes_first_within_a_host() {
        let mut frontier = unlimited(1);
        frontier.push(queued("http://a.test/deep", 3));
        frontier.push(queued("http://a.test/shallow", 1));
        frontier.push(queued("http://a.test/mid", 2));
        let mut order = Vec::new();
        while let Some(job) = take(&mut frontier) {
            order.push(job.url.as_url().path().to_owned());
            frontier.complete(job.host, None, Health::Fine);
        }
        assert_eq!(order, ["/shallow", "/mid", "/deep"]);
        assert!(frontier.is_exhausted());
    }

    #[test]
    fn concurrency_above_one_is_used_and_capped() {
        let mut frontier = unlimited(2);
        for i in 0..5 {
            frontier.push(queued(&format!("http://a.test/{i}"), 0));
        }
        assert!(take(&mut frontier).is_some());
        assert!(take(&mut frontier).is_some());
        assert!(take(&mut frontier).is_none());
        assert_eq!(frontier.in_flight(), 2);
        assert_eq!(frontier.queued(), 3);
    }

    #[test]
    fn page_budget_per_host_is_exact() {
        let mut frontier = Frontier::new(Politeness {
            max_pages_per_host: Some(2),
            obey_robots: false,
            ..Politeness::default()
        });
        for i in 0..5 {
            frontier.push(queued(&format!("http://a.test/{i}"), 0));
        }
        let mut dispatched = 0;
        while let Some(job) = take(&mut frontier) {
            dispatched += 1;
            frontier.complete(job.host, None, Health::Fine);
        }
        assert_eq!(dispatched, 2);
        assert!(
            frontier.is_exhausted(),
            "a spent host must not keep the crawl alive"
        );
        assert_eq!(frontier.queued(), 3);
    }

    #[test]
    fn a_rate_limited_host_waits_while_others_go() {
        let mut frontier = Frontier::new(Politeness {
            concurrency: 4,
            rate: 1.0,
            obey_robots: false,
            ..Politeness::default()
        });
        frontier.push(queued("http://a.test/1", 0));
        frontier.push(queued("http://a.test/2", 0));
        frontier.push(queued("http://b.test/1", 0));
        let now = Instant::now();
        let first = take(&mut frontier).unwrap();
        assert_eq!(first.url.host(), "a.test");
        let second = take(&mut frontier).unwrap();
        assert_eq!(second.url.host(), "b.test", "a.test must wait for its rate");
        match frontier.next(Instant::now()) {
            Next::WaitUntil(at) => {
                let wait = at.duration_since(now);
                assert!(
                    wait > Duration::from_millis(500) && wait <= Duration::from_millis(1100),
                    "{wait:?}"
                );
            }
            other => panic!("expected a wait, got {other:?}"),
        }
    }

    fn robots_frontier(politeness: Politeness) -> Frontier {
        Frontier::new(Politeness {
            obey_robots: true,
            ..politeness
        })
    }

    fn rules(file: &str) -> RobotsResult {
        let agent = crate::robots::ProductToken::parse("crawler").unwrap();
        RobotsResult::Rules(Arc::new(
            crate::robots::RobotsTxt::parse(file.as_bytes()).rules_for(&agent),
        ))
    }

    fn robots_job(frontier: &mut Frontier, now: Instant) -> RobotsJob {
        match frontier.next(now) {
            Next::Robots(job) => job,
            other => panic!("expected a robots job, got {other:?}"),
        }
    }

    #[test]
    fn robots_txt_goes_first_and_the_queue_waits_for_it() {
        let mut frontier = robots_frontier(Politeness::default());
        frontier.push(queued("http://a.test/1", 0));
        frontier.push(queued("http://a.test/private/2", 1));
        let now = Instant::now();
        let job = robots_job(&mut frontier, now);
        assert_eq!(job.url.as_str(), "http://a.test/robots.txt");
        assert!(job.seed_host);
        assert_eq!(frontier.next(now), Next::Idle, "pages wait for the rules");
        frontier.robots_done(job.host, None, rules("User-agent: *\nDisallow: /private\n"));
        let page = take(&mut frontier).unwrap();
        assert_eq!(page.url.as_str(), "http://a.test/1");
        frontier.complete(page.host, None, Health::Fine);
        assert_eq!(frontier.next(now), Next::Idle);
        let refused = frontier.take_refused(10).unwrap();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].queued.url.as_str(), "http://a.test/private/2");
        assert_eq!(refused[0].reason.kind().as_str(), "robots-disallowed");
        assert!(refused[0]
            .reason
            .message()
            .contains("Disallow: /private (line 2, group *)"));
        assert!(frontier.is_exhausted());
    }

    #[test]
    fn a_robots_redirect_is_fetched_next_for_the_same_host() {
        let mut frontier = robots_frontier(Politeness::default());
        frontier.push(queued("http://a.test/1", 0));
        let now = Instant::now();
        let job = robots_job(&mut frontier, now);
        let target = CanonicalUrl::parse("http://b.test/real-robots.txt").unwrap();
        frontier.robots_done(
            job.host,
            None,
            RobotsResult::Redirect {
                url: target.clone(),
                hops: 1,
            },
        );
        let again = robots_job(&mut frontier, now);
        assert_eq!((again.url, again.hops, again.host), (target, 1, job.host));
    }

    #[test]
    fn unreachable_robots_is_retried_with_backoff_then_closes_the_host() {
        let mut frontier = robots_frontier(Politeness {
            retries: 2,
            backoff: Duration::from_secs(1),
            ..Politeness::default()
        });
        frontier.push(queued("http://a.test/1", 0));
        frontier.push(queued("http://a.test/2", 0));
        let start = Instant::now();
        let unreachable = || RobotsResult::Unreachable {
            reason: "status 503".into(),
            retry_after: None,
            connection_failure: false,
        };
        let job = robots_job(&mut frontier, start);
        frontier.robots_done(job.host, Some(start), unreachable());
        assert_eq!(
            frontier.next(start),
            Next::WaitUntil(start + Duration::from_secs(1))
        );
        let second = start + Duration::from_secs(1);
        robots_job(&mut frontier, second);
        frontier.robots_done(job.host, Some(second), unreachable());
        assert_eq!(
            frontier.next(second),
            Next::WaitUntil(second + Duration::from_secs(2))
        );
        let third = second + Duration::from_secs(2);
        robots_job(&mut frontier, third);
        frontier.robots_done(job.host, Some(third), unreachable());
        assert_eq!(frontier.next(third), Next::Idle);
        let refused = frontier.take_refused(10).unwrap();
        assert_eq!(refused.len(), 2);
        assert!(refused
            .iter()
            .all(|r| r.reason.kind().as_str() == "robots-unavailable"));
        // URLs found later for the closed host are refused too.
        frontier.push(queued("http://a.test/3", 1));
        assert_eq!(frontier.next(third), Next::Idle);
        assert_eq!(frontier.take_refused(10).unwrap().len(), 1);
        assert!(frontier.is_exhausted());
    }

    #[test]
    fn crawl_delay_sets_the_interval_within_the_cap_and_serializes_the_host() {
        let mut frontier = robots_frontier(Politeness {
            concurrency: 4,
            max_crawl_delay: Duration::from_secs(5),
            ..Politeness::default()
        });
        for i in 0..3 {
            frontier.push(queued(&format!("http://a.test/{i}"), 0));
            frontier.push(queued(&format!("http://b.test/{i}"), 0));
        }
        let now = Instant::now();
        let a = robots_job(&mut frontier, now);
        let b = robots_job(&mut frontier, now);
        frontier.robots_done(a.host, Some(now), rules("User-agent: *\nCrawl-delay: 2\n"));
        frontier.robots_done(b.host, Some(now), rules("User-agent: *\nCrawl-delay: 60\n"));
        assert_eq!(
            frontier.next(now),
            Next::WaitUntil(now + Duration::from_secs(2))
        );
        let later = now + Duration::from_secs(2);
        let first = take(&mut frontier)
            .map(|_| ())
            .or_else(|| match frontier.next(later) {
                Next::Job(_) => Some(()),
                _ => None,
            });
        assert!(first.is_some());
        assert!(
            !matches!(frontier.next(later), Next::Job(job) if job.url.host() == "a.test"),
            "one request at a time with a crawl delay"
        );
        assert_eq!(
            frontier.capped_crawl_delays().get("http://b.test:80"),
            Some(&60.0)
        );
    }

    #[test]
    fn overload_pauses_only_that_host_for_its_retry_after() {
        let mut frontier = unlimited(1);
        frontier.push(queued("http://a.test/1", 0));
        frontier.push(queued("http://a.test/2", 0));
        frontier.push(queued("http://b.test/1", 0));
        frontier.push(queued("http://b.test/2", 0));
        let now = Instant::now();
        let a = take(&mut frontier).unwrap();
        let b = take(&mut frontier).unwrap();
        frontier.complete(
            a.host,
            Some(now),
            Health::Overloaded {
                retry_after: Some(Duration::from_secs(7)),
            },
        );
        frontier.complete(b.host, Some(now), Health::Fine);
        let next = take(&mut frontier).unwrap();
        assert_eq!(next.url.as_str(), "http://b.test/2");
        assert_eq!(
            frontier.next(now),
            Next::WaitUntil(now + Duration::from_secs(7))
        );
    }

    #[test]
    fn backoff_doubles_and_retries_go_first() {
        let mut frontier = Frontier::new(Politeness {
            obey_robots: false,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
            ..Politeness::default()
        });
        frontier.push(queued("http://a.test/1", 0));
        frontier.push(queued("http://a.test/2", 0));
        let mut at = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..3 {
            let job = match frontier.next(at) {
                Next::Job(job) => job,
                other => panic!("{other:?}"),
            };
            assert_eq!(job.url.as_str(), "http://a.test/1");
            frontier.complete(job.host, Some(at), Health::ServerError);
            frontier.retry(Queued {
                attempts: job.attempts + 1,
                ..queued(job.url.as_str(), 0)
            });
            let Next::WaitUntil(until) = frontier.next(at) else {
                panic!("the host must back off");
            };
            waits.push(until - at);
            at = until;
        }
        let ms = |n| Duration::from_millis(n);
        assert_eq!(waits, [ms(100), ms(200), ms(250)]);
    }

    #[test]
    fn repeated_connection_failures_park_the_host() {
        let mut frontier = Frontier::new(Politeness {
            obey_robots: false,
            backoff: Duration::ZERO,
            park_after: 3,
            ..Politeness::default()
        });
        for i in 0..5 {
            frontier.push(queued(&format!("http://a.test/{i}"), 0));
        }
        for _ in 0..3 {
            let job = take(&mut frontier).unwrap();
            frontier.complete(
                job.host,
                None,
                Health::Unreachable {
                    reason: "connect: refused".into(),
                },
            );
        }
        assert_eq!(frontier.next(Instant::now()), Next::Idle);
        let refused = frontier.take_refused(100).unwrap();
        assert_eq!(refused.len(), 2);
        assert!(refused
            .iter()
            .all(|r| r.reason.kind().as_str() == "host-unreachable"));
        assert!(frontier.parked_hosts().contains_key("http://a.test:80"));
    }
}
