//! The frontier's side of a live status: one walk over every host that names the
//! busiest, most failing and slowest few, and the parked ones.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::host::{Closed, HostQueue, RobotsState};
use super::queues::Frontier;
use crate::live::{HostBoard, HostStatus, ParkedHost};
use crate::messages::HostId;
use crate::millis::millis;

/// The `n` largest by a key, kept in a heap of `n` (ties: the lower id first).
struct Top {
    n: usize,
    heap: BinaryHeap<Reverse<(u64, Reverse<HostId>)>>,
}

impl Top {
    fn new(n: usize) -> Top {
        Top {
            n,
            heap: BinaryHeap::with_capacity(n + 1),
        }
    }

    fn offer(&mut self, key: u64, id: HostId) {
        if key == 0 || self.n == 0 {
            return;
        }
        self.heap.push(Reverse((key, Reverse(id))));
        if self.heap.len() > self.n {
            self.heap.pop();
        }
    }

    /// Ids, largest key first.
    fn ids(self) -> Vec<HostId> {
        let mut all: Vec<_> = self.heap.into_iter().map(|Reverse(entry)| entry).collect();
        all.sort_by(|a, b| b.cmp(a));
        all.into_iter().map(|(_, Reverse(id))| id).collect()
    }
}

impl Frontier {
    /// Names the `n` hosts with the most URLs queued, the most errors and the longest
    /// delay, the first `n` parked, and counts those backing off. Walks every host.
    pub fn host_board(&self, n: usize, now: Instant) -> HostBoard {
        let (mut by_queue, mut by_errors, mut by_delay) = (Top::new(n), Top::new(n), Top::new(n));
        let mut parked = Vec::new();
        let mut backing_off = 0;
        for (id, host) in self.hosts.iter().enumerate() {
            if let Some(closed) = &host.closed {
                if parked.len() < n {
                    parked.push(self.parked_host(id, closed));
                }
                continue;
            }
            backing_off += u64::from(host.backoff_level > 0);
            by_queue.offer(queued(host), id);
            by_errors.offer(u64::from(host.errors), id);
            by_delay.offer(millis(host.interval()).max(paused_ms(host, now)), id);
        }
        let statuses = |top: Top| -> Vec<HostStatus> {
            top.ids()
                .into_iter()
                .map(|id| self.host_status(id, now))
                .collect()
        };
        HostBoard {
            by_queue: statuses(by_queue),
            by_errors: statuses(by_errors),
            by_delay: statuses(by_delay),
            parked,
            backing_off,
        }
    }

    fn host_status(&self, id: HostId, now: Instant) -> HostStatus {
        let host = &self.hosts[id];
        let paused_ms = paused_ms(host, now);
        let state = if host.backoff_level > 0 {
            "backing-off"
        } else if host.in_flight > 0 {
            "fetching"
        } else if host.needs_robots() || matches!(host.robots, RobotsState::Fetching) {
            "robots"
        } else if queued(host) == 0 {
            "idle"
        } else if paused_ms > 0 {
            "waiting"
        } else {
            "ready"
        };
        HostStatus {
            host: self.keys[id].to_string(),
            queued: queued(host),
            in_flight: host.in_flight,
            fetched: host.dispatched,
            errors: u64::from(host.errors),
            delay_ms: millis(host.interval()),
            paused_ms,
            state: state.to_owned(),
        }
    }

    fn parked_host(&self, id: HostId, closed: &Closed) -> ParkedHost {
        let (kind, why) = match closed {
            Closed::RobotsUnavailable(why) => ("robots-unavailable", why),
            Closed::Unreachable(why) => ("host-unreachable", why),
        };
        ParkedHost {
            host: self.keys[id].to_string(),
            kind: kind.to_owned(),
            why: why.to_string(),
        }
    }
}

/// URLs the host holds, in memory and (as far as reports tell) in the store.
fn queued(host: &HostQueue) -> u64 {
    let stored = if host.spilled { host.stored } else { 0 };
    host.len() as u64 + stored
}

fn paused_ms(host: &HostQueue, now: Instant) -> u64 {
    millis(host.not_before().saturating_duration_since(now))
}
