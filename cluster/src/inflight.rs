//! Taking entries, acknowledging them, putting them back, and the dead-letter list.
//!
//! An entry handed to a node moves, in the same script, from the queue to the
//! partition's in-flight set: a sorted set scored by the time it may be handed out
//! again. It stays there until the node acknowledges it (the page it led to is
//! durably in the node's store), or goes back to the queue when the owner's
//! deadline passes ([`Session::requeue_expired`]), when the owner releases the
//! partition, or when another node takes the partition over. Each delivery adds one
//! to the entry's count; an entry that would be delivered more than
//! `max_deliveries` times goes to the dead-letter list instead and is reported to
//! the taker, never retried again.
//!
//! Why a sorted set and not a stream's pending list: an acknowledgement is one
//! `ZREM` that frees the entry's memory at once, while a stream keeps an
//! acknowledged entry until `XDEL` and needs trimming below the oldest pending
//! entry and cleanup of dead consumers. Ownership is the partition's lease, not a
//! consumer name, so a restarted node never waits out its own old claims; and the
//! deadline order makes "what is overdue" one range query.

use crate::error::ClusterError;
use crate::fence::{fenced_script, Lease};
use crate::record::Delivery;
use crate::session::Session;
use std::sync::LazyLock;
use std::time::Duration;

/// KEYS lease, queue, inflight, dead; ARGV node, epoch, n, hold ms, max deliveries.
/// Returns `{delivered records, dead-lettered records}`.
static TAKE: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local refused = fence(KEYS[1], ARGV[1], ARGV[2])
if refused then return refused end
local records = redis.call('LPOP', KEYS[2], tonumber(ARGV[3]))
local out, dead = {}, {}
if records then
  local deadline = now_ms() + tonumber(ARGV[4])
  local max = tonumber(ARGV[5])
  for _, record in ipairs(records) do
    local count = math.min(string.byte(record, 1) + 1, 255)
    local moved = string.char(count) .. string.sub(record, 2)
    if count > max then
      redis.call('RPUSH', KEYS[4], moved)
      dead[#dead + 1] = moved
    else
      redis.call('ZADD', KEYS[3], deadline, moved)
      out[#out + 1] = moved
    end
  end
end
return {out, dead}
"#,
    )
});

/// KEYS lease, inflight, pages; ARGV node, epoch, records... Returns how many were
/// in flight (and are now acknowledged).
static ACK: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local refused = fence(KEYS[1], ARGV[1], ARGV[2])
if refused then return refused end
local removed = 0
for i = 3, #ARGV do removed = removed + redis.call('ZREM', KEYS[2], ARGV[i]) end
if removed > 0 then redis.call('HINCRBY', KEYS[3], ARGV[1], removed) end
return removed
"#,
    )
});

/// KEYS lease, inflight, queue; ARGV node, epoch, records... Puts the given
/// in-flight records at the queue's tail. Returns how many were in flight.
static RETRY: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local refused = fence(KEYS[1], ARGV[1], ARGV[2])
if refused then return refused end
local moved = 0
for i = 3, #ARGV do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[3], ARGV[i])
    moved = moved + 1
  end
end
return moved
"#,
    )
});

/// KEYS lease, inflight, queue; ARGV node, epoch. Moves overdue entries to the
/// queue's head; returns how many.
static REQUEUE_EXPIRED: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local refused = fence(KEYS[1], ARGV[1], ARGV[2])
if refused then return refused end
local overdue = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms())
for i = #overdue, 1, -1 do
  redis.call('ZREM', KEYS[2], overdue[i])
  redis.call('LPUSH', KEYS[3], overdue[i])
end
return #overdue
"#,
    )
});

/// What [`Session::take`] handed out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    /// Entries to fetch, now in flight.
    pub deliveries: Vec<Delivery>,
    /// Entries that went to the dead-letter list instead (to be recorded as such).
    pub dead: Vec<Delivery>,
}

impl Session {
    /// Takes up to `n` entries from the head of `lease`'s partition into flight, each
    /// to be handed out again if not acknowledged within `hold`.
    pub fn take(&mut self, lease: &Lease, n: usize, hold: Duration) -> Result<Taken, ClusterError> {
        let keys = self.crawl().keys().partition(lease.partition);
        let max = self.crawl().config().max_deliveries;
        let (out, dead): (Vec<Vec<u8>>, Vec<Vec<u8>>) = self
            .conn()
            .run_fenced(|c| {
                TAKE.key(keys.lease())
                    .key(keys.queue())
                    .key(keys.inflight())
                    .key(keys.dead())
                    .arg(&lease.node)
                    .arg(lease.epoch)
                    .arg(n.max(1))
                    .arg(hold.as_millis() as u64)
                    .arg(max)
                    .invoke(c)
            })?
            .map_err(|refused| lease.fenced(refused))?;
        Ok(Taken {
            deliveries: self.deliveries(&keys.queue(), out)?,
            dead: self.deliveries(&keys.dead(), dead)?,
        })
    }

    /// Acknowledges deliveries whose pages are durably stored: they leave the
    /// in-flight set for good and count as this node's pages. Returns how many were
    /// still in flight.
    pub fn ack(&mut self, lease: &Lease, done: &[Delivery]) -> Result<u64, ClusterError> {
        let keys = self.crawl().keys().partition(lease.partition);
        self.owner_write(
            &ACK,
            lease,
            [keys.lease(), keys.inflight(), keys.pages()],
            done,
        )
    }

    /// Puts deliveries back at the queue's tail (a fetch to try again later); their
    /// delivery counts stay. Returns how many were still in flight.
    pub fn retry(&mut self, lease: &Lease, again: &[Delivery]) -> Result<u64, ClusterError> {
        let keys = self.crawl().keys().partition(lease.partition);
        self.owner_write(
            &RETRY,
            lease,
            [keys.lease(), keys.inflight(), keys.queue()],
            again,
        )
    }

    /// Moves the partition's in-flight entries whose hold has passed back to the
    /// queue's head. Returns how many.
    pub fn requeue_expired(&mut self, lease: &Lease) -> Result<u64, ClusterError> {
        let keys = self.crawl().keys().partition(lease.partition);
        self.owner_write(
            &REQUEUE_EXPIRED,
            lease,
            [keys.lease(), keys.inflight(), keys.queue()],
            &[],
        )
    }

    /// Entries in `partition`'s in-flight set.
    pub fn in_flight(&mut self, partition: u32) -> Result<u64, ClusterError> {
        let key = self.crawl().keys().partition(partition).inflight();
        self.conn().run(|c| redis::cmd("ZCARD").arg(key).query(c))
    }

    /// The first `limit` entries of `partition`'s dead-letter list.
    pub fn dead_letters(
        &mut self,
        partition: u32,
        limit: usize,
    ) -> Result<Vec<Delivery>, ClusterError> {
        let key = self.crawl().keys().partition(partition).dead();
        let stop = limit as i64 - 1;
        let records: Vec<Vec<u8>> = self
            .conn()
            .run(|c| redis::cmd("LRANGE").arg(&key).arg(0).arg(stop).query(c))?;
        self.deliveries(&key, records)
    }

    fn owner_write(
        &mut self,
        script: &redis::Script,
        lease: &Lease,
        keys: [String; 3],
        records: &[Delivery],
    ) -> Result<u64, ClusterError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        invocation.arg(&lease.node).arg(lease.epoch);
        for delivery in records {
            invocation.arg(delivery.record());
        }
        self.conn()
            .run_fenced(|c| invocation.invoke(c))?
            .map_err(|refused| lease.fenced(refused))
    }

    fn deliveries(
        &mut self,
        key: &str,
        records: Vec<Vec<u8>>,
    ) -> Result<Vec<Delivery>, ClusterError> {
        records
            .into_iter()
            .map(|record| {
                Delivery::from_record(record).ok_or_else(|| ClusterError::Corrupt {
                    url: self.conn().masked_url().to_string(),
                    key: key.to_string(),
                    what: "an entry shorter than its header".into(),
                })
            })
            .collect()
    }
}
