//! Totals over a crawl, or over the part of it a [`PageFilter`] selects.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::totals::{read_host_counts, Totals};
use crate::{PageFilter, PageRecord, Store, StoreError};

/// Totals over the pages of a store (or of one host, ...), and the crawl's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// URLs with a record (fetched, failed or refused).
    pub urls: u64,
    /// URLs that got an HTTP response.
    pub responses: u64,
    /// Responses by class: `"2xx"`, `"3xx"`, ...
    pub by_status_class: BTreeMap<String, u64>,
    /// Responses by exact status.
    pub by_status: BTreeMap<u16, u64>,
    /// Failed or refused URLs by error kind (a response whose body failed counts here
    /// and among the responses).
    pub errors: BTreeMap<String, u64>,
    /// Body bytes received (decompressed).
    pub bytes: u64,
    /// Records per host.
    pub pages_per_host: BTreeMap<String, u64>,
    /// The earliest and latest fetch start (ms since the Unix epoch), if any page.
    pub first_fetch_ms: Option<u64>,
    /// See `first_fetch_ms`.
    pub last_fetch_ms: Option<u64>,
    /// URLs still in the frontier (whole-store statistics only).
    pub queued: u64,
    /// Runs of the crawler over this store (whole-store statistics only).
    pub runs: u64,
    /// Wall time of all finished runs, in milliseconds (whole-store statistics only).
    /// A run that was killed has no end; its time is not counted.
    pub elapsed_ms: u64,
}

impl StoreStats {
    /// Counts one page record in.
    pub fn add(&mut self, page: &PageRecord) {
        self.urls += 1;
        self.bytes += page.bytes;
        match self.pages_per_host.get_mut(&page.host) {
            Some(count) => *count += 1,
            None => {
                self.pages_per_host.insert(page.host.clone(), 1);
            }
        }
        if let Some(status) = page.status {
            self.responses += 1;
            *self.by_status.entry(status).or_default() += 1;
            match self.by_status_class.get_mut(page.status_class()) {
                Some(count) => *count += 1,
                None => {
                    self.by_status_class
                        .insert(page.status_class().to_owned(), 1);
                }
            }
        }
        if let Some(kind) = &page.error {
            *self.errors.entry(kind.clone()).or_default() += 1;
        }
        if page.attempts > 0 {
            let at = page.fetched_at_ms;
            self.first_fetch_ms = Some(self.first_fetch_ms.map_or(at, |t| t.min(at)));
            self.last_fetch_ms = Some(self.last_fetch_ms.map_or(at, |t| t.max(at)));
        }
    }
}

impl Store {
    /// Totals over every record, the frontier and the runs. The record totals are kept
    /// as the store is written (see `totals`), so this reads one key per host, not
    /// every record.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let tree = self.tree();
        // No totals yet: no page was written.
        let crawl = Totals::read(tree)?.unwrap_or_default();
        let mut stats = crawl.to_stats(read_host_counts(tree)?);
        stats.queued = self.queued_count()?;
        let runs = self.runs()?;
        stats.runs = runs.len() as u64;
        stats.elapsed_ms = runs
            .iter()
            .filter_map(|run| Some(run.finished_at_ms?.saturating_sub(run.started_at_ms)))
            .sum();
        Ok(stats)
    }

    /// Totals over the pages `filter` selects (through its index: the statistics of
    /// one host cost in proportion to that host's pages).
    pub fn stats_for(&self, filter: &PageFilter) -> Result<StoreStats, StoreError> {
        let mut stats = StoreStats::default();
        for page in self.query(filter) {
            stats.add(&page?);
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_statuses_errors_hosts_and_fetch_span() {
        let mut stats = StoreStats::default();
        let ok = PageRecord {
            status: Some(200),
            bytes: 10,
            fetched_at_ms: 50,
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        let failed = PageRecord {
            error: Some("timeout".into()),
            fetched_at_ms: 20,
            ..PageRecord::new("http://b.test/", "b.test", 0)
        };
        let refused = PageRecord {
            error: Some("too-many-redirects".into()),
            attempts: 0,
            fetched_at_ms: 5,
            ..PageRecord::new("http://b.test/r", "b.test", 0)
        };
        for page in [&ok, &failed, &refused] {
            stats.add(page);
        }
        assert_eq!(stats.urls, 3);
        assert_eq!(stats.responses, 1);
        assert_eq!(stats.bytes, 10);
        assert_eq!(stats.by_status_class["2xx"], 1);
        assert_eq!(stats.errors["timeout"], 1);
        assert_eq!(stats.pages_per_host["b.test"], 2);
        assert_eq!(
            (stats.first_fetch_ms, stats.last_fetch_ms),
            (Some(20), Some(50))
        );
    }
}
