//! Logging hosts the frontier closes, at any breadth.
//!
//! A crawl of a few hosts names each closed host (a warning each). A broad crawl can
//! close hundreds of thousands (a seed list of dead sites), and a line per host would
//! drown everything else. So the first [`NAMED`] closures are logged one by one, and
//! after that they are counted by kind and logged as one line every [`SUMMARY_EVERY`]
//! (and once more when the crawl ends). With `-v` (the INFO level enabled) every
//! closure is named, as before. The summary and `stats` count them all either way.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::messages::Closure;

/// Closures named one by one before they are summarized.
pub(crate) const NAMED: usize = 10;

/// How often the closures counted since the last line are logged.
pub(crate) const SUMMARY_EVERY: Duration = Duration::from_secs(5);

/// The closures logged so far, and those counted since the last summary line.
#[derive(Debug, Default)]
pub(crate) struct ClosureLog {
    named: usize,
    /// Closures not named, by kind, since the last summary line.
    unnamed: BTreeMap<&'static str, u64>,
    /// When the last summary line was written (or the first unnamed closure came).
    since: Option<Instant>,
}

impl ClosureLog {
    /// Logs `closure`, or counts it for the next summary line.
    pub(crate) fn record(&mut self, closure: &Closure, now: Instant) {
        if self.named < NAMED || tracing::enabled!(tracing::Level::INFO) {
            self.named += 1;
            tracing::warn!(
                host = closure.host,
                kind = closure.kind,
                reason = closure.reason,
                "host closed: its URLs are recorded, not fetched"
            );
            return;
        }
        if self.named == NAMED {
            self.named += 1;
            tracing::warn!(
                "more hosts are closing: from now on they are counted every {} s (-v names each)",
                SUMMARY_EVERY.as_secs()
            );
        }
        self.since.get_or_insert(now);
        *self.unnamed.entry(closure.kind).or_default() += 1;
    }

    /// Writes the summary line when one is due.
    pub(crate) fn tick(&mut self, now: Instant) {
        if self
            .since
            .is_some_and(|since| now.duration_since(since) >= SUMMARY_EVERY)
        {
            self.flush();
        }
    }

    /// Writes what is counted and not logged yet (the crawl is ending).
    pub(crate) fn flush(&mut self) {
        if self.unnamed.is_empty() {
            return;
        }
        let total: u64 = self.unnamed.values().sum();
        let kinds: Vec<String> = self
            .unnamed
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        let hosts = if total == 1 { "host" } else { "hosts" };
        tracing::warn!(
            "{total} more {hosts} closed ({}): their URLs are recorded, not fetched",
            kinds.join(", ")
        );
        self.unnamed.clear();
        self.since = None;
    }
}
