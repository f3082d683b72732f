//! Politeness that holds when a host passes from one cluster node to another (issue
//! 23): its robots.txt rules, its `Crawl-delay` and a `Retry-After` pause go with its
//! partition through Redis, so the next owner neither asks for robots.txt again nor
//! comes back early. Judged from the fixture server's request log.

use std::collections::BTreeMap;
use std::time::Instant;

use crawler_core::cluster::{ClusterConfig, Crawl, Session};
use crawler_fixtures::manners::{
    busy_host, delay_host, MANNERS_CRAWL_DELAY, MANNERS_PAGES, MANNERS_RETRY_AFTER,
};
use crawler_fixtures::{FixtureServer, RedisServer, RequestRecord, WebConfig};
use crawler_tests::Workspace;

use crate::cluster::{node_args, redis, stored_count, wait_for, Node};

/// The fixture server (its synthetic web unused) and a seed file of `hosts`' roots.
fn serve(hosts: &[String]) -> (FixtureServer, Workspace, String) {
    let web = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 1,
        ..WebConfig::default()
    })
    .expect("the fixture server starts");
    let workspace = Workspace::new();
    let seeds = workspace.path("seeds.txt");
    let roots: Vec<String> = hosts.iter().map(|host| web.url(host, "/")).collect();
    std::fs::write(&seeds, roots.join("\n")).expect("the seed file is written");
    (web, workspace, seeds.display().to_string())
}

/// The server's log, by host, in arrival order.
fn requests_by_host(web: &FixtureServer) -> BTreeMap<String, Vec<RequestRecord>> {
    let mut by_host: BTreeMap<String, Vec<RequestRecord>> = BTreeMap::new();
    for record in web.log() {
        by_host.entry(record.host.clone()).or_default().push(record);
    }
    for records in by_host.values_mut() {
        records.sort_by_key(|r| r.start);
    }
    by_host
}

fn requested(web: &FixtureServer, host: &str, path: &str) -> usize {
    (web.log().iter())
        .filter(|r| r.host == host && r.path == path)
        .count()
}

/// Every `/p/{n}` of `hosts` was requested at least once: nothing was lost.
fn assert_every_page_fetched(web: &FixtureServer, hosts: &[String]) {
    for host in hosts {
        for n in 1..=MANNERS_PAGES {
            let path = format!("/p/{n}");
            assert!(
                requested(web, host, &path) >= 1,
                "{host}{path} never fetched"
            );
        }
    }
}

/// A node joins while the first crawls hosts with a robots.txt `Disallow` and
/// `Crawl-delay`: the hosts it takes over keep the rules the first node fetched (no
/// second robots.txt request, nothing disallowed fetched) and their delay, between
/// the two nodes' requests too.
#[test]
fn a_host_taken_over_keeps_its_robots_rules_and_crawl_delay() {
    let Some(redis) = redis() else { return };
    let hosts: Vec<String> = (0..24).map(delay_host).collect();
    let (web, workspace, seeds) = serve(&hosts);
    let store = |name: &str| workspace.path(name).display().to_string();
    let mut first = node_args(&redis, &web, "rules", "n1", &store("n1"));
    first.extend(["--seeds".to_string(), seeds]);
    let first = Node::start(&first);
    wait_for("every host's robots.txt and root fetched", || {
        (hosts.iter()).all(|host| requested(&web, host, "/") == 1)
    });
    let second = Node::start(&node_args(&redis, &web, "rules", "n2", &store("n2")));
    for node in [first, second] {
        let (code, stderr) = node.finish();
        assert_eq!(code, Some(0), "{stderr}");
    }

    assert!(
        stored_count(&store("n2")) > 0,
        "the joining node fetched nothing: the test shows no takeover"
    );
    assert_every_page_fetched(&web, &hosts);
    for (host, records) in requests_by_host(&web) {
        let robots = records.iter().filter(|r| r.path == "/robots.txt").count();
        assert_eq!(robots, 1, "{host}'s robots.txt was fetched {robots} times");
        let private: Vec<_> = (records.iter())
            .filter(|r| r.path.starts_with("/private"))
            .map(|r| &r.path)
            .collect();
        assert!(private.is_empty(), "{host}: disallowed {private:?} fetched");
        for pair in records.windows(2) {
            let gap = pair[1].start - pair[0].start;
            assert!(
                gap >= MANNERS_CRAWL_DELAY,
                "{host}: {} then {} only {gap:?} apart (Crawl-delay {MANNERS_CRAWL_DELAY:?})",
                pair[0].path,
                pair[1].path
            );
        }
    }
}

/// Whether the cluster holds a pause for every host of `hosts`.
fn pauses_shared(redis: &RedisServer, id: &str, web: &FixtureServer, hosts: &[String]) -> bool {
    let Ok(config) = ClusterConfig::new(&redis.url(), id) else {
        return false;
    };
    let Ok(Some(crawl)) = Crawl::existing(config) else {
        return false;
    };
    let Ok(mut session) = Session::open(&crawl) else {
        return false;
    };
    hosts.iter().all(|host| {
        let key = web.url(host, "");
        let p = crawl.partition_of(&key);
        session.shared_hosts(p, &[&key]).is_ok_and(|shared| {
            (shared.first()).is_some_and(|s| {
                s.state
                    .as_ref()
                    .is_some_and(|s| s.paused_until_ms.is_some())
            })
        })
    })
}

/// A node is killed while hosts it paused for their `Retry-After` wait; the node that
/// takes them over waits out the rest of the pause before asking again, and fetches
/// everything.
#[test]
fn a_retry_after_pause_holds_after_its_node_is_killed() {
    let Some(redis) = redis() else { return };
    let hosts: Vec<String> = (0..8).map(busy_host).collect();
    let (web, workspace, seeds) = serve(&hosts);
    let store = |name: &str| workspace.path(name).display().to_string();
    let with_retries = |mut args: Vec<String>| {
        args.extend(["--retries".to_string(), "0".to_string()]);
        args
    };
    let mut first = with_retries(node_args(&redis, &web, "pauses", "n1", &store("n1")));
    first.extend(["--seeds".to_string(), seeds]);
    let mut victim = Node::start(&first);
    wait_for("every host paused, and the pauses shared", || {
        (hosts.iter()).all(|host| requested(&web, host, "/busy") == 1)
            && pauses_shared(&redis, "pauses", &web, &hosts)
    });
    victim.child.kill().expect("the node is killed");
    let _ = victim.child.wait();
    if let Some(watchdog) = victim.watchdog.take() {
        let _ = watchdog.fired();
    }
    let killed_at = Instant::now();
    let heir = Node::start(&with_retries(node_args(
        &redis,
        &web,
        "pauses",
        "n2",
        &store("n2"),
    )));
    let (code, stderr) = heir.finish();
    assert_eq!(code, Some(0), "{stderr}");

    assert_every_page_fetched(&web, &hosts);
    let by_host = requests_by_host(&web);
    for host in &hosts {
        let records = &by_host[host];
        let busy =
            (records.iter().position(|r| r.path == "/busy")).expect("the pause was asked for");
        let next = records
            .get(busy + 1)
            .unwrap_or_else(|| panic!("{host}: nothing after the pause"));
        let waited = next.start - records[busy].start;
        assert!(
            waited >= MANNERS_RETRY_AFTER,
            "{host}: asked again {waited:?} after a Retry-After of {MANNERS_RETRY_AFTER:?}"
        );
        assert!(
            next.start > killed_at,
            "{host}: the killed node fetched after the pause, so no takeover was tested"
        );
    }
}
