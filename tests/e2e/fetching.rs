//! Fetching under adverse conditions: timeouts, body limits, redirects.

use crawler_tests::{Scenario, WebConfig};

#[test]
fn the_timeout_holds_against_a_server_that_trickles_forever() {
    let scenario = Scenario::web(WebConfig::default());
    let trickle = scenario.server().url("h0.test", "/_fixture/trickle");
    let silent = scenario.server().url("h1.test", "/_fixture/silent");
    let crawled = scenario
        .seeds([trickle.clone(), silent.clone()])
        .flags(&["--timeout", "1"])
        .crawl();
    // The crawl ended at all (the trickle never does; `crawl` fails a run that
    // does not end).
    assert_eq!(crawled.record(&trickle)["error"], "timeout");
    assert_eq!(crawled.record(&silent)["error"], "timeout");
}

#[test]
fn the_body_limit_counts_decompressed_bytes() {
    let scenario = Scenario::web(WebConfig::default());
    let big = scenario.server().url("h0.test", "/_fixture/big/300000");
    let bomb = scenario
        .server()
        .url("h1.test", "/_fixture/gzip-big/50000000");
    let fits = scenario.server().url("h2.test", "/_fixture/big/1000");
    let crawled = scenario
        .seeds([big.clone(), bomb.clone(), fits.clone()])
        .flags(&["--max-body", "100K"])
        .crawl();
    assert_eq!(crawled.record(&big)["error"], "body-too-large");
    let bomb_record = crawled.record(&bomb);
    assert_eq!(bomb_record["error"], "body-too-large");
    assert!(bomb_record["bytes"].as_u64().unwrap() <= 100 * 1024 + 1);
    let fits_record = crawled.record(&fits);
    assert_eq!(fits_record["status"], 200);
    assert_eq!(fits_record["bytes"], 1000);
    assert_eq!(fits_record["error"], serde_json::Value::Null);
}

#[test]
fn redirects_are_followed_as_links_up_to_the_hop_limit() {
    let scenario = Scenario::web(WebConfig::default());
    let short = scenario.server().url("h0.test", "/_fixture/redirect/3");
    let long = scenario.server().url("h1.test", "/_fixture/redirect/12");
    let crawled = scenario
        .seeds([short.clone(), long])
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let server = crawled.server();

    let first = crawled.record(&short);
    assert_eq!(first["status"], 301);
    assert_eq!(first["location"], "/_fixture/redirect/2");
    assert_eq!(
        first["links"],
        serde_json::json!([server.url("h0.test", "/_fixture/redirect/2")])
    );
    let end = crawled.record(&server.url("h0.test", "/_fixture/redirect/0"));
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
    let refused = crawled.record(&server.url("h1.test", "/_fixture/redirect/1"));
    assert_eq!(refused["error"], "too-many-redirects");
}

#[test]
fn a_crawl_in_which_no_server_answers_exits_4_and_says_why() {
    let dead = format!("http://127.0.0.1:{}/", crawler_tests::closed_port());
    let crawled = Scenario::web(WebConfig::default())
        .seeds([dead.clone()])
        .flags(&["--retry-backoff", "0.05"])
        .text()
        .attempt();
    let run = crawled.run();
    assert_eq!(run.code(), Some(4), "{}", run.stderr());
    assert!(
        run.stderr().contains("no server answered")
            && run.stderr().contains("robots-unavailable 1"),
        "{}",
        run.stderr()
    );
    // What failed is stored, as with any error.
    assert_eq!(crawled.record(&dead)["error"], "robots-unavailable");

    // One answer, even a 404, is a crawl that reached something: exit 0.
    let missing = crawled.server().url("h0.test", "/_fixture/status/404");
    crawled.then().seeds([dead, missing]).crawl();
}

#[test]
fn connection_refused_is_recorded_and_the_crawl_goes_on() {
    // (No test of unresolvable names here: the system resolver might send a query
    // off this machine. Name overrides are tested with --resolve throughout.)
    let scenario = Scenario::web(WebConfig::default());
    // A port nothing listens on: bind one, then drop it.
    let closed_port = crawler_tests::closed_port();
    let refused = format!("http://127.0.0.1:{closed_port}/");
    let fine = scenario.server().url("h0.test", "/_fixture/status/200");
    let crawled = scenario
        .seeds([refused.clone(), fine.clone()])
        // Without robots.txt, the page itself is tried (with robots.txt the host's
        // robots.txt fails first: see politeness::a_dead_host_does_not_slow_the_others).
        .flags(&["--ignore-robots", "--retry-backoff", "0.1"])
        .crawl();
    let failed = crawled.record(&refused);
    assert_eq!(failed["error"], "connect");
    assert_eq!(failed["attempts"], 3, "the first try and two retries");
    assert_eq!(crawled.record(&fine)["status"], 200);
}
