//! The engine used as a library: the same crawl without the binary, and stopping it.

use crawler_core::{CanonicalUrl, CrawlConfig, CrawlSummary, Crawler};
use crawler_storage::{Store, StoreOptions};
use crawler_tests::{wait_until, FixtureServer, WebConfig, Workspace};

fn config(server: &FixtureServer, ws: &Workspace) -> CrawlConfig {
    CrawlConfig {
        store: ws.store(),
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

/// The summary counts, error kind by error kind and status class by status class,
/// what the store holds (the agreement the harness checks of every `crawler crawl`).
fn assert_summary_agrees_with(summary: &CrawlSummary, store: &Store) {
    let stats = store.stats().unwrap();
    assert_eq!(
        (&summary.errors, &summary.by_status_class),
        (&stats.errors, &stats.by_status_class),
        "summary (left) and store (right) disagree"
    );
}

#[test]
fn a_library_crawl_stores_every_page_with_its_outlinks() {
    let server = FixtureServer::start(WebConfig {
        hosts: 3,
        pages: 20,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let mut crawler = Crawler::new(config(&server, &ws)).unwrap();
    crawler.add_seeds(seeds(&server));
    let summary = crawler.run().unwrap();
    assert_eq!(summary.pages_fetched, 60);
    assert!(!summary.stopped);

    let store = Store::open(
        &ws.store(),
        StoreOptions {
            create: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let queue_files = std::fs::read_dir(ws.store().join("frontier"))
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

#[test]
fn stop_from_another_thread_ends_the_crawl_with_in_flight_work_stored() {
    let server = FixtureServer::start(WebConfig {
        hosts: 2,
        pages: 200,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let mut crawler = Crawler::new(CrawlConfig {
        per_host_rate: 10.0,
        ..config(&server, &ws)
    })
    .unwrap();
    crawler.add_seeds(seeds(&server));
    let stop = crawler.stop_handle();
    let progress = crawler.progress();
    // Held after 20 of its 402 requests, the crawl is mid-way when it is stopped.
    server.hold_after(20);
    let summary = std::thread::scope(|scope| {
        scope.spawn(|| {
            wait_until("5 pages fetched", || progress.snapshot().fetched >= 5);
            stop.stop();
            server.release();
        });
        crawler.run().unwrap()
    });
    assert!(summary.stopped);
    assert!(
        summary.pages_fetched >= 5 && summary.pages_fetched < 400,
        "{summary:?}"
    );

    // Every request the server answered is in the store, and the rest is still queued.
    let store = Store::open(
        &ws.store(),
        StoreOptions {
            create: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        store.pages().count(),
        crawler_tests::page_requests(&server.log()).len()
    );
    assert_eq!(store.pages().count() as u64, summary.pages_fetched);
    assert!(store.queued().count() > 0);
    assert_summary_agrees_with(&summary, &store);
}
