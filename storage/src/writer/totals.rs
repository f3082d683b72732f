//! Running totals: what [`crate::Store::stats`] reports, kept in the store as it is
//! written, so that the statistics of a crawl of any size cost one read and a short
//! scan of per-host counts instead of a read of every page record.
//!
//! The store's writer (`crate::writer`) counts every record it applies in (and the
//! record it replaces out) of totals held in memory, and puts the new totals into the
//! same sled batch as the records: the whole-crawl figures under `z` and the count of
//! each host written in its bucket of host counts (`crate::writer::host_counts`; keys
//! that sort after all others but `z`: see `keys::HOST_COUNTS`). One thread counts, in the order it applies, and the batch is
//! atomic, so the totals on disk are always those of the records on disk, after a
//! crash too.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::codec::json::{from_json, to_json};
use crate::codec::keys;
use crate::record::{PageRecord, StoreStats};
use crate::writer::host_counts::{self, Deltas};
use crate::writer::submission::Changes;
use crate::StoreError;

/// The whole-crawl figures stored under `z`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Totals {
    urls: u64,
    responses: u64,
    bytes: u64,
    by_status: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
    first_fetch_ms: Option<u64>,
    last_fetch_ms: Option<u64>,
    /// Records whose URL was visited more than once.
    #[serde(default)]
    revisited: u64,
    /// Records by what their last visit found (`not-modified`, ...).
    #[serde(default)]
    changes: BTreeMap<String, u64>,
}

impl Totals {
    fn add(&mut self, page: &PageRecord) {
        self.urls += 1;
        self.bytes += page.bytes;
        if let Some(status) = page.status {
            self.responses += 1;
            *self.by_status.entry(status).or_default() += 1;
        }
        if let Some(kind) = &page.error {
            *self.errors.entry(kind.clone()).or_default() += 1;
        }
        if page.visit_count() > 1 {
            self.revisited += 1;
        }
        if let Some(change) = page.change {
            *self.changes.entry(change.as_str().to_owned()).or_default() += 1;
        }
        if page.attempts > 0 {
            let at = page.fetched_at_ms;
            self.first_fetch_ms = Some(self.first_fetch_ms.map_or(at, |t| t.min(at)));
            self.last_fetch_ms = Some(self.last_fetch_ms.map_or(at, |t| t.max(at)));
        }
    }

    /// Takes out a record that is being replaced. The fetch span keeps it: a span is
    /// from the first fetch to the last, whichever records hold them now.
    fn remove(&mut self, page: &PageRecord) {
        self.urls = self.urls.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(page.bytes);
        if let Some(status) = page.status {
            self.responses = self.responses.saturating_sub(1);
            decrement(&mut self.by_status, &status);
        }
        if let Some(kind) = &page.error {
            decrement(&mut self.errors, kind);
        }
        if page.visit_count() > 1 {
            self.revisited = self.revisited.saturating_sub(1);
        }
        if let Some(change) = page.change {
            decrement(&mut self.changes, &change.as_str().to_owned());
        }
    }

    /// The statistics these totals and per-host counts make (the frontier and run
    /// figures are the caller's).
    pub(crate) fn to_stats(&self, pages_per_host: BTreeMap<String, u64>) -> StoreStats {
        let mut by_status_class = BTreeMap::new();
        for (status, count) in &self.by_status {
            let class = PageRecord::class_of(*status);
            *by_status_class.entry(class.to_owned()).or_default() += count;
        }
        StoreStats {
            urls: self.urls,
            responses: self.responses,
            by_status_class,
            by_status: self.by_status.clone(),
            errors: self.errors.clone(),
            bytes: self.bytes,
            pages_per_host,
            first_fetch_ms: self.first_fetch_ms,
            last_fetch_ms: self.last_fetch_ms,
            revisited: self.revisited,
            by_change: self.changes.clone(),
            ..StoreStats::default()
        }
    }

    /// The totals stored in `tree`, if the store keeps them.
    pub(crate) fn read(tree: &sled::Tree) -> Result<Option<Totals>, StoreError> {
        let key = [keys::TOTALS];
        tree.get(key)?
            .map(|value| from_json(&key, &value))
            .transpose()
    }
}

fn decrement<K: Ord>(counts: &mut BTreeMap<K, u64>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(key);
        }
    }
}

/// The totals of a store open for writing, shared by its writers.
/// Totals counted afresh from every record, to hold the stored ones to (`crawler check`)
/// or to replace them (`crawler repair`).
#[derive(Default)]
pub(crate) struct Recount {
    crawl: Totals,
    hosts: BTreeMap<String, u64>,
}

impl Recount {
    pub(crate) fn add(&mut self, page: &PageRecord) {
        self.crawl.add(page);
        *self.hosts.entry(page.host.clone()).or_default() += 1;
    }

    /// Where the stored totals disagree with the recount (fetch times aside: a record
    /// replaced keeps its time in the running range); empty when they agree.
    pub(crate) fn disagreements(&self, tree: &sled::Tree) -> Result<Vec<String>, StoreError> {
        let stored = Totals::read(tree)?.unwrap_or_default();
        let mut found = Vec::new();
        let times = |t: &Totals| Totals {
            first_fetch_ms: None,
            last_fetch_ms: None,
            ..t.clone()
        };
        if times(&stored) != times(&self.crawl) {
            found.push(format!(
                "the running totals count {} URLs ({} responses, {} bytes) where the records are {} ({} responses, {} bytes)",
                stored.urls, stored.responses, stored.bytes,
                self.crawl.urls, self.crawl.responses, self.crawl.bytes
            ));
        }
        let hosts = host_counts::read_all(tree)?;
        let stored_hosts: BTreeMap<&String, &u64> = hosts.iter().filter(|(_, n)| **n > 0).collect();
        let counted: BTreeMap<&String, &u64> = self.hosts.iter().collect();
        if stored_hosts != counted {
            found.push(format!(
                "the page counts of {} hosts disagree with their records",
                stored_hosts
                    .keys()
                    .chain(counted.keys())
                    .filter(|host| stored_hosts.get(*host) != counted.get(*host))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
            ));
        }
        Ok(found)
    }

    /// Replaces the stored totals with the recount.
    pub(crate) fn store(&self, tree: &sled::Tree) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        host_counts::replace_all(tree, &self.hosts, &mut batch)?;
        batch.insert(&[keys::TOTALS][..], to_json(&self.crawl));
        tree.apply_batch(batch)?;
        Ok(())
    }
}

#[derive(Default)]
pub(crate) struct RunningTotals {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    crawl: Totals,
}

/// The totals locked for one write: see [`RunningTotals::lock`].
pub(crate) struct Locked<'a>(MutexGuard<'a, State>);

impl RunningTotals {
    /// Totals that start from `crawl` (what the store holds). Host counts are not held:
    /// each round reads and rewrites the buckets it changes.
    pub(crate) fn starting_from(crawl: Totals) -> RunningTotals {
        RunningTotals {
            state: Mutex::new(State { crawl }),
        }
    }

    /// Locks the totals (the store's writer holds them for one round).
    pub(crate) fn lock(&self) -> Locked<'_> {
        // Counters stay usable after a panic elsewhere: at worst one write is off.
        Locked(
            self.state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

impl Locked<'_> {
    /// Counts `removed` out, then `added` in (a record replaced in the same write
    /// as it was added must be counted in a call before); their hosts' changes go
    /// into `hosts`.
    pub(crate) fn count(
        &mut self,
        removed: &[PageRecord],
        added: &[&PageRecord],
        hosts: &mut Deltas,
    ) {
        let state = &mut *self.0;
        for page in removed {
            state.crawl.remove(page);
            *hosts.entry(page.host.clone()).or_default() -= 1;
        }
        for page in added {
            state.crawl.add(page);
            *hosts.entry(page.host.clone()).or_default() += 1;
        }
    }

    /// Puts the totals of the crawl, and the host counts changed by `hosts` (read from
    /// `tree`, which only the writer writes), into `changes`.
    pub(crate) fn write(
        &self,
        changes: &mut Changes,
        tree: &sled::Tree,
        hosts: &Deltas,
    ) -> Result<(), StoreError> {
        changes.insert(&[keys::TOTALS][..], to_json(&self.0.crawl));
        host_counts::apply(tree, hosts, changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, host: &str, status: Option<u16>, error: Option<&str>) -> PageRecord {
        PageRecord {
            status,
            error: error.map(str::to_owned),
            bytes: 10,
            fetched_at_ms: 100,
            ..PageRecord::new(url, host, 0)
        }
    }

    #[test]
    fn a_replaced_record_is_counted_out_and_its_host_count_kept_right() {
        let totals = RunningTotals::default();
        let failed = page("http://a.test/", "a.test", None, Some("timeout"));
        let fetched = page("http://a.test/", "a.test", Some(200), None);
        let other = page("http://b.test/", "b.test", Some(404), None);
        let mut hosts = Deltas::new();
        totals.lock().count(&[], &[&failed, &other], &mut hosts);
        totals
            .lock()
            .count(std::slice::from_ref(&failed), &[&fetched], &mut hosts);
        let state = totals.lock();
        let stats = state.0.crawl.to_stats(BTreeMap::new());
        assert_eq!(stats.urls, 2);
        assert_eq!(stats.responses, 2);
        assert_eq!(stats.bytes, 20);
        assert!(stats.errors.is_empty(), "{:?}", stats.errors);
        assert_eq!(stats.by_status_class["2xx"], 1);
        assert_eq!(stats.by_status_class["4xx"], 1);
        assert_eq!(hosts["a.test"], 1);
        assert_eq!(hosts["b.test"], 1);
    }
}
