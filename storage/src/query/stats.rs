//! [`Store::stats`]: totals over a crawl, read from the running totals its writer keeps
//! (`writer::totals`), and over the part of it a [`PageFilter`] selects, counted from
//! the query.

use super::PageFilter;
use crate::record::{ProxyUse, StoreStats};
use crate::store::Store;
use crate::writer::host_counts;
use crate::writer::totals::Totals;
use crate::StoreError;

impl Store {
    /// Totals over every record, the frontier and the runs. The record totals are kept
    /// as the store is written (see `crate::writer::totals`), so this reads the buckets of host counts, not
    /// every record.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut stats = self.record_stats()?;
        stats.queued = self.queued_count()?;
        let runs = self.runs()?;
        stats.runs = runs.len() as u64;
        for run in &runs {
            ProxyUse::add_all(&mut stats.proxies, &run.proxies);
        }
        stats.elapsed_ms = runs
            .iter()
            .filter_map(|run| Some(run.finished_at_ms?.saturating_sub(run.started_at_ms)))
            .sum();
        Ok(stats)
    }

    /// The totals over every record alone: [`Store::stats`] without the frontier
    /// (a read of every queue file) and the runs.
    pub fn record_stats(&self) -> Result<StoreStats, StoreError> {
        let tree = self.tree();
        // No totals yet: no page was written.
        let crawl = Totals::read(tree)?.unwrap_or_default();
        Ok(crawl.to_stats(host_counts::read_all(tree)?))
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
