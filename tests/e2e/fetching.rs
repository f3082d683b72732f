//! Fetching under adverse conditions: timeouts, body limits, redirects.

use crawler_tests::{crawl, FixtureServer, WebConfig, Workspace};

use crate::CRAWLER;

fn record(store: &std::path::Path, url: &str) -> serde_json::Value {
    crawler_tests::stored(CRAWLER, store, url)
}

#[test]
fn the_timeout_holds_against_a_server_that_trickles_forever() {
    let server = FixtureServer::start(WebConfig::default()).unwrap();
    let ws = Workspace::new();
    let trickle = server.url("h0.test", "/_fixture/trickle");
    let silent = server.url("h1.test", "/_fixture/silent");
    crawl(
        CRAWLER,
        &server,
        &ws.store(),
        &[trickle.clone(), silent.clone()],
        &["--timeout", "1"],
    )
    .success();
    // The crawl ended at all (the trickle never does; `crawl` fails a run that
    // does not end).
    assert_eq!(record(&ws.store(), &trickle)["error"], "timeout");
    assert_eq!(record(&ws.store(), &silent)["error"], "timeout");
}

#[test]
fn the_body_limit_counts_decompressed_bytes() {
    let server = FixtureServer::start(WebConfig::default()).unwrap();
    let ws = Workspace::new();
    let big = server.url("h0.test", "/_fixture/big/300000");
    let bomb = server.url("h1.test", "/_fixture/gzip-big/50000000");
    let fits = server.url("h2.test", "/_fixture/big/1000");
    crawl(
        CRAWLER,
        &server,
        &ws.store(),
        &[big.clone(), bomb.clone(), fits.clone()],
        &["--max-body", "100K"],
    )
    .success();
    assert_eq!(record(&ws.store(), &big)["error"], "body-too-large");
    let bomb_record = record(&ws.store(), &bomb);
    assert_eq!(bomb_record["error"], "body-too-large");
    assert!(bomb_record["bytes"].as_u64().unwrap() <= 100 * 1024 + 1);
    let fits_record = record(&ws.store(), &fits);
    assert_eq!(fits_record["status"], 200);
    assert_eq!(fits_record["bytes"], 1000);
    assert_eq!(fits_record["error"], serde_json::Value::Null);
}

#[test]
fn redirects_are_followed_as_links_up_to_the_hop_limit() {
    let server = FixtureServer::start(WebConfig::default()).unwrap();
    let ws = Workspace::new();
    let short = server.url("h0.test", "/_fixture/redirect/3");
    let long = server.url("h1.test", "/_fixture/redirect/12");
    crawl(
        CRAWLER,
        &server,
        &ws.store(),
        &[short.clone(), long.clone()],
        &["--per-host-rate", "0"],
    )
    .success();

    let first = record(&ws.store(), &short);
    assert_eq!(first["status"], 301);
    assert_eq!(first["location"], "/_fixture/redirect/2");
    assert_eq!(
        first["links"],
        serde_json::json!([server.url("h0.test", "/_fixture/redirect/2")])
    );
    let end = record(&ws.store(), &server.url("h0.test", "/_fixture/redirect/0"));
    assert_eq!(end["status"], 200);
    assert_eq!(
        end["depth"], 0,
        "a redirect target keeps its source's depth"
    );

    // 12 -> 11 -> ... : the 11th hop is past the limit of 10 and is not fetched.
    let h1: Vec<String> = server
        .log()
        .into_iter()
        .filter(|r| r.host == "h1.test" && r.path != "/robots.txt")
        .map(|r| r.path)
        .collect();
    assert_eq!(h1.len(), 11, "{h1:?}");
    let refused = record(&ws.store(), &server.url("h1.test", "/_fixture/redirect/1"));
    assert_eq!(refused["error"], "too-many-redirects");
}

#[test]
fn connection_refused_is_recorded_and_the_crawl_goes_on() {
    // (No test of unresolvable names here: the system resolver might send a query
    // off this machine. Name overrides are tested with --resolve throughout.)
    let server = FixtureServer::start(WebConfig::default()).unwrap();
    let ws = Workspace::new();
    // A port nothing listens on: bind one, then drop it.
    let closed_port = crawler_tests::closed_port();
    let refused = format!("http://127.0.0.1:{closed_port}/");
    let fine = server.url("h0.test", "/_fixture/status/200");
    crawl(
        CRAWLER,
        &server,
        &ws.store(),
        &[refused.clone(), fine.clone()],
        // Without robots.txt, the page itself is tried (with robots.txt the host's
        // robots.txt fails first: see politeness::a_dead_host_does_not_slow_the_others).
        &["--ignore-robots", "--retry-backoff", "0.1"],
    )
    .success();
    let failed = record(&ws.store(), &refused);
    assert_eq!(failed["error"], "connect");
    assert_eq!(failed["attempts"], 3, "the first try and two retries");
    assert_eq!(record(&ws.store(), &fine)["status"], 200);
}
