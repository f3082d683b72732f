//! What Redis acknowledged survives its kill -9 and restart (append-only file).

use crate::harness::{claim_when_free, config, enqueue_all, join, redis, urls};
use crawler_cluster::Session;
use crawler_fixtures::RedisServer;
use std::time::Duration;

#[test]
fn what_redis_acknowledged_survives_a_kill_and_restart() {
    let Some(mut server) = redis() else { return };
    let (crawl, mut session) = join(config(&server, "shop", "n1"));
    let all = urls(20, 1000);
    assert_eq!(enqueue_all(&mut session, &all), 1000);
    let p = crawl.partition_of("h7.test");
    let (lease, _) = claim_when_free(&mut session, p);
    let taken = session
        .take(&lease, 10, Duration::from_secs(600))
        .unwrap()
        .deliveries;
    assert_eq!(taken.len(), 10);
    assert_eq!(session.ack(&lease, &taken[..4]).unwrap(), 4);
    let before = session.totals().unwrap();

    server.kill();
    assert!(session.queued(p).is_err(), "a killed Redis still answered");
    server.restart().unwrap();

    // The old session connects again on its next call; a new one sees the same.
    let after = session.totals().unwrap();
    assert_eq!(after, before);
    assert_eq!((after.seen, after.pages, after.in_flight), (1000, 4, 6));
    assert_eq!(after.queued, 1000 - 10);
    let mut fresh = Session::open(&crawl).unwrap();
    assert_eq!(enqueue_all(&mut fresh, &all), 0, "the seen-set survived");
    // The lease and its epoch survived too: the owner goes on writing.
    assert_eq!(session.ack(&lease, &taken[4..]).unwrap(), 6);
    session.renew(&lease).unwrap();
}

#[test]
fn a_node_can_tell_whether_redis_keeps_what_it_acknowledged() {
    let Some(server) = redis() else { return };
    let (_, mut session) = join(config(&server, "shop", "n1"));
    let durability = session.durability().unwrap();
    assert!(durability.aof);
    assert_eq!(durability.fsync.as_deref(), Some("everysec"));
    assert_eq!(durability.warning(), None);

    let volatile = RedisServer::start_with(None, &["--appendonly", "no"]).unwrap();
    let (_, mut session) = join(config(&volatile, "shop", "n1"));
    let durability = session.durability().unwrap();
    assert!(!durability.aof);
    let warning = durability.warning().unwrap();
    assert!(warning.contains("append-only file off"), "{warning}");
}
