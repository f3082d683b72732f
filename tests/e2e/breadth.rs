//! Breadth: a crawl of many hosts with few pages each (issue 28), where what grows
//! with the number of hosts (a robots.txt, a queue, a queue file and a connection
//! each) outweighs what grows with pages.

use std::collections::BTreeSet;

use crawler_tests::{request_counts, Scenario, WebConfig};

use crate::resources::{crawl_small_hosts, run_with_open_files};

/// 20,000 hosts of 2 pages: each host's robots.txt, its root, then a page found on
/// the root. Two pages, not more, to keep the test's time in CI down (figures in
/// bench/results/2026-12-07-breadth.md).
#[test]
fn a_crawl_of_20000_live_hosts_stores_every_page_under_a_limit_of_1024_open_files() {
    let web = WebConfig {
        hosts: 20_000,
        pages: 2,
        page_bytes: 1_000,
        links_per_page: 4,
    };
    let scenario = Scenario::web(web);
    // A seed file, as a user with this many seeds has.
    let seeds = scenario.server().seeds().join("\n");
    let crawled = scenario
        .seed_file(&seeds)
        .flags(&["--per-host-rate", "0"])
        .crawl_with(|args| run_with_open_files(1024, args));
    let summary = crawled.summary();
    assert_eq!(summary["pages_fetched"], 40_000, "{summary}");
    assert_eq!(summary["robots_fetched"], 20_000, "{summary}");
    assert_eq!(summary["errors"], serde_json::json!({}), "{summary}");
    assert_eq!(crawled.stored_urls(), crawled.server().expected_urls());
    // Nothing fetched twice: each host's robots.txt and each page once.
    let counts = request_counts(&crawled.server().log());
    assert_eq!(counts.len(), 60_000, "distinct requests");
    assert!(counts.values().all(|&n| n == 1), "a URL was fetched twice");
}

/// A broad crawl takes a host's robots.txt and pages in a row over one connection,
/// rather than every host in turn with a new connection for each request (what it did:
/// about one connection a request, the server's and the crawler's largest cost on a
/// broad web; figures in bench/results/2026-12-07-dispatch.md).
#[test]
fn a_broad_crawl_opens_about_one_connection_per_host_under_a_limit_of_1024_open_files() {
    let crawled = crawl_small_hosts(2_000, 4, 1024);
    let summary = crawled.summary();
    assert_eq!(summary["pages_fetched"], 8_000, "{summary}");
    assert_eq!(crawled.stored_urls(), crawled.server().expected_urls());
    let log = crawled.server().log();
    assert_eq!(log.len(), 10_000, "each robots.txt and page once");
    let connections: BTreeSet<u64> = log.iter().map(|r| r.connection_id).collect();
    // A host may need a second connection now and then (a kept one the server closed);
    // a connection for each request is five a host.
    assert!(
        connections.len() <= 2_200,
        "{} connections for 2,000 hosts of 5 requests",
        connections.len()
    );
}
