//! A node whose lease lapsed cannot write for the partition once another took it.

use crate::harness::{claim_when_free, config, join, redis, take_all};
use crawler_cluster::{Claim, ClusterError, Entry, HostState, RobotsState};
use crawler_fixtures::RedisUrl;
use std::time::Duration;

#[test]
fn a_lapsed_owner_is_fenced_and_its_in_flight_entries_pass_to_the_new_owner() {
    let Some(server) = redis() else { return };
    a_lapsed_owner_is_fenced(&server);
}

/// Node A's lease lapses and node B takes the partition over: every write A makes
/// for it after (ack, retry, take, enqueue, politeness, robots.txt, renew, release)
/// is refused naming the new epoch and owner, and B gets A's in-flight entries.
pub fn a_lapsed_owner_is_fenced(server: &impl RedisUrl) {
    let mut a_config = config(server, "shop", "node-a");
    a_config.lease = Duration::from_millis(300);
    let (crawl, mut a) = join(a_config);
    let (_, mut b) = join(config(server, "shop", "node-b"));
    let p = crawl.partition_of("h1.test");

    let (a_lease, _) = claim_when_free(&mut a, p);
    assert!(matches!(b.claim(p).unwrap(), Claim::Held { ref owner, .. } if owner == "node-a"));
    let entries: Vec<Entry> = (0..5)
        .map(|i| Entry::new(&format!("http://h1.test/{i}"), format!("{i}")))
        .collect();
    b.enqueue(p, &entries).unwrap();
    let a_taken = a
        .take(&a_lease, 3, Duration::from_secs(600))
        .unwrap()
        .deliveries;
    assert_eq!(a_taken.len(), 3);
    let before = HostState {
        next_fetch_ms: 1_000,
        ..HostState::default()
    };
    a.store_host(&a_lease, "h1.test", &before).unwrap();

    // A stops renewing; B takes over once A's lease lapses.
    let (b_lease, requeued) = claim_when_free(&mut b, p);
    assert_eq!(
        b_lease.epoch,
        a_lease.epoch + 1,
        "a takeover increments the epoch"
    );
    assert_eq!(requeued, 3, "A's in-flight entries went back to the queue");

    let fenced = |result: Result<(), ClusterError>, what: &str| match result {
        Err(ClusterError::Fenced {
            partition,
            epoch,
            current,
            owner,
        }) => {
            assert_eq!(
                (partition, epoch, current),
                (p, a_lease.epoch, b_lease.epoch),
                "{what}"
            );
            assert_eq!(owner, "node-b", "{what}");
        }
        other => panic!("{what}: {other:?}"),
    };
    fenced(a.ack(&a_lease, &a_taken).map(drop), "ack");
    fenced(a.retry(&a_lease, &a_taken).map(drop), "retry");
    fenced(
        a.take(&a_lease, 1, Duration::from_secs(1)).map(drop),
        "take",
    );
    fenced(
        a.enqueue_as_owner(&a_lease, &[Entry::new("http://h1.test/new", "new")])
            .map(drop),
        "enqueue",
    );
    let later = HostState {
        next_fetch_ms: 1,
        ..HostState::default()
    };
    fenced(a.store_host(&a_lease, "h1.test", &later), "politeness");
    let robots = RobotsState {
        fetched_at_ms: 5,
        status: 200,
        body: "User-agent: *\nDisallow: /private".into(),
    };
    fenced(a.store_robots(&a_lease, "h1.test", &robots), "robots.txt");
    fenced(a.renew(&a_lease), "renew");
    fenced(a.release(&a_lease).map(drop), "release");
    let err = a.renew(&a_lease).unwrap_err().to_string();
    assert!(
        err.contains("stale") && err.contains(&format!("partition {p}")),
        "{err}"
    );

    // Nothing A tried after the takeover took effect; B gets all five, A's three
    // delivered for the second time.
    assert_eq!(b.hosts(p, &["h1.test"]).unwrap(), [Some(before.clone())]);
    let b_taken = take_all(&mut b, &b_lease);
    assert_eq!(b_taken.len(), 5);
    let mut payloads: Vec<&[u8]> = b_taken.iter().map(|d| d.payload()).collect();
    payloads.sort();
    assert_eq!(payloads, [b"0", b"1", b"2", b"3", b"4"]);
    let twice: Vec<&[u8]> = b_taken
        .iter()
        .filter(|d| d.deliveries() == 2)
        .map(|d| d.payload())
        .collect();
    assert_eq!(twice.len(), 3);
    assert_eq!(b.ack(&b_lease, &b_taken).unwrap(), 5);
    b.store_host(&b_lease, "h1.test", &later).unwrap();
    assert_eq!(b.hosts(p, &["h1.test"]).unwrap(), [Some(later)]);
    assert_eq!(b.robots(p, "h1.test").unwrap(), None);
    b.store_robots(&b_lease, "h1.test", &robots).unwrap();
    assert_eq!(
        a.robots(p, "h1.test").unwrap(),
        Some(robots),
        "anyone reads it"
    );
    assert_eq!(b.in_flight(p).unwrap(), 0);
}

#[test]
fn a_live_owner_renews_and_a_restarted_node_takes_its_own_partitions_back() {
    let Some(server) = redis() else { return };
    let (crawl, mut a) = join(config(&server, "shop", "node-a"));
    let p = crawl.partition_of("h2.test");
    let (lease, _) = claim_when_free(&mut a, p);
    a.renew(&lease).unwrap();
    a.enqueue(p, &[Entry::new("http://h2.test/", "root")])
        .unwrap();
    assert_eq!(
        a.take(&lease, 5, Duration::from_secs(600))
            .unwrap()
            .deliveries
            .len(),
        1
    );

    // The same node name in a new process: no waiting out its own lease, and what
    // the old process had in flight is queued again.
    let (_, mut restarted) = join(config(&server, "shop", "node-a"));
    let Claim::Won {
        lease: again,
        requeued,
    } = restarted.claim(p).unwrap()
    else {
        panic!("a node's own lease held it off");
    };
    assert_eq!((again.epoch, requeued), (lease.epoch + 1, 1));
    assert!(matches!(a.renew(&lease), Err(ClusterError::Fenced { .. })));
    // Released: free for anyone at once, and the epoch stays.
    assert_eq!(restarted.release(&again).unwrap(), 0);
    let (_, mut other) = join(config(&server, "shop", "node-b"));
    let Claim::Won {
        lease: third,
        requeued,
    } = other.claim(p).unwrap()
    else {
        panic!("a released partition was still held");
    };
    assert_eq!((third.epoch, requeued), (again.epoch + 1, 0));
}
