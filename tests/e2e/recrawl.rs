//! Recrawls: `--revisit-after` fetches stored URLs again, conditionally, keeps what did
//! not change, and resumes like any crawl after a kill.

use std::path::Path;

use crawler_tests::{files_under, wait_until_holding, FixtureServer, Scenario, WebConfig};

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
    // A second pass finds nothing due a day after its last visit.
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
