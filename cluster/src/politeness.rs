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

/// KEYS lease, robots hash, hosts hash; ARGV node, epoch, robots pairs, then field,
/// value pairs: the first `robots pairs` go to the robots hash, the rest to the hosts'.
static STORE: LazyLock<redis::Script> = LazyLock::new(|| {
    fenced_script(
        r#"
local refused = fence(KEYS[1], ARGV[1], ARGV[2])
if refused then return refused end
local robots = tonumber(ARGV[3])
local i = 4
while i < #ARGV do
  local key = KEYS[3]
  if (i - 4) / 2 < robots then key = KEYS[2] end
  redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  i = i + 2
end
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
    /// Failures and slow-down answers in a row: what the next backoff doubles from.
    #[serde(default)]
    pub backoff_level: u8,
}

/// What the host's robots.txt said, when it was fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotsState {
    pub fetched_at_ms: u64,
    /// The answer's status, 0 when the writer did not say (the engine shares the
    /// rules it applies, whichever answer they came from).
    pub status: u16,
    /// The rules' text, as the engine keeps it.
    pub body: String,
}

/// What the cluster knows of one host's politeness.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedHost {
    pub robots: Option<RobotsState>,
    pub state: Option<HostState>,
}

impl Session {
    /// Stores `host`'s politeness state as the owner of its partition.
    pub fn store_host(
        &mut self,
        lease: &Lease,
        host: &str,
        state: &HostState,
    ) -> Result<(), ClusterError> {
        self.store_politeness(lease, &[], &[(host, state.clone())])
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
        self.store_politeness(lease, &[(host, state.clone())], &[])
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

    /// Stores several hosts' robots.txt and politeness states, all of the lease's
    /// partition, in one call.
    pub fn store_politeness(
        &mut self,
        lease: &Lease,
        robots: &[(&str, RobotsState)],
        hosts: &[(&str, HostState)],
    ) -> Result<(), ClusterError> {
        if robots.is_empty() && hosts.is_empty() {
            return Ok(());
        }
        let keys = self.crawl().keys().partition(lease.partition);
        let mut pairs = Vec::with_capacity(2 * (robots.len() + hosts.len()));
        for (host, state) in robots {
            pairs.push(host.to_string());
            pairs.push(self.json(&keys.robots(), state)?);
        }
        for (host, state) in hosts {
            pairs.push(host.to_string());
            pairs.push(self.json(&keys.hosts(), state)?);
        }
        self.conn()
            .run_fenced(|c| {
                STORE
                    .key(keys.lease())
                    .key(keys.robots())
                    .key(keys.hosts())
                    .arg(&lease.node)
                    .arg(lease.epoch)
                    .arg(robots.len())
                    .arg(&pairs)
                    .invoke::<i64>(c)
            })?
            .map_err(|refused| lease.fenced(refused))?;
        Ok(())
    }

    /// What the cluster knows of `hosts` (all in `partition`), read in one round trip.
    pub fn shared_hosts(
        &mut self,
        partition: u32,
        hosts: &[&str],
    ) -> Result<Vec<SharedHost>, ClusterError> {
        if hosts.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.crawl().keys().partition(partition);
        // Both hashes are the partition's, in one slot: a plain pipeline goes whole to
        // that slot's shard on a Redis Cluster too.
        let (robots, states): (Vec<Option<String>>, Vec<Option<String>>) =
            self.conn().run(|c| {
                redis::pipe()
                    .cmd("HMGET")
                    .arg(keys.robots())
                    .arg(hosts)
                    .cmd("HMGET")
                    .arg(keys.hosts())
                    .arg(hosts)
                    .query(c)
            })?;
        let robots = self.parse_all(&keys.robots(), hosts, robots)?;
        let states = self.parse_all(&keys.hosts(), hosts, states)?;
        Ok(robots
            .into_iter()
            .zip(states)
            .map(|(robots, state)| SharedHost { robots, state })
            .collect())
    }

    fn json<T: Serialize>(&mut self, key: &str, value: &T) -> Result<String, ClusterError> {
        serde_json::to_string(value).map_err(|e| ClusterError::Corrupt {
            url: self.conn().masked_url().to_string(),
            key: key.to_owned(),
            what: e.to_string(),
        })
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
        self.parse_all(&key, hosts, raw)
    }

    /// The values of `hosts`' fields of hash `key`, parsed.
    fn parse_all<T: DeserializeOwned>(
        &mut self,
        key: &str,
        hosts: &[&str],
        raw: Vec<Option<String>>,
    ) -> Result<Vec<Option<T>>, ClusterError> {
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
