//! The frontier's unit tests: plain data, no threads (the store behind a fake
//! [`QueueSpill`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawler_storage::StoreError;

use super::spill::MAX_BUFFER;
use super::*;
use crate::url::CanonicalUrl;

fn queued(url: &str, depth: u32) -> Queued {
    Queued::page(CanonicalUrl::parse(url).unwrap(), depth, None, 0)
}

fn unlimited(concurrency: usize) -> Frontier {
    Frontier::new(Politeness {
        concurrency,
        rate: 0.0,
        obey_robots: false,
        ..Politeness::default()
    })
}

/// A fetch whose response began `at` and took no time.
fn answered(at: Instant) -> Option<Answered> {
    Some(Answered {
        at,
        took: Duration::ZERO,
    })
}

fn take(frontier: &mut Frontier) -> Option<Job> {
    match frontier.next(Instant::now()) {
        Next::Job(job) => Some(job),
        _ => None,
    }
}

/// A stand-in for the store's frontier: what the workers wrote, by (depth, URL).
#[derive(Clone, Default)]
struct FakeStore(std::sync::Arc<std::sync::Mutex<BTreeMap<(u32, String), Queued>>>);

impl QueueSpill for FakeStore {
    fn load(&self, _host: &str, limit: usize) -> Result<Vec<Queued>, StoreError> {
        let stored = self.0.lock().unwrap();
        Ok(stored.values().take(limit).cloned().collect())
    }

    fn count(&self, _host: &str) -> Result<u64, StoreError> {
        Ok(self.0.lock().unwrap().len() as u64)
    }
}

#[test]
fn a_spilled_host_is_refilled_from_the_store_and_hands_out_each_url_once() {
    let store = FakeStore::default();
    let mut frontier = Frontier::new(Politeness {
        concurrency: 2,
        rate: 0.0,
        obey_robots: false,
        ..Politeness::default()
    })
    .with_spill(Box::new(store.clone()));
    let total = 1000;
    let mut handed_out = std::collections::BTreeMap::new();
    let mut next_url = 0;
    let mut in_flight: Vec<Job> = Vec::new();
    // Discover URLs in bursts while fetching, as workers do: each discovery is
    // written to the store first, then reported; each fetch removes its entry.
    while handed_out.len() < total {
        for _ in 0..7 {
            if next_url < total {
                let url = format!("http://a.test/{next_url}");
                let entry = queued(&url, (next_url % 3) as u32);
                store
                    .0
                    .lock()
                    .unwrap()
                    .insert((entry.depth, url), entry.clone());
                frontier.push(entry);
                next_url += 1;
            }
        }
        while let Some(job) = take(&mut frontier) {
            *handed_out.entry(job.url.as_str().to_owned()).or_insert(0) += 1;
            in_flight.push(job);
        }
        for job in in_flight.drain(..) {
            store
                .0
                .lock()
                .unwrap()
                .remove(&(job.depth, job.url.as_str().to_owned()));
            frontier.complete(job.host, None, Health::Fine);
        }
        assert!(
            frontier.hosts[0].len() <= 2 * MAX_BUFFER,
            "memory holds at most two buffers (one, and what goes before it)"
        );
    }
    assert!(
        frontier.hosts[0].spilled,
        "1,000 URLs must outgrow one host's buffer"
    );
    assert_eq!(handed_out.len(), total);
    assert!(
        handed_out.values().all(|n| *n == 1),
        "a URL was handed out twice"
    );
    assert!(store.0.lock().unwrap().is_empty());
    assert!(frontier.take_spill_error().is_none());
}

/// (host key, depth, URL): where a fake store keeps a queue entry.
type EntryKey = (String, u32, String);

/// A store of many hosts' queues: what the workers wrote, by [`EntryKey`].
#[derive(Clone, Default)]
struct FakeHosts(Arc<std::sync::Mutex<BTreeMap<EntryKey, Queued>>>);

impl QueueSpill for FakeHosts {
    fn load(&self, host: &str, limit: usize) -> Result<Vec<Queued>, StoreError> {
        let stored = self.0.lock().unwrap();
        let of_host = stored.iter().filter(|((key, _, _), _)| key == host);
        Ok(of_host.take(limit).map(|(_, q)| q.clone()).collect())
    }

    fn count(&self, host: &str) -> Result<u64, StoreError> {
        let stored = self.0.lock().unwrap();
        Ok(stored.keys().filter(|(key, _, _)| key == host).count() as u64)
    }
}

#[test]
fn hosts_beyond_the_memory_budget_wait_in_the_store_and_each_url_goes_once() {
    let store = FakeHosts::default();
    let mut frontier = unlimited(1).with_spill(Box::new(store.clone()));
    frontier.memory_budget = 100;
    for i in 0..1000 {
        let entry = queued(&format!("http://h{i}.test/"), 0);
        let key = (
            entry.url.host_key().to_string(),
            0,
            entry.url.as_str().to_owned(),
        );
        store.0.lock().unwrap().insert(key, entry.clone());
        frontier.push(entry);
        assert!(frontier.in_memory <= 100, "memory holds at most the budget");
    }
    assert_eq!(frontier.queued(), 1000);
    assert!(frontier.hosts.iter().filter(|h| h.spilled).count() >= 900);
    let mut handed_out = BTreeMap::new();
    while let Some(job) = take(&mut frontier) {
        *handed_out.entry(job.url.as_str().to_owned()).or_insert(0) += 1;
        let key = (
            job.url.host_key().to_string(),
            0,
            job.url.as_str().to_owned(),
        );
        store.0.lock().unwrap().remove(&key);
        frontier.complete(job.host, None, Health::Fine);
    }
    assert_eq!(handed_out.len(), 1000);
    assert!(handed_out.values().all(|n| *n == 1), "a URL went twice");
    assert_eq!(frontier.queued(), 0);
    assert_eq!(frontier.in_memory, 0);
    assert!(frontier.hosts.iter().all(|host| host.is_empty()));
}

#[test]
fn a_resumed_host_counts_what_its_store_holds_beyond_the_buffer_as_queued() {
    let store = FakeStore::default();
    for i in 0..1000 {
        let entry = queued(&format!("http://a.test/{i}"), 1);
        store
            .0
            .lock()
            .unwrap()
            .insert((1, entry.url.as_str().to_owned()), entry);
    }
    let mut frontier = unlimited(1).with_spill(Box::new(store));
    frontier.resume_host("a.test:80");
    assert!(frontier.hosts[0].len() <= MAX_BUFFER);
    assert_eq!(frontier.queued(), 1000);
}

#[test]
fn one_request_per_host_at_a_time_by_default() {
    let mut frontier = unlimited(1);
    frontier.push(queued("http://a.test/1", 0));
    frontier.push(queued("http://a.test/2", 0));
    let first = take(&mut frontier).unwrap();
    assert_eq!(
        take(&mut frontier),
        None,
        "second request while the first is in flight"
    );
    frontier.complete(first.host, None, Health::Fine);
    assert_eq!(take(&mut frontier).unwrap().url.as_str(), "http://a.test/2");
    assert_eq!(frontier.next(Instant::now()), Next::Idle);
}

#[test]
fn a_busy_host_does_not_block_the_others() {
    let mut frontier = unlimited(1);
    for i in 0..3 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
    }
    frontier.push(queued("http://b.test/", 0));
    frontier.push(queued("http://c.test/", 0));
    let hosts: Vec<String> = std::iter::from_fn(|| take(&mut frontier))
        .map(|job| job.url.host().to_owned())
        .collect();
    assert_eq!(hosts, ["a.test", "b.test", "c.test"]);
}

/// Completes each job as soon as it is handed out; returns the hosts in order.
fn drain_in_order(frontier: &mut Frontier) -> Vec<String> {
    let mut hosts = Vec::new();
    while let Some(job) = take(frontier) {
        hosts.push(job.url.host().to_owned());
        frontier.complete(job.host, None, Health::Fine);
    }
    hosts
}

#[test]
fn a_started_host_goes_on_before_hosts_waiting_for_their_turn() {
    let mut frontier = unlimited(1);
    for host in ["a", "b"] {
        for i in 0..3 {
            frontier.push(queued(&format!("http://{host}.test/{i}"), 0));
        }
    }
    assert_eq!(
        drain_in_order(&mut frontier),
        ["a.test", "a.test", "a.test", "b.test", "b.test", "b.test"]
    );
}

#[test]
fn a_spent_turn_lets_the_waiting_hosts_go() {
    let mut frontier = unlimited(1);
    let turn = usize::from(super::ready::TURN);
    for i in 0..turn + 1 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
    }
    frontier.push(queued("http://b.test/", 0));
    let hosts = drain_in_order(&mut frontier);
    assert_eq!(hosts[turn - 1..], ["a.test", "b.test", "a.test"]);
}

#[test]
fn the_last_job_of_a_turn_says_so() {
    let mut frontier = unlimited(1);
    for i in 0..3 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
    }
    let mut last = Vec::new();
    while let Some(job) = take(&mut frontier) {
        last.push(job.last_of_turn);
        frontier.complete(job.host, None, Health::Fine);
    }
    assert_eq!(last, [false, false, true], "the host's last queued URL");
    let mut frontier = unlimited(1);
    frontier.push(queued("http://a.test/", 0));
    let first = take(&mut frontier).unwrap();
    assert!(!first.last_of_turn, "a turn's first page links to more");
}

#[test]
fn lower_depth_goes_first_within_a_host() {
    let mut frontier = unlimited(1);
    frontier.push(queued("http://a.test/deep", 3));
    frontier.push(queued("http://a.test/shallow", 1));
    frontier.push(queued("http://a.test/mid", 2));
    let mut order = Vec::new();
    while let Some(job) = take(&mut frontier) {
        order.push(job.url.as_url().path().to_owned());
        frontier.complete(job.host, None, Health::Fine);
    }
    assert_eq!(order, ["/shallow", "/mid", "/deep"]);
    assert!(frontier.is_exhausted());
}

#[test]
fn concurrency_above_one_is_used_and_capped() {
    let mut frontier = unlimited(2);
    for i in 0..5 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
    }
    assert!(take(&mut frontier).is_some());
    assert!(take(&mut frontier).is_some());
    assert!(take(&mut frontier).is_none());
    assert_eq!(frontier.in_flight(), 2);
    assert_eq!(frontier.queued(), 3);
}

#[test]
fn page_budget_per_host_is_exact() {
    let mut frontier = Frontier::new(Politeness {
        max_pages_per_host: Some(2),
        obey_robots: false,
        ..Politeness::default()
    });
    for i in 0..5 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
    }
    let mut dispatched = 0;
    while let Some(job) = take(&mut frontier) {
        dispatched += 1;
        frontier.complete(job.host, None, Health::Fine);
    }
    assert_eq!(dispatched, 2);
    assert!(
        frontier.is_exhausted(),
        "a spent host must not keep the crawl alive"
    );
    assert_eq!(frontier.queued(), 3);
}

#[test]
fn a_rate_limited_host_waits_while_others_go() {
    let mut frontier = Frontier::new(Politeness {
        concurrency: 4,
        rate: 1.0,
        obey_robots: false,
        ..Politeness::default()
    });
    frontier.push(queued("http://a.test/1", 0));
    frontier.push(queued("http://a.test/2", 0));
    frontier.push(queued("http://b.test/1", 0));
    let now = Instant::now();
    let first = take(&mut frontier).unwrap();
    assert_eq!(first.url.host(), "a.test");
    let second = take(&mut frontier).unwrap();
    assert_eq!(second.url.host(), "b.test", "a.test must wait for its rate");
    match frontier.next(Instant::now()) {
        Next::WaitUntil(at) => {
            let wait = at.duration_since(now);
            assert!(
                wait > Duration::from_millis(500) && wait <= Duration::from_millis(1100),
                "{wait:?}"
            );
        }
        other => panic!("expected a wait, got {other:?}"),
    }
}

fn robots_frontier(politeness: Politeness) -> Frontier {
    Frontier::new(Politeness {
        obey_robots: true,
        ..politeness
    })
}

fn rules(file: &str) -> RobotsResult {
    let agent = crate::robots::ProductToken::parse("crawler").unwrap();
    RobotsResult::Rules(Arc::new(
        crate::robots::RobotsTxt::parse(file.as_bytes()).rules_for(&agent),
    ))
}

fn robots_job(frontier: &mut Frontier, now: Instant) -> RobotsJob {
    match frontier.next(now) {
        Next::Robots(job) => job,
        other => panic!("expected a robots job, got {other:?}"),
    }
}

#[test]
fn robots_txt_goes_first_and_the_queue_waits_for_it() {
    let mut frontier = robots_frontier(Politeness::default());
    frontier.push(queued("http://a.test/1", 0));
    frontier.push(queued("http://a.test/private/2", 1));
    let now = Instant::now();
    let job = robots_job(&mut frontier, now);
    assert_eq!(job.url.as_str(), "http://a.test/robots.txt");
    assert!(job.seed_host);
    assert_eq!(frontier.next(now), Next::Idle, "pages wait for the rules");
    frontier.robots_done(job.host, None, rules("User-agent: *\nDisallow: /private\n"));
    let page = take(&mut frontier).unwrap();
    assert_eq!(page.url.as_str(), "http://a.test/1");
    frontier.complete(page.host, None, Health::Fine);
    assert_eq!(frontier.next(now), Next::Idle);
    let refused = frontier.take_refused(10).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].queued.url.as_str(), "http://a.test/private/2");
    assert_eq!(refused[0].reason.kind().as_str(), "robots-disallowed");
    assert!(refused[0]
        .reason
        .message()
        .contains("Disallow: /private (line 2, group *)"));
    assert!(frontier.is_exhausted());
}

#[test]
fn a_robots_redirect_is_fetched_next_for_the_same_host() {
    let mut frontier = robots_frontier(Politeness::default());
    frontier.push(queued("http://a.test/1", 0));
    let now = Instant::now();
    let job = robots_job(&mut frontier, now);
    let target = CanonicalUrl::parse("http://b.test/real-robots.txt").unwrap();
    frontier.robots_done(
        job.host,
        None,
        RobotsResult::Redirect {
            url: target.clone(),
            hops: 1,
        },
    );
    let again = robots_job(&mut frontier, now);
    assert_eq!((again.url, again.hops, again.host), (target, 1, job.host));
}

#[test]
fn unreachable_robots_is_retried_with_backoff_then_closes_the_host() {
    let mut frontier = robots_frontier(Politeness {
        retries: 2,
        backoff: Duration::from_secs(1),
        ..Politeness::default()
    });
    frontier.push(queued("http://a.test/1", 0));
    frontier.push(queued("http://a.test/2", 0));
    let start = Instant::now();
    let unreachable = || RobotsResult::Unreachable {
        reason: "status 503".into(),
        retry_after: None,
        connection_failure: false,
    };
    let job = robots_job(&mut frontier, start);
    frontier.robots_done(job.host, Some(start), unreachable());
    assert_eq!(
        frontier.next(start),
        Next::WaitUntil(start + Duration::from_secs(1))
    );
    let second = start + Duration::from_secs(1);
    robots_job(&mut frontier, second);
    frontier.robots_done(job.host, Some(second), unreachable());
    assert_eq!(
        frontier.next(second),
        Next::WaitUntil(second + Duration::from_secs(2))
    );
    let third = second + Duration::from_secs(2);
    robots_job(&mut frontier, third);
    frontier.robots_done(job.host, Some(third), unreachable());
    assert_eq!(frontier.next(third), Next::Idle);
    let refused = frontier.take_refused(10).unwrap();
    assert_eq!(refused.len(), 2);
    assert!(refused
        .iter()
        .all(|r| r.reason.kind().as_str() == "robots-unavailable"));
    // URLs found later for the closed host are refused too.
    frontier.push(queued("http://a.test/3", 1));
    assert_eq!(frontier.next(third), Next::Idle);
    assert_eq!(frontier.take_refused(10).unwrap().len(), 1);
    assert!(frontier.is_exhausted());
}

#[test]
fn crawl_delay_sets_the_interval_within_the_cap_and_serializes_the_host() {
    let mut frontier = robots_frontier(Politeness {
        concurrency: 4,
        max_crawl_delay: Duration::from_secs(5),
        ..Politeness::default()
    });
    for i in 0..3 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
        frontier.push(queued(&format!("http://b.test/{i}"), 0));
    }
    let now = Instant::now();
    let a = robots_job(&mut frontier, now);
    let b = robots_job(&mut frontier, now);
    frontier.robots_done(a.host, Some(now), rules("User-agent: *\nCrawl-delay: 2\n"));
    frontier.robots_done(b.host, Some(now), rules("User-agent: *\nCrawl-delay: 60\n"));
    assert_eq!(
        frontier.next(now),
        Next::WaitUntil(now + Duration::from_secs(2))
    );
    let later = now + Duration::from_secs(2);
    let first = take(&mut frontier)
        .map(|_| ())
        .or_else(|| match frontier.next(later) {
            Next::Job(_) => Some(()),
            _ => None,
        });
    assert!(first.is_some());
    assert!(
        !matches!(frontier.next(later), Next::Job(job) if job.url.host() == "a.test"),
        "one request at a time with a crawl delay"
    );
    assert_eq!(
        frontier.capped_crawl_delays().get("http://b.test:80"),
        Some(&60.0)
    );
    assert_eq!(frontier.parked_and_capped_counts().1, 1);
    // Its robots.txt read again (a day later, say): the figure follows, the count not.
    frontier.robots_done(
        b.host,
        Some(later),
        rules("User-agent: *\nCrawl-delay: 90\n"),
    );
    assert_eq!(
        frontier.capped_crawl_delays().get("http://b.test:80"),
        Some(&90.0)
    );
    assert_eq!(
        frontier.parked_and_capped_counts().1,
        1,
        "one host, counted once"
    );
}

#[test]
fn overload_pauses_only_that_host_for_its_retry_after() {
    let mut frontier = unlimited(1);
    frontier.push(queued("http://a.test/1", 0));
    frontier.push(queued("http://a.test/2", 0));
    frontier.push(queued("http://b.test/1", 0));
    frontier.push(queued("http://b.test/2", 0));
    let now = Instant::now();
    let a = take(&mut frontier).unwrap();
    let b = take(&mut frontier).unwrap();
    frontier.complete(
        a.host,
        answered(now),
        Health::Overloaded {
            retry_after: Some(Duration::from_secs(7)),
        },
    );
    frontier.complete(b.host, answered(now), Health::Fine);
    let next = take(&mut frontier).unwrap();
    assert_eq!(next.url.as_str(), "http://b.test/2");
    assert_eq!(
        frontier.next(now),
        Next::WaitUntil(now + Duration::from_secs(7))
    );
}

#[test]
fn backoff_doubles_and_retries_go_first() {
    let mut frontier = Frontier::new(Politeness {
        obey_robots: false,
        backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(250),
        ..Politeness::default()
    });
    frontier.push(queued("http://a.test/1", 0));
    frontier.push(queued("http://a.test/2", 0));
    let mut at = Instant::now();
    let mut waits = Vec::new();
    for _ in 0..3 {
        let job = match frontier.next(at) {
            Next::Job(job) => job,
            other => panic!("{other:?}"),
        };
        assert_eq!(job.url.as_str(), "http://a.test/1");
        frontier.complete(job.host, answered(at), Health::ServerError);
        frontier.retry(Queued {
            attempts: job.attempts + 1,
            ..queued(job.url.as_str(), 0)
        });
        let Next::WaitUntil(until) = frontier.next(at) else {
            panic!("the host must back off");
        };
        waits.push(until - at);
        at = until;
    }
    let ms = |n| Duration::from_millis(n);
    assert_eq!(waits, [ms(100), ms(200), ms(250)]);
}

#[test]
fn repeated_connection_failures_park_the_host() {
    let mut frontier = Frontier::new(Politeness {
        obey_robots: false,
        backoff: Duration::ZERO,
        park_after: 3,
        ..Politeness::default()
    });
    for i in 0..5 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
    }
    for _ in 0..3 {
        let job = take(&mut frontier).unwrap();
        frontier.complete(
            job.host,
            None,
            Health::Unreachable {
                reason: "connect: refused".into(),
                timed_out: false,
            },
        );
    }
    assert_eq!(frontier.next(Instant::now()), Next::Idle);
    let refused = frontier.take_refused(100).unwrap();
    assert_eq!(refused.len(), 2);
    assert!(refused
        .iter()
        .all(|r| r.reason.kind().as_str() == "host-unreachable"));
    assert!(frontier.parked_hosts().contains_key("http://a.test:80"));
}

/// A link `turn`th among its page's links to its host, with `priority`.
fn linked(url: &str, depth: u32, turn: u32, priority: i8) -> Queued {
    Queued {
        turn,
        priority,
        ..queued(url, depth)
    }
}

fn take_all(frontier: &mut Frontier) -> Vec<String> {
    let mut taken = Vec::new();
    while let Some(job) = take(frontier) {
        frontier.complete(job.host, None, Health::Fine);
        taken.push(job.url.as_str().trim_start_matches("http://").to_owned());
    }
    taken
}

#[test]
fn a_depth_is_taken_by_the_page_that_found_each_url_not_by_discovery_order() {
    let mut frontier = unlimited(1);
    // A farm page's eight links first, then two ordinary pages' one link each.
    for turn in 0..8 {
        frontier.push(linked(&format!("http://a.test/farm{turn}"), 2, turn, 0));
    }
    frontier.push(linked("http://a.test/p", 2, 0, 0));
    frontier.push(linked("http://a.test/q", 2, 0, 0));
    frontier.push(linked("http://a.test/shallow", 1, 5, 0));
    assert_eq!(
        take_all(&mut frontier),
        [
            "a.test/shallow",
            "a.test/farm0",
            "a.test/p",
            "a.test/q",
            "a.test/farm1",
            "a.test/farm2",
            "a.test/farm3",
            "a.test/farm4",
            "a.test/farm5",
            "a.test/farm6",
            "a.test/farm7",
        ]
    );
}

#[test]
fn a_higher_priority_goes_first_within_a_host_and_across_hosts() {
    let mut frontier = unlimited(1);
    frontier.push(linked("http://a.test/about", 1, 0, 0));
    frontier.push(linked("http://a.test/product/deep", 3, 0, 1));
    frontier.push(linked("http://a.test/sorted", 1, 1, -1));
    frontier.push(linked("http://b.test/about", 1, 0, 0));
    frontier.push(linked("http://c.test/product/1", 2, 0, 1));
    // One job at a time, as when workers are scarce.
    let mut order = Vec::new();
    while let Some(job) = take(&mut frontier) {
        order.push(job.url.as_str().trim_start_matches("http://").to_owned());
        frontier.complete(job.host, None, Health::Fine);
    }
    let at = |url: &str| order.iter().position(|u| u == url).unwrap();
    assert!(at("a.test/product/deep") < at("a.test/about"), "{order:?}");
    assert!(at("a.test/about") < at("a.test/sorted"), "{order:?}");
    for preferred in ["a.test/product/deep", "c.test/product/1"] {
        assert!(at(preferred) < at("b.test/about"), "{order:?}");
        assert!(at(preferred) < at("a.test/about"), "{order:?}");
    }
}

#[test]
fn a_url_found_after_its_host_spilled_still_goes_before_the_worse_urls_memory_holds() {
    let store = FakeStore::default();
    let mut frontier = unlimited(1).with_spill(Box::new(store.clone()));
    let discover = |frontier: &mut Frontier, entry: Queued| {
        let key = (entry.depth, entry.url.as_str().to_owned());
        store.0.lock().unwrap().insert(key, entry.clone());
        frontier.push(entry);
    };
    for turn in 0..(2 * MAX_BUFFER as u32) {
        discover(
            &mut frontier,
            linked(&format!("http://a.test/farm{turn}"), 2, turn, 0),
        );
    }
    assert!(frontier.hosts[0].spilled);
    discover(&mut frontier, linked("http://a.test/leaf", 2, 0, 0));
    let first: Vec<String> = (0..3)
        .filter_map(|_| {
            let job = take(&mut frontier)?;
            frontier.complete(job.host, None, Health::Fine);
            Some(job.url.as_str().to_owned())
        })
        .collect();
    assert_eq!(
        first,
        [
            "http://a.test/farm0",
            "http://a.test/leaf",
            "http://a.test/farm1"
        ]
    );
}

fn auto(factor: f64, min_ms: u64, max_ms: u64) -> Frontier {
    Frontier::new(Politeness {
        adaptive: Some(AutoDelay {
            factor,
            min: Duration::from_millis(min_ms),
            max: Duration::from_millis(max_ms),
        }),
        obey_robots: false,
        backoff: Duration::ZERO,
        ..Politeness::default()
    })
}

/// Completes the host's next job as `health`, the fetch having taken `took_ms`, and
/// returns how long the host must then wait.
fn wait_after(frontier: &mut Frontier, at: Instant, took_ms: u64, health: Health) -> Duration {
    let job = match frontier.next(at) {
        Next::Job(job) => job,
        other => panic!("{other:?}"),
    };
    let took = Duration::from_millis(took_ms);
    frontier.complete(job.host, Some(Answered { at, took }), health);
    match frontier.next(at) {
        Next::WaitUntil(until) => until - at,
        other => panic!("the host must wait: {other:?}"),
    }
}

#[test]
fn an_auto_delay_follows_the_fetch_time_grows_on_slow_downs_and_relaxes_by_halves() {
    let mut frontier = auto(2.0, 10, 1000);
    for i in 0..13 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
    }
    let ms = Duration::from_millis;
    let mut at = Instant::now();
    let mut waits = Vec::new();
    let steps = [
        (20, Health::Fine),                             // 2 x 20 = 40
        (150, Health::Fine),                            // slower: 300 at once
        (10, Health::Fine),                             // quick again: half of 300
        (10, Health::Overloaded { retry_after: None }), // doubled
        (
            10,
            Health::Unreachable {
                reason: "timeout".into(),
                timed_out: true,
            },
        ), // doubled
        (
            10,
            Health::Unreachable {
                reason: "connect: refused".into(),
                timed_out: false,
            },
        ), // not a pace: unchanged
        (10, Health::Fine),                             // 300
        (1, Health::Fine),                              // 250
        (1, Health::Fine),                              // 125
        (1, Health::Fine),                              // 62.5
        (1, Health::Fine),                              // 31.25
        (1, Health::Fine),                              // the floor, min 10 (2 x 1 under it)
    ];
    for (took, health) in steps {
        let wait = wait_after(&mut frontier, at, took, health);
        waits.push(wait);
        at += wait;
    }
    assert_eq!(
        waits,
        [
            ms(40),
            ms(300),
            ms(150),
            ms(300),
            ms(600),
            ms(600),
            ms(300),
            ms(150),
            ms(75),
            Duration::from_micros(37_500),
            ms(19) - Duration::from_micros(250),
            ms(10),
        ]
    );
}

#[test]
fn an_auto_delay_stays_above_the_crawl_delay_and_one_slow_host_slows_no_other() {
    let mut frontier = Frontier::new(Politeness {
        adaptive: Some(AutoDelay {
            factor: 1.0,
            min: Duration::from_millis(10),
            max: Duration::from_secs(10),
        }),
        concurrency: 4,
        ..Politeness::default()
    });
    for i in 0..8 {
        frontier.push(queued(&format!("http://a.test/{i}"), 0));
        frontier.push(queued(&format!("http://b.test/{i}"), 0));
    }
    let at = Instant::now();
    let rules = |text: &str| {
        let agent = crate::robots::ProductToken::parse("crawler").unwrap();
        RobotsResult::Rules(Arc::new(
            crate::robots::RobotsTxt::parse(text.as_bytes()).rules_for(&agent),
        ))
    };
    for _ in 0..2 {
        let Next::Robots(job) = frontier.next(at) else {
            panic!("robots.txt goes first");
        };
        let text = if job.url.as_str().starts_with("http://a.test") {
            "User-agent: *\nCrawl-delay: 2\n"
        } else {
            ""
        };
        frontier.robots_done(job.host, None, rules(text));
    }
    let mut jobs = Vec::new();
    while let Next::Job(job) = frontier.next(at) {
        jobs.push(job);
    }
    // a waits for its Crawl-delay; b goes at once, and its spacing follows its own time.
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    for job in jobs {
        assert!(job.url.as_str().starts_with("http://b.test"));
        let took = Duration::from_millis(30);
        frontier.complete(job.host, Some(Answered { at, took }), Health::Fine);
    }
    assert_eq!(
        frontier.next(at),
        Next::WaitUntil(at + Duration::from_millis(30))
    );
    // A quick answer of a relaxes its delay to half, but not under its Crawl-delay.
    let later = at + Duration::from_secs(3);
    let a = loop {
        match frontier.next(later) {
            Next::Job(job) if job.url.as_str().starts_with("http://a.test") => break job,
            Next::Job(_) => {}
            other => panic!("{other:?}"),
        }
    };
    let took = Duration::from_millis(1);
    frontier.complete(a.host, Some(Answered { at: later, took }), Health::Fine);
    let (slowest, count) = frontier.slowest_hosts(1);
    assert_eq!(count, 2);
    assert_eq!(slowest[0].host, "http://a.test:80");
    assert_eq!(slowest[0].delay_secs, 2.0);
}

fn shared_rules(file: &str) -> Arc<crate::robots::RobotsRules> {
    match rules(file) {
        RobotsResult::Rules(rules) => rules,
        _ => unreachable!(),
    }
}

#[test]
fn a_cluster_node_shares_rules_and_pauses_and_the_next_owner_adopts_them() {
    let politeness = Politeness {
        retries: 0,
        ..Politeness::default()
    };
    let mut first = robots_frontier(politeness);
    first.share_politeness();
    first.push(queued("http://a.test/1", 0));
    let now = Instant::now();
    let job = robots_job(&mut first, now);
    first.robots_done(
        job.host,
        Some(now),
        rules("User-agent: *\nDisallow: /private\nCrawl-delay: 2\n"),
    );
    first.back_off(job.host, now, Some(Duration::from_secs(7)));
    let news = first.take_host_news();
    assert!(first.take_host_news().is_empty(), "news are taken once");
    let (mut robots, mut paused) = (None, None);
    for item in news {
        match item {
            HostNews::Robots { host, rules } => robots = Some((host, rules)),
            HostNews::Paused { host, pause, .. } => paused = Some((host, pause)),
        }
    }
    let (host, rules) = robots.expect("the rules are news");
    assert_eq!(host, "http://a.test:80");
    assert_eq!(paused, Some((host.clone(), Duration::from_secs(7))));

    // The next owner: the rules apply without a robots.txt fetch, the pause holds.
    let mut next = robots_frontier(politeness);
    next.push(queued("http://a.test/private/x", 1));
    next.push(queued("http://a.test/2", 1));
    let later = Instant::now();
    next.adopt(
        AdoptedHost {
            host,
            robots: Some((rules, Duration::from_secs(60))),
            paused: Some((Duration::from_secs(5), 3)),
        },
        later,
    );
    assert!(
        matches!(next.next(later), Next::WaitUntil(at) if at >= later + Duration::from_secs(5))
    );
    let job = match next.next(later + Duration::from_secs(5)) {
        Next::Job(job) => job,
        other => panic!("a page, not robots.txt, once the pause is over: {other:?}"),
    };
    assert_eq!(job.url.as_str(), "http://a.test/2");
    let refused = next
        .take_refused(10)
        .expect("the disallowed URL is refused");
    assert_eq!(refused[0].queued.url.as_str(), "http://a.test/private/x");

    // Rules older than the cache time are fetched again; a frontier outside a cluster
    // keeps no news.
    let mut stale = robots_frontier(politeness);
    stale.push(queued("http://b.test/1", 0));
    let old = shared_rules("User-agent: *\nDisallow: /\n");
    stale.adopt(
        AdoptedHost {
            host: "http://b.test:80".into(),
            robots: Some((old, politeness.robots_ttl)),
            paused: None,
        },
        later,
    );
    robots_job(&mut stale, later);
    assert!(stale.take_host_news().is_empty());
}
