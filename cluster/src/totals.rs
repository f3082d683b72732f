//! Cluster-wide counts, for `crawler stats --cluster` and for knowing when the crawl
//! is over.

use crate::error::ClusterError;
use crate::session::Session;
use redis::FromRedisValue;
use serde::Serialize;
use std::collections::BTreeMap;

/// The whole crawl at one moment (read in one pipelined round trip, so the counts
/// of different partitions are close in time but not one snapshot).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub partitions: u32,
    /// Pages acknowledged, all nodes.
    pub pages: u64,
    pub queued: u64,
    pub in_flight: u64,
    /// Entries given up after too many deliveries.
    pub dead_letters: u64,
    /// URLs in the seen-sets.
    pub seen: u64,
    /// Partitions with a running lease.
    pub leased: u32,
    /// Every node that is live or has acknowledged pages.
    pub nodes: Vec<NodeTotals>,
    /// Nothing queued, nothing in flight and no partition leased: the crawl is over.
    pub finished: bool,
}

/// One node's share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeTotals {
    pub name: String,
    pub live: bool,
    pub pages: u64,
    /// The partitions it holds a running lease on.
    pub partitions: Vec<u32>,
}

impl Session {
    /// Counts over every partition of the crawl.
    pub fn totals(&mut self) -> Result<Totals, ClusterError> {
        let leases = self.leases()?;
        let live = self.live_nodes()?;
        let partitions = self.crawl().partitions();
        let mut pipe = redis::pipe();
        for p in 0..partitions {
            let keys = self.crawl().keys().partition(p);
            pipe.cmd("LLEN").arg(keys.queue());
            pipe.cmd("ZCARD").arg(keys.inflight());
            pipe.cmd("LLEN").arg(keys.dead());
            pipe.cmd("HGET").arg(keys.seen()).arg("n");
            pipe.cmd("HGETALL").arg(keys.pages());
        }
        type Row = (u64, u64, u64, Option<u64>, BTreeMap<String, u64>);
        let rows: Vec<Row> = self.conn().run_pipeline(&pipe, |values| {
            let mut values = values.into_iter();
            let mut rows = Vec::with_capacity(partitions as usize);
            while let (Some(a), Some(b), Some(d), Some(s), Some(pg)) = (
                values.next(),
                values.next(),
                values.next(),
                values.next(),
                values.next(),
            ) {
                rows.push((
                    FromRedisValue::from_redis_value(a)?,
                    FromRedisValue::from_redis_value(b)?,
                    FromRedisValue::from_redis_value(d)?,
                    FromRedisValue::from_redis_value(s)?,
                    FromRedisValue::from_redis_value(pg)?,
                ));
            }
            Ok(rows)
        })?;
        let mut totals = Totals {
            partitions,
            ..Totals::default()
        };
        let mut nodes: BTreeMap<String, NodeTotals> = live
            .iter()
            .map(|name| {
                let node = NodeTotals {
                    name: name.clone(),
                    live: true,
                    ..NodeTotals::default()
                };
                (name.clone(), node)
            })
            .collect();
        for (p, ((queued, in_flight, dead, seen, pages), lease)) in
            rows.into_iter().zip(&leases).enumerate()
        {
            totals.queued += queued;
            totals.in_flight += in_flight;
            totals.dead_letters += dead;
            totals.seen += seen.unwrap_or(0);
            for (name, count) in pages {
                totals.pages += count;
                nodes
                    .entry(name.clone())
                    .or_insert_with(|| NodeTotals {
                        name,
                        ..NodeTotals::default()
                    })
                    .pages += count;
            }
            if let Some(owner) = &lease.owner {
                totals.leased += 1;
                nodes
                    .entry(owner.clone())
                    .or_insert_with(|| NodeTotals {
                        name: owner.clone(),
                        ..NodeTotals::default()
                    })
                    .partitions
                    .push(p as u32);
            }
        }
        totals.nodes = nodes.into_values().collect();
        totals.finished = totals.queued == 0 && totals.in_flight == 0 && totals.leased == 0;
        Ok(totals)
    }
}
