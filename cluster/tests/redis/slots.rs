//! Redis Cluster safety: no script or command touches two hash slots.
//!
//! A one-node Redis Cluster that serves every slot enforces the cluster's rules
//! (a multi-key command or a script whose keys hash to different slots is refused
//! with CROSSSLOT) without redirecting anything, so the plain client can run every
//! operation on it and any operation that would fail on a real cluster fails here.

use crate::harness::{claim_when_free, config, enqueue_all, join, urls};
use crawler_cluster::{Entry, HostState};
use crawler_fixtures::RedisServer;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[test]
fn every_operation_keeps_to_one_hash_slot() {
    let cluster_args = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
    ];
    let Some(server) = crate::harness::available(RedisServer::start_with(None, &cluster_args))
    else {
        return;
    };
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query(&mut admin)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut admin).unwrap();
        if info.contains("cluster_state:ok") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the one-node cluster never came up: {info}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The rule is enforced: a script over two partitions is refused.
    let crossed: redis::RedisResult<()> = redis::cmd("EVAL")
        .arg("redis.call('SET', KEYS[1], 1); redis.call('SET', KEYS[2], 1)")
        .arg(2)
        .arg("crawl:x:{p0}:a")
        .arg("crawl:x:{p1}:a")
        .query(&mut admin);
    assert!(crossed.is_err(), "a cross-slot script ran");

    let (crawl, mut session) = join(config(&server, "shop", "n1"));
    assert_eq!(enqueue_all(&mut session, &urls(30, 3000)), 3000);
    let mut held = BTreeMap::new();
    session.rebalance(&mut held).unwrap();
    assert_eq!(held.len() as u32, crawl.partitions());
    let p = crawl.partition_of("h1.test");
    let lease = held[&p].clone();
    let taken = session
        .take(&lease, 20, Duration::from_secs(600))
        .unwrap()
        .deliveries;
    assert_eq!(session.ack(&lease, &taken[..10]).unwrap(), 10);
    assert_eq!(session.retry(&lease, &taken[10..]).unwrap(), 10);
    session
        .enqueue_as_owner(&lease, &[Entry::new("http://h1.test/again", "x")])
        .unwrap();
    session
        .store_host(&lease, "h1.test", &HostState::default())
        .unwrap();
    session.requeue_expired(&lease).unwrap();
    session.renew(&lease).unwrap();
    let totals = session.totals().unwrap();
    assert_eq!((totals.pages, totals.queued), (10, 3000 - 10 + 1));
    session.durability().unwrap();
    for lease in held.values() {
        session.release(lease).unwrap();
    }
    let (lease, _) = claim_when_free(&mut session, p);
    assert_eq!(lease.epoch, 2);
}
