//! Hosts' robots.txt and politeness state, shared with the host's partition: written by
//! its owner many hosts at a time, read by the next owner, refused from a stale one.

use crate::harness::{claim_when_free, config, join, redis};
use crawler_cluster::{ClusterError, HostState, RobotsState, SharedHost};
use std::time::Duration;

#[test]
fn an_owner_shares_many_hosts_in_one_call_and_the_next_owner_reads_them() {
    let Some(server) = redis() else { return };
    let mut a_config = config(&server, "manners", "node-a");
    a_config.lease = Duration::from_millis(300);
    let (crawl, mut a) = join(a_config);
    let (_, mut b) = join(config(&server, "manners", "node-b"));
    let p = crawl.partition_of("http://h1.test");
    let (a_lease, _) = claim_when_free(&mut a, p);

    let rules = |n: u64| RobotsState {
        fetched_at_ms: n,
        status: 0,
        body: format!("D\t{n}\t/private\t/private\n"),
    };
    let paused = HostState {
        paused_until_ms: Some(9_000),
        backoff_level: 2,
        ..HostState::default()
    };
    a.store_politeness(
        &a_lease,
        &[("http://h1.test", rules(1)), ("http://h2.test", rules(2))],
        &[("http://h2.test", paused.clone())],
    )
    .unwrap();

    let (b_lease, _) = claim_when_free(&mut b, p);
    let read = b
        .shared_hosts(p, &["http://h1.test", "http://h2.test", "http://h3.test"])
        .unwrap();
    assert_eq!(
        read,
        vec![
            SharedHost {
                robots: Some(rules(1)),
                state: None
            },
            SharedHost {
                robots: Some(rules(2)),
                state: Some(paused)
            },
            SharedHost::default(),
        ]
    );

    // The old owner can no longer write; the new one can.
    let stale = a.store_politeness(&a_lease, &[("http://h1.test", rules(7))], &[]);
    assert!(
        matches!(stale, Err(ClusterError::Fenced { .. })),
        "{stale:?}"
    );
    b.store_politeness(&b_lease, &[("http://h1.test", rules(8))], &[])
        .unwrap();
    let read = b.shared_hosts(p, &["http://h1.test"]).unwrap();
    assert_eq!(read[0].robots, Some(rules(8)));
}
