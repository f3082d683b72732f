//! Recrawls: `--revisit-after` fetches stored URLs again, conditionally, keeps what did
//! not change, and resumes like any crawl after a kill.

use std::path::Path;

use crawler_fixtures::news::{self, NEWS_PAGES};
use crawler_fixtures::{Edit, NEWS_HOST};
use crawler_tests::{
    files_under, wait_until, wait_until_holding, Crawled, FixtureServer, Scenario, WebConfig,
};

use crate::resume::spawn_crawl;

fn small_web() -> WebConfig {
    WebConfig {
        hosts: 2,
        pages: 15,
        ..WebConfig::default()
    }
}

/// Bytes of the store's body log (bodies, records, outlinks, heads).
fn body_log_bytes(store: &Path) -> u64 {
    files_under(&store.join("bodies"))
        .iter()
        .map(|file| file.metadata().map_or(0, |m| m.len()))
        .sum()
}

#[test]
fn a_recrawl_of_an_unchanged_web_fetches_every_page_again_and_keeps_one_copy_of_each_body() {
    let crawled = Scenario::web(small_web())
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let pages = crawled.stored_urls().len();
    assert_eq!(pages, 30);
    let store = crawled.store();
    let first = body_log_bytes(Path::new(&store));
    crawled.server().clear_log();

    let again = crawled.resume(&["--json", "--revisit-after", "0", "--per-host-rate", "0"]);
    let again = again.success();
    let revisits = &again.json()["revisits"];
    assert_eq!(revisits["revisited"], 30, "{revisits}");
    let kept = revisits["not_modified"].as_u64().unwrap() + revisits["unchanged"].as_u64().unwrap();
    assert_eq!(kept, 30, "nothing changed: {revisits}");
    assert_eq!(revisits["new"], 0, "{revisits}");
    // Every page was asked for again, once.
    let asked = crawled.page_requests();
    assert_eq!(asked.len(), 30, "{asked:?}");
    let stats = crawled.stats();
    assert_eq!(stats["urls"], 30);
    assert_eq!(stats["revisited"], 30);
    // No second copy of a body: the store grew by the new records and heads only,
    // far less than the 330 KB of bodies the first crawl stored.
    let grown = body_log_bytes(Path::new(&store)) - first;
    assert!(
        grown < first / 4,
        "the body log grew by {grown} bytes of {first}"
    );
    // The stored validators hold on: a second recrawl is all 304s, no body sent.
    crawled.server().clear_log();
    let twice = crawled.resume(&["--json", "--revisit-after", "0", "--per-host-rate", "0"]);
    assert_eq!(twice.success().json()["revisits"]["not_modified"], 30);
    assert!(crawled
        .page_requests()
        .iter()
        .all(|r| r.status == 304 && r.body_len == 0));
    // Told as text too; a 304's record still says what it holds.
    let text = crawled.resume(&["--revisit-after", "0", "--per-host-rate", "0"]);
    let text = text.success().stdout();
    assert!(text.contains("revisited: 30 (not modified 30,"), "{text}");
    let root = crawled.server().url("h0.test", "/");
    let record = crawled.record(&root);
    assert_eq!(record["status"], 304, "{record}");
    assert!(record["bytes"].as_u64() > Some(1_000), "{record}");
    assert_eq!(record["body_stored"], true, "{record}");
    assert_eq!(crawled.stats()["bytes"], stats["bytes"]);
    // A pass finds nothing due a day after its last visit.
    let later = crawled
        .resume(&["--json", "--revisit-after", "1d"])
        .success();
    assert!(
        later.stderr().contains("revisit: 0 stored URLs due"),
        "{}",
        later.stderr()
    );
}

#[test]
fn a_recrawl_killed_mid_way_is_resumed_and_revisits_every_page_once() {
    let crawled = Scenario::web(small_web())
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let store = crawled.store();
    let server: &FixtureServer = crawled.server();
    server.clear_log();
    // Killed once the server answered 10 page requests of the recrawl (2 robots.txt).
    server.hold_after(12);
    let mut child = spawn_crawl(
        server,
        Path::new(&store),
        &[],
        &["--revisit-after", "0", "--per-host-rate", "0"],
    );
    wait_until_holding(server);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    server.release();
    // A plain resume finishes the recrawl: no revisit flag, nothing queued again.
    let resumed = crawled
        .resume(&["--json", "--per-host-rate", "0"])
        .success();
    assert!(
        !resumed.stderr().contains("revisit:"),
        "{}",
        resumed.stderr()
    );
    let stats = crawled.stats();
    assert_eq!(stats["urls"], 30, "{stats}");
    assert_eq!(stats["revisited"], 30, "every page revisited: {stats}");
    // Each page asked for once by the recrawl, but for those in flight at the kill.
    let mut asked = std::collections::BTreeMap::<String, usize>::new();
    for request in crawled.page_requests() {
        *asked
            .entry(format!("{}{}", request.host, request.path))
            .or_default() += 1;
    }
    assert_eq!(asked.len(), 30, "{asked:?}");
    let twice = asked.values().filter(|n| **n > 1).count();
    assert!(
        twice <= 16,
        "refetched beyond the in-flight ones: {asked:?}"
    );
}

/// The news site crawled once, then edited: `/` links to a new page, `/world` has
/// new text, `/sports` is gone (410); the other five pages are as they were.
pub(crate) fn news_site_crawled_then_edited() -> Crawled {
    let scenario = Scenario::web(small_web());
    let seed = scenario.server().news_seed();
    let crawled = scenario
        .seeds([seed])
        .flags(&["--per-host-rate", "0"])
        .crawl();
    assert_eq!(crawled.stored_urls().len(), NEWS_PAGES.len());
    let server = crawled.server();
    server
        .edit_page(NEWS_HOST, news::FRONT, Edit::AddLink("/new/1".into()))
        .unwrap();
    server
        .edit_page(
            NEWS_HOST,
            "/world",
            Edit::Change("Elections: results".into()),
        )
        .unwrap();
    server
        .edit_page(NEWS_HOST, "/sports", Edit::Remove(410))
        .unwrap();
    server.clear_log();
    crawled
}

#[test]
fn a_recrawl_sends_the_stored_validators_and_stores_only_what_changed() {
    let crawled = news_site_crawled_then_edited();
    let url = |path: &str| crawled.server().url(NEWS_HOST, path);
    let before = crawled.record(&url("/science"));
    let again = crawled.resume(&["--json", "--revisit-after", "0", "--per-host-rate", "0"]);
    let summary = again.success().json();
    let revisits = &summary["revisits"];
    let counts: Vec<u64> = [
        "revisited",
        "not_modified",
        "unchanged",
        "changed",
        "gone",
        "new",
    ]
    .iter()
    .map(|name| revisits[*name].as_u64().unwrap_or(u64::MAX))
    .collect();
    // 304: science, weather, markets; same payload: about, live; changed: / and
    // world; gone: sports; new: the page / links to now.
    assert_eq!(counts, [8, 3, 2, 2, 1, 1], "{revisits}");

    // The server saw each page's own validators, and sent bodies only where needed.
    let log = crawled.page_requests();
    let request = |path: &str| {
        let asked: Vec<_> = log
            .iter()
            .filter(|r| r.host == NEWS_HOST && r.path == path)
            .collect();
        assert_eq!(asked.len(), 1, "{path}: {asked:?}");
        asked[0].clone()
    };
    let weather = request(news::ETAG_ONLY);
    assert!(weather.if_none_match.is_some() && weather.if_modified_since.is_none());
    assert_eq!((weather.status, weather.body_len), (304, 0));
    let markets = request(news::LAST_MODIFIED_ONLY);
    assert!(markets.if_none_match.is_none() && markets.if_modified_since.is_some());
    assert_eq!((markets.status, markets.body_len), (304, 0));
    let science = request("/science");
    assert_eq!(science.if_none_match.as_deref(), before["etag"].as_str());
    assert_eq!(
        science.if_modified_since.as_deref(),
        before["last_modified"].as_str()
    );
    assert_eq!(science.status, 304);
    let about = request(news::NO_VALIDATORS);
    assert!(about.if_none_match.is_none() && about.if_modified_since.is_none());
    assert_eq!(about.status, 200);
    assert_eq!(request(news::IGNORES_CONDITIONALS).status, 200);
    assert_eq!(request("/world").status, 200);
    assert!(request("/world").body_len > 0);
    assert_eq!(request("/sports").status, 410);
    assert_eq!(
        request("/new/1").if_none_match,
        None,
        "a new page has nothing to send"
    );

    // The store: what each visit found, the content kept where nothing changed.
    let record = |path: &str| crawled.record(&url(path));
    assert_eq!(record("/science")["change"], "not-modified");
    assert_eq!(record("/science")["status"], 304);
    assert_eq!(record("/science")["title"], before["title"]);
    assert_eq!(record("/science")["digest"], before["digest"]);
    let body = crawled.query("get", &[&url("/science")]).stdout();
    assert!(body.contains("<html"), "the stored body is kept: {body}");
    assert_eq!(record(news::NO_VALIDATORS)["change"], "unchanged");
    assert_eq!(record(news::IGNORES_CONDITIONALS)["change"], "unchanged");
    assert_eq!(record("/world")["change"], "changed");
    assert_ne!(record("/world")["digest"], before["digest"]);
    let world = crawled.query("get", &[&url("/world")]).stdout();
    assert!(world.contains("Elections: results"), "{world}");
    assert_eq!(record("/sports")["change"], "gone");
    assert_eq!(
        record("/new/1")["visits"],
        serde_json::Value::Null,
        "a first visit"
    );
    let stats = crawled.stats();
    assert_eq!(stats["urls"], 9, "{stats}");
    assert_eq!(stats["revisited"], 8, "{stats}");
    let by_change = &stats["by_change"];
    assert_eq!(
        (
            &by_change["not-modified"],
            &by_change["unchanged"],
            &by_change["changed"],
            &by_change["gone"]
        ),
        (&3.into(), &2.into(), &2.into(), &1.into()),
        "{stats}"
    );
}

#[test]
fn an_adaptive_recrawl_gives_each_url_its_own_interval_and_queues_what_is_due() {
    let crawled = news_site_crawled_then_edited();
    let url = |path: &str| crawled.server().url(NEWS_HOST, path);
    let interval = |path: &str| crawled.record(&url(path))["revisit_ms"].as_u64();
    let adaptive = |min: &str| {
        let flags = [
            "--json",
            "--revisit",
            "adaptive",
            "--revisit-after",
            "0",
            "--revisit-min",
            min,
            "--revisit-max",
            "8d",
            "--per-host-rate",
            "0",
        ];
        crawled.resume(&flags).success()
    };
    // The first adaptive pass takes every URL (none has an interval yet, and the first
    // is 0): each gets the shortest, but the gone page, which gets the longest.
    let first = adaptive("100ms");
    assert!(
        first.stderr().contains("revisit: 8 stored URLs due"),
        "{}",
        first.stderr()
    );
    let done = std::time::Instant::now();
    for path in ["/world", "/science", news::FRONT, "/new/1"] {
        assert_eq!(interval(path), Some(100), "{path}");
    }
    assert_eq!(interval("/sports"), Some(8 * 86_400_000));
    // Due by the clock: 100 ms after each visit, all of which ended before `done`.
    wait_until("the intervals of the first pass to pass", || {
        done.elapsed() > std::time::Duration::from_millis(150)
    });
    crawled
        .server()
        .edit_page(
            NEWS_HOST,
            "/world",
            Edit::Change("Elections: recount".into()),
        )
        .unwrap();
    let second = adaptive("10ms");
    // Due from the store's due index: every URL but the gone one.
    assert!(
        second.stderr().contains("revisit: 8 stored URLs due"),
        "{}",
        second.stderr()
    );
    // A change halves a URL's interval, no change makes it half as long again.
    assert_eq!(interval("/world"), Some(50));
    assert_eq!(interval("/science"), Some(150));
    assert_eq!(
        interval("/sports"),
        Some(8 * 86_400_000),
        "not due, not visited"
    );
}

#[test]
fn a_sitemaps_lastmod_brings_back_what_changed_before_it_is_due() {
    let crawled = news_site_crawled_then_edited();
    // Nothing is due a day after the first crawl: only the sitemap says what changed
    // (its `<lastmod>`s: `/` and `/world` were edited, `/sports` is gone from it).
    let sitemap = crawled.server().url(NEWS_HOST, news::SITEMAP);
    let flags = ["--json", "--revisit-after", "1d", "--per-host-rate", "0"];
    let with_sitemap = [&flags[..], &["--sitemap", &sitemap]].concat();
    let run = crawled.resume(&with_sitemap).success();
    assert!(
        run.stderr().contains("revisit: 0 stored URLs due"),
        "{}",
        run.stderr()
    );
    let revisits = &run.json()["revisits"];
    assert_eq!(
        (&revisits["revisited"], &revisits["changed"]),
        (&2.into(), &2.into()),
        "{revisits}"
    );
    let mut asked: Vec<String> = crawled
        .page_requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    asked.sort();
    assert_eq!(asked, ["/", "/new/1", "/sitemap.xml", "/world"]);
    let world = crawled
        .query("get", &[&crawled.server().url(NEWS_HOST, "/world")])
        .stdout();
    assert!(world.contains("Elections: results"), "{world}");
}

#[test]
fn a_recrawl_reads_a_sitemap_again_as_a_sitemap_once() {
    let scenario = Scenario::web(small_web()).seed_urls(&[("robots-sitemap.test", "/")]);
    let crawled = scenario.flags(&["--per-host-rate", "0"]).crawl();
    let stored = crawled.stored_urls().len() as u64;
    let index = crawled
        .server()
        .url("robots-sitemap.test", "/sitemaps/index.xml");
    assert_eq!(crawled.record(&index)["kind"], "sitemap:0");
    crawled.server().clear_log();
    // Everything is due. The index is queued by the pass (as a sitemap) and not a
    // second time when robots.txt names it again.
    let again = crawled.resume(&["--json", "--revisit-after", "0", "--per-host-rate", "0"]);
    let revisits = &again.success().json()["revisits"];
    assert_eq!(revisits["revisited"], stored, "{revisits}");
    let asked = crawled.page_requests();
    let index_asked = asked
        .iter()
        .filter(|r| r.path == "/sitemaps/index.xml")
        .count();
    assert_eq!(index_asked, 1, "{asked:?}");
    let record = crawled.record(&index);
    assert_eq!(record["kind"], "sitemap:0", "{record}");
    assert!(
        record["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Sitemap:")),
        "{record}"
    );
}

#[test]
fn a_sitemaps_changefreq_is_a_new_urls_first_interval() {
    let crawled = news_site_crawled_then_edited();
    let sitemap = crawled.server().url(NEWS_HOST, news::SITEMAP);
    // Nothing is due (a first interval of 30 days); the sitemap brings back `/` and
    // `/world` (edited) and lists the new page as changing hourly.
    let flags = [
        "--json",
        "--revisit",
        "adaptive",
        "--revisit-after",
        "30d",
        "--revisit-min",
        "1m",
        "--revisit-max",
        "60d",
        "--per-host-rate",
        "0",
        "--sitemap",
        &sitemap,
    ];
    crawled.resume(&flags).success();
    let interval = |path: &str| {
        let url = crawled.server().url(NEWS_HOST, path);
        crawled.record(&url)["revisit_ms"].as_u64()
    };
    assert_eq!(
        interval("/new/1"),
        Some(3_600_000),
        "hourly, as the sitemap says"
    );
    assert_eq!(
        interval("/world"),
        Some(15 * 86_400_000),
        "changed: half of 30 days"
    );
}
