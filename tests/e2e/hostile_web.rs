//! Redirects that go nowhere, traps that never end and pages built to hurt a parser:
//! the crawl finishes, each URL is recorded with what went wrong, and the other
//! hosts are crawled as usual.

use crate::hostile_support::{
    assert_normal_hosts_unaffected, crawl_measured, error_of, requests_to, small_web,
};
use crawler_core::extract::DEFAULT_MAX_LINKS_PER_PAGE as MAX_LINKS_PER_PAGE;
use crawler_fixtures::hostile::{
    INVALID_UTF8_TITLE, MANY_LINKS, META_CONTRADICTS_TITLE, SHIFT_JIS_TITLE, SINK_HOST,
    WINDOWS_1252_TITLE,
};

/// Peak RSS allowed for the content crawl: a page of 100,000 links (2.6 MB, all
/// parsed, 5,000 kept and stored), one of 100,000 nested `<div>`s and junk served
/// as HTML. Measured near 190 MiB in a debug build, of which a plain crawl of the
/// small web takes 70-85 MiB. Before the link cap, the 100,000 links took 620 MiB.
const CONTENT_RSS_KIB: u64 = 256 * 1024;

#[test]
fn bad_redirects_are_recorded_and_go_nowhere() {
    let scenario = small_web();
    let server = scenario.server();
    let url = |host: &str, path: &str| server.url(&format!("{host}.hostile.test"), path);
    let loop_a = url("loop", "/loop/a");
    let chain = url("chain", "/_fixture/redirect/30");
    let outside = url("out", "/to-outside");
    let private = url("private", "/to-private");
    let bad: Vec<String> = (0..crawler_fixtures::hostile::BAD_LOCATIONS)
        .map(|i| url("badloc", &format!("/bad-location/{i}")))
        .collect();
    let mut seeds = vec![
        loop_a.clone(),
        chain.clone(),
        outside.clone(),
        private.clone(),
    ];
    seeds.extend(bad.iter().cloned());
    seeds.extend(server.seeds());
    let (crawled, _) =
        crawl_measured(
            scenario
                .seeds(seeds)
                .flags(&["--per-host-rate", "0", "--retries", "0"]),
        );
    let server = crawled.server();
    let url = |host: &str, path: &str| server.url(&format!("{host}.hostile.test"), path);

    // A loop: each end fetched once, both stored as the redirects they are.
    let looped = requests_to(server, "loop.hostile.test");
    assert_eq!(looped, ["/robots.txt", "/loop/a", "/loop/b"]);
    assert_eq!(crawled.record(&url("loop", "/loop/b"))["status"], 301);
    // A chain of 30: hops past the limit of 10 are recorded, not fetched.
    let chained = requests_to(server, "chain.hostile.test");
    assert_eq!(chained.len(), 1 + 11, "{chained:?}");
    assert_eq!(
        error_of(&crawled, &url("chain", "/_fixture/redirect/19")),
        "too-many-redirects"
    );
    // Out of scope: stored as a 302, its target never requested.
    assert_eq!(crawled.record(&outside)["status"], 302);
    assert!(requests_to(server, "outside.test").is_empty());
    // Into a path robots.txt disallows: the target is recorded, never requested.
    let target = url("private", "/private/target");
    assert_eq!(error_of(&crawled, &target), "robots-disallowed");
    assert!(!requests_to(server, "private.hostile.test").contains(&"/private/target".into()));
    // A Location that is no URL (or none at all): the redirect itself is the error.
    for url in &bad {
        let stored = crawled.record(url);
        assert_eq!(stored["error"], "redirect-invalid", "{stored}");
        assert!(stored["status"].as_u64().is_some_and(|s| s / 100 == 3));
    }
    assert_normal_hosts_unaffected(&crawled);
}

#[test]
fn traps_are_bounded_and_the_telltale_ones_recorded_as_trap_suspected() {
    let scenario = small_web();
    let server = scenario.server();
    let url = |host: &str, path: &str| server.url(&format!("{host}.hostile.test"), path);
    let mut seeds = vec![
        url("calendar", "/calendar/2024/01"),
        url("session", "/session"),
        url("deep", "/deep/"),
        url("long", "/long/"),
    ];
    seeds.extend(server.seeds());
    let (crawled, _) = crawl_measured(scenario.seeds(seeds).flags(&[
        "--per-host-rate",
        "0",
        "--max-pages-per-host",
        "25",
    ]));
    let server = crawled.server();
    let url = |host: &str, path: &str| server.url(&format!("{host}.hostile.test"), path);
    let pages = |host: &str| {
        requests_to(server, host)
            .into_iter()
            .filter(|p| p != "/robots.txt")
            .count()
    };
    // A calendar and session IDs have no URL-shaped tell: the per-host budget ends them.
    assert_eq!(pages("calendar.hostile.test"), 25);
    assert_eq!(pages("session.hostile.test"), 25);
    // Ever-deeper relative links: the fourth `a` is one too many.
    assert_eq!(
        requests_to(server, "deep.hostile.test"),
        [
            "/robots.txt",
            "/deep/",
            "/deep/a/",
            "/deep/a/a/",
            "/deep/a/a/a/"
        ]
    );
    let deepest = crawled.record(&url("deep", "/deep/a/a/a/a/"));
    assert_eq!(deepest["error"], "trap-suspected", "{deepest}");
    assert!(deepest["error_message"]
        .as_str()
        .unwrap_or_default()
        .contains("--max-repeated-segments"));
    // Ever-longer URLs: the first one over 2,048 bytes is recorded, not fetched.
    let long_paths = requests_to(server, "long.hostile.test");
    let longest = long_paths.iter().map(String::len).max().unwrap_or(0);
    assert!(longest < 2048, "{longest}");
    let trapped = crawled
        .query(
            "ls",
            &[
                "--host",
                "long.hostile.test",
                "--error",
                "trap-suspected",
                "--format",
                "jsonl",
            ],
        )
        .json();
    assert!(trapped["url"].as_str().unwrap_or_default().len() > 2048);
    assert_normal_hosts_unaffected(&crawled);
}

#[test]
fn hostile_content_is_decoded_bounded_and_never_followed_where_it_hides() {
    let scenario = small_web();
    let server = scenario.server();
    let page = |name: &str| server.url("content.hostile.test", &format!("/content/{name}"));
    let names = [
        "invalid-utf8",
        "windows-1252",
        "shift-jis",
        "meta-contradicts",
        "many-links",
        "deep-nesting",
        "hidden-links",
        "binary",
        "empty",
    ];
    let mut seeds: Vec<String> = names.iter().map(|n| page(n)).collect();
    seeds.extend(server.seeds());
    let started = std::time::Instant::now();
    let (crawled, peak_rss_kib) = crawl_measured(scenario.seeds(seeds).flags(&[
        "--per-host-rate",
        "0",
        "--max-depth",
        "1",
        "--retries",
        "0",
    ]));
    let elapsed = started.elapsed();
    let server = crawled.server();
    let page = |name: &str| server.url("content.hostile.test", &format!("/content/{name}"));
    let title = |name: &str| crawled.record(&page(name))["title"].clone();
    assert_eq!(title("invalid-utf8"), INVALID_UTF8_TITLE);
    assert_eq!(title("windows-1252"), WINDOWS_1252_TITLE);
    assert_eq!(title("shift-jis"), SHIFT_JIS_TITLE);
    assert_eq!(title("meta-contradicts"), META_CONTRADICTS_TITLE);
    let requested = requests_to(server, "content.hostile.test");
    // The windows-1252 page's link, decoded and re-encoded as UTF-8.
    assert!(
        requested.contains(&"/content/caf%C3%A9".to_string()),
        "{requested:?}"
    );

    // 100,000 links: the first 5,000 kept (and stored), the rest counted.
    let many = crawled.record(&page("many-links"));
    assert_eq!(many["outlinks"], MAX_LINKS_PER_PAGE as u64, "links stored");
    assert_eq!(many["error"], "parse-limited");
    let dropped = format!("{} more link elements", MANY_LINKS - MAX_LINKS_PER_PAGE);
    assert!(many["error_message"]
        .as_str()
        .unwrap_or_default()
        .starts_with(&dropped));
    assert!(requests_to(server, SINK_HOST).is_empty(), "out of scope");

    // 100,000 nested divs: read to the end (the tokenizer is linear in the page),
    // the links before and after them followed.
    let deep = crawled.record(&page("deep-nesting"));
    assert_eq!(deep["status"], 200);
    assert!(deep["error"].is_null(), "{deep}");
    assert!(requested.contains(&"/content/top".to_string()));
    assert!(requested.contains(&"/content/bottom".to_string()));

    // Links in a comment, a script and a template are not links.
    for hidden in ["in-comment", "in-script", "in-template"] {
        assert!(
            !requested.contains(&format!("/content/{hidden}")),
            "{hidden}"
        );
    }
    assert!(requested.contains(&"/content/visible".to_string()));

    let binary = crawled.record(&page("binary"));
    assert_eq!(binary["status"], 200);
    assert_eq!(binary["outlinks"], 0);
    let empty = crawled.record(&page("empty"));
    assert_eq!(
        (empty["status"].clone(), empty["bytes"].clone()),
        (200.into(), 0.into())
    );
    assert!(empty["error"].is_null());
    // The other hosts, to the depth of 1 this crawl allows.
    for seed in server.seeds() {
        let root = crawled.record(&seed);
        assert_eq!(root["status"], 200, "{seed}");
        for link in root["links"].as_array().into_iter().flatten() {
            let link = link.as_str().unwrap_or_default();
            if link.starts_with(&seed) {
                assert_eq!(crawled.record(link)["status"], 200, "{link}");
            }
        }
    }

    assert!(
        peak_rss_kib < CONTENT_RSS_KIB,
        "peak RSS {} KiB, bound {CONTENT_RSS_KIB} KiB",
        peak_rss_kib
    );
    eprintln!(
        "hostile content: crawled in {elapsed:?}, peak RSS {} KiB",
        peak_rss_kib
    );
}
