//! Per-host politeness state, kept with the host's partition so that it holds
//! across the whole cluster and survives a takeover.
//!
//! Only the partition's owner decides when its hosts are fetched, so only the owner
//! writes this state, each write fenced by its epoch: a node that lost the partition
//! cannot move a host's next-fetch time back. Anyone may read it (a new owner reads
//! it on takeover and carries on where the old one stopped). Times are Unix
//! milliseconds on Redis's clock ([`Session::now_ms`]), the one clock nodes share.

use crate::error::ClusterError;
use crate::fence::{fenced_script, Lease};
use crate::session::Session;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::sync::LazyLock;

/// KEYS lease, hash; ARGV node, epoch, field, value.
static STORE: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local refused = fence(KEYS[1], ARGV[1], ARGV[2])
if refused then return refused end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return 1
"#,
    )
});

/// When a host may be fetched next, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostState {
    /// Not before this time (the spacing after the last fetch).
    pub next_fetch_ms: u64,
    /// The host's robots.txt Crawl-delay, when it has one.
    pub crawl_delay_ms: Option<u64>,
    /// A Retry-After pause: nothing is fetched from the host before this time.
    pub paused_until_ms: Option<u64>,
    /// The current backoff after errors (0: none).
    pub backoff_ms: u64,
}

/// What the host's robots.txt said, when it was fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotsState {
    pub fetched_at_ms: u64,
    /// The answer's status (or 0 when the fetch failed).
    pub status: u16,
    /// The rules' text, as the engine keeps it.
    pub body: String,
}

impl Session {
    /// Stores `host`'s politeness state as the owner of its partition.
    pub fn store_host(
        &mut self,
        lease: &Lease,
        host: &str,
        state: &HostState,
    ) -> Result<(), ClusterError> {
        let key = self.crawl().keys().partition(lease.partition).hosts();
        self.store_json(lease, key, host, state)
    }

    /// The politeness state of `hosts` (all in `partition`), `None` for a host never
    /// written.
    pub fn hosts(
        &mut self,
        partition: u32,
        hosts: &[&str],
    ) -> Result<Vec<Option<HostState>>, ClusterError> {
        let key = self.crawl().keys().partition(partition).hosts();
        self.load_json(key, hosts)
    }

    /// Stores `host`'s robots.txt state as the owner of its partition.
    pub fn store_robots(
        &mut self,
        lease: &Lease,
        host: &str,
        state: &RobotsState,
    ) -> Result<(), ClusterError> {
        let key = self.crawl().keys().partition(lease.partition).robots();
        self.store_json(lease, key, host, state)
    }

    /// `host`'s robots.txt state, if any node stored it.
    pub fn robots(
        &mut self,
        partition: u32,
        host: &str,
    ) -> Result<Option<RobotsState>, ClusterError> {
        let key = self.crawl().keys().partition(partition).robots();
        Ok(self.load_json(key, &[host])?.pop().flatten())
    }

    fn store_json<T: Serialize>(
        &mut self,
        lease: &Lease,
        key: String,
        host: &str,
        value: &T,
    ) -> Result<(), ClusterError> {
        let json = serde_json::to_string(value).map_err(|e| ClusterError::Corrupt {
            url: self.conn().masked_url().to_string(),
            key: key.clone(),
            what: e.to_string(),
        })?;
        let lease_key = self.crawl().keys().partition(lease.partition).lease();
        self.conn()
            .run_fenced(|c| {
                STORE
                    .key(lease_key)
                    .key(&key)
                    .arg(&lease.node)
                    .arg(lease.epoch)
                    .arg(host)
                    .arg(json)
                    .invoke::<i64>(c)
            })?
            .map_err(|refused| lease.fenced(refused))?;
        Ok(())
    }

    fn load_json<T: DeserializeOwned>(
        &mut self,
        key: String,
        hosts: &[&str],
    ) -> Result<Vec<Option<T>>, ClusterError> {
        if hosts.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = self
            .conn()
            .run(|c| redis::cmd("HMGET").arg(&key).arg(hosts).query(c))?;
        raw.into_iter()
            .zip(hosts)
            .map(|(json, host)| {
                json.map(|json| {
                    serde_json::from_str(&json).map_err(|e| ClusterError::Corrupt {
                        url: self.conn().masked_url().to_string(),
                        key: format!("{key} field {host}"),
                        what: e.to_string(),
                    })
                })
                .transpose()
            })
            .collect()
    }
}
