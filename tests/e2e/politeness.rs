//! Politeness beyond the rate: robots.txt (RFC 9309), Crawl-delay, Retry-After, retries
//! with backoff, dead hosts, page-level directives and sitemaps, all judged from the
//! fixture server's request log and from what the store recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crawler_fixtures::{DIRECTIVES_FOLLOWED, DIRECTIVES_NEVER};
use crawler_tests::{run, Crawled, RequestRecord, Scenario, WebConfig, Workspace};

use crate::CRAWLER;

/// Three synthetic hosts of twenty pages beside the special hosts these tests seed.
fn web() -> Scenario {
    Scenario::web(WebConfig {
        hosts: 3,
        pages: 20,
        page_bytes: 2_000,
        ..WebConfig::default()
    })
}

/// The paths requested from `host`, in order.
fn paths(log: &[RequestRecord], host: &str) -> Vec<String> {
    let mut records: Vec<&RequestRecord> = log.iter().filter(|r| r.host == host).collect();
    records.sort_by_key(|r| r.start);
    records.into_iter().map(|r| r.path.clone()).collect()
}

fn path_set(log: &[RequestRecord], host: &str) -> BTreeSet<String> {
    paths(log, host).into_iter().collect()
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

/// Gaps between the starts of consecutive requests to `host`.
fn gaps(log: &[RequestRecord], host: &str) -> Vec<Duration> {
    let mut starts: Vec<Instant> = log
        .iter()
        .filter(|r| r.host == host)
        .map(|r| r.start)
        .collect();
    starts.sort();
    starts.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn robots_txt_rules_are_obeyed_as_rfc_9309_says() {
    let hosts = [
        "robots-rules.test",
        "robots-agent.test",
        "robots-404.test",
        "robots-redirect.test",
    ];
    let crawled = web()
        .seed_urls(&hosts.map(|h| (h, "/")))
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let server = crawled.server();
    let log = server.log();

    for host in hosts {
        assert_eq!(
            paths(&log, host)[0],
            "/robots.txt",
            "{host}: robots.txt goes first"
        );
    }
    // Disallow, a longer Allow inside it, an Allow/Disallow tie (Allow wins), `*` and `$`.
    assert_eq!(
        path_set(&log, "robots-rules.test"),
        set(&[
            "/robots.txt",
            "/",
            "/public",
            "/private/open",
            "/tie",
            "/doc.pdf?download=1"
        ])
    );
    // The group naming `crawler` beats `*` (which disallows everything).
    assert_eq!(
        path_set(&log, "robots-agent.test"),
        set(&["/robots.txt", "/", "/a"])
    );
    // 404: everything allowed.
    assert_eq!(
        path_set(&log, "robots-404.test"),
        set(&["/robots.txt", "/", "/a", "/b"])
    );
    // A redirected robots.txt is followed and obeyed.
    assert_eq!(
        paths(&log, "robots-redirect.test")[..2],
        ["/robots.txt", "/robots-moved.txt"]
    );
    assert_eq!(
        path_set(&log, "robots-redirect.test"),
        set(&["/robots.txt", "/robots-moved.txt", "/", "/ok"])
    );
    assert_eq!(
        log.iter().filter(|r| r.path == "/robots.txt").count(),
        hosts.len(),
        "robots.txt is fetched once per host"
    );

    // What was not fetched is in the store, with the rule that refused it.
    let secret = crawled.record(&server.url("robots-rules.test", "/private/secret"));
    assert_eq!(secret["error"], "robots-disallowed");
    assert_eq!(secret["attempts"], 0);
    let why = secret["error_message"].as_str().unwrap();
    assert!(
        why.contains("Disallow: /private (line 2, group *)"),
        "{why}"
    );
    let blocked = crawled.record(&server.url("robots-agent.test", "/not-for-crawler"));
    assert_eq!(blocked["error"], "robots-disallowed");
    assert!(blocked["error_message"]
        .as_str()
        .unwrap()
        .contains("group crawler"));
    let ls = crawled.query("ls", &["--json"]).json_lines();
    let pdf = server.url("robots-rules.test", "/doc.pdf");
    assert!(
        ls.iter()
            .any(|p| p["url"] == pdf.as_str() && p["error"] == "robots-disallowed"),
        "crawler ls shows why {pdf} is missing: {ls:?}"
    );
}

#[test]
fn another_agent_token_selects_another_group_and_ignore_robots_ignores_them_all() {
    let crawled = web()
        .seed_urls(&[("robots-agent.test", "/")])
        .flags(&["--robots-agent", "OtherBot"])
        .crawl();
    let seed = crawled.server().url("robots-agent.test", "/");
    assert_eq!(
        paths(&crawled.server().log(), "robots-agent.test"),
        ["/robots.txt"]
    );
    assert_eq!(crawled.record(&seed)["error"], "robots-disallowed");

    let crawled = crawled
        .then()
        .seed_urls(&[("robots-rules.test", "/")])
        .text()
        .flags(&["--ignore-robots", "--per-host-rate", "0"])
        .crawl();
    let out = crawled.run();
    let requested = path_set(&crawled.server().log(), "robots-rules.test");
    assert!(!requested.contains("/robots.txt"), "{requested:?}");
    assert!(requested.contains("/private/secret"), "{requested:?}");
    assert!(
        out.stdout().contains("robots.txt: ignored"),
        "{}",
        out.stdout()
    );
}

#[test]
fn an_unreachable_robots_txt_keeps_its_host_untouched_and_the_others_going() {
    let crawled = web()
        .seed_urls(&[("robots-503.test", "/"), ("h0.test", "/")])
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let summary = crawled.summary();
    let log = crawled.server().log();
    // Tried three times (two retries), each after the server's Retry-After: 1.
    assert_eq!(paths(&log, "robots-503.test"), ["/robots.txt"; 3]);
    for gap in gaps(&log, "robots-503.test") {
        assert!(gap >= Duration::from_millis(950), "{gap:?}");
    }
    let root = crawled.record(&crawled.server().url("robots-503.test", "/"));
    assert_eq!(root["error"], "robots-unavailable");
    assert!(root["error_message"].as_str().unwrap().contains("503"));
    assert_eq!(
        path_set(&log, "h0.test").len(),
        21,
        "robots.txt and 20 pages"
    );
    assert_eq!(summary["errors"]["robots-unavailable"], 1);
}

#[test]
fn crawl_delay_spaces_requests_and_a_huge_one_is_capped_and_reported() {
    let crawled = web()
        .seed_urls(&[("robots-delay.test", "/"), ("robots-bigdelay.test", "/")])
        .text()
        .flags(&["--per-host-rate", "0", "--max-crawl-delay", "1.5"])
        .crawl();
    let out = crawled.run();
    let log = crawled.server().log();
    assert_eq!(paths(&log, "robots-delay.test").len(), 5);
    for gap in gaps(&log, "robots-delay.test") {
        assert!(gap >= Duration::from_millis(1000), "Crawl-delay 1: {gap:?}");
    }
    let capped = gaps(&log, "robots-bigdelay.test");
    assert_eq!(capped.len(), 2);
    for gap in capped {
        assert!(
            gap >= Duration::from_millis(1500) && gap < Duration::from_secs(10),
            "capped at 1.5 s: {gap:?}"
        );
    }
    let stdout = out.stdout();
    assert!(
        stdout.contains("Crawl-delay capped: http://robots-bigdelay.test:")
            && stdout.contains("asked for 3600 s"),
        "{stdout}"
    );
}

#[test]
fn retry_after_pauses_only_that_host_and_retries_back_off_with_growing_gaps() {
    let crawled = web()
        .seed_urls(&[
            ("h0.test", "/_fixture/retry-after/2"),
            ("h2.test", "/_fixture/retry-after-date/2"),
            ("robots-404.test", "/_fixture/status/503"),
            ("h1.test", "/"),
        ])
        .flags(&[
            "--per-host-rate",
            "5",
            "--retries",
            "2",
            "--retry-backoff",
            "0.3",
        ])
        .crawl();
    let server = crawled.server();
    let too_many = server.url("h0.test", "/_fixture/retry-after/2");
    let failing = server.url("robots-404.test", "/_fixture/status/503");
    let log = server.log();

    // 429 with Retry-After: 2: three tries, two seconds apart.
    let tries: Vec<&RequestRecord> = log
        .iter()
        .filter(|r| r.path.contains("retry-after/"))
        .collect();
    assert_eq!(tries.len(), 3);
    for pair in tries.windows(2) {
        let pause = pair[1].start - pair[0].end;
        assert!(pause >= Duration::from_millis(1900), "{pause:?}");
    }
    let stored = crawled.record(&too_many);
    assert_eq!(
        (stored["status"].as_u64(), stored["attempts"].as_u64()),
        (Some(429), Some(3))
    );
    // Meanwhile the other host kept going: requests inside each pause.
    for pair in tries.windows(2) {
        let during = log
            .iter()
            .filter(|r| r.host == "h1.test" && r.start > pair[0].end && r.start < pair[1].start)
            .count();
        assert!(
            during >= 3,
            "h1.test made {during} requests while h0.test was paused"
        );
    }
    // Retry-After as an HTTP-date (one-second resolution).
    let dated: Vec<&RequestRecord> = log
        .iter()
        .filter(|r| r.path.contains("retry-after-date/"))
        .collect();
    assert_eq!(dated.len(), 3);
    for pair in dated.windows(2) {
        let pause = pair[1].start - pair[0].end;
        assert!(pause >= Duration::from_millis(900), "{pause:?}");
    }

    // 503 without Retry-After: exponential backoff, 0.3 s then 0.6 s.
    let starts: Vec<Instant> = log
        .iter()
        .filter(|r| r.path == "/_fixture/status/503")
        .map(|r| r.start)
        .collect();
    assert_eq!(starts.len(), 3);
    let (first, second) = (starts[1] - starts[0], starts[2] - starts[1]);
    assert!(first >= Duration::from_millis(300), "{first:?}");
    assert!(
        second >= Duration::from_millis(600) && second > first,
        "{first:?} then {second:?}"
    );
    assert_eq!(crawled.record(&failing)["attempts"], 3);
}

#[test]
fn a_dead_host_does_not_slow_the_others() {
    let scenario = web();
    let server = scenario.server();
    let live: Vec<String> = vec![server.url("h0.test", "/"), server.url("h1.test", "/")];
    let finish = |scenario: Scenario, extra: Option<&str>| -> (Crawled, Duration) {
        let mut seeds = live.clone();
        seeds.extend(extra.map(str::to_owned));
        let crawled = scenario
            .seeds(seeds)
            .flags(&["--per-host-rate", "10"])
            .crawl();
        let log = crawled.server().log();
        let start = log.iter().map(|r| r.start).min().unwrap();
        let end = log.iter().map(|r| r.end).max().unwrap();
        if let Some(dead) = extra {
            let root = crawled.record(dead);
            assert_eq!(root["error"], "robots-unavailable");
            let why = root["error_message"].as_str().unwrap();
            assert!(
                why.contains("connect") && why.contains("3 attempts"),
                "{why}"
            );
        }
        (crawled, end - start)
    };
    let closed_port = crawler_tests::closed_port();
    let dead = format!("http://127.0.0.1:{closed_port}/");
    let (crawled, alone) = finish(scenario, None);
    let (_, with_dead) = finish(crawled.then(), Some(&dead));
    assert!(
        with_dead < alone + Duration::from_millis(800),
        "the live hosts took {alone:?} alone and {with_dead:?} beside a dead host"
    );
}

#[test]
fn a_host_that_keeps_failing_is_parked() {
    let closed_port = crawler_tests::closed_port();
    let seeds: Vec<String> = (0..4)
        .map(|i| format!("http://127.0.0.1:{closed_port}/{i}"))
        .collect();
    let crawled = web()
        .seeds(seeds.clone())
        .flags(&[
            "--ignore-robots",
            "--retries",
            "0",
            "--park-after",
            "2",
            "--retry-backoff",
            "0.05",
        ])
        .attempt();
    // No server answered: the crawl says so with its own exit code.
    assert_eq!(crawled.run().code(), Some(4), "{}", crawled.run().stderr());
    let summary = crawled.summary();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for seed in &seeds {
        let error = crawled.record(seed)["error"].as_str().unwrap().to_owned();
        *outcomes.entry(error).or_default() += 1;
    }
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("connect".to_owned(), 2),
            ("host-unreachable".to_owned(), 2)
        ])
    );
    let parked = summary["parked_hosts"].as_object().unwrap();
    assert!(
        parked.contains_key(&format!("http://127.0.0.1:{closed_port}")),
        "{parked:?}"
    );
}

#[test]
fn page_level_directives_are_obeyed() {
    let crawled = web()
        .seed_urls(&[("directives.test", "/")])
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let server = crawled.server();
    let mut expected = set(&DIRECTIVES_FOLLOWED);
    expected.insert("/robots.txt".to_owned());
    assert_eq!(path_set(&server.log(), "directives.test"), expected);

    let noindex = crawled.record(&server.url("directives.test", "/noindex"));
    assert_eq!(noindex["noindex"], true);
    let canonical = crawled.record(&server.url("directives.test", "/canonical"));
    assert_eq!(
        canonical["canonical"],
        server.url("directives.test", "/canonical-target")
    );
    // The links of a nofollow page are stored, only not followed.
    let meta = crawled.record(&server.url("directives.test", "/meta-nofollow"));
    assert_eq!(
        meta["links"],
        serde_json::json!([server.url("directives.test", "/never-meta")])
    );

    let crawled = crawled
        .then()
        .flags(&["--per-host-rate", "0", "--follow-nofollow"])
        .crawl();
    let requested = path_set(&crawled.server().log(), "directives.test");
    assert!(requested.contains("/never-rel"), "{requested:?}");
    for never in ["/never-meta", "/never-header"] {
        assert!(
            !requested.contains(never),
            "{never} fetched: the page said nofollow"
        );
    }
    assert_eq!(DIRECTIVES_NEVER.len(), 3);
}

#[test]
fn sitemaps_from_robots_txt_are_crawled_index_gzip_and_text_included() {
    let scenario = web().seed_urls(&[("robots-sitemap.test", "/")]);
    let bomb = scenario
        .server()
        .url("robots-sitemap.test", "/sitemaps/bomb.xml");
    let crawled = scenario
        .flags(&["--per-host-rate", "0", "--sitemap", &bomb])
        .crawl();
    let server = crawled.server();
    let requested = path_set(&server.log(), "robots-sitemap.test");
    assert_eq!(
        requested,
        set(&[
            "/robots.txt",
            "/",
            "/sitemaps/index.xml",
            "/sitemaps/pages.xml",
            "/sitemaps/pages.xml.gz",
            "/sitemaps/nested-index.xml",
            "/sitemaps/pages.txt",
            "/sitemaps/bomb.xml",
            "/from-xml-1",
            "/from-xml-2?a=1&b=2",
            "/from-gzip",
            "/from-text",
        ])
    );
    let from_gzip = crawled.record(&server.url("robots-sitemap.test", "/from-gzip"));
    assert_eq!(
        from_gzip["from"],
        server.url("robots-sitemap.test", "/sitemaps/pages.xml.gz")
    );
    assert_eq!(from_gzip["depth"], 1);
    let refused = crawled.record(&bomb);
    assert_eq!(refused["error"], "sitemap-invalid");
    assert!(refused["error_message"]
        .as_str()
        .unwrap()
        .contains("entities"));

    let crawled = crawled
        .then()
        .flags(&["--per-host-rate", "0", "--no-sitemaps"])
        .crawl();
    assert_eq!(
        path_set(&crawled.server().log(), "robots-sitemap.test"),
        set(&["/robots.txt", "/"])
    );
}

#[test]
fn the_robots_command_names_the_deciding_rule() {
    let ws = Workspace::new();
    let file = ws.path("robots.txt");
    std::fs::write(
        &file,
        "User-Agent: *\nDisallow: /example/\nAllow: /publications/\n\nUser-Agent: foobot\nDisallow:/\nAllow:/example/page.html\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let text = run(
        CRAWLER,
        &[
            "robots",
            "--user-agent",
            "FooBot/2.1",
            "--file",
            file,
            "/example/page.html",
            "http://a.test/other",
        ],
    )
    .success()
    .stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("allowed")
            && lines[0].contains("Allow: /example/page.html (line 7, group foobot)"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("disallowed")
            && lines[1].contains("Disallow: / (line 6, group foobot)"),
        "{text}"
    );

    let json = run(
        CRAWLER,
        &[
            "robots",
            "--user-agent",
            "other",
            "--file",
            file,
            "--json",
            "/publications/x",
            "/elsewhere",
        ],
    )
    .success()
    .json_lines();
    assert_eq!(
        json[0],
        serde_json::json!({"url": "/publications/x", "allowed": true, "rule": "Allow: /publications/", "line": 3, "group": "*"})
    );
    assert_eq!(
        json[1],
        serde_json::json!({"url": "/elsewhere", "allowed": true, "rule": null, "line": null, "group": "*"})
    );

    let scenario = web();
    let server = scenario.server();
    let out = run(
        CRAWLER,
        &[
            "robots",
            "--user-agent",
            "crawler/1.0",
            "--url",
            &server.url("robots-redirect.test", "/robots.txt"),
            "--resolve",
            &server.resolve_arg(),
            "/blocked",
            "/ok",
        ],
    )
    .success()
    .stdout();
    assert!(
        out.lines().next().unwrap().starts_with("disallowed"),
        "{out}"
    );
    assert!(out.lines().nth(1).unwrap().starts_with("allowed"), "{out}");

    let bad = run(
        CRAWLER,
        &["robots", "--user-agent", "x", "--file", file, "ftp://nope/"],
    );
    assert_eq!(bad.code(), Some(2), "{}", bad.stderr());
    let missing = run(
        CRAWLER,
        &[
            "robots",
            "--user-agent",
            "x",
            "--file",
            "/nonexistent/robots.txt",
            "/",
        ],
    );
    assert_eq!(missing.code(), Some(2), "{}", missing.stderr());
}

/// Three ways real robots.txt files are written, read as Google's parser reads them.
#[test]
fn the_robots_command_reads_real_files_as_googles_parser_does() {
    let ws = Workspace::new();
    let file = ws.path("robots.txt");
    std::fs::write(
        &file,
        "User-agent: bingbot\nCrawl-delay: 2\n\nUser-agent: *\nDisallow: /private/\nDisallow: /a?\n\nUser-agent: *SomeBot*\nDisallow: /\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let judge = |agent: &str, path: &str| {
        let json = run(
            CRAWLER,
            &[
                "robots",
                "--user-agent",
                agent,
                "--file",
                file,
                "--json",
                path,
            ],
        )
        .success()
        .json();
        (
            json["allowed"].clone(),
            json["rule"].clone(),
            json["group"].clone(),
        )
    };
    // The delay does not end bingbot's group: the `*` line joins it.
    assert_eq!(
        judge("bingbot", "/private/x"),
        (false.into(), "Disallow: /private/".into(), "bingbot".into())
    );
    // `*SomeBot*` is not the catch-all: its `Disallow: /` shuts nobody out.
    assert_eq!(
        judge("somebot", "/public"),
        (true.into(), serde_json::Value::Null, "*".into())
    );
    // The URL as given: `/a?` keeps its empty query.
    assert_eq!(
        judge("otherbot", "/a?"),
        (false.into(), "Disallow: /a?".into(), "*".into())
    );
    assert_eq!(judge("otherbot", "/a").0, true);
}
