//! Queries during a crawl: `stats`, `ls` and `get` on a store a crawl holds are
//! answered by that crawl (through the socket its lock-holder file names), with what
//! it has stored so far; after it ends, or after it was killed, they read the store
//! themselves.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crawler_tests::{run, wait_until, wait_until_holding, FixtureServer, WebConfig, Workspace};

use crate::CRAWLER;

/// A one-host web, a workspace, and a crawl of the web into the workspace's store
/// running in the background, held after `requests` requests.
fn held_crawl(requests: usize) -> (FixtureServer, Workspace, Child) {
    let server = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 40,
        page_bytes: 1_500,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    server.hold_after(requests);
    let crawl = start_crawl(&server, &ws.store(), &server.seeds());
    wait_until_holding(&server);
    (server, ws, crawl)
}

/// A crawl of `server`'s web into `store`, in the background.
fn start_crawl(server: &FixtureServer, store: &Path, seeds: &[String]) -> Child {
    Command::new(CRAWLER.path())
        .args(["crawl", "--no-progress", "--store"])
        .arg(store)
        .args(["--resolve", &server.resolve_arg()])
        .args(seeds)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The pages `server` has answered (robots.txt aside).
fn served_pages(server: &FixtureServer) -> BTreeSet<String> {
    server
        .log()
        .iter()
        .filter(|r| r.path != "/robots.txt")
        .map(|r| server.url(&r.host, &r.path))
        .collect()
}

fn listed(store: &str) -> BTreeSet<String> {
    run(CRAWLER, &["ls", "--store", store, "--json"])
        .success()
        .json_lines()
        .iter()
        .map(|page| page["url"].as_str().unwrap().to_owned())
        .collect()
}

fn stats(store: &str) -> serde_json::Value {
    run(CRAWLER, &["stats", "--store", store, "--json"])
        .success()
        .json()
}

#[test]
fn a_running_crawl_answers_stats_ls_and_get_with_what_it_stored_so_far() {
    // robots.txt and five pages, then the crawl is held with one request in flight.
    let (server, ws, mut crawl) = held_crawl(6);
    let store = ws.store();
    let store = store.to_str().unwrap();
    let served = served_pages(&server);
    assert_eq!(served.len(), 5, "{served:?}");

    // The pages answered are stored a moment after; the crawl's own counts say when.
    wait_until("the running crawl to report the 5 pages stored", || {
        stats(store)["responses"] == 5
    });
    let during = listed(store);
    assert_eq!(during, served, "ls lists what the crawl stored so far");
    let counted = stats(store);
    assert_eq!(counted["responses"], during.len());
    let root = server.url("h0.test", "/");
    let body = run(CRAWLER, &["get", "--store", store, &root]).success();
    assert!(body.stdout().contains("<html"), "{}", body.stdout());
    // What the crawl does not hold is an error, as it would be from the store.
    let missing = server.url("h0.test", "/never-linked");
    let refused = run(CRAWLER, &["get", "--store", store, &missing]);
    assert_eq!(refused.code(), Some(1), "{}", refused.stderr());
    assert!(
        refused.stderr().contains("is not in the store") && refused.stderr().contains(store),
        "{}",
        refused.stderr()
    );
    assert!(crawl.try_wait().unwrap().is_none(), "the crawl goes on");

    server.release();
    assert!(crawl.wait().unwrap().success());
    assert!(
        !Path::new(store).join("query.sock").exists(),
        "the socket goes with the crawl"
    );
    // The store itself, read directly now: a superset, with the same page read back.
    let after = listed(store);
    assert!(during.is_subset(&after), "{during:?} within {after:?}");
    assert_eq!(stats(store)["responses"], after.len());
    let again = run(CRAWLER, &["get", "--store", store, &root]).success();
    assert_eq!(again.stdout(), body.stdout());
}

#[test]
fn a_socket_left_by_a_killed_crawl_is_ignored_then_replaced() {
    let (server, ws, mut crawl) = held_crawl(3);
    let store = ws.store();
    let store = store.to_str().unwrap();
    crawl.kill().unwrap();
    crawl.wait().unwrap();
    assert!(
        Path::new(store).join("query.sock").exists(),
        "a killed crawl cannot remove its socket"
    );
    // The store is free: read directly, the dead crawl's socket is not asked.
    let stored = listed(store);
    assert_eq!(stats(store)["responses"], stored.len());

    // A crawl resumed on the store answers on a socket of its own. (The request the
    // killed crawl left held passes first, answered to no one.)
    server.hold_after(3);
    let mut resumed = start_crawl(&server, &ws.store(), &[]);
    wait_until_holding(&server);
    let during = listed(store);
    assert!(stored.is_subset(&during), "{stored:?} within {during:?}");
    server.release();
    assert!(resumed.wait().unwrap().success());
}
