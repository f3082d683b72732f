//! Micro-benchmarks of the engine's hot paths, with criterion:
//!
//! ```text
//! cargo bench -p crawler-bench --bench micro
//! cargo bench -p crawler-bench --bench micro -- canonical   # one group
//! ```
//!
//! - `canonical`: `CanonicalUrl::parse` of an absolute URL and `CanonicalUrl::join`
//!   of the spellings the synthetic web uses (dot segments, percent-encoded digits,
//!   upper case, fragments);
//! - `extract`: `extract_links` on a typical synthetic page (11 KB, 18 links);
//! - `frontier`: pushing 10,000 URLs over 100 hosts into a `Frontier`, then taking
//!   them all out (no rate, no robots.txt);
//! - `dispatch`: a frontier of 1,000, 10,000 and 100,000 hosts of 5 URLs each drained
//!   as the scheduler drains it when a worker is always free: each host's robots.txt
//!   (answered "no rules"), then its pages, each completed at once. Per item: one
//!   dispatch (`Frontier::next` and its completion), robots.txt included;
//! - `host_board`: the walk that names the hosts of a live status (`crawl --listen`),
//!   over 1,000 to 1,000,000 hosts of one URL each: what a watched broad crawl's
//!   scheduler spends once a second;
//! - `seen`: the seen-set's costs as its public pieces show them: the fingerprint of
//!   a canonical URL, and the store's seen marks (`Store::enqueue`, `Store::is_seen`).
//!   The engine's seen-set itself is private to `crawler-core`.
//!
//! Kept small on purpose: each group is a few lines over the public API, so it is
//! easy to adapt when that API changes.

use std::hint::black_box;
use std::time::Instant;

use crawler_core::extract::extract_links;
use crawler_core::frontier::{Frontier, Health, Next, Politeness, Queued, RobotsResult};
use crawler_core::robots::RobotsRules;
use crawler_core::CanonicalUrl;
use crawler_fixtures::FixtureServer;
use crawler_storage::{QueueEntry, Store, StoreOptions};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const HREFS: [&str; 8] = [
    "/page/17",
    "5",
    "../page/9#s2",
    "/x/../page/21",
    "/page/%33%34",
    "HTTP://H3.TEST:8080/page/7",
    "http://h1.test:8080/page/12#s2",
    "./",
];

fn canonical(c: &mut Criterion) {
    let mut group = c.benchmark_group("canonical");
    group.bench_function("parse", |b| {
        b.iter(|| CanonicalUrl::parse(black_box("HTTP://H0.Test:8080/a/./b/../page/%35?q=1#frag")))
    });
    let base = url::Url::parse("http://h0.test:8080/page/3").unwrap();
    group.throughput(Throughput::Elements(HREFS.len() as u64));
    group.bench_function("join 8 hrefs", |b| {
        b.iter(|| {
            for href in HREFS {
                let _ = black_box(CanonicalUrl::join(&base, black_box(href)));
            }
        })
    });
    group.finish();
}

/// A typical synthetic page, fetched from the fixtures server as a crawler sees it.
fn typical_page() -> (String, url::Url) {
    use std::io::{Read, Write};
    let server = FixtureServer::start(crawler_fixtures::WebConfig::default()).unwrap();
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"GET /page/5 HTTP/1.1\r\nHost: h1.test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_string();
    let url = url::Url::parse(&server.url("h1.test", "/page/5")).unwrap();
    (body, url)
}

fn extract(c: &mut Criterion) {
    let (html, url) = typical_page();
    let mut group = c.benchmark_group("extract");
    group.throughput(Throughput::Bytes(html.len() as u64));
    group.bench_function("typical page", |b| {
        b.iter(|| extract_links(black_box(&html), &url))
    });
    group.finish();
}

fn frontier(c: &mut Criterion) {
    const HOSTS: usize = 100;
    const URLS: usize = 10_000;
    let urls: Vec<CanonicalUrl> = (0..URLS)
        .map(|i| CanonicalUrl::parse(&format!("http://h{}.test:8080/page/{i}", i % HOSTS)).unwrap())
        .collect();
    let politeness = Politeness {
        obey_robots: false,
        ..Politeness::default()
    };
    let mut group = c.benchmark_group("frontier");
    group.throughput(Throughput::Elements(URLS as u64));
    group.bench_function("push 10k over 100 hosts", |b| {
        b.iter_batched(
            || urls.clone(),
            |urls| {
                let mut frontier = Frontier::new(politeness);
                for url in urls {
                    frontier.push(Queued::page(url, 1, None, 0));
                }
                frontier
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("push then pop 10k", |b| {
        b.iter_batched(
            || urls.clone(),
            |urls| {
                let mut frontier = Frontier::new(politeness);
                for url in urls {
                    frontier.push(Queued::page(url, 1, None, 0));
                }
                let mut taken = 0;
                while let Next::Job(job) = frontier.next(Instant::now()) {
                    frontier.complete(job.host, None, Health::Fine);
                    taken += 1;
                }
                assert_eq!(taken, URLS);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A frontier holding `pages` URLs of each of `hosts` hosts, robots.txt unknown.
fn broad_frontier(hosts: usize, pages: usize) -> Frontier {
    let mut frontier = Frontier::new(Politeness::default());
    for page in 0..pages {
        for host in 0..hosts {
            let url = format!("http://h{host}.test:8080/page/{page}");
            frontier.push(Queued::page(CanonicalUrl::parse(&url).unwrap(), 1, None, 0));
        }
    }
    frontier
}

/// Hands out and completes everything `frontier` holds; returns the dispatches.
fn drain(mut frontier: Frontier) -> usize {
    let no_rules = RobotsResult::Rules(RobotsRules::allow_all());
    let mut dispatched = 0;
    loop {
        match frontier.next(Instant::now()) {
            Next::Job(job) => frontier.complete(job.host, None, Health::Fine),
            Next::Robots(robots) => frontier.robots_done(robots.host, None, no_rules.clone()),
            Next::WaitUntil(_) | Next::Idle => return dispatched,
        }
        dispatched += 1;
    }
}

fn dispatch(c: &mut Criterion) {
    const PAGES: usize = 5;
    let mut group = c.benchmark_group("dispatch");
    group.sample_size(10);
    for hosts in [1_000, 10_000, 100_000] {
        let dispatches = hosts * (PAGES + 1);
        assert_eq!(drain(broad_frontier(hosts, PAGES)), dispatches);
        group.throughput(Throughput::Elements(dispatches as u64));
        group.bench_function(format!("{hosts} hosts x {PAGES} pages"), |b| {
            b.iter_batched(
                || broad_frontier(hosts, PAGES),
                drain,
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// The walk a watched crawl's scheduler makes once a second to name the hosts of its
/// live status (`crawl --listen`), at breadth.
fn host_board(c: &mut Criterion) {
    let mut group = c.benchmark_group("host_board");
    group.sample_size(10);
    for hosts in [1_000, 10_000, 100_000, 1_000_000] {
        let frontier = broad_frontier(hosts, 1);
        group.throughput(Throughput::Elements(hosts as u64));
        group.bench_function(format!("{hosts} hosts"), |b| {
            b.iter(|| frontier.host_board(crawler_core::live::NAMED, Instant::now()))
        });
    }
    group.finish();
}

fn seen(c: &mut Criterion) {
    let url = CanonicalUrl::parse("http://h12.test:8080/page/1234").unwrap();
    let mut group = c.benchmark_group("seen");
    group.bench_function("fingerprint", |b| b.iter(|| black_box(&url).fingerprint()));

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store"), StoreOptions::default()).unwrap();
    let batch = |start: usize, len: usize| -> Vec<(u128, QueueEntry)> {
        (start..start + len)
            .map(|i| {
                let url =
                    CanonicalUrl::parse(&format!("http://h{}.test/page/{i}", i % 100)).unwrap();
                let host = url.host_key().as_str().to_string();
                (url.fingerprint(), QueueEntry::seed(url.as_str(), &host))
            })
            .collect()
    };
    store.enqueue(&batch(0, 10_000)).unwrap();
    let known: Vec<u128> = batch(0, 1_000).into_iter().map(|(f, _)| f).collect();
    group.throughput(Throughput::Elements(known.len() as u64));
    group.bench_function("store is_seen 1k", |b| {
        b.iter(|| {
            for &fingerprint in &known {
                assert!(store.is_seen(black_box(fingerprint)).unwrap());
            }
        })
    });
    let mut next = 10_000;
    group.throughput(Throughput::Elements(500));
    group.bench_function("store enqueue 500 new", |b| {
        b.iter_batched(
            || {
                next += 500;
                batch(next, 500)
            },
            |entries| store.enqueue(&entries).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, canonical, extract, frontier, dispatch, host_board, seen);
criterion_main!(benches);
