//! What each worker is doing now: its task's URL and since when.
//!
//! A worker sets its slot as a task starts and clears it as the task ends; a reader
//! copies the slots. The lock is held for those few lines only, never over a fetch.

use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::millis::millis;

/// One worker's task as a live status shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStatus {
    /// The worker's number (its thread is `worker-N`).
    pub worker: usize,
    /// The URL it is fetching (a page or a robots.txt); `None` when idle.
    pub url: Option<String>,
    /// Milliseconds on the current task (0 when idle).
    pub for_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct WorkerBoard {
    slots: Mutex<Vec<Option<(String, Instant)>>>,
}

impl WorkerBoard {
    /// Worker `worker` started on `url`.
    pub(crate) fn busy(&self, worker: usize, url: &str) {
        let task = Some((url.to_owned(), Instant::now()));
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() <= worker {
            slots.resize(worker + 1, None);
        }
        slots[worker] = task;
    }

    /// Worker `worker` finished its task.
    pub(crate) fn idle(&self, worker: usize) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.get_mut(worker) {
            *slot = None;
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<WorkerStatus> {
        let now = Instant::now();
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        (slots.iter().enumerate())
            .map(|(worker, slot)| WorkerStatus {
                worker,
                url: slot.as_ref().map(|(url, _)| url.clone()),
                for_ms: slot
                    .as_ref()
                    .map_or(0, |(_, since)| millis(now.duration_since(*since))),
            })
            .collect()
    }
}
