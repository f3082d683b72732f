//! Broken servers, bombs and unreachable hosts: each URL ends in a recorded error of
//! the right kind, the crawl finishes, the other hosts are crawled as usual, and the
//! crawler's memory stays bounded.

use crawler_fixtures::hostile::{BAD_HEADERS, BAD_STATUS_LINES, KEEPALIVE_PAGES};
use crawler_fixtures::TlsServer;
use crawler_tests::closed_port;

use crate::hostile_support::{
    assert_normal_hosts_unaffected, crawl_measured, error_of, requests_to, small_web,
};

/// Peak RSS allowed for a crawl through every broken server and bomb (two of 4 GiB)
/// with `--max-body 1M`. A plain crawl of the small web peaks at 70-85 MiB (debug
/// build; most of it the store and the seen-set's filter), this one at 70-140 MiB:
/// bodies are cut at 1 MiB, so gigabytes of zeros never show.
const BROKEN_SERVERS_RSS_KIB: u64 = 256 * 1024;

#[test]
fn broken_servers_end_in_recorded_errors_of_the_right_kind() {
    let scenario = small_web();
    let server = scenario.server();
    let url = |host: &str, path: &str| server.url(&format!("{host}.hostile.test"), path);
    // (URL, the error kind it must be recorded with)
    let mut expected = vec![
        (url("trickle", "/_fixture/trickle"), "timeout"),
        (url("silent", "/_fixture/silent"), "timeout"),
        (url("chunked", "/endless-chunked"), "body-too-large"),
        (url("huge", "/huge"), "body-too-large"),
        (url("gzip", "/gzip-bomb"), "body-too-large"),
        (url("brotli", "/brotli-bomb"), "body-too-large"),
        (url("resethead", "/reset-headers"), "read"),
        (url("resetbody", "/reset-body"), "read"),
        (url("short", "/short-body"), "read"),
        (url("manyheaders", "/many-headers"), "protocol"),
    ];
    for i in 0..BAD_STATUS_LINES {
        expected.push((
            url(&format!("status{i}"), &format!("/bad-status/{i}")),
            "protocol",
        ));
    }
    for i in 0..BAD_HEADERS {
        expected.push((
            url(&format!("header{i}"), &format!("/bad-header/{i}")),
            "protocol",
        ));
    }
    // Answers that are odd but valid: recorded as fetched, without an error.
    let fine = [
        url("bigheader", "/big-header"),
        url("http10", "/http10"),
        url("keepalive", "/keepalive/0"),
    ];
    let mut seeds: Vec<String> = expected.iter().map(|(u, _)| u.clone()).collect();
    seeds.extend(fine.iter().cloned());
    seeds.extend(server.seeds());

    let started = std::time::Instant::now();
    let (crawled, peak_rss_kib) = crawl_measured(scenario.seeds(seeds.clone()).flags(&[
        "--timeout",
        "2",
        "--retries",
        "0",
        "--max-body",
        "1M",
        "--per-host-rate",
        "0",
    ]));
    let elapsed = started.elapsed();
    let summary = crawled.summary();
    let server = crawled.server();
    let url = |host: &str, path: &str| server.url(&format!("{host}.hostile.test"), path);
    let mut wrong = Vec::new();
    for (url, kind) in &expected {
        let got = error_of(&crawled, url);
        if got != *kind {
            wrong.push(format!("{url}: {got:?}, expected {kind:?}"));
        }
    }
    for url in &fine {
        let stored = crawled.record(url);
        if stored["status"] != 200 || !stored["error"].is_null() {
            wrong.push(format!("{url}: {stored}"));
        }
    }
    assert!(wrong.is_empty(), "{}\n{summary}", wrong.join("\n"));

    // The HTTP/1.0 page's link was followed; the keep-alive chain was crawled to
    // its end although the server closed every connection it promised to keep.
    assert_eq!(
        crawled.record(&url("http10", "/http10/next"))["status"],
        200
    );
    let keepalive = requests_to(server, "keepalive.hostile.test");
    assert_eq!(
        keepalive
            .iter()
            .filter(|p| p.starts_with("/keepalive/"))
            .count() as u64,
        KEEPALIVE_PAGES,
        "{keepalive:?}"
    );
    // A Content-Length over the limit is refused before a byte is read.
    assert_eq!(crawled.record(&url("huge", "/huge"))["bytes"], 0);
    assert_normal_hosts_unaffected(&crawled);
    // Timeouts of 2 s bound the slowest scenarios; no retry waits.
    assert!(
        peak_rss_kib < BROKEN_SERVERS_RSS_KIB,
        "peak RSS {} KiB, bound {BROKEN_SERVERS_RSS_KIB} KiB",
        peak_rss_kib
    );
    eprintln!(
        "broken servers: {} URLs in {elapsed:?}, peak RSS {} KiB",
        seeds.len(),
        peak_rss_kib
    );
}

#[test]
fn tls_dns_and_refused_connections_are_recorded_and_the_crawl_goes_on() {
    let scenario = small_web();
    let tls = TlsServer::start().unwrap();
    let self_signed = tls.url("tls.test", "/");
    let unresolvable = "http://nowhere.invalid/".to_string();
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let mut seeds = vec![self_signed.clone(), unresolvable.clone(), refused.clone()];
    seeds.extend(scenario.server().seeds());
    let resolve = tls.resolve_arg("tls.test");
    // Without robots.txt the pages themselves are fetched (robots.txt would fail the
    // same way first; see the test below).
    let (crawled, _) = crawl_measured(scenario.seeds(seeds).flags(&[
        "--resolve",
        &resolve,
        "--ignore-robots",
        "--retries",
        "0",
    ]));
    let tls_record = crawled.record(&self_signed);
    assert_eq!(tls_record["error"], "tls", "{tls_record}");
    assert!(tls.connections() >= 1, "the handshake was attempted");
    let dns = crawled.record(&unresolvable);
    assert_eq!(dns["error"], "dns", "{dns}");
    assert!(dns["error_message"]
        .as_str()
        .unwrap_or_default()
        .contains("RFC 6761"));
    assert_eq!(error_of(&crawled, &refused), "connect");
    assert_normal_hosts_unaffected(&crawled);
}

#[test]
fn a_host_whose_robots_txt_fails_the_tls_handshake_is_recorded_with_why() {
    let scenario = small_web();
    let tls = TlsServer::start().unwrap();
    let page = tls.url("tls.test", "/page");
    let resolve = tls.resolve_arg("tls.test");
    let mut seeds = vec![page.clone()];
    seeds.extend(scenario.server().seeds());
    let (crawled, _) =
        crawl_measured(
            scenario
                .seeds(seeds)
                .flags(&["--resolve", &resolve, "--retries", "0"]),
        );
    let stored = crawled.record(&page);
    assert_eq!(stored["error"], "robots-unavailable", "{stored}");
    assert!(
        stored["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("tls"),
        "{stored}"
    );
    assert_normal_hosts_unaffected(&crawled);
}
