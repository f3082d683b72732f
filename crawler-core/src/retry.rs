//! Fetching failed URLs again (`--retry-errors`): a short outage or a run with a bad
//! setting records URLs with an error, and an error settles a URL for good. Queueing
//! them again puts them back into the store's frontier, where the next run finds them
//! as it finds any queued URL; their new records replace the failed ones.

use crawler_storage::{PageFilter, Store, StoreError};

use crate::error_kind::ErrorKind;
use crate::revisit::{enqueue_batch, refetch_entry};

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
            batch.extend(refetch_entry(record?));
            if batch.len() == BATCH {
                requeued += enqueue_batch(store, &mut batch)?;
            }
        }
        requeued += enqueue_batch(store, &mut batch)?;
    }
    Ok(requeued)
}
