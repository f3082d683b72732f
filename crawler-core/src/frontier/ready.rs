//! Which host goes next: the ready rings (hosts that may be dispatched now, taken in
//! turn) and the timer heap (hosts waiting for an instant: their spacing, backoff or
//! rate), and the `governor` keyed rate limiter that spaces each host's requests.
//!
//! A host is in at most one of them at a time (its [`Slot`]), and only a host that
//! can go is woken into a ring, so picking the next URL never scans hosts that cannot
//! go.
//!
//! **Turns.** A host is crawled in turns of up to [`TURN`] pages. Hosts whose turn is
//! under way go before hosts waiting for one, which start only when no started host may
//! go now. So a broad crawl keeps as many hosts going as keep the workers busy, each
//! through its robots.txt and pages in a row over one kept connection, instead of
//! taking every host in turn with a new connection for each request (20,000 hosts of 6
//! requests: 119,465 connections, and twice the CPU of 200 hosts of 500 pages). A
//! spent turn sends the host behind the waiting ones, so no host keeps the others out.
//!
//! **Priorities.** The rings are kept per priority of the host's next URL (see
//! `crate::priority`), highest first: when workers are scarce, hosts with better work
//! go first, and turns decide among hosts of one priority. A host's level is read when
//! it is woken into a ring (from what memory holds of it: a host whose queue waits in
//! the store counts as 0 until it is refilled).

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use governor::clock::Clock;

use super::host::{RobotsState, Slot};
use super::queues::Frontier;
use crate::messages::{HostId, Job, Next};

/// Pages a host is handed out in a row (at most; its robots.txt aside) before the
/// hosts waiting for a turn go: enough that a kept connection's setup is a small share
/// of its requests.
pub(super) const TURN: u8 = 100;

impl Frontier {
    /// Hands out the next URL (or robots.txt) whose host may be fetched now.
    ///
    /// URLs that must not be fetched (disallowed, or of a closed host) are moved to the
    /// refused list on the way; see [`Frontier::take_refused`].
    ///
    /// Hosts whose turn is under way go first (see the module's docs); a job that ends
    /// its host's turn, or leaves it nothing queued, says so ([`Job::last_of_turn`]).
    pub fn next(&mut self, now: Instant) -> Next {
        self.wake_due(now);
        while let Some(id) = self.pop_ready() {
            self.hosts[id].slot = Slot::Idle;
            self.expire_robots(id, now);
            if !self.dispatchable(id) {
                continue;
            }
            if let Some(closed) = self.hosts[id].closed.clone() {
                self.refuse_all(id, &closed);
                continue;
            }
            let not_before = self.hosts[id].not_before();
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
                self.in_memory += 1;
                self.wait(id, now + wait);
                continue;
            }
            let host = &mut self.hosts[id];
            host.turn = host.turn.saturating_sub(1);
            // The host's one request in flight (no other keeps its connection busy), and
            // not the turn's first page, which nearly always links to more of its host.
            let last_of_turn =
                host.in_flight == 0 && (host.turn == 0 || (host.drained() && host.turn < TURN - 1));
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
                priority: queued.priority,
                turn: queued.turn,
                via: queued.via,
                embeds: queued.embeds,
                revisit: queued.revisit,
                changefreq_s: queued.changefreq_s,
                last_of_turn,
            });
        }
        match self.waiting.peek() {
            Some(Reverse((at, _))) => Next::WaitUntil(*at),
            None => Next::Idle,
        }
    }

    /// The next host of the ready rings: of the highest priority, a started one, else
    /// one whose turn starts.
    fn pop_ready(&mut self) -> Option<HostId> {
        let (id, starts) = self.ready.pop()?;
        if starts {
            self.hosts[id].turn = TURN;
        }
        Some(id)
    }

    /// Moves the hosts whose instant has come from the timer heap to the ready rings.
    fn wake_due(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.waiting.peek().copied() {
            if at > now {
                break;
            }
            self.waiting.pop();
            self.hosts[id].slot = Slot::Idle;
            self.wake(id);
        }
    }

    /// Whether the host may go once its time comes: it has URLs (or may refill), room for
    /// a request and page budget left; a closed host always may, to have its URLs refused.
    pub(super) fn dispatchable(&self, id: HostId) -> bool {
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

    /// Puts an idle host in a ready ring if it can go: the started hosts' if its turn
    /// is under way.
    pub(super) fn wake(&mut self, id: HostId) {
        if self.hosts[id].slot == Slot::Idle && self.dispatchable(id) {
            let host = &mut self.hosts[id];
            host.slot = Slot::Ready;
            let priority = host.best_priority().unwrap_or(0);
            self.ready.push(id, priority, host.turn > 0);
        }
    }

    /// Puts a host in the timer heap until `at`.
    pub(super) fn wait(&mut self, id: HostId, at: Instant) {
        self.hosts[id].slot = Slot::Waiting;
        self.waiting.push(Reverse((at, id)));
    }

    /// How long the host's rate limiter wants us to wait; `None` takes a request slot.
    pub(super) fn rate_wait(&self, id: HostId) -> Option<Duration> {
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
