//! One host's queue: URLs bucketed by depth, so lower depths go first (breadth-first).

use std::collections::VecDeque;
use std::time::Instant;

use super::Queued;

/// Where a host is in the scheduling structures, so it is never in two at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// In neither the ready ring nor the timer heap.
    Idle,
    Ready,
    Waiting,
}

pub struct HostQueue {
    by_depth: Vec<VecDeque<Queued>>,
    /// Lowest depth that may hold URLs.
    lowest: usize,
    len: usize,
    pub in_flight: usize,
    pub dispatched: u64,
    pub slot: Slot,
    /// No request to this host may start before this instant.
    pub not_before: Instant,
}

impl HostQueue {
    pub fn new() -> HostQueue {
        HostQueue {
            by_depth: Vec::new(),
            lowest: 0,
            len: 0,
            in_flight: 0,
            dispatched: 0,
            slot: Slot::Idle,
            not_before: Instant::now(),
        }
    }

    pub fn push(&mut self, queued: Queued) {
        let depth = usize::try_from(queued.depth)
            .unwrap_or(usize::MAX)
            .min(1 << 16);
        if self.by_depth.len() <= depth {
            self.by_depth.resize_with(depth + 1, VecDeque::new);
        }
        self.by_depth[depth].push_back(queued);
        self.lowest = self.lowest.min(depth);
        self.len += 1;
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

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
