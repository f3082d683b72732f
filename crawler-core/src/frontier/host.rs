//! One host's queue and what the frontier knows about the host: its robots.txt state,
//! its spacing, its backoff and whether it is closed.
//!
//! URLs are bucketed by depth, so lower depths go first (breadth-first).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::messages::Queued;
use crate::robots::RobotsRules;
use crate::url::CanonicalUrl;

/// Where a host is in the scheduling structures, so it is never in two at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// In neither the ready ring nor the timer heap.
    Idle,
    Ready,
    Waiting,
}

/// What the frontier knows of a host's robots.txt.
#[derive(Clone, Debug)]
pub enum RobotsState {
    /// Not fetched yet, or the cached copy expired: a robots job goes first.
    Unknown,
    /// A robots job is in flight; nothing else of the host goes.
    Fetching,
    /// The last robots fetch redirected here; the next robots job fetches this.
    Redirected { url: CanonicalUrl, hops: u8 },
    /// The last robots fetch failed; the next try waits for `not_before`.
    Retrying,
    /// The rules that apply, cached until `expires`.
    Ready {
        rules: Arc<RobotsRules>,
        expires: Instant,
    },
}

/// Why a host's URLs are settled without being fetched, now and from now on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Closed {
    /// robots.txt stayed unreachable through every retry.
    RobotsUnavailable(Arc<str>),
    /// Too many connection failures in a row: the host is parked.
    Unreachable(Arc<str>),
}

pub struct HostQueue {
    by_depth: Vec<VecDeque<Queued>>,
    /// Lowest depth that may hold URLs.
    lowest: usize,
    len: usize,
    /// `scheme://host:port/robots.txt`.
    pub robots_url: Option<CanonicalUrl>,
    pub robots: RobotsState,
    pub closed: Option<Closed>,
    /// Failed robots.txt fetches since the last success.
    pub robots_failures: u32,
    /// Whether a seed is on this host (its robots.txt sitemaps are read).
    pub seed: bool,
    pub in_flight: usize,
    /// Page fetches started (robots.txt fetches and retries excluded).
    pub dispatched: u64,
    pub slot: Slot,
    /// No request to this host may start before this instant.
    pub not_before: Instant,
    /// The least time from one response's start to the next request: the rate's
    /// period, or the `Crawl-delay` when that is longer.
    pub interval: Duration,
    /// A `Crawl-delay` longer than the rate applies: one request at a time.
    pub one_at_a_time: bool,
    /// Failures and slow-down answers since the last good answer: the backoff exponent.
    pub backoff_level: u32,
    /// Connection failures in a row (what parks a host).
    pub failures: u32,
    /// The store holds URLs of this host that memory does not; new ones are counted
    /// in `stored` instead of kept, and the buffer is refilled from the store.
    pub spilled: bool,
    /// URLs the store holds beyond the buffer, as far as reports tell (an estimate).
    pub stored: u64,
    /// URLs handed out as refused whose records are not written yet.
    pub refusing: usize,
}

impl HostQueue {
    pub fn new(interval: Duration, robots: RobotsState) -> HostQueue {
        HostQueue {
            by_depth: Vec::new(),
            lowest: 0,
            len: 0,
            robots_url: None,
            robots,
            closed: None,
            robots_failures: 0,
            seed: false,
            in_flight: 0,
            dispatched: 0,
            slot: Slot::Idle,
            not_before: Instant::now(),
            interval,
            one_at_a_time: false,
            backoff_level: 0,
            failures: 0,
            spilled: false,
            stored: 0,
            refusing: 0,
        }
    }

    pub fn push(&mut self, queued: Queued) {
        let depth = self.bucket(&queued);
        self.by_depth[depth].push_back(queued);
    }

    /// Puts a URL back where it is taken next (a retry, or a URL the rate held back).
    pub fn push_front(&mut self, queued: Queued) {
        let depth = self.bucket(&queued);
        self.by_depth[depth].push_front(queued);
    }

    fn bucket(&mut self, queued: &Queued) -> usize {
        let depth = usize::try_from(queued.depth)
            .unwrap_or(usize::MAX)
            .min(1 << 16);
        if self.by_depth.len() <= depth {
            self.by_depth.resize_with(depth + 1, VecDeque::new);
        }
        self.lowest = self.lowest.min(depth);
        self.len += 1;
        depth
    }

    pub fn pop(&mut self) -> Option<Queued> {
        while self.lowest < self.by_depth.len() {
            if let Some(queued) = self.by_depth[self.lowest].pop_front() {
                self.len -= 1;
                return Some(queued);
            }
            self.lowest += 1;
        }
        None
    }

    /// URLs in memory.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No URL in memory (the store may hold more; see [`HostQueue::may_refill`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the buffer may be refilled from the store now: the store holds more and
    /// nothing of the host is leased (in flight, or refused and not yet recorded).
    pub fn may_refill(&self) -> bool {
        self.spilled && self.stored > 0 && self.in_flight == 0 && self.refusing == 0
    }

    /// Whether the next request must be a robots.txt fetch.
    pub fn needs_robots(&self) -> bool {
        matches!(
            self.robots,
            RobotsState::Unknown | RobotsState::Redirected { .. } | RobotsState::Retrying
        )
    }

    /// Requests the host may have open at once.
    pub fn concurrency(&self, configured: usize) -> usize {
        if self.one_at_a_time {
            1
        } else {
            configured
        }
    }

    /// Delays the host's next request until at least `at`.
    pub fn hold_until(&mut self, at: Instant) {
        self.not_before = self.not_before.max(at);
    }
}

/// An instant rules never expire at in practice (a century away).
pub(super) fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600))
        .unwrap_or(now)
}
