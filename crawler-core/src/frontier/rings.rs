//! The ready rings: the hosts that may be dispatched now, per priority of their next
//! URL, each level with the hosts whose turn is under way before those waiting for one
//! (see `super::ready` for turns and priorities).

use std::cmp::Reverse;
use std::collections::VecDeque;

use crate::messages::HostId;

/// The hosts that may go now: per priority of their next URL, highest first, the
/// hosts whose turn is under way, then those waiting for one.
#[derive(Default)]
pub(super) struct ReadyRings {
    /// By priority, highest first; a level stays once made (there are at most 256).
    levels: Vec<Level>,
}

struct Level {
    priority: i8,
    started: VecDeque<HostId>,
    waiting: VecDeque<HostId>,
}

impl ReadyRings {
    pub(super) fn push(&mut self, id: HostId, priority: i8, started: bool) {
        let at = match self
            .levels
            .binary_search_by_key(&Reverse(priority), |level| Reverse(level.priority))
        {
            Ok(at) => at,
            Err(at) => {
                let level = Level {
                    priority,
                    started: VecDeque::new(),
                    waiting: VecDeque::new(),
                };
                self.levels.insert(at, level);
                at
            }
        };
        let level = &mut self.levels[at];
        if started {
            level.started.push_back(id);
        } else {
            level.waiting.push_back(id);
        }
    }

    /// The next host, and whether its turn starts now.
    pub(super) fn pop(&mut self) -> Option<(HostId, bool)> {
        self.levels.iter_mut().find_map(|level| {
            if let Some(id) = level.started.pop_front() {
                return Some((id, false));
            }
            level.waiting.pop_front().map(|id| (id, true))
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.levels
            .iter()
            .all(|level| level.started.is_empty() && level.waiting.is_empty())
    }
}
