//! A crawl shared by several crawler processes through Redis (`--cluster`, issue 23):
//! nodes started as a user starts them, against a real `redis-server` and the
//! fixture web, judged by the server's request log and the nodes' stores.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crawler_fixtures::{FixtureServer, RedisCluster, RedisServer, RedisUrl, WebConfig};
use crawler_tests::{request_counts, run, wait_until, CrawlerBinary, Watchdog, Workspace};

/// A fresh `redis-server`, or `None` (after saying so) when it is not installed
/// outside CI.
pub(super) fn redis() -> Option<RedisServer> {
    RedisServer::for_test(RedisServer::start())
}

/// A web of `hosts` hosts of 6 small pages.
fn web(hosts: usize) -> FixtureServer {
    FixtureServer::start(WebConfig {
        hosts,
        pages: 6,
        page_bytes: 800,
        links_per_page: 4,
    })
    .expect("the fixture server starts")
}

/// A web of `hosts` hosts, a workspace, and a seed file of the hosts' roots there.
fn web_with_seeds(hosts: usize) -> (FixtureServer, Workspace, String) {
    let web = web(hosts);
    let workspace = Workspace::new();
    let seeds = workspace.path("seeds.txt");
    std::fs::write(&seeds, web.seeds().join("\n")).expect("the seed file is written");
    (web, workspace, seeds.display().to_string())
}

/// Requests per second to one host in these tests: 50 ms apart.
const RATE: &str = "20";
const SPACING: Duration = Duration::from_millis(50);

/// The flags every node of crawl `id` is given.
pub(super) fn node_args(
    redis: &impl RedisUrl,
    web: &FixtureServer,
    id: &str,
    node: &str,
    store: &str,
) -> Vec<String> {
    node_args_at(RATE, redis, web, id, node, store)
}

/// [`node_args`] with another `--per-host-rate`.
fn node_args_at(
    rate: &str,
    redis: &impl RedisUrl,
    web: &FixtureServer,
    id: &str,
    node: &str,
    store: &str,
) -> Vec<String> {
    [
        "crawl",
        "--cluster",
        &redis.url(),
        "--crawl-id",
        id,
        "--node",
        node,
        "--store",
        store,
        "--resolve",
        &web.resolve_arg(),
        // Nodes without seeds learn the seeds' hosts from the cluster, not their
        // loopback addresses: allowed here as a user allows a private network.
        "--allow-address",
        "127.0.0.0/8",
        "--per-host-rate",
        rate,
        "--workers",
        "4",
        "--lease",
        "2",
        "--json",
        "--no-progress",
    ]
    .map(String::from)
    .to_vec()
}

/// A node started in the background.
pub(super) struct Node {
    pub(super) child: Child,
    pub(super) watchdog: Option<Watchdog>,
}

impl Node {
    pub(super) fn start(args: &[String]) -> Node {
        let child = Command::new(CrawlerBinary.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the crawler starts");
        let watchdog = Some(Watchdog::watch(child.id()));
        Node { child, watchdog }
    }

    /// Waits for the node's exit: its code, and what it printed on stderr.
    pub(super) fn finish(mut self) -> (Option<i32>, String) {
        let output = std::mem::replace(&mut self.child, dummy())
            .wait_with_output()
            .expect("the node is waited for");
        if let Some(watchdog) = self.watchdog.take() {
            assert!(!watchdog.fired(), "a node did not end and was killed");
        }
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// A test that fails leaves no node running.
impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A finished child to swap in for one being waited for.
fn dummy() -> Child {
    Command::new("true").spawn().expect("true runs")
}

/// The URLs a store holds.
fn stored(store: &str) -> BTreeSet<String> {
    run(CrawlerBinary.path(), &["ls", "--store", store, "--json"])
        .success()
        .json_lines()
        .iter()
        .filter_map(|line| line["url"].as_str().map(String::from))
        .collect()
}

/// Asserts `got` is `expected`, naming a few URLs missing or extra (not both whole
/// sets: they are hundreds of URLs).
fn same_urls(got: &BTreeSet<String>, expected: &BTreeSet<String>, what: &str) {
    let missing: Vec<_> = expected.difference(got).take(5).collect();
    let extra: Vec<_> = got.difference(expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} of {} expected URLs missing, e.g. {missing:?}; extra: {extra:?}",
        expected.difference(got).count(),
        expected.len()
    );
}

/// The shortest gap between two requests to one host, over every host.
fn shortest_gap(web: &FixtureServer) -> Duration {
    let mut by_host: BTreeMap<String, Vec<std::time::Instant>> = BTreeMap::new();
    for record in web.log() {
        by_host.entry(record.host).or_default().push(record.start);
    }
    by_host
        .values_mut()
        .flat_map(|starts| {
            starts.sort();
            starts
                .windows(2)
                .map(|pair| pair[1] - pair[0])
                .collect::<Vec<_>>()
        })
        .min()
        .unwrap_or(Duration::MAX)
}

/// Polls `ready` (each poll runs the crawler: a few a second) until it holds; panics
/// naming `what` after the harness's patience.
pub(super) fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let mut polls = 0u32;
    wait_until(what, || {
        polls += 1;
        // Every tenth call of the harness's 20 ms polls.
        polls % 10 == 1 && ready()
    });
}

/// What a `crawler` command printed as JSON, `None` when it printed none (a wait
/// asks before there is an answer).
fn json_of(args: &[&str]) -> Option<serde_json::Value> {
    let out = Command::new(CrawlerBinary.path())
        .args(args)
        .output()
        .expect("the crawler runs");
    serde_json::from_slice(&out.stdout).ok()
}

/// Whether `node` holds partitions of crawl `id` (false before the crawl exists).
fn holds_partitions(redis: &impl RedisUrl, id: &str, node: &str) -> bool {
    let url = redis.url();
    let Some(stats) = json_of(&["stats", "--cluster", &url, "--crawl-id", id, "--json"]) else {
        return false;
    };
    (stats["nodes"].as_array().into_iter().flatten())
        .any(|n| n["name"] == node && n["partitions"].as_array().is_some_and(|p| !p.is_empty()))
}

fn cluster_stats(redis: &impl RedisUrl, id: &str) -> serde_json::Value {
    run(
        CrawlerBinary.path(),
        &[
            "stats",
            "--cluster",
            &redis.url(),
            "--crawl-id",
            id,
            "--json",
        ],
    )
    .success()
    .json()
}

#[test]
fn three_nodes_fetch_every_page_once_spaced_per_host_and_all_end() {
    let Some(redis) = redis() else { return };
    three_nodes_fetch_every_page_once(&redis);
}

/// The same crawl on a Redis Cluster of three shards: the partitions' keys are
/// spread over the shards, and no script or transaction spans two of them.
#[test]
fn three_nodes_on_a_redis_cluster_of_three_shards_fetch_every_page_once_and_all_end() {
    let Some(cluster) = RedisCluster::for_test(RedisCluster::start()) else {
        return;
    };
    three_nodes_fetch_every_page_once(&cluster);
}

/// Three nodes, one given the seeds: together they fetch every page of 100 hosts
/// once, spaced per host across nodes, and each stops when the whole crawl is done.
fn three_nodes_fetch_every_page_once(redis: &impl RedisUrl) {
    let (web, workspace, seeds) = web_with_seeds(100);
    let stores: Vec<String> = (1..=3)
        .map(|i| workspace.path(&format!("n{i}")).display().to_string())
        .collect();
    // The nodes without seeds first: they wait for work, then share it.
    let mut nodes: Vec<Node> = (1..3)
        .map(|i| {
            Node::start(&node_args(
                redis,
                &web,
                "shop",
                &format!("n{}", i + 1),
                &stores[i],
            ))
        })
        .collect();
    wait_for("the seedless nodes holding partitions", || {
        holds_partitions(redis, "shop", "n2") && holds_partitions(redis, "shop", "n3")
    });
    let mut first = node_args(redis, &web, "shop", "n1", &stores[0]);
    first.extend(["--seeds".to_string(), seeds.clone()]);
    nodes.push(Node::start(&first));
    for node in nodes {
        let (code, stderr) = node.finish();
        assert_eq!(code, Some(0), "{stderr}");
        assert!(!stderr.contains("CROSSSLOT"), "{stderr}");
    }

    let counts = request_counts(&web.log());
    let pages: BTreeMap<_, _> = (counts.iter())
        .filter(|((_, path), _)| path != "/robots.txt")
        .collect();
    assert_eq!(pages.len(), 600, "every page of the web was fetched");
    assert!(
        pages.values().all(|&&n| n == 1),
        "a page was fetched twice: {:?}",
        pages.iter().filter(|(_, &&n)| n > 1).collect::<Vec<_>>()
    );
    let gap = shortest_gap(&web);
    assert!(
        gap >= SPACING.mul_f64(0.95),
        "two requests to one host {gap:?} apart, across nodes"
    );
    let mut union = BTreeSet::new();
    for store in &stores {
        union.extend(stored(store));
    }
    assert_eq!(
        union,
        web.expected_urls(),
        "the nodes' stores hold the crawl"
    );

    let stats = cluster_stats(redis, "shop");
    assert_eq!(stats["finished"], true, "{stats}");
    assert_eq!(stats["pages"], 600, "{stats}");
    assert_eq!(stats["queued"], 0, "{stats}");
    assert_eq!(stats["in_flight"], 0, "{stats}");
}

/// A node killed with SIGKILL mid-crawl: its partitions pass to the others when its
/// lease lapses, and every page is still fetched and stored by someone.
#[test]
fn a_node_killed_mid_crawl_loses_nothing() {
    let Some(redis) = redis() else { return };
    let (web, workspace, seeds) = web_with_seeds(60);
    let store = |i: usize| workspace.path(&format!("n{i}")).display().to_string();
    // The node to kill starts first, without seeds, so it holds partitions when the
    // seeds come.
    let mut victim = Node::start(&node_args(&redis, &web, "kill", "n2", &store(2)));
    wait_for("the first node holding partitions", || {
        holds_partitions(&redis, "kill", "n2")
    });
    let mut first = node_args(&redis, &web, "kill", "n1", &store(1));
    first.extend(["--seeds".to_string(), seeds.clone()]);
    let survivor = Node::start(&first);
    wait_for("the node to kill fetching", || stored_count(&store(2)) >= 5);
    victim.child.kill().expect("the node is killed");
    let _ = victim.child.wait();
    if let Some(watchdog) = victim.watchdog.take() {
        let _ = watchdog.fired();
    }
    let (code, stderr) = survivor.finish();
    assert_eq!(code, Some(0), "{stderr}");

    let fetched = pages_fetched(&web);
    same_urls(&fetched, &web.expected_urls(), "the pages fetched");
    // Restarted with its name and store, the killed node finds the crawl over and
    // exits; its store's last writes are applied on the way (a killed store keeps
    // them in its write log, which only a writer replays).
    let (code, stderr) = Node::start(&node_args(&redis, &web, "kill", "n2", &store(2))).finish();
    assert_eq!(code, Some(0), "{stderr}");
    let mut union = stored(&store(1));
    union.extend(stored(&store(2)));
    same_urls(&union, &web.expected_urls(), "the nodes' stores");
    let stats = cluster_stats(&redis, "kill");
    assert_eq!(stats["finished"], true, "{stats}");
}

/// Pages a node's store holds, read while the node runs (0 until it exists).
pub(super) fn stored_count(store: &str) -> usize {
    if !std::path::Path::new(store).exists() {
        return 0;
    }
    json_of(&["stats", "--store", store, "--json"])
        .and_then(|stats| stats["urls"].as_u64())
        .unwrap_or(0) as usize
}

/// An unreachable Redis: a clear error naming the URL, its password masked, exit 1,
/// nothing fetched.
#[test]
fn an_unreachable_redis_is_named_with_its_password_masked_and_nothing_is_fetched() {
    let web = web(2);
    let workspace = Workspace::new();
    let store = workspace.store().display().to_string();
    let seed = web.seeds()[0].clone();
    let outcome = run(
        CrawlerBinary.path(),
        &[
            "crawl",
            "--cluster",
            "redis://:hunter2@127.0.0.1:1/0",
            "--crawl-id",
            "shop",
            "--store",
            &store,
            "--resolve",
            &web.resolve_arg(),
            &seed,
        ],
    );
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let stderr = outcome.stderr();
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password was shown: {stderr}"
    );
    assert!(web.log().is_empty(), "nothing is fetched");
}

/// A node that joins with a crawl-wide setting other than the crawl's is refused
/// (exit 2, naming the flag); one that leaves it out takes the crawl's.
#[test]
fn a_node_joining_with_a_conflicting_setting_is_refused_naming_it() {
    let Some(redis) = redis() else { return };
    let web = web(2);
    let workspace = Workspace::new();
    let store = |i: usize| workspace.path(&format!("n{i}")).display().to_string();
    let mut first = node_args(&redis, &web, "depth", "n1", &store(1));
    first.extend(["--max-depth".into(), "1".into(), web.seeds()[0].clone()]);
    let args: Vec<&str> = first.iter().map(String::as_str).collect();
    run(CrawlerBinary.path(), &args).success();

    let mut second = node_args(&redis, &web, "depth", "n2", &store(2));
    second.extend(["--max-depth".into(), "3".into()]);
    let args: Vec<&str> = second.iter().map(String::as_str).collect();
    let refused = run(CrawlerBinary.path(), &args);
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr());
    assert!(
        refused
            .stderr()
            .contains("--max-depth 3 conflicts with crawl depth"),
        "{}",
        refused.stderr()
    );
}

/// The pages the log shows fetched (robots.txt files aside).
fn pages_fetched(web: &FixtureServer) -> BTreeSet<String> {
    (request_counts(&web.log()).keys())
        .filter(|(_, path)| path != "/robots.txt")
        .map(|(host, path)| web.url(host, path))
        .collect()
}

/// Pages fetched more than once, by the log.
fn pages_fetched_twice(web: &FixtureServer) -> usize {
    (request_counts(&web.log()).iter())
        .filter(|((_, path), &n)| path != "/robots.txt" && n > 1)
        .count()
}

/// How many partitions `node` holds (0 before the crawl exists).
fn partitions_held(redis: &impl RedisUrl, id: &str, node: &str) -> usize {
    let url = redis.url();
    let Some(stats) = json_of(&["stats", "--cluster", &url, "--crawl-id", id, "--json"]) else {
        return 0;
    };
    (stats["nodes"].as_array().into_iter().flatten())
        .filter(|n| n["name"] == node)
        .filter_map(|n| n["partitions"].as_array().map(Vec::len))
        .sum()
}

/// A node paused (SIGSTOP) past its lease: another takes its partitions over; when it
/// goes on (SIGCONT) its writes for them are refused, it drops them, and nothing is
/// fetched twice beyond what it had taken.
#[test]
fn a_node_paused_past_its_lease_is_fenced_and_drops_its_partitions() {
    let Some(redis) = redis() else { return };
    let (web, workspace, seeds) = web_with_seeds(60);
    let store = |i: usize| workspace.path(&format!("n{i}")).display().to_string();
    // Slow hosts: the crawl outlasts the pause.
    let args = |node: &str, i: usize| node_args_at("4", &redis, &web, "pause", node, &store(i));
    let paused = Node::start(&args("n2", 2));
    wait_for("the node to pause holding partitions", || {
        partitions_held(&redis, "pause", "n2") > 0
    });
    let mut first = args("n1", 1);
    first.extend(["--seeds".to_string(), seeds.clone()]);
    let mut other = Node::start(&first);
    wait_for("the node to pause fetching", || {
        stored_count(&store(2)) >= 5
    });
    let pid = libc::pid_t::try_from(paused.child.id()).expect("a pid");
    // SAFETY: kill only sends a signal to a child of this test; no memory is involved.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    // Or the other node is done already: it took them over, finished and left.
    wait_for("the other node taking every partition over", || {
        partitions_held(&redis, "pause", "n1") == 64
            || other.child.try_wait().is_ok_and(|status| status.is_some())
    });
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let (code, stderr) = paused.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("partition lost"),
        "the paused node noticed it lost its partitions: {stderr}"
    );
    let (code, stderr) = other.finish();
    assert_eq!(code, Some(0), "{stderr}");

    let fetched = pages_fetched(&web);
    same_urls(&fetched, &web.expected_urls(), "the pages fetched");
    // What the paused node had taken: its room of 64 deliveries at most.
    let twice = pages_fetched_twice(&web);
    assert!(twice <= 64, "{twice} pages fetched twice");
    let mut union = stored(&store(1));
    union.extend(stored(&store(2)));
    same_urls(&union, &web.expected_urls(), "the nodes' stores");
}

/// Redis killed (SIGKILL) and started again mid-crawl: the nodes wait, go on, write
/// again what it may have lost, and every page is fetched and stored.
#[test]
fn redis_killed_and_restarted_mid_crawl_loses_nothing() {
    let Some(mut redis) = redis() else { return };
    let (web, workspace, seeds) = web_with_seeds(60);
    let store = |i: usize| workspace.path(&format!("n{i}")).display().to_string();
    let second = Node::start(&node_args_at("4", &redis, &web, "crash", "n2", &store(2)));
    wait_for("the first node holding partitions", || {
        partitions_held(&redis, "crash", "n2") > 0
    });
    let mut first = node_args_at("4", &redis, &web, "crash", "n1", &store(1));
    first.extend(["--seeds".to_string(), seeds.clone()]);
    let first = Node::start(&first);
    wait_until("some pages fetched", || web.log().len() >= 100);
    redis.restart().expect("redis-server starts again");
    for node in [first, second] {
        let (code, stderr) = node.finish();
        assert_eq!(code, Some(0), "{stderr}");
    }
    let fetched = pages_fetched(&web);
    same_urls(&fetched, &web.expected_urls(), "the pages fetched");
    let mut union = stored(&store(1));
    union.extend(stored(&store(2)));
    same_urls(&union, &web.expected_urls(), "the nodes' stores");
    let stats = cluster_stats(&redis, "crash");
    assert_eq!(stats["finished"], true, "{stats}");
}

/// Ctrl-C on one node: its fetches finish, its partitions are released at once (not
/// after its 30-second lease), it exits 130, and the other node finishes the crawl.
#[test]
fn ctrl_c_on_a_node_releases_its_partitions_at_once_and_the_others_finish() {
    let Some(redis) = redis() else { return };
    let (web, workspace, seeds) = web_with_seeds(60);
    let store = |i: usize| workspace.path(&format!("n{i}")).display().to_string();
    let args = |node: &str, i: usize| {
        let mut args = node_args_at("4", &redis, &web, "stop", node, &store(i));
        let at = args
            .iter()
            .position(|a| a == "--lease")
            .expect("a --lease flag");
        args[at + 1] = "30".into();
        args
    };
    let stopped = Node::start(&args("n2", 2));
    wait_for("the node to stop holding partitions", || {
        partitions_held(&redis, "stop", "n2") > 0
    });
    let mut first = args("n1", 1);
    first.extend(["--seeds".to_string(), seeds.clone()]);
    let other = Node::start(&first);
    wait_for("the node to stop fetching", || stored_count(&store(2)) >= 5);
    let pid = libc::pid_t::try_from(stopped.child.id()).expect("a pid");
    // SAFETY: kill only sends a signal to a child of this test; no memory is involved.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let (code, stderr) = stopped.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        partitions_held(&redis, "stop", "n2"),
        0,
        "its leases were released as it exited"
    );
    let (code, stderr) = other.finish();
    assert_eq!(code, Some(0), "{stderr}");
    same_urls(
        &pages_fetched(&web),
        &web.expected_urls(),
        "the pages fetched",
    );
    let mut union = stored(&store(1));
    union.extend(stored(&store(2)));
    same_urls(&union, &web.expected_urls(), "the nodes' stores");
}

/// A node that joins a running crawl gets partitions from the node already at work
/// (once what that node took from them is stored), fetches its share, and nothing is
/// fetched twice.
#[test]
fn a_node_joining_a_running_crawl_gets_its_share_and_nothing_is_fetched_twice() {
    let Some(redis) = redis() else { return };
    let (web, workspace, seeds) = web_with_seeds(60);
    let store = |i: usize| workspace.path(&format!("n{i}")).display().to_string();
    let mut first = node_args_at("4", &redis, &web, "join", "n1", &store(1));
    first.extend(["--seeds".to_string(), seeds.clone()]);
    let first = Node::start(&first);
    wait_for("the first node fetching", || stored_count(&store(1)) >= 20);
    let late = Node::start(&node_args_at("4", &redis, &web, "join", "n2", &store(2)));
    for node in [first, late] {
        let (code, stderr) = node.finish();
        assert_eq!(code, Some(0), "{stderr}");
    }
    let stats = cluster_stats(&redis, "join");
    let late_pages = (stats["nodes"].as_array().into_iter().flatten())
        .find(|n| n["name"] == "n2")
        .and_then(|n| n["pages"].as_u64())
        .unwrap_or(0);
    assert!(late_pages > 0, "the late node fetched nothing: {stats}");
    same_urls(
        &pages_fetched(&web),
        &web.expected_urls(),
        "the pages fetched",
    );
    assert_eq!(pages_fetched_twice(&web), 0, "a page was fetched twice");
}
