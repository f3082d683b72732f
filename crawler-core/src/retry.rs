//! Fetching failed URLs again (`--retry-errors`): a short outage or a run with a bad
//! setting records URLs with an error, and an error settles a URL for good. Queueing
//! them again puts them back into the store's frontier, where the next run finds them
//! as it finds any queued URL; their new records replace the failed ones.

use crawler_storage::{PageFilter, QueueEntry, Store, StoreError, Via};

use crate::error_kind::ErrorKind;
use crate::url::CanonicalUrl;

/// Entries written to the frontier at once.
const BATCH: usize = 1_000;

/// Queues again every stored URL whose record has one of `kinds` as its error, at
/// its recorded depth and referrer; returns how many.
pub(crate) fn requeue_failed(store: &Store, kinds: &[ErrorKind]) -> Result<u64, StoreError> {
    // No failed record may be pending: a pending record settles a retry of its URL.
    store.flush()?;
    let mut requeued = 0;
    for kind in kinds {
        let filter = PageFilter {
            error: Some(kind.as_str().to_owned()),
            ..PageFilter::default()
        };
        let mut batch = Vec::with_capacity(BATCH);
        for record in store.query(&filter) {
            let record = record?;
            // Stored URLs are canonical; one that no longer parses is left as it is.
            let Ok(url) = CanonicalUrl::parse(&record.url) else {
                continue;
            };
            let entry = QueueEntry {
                depth: record.depth,
                via: record.via.or(Some(Via::presumed(record.from.as_deref()))),
                from: record.from,
                retry_of: Some(record.fetched_at_ms),
                ..QueueEntry::seed(url.as_str(), url.host_key().as_str())
            };
            batch.push((url.fingerprint(), entry));
            if batch.len() == BATCH {
                requeued += write(store, &mut batch)?;
            }
        }
        requeued += write(store, &mut batch)?;
    }
    Ok(requeued)
}

fn write(store: &Store, batch: &mut Vec<(u128, QueueEntry)>) -> Result<u64, StoreError> {
    store.enqueue(batch)?;
    let written = batch.len() as u64;
    batch.clear();
    Ok(written)
}
