//! How far revisit passes have queued: the marks that make a recrawl's pass safe to
//! run again after a kill or a stop, and cheap however many visits the store holds.
//!
//! A pass walks an index in time order (fetch time for a fixed interval, due time for
//! URLs with an interval of their own) and queues every due URL as a revisit entry.
//! Its mark is the time up to which it has queued, saved after each batch is in the
//! queue files; the next pass of that kind starts there. A URL revisited since has a
//! later fetch (and due) time than any pass before, so it is found again; one queued
//! and not yet revisited lies below the mark and is not queued twice; and the index
//! entries of visits replaced since (an index keeps them: `crate::index::page_keys`)
//! lie below it too, so a pass reads only what became due since the last one.
//! The engine names its kinds of pass; the store keeps one mark per name.

use super::Store;
use crate::codec::json::from_be_u64;
use crate::codec::keys;
use crate::StoreError;

fn mark_key(pass: &str) -> Vec<u8> {
    keys::meta_key(&format!("revisits-queued-before/{pass}"))
}

impl Store {
    /// The time (ms) before which the passes named `pass` queued every URL they found
    /// due; 0 when none ran.
    pub fn revisits_queued_before(&self, pass: &str) -> Result<u64, StoreError> {
        let key = mark_key(pass);
        match self.tree().get(&key)? {
            Some(value) => from_be_u64(&key, &value, "a revisit mark"),
            None => Ok(0),
        }
    }

    /// Records that the passes named `pass` queued every URL they found due before
    /// `ms` (call it after the entries are written: [`Store::enqueue`]). Durable when
    /// it returns.
    pub fn set_revisits_queued_before(&self, pass: &str, ms: u64) -> Result<(), StoreError> {
        self.check_writable()?;
        self.tree.insert(mark_key(pass), &ms.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::record::{Change, HttpExchange, PageRecord, ResponseHead};
    use crate::{PageFilter, PageWrite, Revisit, Store, StoreOptions};

    fn visit(at: u64, status: u16, change: Option<Change>, digest: &str) -> PageRecord {
        PageRecord {
            status: Some(status),
            fetched_at_ms: at,
            digest: Some(digest.into()),
            change,
            visits: 1,
            ..PageRecord::new("http://a.test/", "a.test", 0)
        }
    }

    fn heads(status: u16) -> HttpExchange {
        HttpExchange {
            response: ResponseHead {
                status,
                ..ResponseHead::default()
            },
            ..HttpExchange::default()
        }
    }

    fn write(store: &Store, page: &PageRecord, body: &[u8], status: u16, versions: u32) {
        let links = ["http://a.test/x".to_owned()];
        store
            .write_page(&PageWrite {
                page: Some(page),
                body: Some(body),
                outlinks: &links,
                exchange: Some(&heads(status)),
                revisit: Some(Revisit {
                    versions,
                    replaces: None,
                }),
                ..PageWrite::default()
            })
            .unwrap();
        store.flush().unwrap();
    }

    #[test]
    fn a_revisit_keeps_the_content_it_did_not_change_and_chains_the_visits_before() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        write(&store, &visit(1_000, 200, None, "sha1:A"), b"first", 200, 2);
        // A 304: the body, outlinks and heads of the first visit stay.
        let not_modified = PageRecord {
            captured_ms: Some(1_000),
            visits: 2,
            ..visit(2_000, 304, Some(Change::NotModified), "sha1:A")
        };
        write(&store, &not_modified, b"ignored", 304, 2);
        let url = "http://a.test/";
        assert_eq!(store.body(url).unwrap().unwrap(), b"first");
        assert_eq!(store.exchange(url).unwrap().unwrap().response.status, 200);
        assert_eq!(
            store.visit_exchange(url).unwrap().unwrap().response.status,
            304
        );
        assert_eq!(store.outlinks(url).unwrap(), ["http://a.test/x"]);
        // A change: a new body; the old one kept as a version (2 kept).
        let changed = PageRecord {
            visits: 3,
            ..visit(3_000, 200, Some(Change::Changed), "sha1:B")
        };
        write(&store, &changed, b"second", 200, 2);
        assert_eq!(store.body(url).unwrap().unwrap(), b"second");
        assert_eq!(store.visit_exchange(url).unwrap(), None);
        assert_eq!(store.version(url, 1_000).unwrap().unwrap(), b"first");
        let history = store.history(url, 100).unwrap();
        let seen: Vec<_> = history
            .iter()
            .map(|v| (v.fetched_at_ms, v.change, v.body_kept))
            .collect();
        assert_eq!(
            seen,
            [
                (3_000, Some(Change::Changed), true),
                (2_000, Some(Change::NotModified), false),
                (1_000, None, true),
            ]
        );
        // A third body pushes the first out of the two kept.
        let again = PageRecord {
            visits: 4,
            ..visit(4_000, 200, Some(Change::Changed), "sha1:C")
        };
        write(&store, &again, b"third", 200, 2);
        assert_eq!(store.version(url, 3_000).unwrap().unwrap(), b"second");
        assert_eq!(store.version(url, 1_000).unwrap(), None);
        assert_eq!(store.history(url, 2).unwrap().len(), 2);
        let stats = store.stats().unwrap();
        assert_eq!((stats.urls, stats.revisited), (1, 1));
        assert_eq!(stats.by_change["changed"], 1);
    }

    #[test]
    fn queries_find_what_changed_what_is_gone_and_what_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let at = |url: &str, at, captured, change, revisit| PageRecord {
            url: url.into(),
            fetched_at_ms: at,
            captured_ms: captured,
            change,
            revisit_ms: revisit,
            ..visit(at, 200, None, "sha1:A")
        };
        for page in [
            at("http://a.test/old", 100, None, None, Some(50)),
            at(
                "http://a.test/kept",
                500,
                Some(100),
                Some(Change::NotModified),
                Some(1_000),
            ),
            at(
                "http://a.test/new",
                500,
                None,
                Some(Change::Changed),
                Some(10),
            ),
            at("http://a.test/gone", 500, None, Some(Change::Gone), None),
        ] {
            write(&store, &page, b"x", 200, 1);
        }
        let urls = |filter: PageFilter| -> Vec<String> {
            let mut urls: Vec<String> = store.query(&filter).map(|p| p.unwrap().url).collect();
            urls.sort();
            urls
        };
        let changed = PageFilter {
            changed_since_ms: Some(200),
            gone: Some(false),
            ..PageFilter::default()
        };
        assert_eq!(urls(changed), ["http://a.test/new"]);
        let gone = PageFilter {
            gone: Some(true),
            ..PageFilter::default()
        };
        assert_eq!(urls(gone), ["http://a.test/gone"]);
        let due = PageFilter {
            due_before_ms: Some(600),
            ..PageFilter::default()
        };
        assert_eq!(urls(due), ["http://a.test/new", "http://a.test/old"]);
        let due_since = PageFilter {
            due_since_ms: Some(200),
            due_before_ms: Some(600),
            ..PageFilter::default()
        };
        assert_eq!(urls(due_since), ["http://a.test/new"]);
        assert_eq!(store.revisits_queued_before("due").unwrap(), 0);
        store.set_revisits_queued_before("due", 600).unwrap();
        assert_eq!(store.revisits_queued_before("due").unwrap(), 600);
    }
}
