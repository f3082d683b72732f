//! Enqueueing: one script call per target partition checks each URL against the
//! seen-set and queues only the new ones.
//!
//! The check and the push are one script, so they are atomic: however many nodes
//! (or threads) submit the same URL at once, exactly one call finds it new and
//! queues it. A URL is recorded as seen in the same step that queues it, never
//! before: nothing can be "seen" yet unqueued, the way scrapy-redis's fingerprint
//! outlives a crashed worker's lost request.
//!
//! Anyone may enqueue into any partition (a page's links go to the partitions of
//! their hosts, mostly owned by other nodes); [`Session::enqueue_as_owner`] is the
//! same with the owner's fence, for entries an owner puts back into its own partition.

use crate::error::ClusterError;
use crate::fence::{fenced_script, Lease};
use crate::record::Entry;
use crate::seen;
use crate::session::Session;
use std::sync::LazyLock;

/// KEYS lease, seen, queue; ARGV node and epoch ('' for no fence), records...
/// Returns one byte per record, `1` when it was new and queued.
static ENQUEUE: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(&format!(
        "{}{}",
        seen::lua(),
        r#"
if ARGV[1] ~= '' then
  local refused = fence(KEYS[1], ARGV[1], ARGV[2])
  if refused then return refused end
end
local state = seen_state(KEYS[2])
local out = {}
for i = 3, #ARGV do
  local record = ARGV[i]
  if seen_add(KEYS[2], state, string.sub(record, 2, 9)) then
    redis.call('RPUSH', KEYS[3], record)
    out[#out + 1] = '1'
  else
    out[#out + 1] = '0'
  end
end
seen_save(KEYS[2], state)
return table.concat(out)
"#
    ))
});

impl Session {
    /// Adds the entries new to `partition`'s seen-set to its queue, in one script
    /// call; `result[i]` says whether `entries[i]` was new (and so queued).
    pub fn enqueue(
        &mut self,
        partition: u32,
        entries: &[Entry],
    ) -> Result<Vec<bool>, ClusterError> {
        self.enqueue_fenced(partition, None, entries)
    }

    /// [`Session::enqueue`] as the partition's owner: refused with
    /// [`ClusterError::Fenced`] when `lease` is stale.
    pub fn enqueue_as_owner(
        &mut self,
        lease: &Lease,
        entries: &[Entry],
    ) -> Result<Vec<bool>, ClusterError> {
        self.enqueue_fenced(lease.partition, Some(lease), entries)
    }

    fn enqueue_fenced(
        &mut self,
        partition: u32,
        lease: Option<&Lease>,
        entries: &[Entry],
    ) -> Result<Vec<bool>, ClusterError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.crawl().keys().partition(partition);
        let mut invocation = ENQUEUE.key(keys.lease());
        invocation.key(keys.seen()).key(keys.queue());
        match lease {
            Some(lease) => invocation.arg(&lease.node).arg(lease.epoch),
            None => invocation.arg("").arg(""),
        };
        for entry in entries {
            invocation.arg(entry.record());
        }
        let answer: Vec<u8> = match lease {
            Some(lease) => self
                .conn()
                .run_fenced(|c| invocation.invoke(c))?
                .map_err(|refused| lease.fenced(refused))?,
            None => self.conn().run(|c| invocation.invoke(c))?,
        };
        if answer.len() != entries.len() {
            return Err(ClusterError::Corrupt {
                url: self.conn().masked_url().to_string(),
                key: keys.queue(),
                what: format!("{} answers for {} entries", answer.len(), entries.len()),
            });
        }
        Ok(answer.into_iter().map(|b| b == b'1').collect())
    }

    /// Entries waiting in `partition`'s queue.
    pub fn queued(&mut self, partition: u32) -> Result<u64, ClusterError> {
        let key = self.crawl().keys().partition(partition).queue();
        self.conn().run(|c| redis::cmd("LLEN").arg(key).query(c))
    }

    /// Fingerprints in `partition`'s seen-set.
    pub fn seen(&mut self, partition: u32) -> Result<u64, ClusterError> {
        let key = self.crawl().keys().partition(partition).seen();
        let n: Option<u64> = self
            .conn()
            .run(|c| redis::cmd("HGET").arg(key).arg("n").query(c))?;
        Ok(n.unwrap_or(0))
    }
}
