//! Recrawls: which stored URLs are due again, how each one's interval adapts, and the
//! pass that queues the due ones.
//!
//! A revisit is an ordinary frontier entry that names the record it refetches
//! (`QueueEntry::retry_of`, as `--retry-errors` does): it is settled when that record
//! is replaced, not by it. So a recrawl runs through the same frontier, politeness,
//! robots.txt rules and store writes as a first crawl, and a kill during one is
//! resumed like any crawl. The worker sends the stored validators (`If-None-Match`,
//! `If-Modified-Since`) and keeps the stored content when the answer is a 304 or the
//! same payload (`worker/page.rs`).
//!
//! The pass reads the store's indexes in time order from where the last pass of its
//! kind stopped (`Store::revisits_queued_before`): the fetch-time index for a fixed
//! interval; the due-time index for URLs with an interval of their own (adaptive),
//! plus the fetch-time index for the URLs an earlier, non-adaptive run left without
//! one. So a pass costs in proportion to what became due since the last one, never a
//! read of every record.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crawler_storage::{Change, PageFilter, PageRecord, QueueEntry, Store, StoreError, Via};
use serde::{Deserialize, Serialize};

use crate::millis::millis;
use crate::url::CanonicalUrl;

/// Entries written to the frontier at once (and the mark saved after each batch).
const BATCH: usize = 1_000;

/// When stored URLs are due to be fetched again.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "kebab-case")]
pub enum RevisitPolicy {
    /// Every URL is due this long after its last visit (`--revisit-after`; 0: all).
    Fixed {
        /// The interval.
        after: Duration,
    },
    /// Each URL has its own interval, starting at `initial`: halved when a visit
    /// finds the page changed, half as long again when it does not, within
    /// `min..=max` (`--revisit adaptive`; see [`RevisitPolicy::next_interval`]).
    Adaptive {
        /// A URL's first interval.
        initial: Duration,
        /// The shortest interval.
        min: Duration,
        /// The longest interval.
        max: Duration,
    },
}

impl RevisitPolicy {
    /// The interval a URL gets after a visit that found `change`, from the one it had
    /// (`None`: none; on a first visit, `change` is `None` and `had` is what a sitemap's
    /// `<changefreq>` said, if anything); `None` under a fixed policy.
    ///
    /// The rule is multiplicative increase and decrease, as Nutch's adaptive schedule
    /// and Heritrix's wait evaluators have it: a change halves the interval (a page
    /// that changes is looked at soon, and more often while it keeps changing), no
    /// change makes it 1.5 times longer (backing off slowly, so one quiet visit of a
    /// busy page does not send it far away). The interval then settles within a
    /// factor of about two of how often the page really changes, in a few visits. A
    /// page that is gone is looked at the longest interval later.
    pub fn next_interval(&self, had: Option<Duration>, change: Option<Change>) -> Option<Duration> {
        let RevisitPolicy::Adaptive { initial, min, max } = *self else {
            return None;
        };
        let next = match change {
            None => had.unwrap_or(initial),
            Some(Change::Changed) => had.unwrap_or(initial) / 2,
            Some(Change::NotModified | Change::Unchanged) => {
                had.unwrap_or(initial).saturating_mul(3) / 2
            }
            Some(Change::Gone) => max,
        };
        Some(next.clamp(min, max.max(min)))
    }
}

/// What a pass queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevisitsQueued {
    /// URLs queued for a revisit.
    pub queued: u64,
}

/// What a run knows of the revisits queued before it started (the passes' marks) and
/// of those a sitemap's `<lastmod>` queued since, so that no URL is queued for a
/// revisit twice.
pub(crate) struct RevisitLedger {
    /// When the run started: a URL fetched since is not fetched again for a sitemap.
    started_ms: u64,
    fixed: u64,
    due: u64,
    unscheduled: u64,
    /// URLs a sitemap's `<lastmod>` queued again in this run.
    refetched: Mutex<HashSet<u128>>,
}

impl RevisitLedger {
    /// The marks as the store has them now (read after the run's pass).
    pub(crate) fn read(store: &Store) -> Result<RevisitLedger, StoreError> {
        Ok(RevisitLedger {
            started_ms: crawler_storage::now_ms(),
            fixed: store.revisits_queued_before(Pass::Fixed.name())?,
            due: store.revisits_queued_before(Pass::Due.name())?,
            unscheduled: store.revisits_queued_before(Pass::Unscheduled.name())?,
            refetched: Mutex::new(HashSet::new()),
        })
    }

    /// Whether `record`'s URL may be queued again in this run, for a sitemap: it was
    /// fetched before the run, and no pass queued it (its fetch or due time is below
    /// the mark of a pass that took it, and it was not revisited since).
    pub(crate) fn may_refetch(&self, record: &PageRecord) -> bool {
        record.fetched_at_ms < self.started_ms && !self.queued_by_pass(record)
    }

    fn queued_by_pass(&self, record: &PageRecord) -> bool {
        record.fetched_at_ms < self.fixed
            || record.due_at_ms().is_some_and(|due| due < self.due)
            || (record.revisit_ms.is_none() && record.fetched_at_ms < self.unscheduled)
    }

    /// Takes `fingerprint` for a refetch in this run: `false` when it was taken before.
    pub(crate) fn take(&self, fingerprint: u128) -> bool {
        let mut refetched = self
            .refetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        refetched.insert(fingerprint)
    }
}

/// The names of the passes' marks in the store, one per index and use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// By fetch time, for a fixed interval.
    Fixed,
    /// By due time, for URLs with an interval of their own.
    Due,
    /// By fetch time, for the URLs an adaptive policy has no interval of yet.
    Unscheduled,
}

impl Pass {
    /// The name of its mark in the store.
    fn name(self) -> &'static str {
        match self {
            Pass::Fixed => "fixed",
            Pass::Due => "adaptive",
            Pass::Unscheduled => "adaptive-unscheduled",
        }
    }

    /// The records due in `from..before` by the index this pass walks, in time order.
    fn filter(self, from: u64, before: u64) -> PageFilter {
        match self {
            Pass::Due => PageFilter {
                due_since_ms: Some(from),
                due_before_ms: Some(before),
                ..PageFilter::default()
            },
            Pass::Fixed | Pass::Unscheduled => PageFilter {
                fetched_since_ms: Some(from),
                fetched_before_ms: Some(before),
                ..PageFilter::default()
            },
        }
    }

    /// Whether this pass queues `record`, found by its filter.
    fn takes(self, record: &PageRecord) -> bool {
        self != Pass::Unscheduled || record.revisit_ms.is_none()
    }

    /// Where `record` is in the index this pass walks.
    fn time_of(self, record: &PageRecord) -> u64 {
        match self {
            Pass::Due => record.due_at_ms().unwrap_or(0),
            Pass::Fixed | Pass::Unscheduled => record.fetched_at_ms,
        }
    }
}

/// Queues every stored URL that `policy` has due at `now_ms` and no earlier pass
/// queued, as a revisit of its record. Flushes first: a pending record is not in the
/// indexes a pass reads, and would settle a revisit of its URL.
pub(crate) fn queue_due(
    store: &Store,
    policy: &RevisitPolicy,
    now_ms: u64,
) -> Result<RevisitsQueued, StoreError> {
    store.flush()?;
    let mut queued = RevisitsQueued::default();
    match *policy {
        RevisitPolicy::Fixed { after } => {
            let before = now_ms.saturating_sub(millis(after));
            queued.queued += queue_range(store, Pass::Fixed, before)?;
        }
        RevisitPolicy::Adaptive { initial, .. } => {
            queued.queued += queue_range(store, Pass::Due, now_ms)?;
            let before = now_ms.saturating_sub(millis(initial));
            queued.queued += queue_range(store, Pass::Unscheduled, before)?;
        }
    }
    Ok(queued)
}

/// Queues the records of one pass's index from its mark to `before`, saving the mark
/// after each batch; returns how many.
fn queue_range(store: &Store, pass: Pass, before: u64) -> Result<u64, StoreError> {
    let from = store.revisits_queued_before(pass.name())?;
    if from >= before {
        return Ok(0);
    }
    let mut batch = Vec::with_capacity(BATCH);
    let mut queued = 0;
    for record in store.query(&pass.filter(from, before)) {
        let record = record?;
        if !pass.takes(&record) {
            continue;
        }
        let at = pass.time_of(&record);
        batch.extend(refetch_entry(record));
        if batch.len() == BATCH {
            queued += enqueue_batch(store, &mut batch)?;
            // Every record before `at` is queued; those at `at` may straddle batches
            // and are read again by the next pass (a few duplicates at most).
            store.set_revisits_queued_before(pass.name(), at)?;
        }
    }
    queued += enqueue_batch(store, &mut batch)?;
    store.set_revisits_queued_before(pass.name(), before)?;
    Ok(queued)
}

/// The frontier entry that fetches a stored URL again, at its recorded depth and
/// referrer, settled once its record is replaced; `None` for a stored URL that no
/// longer parses (it is left as it is). Revisits and `--retry-errors` both queue it.
pub(crate) fn refetch_entry(record: PageRecord) -> Option<(u128, QueueEntry)> {
    let url = CanonicalUrl::parse(&record.url).ok()?;
    let entry = QueueEntry {
        depth: record.depth,
        via: record.via.or(Some(Via::presumed(record.from.as_deref()))),
        from: record.from,
        kind: record.kind,
        retry_of: Some(record.fetched_at_ms),
        ..QueueEntry::seed(url.as_str(), url.host_key().as_str())
    };
    Some((url.fingerprint(), entry))
}

/// Writes `batch` to the store's frontier and empties it; returns how many.
pub(crate) fn enqueue_batch(
    store: &Store,
    batch: &mut Vec<(u128, QueueEntry)>,
) -> Result<u64, StoreError> {
    store.enqueue(batch)?;
    let written = batch.len() as u64;
    batch.clear();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adaptive_interval_halves_on_change_and_grows_by_half_within_bounds() {
        let hour = Duration::from_secs(3600);
        let policy = RevisitPolicy::Adaptive {
            initial: 8 * hour,
            min: hour,
            max: 24 * hour,
        };
        assert_eq!(policy.next_interval(None, None), Some(8 * hour));
        // A sitemap's `<changefreq>` is a first visit's interval, within the bounds.
        assert_eq!(policy.next_interval(Some(2 * hour), None), Some(2 * hour));
        assert_eq!(
            policy.next_interval(Some(Duration::MAX), None),
            Some(24 * hour)
        );
        let changed = Some(Change::Changed);
        let same = Some(Change::NotModified);
        assert_eq!(
            policy.next_interval(Some(8 * hour), changed),
            Some(4 * hour)
        );
        assert_eq!(policy.next_interval(Some(8 * hour), same), Some(12 * hour));
        assert_eq!(policy.next_interval(Some(hour), changed), Some(hour));
        assert_eq!(policy.next_interval(Some(20 * hour), same), Some(24 * hour));
        assert_eq!(
            policy.next_interval(Some(2 * hour), Some(Change::Gone)),
            Some(24 * hour)
        );
        let fixed = RevisitPolicy::Fixed { after: hour };
        assert_eq!(fixed.next_interval(Some(hour), changed), None);
    }
}
