//! The frontier: one queue per host, and the choice of which host goes next.
//!
//! A host (scheme + host + port, its [`HostKey`]) may be dispatched when its queue is
//! not empty, fewer than `per_host_concurrency` of its requests are in flight, its
//! page budget is not spent and its rate limiter allows a request now. Hosts that are
//! dispatchable sit in a round-robin ring; hosts waiting for their rate sit in a
//! timer heap keyed by the instant they become ready. Picking the next URL therefore
//! never scans hosts that cannot go, so a slow or rate-limited host never holds up
//! the others, however many there are.
//!
//! The frontier is plain data owned by the scheduler thread: no locks, no threads.

mod host;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::url::{CanonicalUrl, HostKey};
use host::{HostQueue, Slot};

/// Index of a host in the frontier.
pub type HostId = usize;

/// A URL handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub url: CanonicalUrl,
    pub host: HostId,
    pub depth: u32,
    /// The page it was discovered on (`None` for seeds).
    pub from: Option<String>,
    /// Redirect hops that led here.
    pub hops: u8,
}

/// A URL waiting in a host queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub url: CanonicalUrl,
    pub depth: u32,
    pub from: Option<String>,
    pub hops: u8,
}

/// What the frontier can give the scheduler now.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Fetch this.
    Job(Job),
    /// Nothing is ready; the earliest host becomes ready at this instant.
    WaitUntil(Instant),
    /// Nothing is ready or waiting: only completions in flight can bring more work.
    Idle,
}

/// Per-host limits, the same for every host.
#[derive(Clone, Copy, Debug)]
pub struct Politeness {
    pub concurrency: usize,
    /// Requests per second; 0 for no limit.
    pub rate: f64,
    pub max_pages_per_host: Option<u64>,
}

pub struct Frontier {
    hosts: Vec<HostQueue>,
    ids: HashMap<HostKey, HostId>,
    ready: VecDeque<HostId>,
    waiting: BinaryHeap<Reverse<(Instant, HostId)>>,
    limiter: Option<DefaultKeyedRateLimiter<HostId>>,
    clock: DefaultClock,
    politeness: Politeness,
    /// The even spacing the rate asks for (zero without a rate).
    period: Duration,
    queued: usize,
    in_flight: usize,
}

impl Frontier {
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
            ready: VecDeque::new(),
            waiting: BinaryHeap::new(),
            limiter,
            clock: DefaultClock::default(),
            politeness,
            period,
            queued: 0,
            in_flight: 0,
        }
    }

    /// Adds a URL to its host's queue (the caller has deduplicated it).
    pub fn push(&mut self, queued: Queued) {
        let key = queued.url.host_key();
        let id = match self.ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.hosts.len();
                self.hosts.push(HostQueue::new());
                self.ids.insert(key, id);
                id
            }
        };
        self.hosts[id].push(queued);
        self.queued += 1;
        self.wake(id);
    }

    /// Hands out the next URL whose host may be fetched now.
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
            if !self.dispatchable(id) {
                continue;
            }
            let not_before = self.hosts[id].not_before;
            if not_before > now {
                self.hosts[id].slot = Slot::Waiting;
                self.waiting.push(Reverse((not_before, id)));
                continue;
            }
            if let Some(wait) = self.rate_wait(id) {
                self.hosts[id].slot = Slot::Waiting;
                self.waiting.push(Reverse((now + wait, id)));
                continue;
            }
            let host = &mut self.hosts[id];
            let Some(queued) = host.pop() else { continue };
            host.in_flight += 1;
            host.dispatched += 1;
            self.queued -= 1;
            self.in_flight += 1;
            self.wake(id);
            return Next::Job(Job {
                url: queued.url,
                host: id,
                depth: queued.depth,
                from: queued.from,
                hops: queued.hops,
            });
        }
        match self.waiting.peek() {
            Some(Reverse((at, _))) => Next::WaitUntil(*at),
            None => Next::Idle,
        }
    }

    /// A fetch of `host` finished (whatever its outcome). `answered` is when its
    /// response began: the server had the request by then, so waiting a full period
    /// from it guarantees the spacing as the server sees it, whatever the delays
    /// between dispatch, send and arrival (a new connection costs milliseconds).
    pub fn complete(&mut self, host: HostId, answered: Option<Instant>) {
        if let Some(state) = self.hosts.get_mut(host) {
            if let Some(answered) = answered.filter(|_| !self.period.is_zero()) {
                state.not_before = state.not_before.max(answered + self.period);
            }
            state.in_flight = state.in_flight.saturating_sub(1);
            self.in_flight = self.in_flight.saturating_sub(1);
            self.wake(host);
        }
    }

    /// URLs queued and not dispatched (including those of hosts whose budget is spent).
    pub fn queued(&self) -> usize {
        self.queued
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Hosts known to the frontier.
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// No URL is in flight and none can ever be dispatched: the crawl is over.
    pub fn is_exhausted(&self) -> bool {
        self.in_flight == 0 && self.ready.is_empty() && self.waiting.is_empty()
    }

    fn dispatchable(&self, id: HostId) -> bool {
        let host = &self.hosts[id];
        let budget_left = self
            .politeness
            .max_pages_per_host
            .is_none_or(|max| host.dispatched < max);
        !host.is_empty() && host.in_flight < self.politeness.concurrency && budget_left
    }

    /// Puts an idle host in the ready ring if it can go.
    fn wake(&mut self, id: HostId) {
        if self.hosts[id].slot == Slot::Idle && self.dispatchable(id) {
            self.hosts[id].slot = Slot::Ready;
            self.ready.push_back(id);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(url: &str, depth: u32) -> Queued {
        Queued {
            url: CanonicalUrl::parse(url).unwrap(),
            depth,
            from: None,
            hops: 0,
        }
    }

    fn unlimited(concurrency: usize) -> Frontier {
        Frontier::new(Politeness {
            concurrency,
            rate: 0.0,
            max_pages_per_host: None,
        })
    }

    fn take(frontier: &mut Frontier) -> Option<Job> {
        match frontier.next(Instant::now()) {
            Next::Job(job) => Some(job),
            _ => None,
        }
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
        frontier.complete(first.host, None);
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
            frontier.complete(job.host, None);
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
            concurrency: 1,
            rate: 0.0,
            max_pages_per_host: Some(2),
        });
        for i in 0..5 {
            frontier.push(queued(&format!("http://a.test/{i}"), 0));
        }
        let mut dispatched = 0;
        while let Some(job) = take(&mut frontier) {
            dispatched += 1;
            frontier.complete(job.host, None);
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
            max_pages_per_host: None,
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
}
