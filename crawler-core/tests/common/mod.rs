//! What the library's integration tests share.

use crawler_core::storage::Store;
use crawler_core::CrawlSummary;

/// The summary counts, error kind by error kind and status class by status class,
/// what the store holds (the agreement the e2e harness checks of every `crawler crawl`).
pub fn assert_summary_agrees_with(summary: &CrawlSummary, store: &Store) {
    let stats = store.stats().unwrap();
    assert_eq!(
        (&summary.errors, &summary.by_status_class),
        (&stats.errors, &stats.by_status_class),
        "summary (left) and store (right) disagree"
    );
}
