//! One host's queue and what the frontier knows about the host: its robots.txt state,
//! its spacing, its backoff and whether it is closed.
//!
//! URLs are bucketed by their order (`Queued::order`: priority, then depth, then the
//! fair turn class), so higher priorities go first, then lower depths (breadth-first),
//! then each page's first URLs before any page's later ones.
//!
//! A broad crawl knows a million hosts, most of them idle at any moment, so a host
//! is kept small: its URL buffer is allocated only while it holds URLs, its robots.txt
//! URL is derived from its key when needed, a redirect target is boxed, and counters
//! are as wide as they need be. A test pins the size.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::moment::{nanos, Moment};
use crate::messages::Queued;
use crate::robots::RobotsRules;
use crate::url::CanonicalUrl;

/// Where a host is in the scheduling structures, so it is never in two at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// In neither a ready ring nor the timer heap.
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
    Redirected { url: Box<CanonicalUrl>, hops: u8 },
    /// The last robots fetch failed; the next try waits for `not_before`.
    Retrying,
    /// The rules that apply, cached until `expires`.
    Ready {
        rules: Arc<RobotsRules>,
        expires: Moment,
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

/// The URLs a host holds in memory, by order (ascending; few orders per host).
#[derive(Default)]
struct Buffer {
    by_order: Vec<(u64, VecDeque<Queued>)>,
    len: usize,
}

pub struct HostQueue {
    /// `None` while the host holds no URL in memory.
    buffer: Option<Box<Buffer>>,
    pub robots: RobotsState,
    pub closed: Option<Closed>,
    /// Failed robots.txt fetches since the last success.
    pub robots_failures: u16,
    /// Whether a seed is on this host (its robots.txt sitemaps are read).
    pub seed: bool,
    pub in_flight: u32,
    /// Page fetches started (robots.txt fetches and retries excluded).
    pub dispatched: u64,
    pub slot: Slot,
    /// No request to this host may start before this moment.
    not_before: Moment,
    /// The least time from one response's start to the next request, in nanoseconds:
    /// the rate's period, or the `Crawl-delay` when that is longer.
    interval_nanos: u64,
    /// A `Crawl-delay` longer than the rate applies: one request at a time.
    pub one_at_a_time: bool,
    /// Its `Crawl-delay` was over the cap (counted once, however often it is read).
    pub crawl_delay_capped: bool,
    /// Failures and slow-down answers since the last good answer: the backoff exponent.
    pub backoff_level: u8,
    /// Connection failures in a row (what parks a host).
    pub failures: u32,
    /// The store holds URLs of this host that memory does not; new ones are counted
    /// in `stored` instead of kept, and the buffer is refilled from the store.
    pub spilled: bool,
    /// URLs the store holds beyond the buffer, as far as reports tell (an estimate).
    pub stored: u64,
    /// URLs handed out as refused whose records are not written yet.
    pub refusing: u32,
    /// Pages left in the host's turn (see `Frontier::next`); 0: it has none under way.
    pub turn: u8,
    /// Failed fetches and slow-down answers this run (what a live status ranks by);
    /// it stops at 65,535.
    pub errors: u16,
}

impl HostQueue {
    pub fn new(interval: Duration, robots: RobotsState) -> HostQueue {
        HostQueue {
            buffer: None,
            robots,
            closed: None,
            robots_failures: 0,
            seed: false,
            in_flight: 0,
            dispatched: 0,
            slot: Slot::Idle,
            not_before: Moment::default(),
            interval_nanos: nanos(interval),
            one_at_a_time: false,
            crawl_delay_capped: false,
            backoff_level: 0,
            failures: 0,
            spilled: false,
            stored: 0,
            refusing: 0,
            turn: 0,
            errors: 0,
        }
    }

    pub fn push(&mut self, queued: Queued) {
        self.bucket(&queued).push_back(queued);
    }

    /// Puts a URL back where it is taken next (a retry, or a URL the rate held back).
    pub fn push_front(&mut self, queued: Queued) {
        self.bucket(&queued).push_front(queued);
    }

    fn bucket(&mut self, queued: &Queued) -> &mut VecDeque<Queued> {
        let order = queued.order();
        let buffer = self.buffer.get_or_insert_with(Box::default);
        buffer.len += 1;
        let at = match buffer
            .by_order
            .binary_search_by_key(&order, |(order, _)| *order)
        {
            Ok(at) => at,
            Err(at) => {
                // Exact sizes: most hosts of a broad crawl hold one URL of one order.
                buffer.by_order.reserve_exact(1);
                buffer
                    .by_order
                    .insert(at, (order, VecDeque::with_capacity(1)));
                at
            }
        };
        &mut buffer.by_order[at].1
    }

    pub fn pop(&mut self) -> Option<Queued> {
        let buffer = self.buffer.as_mut()?;
        let (_, first) = buffer.by_order.first_mut()?;
        let popped = first.pop_front();
        if first.is_empty() {
            buffer.by_order.remove(0);
        }
        buffer.len -= usize::from(popped.is_some());
        if buffer.len == 0 {
            // An idle host of a broad crawl keeps no buffer.
            self.buffer = None;
        }
        popped
    }

    /// The order of the URL that memory holds to go last.
    pub fn worst_order(&self) -> Option<u64> {
        let buffer = self.buffer.as_ref()?;
        buffer.by_order.last().map(|(order, _)| *order)
    }

    /// The priority of the URL that goes next, if memory holds one.
    pub fn best_priority(&self) -> Option<i8> {
        let buffer = self.buffer.as_ref()?;
        buffer
            .by_order
            .first()?
            .1
            .front()
            .map(|queued| queued.priority)
    }

    /// URLs in memory.
    pub fn len(&self) -> usize {
        self.buffer.as_ref().map_or(0, |buffer| buffer.len)
    }

    /// No URL in memory (the store may hold more; see [`HostQueue::may_refill`]).
    pub fn is_empty(&self) -> bool {
        self.buffer.is_none()
    }

    /// Whether the buffer may be refilled from the store now: the store holds more and
    /// nothing of the host is leased (in flight, or refused and not yet recorded).
    pub fn may_refill(&self) -> bool {
        self.spilled && self.stored > 0 && self.in_flight == 0 && self.refusing == 0
    }

    /// No URL in memory and none in the store: nothing more to hand out until a
    /// report brings new ones.
    pub fn drained(&self) -> bool {
        self.is_empty() && !(self.spilled && self.stored > 0)
    }

    /// Whether the next request must be a robots.txt fetch.
    pub fn needs_robots(&self) -> bool {
        matches!(
            self.robots,
            RobotsState::Unknown | RobotsState::Redirected { .. } | RobotsState::Retrying
        )
    }

    /// Requests the host may have open at once.
    pub fn concurrency(&self, configured: usize) -> u32 {
        if self.one_at_a_time {
            1
        } else {
            u32::try_from(configured).unwrap_or(u32::MAX)
        }
    }

    /// Delays the host's next request until at least `at`.
    pub fn hold_until(&mut self, at: Instant) {
        self.not_before = self.not_before.max(Moment::at_or_after(at));
    }

    /// No request to this host may start before this instant.
    pub fn not_before(&self) -> Instant {
        self.not_before.instant()
    }

    /// The least time from one response's start to the next request.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_nanos)
    }

    pub fn set_interval(&mut self, interval: Duration) {
        self.interval_nanos = nanos(interval);
    }
}

/// `scheme://host:port/robots.txt` of the host `key` names.
pub(super) fn robots_url(key: &str) -> Option<CanonicalUrl> {
    CanonicalUrl::parse(&format!("{key}/robots.txt")).ok()
}

/// A moment rules never expire at in practice (a century away).
pub(super) fn far_future() -> Moment {
    Moment::at_or_after(far_future_instant())
}

fn far_future_instant() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an idle host costs a broad crawl: a million of them must fit in a few
    /// hundred megabytes with everything else.
    #[test]
    fn an_idle_host_is_small() {
        let size = std::mem::size_of::<HostQueue>();
        assert!(size <= 112, "HostQueue grew to {size} bytes");
    }

    #[test]
    fn a_drained_host_frees_its_buffer() {
        let mut host = HostQueue::new(Duration::ZERO, RobotsState::Unknown);
        let url = CanonicalUrl::parse("http://a.test/").unwrap();
        host.push(Queued::page(url.clone(), 2, None, 0));
        host.push(Queued::page(url, 1, None, 0));
        assert_eq!(host.len(), 2);
        assert_eq!(host.pop().map(|q| q.depth), Some(1));
        assert_eq!(host.pop().map(|q| q.depth), Some(2));
        assert!(host.is_empty() && host.buffer.is_none());
        assert!(host.pop().is_none());
    }
}
