//! The live status of a running crawl: what a monitor shows beyond the counters of a
//! [`crate::Snapshot`]: latency histograms, what each worker is fetching, and the
//! hosts that are busiest, failing, slowest or parked.
//!
//! Every part is read without stopping the crawl. Counters and histograms are atomics;
//! the worker board is a lock held for a few lines; the hosts are named from a board
//! the scheduler builds by walking the frontier at most once a second (and only while
//! someone reads the status, or the crawl is small), which a reader takes whole. So a
//! reader, however often it reads, costs the crawl at most that one walk a second, and
//! never more than 1% of the scheduler's time (a walk over a million hosts, about 65
//! ms, is followed by a pause of a hundred times that).

mod histogram;
mod hosts;
mod workers;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use histogram::Histogram;
pub(crate) use histogram::{LiveHistogram, FETCH_BOUNDS, STORE_WRITE_BOUNDS};
pub use hosts::{HostBoard, HostStatus, ParkedHost, NAMED};
pub(crate) use workers::WorkerBoard;
pub use workers::WorkerStatus;

use crate::millis::millis;
use crate::snapshot::Snapshot;

/// Everything a live view of a crawl shows, at one instant. A field a reader does not
/// know is skipped, and one missing takes its default, so a `crawler top` and a crawl
/// of different versions still understand each other.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveStatus {
    /// The counters ([`crate::CrawlHandle::stats`]).
    pub counters: Snapshot,
    /// Responses by status class (`2xx`, ...), robots.txt's not included.
    pub responses_by_class: BTreeMap<String, u64>,
    /// Failed fetches and refused URLs by error kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Failed fetches tried again.
    pub retries: u64,
    /// robots.txt fetches that got a response (of any status).
    pub robots_fetched: u64,
    /// robots.txt fetches that got none.
    pub robots_failed: u64,
    /// Hosts backing off after failures or slow-down answers.
    pub hosts_backing_off: u64,
    /// The hosts with the most URLs queued, most first.
    pub hosts_by_queue: Vec<HostStatus>,
    /// The hosts with the most errors, most first.
    pub hosts_by_errors: Vec<HostStatus>,
    /// The hosts with the longest delay or pause, longest first.
    pub hosts_by_delay: Vec<HostStatus>,
    /// Parked hosts (the first few) and why; `counters.hosts_parked` counts them all.
    pub parked: Vec<ParkedHost>,
    /// Milliseconds since the host lists were taken (they are refreshed each second).
    pub hosts_age_ms: u64,
    /// What each worker is fetching.
    pub workers: Vec<WorkerStatus>,
    /// How long page fetches took, body included (retried attempts counted).
    pub fetch_seconds: Histogram,
    /// How long the store took to write a page with its links and frontier changes.
    pub store_write_seconds: Histogram,
}

/// The live parts beside the counters, shared by every thread of a crawl.
#[derive(Debug)]
pub(crate) struct Live {
    started: Instant,
    pub fetch_seconds: LiveHistogram,
    pub store_write_seconds: LiveHistogram,
    pub workers: WorkerBoard,
    /// The latest board, when it was taken, and how long its walk took.
    board: Mutex<(Arc<HostBoard>, Option<Instant>, Duration)>,
    /// When a status was last read, in milliseconds since `started` (`u64::MAX`:
    /// never).
    read_at_ms: AtomicU64,
}

/// How often the scheduler walks the hosts for the board at most.
const BOARD_EVERY: Duration = Duration::from_secs(1);
/// A walk is followed by a pause of this many times its length at least, so walking
/// costs the scheduler at most 1% of its time (a million hosts take tens of ms).
const BOARD_PAUSE_FACTOR: u32 = 100;
/// How long after the last read the board is kept fresh.
const WATCHED_FOR: Duration = Duration::from_secs(10);
/// Below this many hosts the board is kept fresh whether read or not (a walk is cheap).
const ALWAYS_BELOW_HOSTS: usize = 10_000;

impl Default for Live {
    fn default() -> Live {
        Live {
            started: Instant::now(),
            fetch_seconds: LiveHistogram::new(FETCH_BOUNDS),
            store_write_seconds: LiveHistogram::new(STORE_WRITE_BOUNDS),
            workers: WorkerBoard::default(),
            board: Mutex::new((Arc::default(), None, Duration::ZERO)),
            read_at_ms: AtomicU64::new(u64::MAX),
        }
    }
}

impl Live {
    /// Whether the scheduler should walk the hosts for a new board now.
    pub(crate) fn board_due(&self, hosts: usize, now: Instant) -> bool {
        let read_at = self.read_at_ms.load(Relaxed);
        let watched = read_at != u64::MAX
            && self.millis_at(now).saturating_sub(read_at) <= millis(WATCHED_FOR);
        if !watched && hosts >= ALWAYS_BELOW_HOSTS {
            return false;
        }
        let board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        let every = BOARD_EVERY.max(board.2.saturating_mul(BOARD_PAUSE_FACTOR));
        board
            .1
            .is_none_or(|at| now.saturating_duration_since(at) >= every)
    }

    /// A new board, walked from `at` and done now.
    pub(crate) fn set_board(&self, board: HostBoard, at: Instant) {
        let took = at.elapsed();
        let board = Arc::new(board);
        *self.board.lock().unwrap_or_else(|e| e.into_inner()) = (board, Some(at), took);
    }

    /// The latest host board and its age in milliseconds, for a status being read:
    /// marks the board as watched, so the scheduler keeps it fresh.
    pub(crate) fn watched_board(&self) -> (Arc<HostBoard>, u64) {
        let now = Instant::now();
        self.read_at_ms.store(self.millis_at(now), Relaxed);
        let (board, taken_at, _) = self.board.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let age_ms = taken_at.map_or(0, |at| millis(now.saturating_duration_since(at)));
        (board, age_ms)
    }

    fn millis_at(&self, now: Instant) -> u64 {
        millis(now.saturating_duration_since(self.started))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broad_crawl_walks_its_hosts_only_while_watched_and_at_most_once_a_second() {
        let live = Live::default();
        let start = Instant::now();
        assert!(
            live.board_due(10, start),
            "a small crawl keeps its board fresh"
        );
        assert!(
            !live.board_due(1_000_000, start),
            "nobody watches a broad one"
        );
        live.watched_board();
        assert!(live.board_due(1_000_000, start));
        live.set_board(HostBoard::default(), start);
        assert!(!live.board_due(10, start + Duration::from_millis(500)));
        assert!(live.board_due(10, start + BOARD_EVERY));
        let watched_until = Instant::now() + WATCHED_FOR + Duration::from_secs(1);
        assert!(
            !live.board_due(1_000_000, watched_until),
            "the watcher left"
        );
    }
}
