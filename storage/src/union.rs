//! [`StoreUnion`]: several stores read as one crawl.
//!
//! A cluster crawl leaves one store per node (issue 23), and a URL may be in more than
//! one of them (a node that took over a host fetched some of its pages again, or two
//! crawls overlapped). Read together they are one crawl in which every URL appears
//! once, with its newest record: the one fetched last ([`PageRecord::fetched_at_ms`]),
//! and on equal fetch times the one in the store given first.
//!
//! Nothing is loaded whole: a query runs on every store with the same filter, so every
//! store answers in the same order (the keys of the index the filter picks), and the
//! answers are merged by those keys, k ways. A page is kept only where it is newest,
//! which costs one lookup of its URL in each other store; a page beaten elsewhere is
//! left to the store that holds the newer record, which returns it if it matches the
//! filter. So a filter selects among the newest records, as it would in a store
//! holding only those.
//!
//! One store is a union too, read exactly as the store alone: the readers take a
//! union whether they were given one store or several.

use crate::query::{edges, Found, PageContent, PageFilter, Pages};
use crate::record::{HttpExchange, Link, PageRecord, ProxyUse, StoreStats};
use crate::store::Store;
use crate::StoreError;

/// Several stores read as one crawl: each URL once, its newest record winning.
#[derive(Clone)]
pub struct StoreUnion<'a> {
    stores: Vec<&'a Store>,
}

impl<'a> StoreUnion<'a> {
    /// The stores, in the order that breaks ties of fetch time (the first wins).
    pub fn new(stores: Vec<&'a Store>) -> StoreUnion<'a> {
        StoreUnion { stores }
    }

    /// The stores, as given.
    pub fn stores(&self) -> &[&'a Store] {
        &self.stores
    }

    /// The newest record of `url` (exact canonical spelling) and the store that holds
    /// it.
    pub fn page(&self, url: &str) -> Result<Option<(&'a Store, PageRecord)>, StoreError> {
        let mut newest: Option<(&'a Store, PageRecord)> = None;
        for store in &self.stores {
            if let Some(page) = store.page(url)? {
                // Strictly newer: on a tie the earlier store keeps it.
                if newest
                    .as_ref()
                    .is_none_or(|(_, held)| page.fetched_at_ms > held.fetched_at_ms)
                {
                    newest = Some((store, page));
                }
            }
        }
        Ok(newest)
    }

    /// Whether another store holds a newer record of `page`'s URL than store `at`.
    fn beaten(&self, at: usize, page: &PageRecord) -> Result<bool, StoreError> {
        for (other, store) in self.stores.iter().enumerate() {
            if other == at {
                continue;
            }
            if let Some(held) = store.page(&page.url)? {
                let newer = held.fetched_at_ms > page.fetched_at_ms
                    || (held.fetched_at_ms == page.fetched_at_ms && other < at);
                if newer {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The newest pages `filter` selects, in the order [`Store::query`] gives them.
    pub fn query(&self, filter: &PageFilter) -> UnionPages<'a> {
        UnionPages {
            union: self.clone(),
            heads: self
                .stores
                .iter()
                .map(|store| Head {
                    pages: Some(store.query(filter)),
                    ready: None,
                })
                .collect(),
        }
    }

    /// The pages that link to `url`, by their newest records, in URL order.
    pub fn inlinks(&self, url: &str) -> Result<Vec<String>, StoreError> {
        let mut sources = Vec::new();
        for (at, store) in self.stores.iter().enumerate() {
            for source in store.inlinks(url) {
                let source = source?;
                // The newest record's outlinks say; with one store there is no other.
                if self.stores.len() > 1 {
                    let Some(page) = store.page(&source)? else {
                        continue;
                    };
                    if self.beaten(at, &page)? {
                        continue;
                    }
                }
                sources.push(source);
            }
        }
        if self.stores.len() > 1 {
            sources.sort();
        }
        Ok(sources)
    }

    /// The outlinks of every page `filter` selects, as edges, page by page.
    pub fn links(
        &self,
        filter: &PageFilter,
    ) -> impl Iterator<Item = Result<Link, StoreError>> + 'a {
        let mut pages = self.query(filter);
        std::iter::from_fn(move || pages.next_winner())
            .map(|item| {
                let (store, found) = item?;
                let targets = store.outlinks_at(&found.page.url, found.parts.outlinks)?;
                Ok((found.page.url, targets))
            })
            .flat_map(edges)
    }

    /// The last visit's own heads of `url`'s newest record ([`Store::visit_exchange`]).
    pub fn visit_exchange(&self, url: &str) -> Result<Option<HttpExchange>, StoreError> {
        match self.page(url)? {
            Some((store, _)) => store.visit_exchange(url),
            None => Ok(None),
        }
    }

    /// Totals over the newest records, the frontiers and the runs: [`Store::stats`]
    /// for one store. Over several, the records are counted from a query of them all
    /// (each URL once); the queued URLs, runs, their wall times and proxies are the
    /// stores' own summed (a URL queued in two stores counts twice).
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        if let [store] = self.stores.as_slice() {
            return store.stats();
        }
        let mut stats = self.stats_for(&PageFilter::default())?;
        for store in &self.stores {
            stats.queued += store.queued_count()?;
            let runs = store.runs()?;
            stats.runs += runs.len() as u64;
            for run in &runs {
                ProxyUse::add_all(&mut stats.proxies, &run.proxies);
                if let Some(finished) = run.finished_at_ms {
                    stats.elapsed_ms += finished.saturating_sub(run.started_at_ms);
                }
            }
        }
        Ok(stats)
    }

    /// Totals over the newest records `filter` selects.
    pub fn stats_for(&self, filter: &PageFilter) -> Result<StoreStats, StoreError> {
        if let [store] = self.stores.as_slice() {
            return store.stats_for(filter);
        }
        let mut stats = StoreStats::default();
        for page in self.query(filter) {
            stats.add(&page?);
        }
        Ok(stats)
    }
}

/// Where one store's answer to a union's query stands.
struct Head<'a> {
    /// The store's query; `None` once it has no more.
    pages: Option<Pages<'a>>,
    /// Its next page, newest of its URL, waiting for its turn.
    ready: Option<Found>,
}

/// The newest pages a [`PageFilter`] selects in a [`StoreUnion`] (from
/// [`StoreUnion::query`]).
pub struct UnionPages<'a> {
    union: StoreUnion<'a>,
    heads: Vec<Head<'a>>,
}

impl<'a> UnionPages<'a> {
    /// Reads store `at`'s next page that is newest of its URL, unless one waits; an
    /// error is returned at once (the store's query goes on after it, as a single
    /// store's does).
    fn fill(&mut self, at: usize) -> Result<(), StoreError> {
        let head = &mut self.heads[at];
        if head.ready.is_some() {
            return Ok(());
        }
        let Some(pages) = head.pages.as_mut() else {
            return Ok(());
        };
        loop {
            let Some(found) = pages.next_found() else {
                head.pages = None;
                return Ok(());
            };
            let found = found?;
            if !self.union.beaten(at, &found.page)? {
                head.ready = Some(found);
                return Ok(());
            }
        }
    }

    /// The next page in key order, with the store it is read from.
    fn next_winner(&mut self) -> Option<Result<(&'a Store, Found), StoreError>> {
        for at in 0..self.heads.len() {
            if let Err(error) = self.fill(at) {
                return Some(Err(error));
            }
        }
        let mut first: Option<(usize, &[u8])> = None;
        for (at, head) in self.heads.iter().enumerate() {
            if let Some(found) = &head.ready {
                if first.is_none_or(|(_, key)| found.key.as_slice() < key) {
                    first = Some((at, &found.key));
                }
            }
        }
        let (at, _) = first?;
        let found = self.heads[at].ready.take()?;
        Some(Ok((self.union.stores[at], found)))
    }

    /// These pages with their outlinks and HTTP heads, and their bodies when
    /// `with_bodies`, each read from the store that holds the page.
    pub fn with_content(
        mut self,
        with_bodies: bool,
    ) -> impl Iterator<Item = Result<(PageRecord, PageContent), StoreError>> + 'a {
        std::iter::from_fn(move || self.next_winner()).map(move |item| {
            let (store, found) = item?;
            let content = store.content(&found.page.url, &found.parts, with_bodies)?;
            Ok((found.page, content))
        })
    }
}

impl Iterator for UnionPages<'_> {
    type Item = Result<PageRecord, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_winner()?.map(|(_, found)| found.page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PageWrite, StatusFilter, StoreOptions};

    fn page(url: &str, status: u16, fetched_at_ms: u64) -> PageRecord {
        PageRecord {
            status: Some(status),
            fetched_at_ms,
            attempts: 1,
            ..PageRecord::new(url, "a.test", 0)
        }
    }

    fn store_with(pages: &[(PageRecord, &[&str], &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        for (page, outlinks, body) in pages {
            let outlinks: Vec<String> = outlinks.iter().map(|s| (*s).to_owned()).collect();
            store
                .write_page(&PageWrite {
                    page: Some(page),
                    outlinks: &outlinks,
                    body: Some(body.as_bytes()),
                    ..PageWrite::default()
                })
                .unwrap();
        }
        store.flush().unwrap();
        (dir, store)
    }

    fn urls(pages: impl Iterator<Item = Result<PageRecord, StoreError>>) -> Vec<String> {
        pages.map(|p| p.unwrap().url).collect()
    }

    const A: &str = "http://a.test/a";
    const B: &str = "http://a.test/b";
    const C: &str = "http://a.test/c";
    const D: &str = "http://a.test/d";

    /// Store 1 holds a (old), b, d (tie); store 2 holds a (new), c, d (tie).
    fn two_stores() -> [(tempfile::TempDir, Store); 2] {
        [
            store_with(&[
                (page(A, 500, 10), &[B], "old a"),
                (page(B, 200, 11), &[A, C], "b"),
                (page(D, 200, 30), &[], "d of 1"),
            ]),
            store_with(&[
                (page(A, 200, 20), &[C], "new a"),
                (page(C, 404, 12), &[A], "c"),
                (page(D, 201, 30), &[A], "d of 2"),
            ]),
        ]
    }

    #[test]
    fn each_url_once_in_order_the_newest_winning_ties_to_the_first_store() {
        let [(_d1, one), (_d2, two)] = two_stores();
        let union = StoreUnion::new(vec![&one, &two]);
        assert_eq!(urls(union.query(&PageFilter::default())), [A, B, C, D]);
        let (held, a) = union.page(A).unwrap().unwrap();
        assert_eq!((held.path(), a.status), (two.path(), Some(200)));
        let (held, d) = union.page(D).unwrap().unwrap();
        assert_eq!((held.path(), d.status), (one.path(), Some(200)));
        let contents: Vec<(String, Option<Vec<u8>>)> = union
            .query(&PageFilter::default())
            .with_content(true)
            .map(|item| item.map(|(page, content)| (page.url, content.body)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(contents[0], (A.to_owned(), Some(b"new a".to_vec())));
        assert_eq!(contents[3], (D.to_owned(), Some(b"d of 1".to_vec())));
    }

    #[test]
    fn a_filter_selects_among_the_newest_records_only() {
        let [(_d1, one), (_d2, two)] = two_stores();
        let union = StoreUnion::new(vec![&one, &two]);
        let failed = PageFilter {
            status: Some(StatusFilter::Class(5)),
            ..PageFilter::default()
        };
        // a's 500 is in store 1, but store 2's 200 is newer.
        assert!(urls(union.query(&failed)).is_empty());
        let ok = PageFilter {
            status: Some(StatusFilter::Class(2)),
            ..PageFilter::default()
        };
        assert_eq!(urls(union.query(&ok)), [A, B, D]);
        let stats = union.stats().unwrap();
        assert_eq!((stats.urls, stats.responses), (4, 4));
        assert_eq!(stats.by_status.get(&500), None);
        assert_eq!(stats.by_status[&404], 1);
    }

    #[test]
    fn an_index_query_keeps_its_order_across_stores() {
        let [(_d1, one), (_d2, two)] = two_stores();
        let union = StoreUnion::new(vec![&one, &two]);
        // A time range reads the fetch-time index: oldest first.
        let since = PageFilter {
            fetched_since_ms: Some(11),
            ..PageFilter::default()
        };
        assert_eq!(urls(union.query(&since)), [B, C, A, D]);
        let host = PageFilter {
            host: Some("a.test".into()),
            ..PageFilter::default()
        };
        assert_eq!(urls(union.query(&host)), [A, B, C, D]);
    }

    #[test]
    fn links_and_inlinks_follow_the_newest_records() {
        let [(_d1, one), (_d2, two)] = two_stores();
        let union = StoreUnion::new(vec![&one, &two]);
        let edges: Vec<(String, String)> = union
            .links(&PageFilter::default())
            .map(|l| l.map(|l| (l.from, l.to)))
            .collect::<Result<_, _>>()
            .unwrap();
        let edge = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(edges, [edge(A, C), edge(B, A), edge(B, C), edge(C, A)]);
        // d links to a in store 2 only, where its record lost the tie.
        assert_eq!(union.inlinks(A).unwrap(), [B, C]);
        assert_eq!(union.inlinks(C).unwrap(), [A, B]);
    }

    #[test]
    fn one_store_reads_as_itself() {
        let [(_d1, one), _] = two_stores();
        let union = StoreUnion::new(vec![&one]);
        assert_eq!(urls(union.query(&PageFilter::default())), [A, B, D]);
        assert_eq!(union.stats().unwrap(), one.stats().unwrap());
        assert_eq!(union.inlinks(A).unwrap(), [B]);
    }
}
