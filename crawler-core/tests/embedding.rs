//! The engine embedded as a library: the builder, a spawned crawl's handle (stop,
//! pause, resume, stats), events, hooks and page sinks, judged against the fixture
//! web's request log and the store.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::assert_summary_agrees_with;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crawler_core::hooks::{HookError, Page, PageActions, StoredPage};
use crawler_core::{CanonicalUrl, CrawlEvent, Crawler, CrawlerBuilder, ScoredUrl, Snapshot};
use crawler_fixtures::{FixtureServer, ForwardProxy, RequestRecord, WebConfig};

fn web(hosts: usize, pages: usize) -> FixtureServer {
    FixtureServer::start(WebConfig {
        hosts,
        pages,
        ..WebConfig::default()
    })
    .expect("fixture server")
}

/// A builder crawling `server`'s synthetic web into a fresh store.
fn builder(server: &FixtureServer, dir: &tempfile::TempDir) -> CrawlerBuilder {
    Crawler::builder()
        .store(dir.path().join("store"))
        .seeds(server.seeds())
        .resolve(server.resolve_arg())
        .workers(4)
}

/// Page requests (robots.txt left out) as `http://host:port/path`.
fn page_urls(server: &FixtureServer, log: &[RequestRecord]) -> Vec<String> {
    log.iter()
        .filter(|r| r.path != "/robots.txt")
        .map(|r| server.url(&r.host, &r.path))
        .collect()
}

/// How long a wait for a state may take before it fails the test: long, so that only
/// a state never reached fails, never a slow or loaded machine.
const PATIENCE: Duration = Duration::from_secs(180);

/// Polls `stats` until `ready` holds (at most [`PATIENCE`], so a bug fails instead
/// of hanging).
fn wait_for(stats: impl Fn() -> Snapshot, ready: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let snapshot = stats();
        if ready(&snapshot) {
            return snapshot;
        }
        assert!(Instant::now() < deadline, "never reached: {snapshot:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn stop_from_another_thread_ends_the_crawl_with_in_flight_pages_stored() {
    let server = web(3, 20);
    let dir = tempfile::tempdir().unwrap();
    // The first page past the seeds tells the test it is being handled, then waits
    // for the stop: it is in flight when the stop comes. The server holds the rest
    // of the crawl back meanwhile, so it cannot run out of URLs first.
    let (entered, in_handler) = crossbeam_channel::bounded(1);
    let (stopped, stop_seen) = crossbeam_channel::bounded::<()>(1);
    let first = std::sync::atomic::AtomicBool::new(true);
    let handler = move |page: &Page<'_>, _: &mut PageActions| -> Result<(), HookError> {
        if page.depth() == 1 && first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            let _ = entered.send(page.url().as_str().to_owned());
            let _ = stop_seen.recv_timeout(PATIENCE);
        }
        Ok(())
    };
    server.hold_after(20);
    let handle = builder(&server, &dir)
        .per_host_rate(4.0)
        .page_handler(handler)
        .build()
        .unwrap()
        .spawn()
        .unwrap();
    let in_flight = in_handler
        .recv_timeout(PATIENCE)
        .expect("a depth-1 page was handled");
    let stopper = handle.stop_handle();
    thread::spawn(move || stopper.stop()).join().unwrap();
    stopped.send(()).unwrap();
    server.release();
    let store = Arc::clone(handle.store());
    let summary = handle.join().unwrap();

    assert!(summary.stopped);
    assert!(summary.queued_left > 0, "{summary:?}");
    let page = store
        .page(&in_flight)
        .unwrap()
        .expect("the in-flight page is stored");
    assert_eq!(page.status, Some(200));
    // Everything the server answered is stored; nothing was left half done.
    let requested = page_urls(&server, &server.log());
    assert_eq!(requested.len() as u64, summary.pages_fetched);
    for url in &requested {
        let record = store.page(url).unwrap();
        assert_eq!(record.map(|r| r.status), Some(Some(200)), "{url}");
    }
    // What was not fetched is still in the store's frontier, for a later run.
    assert!(store.queued_count().unwrap() > 0);
    assert_summary_agrees_with(&summary, &store);
}

#[test]
fn pause_stops_new_fetches_and_resume_finishes_the_crawl() {
    let server = web(2, 20);
    let dir = tempfile::tempdir().unwrap();
    server.hold_after(12);
    let handle = builder(&server, &dir)
        .per_host_rate(10.0)
        .build()
        .unwrap()
        .spawn()
        .unwrap();
    // Held after 12 of its 42 requests, the crawl is mid-way when it is paused.
    wait_for(|| handle.stats(), |s| s.fetched >= 5);
    handle.pause();
    assert!(handle.is_paused());
    server.release();
    let quiet = wait_for(|| handle.stats(), |s| s.paused && s.in_flight == 0);
    let window_start = Instant::now();
    thread::sleep(Duration::from_millis(800));
    let window_end = Instant::now();
    assert_eq!(
        handle.stats().fetched,
        quiet.fetched,
        "fetched while paused"
    );
    assert!(
        quiet.fetched < 40,
        "the crawl ended before the pause: {quiet:?}"
    );
    handle.resume();
    let summary = handle.join().unwrap();

    assert!(!summary.stopped);
    assert_eq!(summary.pages_fetched, 40);
    let log = server.log();
    let during: Vec<&RequestRecord> = log
        .iter()
        .filter(|r| r.start >= window_start && r.start <= window_end)
        .collect();
    assert!(during.is_empty(), "requests while paused: {during:?}");
    assert!(
        log.iter().any(|r| r.start > window_end),
        "nothing after resume"
    );
}

#[test]
fn a_failing_or_panicking_handler_is_recorded_against_its_page_and_the_crawl_completes() {
    let server = web(3, 20);
    let dir = tempfile::tempdir().unwrap();
    let panics_on = server.url("h0.test", "/page/3");
    let fails_on = server.url("h1.test", "/page/4");
    let (panic_url, fail_url) = (panics_on.clone(), fails_on.clone());
    let handler = move |page: &Page<'_>, actions: &mut PageActions| -> Result<(), HookError> {
        let url = page.url().as_str();
        if url == panic_url || url == fail_url {
            // Actions of a failed call are discarded: this veto must not count.
            actions.veto_all_outlinks();
        }
        if url == panic_url {
            panic!("boom on purpose");
        }
        if url == fail_url {
            return Err("no data here".into());
        }
        Ok(())
    };
    let crawler = builder(&server, &dir)
        .per_host_rate(0.0)
        .page_handler(handler)
        .build()
        .unwrap();
    let events = crawler.events();
    let progress = crawler.progress();
    let store = Arc::clone(crawler.store());
    let summary = crawler.run().unwrap();

    let panicked = store.page(&panics_on).unwrap().unwrap();
    assert_eq!(panicked.status, Some(200));
    assert_eq!(panicked.error.as_deref(), Some("hook-failed"));
    let message = panicked.error_message.unwrap();
    assert!(
        message.contains("page handler panicked: boom on purpose"),
        "{message}"
    );
    let failed = store.page(&fails_on).unwrap().unwrap();
    assert_eq!(failed.error.as_deref(), Some("hook-failed"));
    assert!(failed
        .error_message
        .unwrap()
        .contains("page handler failed: no data here"));
    assert_eq!(progress.snapshot().hook_failures, 2);
    assert_eq!(summary.errors.get("hook-failed"), Some(&2));
    let hook_events: BTreeSet<String> = events
        .try_iter()
        .filter_map(|event| match event {
            CrawlEvent::HookFailed { url, .. } => Some(url),
            _ => None,
        })
        .collect();
    assert_eq!(hook_events, BTreeSet::from([panics_on, fails_on]));
    // The workers kept going: every page of the web was fetched, once.
    let requested = page_urls(&server, &server.log());
    let unique: BTreeSet<String> = requested.iter().cloned().collect();
    assert_eq!(unique.len(), requested.len(), "a URL was fetched twice");
    assert_eq!(unique, server.expected_urls());
    assert_eq!(summary.pages_fetched, 60);
}

#[test]
fn events_arrive_in_order_for_each_page_and_the_crawl_finished_event_last() {
    let server = web(3, 20);
    let dir = tempfile::tempdir().unwrap();
    let crawler = builder(&server, &dir)
        .per_host_rate(0.0)
        .event_capacity(10_000)
        .build()
        .unwrap();
    let events = crawler.events();
    let progress = crawler.progress();
    let store = Arc::clone(crawler.store());
    let summary = crawler.run().unwrap();

    let received: Vec<CrawlEvent> = events.try_iter().collect();
    assert!(matches!(
        received.last(),
        Some(CrawlEvent::CrawlFinished { error: None, .. })
    ));
    let mut per_page: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for event in &received {
        let (url, name) = match event {
            CrawlEvent::PageFetched { url, .. } => (url, "fetched"),
            CrawlEvent::PageStored { url, .. } => (url, "stored"),
            CrawlEvent::FetchFailed { url, .. } => (url, "failed"),
            _ => continue,
        };
        per_page.entry(url.clone()).or_default().push(name);
    }
    assert_eq!(per_page.len(), 60);
    for (url, names) in &per_page {
        assert_eq!(names, &["fetched", "stored"], "{url}");
        assert!(
            store.page(url).unwrap().is_some(),
            "{url} announced, not stored"
        );
    }
    let expected: BTreeSet<String> = server.expected_urls();
    assert_eq!(per_page.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(progress.snapshot().events_dropped, 0);
    assert_eq!(summary.pages_fetched, 60);
}

#[test]
fn a_full_event_channel_drops_new_events_and_still_delivers_the_last() {
    let server = web(2, 20);
    let dir = tempfile::tempdir().unwrap();
    let crawler = builder(&server, &dir)
        .per_host_rate(0.0)
        .event_capacity(3)
        .build()
        .unwrap();
    let events = crawler.events();
    let progress = crawler.progress();
    let summary = crawler.run().unwrap();
    assert_eq!(summary.pages_fetched, 40);

    let received: Vec<CrawlEvent> = events.try_iter().collect();
    // Nobody read during the crawl: the first events are kept, then the final one.
    assert!(received.len() <= 3 + 5, "{}", received.len());
    assert!(matches!(
        received.first(),
        Some(CrawlEvent::PageFetched { .. })
    ));
    assert!(matches!(
        received.last(),
        Some(CrawlEvent::CrawlFinished { .. })
    ));
    let dropped = progress.snapshot().events_dropped;
    // 40 fetched + 40 stored were sent; all but those kept were dropped.
    assert_eq!(dropped + received.len() as u64 - 1, 80);
}

#[test]
fn a_url_filter_keeps_vetoed_urls_away_from_the_server() {
    let server = web(2, 20);
    let dir = tempfile::tempdir().unwrap();
    // /page/1 and /page/10 .. /page/19.
    let vetoed = |url: &CanonicalUrl| url.as_str().contains("/page/1");
    let summary = builder(&server, &dir)
        .per_host_rate(0.0)
        .url_filter(move |url: &CanonicalUrl| !vetoed(url))
        .build()
        .unwrap()
        .run()
        .unwrap();

    let requested = page_urls(&server, &server.log());
    assert!(!requested.is_empty());
    for url in &requested {
        assert!(!url.contains("/page/1"), "{url} fetched despite the filter");
    }
    assert_eq!(summary.pages_fetched, requested.len() as u64);
    // The other pages are all reachable through each other: all fetched.
    let allowed = server
        .expected_urls()
        .into_iter()
        .filter(|url| !url.contains("/page/1"))
        .count();
    assert_eq!(requested.len(), allowed);
}

#[test]
fn a_scorer_decides_what_goes_first_within_each_host() {
    let server = web(1, 2);
    let dir = tempfile::tempdir().unwrap();
    let shop = crawler_fixtures::order::shop_host(0);
    // Products before the blog, which the shop's index lists first; every URL it
    // scores was found on the index, one hop from the seed.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let scored = Arc::clone(&seen);
    let scorer = move |url: &ScoredUrl<'_>| {
        scored
            .lock()
            .unwrap()
            .push((url.depth, url.source.map(str::to_owned)));
        i8::from(url.url.as_str().contains("/product/"))
    };
    Crawler::builder()
        .store(dir.path().join("store"))
        .seed(server.url(&shop, "/"))
        .resolve(server.resolve_arg())
        .workers(1)
        .per_host_rate(0.0)
        .scorer(scorer)
        .build()
        .unwrap()
        .run()
        .unwrap();

    let served: Vec<String> = server
        .log()
        .iter()
        .filter(|r| r.host == shop && r.path != "/robots.txt" && r.path != "/")
        .map(|r| r.path.clone())
        .collect();
    let products = served.iter().filter(|p| p.starts_with("/product/")).count();
    assert!(products > 0 && products < served.len(), "{served:?}");
    assert!(
        served[..products]
            .iter()
            .all(|p| p.starts_with("/product/")),
        "{served:?}"
    );
    let seen = seen.lock().unwrap();
    let index = server.url(&shop, "/");
    assert!(seen.contains(&(0, None)), "the seed is scored: {seen:?}");
    assert!(
        seen.iter()
            .any(|(depth, source)| *depth == 1 && source.as_deref() == Some(index.as_str())),
        "{seen:?}"
    );
}

#[test]
fn the_scorer_is_shown_the_anchor_text_of_links_and_none_for_embeds() {
    let server = web(1, 1);
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let scored = Arc::clone(&seen);
    let scorer = move |url: &ScoredUrl<'_>| {
        let text = url.anchor_text.map(str::to_owned);
        scored
            .lock()
            .unwrap()
            .insert(url.url.as_str().to_owned(), text);
        0
    };
    let styled = crawler_fixtures::STYLED_HOST;
    Crawler::builder()
        .store(dir.path().join("store"))
        .seed(server.url(styled, "/"))
        .resolve(server.resolve_arg())
        .per_host_rate(0.0)
        .requisites(true)
        .scorer(scorer)
        .build()
        .unwrap()
        .run()
        .unwrap();
    let seen = seen.lock().unwrap();
    let about = server.url(styled, "/about");
    assert_eq!(
        seen.get(&about),
        Some(&Some("About us".to_owned())),
        "{seen:?}"
    );
    let logo = server.url(styled, "/img/logo.png");
    assert_eq!(seen.get(&logo), Some(&None), "{seen:?}");
}

#[test]
fn a_page_handler_extracts_data_adds_urls_and_vetoes_outlinks() {
    let server = web(1, 20);
    let dir = tempfile::tempdir().unwrap();
    let root = server.url("h0.test", "/");
    let added = server.url("h0.test", "/page/5");
    let titles = Arc::new(Mutex::new(BTreeMap::new()));
    let (sink, root_url, add) = (Arc::clone(&titles), root.clone(), added.clone());
    let handler = move |page: &Page<'_>, actions: &mut PageActions| -> Result<(), HookError> {
        let selector = scraper::Selector::parse("title").map_err(|e| e.to_string())?;
        let title: String = page
            .html()
            .select(&selector)
            .flat_map(|t| t.text())
            .collect();
        assert_eq!(
            page.header("content-type")
                .map(|v| v.starts_with("text/html")),
            Some(true)
        );
        assert!(!page.links().is_empty());
        sink.lock()
            .unwrap()
            .insert(page.url().as_str().to_owned(), title);
        if page.url().as_str() == root_url {
            actions.veto_all_outlinks();
            actions.add_url(&add)?;
        }
        Ok(())
    };
    let summary = builder(&server, &dir)
        .max_depth(1)
        .per_host_rate(0.0)
        .page_handler(handler)
        .build()
        .unwrap()
        .run()
        .unwrap();

    assert_eq!(summary.pages_fetched, 2);
    assert_eq!(
        page_urls(&server, &server.log()),
        [root.clone(), added.clone()]
    );
    let titles = titles.lock().unwrap();
    assert_eq!(titles.get(&root).map(String::as_str), Some("Host 0 page 0"));
    assert_eq!(
        titles.get(&added).map(String::as_str),
        Some("Host 0 page 5")
    );
}

#[test]
fn a_page_sink_instead_of_the_store_gets_the_bodies_the_store_does_not_keep() {
    let server = web(2, 10);
    let dir = tempfile::tempdir().unwrap();
    let received = Arc::new(Mutex::new(BTreeMap::new()));
    let sink = Arc::clone(&received);
    let crawler = builder(&server, &dir)
        .per_host_rate(0.0)
        .page_sink_instead(move |page: &StoredPage<'_>| -> Result<(), HookError> {
            let body = page.body.ok_or("no body")?;
            sink.lock()
                .unwrap()
                .insert(page.record.url.clone(), (body.len(), page.outlinks.len()));
            Ok(())
        })
        .build()
        .unwrap();
    let store = Arc::clone(crawler.store());
    let summary = crawler.run().unwrap();
    assert_eq!(summary.pages_fetched, 20);
    assert_eq!(summary.errors.get("hook-failed"), None);

    let received = received.lock().unwrap();
    assert_eq!(received.len(), 20);
    for (url, (bytes, outlinks)) in received.iter() {
        let record = store.page(url).unwrap().expect("the record is stored");
        assert!(!record.body_stored);
        assert_eq!(store.body(url).unwrap(), None);
        assert_eq!(record.bytes, *bytes as u64, "{url}");
        assert_eq!(store.outlinks(url).unwrap().len(), *outlinks, "{url}");
    }
}

#[test]
fn a_dead_host_is_announced_closed_and_counted_parked() {
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let crawler = Crawler::builder()
        .store(dir.path().join("store"))
        .seed(format!("http://dead.test:{dead_port}/"))
        .resolve(format!("dead.test:{dead_port}:127.0.0.1"))
        .retries(0)
        .retry_backoff(Duration::from_millis(10))
        .park_after(1)
        .build()
        .unwrap();
    let events = crawler.events();
    let progress = crawler.progress();
    crawler.run().unwrap();

    let closed: Vec<CrawlEvent> = events
        .try_iter()
        .filter(|e| matches!(e, CrawlEvent::HostClosed { .. }))
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    let snapshot = progress.snapshot();
    assert_eq!((snapshot.hosts_parked, snapshot.hosts_active), (1, 0));
}

#[test]
fn a_page_sink_sees_records_as_stored_and_its_own_failure_is_recorded() {
    let server = web(1, 10);
    let dir = tempfile::tempdir().unwrap();
    let handler_fails_on = server.url("h0.test", "/page/2");
    let sink_fails_on = server.url("h0.test", "/page/3");
    let (handler_url, sink_url) = (handler_fails_on.clone(), sink_fails_on.clone());
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let sink_seen = Arc::clone(&seen);
    let crawler = builder(&server, &dir)
        .per_host_rate(0.0)
        .page_handler(
            move |page: &Page<'_>, _: &mut PageActions| -> Result<(), HookError> {
                match page.url().as_str() == handler_url {
                    true => Err("handler says no".into()),
                    false => Ok(()),
                }
            },
        )
        .page_sink(move |page: &StoredPage<'_>| -> Result<(), HookError> {
            let record = page.record;
            (sink_seen.lock().unwrap()).insert(record.url.clone(), record.error.clone());
            match record.url == sink_url {
                true => Err("sink is full".into()),
                false => Ok(()),
            }
        })
        .build()
        .unwrap();
    let store = Arc::clone(crawler.store());
    let summary = crawler.run().unwrap();
    assert_eq!(summary.pages_fetched, 10);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 10);
    assert_eq!(seen[&handler_fails_on].as_deref(), Some("hook-failed"));
    assert_eq!(seen[&sink_fails_on], None);
    let record = store.page(&sink_fails_on).unwrap().unwrap();
    assert_eq!(record.error.as_deref(), Some("hook-failed"));
    assert!(record
        .error_message
        .unwrap()
        .contains("page sink failed: sink is full"));
    // As well as the store: bodies are kept.
    assert!(record.body_stored);
    assert!(store.body(&sink_fails_on).unwrap().is_some());
}

#[test]
fn a_proxy_pool_set_on_the_builder_carries_every_request_and_is_summarized() {
    let server = web(2, 2);
    let (first, second) = (
        ForwardProxy::start().unwrap(),
        ForwardProxy::start().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let summary = builder(&server, &dir)
        .proxy(first.url_with("embedder", "pw"))
        .proxy(second.url())
        .build()
        .unwrap()
        .run()
        .unwrap();
    let through = first.log().len() + second.log().len();
    assert_eq!(through, server.log().len(), "every request through a proxy");
    assert_eq!(summary.pages_fetched, 4);
    let shown: Vec<&str> = summary.proxies.iter().map(|p| p.proxy.as_str()).collect();
    let masked = first.url().replace("http://", "http://***@");
    assert_eq!(shown, [masked.as_str(), second.url().as_str()]);
    let requests: u64 = summary.proxies.iter().map(|p| p.requests).sum();
    assert_eq!(requests as usize, through);
}

#[test]
fn with_rendering_a_page_handler_sees_the_dom_scripts_built() {
    let present = crawler_core::render::BROWSER_NAMES
        .iter()
        .any(|name| crawler_core::render::find_program(name).is_ok());
    if !present {
        assert!(
            std::env::var_os("CI").is_none_or(|ci| ci != "true"),
            "Chromium is needed for rendering in CI (apt-get install chromium)"
        );
        eprintln!("skipped: no Chromium on this machine (apt-get install chromium)");
        return;
    }
    let server = web(1, 1);
    let dir = tempfile::tempdir().unwrap();
    // What the handler saw of each view: whether it was rendered, and its links.
    type Views = Vec<(bool, Vec<String>)>;
    let seen: Arc<Mutex<Views>> = Arc::default();
    let views = Arc::clone(&seen);
    let spa = server.url(crawler_fixtures::SPA_HOST, "/");
    let handler = move |page: &Page<'_>, _: &mut PageActions| -> Result<(), HookError> {
        let anchor = "a".parse().unwrap();
        let hrefs = (page.html().select(&anchor)).filter_map(|a| a.value().attr("href"));
        let hrefs = hrefs.map(str::to_owned).collect();
        views.lock().unwrap().push((page.rendered(), hrefs));
        Ok(())
    };
    let crawler = Crawler::builder()
        .store(dir.path().join("store"))
        .seed(spa.clone())
        .resolve(server.resolve_arg())
        .per_host_rate(0.0)
        .max_depth(0)
        .render(crawler_core::render::RenderMode::Always)
        .page_handler(handler)
        .build()
        .unwrap();
    crawler.run().unwrap();
    let views = seen.lock().unwrap().clone();
    let expected: Vec<String> = crawler_fixtures::SPA_LINKS.map(str::to_owned).into();
    assert_eq!(views, vec![(false, Vec::new()), (true, expected)], "{spa}");
}

/// Two crawlers in one program join a crawl shared through Redis with the builder's
/// `cluster`, and everything else as when alone: each one's page handler sees the
/// pages it fetched, each ends with its summary and a `CrawlFinished` event, and
/// together they fetch every page of the web once.
#[test]
fn embedded_crawlers_share_a_crawl_through_redis_with_hooks_and_events_as_alone() {
    use crawler_core::cluster::ClusterConfig;
    use crawler_fixtures::RedisServer;

    let Some(redis) = RedisServer::for_test(RedisServer::start()) else {
        return;
    };
    let server = web(12, 8);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let seen: [Arc<Mutex<Vec<String>>>; 2] = Default::default();
    let nodes: Vec<_> = (0..2)
        .map(|i| {
            let cluster = ClusterConfig {
                node: format!("embedded-{i}"),
                lease: Duration::from_secs(2),
                ..ClusterConfig::new(&redis.url(), "embedded").unwrap()
            };
            let handled = Arc::clone(&seen[i]);
            let handler = move |page: &Page<'_>, _: &mut PageActions| -> Result<(), HookError> {
                handled.lock().unwrap().push(page.url().as_str().to_owned());
                Ok(())
            };
            builder(&server, &dirs[i])
                .per_host_rate(50.0)
                .page_handler(handler)
                .cluster(cluster)
                .build()
                .unwrap()
                .spawn()
                .unwrap()
        })
        .collect();
    let mut fetched_by_summaries = 0;
    for (i, handle) in nodes.into_iter().enumerate() {
        let events = handle.events().clone();
        let summary = handle.join().unwrap();
        let finished = events
            .try_iter()
            .filter(|event| matches!(event, CrawlEvent::CrawlFinished { error: None, .. }))
            .count();
        assert_eq!(finished, 1, "node {i}: one CrawlFinished event");
        assert_eq!(
            seen[i].lock().unwrap().len() as u64,
            summary.pages_fetched,
            "node {i}: its handler saw each page it fetched"
        );
        fetched_by_summaries += summary.pages_fetched;
    }

    let requested = page_urls(&server, &server.log());
    let unique: BTreeSet<String> = requested.iter().cloned().collect();
    assert_eq!(unique.len(), requested.len(), "a URL was fetched twice");
    assert_eq!(unique, server.expected_urls());
    let mut handled: Vec<String> = seen
        .iter()
        .flat_map(|s| s.lock().unwrap().clone())
        .collect();
    handled.sort();
    assert_eq!(handled, unique.into_iter().collect::<Vec<_>>());
    assert_eq!(fetched_by_summaries, 96);
}
