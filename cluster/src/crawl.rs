//! [`Crawl`]: create a crawl id, or join the one that exists.
//!
//! The first node to open a crawl id stores its settings (name -> value) and the
//! partition count in `crawl:{id}:settings`, in one script, so two nodes starting
//! at once cannot both create it. A later node compares: a setting it gives with a
//! different value is a [`ClusterError::SettingConflict`] naming the setting, unless
//! the node lists the name among its overrides (as on a resume), which replaces the
//! stored value for the nodes that join after it. A setting the crawl does not have
//! yet is added; one the node does not give is the crawl's ([`Crawl::settings`]).

use crate::config::ClusterConfig;
use crate::connection::Connection;
use crate::error::ClusterError;
use crate::keys::Keys;
use crate::partition::partition_of;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

/// The settings field holding the partition count (`@` cannot start a setting name).
const PARTITIONS_FIELD: &str = "@partitions";

/// KEYS[1] settings; ARGV: partitions, override count, overrides..., then name/value
/// pairs. Returns `{'created', P}`, `{'joined', P}` or `{'conflict', name, stored,
/// given, ...}` (and writes nothing then).
static OPEN: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
local key = KEYS[1]
local overrides = {}
local n = tonumber(ARGV[2])
for i = 3, 2 + n do overrides[ARGV[i]] = true end
local first = 3 + n
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, '@partitions', ARGV[1])
  for i = first, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
  return {'created', ARGV[1]}
end
local conflicts = {'conflict'}
for i = first, #ARGV, 2 do
  local stored = redis.call('HGET', key, ARGV[i])
  if stored and stored ~= ARGV[i + 1] and not overrides[ARGV[i]] then
    table.insert(conflicts, ARGV[i]); table.insert(conflicts, stored); table.insert(conflicts, ARGV[i + 1])
  end
end
if #conflicts > 1 then return conflicts end
for i = first, #ARGV, 2 do
  if overrides[ARGV[i]] then redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  else redis.call('HSETNX', key, ARGV[i], ARGV[i + 1]) end
end
return {'joined', redis.call('HGET', key, '@partitions')}
"#,
    )
});

/// A crawl id on the cluster's Redis, created or joined: what every session of this
/// node shares (cheap to clone).
#[derive(Debug, Clone)]
pub struct Crawl {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClusterConfig,
    keys: Keys,
    partitions: u32,
    settings: BTreeMap<String, String>,
    created: bool,
}

impl Crawl {
    /// Creates crawl `config.crawl_id` with `settings`, or joins it; names in
    /// `overrides` may differ from the stored settings (and replace them).
    pub fn open(
        config: ClusterConfig,
        settings: &BTreeMap<String, String>,
        overrides: &[&str],
    ) -> Result<Crawl, ClusterError> {
        config.validate()?;
        if let Some(name) = settings.keys().find(|n| n.is_empty() || n.starts_with('@')) {
            return Err(ClusterError::BadConfig {
                name: "setting",
                reason: format!(
                    "{name:?}: a setting name is not empty and does not start with '@'"
                ),
            });
        }
        let keys = Keys::new(&config.crawl_id);
        let mut conn =
            Connection::open(&config.url, &config.masked_url(), config.tls_ca.as_deref())?;
        let mut invocation = OPEN.key(keys.settings());
        invocation.arg(config.partitions).arg(overrides.len());
        for name in overrides {
            invocation.arg(*name);
        }
        for (name, value) in settings {
            invocation.arg(name).arg(value);
        }
        let answer: Vec<String> = conn.run(|c| invocation.invoke(c))?;
        let corrupt = |what: String| ClusterError::Corrupt {
            url: config.masked_url(),
            key: keys.settings(),
            what,
        };
        let created = match answer.first().map(String::as_str) {
            Some("created") => true,
            Some("joined") => false,
            Some("conflict") if answer.len() >= 4 => {
                return Err(ClusterError::SettingConflict {
                    crawl_id: config.crawl_id.clone(),
                    name: answer[1].clone(),
                    stored: answer[2].clone(),
                    given: answer[3].clone(),
                })
            }
            _ => return Err(corrupt(format!("the open script answered {answer:?}"))),
        };
        let partitions = answer
            .get(1)
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|&p| p > 0)
            .ok_or_else(|| corrupt(format!("{PARTITIONS_FIELD} is {:?}", answer.get(1))))?;
        let mut stored: BTreeMap<String, String> =
            conn.run(|c| redis::cmd("HGETALL").arg(keys.settings()).query(c))?;
        stored.retain(|name, _| !name.starts_with('@'));
        Ok(Crawl {
            inner: Arc::new(Inner {
                config,
                keys,
                partitions,
                settings: stored,
                created,
            }),
        })
    }

    /// The crawl `config.crawl_id` as it is, to read (`crawler stats --cluster`);
    /// `None` when no node ever created it. Writes nothing.
    pub fn existing(config: ClusterConfig) -> Result<Option<Crawl>, ClusterError> {
        config.validate()?;
        let keys = Keys::new(&config.crawl_id);
        let mut conn =
            Connection::open(&config.url, &config.masked_url(), config.tls_ca.as_deref())?;
        let mut stored: BTreeMap<String, String> =
            conn.run(|c| redis::cmd("HGETALL").arg(keys.settings()).query(c))?;
        if stored.is_empty() {
            return Ok(None);
        }
        let partitions = (stored.get(PARTITIONS_FIELD))
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|&p| p > 0)
            .ok_or_else(|| ClusterError::Corrupt {
                url: config.masked_url(),
                key: keys.settings(),
                what: format!("{PARTITIONS_FIELD} is {:?}", stored.get(PARTITIONS_FIELD)),
            })?;
        stored.retain(|name, _| !name.starts_with('@'));
        Ok(Some(Crawl {
            inner: Arc::new(Inner {
                config,
                keys,
                partitions,
                settings: stored,
                created: false,
            }),
        }))
    }

    /// The configuration this node opened the crawl with.
    pub fn config(&self) -> &ClusterConfig {
        &self.inner.config
    }

    /// The crawl's key names.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The crawl's partition count, fixed when it was created.
    pub fn partitions(&self) -> u32 {
        self.inner.partitions
    }

    /// The crawl's settings after this node joined (overrides applied).
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.inner.settings
    }

    /// Whether this node created the crawl id.
    pub fn created(&self) -> bool {
        self.inner.created
    }

    /// The partition of a politeness key (host) in this crawl.
    pub fn partition_of(&self, politeness_key: &str) -> u32 {
        partition_of(politeness_key, self.inner.partitions)
    }
}
