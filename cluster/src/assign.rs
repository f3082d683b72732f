//! Which live node should own which partition: [`plan`].
//!
//! Pure rendezvous hashing (each partition to the node with the highest
//! `hash(node, partition)`) moves few partitions on a join or leave, but with 64
//! partitions over 4 nodes its busiest node gets about 1.4 times the mean, and the
//! cluster is only as fast as its busiest node. So the plan gives each live node a
//! quota (`P / n`, the remainder to the nodes that already own most), lets every
//! node keep what it owns up to its quota (its best-ranked partitions first), and
//! hands the rest to the best-ranked node with room. Hence:
//!
//! - balance: owned counts differ by at most one;
//! - a node leaving moves only its own partitions (no quota shrinks when a node
//!   leaves);
//! - a node joining takes only what the others have beyond their new quotas.
//!
//! The plan depends on the current owners, which every node reads from Redis, so
//! nodes looking at the same snapshot agree; with different snapshots they
//! converge in a round or two, and the leases keep two owners apart meanwhile.

use std::collections::BTreeMap;
use xxhash_rust::xxh3::xxh3_64;

/// The planned owner of each partition (`None` only when no node is live).
/// `live` lists the live nodes; `owners[p]` is partition `p`'s current owner if it
/// is live.
pub fn plan(partitions: u32, live: &[String], owners: &[Option<String>]) -> Vec<Option<String>> {
    let mut nodes: Vec<&str> = live.iter().map(String::as_str).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut planned: Vec<Option<String>> = vec![None; partitions as usize];
    if nodes.is_empty() {
        return planned;
    }
    let owner_of = |p: u32| {
        owners
            .get(p as usize)
            .and_then(|o| o.as_deref())
            .filter(|o| nodes.binary_search(o).is_ok())
    };
    let mut owned: BTreeMap<&str, Vec<u32>> = nodes.iter().map(|&n| (n, Vec::new())).collect();
    for p in 0..partitions {
        if let Some(owner) = owner_of(p) {
            owned.entry(owner).or_default().push(p);
        }
    }
    // Quotas: the remainder goes to the nodes owning most now (then by name).
    let n = nodes.len() as u32;
    let (base, extra) = (partitions / n, partitions % n);
    let mut by_holding = nodes.clone();
    by_holding.sort_by_key(|node| std::cmp::Reverse(owned[node].len()));
    let quota: BTreeMap<&str, u32> = by_holding
        .iter()
        .enumerate()
        .map(|(i, &node)| (node, base + u32::from((i as u32) < extra)))
        .collect();
    let mut count: BTreeMap<&str, u32> = nodes.iter().map(|&n| (n, 0)).collect();
    for (&node, held) in &mut owned {
        held.sort_by_key(|&p| std::cmp::Reverse(score(node, p)));
        for &p in held.iter().take(quota[node] as usize) {
            planned[p as usize] = Some(node.to_string());
            *count.entry(node).or_default() += 1;
        }
    }
    for p in 0..partitions {
        if planned[p as usize].is_some() {
            continue;
        }
        let mut ranked = nodes.clone();
        ranked.sort_by_key(|&node| std::cmp::Reverse(score(node, p)));
        if let Some(&node) = ranked.iter().find(|&&node| count[node] < quota[node]) {
            planned[p as usize] = Some(node.to_string());
            *count.entry(node).or_default() += 1;
        }
    }
    planned
}

/// Rendezvous score of `node` for partition `p`.
fn score(node: &str, p: u32) -> u64 {
    let mut bytes = Vec::with_capacity(node.len() + 5);
    bytes.extend_from_slice(node.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(&p.to_be_bytes());
    xxh3_64(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("node-{i}")).collect()
    }

    fn counts(plan: &[Option<String>]) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for owner in plan.iter().flatten() {
            *counts.entry(owner.clone()).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn balanced_and_stable_through_joins_and_leaves() {
        for n in 1..=9 {
            let fresh = plan(64, &names(n), &[]);
            let c = counts(&fresh);
            assert_eq!(c.values().sum::<usize>(), 64);
            assert!(
                c.values().max().unwrap() - c.values().min().unwrap() <= 1,
                "{c:?}"
            );
            // Leaving: only the leaver's partitions move.
            let mut fewer = names(n);
            let gone = fewer.remove(n / 2);
            let after = plan(64, &fewer, &fresh);
            for (p, (before, now)) in fresh.iter().zip(&after).enumerate() {
                if before.as_deref() != Some(gone.as_str()) {
                    assert_eq!(before, now, "partition {p} moved");
                }
            }
            let c = counts(&after);
            if !fewer.is_empty() {
                assert!(
                    c.values().max().unwrap() - c.values().min().unwrap() <= 1,
                    "{c:?}"
                );
            }
            // Joining: only partitions going to the newcomer move.
            let mut more = names(n);
            more.push("late".into());
            let joined = plan(64, &more, &fresh);
            for (before, now) in fresh.iter().zip(&joined) {
                assert!(before == now || now.as_deref() == Some("late"));
            }
        }
        assert!(plan(8, &[], &[]).iter().all(Option::is_none));
    }
}
