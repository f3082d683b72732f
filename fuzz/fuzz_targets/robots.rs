//! robots.txt parsing and matching: never panics, whatever the bytes; a verdict's
//! rule, when there is one, is a rule of the file.
#![no_main]

use crawler_core::robots::{ProductToken, RobotsTxt};
use crawler_core::url::CanonicalUrl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let robots = RobotsTxt::parse(data);
    let agent = ProductToken::parse("crawler").expect("a valid token");
    let rules = robots.rules_for(&agent);
    let _ = (rules.group(), rules.crawl_delay(), rules.sitemaps().len());
    // Paths taken from the file itself hit its patterns' corners.
    let text = String::from_utf8_lossy(data);
    let paths = text
        .lines()
        .filter_map(|line| line.split_once(':').map(|(_, value)| value.trim()))
        .chain(["/", "/robots.txt", "/a/b?c=d", "/%E2%82%AC"]);
    for path in paths.take(64) {
        let Ok(url) = CanonicalUrl::join(
            &url::Url::parse("http://a.test/").expect("a valid base"),
            path,
        ) else {
            continue;
        };
        let verdict = rules.verdict(&url);
        if verdict.rule.is_some() {
            let _ = rules.allows(&url);
        } else {
            assert!(verdict.allowed, "no rule matched, so allowed");
        }
    }
});
