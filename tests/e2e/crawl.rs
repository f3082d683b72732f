//! Whole crawls of the synthetic web: completeness, dedup, politeness, scope, limits.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use crawler_fixtures::{page_path, synthetic_host, synthetic_outlinks};
use crawler_tests::{
    max_open_per_host, min_gap_per_host, page_requests, request_counts, Scenario, WebConfig,
};

fn web(hosts: usize, pages: usize) -> WebConfig {
    WebConfig {
        hosts,
        pages,
        page_bytes: 3_000,
        ..WebConfig::default()
    }
}

/// Shortest link distance from the seeds to every synthetic page, within `allowed_hosts`.
fn depths(
    web: &WebConfig,
    port: u16,
    seeds: &[usize],
    allowed_hosts: usize,
) -> BTreeMap<String, u32> {
    let index_of = |url: &str| -> Option<(usize, usize)> {
        let rest = url.strip_prefix("http://h")?;
        let (host, rest) = rest.split_once(".test:")?;
        let host: usize = host.parse().ok()?;
        let path = rest.split_once('/').map(|(_, p)| format!("/{p}"))?;
        let page = (0..web.pages).find(|j| page_path(*j) == path)?;
        (host < allowed_hosts).then_some((host, page))
    };
    let mut depth = BTreeMap::new();
    let mut queue = VecDeque::new();
    for &host in seeds {
        let url = format!("http://{}:{port}/", synthetic_host(host));
        depth.insert(url, 0);
        queue.push_back((host, 0usize, 0u32));
    }
    while let Some((host, page, d)) = queue.pop_front() {
        for link in synthetic_outlinks(web, host, page, port) {
            if let Some((h, p)) = index_of(&link) {
                if let std::collections::btree_map::Entry::Vacant(slot) = depth.entry(link) {
                    slot.insert(d + 1);
                    queue.push_back((h, p, d + 1));
                }
            }
        }
    }
    depth
}

#[test]
fn crawls_every_page_exactly_once_politely_and_in_scope() {
    let crawled = Scenario::web(web(20, 50))
        .flags(&["--per-host-rate", "10"])
        .crawl();
    let (server, summary) = (crawled.server(), crawled.summary());
    let log = server.log();

    let counts = request_counts(&log);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "fetched more than once: {twice:?}");
    let requested = crawler_tests::requested_urls(&page_requests(&log), server.port());
    assert_eq!(
        requested,
        server.expected_urls(),
        "the crawl must fetch exactly the 1,000 synthetic pages"
    );
    assert_eq!(summary["pages_fetched"], 1000);
    assert_eq!(summary["by_status_class"]["2xx"], 1000);
    assert_eq!(summary["robots_fetched"], 20);
    let mut first_request: BTreeMap<&str, &str> = BTreeMap::new();
    let mut by_start: Vec<_> = log.iter().collect();
    by_start.sort_by_key(|r| r.start);
    for record in by_start {
        first_request.entry(&record.host).or_insert(&record.path);
    }
    assert!(
        first_request.values().all(|path| *path == "/robots.txt"),
        "every host's first request must be its robots.txt: {first_request:?}"
    );

    let outside: Vec<_> = log
        .iter()
        .filter(|r| !r.host.starts_with('h') || !r.host.ends_with(".test"))
        .collect();
    assert!(
        outside.is_empty(),
        "requests outside the scope: {outside:?}"
    );

    for (host, open) in max_open_per_host(&log) {
        assert!(open <= 1, "{host} had {open} requests open at once");
    }
    for (host, gap) in min_gap_per_host(&log) {
        assert!(
            gap >= Duration::from_millis(99),
            "{host}: two requests {gap:?} apart at 10/s"
        );
    }

    assert_eq!(crawled.stored_urls(), server.expected_urls());
}

#[test]
fn default_rate_spaces_requests_half_a_second_apart() {
    let crawled = Scenario::web(web(2, 5)).crawl();
    let log = crawled.server().log();
    assert_eq!(page_requests(&log).len(), 10);
    assert_eq!(log.len(), 12, "two robots.txt requests");
    for (host, gap) in min_gap_per_host(&log) {
        assert!(
            gap >= Duration::from_millis(499),
            "{host}: two requests {gap:?} apart at the default 2/s"
        );
    }
}

#[test]
fn per_host_concurrency_is_never_exceeded() {
    let crawled = Scenario::web(web(2, 60))
        .flags(&[
            "--per-host-rate",
            "0",
            "--per-host-concurrency",
            "3",
            "--workers",
            "8",
        ])
        .crawl();
    let log = crawled.server().log();
    assert_eq!(page_requests(&log).len(), 120);
    for (host, open) in max_open_per_host(&log) {
        assert!(open <= 3, "{host} had {open} requests open at once");
    }
}

#[test]
fn max_depth_is_exact() {
    let crawled = Scenario::web(web(1, 200))
        .first_host_only()
        .flags(&["--per-host-rate", "0", "--max-depth", "2"])
        .crawl();
    let server = crawled.server();
    let expected: BTreeSet<String> = depths(server.web(), server.port(), &[0], 1)
        .into_iter()
        .filter(|(_, d)| *d <= 2)
        .map(|(url, _)| url)
        .collect();
    assert!(
        expected.len() > 3 && expected.len() < 200,
        "the test web must have pages beyond depth 2"
    );
    let requested = crawler_tests::requested_urls(&page_requests(&server.log()), server.port());
    assert_eq!(requested, expected);
}

#[test]
fn max_pages_is_exact() {
    let crawled = Scenario::web(web(4, 50))
        .flags(&[
            "--per-host-rate",
            "0",
            "--max-pages",
            "37",
            "--workers",
            "16",
        ])
        .crawl();
    assert_eq!(crawled.page_requests().len(), 37);
    assert_eq!(crawled.summary()["pages_fetched"], 37);
    assert_eq!(crawled.query("ls", &["--json"]).json_lines().len(), 37);
}

#[test]
fn max_pages_per_host_is_exact() {
    let crawled = Scenario::web(web(5, 30))
        .flags(&["--per-host-rate", "0", "--max-pages-per-host", "7"])
        .crawl();
    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    for record in crawled.page_requests() {
        *per_host.entry(record.host).or_default() += 1;
    }
    assert_eq!(per_host.len(), 5);
    assert!(per_host.values().all(|n| *n == 7), "{per_host:?}");
}

#[test]
fn scope_domain_and_all_reach_further_than_host() {
    // Page 0 of each synthetic host links to outside.test and h{i}.other.
    let hosts_for = |scope: &str| -> BTreeSet<String> {
        let crawled = Scenario::web(web(1, 3))
            .first_host_only()
            .flags(&["--per-host-rate", "0", "--scope", scope])
            .crawl();
        crawled.server().log().into_iter().map(|r| r.host).collect()
    };
    assert_eq!(hosts_for("host"), BTreeSet::from(["h0.test".to_owned()]));
    let all = hosts_for("all");
    assert!(
        all.contains("outside.test") && all.contains("h0.other"),
        "{all:?}"
    );
}

#[test]
fn allow_and_deny_filter_urls() {
    let crawled = Scenario::web(web(1, 40))
        .first_host_only()
        .flags(&["--per-host-rate", "0", "--deny", r"/page/1\d$"])
        .crawl();
    let log = crawled.page_requests();
    assert_eq!(log.len(), 30, "40 pages less the 10 denied ones");
    let denied: Vec<_> = log
        .iter()
        .filter(|r| r.path.len() == 8 && r.path.starts_with("/page/1"))
        .collect();
    assert!(denied.is_empty(), "denied URLs fetched: {denied:?}");
}
