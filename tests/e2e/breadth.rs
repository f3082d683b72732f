//! Breadth: a crawl of many hosts with few pages each (issue 28), where what grows
//! with the number of hosts (a robots.txt, a queue, a queue file and a connection
//! each) outweighs what grows with pages.

use crawler_tests::{request_counts, Scenario, WebConfig};

use crate::resources::run_with_open_files;

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
