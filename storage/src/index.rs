//! The secondary indexes a page implies, added to and removed from the page's batch.
//!
//! Every entry is derived from a [`PageRecord`] alone, so the entries a record had can
//! be recomputed from it to remove them when the record is replaced. (Inlinks are not
//! here: they live beside sled, in `inlinks`.)

use crate::keys::{self, named_prefix, with_url};
use crate::record_writer::Changes;
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

/// Adds the index entries of `page` to `changes`.
pub(crate) fn add(changes: &mut Changes, page: &PageRecord) {
    for key in page_keys(page) {
        changes.insert(key, &[][..]);
    }
}

/// Adds the removal of the index entries of `page` to `changes`. Entries the new record
/// re-adds later in the same batch survive: the last write to a key in a batch wins.
pub(crate) fn remove(changes: &mut Changes, page: &PageRecord) {
    for key in page_keys(page) {
        changes.remove(key);
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
