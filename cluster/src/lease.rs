//! Node heartbeats and partition leases: who is alive, who owns what.
//!
//! Heartbeats are one sorted set, node -> when its heartbeat lapses (Redis's clock),
//! so the live nodes are one `ZRANGEBYSCORE` and nodes' clocks never matter.
//!
//! A partition's lease is a hash `owner`, `epoch`, `until`. [`Session::claim`] takes
//! a free or lapsed lease (or this node's own, after a restart: no waiting out its
//! own old lease), increments the epoch, and moves every in-flight entry of earlier
//! epochs back to the queue, in one script. [`Session::renew`] extends only a lease
//! whose owner and epoch still match (compare-and-extend); [`Session::release`] gives
//! a partition up at once, its unacknowledged entries back to the queue.
//! [`Session::rebalance`] claims and releases by [`crate::assign::plan`].

use crate::assign::plan;
use crate::error::ClusterError;
use crate::fence::{fenced_script, Lease, FENCE};
use crate::session::Session;
use redis::FromRedisValue;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// KEYS nodes; ARGV node, ttl ms. Also forgets nodes whose heartbeat lapsed.
static HEARTBEAT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        "{FENCE}{}",
        r#"
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
"#
    ))
});

/// KEYS nodes. The live nodes.
static LIVE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        "{FENCE}{}",
        "return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now_ms(), '+inf')"
    ))
});

/// KEYS lease, queue, inflight; ARGV node, lease ms.
/// `{1, epoch, requeued}` when won, `{0, owner, ms left}` when held by another.
static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local now = now_ms()
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'until')
local untl = tonumber(cur[3]) or 0
if cur[1] and cur[1] ~= ARGV[1] and untl > now then
  return {0, cur[1], untl - now}
end
local epoch = (tonumber(cur[2]) or 0) + 1
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'epoch', epoch, 'until', now + tonumber(ARGV[2]))
return {1, tostring(epoch), requeue_all(KEYS[3], KEYS[2])}
"#,
    )
});

/// KEYS lease; ARGV node, epoch, lease ms.
static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local refused = fence(KEYS[1], ARGV[1], ARGV[2])
if refused then return refused end
redis.call('HSET', KEYS[1], 'until', now_ms() + tonumber(ARGV[3]))
return 1
"#,
    )
});

/// KEYS lease, queue, inflight; ARGV node, epoch. Returns the entries requeued.
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local refused = fence(KEYS[1], ARGV[1], ARGV[2])
if refused then return refused end
redis.call('HDEL', KEYS[1], 'owner', 'until')
return requeue_all(KEYS[3], KEYS[2])
"#,
    )
});

/// What [`Session::claim`] got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The partition is this node's; `requeued` in-flight entries of earlier owners
    /// went back to its queue.
    Won { lease: Lease, requeued: u64 },
    /// Another live node holds it, for `ms_left` more.
    Held { owner: String, ms_left: u64 },
}

/// A partition's lease as [`Session::leases`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// The owner while the lease runs; `None` when free or lapsed.
    pub owner: Option<String>,
    pub epoch: u64,
}

/// What [`Session::rebalance`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moves {
    /// Partitions this node claimed (now in its held set).
    pub claimed: Vec<u32>,
    /// Partitions it released because the plan gives them to another node.
    pub released: Vec<u32>,
    /// Partitions it found taken over by another node (fenced); dropped.
    pub lost: Vec<u32>,
}

impl Session {
    /// Says this node is alive for one more lease.
    pub fn heartbeat(&mut self) -> Result<(), ClusterError> {
        let (key, node) = (self.crawl().keys().nodes(), self.node().to_string());
        let ttl = lease_ms(self);
        self.conn()
            .run(|c| HEARTBEAT.key(key).arg(node).arg(ttl).invoke::<i64>(c))?;
        Ok(())
    }

    /// The nodes whose heartbeat has not lapsed, by name.
    pub fn live_nodes(&mut self) -> Result<Vec<String>, ClusterError> {
        let key = self.crawl().keys().nodes();
        let mut nodes: Vec<String> = self.conn().run(|c| LIVE.key(key).invoke(c))?;
        nodes.sort();
        Ok(nodes)
    }

    /// Removes this node from the live nodes at once (its leases are released apart).
    pub fn leave(&mut self) -> Result<(), ClusterError> {
        let (key, node) = (self.crawl().keys().nodes(), self.node().to_string());
        self.conn()
            .run(|c| redis::cmd("ZREM").arg(key).arg(node).query::<i64>(c))?;
        Ok(())
    }

    /// Claims `partition` unless another live node's lease holds it.
    pub fn claim(&mut self, partition: u32) -> Result<Claim, ClusterError> {
        let keys = self.crawl().keys().partition(partition);
        let node = self.node().to_string();
        let ttl = lease_ms(self);
        let (won, who, number): (i64, String, u64) = self.conn().run(|c| {
            CLAIM
                .key(keys.lease())
                .key(keys.queue())
                .key(keys.inflight())
                .arg(&node)
                .arg(ttl)
                .invoke(c)
        })?;
        if won == 1 {
            let epoch = who.parse().map_err(|_| ClusterError::Corrupt {
                url: self.conn().masked_url().to_string(),
                key: keys.lease(),
                what: format!("epoch {who:?}"),
            })?;
            Ok(Claim::Won {
                lease: Lease {
                    partition,
                    epoch,
                    node,
                },
                requeued: number,
            })
        } else {
            Ok(Claim::Held {
                owner: who,
                ms_left: number,
            })
        }
    }

    /// Extends `lease` by the configured lease time; [`ClusterError::Fenced`] when the
    /// partition has passed to another epoch.
    pub fn renew(&mut self, lease: &Lease) -> Result<(), ClusterError> {
        let key = self.crawl().keys().partition(lease.partition).lease();
        let ttl = lease_ms(self);
        self.conn()
            .run_fenced(|c| {
                RENEW
                    .key(key)
                    .arg(&lease.node)
                    .arg(lease.epoch)
                    .arg(ttl)
                    .invoke::<i64>(c)
            })?
            .map_err(|refused| lease.fenced(refused))?;
        Ok(())
    }

    /// Gives `lease` up now; its in-flight entries go back to the queue. Returns how
    /// many did.
    pub fn release(&mut self, lease: &Lease) -> Result<u64, ClusterError> {
        let keys = self.crawl().keys().partition(lease.partition);
        self.conn()
            .run_fenced(|c| {
                RELEASE
                    .key(keys.lease())
                    .key(keys.queue())
                    .key(keys.inflight())
                    .arg(&lease.node)
                    .arg(lease.epoch)
                    .invoke::<u64>(c)
            })?
            .map_err(|refused| lease.fenced(refused))
    }

    /// Every partition's lease (one pipelined round trip).
    pub fn leases(&mut self) -> Result<Vec<LeaseState>, ClusterError> {
        let partitions = self.crawl().partitions();
        // Read first, so a lease that lapses while the rest are read looks held: the
        // safe side. (Not in the pipeline: a Redis Cluster's TIME has no shard.)
        let now = self.now_ms()?;
        let mut pipe = redis::pipe();
        for p in 0..partitions {
            pipe.cmd("HMGET")
                .arg(self.crawl().keys().partition(p).lease())
                .arg("owner")
                .arg("epoch")
                .arg("until");
        }
        // A lease row: owner, epoch, until.
        type Row = (Option<String>, Option<u64>, Option<u64>);
        let rows: Vec<Row> = self.conn().run_pipeline(&pipe, |values| {
            Ok(values
                .into_iter()
                .map(FromRedisValue::from_redis_value)
                .collect::<Result<Vec<_>, _>>()?)
        })?;
        Ok(rows
            .into_iter()
            .map(|(owner, epoch, until)| LeaseState {
                owner: owner.filter(|_| until.unwrap_or(0) > now),
                epoch: epoch.unwrap_or(0),
            })
            .collect())
    }

    /// One round of balancing: heartbeats, reads the live nodes and leases, and makes
    /// `held` (this node's leases) follow the plan: releases what the plan gives to
    /// others, drops what another node took over, claims what the plan gives this
    /// node and is free.
    pub fn rebalance(&mut self, held: &mut BTreeMap<u32, Lease>) -> Result<Moves, ClusterError> {
        self.heartbeat()?;
        let live = self.live_nodes()?;
        let leases = self.leases()?;
        let node = self.node().to_string();
        let mut moves = Moves::default();
        held.retain(|&p, lease| {
            let state = &leases[p as usize];
            let ours =
                state.epoch == lease.epoch && state.owner.as_deref().is_none_or(|o| o == node);
            if !ours {
                moves.lost.push(p);
            }
            ours
        });
        let owners: Vec<Option<String>> = leases.iter().map(|l| l.owner.clone()).collect();
        let planned = plan(self.crawl().partitions(), &live, &owners);
        for (p, lease) in held.clone() {
            if planned[p as usize].as_deref() != Some(node.as_str()) {
                held.remove(&p);
                match self.release(&lease) {
                    Ok(_) => moves.released.push(p),
                    Err(ClusterError::Fenced { .. }) => moves.lost.push(p),
                    Err(e) => return Err(e),
                }
            }
        }
        for (p, owner) in planned.iter().enumerate() {
            let p = p as u32;
            if owner.as_deref() == Some(node.as_str()) && !held.contains_key(&p) {
                if let Claim::Won { lease, .. } = self.claim(p)? {
                    held.insert(p, lease);
                    moves.claimed.push(p);
                }
            }
        }
        Ok(moves)
    }
}

fn lease_ms(session: &Session) -> u64 {
    session.crawl().config().lease.as_millis() as u64
}
