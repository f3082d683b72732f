//! Politeness that outlives a host's owner: what this node learns of a host (its
//! robots.txt rules, a `Retry-After` pause, a backoff) is written to the host's
//! partition in Redis, and before this node first fetches a host it reads what the
//! host's former owners wrote, so the host keeps its rules, `Crawl-delay` and pauses
//! across a takeover instead of being asked for robots.txt again and hit at once.
//!
//! Writes are fenced like every owner's write; a host is read once per lease of its
//! partition (one pipelined round trip per partition with new hosts in a take).
//! Times in Redis are Unix milliseconds on Redis's clock, which this node follows
//! through the offset it measured at start.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crawler_cluster::{ClusterError, Fingerprint, HostState, RobotsState, Session};

use super::held::Held;
use crate::messages::{AdoptedHost, HostNews, Queued};
use crate::robots::RobotsRules;

/// What this node shares and has read of its hosts' politeness.
pub(super) struct SharedPoliteness {
    /// Redis's clock minus this machine's, in milliseconds.
    offset_ms: i64,
    /// Hosts read since their partition was leased, by partition: (epoch, hosts' hashes).
    read: HashMap<u32, (u64, HashSet<Fingerprint>)>,
}

impl SharedPoliteness {
    /// Measures the offset of Redis's clock.
    pub fn start(session: &mut Session) -> Result<SharedPoliteness, ClusterError> {
        let before = local_ms();
        let redis = session.now_ms()?;
        let after = local_ms();
        let here = before / 2 + after / 2;
        Ok(SharedPoliteness {
            offset_ms: redis as i64 - here as i64,
            read: HashMap::new(),
        })
    }

    fn now_ms(&self) -> u64 {
        (local_ms() as i64 + self.offset_ms).max(0) as u64
    }

    /// Writes `news` to their hosts' partitions, one call per partition this node
    /// holds; news of partitions it no longer holds are its next owner's to learn.
    pub fn share(
        &self,
        session: &mut Session,
        held: &Held,
        news: &[HostNews],
    ) -> Result<(), ClusterError> {
        let now = self.now_ms();
        type Writes<'a> = (Vec<(&'a str, RobotsState)>, Vec<(&'a str, HostState)>);
        let mut by_partition: BTreeMap<u32, Writes> = BTreeMap::new();
        for item in news {
            let host = item.host();
            let writes = by_partition
                .entry(session.crawl().partition_of(host))
                .or_default();
            match item {
                HostNews::Robots { rules, .. } => writes.0.push((
                    host,
                    RobotsState {
                        fetched_at_ms: now,
                        status: 0,
                        body: rules.to_shared(),
                    },
                )),
                HostNews::Paused {
                    pause,
                    backoff_level,
                    ..
                } => {
                    let until = now + millis(*pause);
                    writes.1.push((
                        host,
                        HostState {
                            next_fetch_ms: until,
                            crawl_delay_ms: None,
                            paused_until_ms: Some(until),
                            backoff_ms: millis(*pause),
                            backoff_level: *backoff_level,
                        },
                    ))
                }
            }
        }
        for (p, (robots, hosts)) in by_partition {
            let Some(lease) = held.lease(p) else {
                continue;
            };
            match session.store_politeness(lease, &robots, &hosts) {
                Ok(()) | Err(ClusterError::Fenced { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// What former owners shared of the hosts of `queued` that were not read since
    /// their partition was leased. A host is marked read once its read succeeded; a
    /// failed read ends the round with what was read so far (the outage is seen by the
    /// bridge's next call), and its hosts are read with their next delivery.
    pub fn adopted(
        &mut self,
        session: &mut Session,
        held: &Held,
        queued: &[Queued],
    ) -> Vec<AdoptedHost> {
        let mut new_hosts: BTreeMap<u32, HashMap<Fingerprint, String>> = BTreeMap::new();
        for q in queued {
            let key = q.url.host_key();
            let p = session.crawl().partition_of(key.as_str());
            let Some(epoch) = held.lease(p).map(|lease| lease.epoch) else {
                continue;
            };
            let read = self
                .read
                .entry(p)
                .or_insert_with(|| (epoch, HashSet::new()));
            if read.0 != epoch {
                *read = (epoch, HashSet::new());
            }
            let fingerprint = Fingerprint::of(key.as_str());
            if !read.1.contains(&fingerprint) {
                (new_hosts.entry(p).or_default()).insert(fingerprint, key.as_str().to_owned());
            }
        }
        let mut adopted = Vec::new();
        for (p, hosts) in new_hosts {
            let names: Vec<&str> = hosts.values().map(String::as_str).collect();
            let shared = match session.shared_hosts(p, &names) {
                Ok(shared) => shared,
                Err(error) => {
                    tracing::debug!(%error, "hosts' shared politeness not read");
                    break;
                }
            };
            if let Some(read) = self.read.get_mut(&p) {
                read.1.extend(hosts.keys().copied());
            }
            let now = self.now_ms();
            for (host, shared) in hosts.into_values().zip(shared) {
                let robots = shared.robots.and_then(|robots| {
                    let rules = RobotsRules::from_shared(&robots.body)?;
                    let age = Duration::from_millis(now.saturating_sub(robots.fetched_at_ms));
                    Some((Arc::new(rules), age))
                });
                let paused = shared.state.and_then(|state| {
                    let until = state.paused_until_ms?;
                    let left = Duration::from_millis(until.saturating_sub(now));
                    Some((left, state.backoff_level))
                });
                if robots.is_some() || paused.is_some() {
                    adopted.push(AdoptedHost {
                        host,
                        robots,
                        paused,
                    });
                }
            }
        }
        adopted
    }
}

fn local_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
