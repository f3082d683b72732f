//! The engine used as a library through `Crawler::new` and `run`: the crawl the
//! binary makes, without the binary. (Stopping, pausing and the builder are in
//! `embedding.rs`.)

mod common;

use common::assert_summary_agrees_with;
use crawler_core::{CanonicalUrl, CrawlConfig, Crawler};
use crawler_fixtures::{FixtureServer, WebConfig};
use crawler_storage::{Store, StoreOptions};

fn config(server: &FixtureServer, dir: &tempfile::TempDir) -> CrawlConfig {
    CrawlConfig {
        store: dir.path().join("store"),
        resolve: server.resolve_args(),
        per_host_rate: 0.0,
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

#[test]
fn a_library_crawl_stores_every_page_with_its_outlinks() {
    let server = FixtureServer::start(WebConfig {
        hosts: 3,
        pages: 20,
        ..WebConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");
    let mut crawler = Crawler::new(config(&server, &dir)).unwrap();
    crawler.add_seeds(seeds(&server));
    let summary = crawler.run().unwrap();
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
