//! `crawl --listen`: the live status of a running crawl, scraped over HTTP while the
//! fixture server's gate holds the crawl still, checked against the figures the crawl
//! ends with; and its pause, resume and stop.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crawler_core::LiveStatus;
use crawler_fixtures::latency::BUSY_503;
use crawler_tests::{
    closed_port, http_exchange, run, wait_until, wait_until_holding, FixtureServer, WebConfig,
    Workspace,
};

use crate::CRAWLER;

/// One request, one answer (the endpoint closes the connection): status and body.
fn request(address: &str, method: &str, path: &str) -> (u16, String) {
    let (status, body) = http_exchange(address, method, path).unwrap();
    (status, String::from_utf8(body).unwrap())
}

fn status(address: &str) -> LiveStatus {
    let (code, body) = request(address, "GET", "/status.json");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The scraped families, read by an independent parser of the text format.
fn metrics(address: &str) -> prometheus_parse::Scrape {
    let (code, body) = request(address, "GET", "/metrics");
    assert_eq!(code, 200, "{body}");
    let lines = body.lines().map(|line| Ok(line.to_owned()));
    prometheus_parse::Scrape::parse(lines).unwrap()
}

/// The value of the series `name` whose labels include `labels`.
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no series {name} {labels:?}"));
    match &sample.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => *v,
        prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
        other => panic!("{name}: unexpected {other:?}"),
    }
}

/// Starts `crawl --listen 127.0.0.1:0` on `seeds` with two workers, no rate and short
/// backoffs, and `flags`; returns it with the address it advertised in the store's
/// holder file.
fn crawl_listening(
    server: &FixtureServer,
    store: &Path,
    seeds: &[String],
    flags: &[&str],
) -> (Child, String) {
    let child = Command::new(CRAWLER)
        .args([
            "crawl",
            "--store",
            store.to_str().unwrap(),
            "--no-progress",
            "--json",
        ])
        .args([
            "--workers",
            "2",
            "--per-host-rate",
            "0",
            "--retry-backoff",
            "0.05",
        ])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--resolve",
            &server.resolve_arg(),
        ])
        .args(flags)
        .args(seeds)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut address = None;
    wait_until("the crawl to advertise its --listen address", || {
        address = crawler_storage::advertised(store, "listen");
        address.is_some()
    });
    (child, address.unwrap())
}

/// A small synthetic web; the tests seed the latency hosts every server also serves.
fn small_web() -> FixtureServer {
    FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 2,
        ..WebConfig::default()
    })
    .unwrap()
}

#[test]
fn metrics_scraped_during_a_crawl_agree_with_its_summary_and_stats() {
    let server = small_web();
    let ws = Workspace::new();
    let store = ws.store();
    server.hold_after(12);
    let seeds = [
        server.url("busy.latency.test", "/"),
        server.url("steady.latency.test", "/"),
    ];
    let (child, address) = crawl_listening(&server, &store, &seeds, &[]);
    wait_until_holding(&server);

    let held = metrics(&address);
    assert!(
        value(&held, "crawler_fetches_in_flight", &[]) >= 1.0,
        "a request is held"
    );
    let fetched_while_held = value(&held, "crawler_pages_fetched_total", &[]);
    let live = status(&address);
    assert_eq!(live.workers.len(), 2);
    assert!(
        live.workers.iter().any(|w| w
            .url
            .as_deref()
            .is_some_and(|u| u.contains(".latency.test"))),
        "a worker is on a held request: {:?}",
        live.workers
    );

    // Paused, nothing more is dispatched; once in flight is 0 the figures hold still.
    let (code, body) = request(&address, "POST", "/pause");
    assert_eq!(
        (code, body.contains("\"paused\":true")),
        (200, true),
        "{body}"
    );
    server.release();
    wait_until("the paused crawl to have nothing in flight", || {
        let live = status(&address);
        live.counters.paused && live.counters.in_flight == 0
    });
    let paused = metrics(&address);
    let fetched = value(&paused, "crawler_pages_fetched_total", &[]);
    assert!(fetched >= fetched_while_held);
    assert_eq!(value(&paused, "crawler_paused", &[]), 1.0);

    let (code, _) = request(&address, "POST", "/stop");
    assert_eq!(code, 200);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(
        summary["pages_fetched"].as_f64(),
        Some(fetched),
        "nothing fetched after the pause"
    );
    for (class, count) in summary["by_status_class"].as_object().unwrap() {
        let scraped = value(&paused, "crawler_responses_total", &[("class", class)]);
        assert_eq!(Some(scraped), count.as_f64(), "{class}");
    }
    let errors = summary["errors"].as_object().unwrap();
    for (kind, count) in errors {
        assert_eq!(
            Some(value(&paused, "crawler_errors_total", &[("kind", kind)])),
            count.as_f64(),
            "{kind}"
        );
    }
    assert_eq!(
        value(&paused, "crawler_errors_total", &[("kind", "dns")]),
        0.0,
        "a kind never met is 0"
    );
    for (counter, field) in [
        ("crawler_retries_total", "retries"),
        ("crawler_robots_fetched_total", "robots_fetched"),
        ("crawler_robots_failed_total", "robots_failed"),
    ] {
        assert_eq!(
            Some(value(&paused, counter, &[])),
            summary[field].as_f64(),
            "{field}"
        );
    }
    // Every attempt is timed: the final ones and any retried.
    let attempts = fetched + summary["retries"].as_f64().unwrap();
    assert_eq!(
        value(&paused, "crawler_fetch_duration_seconds", &[]),
        attempts
    );
    assert!(value(&paused, "crawler_store_write_duration_seconds", &[]) >= 1.0);

    let stats = run(
        CRAWLER,
        &["stats", "--store", store.to_str().unwrap(), "--json"],
    )
    .success()
    .json();
    assert_eq!(stats["urls"].as_f64(), Some(fetched), "{stats}");
    assert_eq!(
        crawler_storage::advertised(&store, "listen"),
        None,
        "the holder file went with the crawl"
    );
}

#[test]
fn the_live_status_names_the_failing_host_and_the_parked_one() {
    let server = small_web();
    let ws = Workspace::new();
    let store = ws.store();
    // busy.latency.test answers its 6th to 8th page requests 503: with its robots.txt,
    // those are all among the first 9 requests the server sees.
    server.hold_after(*BUSY_503.end() as usize + 4);
    let dead = format!("http://127.0.0.1:{}/", closed_port());
    let seeds = [server.url("busy.latency.test", "/"), dead.clone()];
    let (child, address) = crawl_listening(&server, &store, &seeds, &["--retries", "1"]);
    wait_until_holding(&server);

    let mut live = LiveStatus::default();
    wait_until(
        "the live status to name the failing and the parked host",
        || {
            live = status(&address);
            !live.hosts_by_errors.is_empty() && !live.parked.is_empty()
        },
    );
    let failing = &live.hosts_by_errors[0];
    assert!(failing.host.contains("busy.latency.test"), "{live:#?}");
    assert!(failing.errors >= 3, "three 503s: {failing:?}");
    let parked = &live.parked[0];
    assert_eq!(parked.kind, "robots-unavailable", "{parked:?}");
    assert!(dead.starts_with(&parked.host), "{parked:?} is {dead}");
    assert!(!parked.why.is_empty());
    assert_eq!(live.counters.hosts_parked, 1);
    assert!(live
        .hosts_by_queue
        .iter()
        .any(|h| h.host.contains("busy.latency.test") && h.queued > 0));

    // Pause and stop are taken only as POSTs; a GET is told which method to use.
    assert_eq!(request(&address, "GET", "/stop").0, 405);
    assert_eq!(request(&address, "GET", "/nothing").0, 404);
    server.release();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("live status on http://{address}/")),
        "{stderr}"
    );
}

#[test]
fn a_taken_listen_port_stops_the_crawl_before_it_starts() {
    let server = small_web();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let ws = Workspace::new();
    let store = ws.store();
    let mut args = vec![
        "crawl",
        "--store",
        store.to_str().unwrap(),
        "--listen",
        &address,
    ];
    let resolve = server.resolve_arg();
    args.extend(["--resolve", &resolve]);
    let seeds = server.seeds();
    args.extend(seeds.iter().map(String::as_str));
    let out = run(CRAWLER, &args);
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    assert!(
        out.stderr().contains(&format!("--listen {address}")),
        "{}",
        out.stderr()
    );
    assert!(server.log().is_empty(), "nothing was fetched");
    let bad = run(
        CRAWLER,
        &[
            "crawl",
            "--store",
            store.to_str().unwrap(),
            "--listen",
            "example.org:80",
            &server.url("h0.test", "/"),
        ],
    );
    assert_eq!(bad.code(), Some(2));
    assert!(bad.stderr().contains("--listen"), "{}", bad.stderr());
}
