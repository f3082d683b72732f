//! Dead letters (issue 23): an entry the cluster handed out `--max-deliveries` times
//! without any node recording it is given up, and recorded as `dead-letter` in the
//! store of the node that gave it up, so nothing is lost without a trace.

use std::collections::BTreeSet;
use std::time::Duration;

use crawler_fixtures::{FixtureServer, WebConfig};
use crawler_tests::{run, CrawlerBinary, Workspace};

use crate::cluster::{node_args, redis, Node};

/// The URLs a store holds with this error.
fn with_error(store: &str, error: Option<&str>) -> BTreeSet<String> {
    let mut args = vec!["ls", "--store", store, "--json"];
    if let Some(error) = error {
        args.extend(["--error", error]);
    }
    run(CrawlerBinary.path(), &args)
        .success()
        .json_lines()
        .iter()
        .filter_map(|line| line["url"].as_str().map(String::from))
        .collect()
}

/// A node dies holding deliveries that were already handed out as often as the crawl
/// allows (`--max-deliveries 1`); the node that takes its partitions over gives them
/// up instead of fetching them, records each as `dead-letter`, and the crawl ends with
/// every URL accounted for.
#[test]
fn entries_delivered_too_often_are_recorded_as_dead_letters() {
    let Some(redis) = redis() else { return };
    let web = FixtureServer::start(WebConfig {
        hosts: 10,
        pages: 6,
        page_bytes: 800,
        links_per_page: 4,
    })
    .expect("the fixture server starts");
    let workspace = Workspace::new();
    let seeds = workspace.path("seeds.txt");
    std::fs::write(&seeds, web.seeds().join("\n")).expect("the seed file is written");
    let store = |name: &str| workspace.path(name).display().to_string();
    let args = |node: &str| {
        let mut args = node_args(&redis, &web, "dead", node, &store(node));
        args.extend(["--max-deliveries".to_string(), "1".to_string()]);
        args
    };

    web.hold_after(20);
    let mut first = args("n1");
    first.extend(["--seeds".to_string(), seeds.display().to_string()]);
    let mut victim = Node::start(&first);
    assert!(
        web.wait_until_holding(Duration::from_secs(60)),
        "the first node never got 20 pages in"
    );
    victim.child.kill().expect("the node is killed");
    let _ = victim.child.wait();
    if let Some(watchdog) = victim.watchdog.take() {
        let _ = watchdog.fired();
    }
    web.release();
    let (code, stderr) = Node::start(&args("n2")).finish();
    assert_eq!(code, Some(0), "{stderr}");

    let dead = with_error(&store("n2"), Some("dead-letter"));
    assert!(!dead.is_empty(), "no dead letter recorded: {stderr}");
    // The log names the first ten and counts the rest.
    let named = (stderr.lines())
        .filter(|line| line.contains("dead-lettered") && line.contains("url="))
        .count();
    assert_eq!(named, dead.len().min(10), "{stderr}");
    if dead.len() > 10 {
        assert!(stderr.contains("more URLs dead-lettered"), "{stderr}");
    }
    let stats = json_stats(&redis.url());
    assert_eq!(
        stats["dead_letters"].as_u64(),
        Some(dead.len() as u64),
        "{stats}"
    );
    assert_eq!(stats["finished"], true, "{stats}");
    // Given up, not fetched again by the heir: at most the killed node's one request.
    let log = web.log();
    for url in &dead {
        let requests = (log.iter())
            .filter(|r| *url == web.url(&r.host, &r.path))
            .count();
        assert!(
            requests <= 1,
            "{url} was dead-lettered and fetched {requests} times"
        );
    }
    // Every URL requested is accounted for: stored by a node, or a dead letter (the
    // held requests the killed node never stored are).
    let mut union = with_error(&store("n1"), None);
    union.extend(with_error(&store("n2"), None));
    let requested: BTreeSet<String> = (log.iter())
        .filter(|r| r.path != "/robots.txt")
        .map(|r| web.url(&r.host, &r.path))
        .collect();
    let missing: Vec<_> = requested.difference(&union).collect();
    assert!(missing.is_empty(), "lost without a trace: {missing:?}");
}

fn json_stats(url: &str) -> serde_json::Value {
    run(
        CrawlerBinary.path(),
        &["stats", "--cluster", url, "--crawl-id", "dead", "--json"],
    )
    .success()
    .json()
}
