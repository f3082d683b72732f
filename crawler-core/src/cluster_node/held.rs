//! The partitions this node holds, and what it took from them.
//!
//! A partition planned to move to another node *drains*: nothing more is taken from
//! it, and its lease is released once every entry taken from it is recorded, so a
//! join or a leave moves no URL that is queued here or in flight (a release puts the
//! partition's unacknowledged entries back in its queue, for the next owner). A
//! partition found taken over (a stale epoch: this node was paused past its lease)
//! is dropped at once; what it had taken and not recorded is fetched by the new
//! owner too, and its acknowledgements are refused.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crawler_cluster::assign::plan;
use crawler_cluster::{Claim, ClusterError, Delivery, Lease, Session};

use super::payload;
use crate::messages::Queued;

/// Entries taken from one partition at most per call.
const TAKE_BATCH: usize = 64;

/// This node's leases and the deliveries it has not recorded yet.
pub(super) struct Held {
    leases: BTreeMap<u32, Lease>,
    /// When each partition claimed may be taken from: a politeness interval after
    /// the claim, so that the first request to a host the last owner fetched a
    /// moment ago is spaced from it (the last owner released the partition only
    /// once its requests were answered; a dead one's were a lease ago).
    ready_at: BTreeMap<u32, Instant>,
    /// That interval: the crawl's per-host spacing.
    settle: Duration,
    draining: BTreeSet<u32>,
    /// Handed to the scheduler and not recorded yet, by URL.
    outstanding: HashMap<String, (u32, Delivery)>,
    per_partition: BTreeMap<u32, usize>,
    /// Where the next round of takes starts, so that every partition gets its turn.
    next_turn: u32,
    /// Partitions lost since the scheduler was last told.
    lost: Vec<u32>,
}

/// What one round of takes got.
#[derive(Default)]
pub(super) struct Takings {
    pub queued: Vec<Queued>,
    /// Entries given up after too many deliveries, with their delivery counts.
    pub dead: Vec<(Queued, u32)>,
}

impl Held {
    /// No partition yet; a claimed one is taken from `settle` after its claim.
    pub fn new(settle: Duration) -> Held {
        Held {
            leases: BTreeMap::new(),
            ready_at: BTreeMap::new(),
            settle,
            draining: BTreeSet::new(),
            outstanding: HashMap::new(),
            per_partition: BTreeMap::new(),
            next_turn: 0,
            lost: Vec::new(),
        }
    }

    /// This node's lease of partition `p`, if it holds it.
    pub fn lease(&self, p: u32) -> Option<&Lease> {
        self.leases.get(&p)
    }

    /// Deliveries not recorded yet.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether a partition held and not draining is `wanted`.
    pub fn any(&self, wanted: impl Fn(u32) -> bool) -> bool {
        (self.leases.keys()).any(|&p| !self.draining.contains(&p) && wanted(p))
    }

    /// Heartbeats, renews every lease, and follows the plan: claims what it gives
    /// this node, drains what it gives another, releases what has drained. True when
    /// the plan gives this node a partition another node still holds (draining it).
    pub fn balance(&mut self, session: &mut Session) -> Result<bool, ClusterError> {
        session.heartbeat()?;
        let live = session.live_nodes()?;
        let states = session.leases()?;
        let node = session.node().to_owned();
        let lost: Vec<u32> = (self.leases.iter())
            .filter(|(&p, lease)| {
                let state = &states[p as usize];
                state.epoch != lease.epoch || state.owner.as_deref().is_some_and(|o| o != node)
            })
            .map(|(&p, _)| p)
            .collect();
        for p in lost {
            self.drop_partition(p, "taken over by another node");
        }
        let owners: Vec<Option<String>> = states.iter().map(|s| s.owner.clone()).collect();
        let planned = plan(session.crawl().partitions(), &live, &owners);
        let ours = |p: u32| planned[p as usize].as_deref() == Some(node.as_str());
        for (&p, lease) in &self.leases.clone() {
            if ours(p) {
                self.draining.remove(&p);
            } else if self.per_partition.get(&p).copied().unwrap_or(0) == 0 {
                self.leases.remove(&p);
                self.draining.remove(&p);
                match session.release(lease) {
                    Ok(_) => tracing::debug!(partition = p, "partition handed over"),
                    Err(ClusterError::Fenced { .. }) => {}
                    Err(e) => return Err(e),
                }
                continue;
            } else {
                self.draining.insert(p);
            }
            match session.renew(lease) {
                Ok(()) => {}
                Err(ClusterError::Fenced { .. }) => self.drop_partition(p, "fenced on renewal"),
                Err(e) => return Err(e),
            }
        }
        let mut short = false;
        for p in 0..session.crawl().partitions() {
            if ours(p) && !self.leases.contains_key(&p) {
                let claim = session.claim(p)?;
                short |= matches!(claim, Claim::Held { .. });
                if let Claim::Won { lease, requeued } = claim {
                    tracing::debug!(
                        partition = p,
                        epoch = lease.epoch,
                        requeued,
                        "partition claimed"
                    );
                    self.leases.insert(p, lease);
                    self.ready_at.insert(p, Instant::now() + self.settle);
                }
            }
        }
        Ok(short)
    }

    /// Takes up to `room` entries from the partitions that are not draining, a
    /// partition after another.
    pub fn take(
        &mut self,
        session: &mut Session,
        room: usize,
        hold: Duration,
        wanted: impl Fn(u32) -> bool,
    ) -> Result<Takings, ClusterError> {
        let mut takings = Takings::default();
        let turn = self.next_turn;
        let now = Instant::now();
        let ready = |p: &u32| self.ready_at.get(p).is_none_or(|&at| at <= now);
        let order: Vec<u32> = (self.leases.range(turn..).chain(self.leases.range(..turn)))
            .map(|(&p, _)| p)
            .filter(|&p| !self.draining.contains(&p) && ready(&p) && wanted(p))
            .collect();
        for p in order {
            let left = room.saturating_sub(takings.queued.len());
            if left == 0 {
                self.next_turn = p;
                break;
            }
            let Some(lease) = self.leases.get(&p).cloned() else {
                continue;
            };
            let taken = match session.take(&lease, left.min(TAKE_BATCH), hold) {
                Ok(taken) => taken,
                Err(ClusterError::Fenced { .. }) => {
                    self.drop_partition(p, "fenced on take");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut unreadable = Vec::new();
            for delivery in taken.deliveries {
                match payload::decode(delivery.payload()) {
                    Some(queued) => {
                        let url = queued.url.as_str().to_owned();
                        if self.outstanding.insert(url, (p, delivery)).is_none() {
                            *self.per_partition.entry(p).or_default() += 1;
                        }
                        takings.queued.push(queued);
                    }
                    None => unreadable.push(delivery),
                }
            }
            if !unreadable.is_empty() {
                tracing::warn!(
                    partition = p,
                    entries = unreadable.len(),
                    "entries this crawler did not write: dropped"
                );
                session.ack(&lease, &unreadable)?;
            }
            (takings.dead).extend(taken.dead.iter().filter_map(|delivery| {
                payload::decode(delivery.payload()).map(|q| (q, delivery.deliveries()))
            }));
            self.next_turn = p + 1;
        }
        Ok(takings)
    }

    /// Acknowledges the deliveries of `urls` (their records are stored), one call per
    /// partition. URLs that were no delivery (this node's own retries, robots.txt) are
    /// skipped.
    pub fn recorded(
        &mut self,
        session: &mut Session,
        urls: &[String],
        acked: &mut Vec<(u32, Vec<Delivery>)>,
    ) -> Result<(), ClusterError> {
        let mut by_partition: BTreeMap<u32, Vec<(String, Delivery)>> = BTreeMap::new();
        for url in urls {
            if let Some((p, delivery)) = self.outstanding.remove(url) {
                by_partition
                    .entry(p)
                    .or_default()
                    .push((url.clone(), delivery));
            }
        }
        for (p, done) in by_partition {
            let deliveries: Vec<Delivery> = done.iter().map(|(_, d)| d.clone()).collect();
            let result = match self.leases.get(&p) {
                Some(lease) => session.ack(lease, &deliveries).map(|_| ()),
                None => Ok(()), // dropped: the new owner has them
            };
            match result {
                Ok(()) | Err(ClusterError::Fenced { .. }) => {
                    let count = self.per_partition.entry(p).or_default();
                    *count = count.saturating_sub(done.len());
                    acked.push((p, deliveries));
                }
                Err(e) => {
                    // Kept, to be acknowledged on the next try.
                    for (url, delivery) in done {
                        self.outstanding.insert(url, (p, delivery));
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Acknowledges again deliveries acknowledged before (a Redis that restarted may
    /// have lost the first acknowledgement); skips partitions no longer held.
    pub fn ack_again(
        &mut self,
        session: &mut Session,
        p: u32,
        deliveries: &[Delivery],
    ) -> Result<(), ClusterError> {
        let Some(lease) = self.leases.get(&p) else {
            return Ok(());
        };
        match session.ack(lease, deliveries) {
            Ok(_) | Err(ClusterError::Fenced { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Gives every lease up (their unacknowledged entries go back to the queues).
    pub fn release_all(&mut self, session: &mut Session) -> Result<(), ClusterError> {
        for (p, lease) in std::mem::take(&mut self.leases) {
            match session.release(&lease) {
                Ok(requeued) if requeued > 0 => {
                    tracing::debug!(partition = p, requeued, "released with entries not fetched")
                }
                Ok(_) | Err(ClusterError::Fenced { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.draining.clear();
        Ok(())
    }

    /// Partitions lost since the last call.
    pub fn take_lost(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.lost)
    }

    /// Forgets a partition another node took over, and what was taken from it: the new
    /// owner has it all back in its queue.
    fn drop_partition(&mut self, p: u32, why: &str) {
        if self.leases.remove(&p).is_some() {
            tracing::warn!(
                partition = p,
                why,
                "partition lost: this node no longer fetches its hosts"
            );
            self.lost.push(p);
        }
        self.draining.remove(&p);
        self.outstanding.retain(|_, (of, _)| *of != p);
        self.per_partition.remove(&p);
    }
}
