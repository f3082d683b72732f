//! The hand-written link-extraction cases of `cases.test`, judged from the request log.

use std::collections::BTreeSet;

use crawler_fixtures::{
    cases_expected_followed, cases_never_followed, CHARSET_LATIN1_TITLE, CHARSET_META_TITLE,
};
use crawler_tests::{page_requests, request_counts, requested_urls, Scenario, WebConfig};

/// A crawl of `cases.test` alone, unthrottled.
fn crawl_cases() -> crawler_tests::Crawled {
    let scenario = Scenario::web(WebConfig::default());
    let seed = scenario.server().cases_seed();
    scenario
        .seeds([seed])
        .flags(&["--per-host-rate", "0"])
        .crawl()
}

#[test]
fn follows_exactly_the_links_a_browser_user_could_click() {
    let crawled = crawl_cases();
    let server = crawled.server();
    let log = server.log();
    let robots = log.iter().filter(|r| r.path == "/robots.txt").count();
    assert_eq!(robots, 1, "robots.txt once for the one host");
    let log = page_requests(&log);

    let requested = requested_urls(&log, server.port());
    let expected = cases_expected_followed(server.port());
    let missing: BTreeSet<_> = expected.difference(&requested).collect();
    let extra: BTreeSet<_> = requested.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );

    let paths: BTreeSet<&str> = log.iter().map(|r| r.path.as_str()).collect();
    for never in cases_never_followed(server.port()) {
        assert!(
            !paths.contains(never.as_str()),
            "{never} must not be requested"
        );
    }
    let twice: Vec<_> = request_counts(&log)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(
        twice.is_empty(),
        "equivalent spellings fetched more than once: {twice:?}"
    );
}

#[test]
fn titles_are_decoded_by_the_declared_charset() {
    let crawled = crawl_cases();
    let title_of = |path: &str| {
        let page = crawled.record(&crawled.server().url("cases.test", path));
        page["title"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(title_of("/charset-latin1"), CHARSET_LATIN1_TITLE);
    assert_eq!(title_of("/charset-meta"), CHARSET_META_TITLE);
}
