//! Reading a crawl back: filtered page queries over the secondary indexes, inlinks and
//! the link graph.
//!
//! A query picks the one index that narrows it most (see [`PageFilter`]), walks its
//! entries, loads each page record they name and checks the whole filter against it.
//! So a query costs in proportion to the entries of that index range, not to the size
//! of the store. Nothing is removed from the page index, so an entry may outlive its
//! record's version (the page was written again); an entry its record no longer
//! implies is never returned.

pub(crate) mod stats;

use std::ops::RangeInclusive;

use crate::codec::keys::{self, named_prefix};
use crate::codec::page_value::{self, Parts};
use crate::index::{page_index, page_keys};
use crate::record::{HttpExchange, Link, PageRecord, Via};
use crate::store::Store;
use crate::StoreError;

/// Which pages a query returns. Every field that is set must match; the default
/// matches every page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageFilter {
    /// Exactly this host (as stored: lowercase, no port).
    pub host: Option<String>,
    /// Only URLs on this port: the URL's own, else its scheme's default (80, 443).
    pub port: Option<u16>,
    /// A status, a status class, or no response at all.
    pub status: Option<StatusFilter>,
    /// Exactly this error kind (`timeout`, `connect`, ...).
    pub error: Option<String>,
    /// A media type: `text/html` matches `text/html; charset=utf-8`; `text/*` matches
    /// every `text/` type. Case-insensitive.
    pub content_type: Option<String>,
    /// Link distance from a seed, inclusive.
    pub depth: Option<RangeInclusive<u32>>,
    /// Fetched at or after this time (ms since the Unix epoch).
    pub fetched_since_ms: Option<u64>,
    /// Fetched before this time (ms since the Unix epoch).
    pub fetched_before_ms: Option<u64>,
    /// Reached this way (no index: read from each record the other conditions leave;
    /// records from before `via` was kept match none).
    pub via: Option<Via>,
    /// Due for a revisit at or after this time by the record's own interval
    /// ([`PageRecord::due_at_ms`]); records without one match none.
    pub due_since_ms: Option<u64>,
    /// Due for a revisit before this time (as `due_since_ms`).
    pub due_before_ms: Option<u64>,
    /// Content captured at or after this time ([`PageRecord::captured_at_ms`]): new
    /// or changed since then, not merely visited.
    pub changed_since_ms: Option<u64>,
    /// Gone (a revisit found 404 or 410 where a page was) or not; `None`: either.
    pub gone: Option<bool>,
}

/// A condition on a page's HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Code(u16),
    /// Statuses `class * 100 ..= class * 100 + 99` (`Class(2)` is 2xx).
    Class(u8),
    /// No response was received (the fetch failed or was refused).
    NoResponse,
}

impl StatusFilter {
    /// Whether a page with this status (or none) matches.
    pub fn matches(self, status: Option<u16>) -> bool {
        match (self, status) {
            (StatusFilter::Code(code), Some(status)) => status == code,
            (StatusFilter::Class(class), Some(status)) => status / 100 == u16::from(class),
            (StatusFilter::NoResponse, None) => true,
            _ => false,
        }
    }
}

impl PageFilter {
    /// Whether `page` passes every condition that is set.
    pub fn matches(&self, page: &PageRecord) -> bool {
        self.host.as_ref().is_none_or(|host| page.host == *host)
            && self
                .port
                .is_none_or(|port| url_port(&page.url) == Some(port))
            && self.status.is_none_or(|status| status.matches(page.status))
            && self
                .error
                .as_ref()
                .is_none_or(|kind| page.error.as_ref() == Some(kind))
            && self
                .content_type
                .as_deref()
                .is_none_or(|wanted| media_type_matches(wanted, page.content_type.as_deref()))
            && self
                .depth
                .as_ref()
                .is_none_or(|depth| depth.contains(&page.depth))
            && self
                .fetched_since_ms
                .is_none_or(|since| page.fetched_at_ms >= since)
            && self
                .fetched_before_ms
                .is_none_or(|before| page.fetched_at_ms < before)
            && self.via.is_none_or(|via| page.via == Some(via))
            && self
                .due_since_ms
                .is_none_or(|since| page.due_at_ms().is_some_and(|due| due >= since))
            && self
                .due_before_ms
                .is_none_or(|before| page.due_at_ms().is_some_and(|due| due < before))
            && self
                .changed_since_ms
                .is_none_or(|since| page.captured_at_ms() >= since)
            && self.gone.is_none_or(|gone| page.is_gone() == gone)
    }

    /// The index range that narrows this filter most, in a fixed order of preference:
    /// error kind, due time, exact status (or no response), host, fetch time (a change
    /// since a time is a fetch since it), status class.
    fn plan(&self) -> Plan {
        if let Some(kind) = &self.error {
            return Plan::prefix(named_prefix(keys::BY_ERROR, kind));
        }
        if self.due_since_ms.is_some() || self.due_before_ms.is_some() {
            return Plan::Index {
                start: keys::due_prefix(self.due_since_ms.unwrap_or(0)),
                end: Some(keys::due_prefix(self.due_before_ms.unwrap_or(u64::MAX))),
                url_at: 9,
            };
        }
        match self.status {
            Some(StatusFilter::Code(code)) => return Plan::prefix(keys::status_prefix(code)),
            Some(StatusFilter::NoResponse) => return Plan::prefix(keys::status_prefix(0)),
            _ => {}
        }
        if let Some(host) = &self.host {
            return Plan::prefix(named_prefix(keys::BY_HOST, host));
        }
        let since = self.fetched_since_ms.max(self.changed_since_ms);
        if since.is_some() || self.fetched_before_ms.is_some() {
            let start = keys::time_prefix(since.unwrap_or(0));
            let end = keys::time_prefix(self.fetched_before_ms.unwrap_or(u64::MAX));
            return Plan::Index {
                start,
                end: Some(end),
                url_at: 9,
            };
        }
        if let Some(StatusFilter::Class(class)) = self.status {
            let first = u16::from(class).saturating_mul(100);
            return Plan::Index {
                start: keys::status_prefix(first),
                end: Some(keys::status_prefix(first.saturating_add(100))),
                url_at: 3,
            };
        }
        Plan::Scan
    }
}

/// `wanted` is `type/subtype`, `type/*` or `*/subtype`; `header` is a `Content-Type`
/// value.
fn media_type_matches(wanted: &str, header: Option<&str>) -> bool {
    let Some(header) = header else {
        return false;
    };
    let essence = header.split(';').next().unwrap_or_default().trim();
    let (Some((kind, sub)), Some((wanted_kind, wanted_sub))) =
        (essence.split_once('/'), wanted.trim().split_once('/'))
    else {
        return false;
    };
    let part = |wanted: &str, part: &str| wanted == "*" || wanted.eq_ignore_ascii_case(part);
    part(wanted_kind, kind) && part(wanted_sub, sub)
}

/// The port of a stored URL: the one it names, else its scheme's default.
fn url_port(url: &str) -> Option<u16> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    match host_port.rsplit_once(':') {
        Some((_, port)) if !port.ends_with(']') => port.parse().ok(),
        _ if scheme.eq_ignore_ascii_case("https") => Some(443),
        _ if scheme.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    }
}

/// How a query finds its candidates.
enum Plan {
    /// Every page record, in URL order.
    Scan,
    /// Index keys in `start..end`; the URL starts at byte `url_at` of each key.
    Index {
        start: Vec<u8>,
        end: Option<Vec<u8>>,
        url_at: usize,
    },
}

impl Plan {
    /// Every key that starts with `prefix`.
    fn prefix(prefix: Vec<u8>) -> Plan {
        let url_at = prefix.len();
        let end = prefix_end(&prefix);
        Plan::Index {
            start: prefix,
            end,
            url_at,
        }
    }
}

/// The smallest key greater than every key starting with `prefix` (`None`: no bound).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The pages a [`PageFilter`] selects, from [`Store::query`].
///
/// Order: by URL for a plain scan and within one host, status or error kind; by
/// status then URL for a status class; by fetch time for a time range alone.
pub struct Pages<'a> {
    store: &'a Store,
    filter: PageFilter,
    source: Source,
}

enum Source {
    Scan(sled::Iter),
    Index {
        keys: page_index::Range,
        url_at: usize,
    },
}

/// A page a query found: the key that put it in the query's order (the index entry,
/// or the page key of a scan), its record and where its parts are.
pub(crate) struct Found {
    pub(crate) key: Vec<u8>,
    pub(crate) page: PageRecord,
    pub(crate) parts: Parts,
}

impl<'a> Pages<'a> {
    /// The next page with where its parts are.
    fn next_with_parts(&mut self) -> Option<Result<(PageRecord, Parts), StoreError>> {
        Some(self.next_found()?.map(|found| (found.page, found.parts)))
    }

    /// The next page with its order key and where its parts are. Every query over
    /// stores of one format, with one filter, orders its pages by these keys' bytes,
    /// which is what lets several stores' answers be merged (`crate::union`).
    pub(crate) fn next_found(&mut self) -> Option<Result<Found, StoreError>> {
        loop {
            let (key, page) = match &mut self.source {
                Source::Scan(iter) => {
                    let (key, value) = match iter.next()? {
                        Ok(item) => item,
                        Err(e) => return Some(Err(e.into())),
                    };
                    let page = page_value::record_and_parts(&key, &value, self.store.bodies());
                    (key.to_vec(), page)
                }
                Source::Index { keys, url_at } => {
                    let key = match keys.next()? {
                        Ok(key) => key,
                        Err(e) => return Some(Err(e)),
                    };
                    let url = String::from_utf8_lossy(key.get(*url_at..).unwrap_or_default());
                    let page = match self.store.page_and_parts(&url) {
                        // An entry of a record replaced since: not this page's now.
                        Ok(Some((page, _))) if !page_keys::page_keys(&page).contains(&key) => {
                            continue
                        }
                        Ok(Some(page)) => Ok(page),
                        // An entry whose record is gone: not a page to return.
                        Ok(None) => continue,
                        Err(e) => Err(e),
                    };
                    (key, page)
                }
            };
            match page {
                Ok((page, _)) if !self.filter.matches(&page) => continue,
                Ok((page, parts)) => return Some(Ok(Found { key, page, parts })),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// These pages with their outlinks and HTTP heads, and their bodies when
    /// `with_bodies`: each part is one read of the body log, with no second lookup of
    /// the record.
    pub fn with_content(self, with_bodies: bool) -> PagesWithContent<'a> {
        PagesWithContent {
            pages: self,
            with_bodies,
        }
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<PageRecord, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_with_parts()?.map(|(page, _)| page))
    }
}

/// What is stored with a page besides its record (from [`Pages::with_content`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageContent {
    /// The outlinks (canonical URLs), as [`Store::outlinks`] returns them.
    pub outlinks: Vec<String>,
    /// The HTTP heads, as [`Store::exchange`] returns them.
    pub exchange: Option<HttpExchange>,
    /// The body, when asked for and stored.
    pub body: Option<Vec<u8>>,
}

/// The pages a filter selects, each with its [`PageContent`].
pub struct PagesWithContent<'a> {
    pages: Pages<'a>,
    with_bodies: bool,
}

impl Iterator for PagesWithContent<'_> {
    type Item = Result<(PageRecord, PageContent), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (page, parts) = match self.pages.next_with_parts()? {
            Ok(found) => found,
            Err(error) => return Some(Err(error)),
        };
        let content = self
            .pages
            .store
            .content(&page.url, &parts, self.with_bodies);
        Some(content.map(|content| (page, content)))
    }
}

impl Store {
    /// What is stored with a page besides its record, read from where `parts` says.
    pub(crate) fn content(
        &self,
        url: &str,
        parts: &Parts,
        with_bodies: bool,
    ) -> Result<PageContent, StoreError> {
        Ok(PageContent {
            outlinks: self.outlinks_at(url, parts.outlinks)?,
            exchange: self.exchange_at(url, parts.exchange)?,
            body: match with_bodies {
                true => self.part(url, parts.body)?,
                false => None,
            },
        })
    }
}

impl Store {
    /// Every page record, in URL order.
    pub fn pages(&self) -> impl Iterator<Item = Result<PageRecord, StoreError>> + '_ {
        self.query(&PageFilter::default())
    }

    /// The pages `filter` selects, read through the index that narrows it most.
    pub fn query(&self, filter: &PageFilter) -> Pages<'_> {
        let tree = self.tree();
        let source = match filter.plan() {
            Plan::Scan => Source::Scan(tree.scan_prefix([keys::PAGE])),
            Plan::Index { start, end, url_at } => Source::Index {
                keys: self.page_index().range(&start, end.as_deref()),
                url_at,
            },
        };
        Pages {
            store: self,
            filter: filter.clone(),
            source,
        }
    }

    /// The pages that link to `url` (exact canonical spelling), in URL order.
    ///
    /// The inlink index proposes the sources whose records name `url`'s hash; each is
    /// returned only if its stored outlinks contain `url` now, which drops hash
    /// collisions, records whose page was never stored and outlinks a page no longer
    /// has since it was written again. Costs a few reads plus one outlinks lookup per
    /// candidate.
    pub fn inlinks(&self, url: &str) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        let (candidates, failed) = match self.inlink_index().candidates(url) {
            Ok(candidates) => (candidates, None),
            Err(e) => (Vec::new(), Some(Err(e))),
        };
        let target = url.to_owned();
        failed
            .into_iter()
            .chain(candidates.into_iter().filter_map(move |source| {
                match self.links_to(&source, &target) {
                    Ok(true) => Some(Ok(source)),
                    Ok(false) => None,
                    Err(e) => Some(Err(e)),
                }
            }))
    }

    /// The outlinks of every page `filter` selects, as edges, page by page.
    pub fn links(
        &self,
        filter: &PageFilter,
    ) -> impl Iterator<Item = Result<Link, StoreError>> + '_ {
        self.query(filter)
            .map(move |page| {
                let page = page?;
                let targets = self.outlinks(&page.url)?;
                Ok((page.url, targets))
            })
            .flat_map(edges)
    }
}

/// A page's outlinks as edges from it (or the error reading them).
pub(crate) fn edges(
    page: Result<(String, Vec<String>), StoreError>,
) -> Vec<Result<Link, StoreError>> {
    match page {
        Ok((from, targets)) => targets
            .into_iter()
            .map(|to| {
                Ok(Link {
                    from: from.clone(),
                    to,
                })
            })
            .collect(),
        Err(e) => vec![Err(e)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, host: &str, status: Option<u16>) -> PageRecord {
        PageRecord {
            status,
            content_type: Some("text/html; charset=utf-8".into()),
            ..PageRecord::new(url, host, 1)
        }
    }

    #[test]
    fn status_filters_match_codes_classes_and_no_response() {
        assert!(StatusFilter::Code(404).matches(Some(404)));
        assert!(!StatusFilter::Code(404).matches(None));
        assert!(StatusFilter::Class(2).matches(Some(299)));
        assert!(!StatusFilter::Class(2).matches(Some(300)));
        assert!(StatusFilter::NoResponse.matches(None));
        assert!(!StatusFilter::NoResponse.matches(Some(200)));
    }

    #[test]
    fn media_types_match_exactly_or_by_wildcard_ignoring_parameters() {
        let html = Some("Text/HTML; charset=utf-8");
        assert!(media_type_matches("text/html", html));
        assert!(media_type_matches("text/*", html));
        assert!(!media_type_matches("text/plain", html));
        assert!(!media_type_matches("image/*", html));
        assert!(!media_type_matches("text/html", None));
        assert!(media_type_matches("*/html", html));
        assert!(!media_type_matches("*/xml", html));
        assert!(!media_type_matches("html", html));
    }

    #[test]
    fn ports_are_the_urls_own_or_their_schemes_default() {
        assert_eq!(url_port("http://a.test:8080/x:1"), Some(8080));
        assert_eq!(url_port("http://a.test/"), Some(80));
        assert_eq!(url_port("https://a.test?q=:9"), Some(443));
        assert_eq!(url_port("http://[::1]:81/"), Some(81));
        assert_eq!(url_port("http://[::1]/"), Some(80));
        let page = PageRecord::new("http://a.test:8080/", "a.test", 0);
        let on = |port| PageFilter {
            host: Some("a.test".into()),
            port: Some(port),
            ..PageFilter::default()
        };
        assert!(on(8080).matches(&page));
        assert!(!on(80).matches(&page));
    }

    #[test]
    fn every_field_of_a_filter_must_match() {
        let p = PageRecord {
            fetched_at_ms: 1000,
            depth: 2,
            via: Some(Via::Embed),
            ..page("http://a.test/", "a.test", Some(200))
        };
        let mut filter = PageFilter {
            host: Some("a.test".into()),
            port: Some(80),
            status: Some(StatusFilter::Class(2)),
            content_type: Some("text/html".into()),
            depth: Some(1..=2),
            fetched_since_ms: Some(1000),
            fetched_before_ms: Some(1001),
            error: None,
            via: Some(Via::Embed),
            due_since_ms: None,
            due_before_ms: None,
            changed_since_ms: Some(1000),
            gone: Some(false),
        };
        assert!(filter.matches(&p));
        filter.via = Some(Via::Link);
        assert!(!filter.matches(&p));
        filter.via = Some(Via::Embed);
        filter.fetched_before_ms = Some(1000);
        assert!(!filter.matches(&p));
        filter.fetched_before_ms = None;
        filter.depth = Some(3..=9);
        assert!(!filter.matches(&p));
        filter.depth = None;
        filter.error = Some("timeout".into());
        assert!(!filter.matches(&p));
    }

    fn store_with(pages: &[(PageRecord, Vec<String>)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), crate::StoreOptions::default()).unwrap();
        for (page, outlinks) in pages {
            store
                .write_page(&crate::PageWrite {
                    page: Some(page),
                    outlinks,
                    ..crate::PageWrite::default()
                })
                .unwrap();
        }
        (dir, store)
    }

    #[test]
    fn a_replaced_record_is_found_by_its_current_entries_only_and_once() {
        let at = |status, ms| PageRecord {
            fetched_at_ms: ms,
            ..page("http://a.test/p", "a.test", Some(status))
        };
        let (_dir, store) = store_with(&[(at(503, 10), vec![]), (at(200, 20), vec![])]);
        let status = |code| PageFilter {
            status: Some(StatusFilter::Code(code)),
            ..PageFilter::default()
        };
        assert!(urls(&store, &status(503)).is_empty(), "a stale entry");
        assert_eq!(urls(&store, &status(200)), ["http://a.test/p"]);
        let fetched_before_30 = PageFilter {
            fetched_before_ms: Some(30),
            ..PageFilter::default()
        };
        let pages: Vec<PageRecord> = store
            .query(&fetched_before_30)
            .map(Result::unwrap)
            .collect();
        assert_eq!(pages.len(), 1, "two time entries, one page");
        assert_eq!(pages[0].fetched_at_ms, 20);
        let host = PageFilter {
            host: Some("a.test".into()),
            ..PageFilter::default()
        };
        assert_eq!(
            urls(&store, &host),
            ["http://a.test/p"],
            "one entry, twice written"
        );
    }

    #[test]
    fn indexes_read_across_runs_the_tail_and_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let pages: Vec<PageRecord> = (0..40)
            .map(|i| PageRecord {
                fetched_at_ms: 1000 - i,
                ..page(
                    &format!("http://h{}.test/{i:02}", i % 3),
                    &format!("h{}.test", i % 3),
                    Some(if i % 4 == 0 { 404 } else { 200 }),
                )
            })
            .collect();
        let expect = |store: &Store| {
            let not_found = PageFilter {
                status: Some(StatusFilter::Code(404)),
                ..PageFilter::default()
            };
            let want: Vec<String> = {
                let mut want: Vec<String> = pages
                    .iter()
                    .filter(|p| p.status == Some(404))
                    .map(|p| p.url.clone())
                    .collect();
                want.sort();
                want
            };
            assert_eq!(urls(store, &not_found), want);
            let by_time = PageFilter {
                fetched_since_ms: Some(970),
                ..PageFilter::default()
            };
            let times: Vec<u64> = store
                .query(&by_time)
                .map(|p| p.unwrap().fetched_at_ms)
                .collect();
            assert_eq!(times, (970..=1000).collect::<Vec<u64>>(), "in time order");
        };
        {
            // Folds every 8 keys: many runs, merged, and a tail.
            let store =
                Store::open_folding_at(dir.path(), crate::StoreOptions::default(), 8).unwrap();
            for page in &pages {
                store
                    .write_page(&crate::PageWrite {
                        page: Some(page),
                        ..crate::PageWrite::default()
                    })
                    .unwrap();
            }
            expect(&store);
        }
        let reopened = Store::open(dir.path(), crate::StoreOptions::read_only()).unwrap();
        expect(&reopened);
    }

    fn urls(store: &Store, filter: &PageFilter) -> Vec<String> {
        store.query(filter).map(|p| p.unwrap().url).collect()
    }

    fn sample() -> Vec<(PageRecord, Vec<String>)> {
        let at = |url: &str, host: &str, status: Option<u16>, ms: u64| PageRecord {
            fetched_at_ms: ms,
            ..page(url, host, status)
        };
        let timeout = PageRecord {
            error: Some("timeout".into()),
            content_type: None,
            ..at("http://b.test/slow", "b.test", None, 30)
        };
        vec![
            (
                at("http://a.test/", "a.test", Some(200), 10),
                vec!["http://a.test/x".into(), "http://b.test/".into()],
            ),
            (
                at("http://a.test/x", "a.test", Some(404), 20),
                vec!["http://b.test/".into()],
            ),
            (at("http://b.test/", "b.test", Some(204), 40), vec![]),
            (at("http://ab.test/", "ab.test", Some(500), 50), vec![]),
            (timeout, vec![]),
        ]
    }

    #[test]
    fn each_index_answers_its_filter() {
        let (_dir, store) = store_with(&sample());
        let filter = |f: PageFilter| urls(&store, &f);
        assert_eq!(filter(PageFilter::default()).len(), 5);
        assert_eq!(
            filter(PageFilter {
                host: Some("a.test".into()),
                ..PageFilter::default()
            }),
            ["http://a.test/", "http://a.test/x"]
        );
        assert_eq!(
            filter(PageFilter {
                status: Some(StatusFilter::Class(2)),
                ..PageFilter::default()
            }),
            ["http://a.test/", "http://b.test/"]
        );
        assert_eq!(
            filter(PageFilter {
                status: Some(StatusFilter::Code(404)),
                ..PageFilter::default()
            }),
            ["http://a.test/x"]
        );
        let no_response = filter(PageFilter {
            status: Some(StatusFilter::NoResponse),
            ..PageFilter::default()
        });
        let timeouts = filter(PageFilter {
            error: Some("timeout".into()),
            ..PageFilter::default()
        });
        assert_eq!(no_response, ["http://b.test/slow"]);
        assert_eq!(timeouts, no_response);
        assert_eq!(
            filter(PageFilter {
                fetched_since_ms: Some(20),
                fetched_before_ms: Some(50),
                ..PageFilter::default()
            }),
            ["http://a.test/x", "http://b.test/slow", "http://b.test/"],
            "a time range comes in fetch-time order"
        );
        assert_eq!(
            filter(PageFilter {
                host: Some("b.test".into()),
                status: Some(StatusFilter::Class(2)),
                ..PageFilter::default()
            }),
            ["http://b.test/"]
        );
    }

    #[test]
    fn inlinks_and_links_follow_the_outlinks() {
        let (_dir, store) = store_with(&sample());
        let inlinks: Vec<String> = store
            .inlinks("http://b.test/")
            .map(Result::unwrap)
            .collect();
        assert_eq!(inlinks, ["http://a.test/", "http://a.test/x"]);
        assert_eq!(store.inlinks("http://nowhere.test/").count(), 0);
        let edges: Vec<Link> = store
            .links(&PageFilter {
                host: Some("a.test".into()),
                ..PageFilter::default()
            })
            .map(Result::unwrap)
            .collect();
        assert_eq!(edges.len(), 3);
        assert_eq!(edges[0].from, "http://a.test/");
        assert_eq!(edges[0].to, "http://a.test/x");
    }

    #[test]
    fn pages_with_content_carry_the_parts_each_lookup_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), crate::StoreOptions::default()).unwrap();
        let exchange = HttpExchange {
            response: crate::ResponseHead {
                status: 200,
                ..crate::ResponseHead::default()
            },
            ..HttpExchange::default()
        };
        for (n, page) in sample().iter().enumerate() {
            let body = format!("<p>page {n}</p>");
            store
                .write_page(&crate::PageWrite {
                    page: Some(&page.0),
                    outlinks: &page.1,
                    body: (n % 2 == 0).then_some(body.as_bytes()),
                    exchange: (n % 3 != 0).then_some(&exchange),
                    ..crate::PageWrite::default()
                })
                .unwrap();
        }
        for filter in [
            PageFilter::default(),
            PageFilter {
                host: Some("a.test".into()),
                ..PageFilter::default()
            },
        ] {
            let mut seen = 0;
            for item in store.query(&filter).with_content(true) {
                let (page, content) = item.unwrap();
                assert_eq!(content.outlinks, store.outlinks(&page.url).unwrap());
                assert_eq!(content.exchange, store.exchange(&page.url).unwrap());
                assert_eq!(content.body, store.body(&page.url).unwrap());
                seen += 1;
            }
            assert_eq!(seen, urls(&store, &filter).len());
        }
        let without: Vec<_> = store
            .query(&PageFilter::default())
            .with_content(false)
            .map(|item| item.unwrap().1.body)
            .collect();
        assert!(without.iter().all(Option::is_none));
        assert!(store.body(&sample()[0].0.url).unwrap().is_some());
    }

    #[test]
    fn rewriting_a_page_moves_its_index_entries() {
        let mut pages = sample();
        let (_dir, store) = store_with(&pages);
        // Applied before the rewrite, which is then a round of its own.
        store.flush().unwrap();
        let (mut first, _) = pages.remove(0);
        first.status = Some(503);
        first.host = "c.test".into();
        store
            .write_page(&crate::PageWrite {
                page: Some(&first),
                outlinks: &["http://c.test/".to_string()],
                ..crate::PageWrite::default()
            })
            .unwrap();
        let in_host = |host: &str| {
            urls(
                &store,
                &PageFilter {
                    host: Some(host.into()),
                    ..PageFilter::default()
                },
            )
        };
        assert_eq!(in_host("a.test"), ["http://a.test/x"]);
        assert_eq!(in_host("c.test"), ["http://a.test/"]);
        let inlinks: Vec<String> = store
            .inlinks("http://b.test/")
            .map(Result::unwrap)
            .collect();
        assert_eq!(inlinks, ["http://a.test/x"]);
        // The index never removes: the old entry is there, and the query skipped it.
        let prefix = named_prefix(keys::BY_HOST, "a.test");
        let end = prefix_end(&prefix);
        let raw = store.page_index().range(&prefix, end.as_deref()).count();
        assert_eq!(raw, 2);
    }

    #[test]
    fn prefix_ends_bound_exactly_the_prefixed_keys() {
        assert_eq!(prefix_end(b"ab").as_deref(), Some(&b"ac"[..]));
        assert_eq!(prefix_end(&[b'a', 0xff]).as_deref(), Some(&b"b"[..]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }
}
