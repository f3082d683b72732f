//! What every test starts from: a Redis (one server, or a Redis Cluster of three
//! shards), a crawl on it, sessions as named nodes.

use crawler_cluster::{ClusterConfig, Crawl, Entry, Lease, Session};
use crawler_fixtures::{RedisCluster, RedisServer, RedisServerError, RedisUrl};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A fresh `redis-server`, or `None` (after saying so) when it is not installed
/// outside CI.
pub fn redis() -> Option<RedisServer> {
    redis_with(None)
}

/// A fresh Redis Cluster of three shards, or `None` as for [`redis`].
pub fn redis_cluster() -> Option<RedisCluster> {
    RedisCluster::for_test(RedisCluster::start())
}

/// [`redis`] requiring a password.
pub fn redis_with(password: Option<&str>) -> Option<RedisServer> {
    available(RedisServer::start_with(password, &[]))
}

/// The started server, or `None` (after saying so) when `redis-server` is not
/// installed outside CI.
pub fn available(started: Result<RedisServer, RedisServerError>) -> Option<RedisServer> {
    RedisServer::for_test(started)
}

/// A configuration for `node` in crawl `crawl_id` on `server` (or cluster).
pub fn config(server: &impl RedisUrl, crawl_id: &str, node: &str) -> ClusterConfig {
    let mut config = ClusterConfig::new(&server.url(), crawl_id).unwrap();
    config.node = node.to_string();
    config
}

/// Opens the crawl (no settings) as `config` says, with one session.
pub fn join(config: ClusterConfig) -> (Crawl, Session) {
    let crawl = Crawl::open(config, &BTreeMap::new(), &[]).unwrap();
    let session = Session::open(&crawl).unwrap();
    (crawl, session)
}

/// `count` URLs on `hosts` hosts: `(host, url)`.
pub fn urls(hosts: usize, count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let host = format!("h{}.test", i % hosts);
            let url = format!("http://{host}/page/{i}");
            (host, url)
        })
        .collect()
}

/// Enqueues `urls` grouped by partition (one call each); returns how many were new.
pub fn enqueue_all(session: &mut Session, urls: &[(String, String)]) -> usize {
    let mut by_partition: BTreeMap<u32, Vec<Entry>> = BTreeMap::new();
    for (host, url) in urls {
        let p = session.crawl().partition_of(host);
        by_partition
            .entry(p)
            .or_default()
            .push(Entry::new(url, url.as_bytes()));
    }
    by_partition
        .into_iter()
        .map(|(p, entries)| {
            session
                .enqueue(p, &entries)
                .unwrap()
                .into_iter()
                .filter(|&new| new)
                .count()
        })
        .sum()
}

/// Claims `partition`, waiting (with a deadline) for another node's lease to lapse.
pub fn claim_when_free(session: &mut Session, partition: u32) -> (Lease, u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match session.claim(partition).unwrap() {
            crawler_cluster::Claim::Won { lease, requeued } => return (lease, requeued),
            crawler_cluster::Claim::Held { owner, .. } => {
                assert!(
                    Instant::now() < deadline,
                    "partition {partition} still held by {owner}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Takes everything queued in `lease`'s partition.
pub fn take_all(session: &mut Session, lease: &Lease) -> Vec<crawler_cluster::Delivery> {
    let mut all = Vec::new();
    loop {
        let taken = session.take(lease, 500, Duration::from_secs(600)).unwrap();
        assert!(taken.dead.is_empty());
        if taken.deliveries.is_empty() {
            return all;
        }
        all.extend(taken.deliveries);
    }
}
