//! Partitions spread evenly over the live nodes; a node leaving moves only its own.

use crate::harness::{config, join, redis};
use crawler_cluster::{Lease, Session};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

struct Node {
    session: Session,
    held: BTreeMap<u32, Lease>,
}

/// Rebalances the nodes in turn until a whole round moves nothing.
fn settle(nodes: &mut [Node]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut moved = false;
        for node in nodes.iter_mut() {
            let moves = node.session.rebalance(&mut node.held).unwrap();
            moved |=
                !(moves.claimed.is_empty() && moves.released.is_empty() && moves.lost.is_empty());
        }
        if !moved {
            return;
        }
        assert!(Instant::now() < deadline, "the nodes never settled");
    }
}

#[test]
fn three_nodes_share_the_partitions_evenly_and_a_leaver_moves_only_its_own() {
    let Some(server) = redis() else { return };
    let mut nodes: Vec<Node> = ["n1", "n2", "n3"]
        .iter()
        .map(|name| Node {
            session: join(config(&server, "shop", name)).1,
            held: BTreeMap::new(),
        })
        .collect();
    // They come up one after another, as real nodes would.
    for up in 1..=nodes.len() {
        settle(&mut nodes[..up]);
    }
    let partitions = nodes[0].session.crawl().partitions();
    let counts: Vec<usize> = nodes.iter().map(|n| n.held.len()).collect();
    assert_eq!(
        counts.iter().sum::<usize>(),
        partitions as usize,
        "{counts:?}"
    );
    assert!(
        counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1,
        "skew: {counts:?}"
    );
    // Redis agrees with what each node believes it holds.
    let leases = nodes[0].session.leases().unwrap();
    for node in &nodes {
        for (p, lease) in &node.held {
            assert_eq!(
                leases[*p as usize].owner.as_deref(),
                Some(lease.node.as_str())
            );
            assert_eq!(leases[*p as usize].epoch, lease.epoch);
        }
    }
    let totals = nodes[0].session.totals().unwrap();
    let shares: Vec<usize> = totals.nodes.iter().map(|n| n.partitions.len()).collect();
    assert_eq!(shares, counts);

    // n3 leaves cleanly: the others take its partitions and keep theirs.
    let mut leaver = nodes.pop().unwrap();
    for lease in std::mem::take(&mut leaver.held).values() {
        leaver.session.release(lease).unwrap();
    }
    leaver.session.leave().unwrap();
    let before: Vec<BTreeMap<u32, Lease>> = nodes.iter().map(|n| n.held.clone()).collect();
    settle(&mut nodes);
    for (node, before) in nodes.iter().zip(&before) {
        for (p, lease) in before {
            assert_eq!(
                node.held.get(p),
                Some(lease),
                "partition {p} moved off {}",
                lease.node
            );
        }
    }
    let counts: Vec<usize> = nodes.iter().map(|n| n.held.len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), partitions as usize);
    assert!(
        counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1,
        "skew: {counts:?}"
    );
}

#[test]
fn a_dead_nodes_partitions_pass_to_the_living_with_its_in_flight_entries() {
    let Some(server) = redis() else { return };
    let mut short = config(&server, "shop", "doomed");
    short.lease = Duration::from_millis(400);
    let mut doomed = Node {
        session: join(short).1,
        held: BTreeMap::new(),
    };
    let mut survivor = Node {
        session: join(config(&server, "shop", "survivor")).1,
        held: BTreeMap::new(),
    };
    settle(std::slice::from_mut(&mut doomed));
    settle(std::slice::from_mut(&mut survivor));
    let partitions = survivor.session.crawl().partitions() as usize;
    assert_eq!(
        doomed.held.len(),
        partitions,
        "the first node takes everything"
    );
    let all = crate::harness::urls(40, 400);
    assert_eq!(
        crate::harness::enqueue_all(&mut survivor.session, &all),
        400
    );
    let mut in_flight = 0;
    for lease in doomed.held.values() {
        in_flight += doomed
            .session
            .take(lease, 3, Duration::from_secs(600))
            .unwrap()
            .deliveries
            .len();
    }
    assert!(in_flight > 0);

    // The doomed node stops without a word (no release, no leave): once its
    // heartbeat and leases lapse, the survivor's rounds take every partition over.
    drop(doomed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while survivor.held.len() < partitions {
        survivor.session.rebalance(&mut survivor.held).unwrap();
        assert!(
            Instant::now() < deadline,
            "holds {} of {partitions}",
            survivor.held.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(survivor.session.live_nodes().unwrap(), ["survivor"]);
    let mut seen = std::collections::BTreeSet::new();
    for lease in survivor.held.values() {
        assert_eq!(lease.epoch, 2, "one takeover");
        for delivery in crate::harness::take_all(&mut survivor.session, lease) {
            assert!(seen.insert(delivery.payload().to_vec()), "handed out twice");
        }
    }
    assert_eq!(
        seen.len(),
        400,
        "every URL, the dead node's in-flight ones included"
    );
}
