//! Cluster-wide totals, and knowing when the crawl is over.

use crate::harness::{config, enqueue_all, join, redis, urls};
use crawler_fixtures::RedisUrl;
use std::collections::BTreeMap;
use std::time::Duration;

#[test]
fn the_crawl_is_finished_only_when_nothing_is_queued_in_flight_or_leased() {
    let Some(server) = redis() else { return };
    finished_only_when_nothing_is_queued_in_flight_or_leased(&server);
}

/// Two nodes share 120 URLs of 12 hosts: the totals, the backlog and `finished`
/// follow every step (enqueue, balance, take, ack, release).
pub fn finished_only_when_nothing_is_queued_in_flight_or_leased(server: &impl RedisUrl) {
    let (crawl, mut a) = join(config(server, "shop", "node-a"));
    let (_, mut b) = join(config(server, "shop", "node-b"));
    let mut held_a = BTreeMap::new();
    let mut held_b = BTreeMap::new();
    assert!(
        a.totals().unwrap().finished,
        "nothing queued, nothing leased"
    );
    a.rebalance(&mut held_a).unwrap();
    assert!(!a.totals().unwrap().finished, "leased");
    assert_eq!(enqueue_all(&mut b, &urls(12, 120)), 120);
    let (backlog, seeded) = a.backlog().unwrap();
    assert_eq!(backlog.len() as u32, crawl.partitions());
    assert_eq!(backlog.iter().map(|p| p.queued).sum::<u64>(), 120);
    assert!(!seeded, "no node said the crawl was seeded");
    b.mark_seeded().unwrap();
    assert!(a.backlog().unwrap().1, "seeded");
    // b joins: a hands over half, b claims it.
    b.rebalance(&mut held_b).unwrap();
    a.rebalance(&mut held_a).unwrap();
    b.rebalance(&mut held_b).unwrap();
    assert_eq!(held_a.len() + held_b.len(), crawl.partitions() as usize);

    let mut fetched = 0;
    for (session, held) in [(&mut a, &held_a), (&mut b, &held_b)] {
        for lease in held.values() {
            let taken = session.take(lease, 1000, Duration::from_secs(600)).unwrap();
            let totals = session.totals().unwrap();
            assert!(!totals.finished || taken.deliveries.is_empty());
            fetched += session.ack(lease, &taken.deliveries).unwrap();
        }
    }
    assert_eq!(fetched, 120);
    let (backlog, _) = b.backlog().unwrap();
    assert!(
        backlog.iter().all(|p| p.queued == 0 && p.in_flight == 0),
        "{backlog:?}"
    );
    let totals = a.totals().unwrap();
    assert_eq!((totals.pages, totals.queued, totals.in_flight), (120, 0, 0));
    assert!(!totals.finished, "partitions are still leased");
    let pages: BTreeMap<&str, u64> = totals
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.pages))
        .collect();
    assert_eq!(pages.values().sum::<u64>(), 120);
    assert!(
        totals
            .nodes
            .iter()
            .all(|n| n.live && !n.partitions.is_empty()),
        "{:?}",
        totals.nodes
    );

    for lease in held_a.values() {
        a.release(lease).unwrap();
    }
    assert!(
        !b.totals().unwrap().finished,
        "node-b still holds partitions"
    );
    for lease in held_b.values() {
        b.release(lease).unwrap();
    }
    let totals = b.totals().unwrap();
    assert!(totals.finished, "{totals:?}");
    assert_eq!(totals.pages, 120, "pages outlive the leases");
}
