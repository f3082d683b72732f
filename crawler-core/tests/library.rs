//! The engine used as a library through `Crawler::new` and `run`: the crawl the
//! binary makes, without the binary. (Stopping, pausing and the builder are in
//! `embedding.rs`.)

mod common;

use common::assert_summary_agrees_with;
use crawler_core::scraper::{Html, Selector};
use crawler_core::storage::{PageFilter, StatusFilter, Store, StoreOptions};
use crawler_core::{CanonicalUrl, CrawlConfig, CrawlSummary, Crawler};
use crawler_fixtures::{FixtureServer, WebConfig};

fn config(server: &FixtureServer, dir: &tempfile::TempDir) -> CrawlConfig {
    CrawlConfig {
        store: dir.path().join("store"),
        resolve: server.resolve_args(),
        per_host_rate: 0.0.into(),
        ..CrawlConfig::default()
    }
}

fn seeds(server: &FixtureServer) -> Vec<CanonicalUrl> {
    server
        .seeds()
        .iter()
        .map(|s| CanonicalUrl::parse(s).unwrap())
        .collect()
}

/// Crawls a synthetic web of `hosts` x `pages` into a store in a new temporary directory.
fn crawl_web(hosts: usize, pages: usize) -> (FixtureServer, tempfile::TempDir, CrawlSummary) {
    let server = FixtureServer::start(WebConfig {
        hosts,
        pages,
        ..WebConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut crawler = Crawler::new(config(&server, &dir)).unwrap();
    crawler.add_seeds(seeds(&server));
    let summary = crawler.run().unwrap();
    (server, dir, summary)
}

#[test]
fn a_library_crawl_stores_every_page_with_its_outlinks() {
    let (server, dir, summary) = crawl_web(3, 20);
    let store_path = dir.path().join("store");
    assert_eq!(summary.pages_fetched, 60);
    assert!(!summary.stopped);

    let store = Store::open(
        &store_path,
        StoreOptions {
            create: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let queue_files = std::fs::read_dir(store_path.join("frontier"))
        .map(|dir| dir.count())
        .unwrap_or(0);
    assert_eq!(
        (store.queued_hosts().count(), queue_files),
        (0, 0),
        "a crawl that ran its frontier dry leaves no queue file"
    );
    let mut stored = 0;
    for page in store.pages() {
        let page = page.unwrap();
        stored += 1;
        let (host, index) = locate(&page.url, &server);
        let expected =
            crawler_fixtures::synthetic_outlinks(server.web(), host, index, server.port());
        assert_eq!(
            store.outlinks(&page.url).unwrap(),
            expected,
            "outlinks of {}",
            page.url
        );
    }
    assert_eq!(stored, 60);
    assert_eq!(store.queued().count(), 0);
    assert_summary_agrees_with(&summary, &store);
}

/// What the README's "Reading a crawl" shows, through `crawler_core` alone: the store's
/// read API and the HTML parser are re-exported, so an embedder needs one dependency.
#[test]
fn a_crawl_is_read_back_and_parsed_through_crawler_core_alone() {
    let (server, dir, _) = crawl_web(2, 6);

    let store = Store::open(&dir.path().join("store"), StoreOptions::read_only()).unwrap();
    let ok = PageFilter {
        status: Some(StatusFilter::Class(2)),
        ..PageFilter::default()
    };
    let title = Selector::parse("title").unwrap();
    let mut titles = Vec::new();
    for page in store.query(&ok) {
        let page = page.unwrap();
        let body = store.body(&page.url).unwrap().unwrap_or_default();
        let html = Html::parse_document(&String::from_utf8_lossy(&body));
        let text: String = html.select(&title).flat_map(|e| e.text()).collect();
        let (host, index) = locate(&page.url, &server);
        assert_eq!(text, format!("Host {host} page {index}"), "{}", page.url);
        titles.push(text);
    }
    assert_eq!(titles.len(), 12);
}

fn locate(url: &str, server: &FixtureServer) -> (usize, usize) {
    for host in 0..server.web().hosts {
        for page in 0..server.web().pages {
            if server.url(
                &crawler_fixtures::synthetic_host(host),
                &crawler_fixtures::page_path(page),
            ) == url
            {
                return (host, page);
            }
        }
    }
    panic!("{url} is not a synthetic page");
}
