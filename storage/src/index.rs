//! The secondary indexes a page implies, added to and removed from the page's batch.
//!
//! Every entry is derived from a [`PageRecord`] and its outlinks alone, so the entries
//! a record had can be recomputed from it to remove them when the record is replaced.

use crate::keys::{self, named_prefix, with_url};
use crate::PageRecord;

/// The index keys of `page`: by host, by status, by fetch time and by error kind.
pub fn page_keys(page: &PageRecord) -> Vec<Vec<u8>> {
    let mut entries = Vec::with_capacity(4);
    entries.push(with_url(named_prefix(keys::BY_HOST, &page.host), &page.url));
    entries.push(with_url(
        keys::status_prefix(page.status.unwrap_or(0)),
        &page.url,
    ));
    entries.push(with_url(keys::time_prefix(page.fetched_at_ms), &page.url));
    if let Some(kind) = &page.error {
        entries.push(with_url(named_prefix(keys::BY_ERROR, kind), &page.url));
    }
    entries
}

/// The inlink key recording that `source` links to `target`.
pub fn inlink_key(target: &str, source: &str) -> Vec<u8> {
    with_url(keys::inlink_prefix(target), source)
}

/// Adds the index entries of `page` and its `outlinks` to `batch`.
pub fn add(batch: &mut sled::Batch, page: &PageRecord, outlinks: &[String]) {
    for key in page_keys(page) {
        batch.insert(key, &[][..]);
    }
    for target in outlinks {
        batch.insert(inlink_key(target, &page.url), &[][..]);
    }
}

/// Adds the removal of the index entries of `page` and its `outlinks` to `batch`.
/// Entries the new record re-adds later in the same batch survive: the last write
/// to a key in a batch wins.
pub fn remove(batch: &mut sled::Batch, page: &PageRecord, outlinks: &[String]) {
    for key in page_keys(page) {
        batch.remove(key);
    }
    for target in outlinks {
        batch.remove(inlink_key(target, &page.url));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_adds_an_entry_and_every_entry_ends_with_the_url() {
        let mut page = PageRecord::new("http://a.test/x", "a.test", 0);
        assert_eq!(page_keys(&page).len(), 3);
        page.error = Some("timeout".into());
        let keys = page_keys(&page);
        assert_eq!(keys.len(), 4);
        assert!(keys.iter().all(|k| k.ends_with(b"http://a.test/x")));
    }
}
