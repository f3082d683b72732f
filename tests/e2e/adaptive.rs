//! Politeness that adapts (`--per-host-rate auto`): a host's spacing follows how fast
//! it answers, grows on 503, keeps its robots.txt `Crawl-delay` as a floor, and a
//! resumed crawl starts from the delays the store kept. Judged from the arrival times
//! in the fixture server's log: orderings and ratios, and lower bounds the crawler
//! guarantees, never an upper bound on time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crawler_fixtures::latency::{BUSY_503, PHASE_FAST_FIRST, PHASE_SLOW, SLOW, SLOW_FIRST};
use crawler_tests::{wait_until, RequestRecord, Scenario, WebConfig};

use crate::CRAWLER;

/// A small synthetic web beside the latency hosts these tests seed.
fn web() -> Scenario {
    Scenario::web(WebConfig {
        hosts: 1,
        pages: 2,
        ..WebConfig::default()
    })
}

/// Auto delay, a short minimum (the fast phases are then quick) and this factor.
fn auto(factor: &'static str) -> Vec<&'static str> {
    vec![
        "--per-host-rate",
        "auto",
        "--delay-factor",
        factor,
        "--min-delay",
        "10ms",
        "--workers",
        "4",
    ]
}

/// Arrival times of `host`'s page requests (robots.txt left out), in order: the
/// `n`-th is the host's `n`-th page request, which decided its pace.
fn arrivals(log: &[RequestRecord], host: &str) -> Vec<Instant> {
    let mut starts: Vec<Instant> = log
        .iter()
        .filter(|r| r.host == host && r.path != "/robots.txt")
        .map(|r| r.start)
        .collect();
    starts.sort();
    starts
}

/// `gaps[i]`: from the `i+1`-th page request's arrival to the next one's.
fn gaps(arrivals: &[Instant]) -> Vec<Duration> {
    arrivals.windows(2).map(|w| w[1] - w[0]).collect()
}

fn median(gaps: &[Duration]) -> Duration {
    let mut sorted = gaps.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

#[test]
fn the_spacing_follows_a_host_that_turns_slow_then_fast_and_a_slow_host_slows_no_other() {
    let crawled = web()
        .seed_urls(&[("phases.latency.test", "/"), ("steady.latency.test", "/")])
        .flags(&auto("3"))
        .crawl();
    let log = crawled.server().log();
    let phases = arrivals(&log, "phases.latency.test");
    assert_eq!(phases.len(), 25, "/ and its 24 pages");
    let gaps = gaps(&phases);
    let fast = PHASE_FAST_FIRST as usize;
    let slow_end = fast + PHASE_SLOW as usize;
    // Requests 1..=8 are fast, 9..=14 slow: gaps[i] follows request i + 1.
    let before = median(&gaps[1..fast - 1]);
    let slow = &gaps[fast..slow_end - 1];
    let after = median(&gaps[gaps.len() - 4..]);
    for gap in slow {
        // Each slow answer took SLOW; the next request waits three times that.
        assert!(
            *gap >= SLOW * 4,
            "a slow answer's gap: {gap:?} (all: {gaps:?})"
        );
    }
    let slow = median(slow);
    assert!(
        slow > before * 4 && slow > after * 4,
        "gaps grow when the host turns slow and shrink when it turns fast: {gaps:?}"
    );
    let steady = arrivals(&log, "steady.latency.test");
    assert_eq!(steady.len(), 25);
    let steady_gap = median(&self::gaps(&steady));
    assert!(
        steady_gap * 4 < slow,
        "the steady host keeps its own pace ({steady_gap:?}) while the other is slow ({slow:?})"
    );
}

#[test]
fn service_unavailable_answers_grow_the_delay_which_then_relaxes() {
    let crawled = web()
        .seed_urls(&[("busy.latency.test", "/")])
        .flags(&auto("2"))
        .flags(&["--retries", "0", "--retry-backoff", "0"])
        .crawl();
    let log = crawled.server().log();
    let arrivals = arrivals(&log, "busy.latency.test");
    assert_eq!(arrivals.len(), 25);
    let gaps = gaps(&arrivals);
    let first_503 = *BUSY_503.start() as usize;
    let last_503 = *BUSY_503.end() as usize;
    let before = median(&gaps[..first_503 - 2]);
    // Three 503s double the delay from 100 ms thrice (no backoff pause: retry-backoff 0).
    let after_503s = gaps[last_503 - 1];
    assert!(
        after_503s >= Duration::from_millis(800),
        "after three 503s: {after_503s:?} (all: {gaps:?})"
    );
    let relaxed = median(&gaps[gaps.len() - 4..]);
    assert!(
        after_503s > before * 4 && after_503s > relaxed * 4,
        "the delay grows on 503 and relaxes once the host answers again: {gaps:?}"
    );
    assert_eq!(crawled.summary()["by_status_class"]["5xx"], 3);
}

#[test]
fn a_crawl_delay_stays_a_floor_and_the_summary_and_stats_show_the_slowest_hosts() {
    let crawled = web()
        .seed_urls(&[("robots-delay.test", "/"), ("steady.latency.test", "/")])
        .flags(&auto("1"))
        .crawl();
    let log = crawled.server().log();
    let delayed = arrivals(&log, "robots-delay.test");
    assert_eq!(delayed.len(), 4, "/ and /1, /2, /3");
    for gap in gaps(&delayed) {
        assert!(gap >= Duration::from_secs(1), "Crawl-delay 1: {gap:?}");
    }
    let summary = crawled.summary();
    assert_eq!(summary["hosts_slowed"], 1, "{summary}");
    let slowest = &summary["slowest_hosts"][0];
    assert!(
        slowest["host"]
            .as_str()
            .is_some_and(|host| host.starts_with("http://robots-delay.test:")),
        "{summary}"
    );
    assert_eq!(slowest["delay_secs"], 1.0);
    let stats = crawled.stats();
    assert_eq!(stats["hosts_slowed"], 1, "{stats}");
    assert_eq!(stats["slowest_hosts"][0], *slowest);
    let text = crawled.query("stats", &[]).stdout();
    assert!(
        text.contains("slowed hosts: 1") && text.contains("1.000 s  http://robots-delay.test:"),
        "{text}"
    );
}

/// The delay `politeness.state` in `store` holds for `host`, if it names it.
fn stored_delay(store: &str, host: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("{store}/politeness.state")).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split('\t');
        let key = fields.next()?;
        let nanos: u64 = fields.next()?.parse().ok()?;
        key.starts_with(&format!("http://{host}:"))
            .then(|| Duration::from_nanos(nanos))
    })
}

#[test]
fn a_crawl_killed_and_resumed_starts_a_host_from_its_stored_delay() {
    let host = "slow-first.latency.test";
    let scenario = web().seed_urls(&[(host, "/")]).flags(&auto("4"));
    let store = scenario.args()[2].clone();
    let mut child = Command::new(CRAWLER)
        .args(scenario.args())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start crawler");
    // Saved while the host is slow: each answer took SLOW, so the delay is 4 x SLOW.
    wait_until("the host's delay saved in the store", || {
        stored_delay(&store, host).is_some()
    });
    child.kill().expect("SIGKILL");
    child.wait().expect("the killed crawl is reaped");
    let stored = stored_delay(&store, host).expect("a saved delay");
    assert!(stored >= SLOW * 4, "{stored:?}");
    let server = scenario.server();
    let fetched_before = arrivals(&server.log(), host).len();
    assert!(
        fetched_before < SLOW_FIRST as usize,
        "killed while the host was slow: {fetched_before} page requests"
    );
    // The killed crawl's last request may still be answered (and logged) after this.
    let resumed_at = Instant::now();
    // The same command again: the store's crawl resumes (its seed is already seen).
    let crawled = scenario.crawl();
    let mut log = crawled.server().log();
    log.retain(|r| r.start >= resumed_at);
    let robots = log
        .iter()
        .filter(|r| r.host == host && r.path == "/robots.txt")
        .map(|r| r.start)
        .min()
        .expect("robots.txt fetched again");
    let first_page = arrivals(&log, host)[0];
    // What spaces the resumed crawl's first page from robots.txt is the stored
    // delay, not the 10 ms a new host starts from.
    assert!(
        first_page - robots >= stored,
        "resumed at {:?} after robots.txt, stored delay {stored:?}",
        first_page - robots
    );
}

#[test]
fn bad_delay_settings_are_refused_naming_the_flag() {
    let scenario = web();
    for (flags, named) in [
        (&["--per-host-rate", "fast"][..], "--per-host-rate"),
        (
            &["--per-host-rate", "auto", "--delay-factor", "-1"],
            "delay-factor",
        ),
        (
            &["--per-host-rate", "auto", "--min-delay", "1m"],
            "min-delay",
        ),
        (&["--max-delay", "0"], "max-delay"),
        (&["--min-delay", "soon"], "--min-delay"),
    ] {
        let out = scenario.try_crawl(flags);
        let stderr = out.stderr();
        assert_eq!(out.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
