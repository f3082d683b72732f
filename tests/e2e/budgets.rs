//! Budgets: `--max-pages` over a crawl's runs, and what sitemaps and links may add to a
//! host's queue (`--max-sitemap-urls`, `--max-queued-per-host`), judged from the store
//! and the server's log.

use crawler_fixtures::{FLOOD_SITEMAPS, FLOOD_URLS_PER_SITEMAP};
use crawler_tests::{Scenario, WebConfig};

fn web(pages: usize, links_per_page: usize) -> WebConfig {
    WebConfig {
        hosts: 1,
        pages,
        page_bytes: 2_000,
        links_per_page,
    }
}

/// Pages fetched in all the store's runs: records with an attempt.
fn fetched_records(crawled: &crawler_tests::Crawled) -> usize {
    let pages = crawled.query("ls", &["--json"]).json_lines();
    pages.iter().filter(|page| page["attempts"] != 0).count()
}

#[test]
fn max_pages_is_a_budget_of_the_whole_crawl() {
    let crawled = Scenario::web(web(60, 18))
        .first_host_only()
        .flags(&["--per-host-rate", "0", "--max-pages", "3"])
        .crawl();
    assert_eq!(crawled.summary()["pages_fetched"], 3);

    // Two more runs with the same budget: it is spent, nothing more is fetched.
    for _ in 0..2 {
        crawled.server().clear_log();
        let again = crawled.resume(&["--max-pages", "3", "--json"]).success();
        assert_eq!(again.json()["pages_fetched"], 0, "{}", again.stdout());
        assert_eq!(again.json()["page_budget_spent"], true);
        assert!(
            again.stderr().contains("page budget is spent")
                && again.stderr().contains("--max-pages N"),
            "{}",
            again.stderr()
        );
        assert!(crawled.page_requests().is_empty());
    }
    assert_eq!(fetched_records(&crawled), 3);

    // Raised on resume: it fetches up to the new budget, earlier pages counted.
    let raised = crawled.resume(&["--max-pages", "5", "--json"]).success();
    assert_eq!(raised.json()["pages_fetched"], 2);
    assert_eq!(fetched_records(&crawled), 5);

    // A per-run limit is its own flag, stored with the crawl like the budget.
    let per_run = crawled
        .resume(&["--max-pages", "100", "--max-pages-per-run", "4", "--json"])
        .success();
    assert_eq!(per_run.json()["pages_fetched"], 4);
    assert_eq!(fetched_records(&crawled), 9);
}

#[test]
fn max_pages_per_host_is_a_budget_of_the_whole_crawl() {
    let crawled = Scenario::web(web(60, 18))
        .first_host_only()
        .flags(&["--per-host-rate", "0", "--max-pages-per-host", "4"])
        .crawl();
    assert_eq!(crawled.summary()["pages_fetched"], 4);
    crawled.server().clear_log();
    let again = crawled.resume(&["--json"]).success();
    assert_eq!(again.json()["pages_fetched"], 0, "{}", again.stdout());
    assert!(crawled.page_requests().is_empty());
    assert_eq!(fetched_records(&crawled), 4);
}

#[test]
fn sitemaps_add_at_most_max_sitemap_urls_and_the_rest_is_budget_exceeded() {
    let scenario = Scenario::web(web(1, 1)).seed_urls(&[("robots-sitemap.test", "/")]);
    let flood = scenario
        .server()
        .url("robots-sitemap.test", "/sitemaps/flood-index.xml");
    let crawled = scenario
        .flags(&[
            "--per-host-rate",
            "0",
            "--no-sitemaps",
            "--sitemap",
            &flood,
            "--max-sitemap-urls",
            "100",
        ])
        .crawl();
    let from_sitemaps: Vec<String> = crawled
        .server()
        .log()
        .into_iter()
        .filter(|r| r.host == "robots-sitemap.test")
        .map(|r| r.path)
        .filter(|path| path.starts_with("/flood/") || path.starts_with("/sitemaps/flood-"))
        .filter(|path| path != "/sitemaps/flood-index.xml")
        .collect();
    assert!(
        !from_sitemaps.is_empty() && from_sitemaps.len() <= 100,
        "{} URLs from sitemaps fetched, of {} listed",
        from_sitemaps.len(),
        FLOOD_SITEMAPS * (FLOOD_URLS_PER_SITEMAP + 1)
    );
    let stats = crawled.stats();
    assert!(
        stats["errors"]["budget-exceeded"].as_u64() > Some(0),
        "{stats}"
    );
    assert!(crawled.summary()["urls_over_budget"].as_u64() > Some(0));
    let over = crawled
        .query("ls", &["--error", "budget-exceeded", "--json"])
        .json_lines();
    let first = crawled.record(over[0]["url"].as_str().expect("a URL"));
    assert!(
        first["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("--max-sitemap-urls 100")),
        "{first}"
    );
}

#[test]
fn a_hosts_queue_holds_at_most_max_queued_per_host_across_runs() {
    let crawled = Scenario::web(web(400, 120))
        .first_host_only()
        .flags(&[
            "--per-host-rate",
            "0",
            "--max-pages",
            "3",
            "--max-queued-per-host",
            "20",
        ])
        .crawl();
    let stats = crawled.stats();
    assert!(
        stats["queued"].as_u64() <= Some(20) && stats["queued"].as_u64() > Some(0),
        "{stats}"
    );
    assert!(
        stats["errors"]["budget-exceeded"].as_u64() > Some(0),
        "{stats}"
    );
    // Resumed, the queue's count comes from the store: still at most 20.
    crawled.resume(&["--max-pages", "8"]).success();
    let stats = crawled.stats();
    assert!(stats["queued"].as_u64() <= Some(20), "{stats}");
    assert_eq!(fetched_records(&crawled), 8);
}
