//! [`Lease`]: a node's claim on a partition, and the fence every owner's write passes.
//!
//! Every script that writes as a partition's owner starts with the Lua in [`FENCE`]:
//! it compares the lease hash's `owner` and `epoch` with the ones the node sends and
//! refuses (`FENCED <epoch> <owner>`, before any write) when they differ. A takeover
//! increments the epoch, so a node that lost its partition (paused past its lease,
//! partitioned from Redis) cannot write for it again, whatever it still believes.

use crate::error::ClusterError;

/// A node's ownership of one partition at one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub partition: u32,
    pub epoch: u64,
    pub node: String,
}

impl Lease {
    /// The error for a write this lease no longer allows.
    pub(crate) fn fenced(&self, (current, owner): (u64, String)) -> ClusterError {
        ClusterError::Fenced {
            partition: self.partition,
            epoch: self.epoch,
            current,
            owner,
        }
    }
}

/// Lua: `fence(lease_key, node, epoch)` returns an error reply to return at once,
/// or nil when `node` owns the lease at `epoch`.
pub(crate) const FENCE: &str = r#"
local function fence(lease, node, epoch)
  local cur = redis.call('HMGET', lease, 'owner', 'epoch')
  if cur[1] ~= node or cur[2] ~= epoch then
    return redis.error_reply('FENCED ' .. (cur[2] or '0') .. ' ' .. (cur[1] or '-'))
  end
  return nil
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"#;

/// Lua: `requeue_all(inflight, queue)` moves every in-flight entry back to the head
/// of the queue (their delivery counts kept) and returns how many.
pub(crate) const REQUEUE: &str = r#"
local function requeue_all(inflight, queue)
  local entries = redis.call('ZRANGE', inflight, 0, -1)
  for i = #entries, 1, -1 do redis.call('LPUSH', queue, entries[i]) end
  redis.call('DEL', inflight)
  return #entries
end
"#;

/// A script body with the fence functions before it.
pub(crate) fn fenced_script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{FENCE}{REQUEUE}{body}"))
}
