//! Commands a running crawl does not answer (`links`, `export`, another `crawl`; it
//! answers `stats`, `ls` and `get`: see `live_queries.rs`): refused at once with a
//! message that names the store and the running crawl; the crawl is not disturbed.

use crawler_tests::{run, wait_until_holding, FixtureServer, WebConfig, Workspace};
use std::process::{Command, Stdio};

use crate::CRAWLER;

#[test]
fn queries_during_a_crawl_fail_at_once_naming_the_crawl() {
    let server = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 100,
        page_bytes: 2_000,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    let store_arg = store.to_str().unwrap();
    // The server answers robots.txt and two pages, then holds the crawl still: it
    // holds the store for as long as the queries take.
    server.hold_after(3);
    let mut crawl = Command::new(CRAWLER)
        .args(["crawl", "--store", store_arg, "--no-progress"])
        .args(["--resolve", &server.resolve_arg()])
        .args(server.seeds())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_holding(&server);

    let root = server.url("h0.test", "/");
    let queries: [&[&str]; 3] = [
        &["links", "--store", store_arg],
        &["export", "--store", store_arg, "--format", "jsonl"],
        &["crawl", "--store", store_arg, &root],
    ];
    for args in queries {
        // `run` fails a query that waits for the crawl (which never ends while held).
        let out = run(CRAWLER, args);
        assert_eq!(out.code(), Some(1), "{args:?}: {}", out.stderr());
        let message = out.stderr();
        assert!(
            message.contains(store_arg),
            "{args:?} must name the store: {message}"
        );
        assert!(message.contains("in use"), "{message}");
        assert!(
            message.contains(&format!("pid {}", crawl.id())) && message.contains("crawler crawl"),
            "{args:?} must name the running crawl: {message}"
        );
        assert_eq!(message.lines().count(), 1, "one clear line: {message}");
    }
    assert!(
        crawl.try_wait().unwrap().is_none(),
        "the crawl goes on undisturbed"
    );

    // Killed mid-crawl, the store opens again and holds only pages the server sent.
    crawl.kill().unwrap();
    crawl.wait().unwrap();
    server.release();
    let pages = run(CRAWLER, &["ls", "--store", store_arg, "--json"])
        .success()
        .json_lines();
    let served: Vec<String> = server
        .log()
        .iter()
        .map(|r| server.url(&r.host, &r.path))
        .collect();
    for page in &pages {
        let url = page["url"].as_str().unwrap();
        assert!(served.iter().any(|s| s == url), "{url} was never served");
    }
    run(CRAWLER, &["stats", "--store", store_arg]).success();
}
