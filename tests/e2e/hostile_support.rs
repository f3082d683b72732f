//! What the hostile-web tests share: a crawl whose peak memory is measured by the
//! kernel (`wait4`, in the `peak-rss` program), and short ways to read a URL's record.

use std::path::Path;

use crawler_tests::{Crawled, FixtureServer, Run, Scenario, SummaryCheck};

use crate::CRAWLER;

/// The small synthetic web beside the hostile hosts: two hosts of six pages.
pub fn small_web() -> Scenario {
    Scenario::web(crawler_tests::WebConfig {
        hosts: 2,
        pages: 6,
        ..crawler_tests::WebConfig::default()
    })
}

/// Every synthetic page of the small web was fetched with a 200: the hostile hosts
/// did not disturb the others.
pub fn assert_normal_hosts_unaffected(crawled: &Crawled) {
    for url in crawled.server().expected_urls() {
        assert_eq!(crawled.record(&url)["status"], 200, "{url}");
    }
}

/// A finished run of the binary and its peak resident set size.
pub struct Measured {
    pub run: Run,
    pub peak_rss_kib: u64,
}

/// Runs the binary with `args` to completion, through `peak-rss` (see its source for
/// why), which reports its peak RSS. A crawl's summary is checked against its store, as
/// [`crawler_tests::run`] does.
pub fn run_measured(args: &[String]) -> Measured {
    let check = SummaryCheck::before(CRAWLER, args);
    let figure = tempfile::NamedTempFile::new().expect("a temporary file");
    let mut probe_args = vec![
        figure.path().display().to_string(),
        CRAWLER.path().display().to_string(),
    ];
    probe_args.extend(args.iter().cloned());
    let probe_args: Vec<&str> = probe_args.iter().map(String::as_str).collect();
    let run = crawler_tests::run(env!("CARGO_BIN_EXE_peak-rss"), &probe_args);
    let peak_rss_kib = std::fs::read_to_string(figure.path())
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or_else(|| panic!("peak-rss wrote no figure for {args:?}: {}", run.stderr()));
    if let Some(check) = check {
        check.after(&run);
    }
    Measured { run, peak_rss_kib }
}

/// The scenario's crawl, run by [`run_measured`]: it must exit 0. Also its peak RSS
/// in KiB.
pub fn crawl_measured(scenario: Scenario) -> (Crawled, u64) {
    let mut peak_rss_kib = 0;
    let crawled = scenario.crawl_with(|args| {
        let measured = run_measured(args);
        peak_rss_kib = measured.peak_rss_kib;
        measured.run
    });
    (crawled, peak_rss_kib)
}

/// The stored record of `url` (`crawler get --json`).
pub fn record(store: &Path, url: &str) -> serde_json::Value {
    crawler_tests::stored(CRAWLER, store, url)
}

/// The error kind stored for `url` (`""` when none).
pub fn error_of(crawled: &Crawled, url: &str) -> String {
    crawled.record(url)["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Requests the server answered for `host` (robots.txt included).
pub fn requests_to(server: &FixtureServer, host: &str) -> Vec<String> {
    server
        .log()
        .into_iter()
        .filter(|r| r.host == host)
        .map(|r| r.path)
        .collect()
}
