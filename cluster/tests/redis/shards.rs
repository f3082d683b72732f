//! The layer on a Redis Cluster of three shards (`crawler_fixtures::RedisCluster`):
//! the same test bodies as on one server. The partitions' keys spread over the
//! shards, so a script given keys of two partitions would be refused (CROSSSLOT)
//! and a command sent to the wrong shard redirected: these pass only if every
//! script keeps to one slot and every pipeline is routed per key.

use crate::enqueue::eight_threads_queue_each_url_once;
use crate::fencing::a_lapsed_owner_is_fenced;
use crate::harness::{config, join, redis, redis_cluster};
use crate::totals::finished_only_when_nothing_is_queued_in_flight_or_leased;
use crawler_cluster::{ClusterError, Crawl};
use crawler_fixtures::RedisCluster;
use std::collections::BTreeMap;

#[test]
fn on_three_shards_each_url_is_queued_once_and_the_keys_spread_over_every_shard() {
    let Some(cluster) = redis_cluster() else {
        return;
    };
    eight_threads_queue_each_url_once(&cluster);
    for shard in cluster.shards() {
        assert!(
            keys_on(&shard.url()) > 0,
            "the shard on port {} holds none of the crawl",
            shard.port()
        );
    }
}

#[test]
fn on_three_shards_a_lapsed_owner_is_fenced() {
    let Some(cluster) = redis_cluster() else {
        return;
    };
    a_lapsed_owner_is_fenced(&cluster);
}

#[test]
fn on_three_shards_totals_backlog_and_the_end_of_the_crawl_hold() {
    let Some(cluster) = redis_cluster() else {
        return;
    };
    finished_only_when_nothing_is_queued_in_flight_or_leased(&cluster);
    found_out_from_any_shard_with_only_database_0(&cluster);
}

/// Any shard's URL leads to the whole cluster (the server says it is one); a plain
/// server is used as one; a cluster URL naming a database other than 0 is refused.
fn found_out_from_any_shard_with_only_database_0(cluster: &RedisCluster) {
    for shard in cluster.shards() {
        let (_, mut session) = join(config(shard, "found", "n1"));
        assert!(session.on_redis_cluster(), "{}", shard.url());
        // Every shard's append-only file is read, and every one keeps writes.
        assert!(session.durability().unwrap().aof);
    }
    if let Some(server) = redis() {
        assert!(!join(config(&server, "found", "n1")).1.on_redis_cluster());
    }
    let mut other_db = config(cluster, "found", "n1");
    other_db.url = other_db.url.replace("/0", "/3");
    match Crawl::open(other_db, &BTreeMap::new(), &[]) {
        Err(ClusterError::BadUrl { url, reason }) => {
            assert!(url.ends_with("/3"), "{url}");
            assert!(reason.contains("database 0"), "{reason}");
        }
        other => panic!("a cluster URL naming database 3 was taken: {other:?}"),
    }
}

/// Keys the server at `url` holds (one shard's, asked without the cluster client).
fn keys_on(url: &str) -> u64 {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    redis::cmd("DBSIZE").query(&mut conn).unwrap()
}
