use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Store, StoreError};

/// Totals over everything a store holds.
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
    /// Failed or refused URLs by error kind.
    pub errors: BTreeMap<String, u64>,
    /// Body bytes received (decompressed).
    pub bytes: u64,
    /// Records per host.
    pub pages_per_host: BTreeMap<String, u64>,
    /// URLs still in the frontier.
    pub queued: u64,
    /// Wall time of all runs, in milliseconds.
    pub elapsed_ms: u64,
}

impl Store {
    /// Computes the totals by reading every record.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut stats = StoreStats::default();
        for page in self.pages() {
            let page = page?;
            stats.urls += 1;
            stats.bytes += page.bytes;
            *stats.pages_per_host.entry(page.host.clone()).or_default() += 1;
            if let Some(status) = page.status {
                stats.responses += 1;
                *stats.by_status.entry(status).or_default() += 1;
                *stats
                    .by_status_class
                    .entry(page.status_class().to_owned())
                    .or_default() += 1;
            }
            if let Some(kind) = page.error {
                *stats.errors.entry(kind).or_default() += 1;
            }
        }
        for entry in self.queued() {
            entry?;
            stats.queued += 1;
        }
        stats.elapsed_ms = self
            .runs()?
            .iter()
            .filter_map(|run| Some(run.finished_at_ms?.saturating_sub(run.started_at_ms)))
            .sum();
        Ok(stats)
    }
}
