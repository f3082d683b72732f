//! The page index entries a record implies, kept beside sled in
//! `crate::index::page_index`.
//!
//! Every entry is derived from a [`PageRecord`] alone, so a query can tell whether an
//! entry is still one of its page's (the record may have been replaced since): see
//! [`crate::Store::query`]. (Inlinks are not here: they live beside sled, in
//! `crate::index::inlinks`.)

use crate::codec::keys::{self, named_prefix, with_url};
use crate::record::PageRecord;

/// The index keys of `page`: by host, by status, by fetch time, by error kind and by
/// due time (the last two when it has one).
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
    if let Some(due) = page.due_at_ms() {
        entries.push(with_url(keys::due_prefix(due), &page.url));
    }
    entries
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
        page.revisit_ms = Some(1_000);
        assert_eq!(page_keys(&page).len(), 5);
    }
}
