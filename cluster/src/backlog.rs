//! What is left to do in each partition, cheaply: for an idle node deciding where
//! to take from and whether the crawl is over, without [`Session::totals`]'s
//! per-node page counts and lease reads.

use crate::error::ClusterError;
use crate::session::Session;

/// One partition's queued and in-flight entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub queued: u64,
    pub in_flight: u64,
}

impl Session {
    /// Every partition's backlog (one pipelined round trip, two commands per
    /// partition), and whether anything was ever enqueued in the crawl.
    pub fn backlog(&mut self) -> Result<(Vec<Backlog>, bool), ClusterError> {
        let partitions = self.crawl().partitions();
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(self.crawl().keys().seeded());
        for p in 0..partitions {
            let keys = self.crawl().keys().partition(p);
            pipe.cmd("LLEN").arg(keys.queue());
            pipe.cmd("ZCARD").arg(keys.inflight());
        }
        let (seeded, counts): (bool, Vec<u64>) =
            self.conn().run_pipeline(&pipe, |mut values| {
                let counts = values.split_off(1);
                let seeded: bool = redis::FromRedisValue::from_redis_value(values.remove(0))?;
                let counts = counts
                    .into_iter()
                    .map(redis::FromRedisValue::from_redis_value)
                    .collect::<Result<Vec<u64>, _>>()?;
                Ok((seeded, counts))
            })?;
        let backlog = counts
            .chunks(2)
            .map(|pair| Backlog {
                queued: pair[0],
                in_flight: pair.get(1).copied().unwrap_or(0),
            })
            .collect();
        Ok((backlog, seeded))
    }

    /// Marks the crawl as having had URLs enqueued (an idle node that joined before
    /// any seed waits for them rather than calling the crawl over).
    pub fn mark_seeded(&mut self) -> Result<(), ClusterError> {
        let key = self.crawl().keys().seeded();
        self.conn()
            .run(|c| redis::cmd("SET").arg(key).arg(1).query::<()>(c))
    }
}
