//! The names of every key a crawl uses.
//!
//! Crawl-wide keys are `crawl:{id}:settings`, `crawl:{id}:nodes`, `crawl:{id}:scope` and `crawl:{id}:seeded`; each is used
//! alone by any one command or script (so they need no common hash tag, and on a
//! Redis Cluster each lives on the shard of its own slot). Every key of partition `N` is
//! `crawl:{id}:{pN}:...`: the braces make `pN` the key's *hash tag*, so on Redis
//! Cluster all of a partition's keys live in one slot and a script may touch them
//! together. No script is given keys of two partitions (the crawl id itself carries
//! no braces: it is checked to be letters, digits, `.`, `_`, `-`).

/// Key names for one crawl id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of crawl `crawl_id` (already validated by the config).
    pub fn new(crawl_id: &str) -> Keys {
        Keys {
            prefix: format!("crawl:{crawl_id}"),
        }
    }

    /// Hash: the crawl's settings (name -> value) and the reserved `@partitions`.
    pub fn settings(&self) -> String {
        format!("{}:settings", self.prefix)
    }

    /// Sorted set: node name -> when its heartbeat lapses (Redis time, ms).
    pub fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    /// List: the crawl's scope keys (what its seeds admit), appended as seeds are
    /// given, read from where a node last stopped.
    pub fn scope(&self) -> String {
        format!("{}:scope", self.prefix)
    }

    /// String: set once any URL was enqueued in the crawl.
    pub fn seeded(&self) -> String {
        format!("{}:seeded", self.prefix)
    }

    /// The keys of one partition.
    pub fn partition(&self, partition: u32) -> PartitionKeys {
        PartitionKeys {
            prefix: format!("{}:{{p{partition}}}", self.prefix),
        }
    }
}

/// Every key of one partition, all with its hash tag `{pN}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKeys {
    prefix: String,
}

impl PartitionKeys {
    /// Hash: `owner`, `epoch`, `until` (Redis time, ms). The epoch outlives the owner.
    pub fn lease(&self) -> String {
        format!("{}:lease", self.prefix)
    }

    /// List: entries waiting to be fetched (pushed at the tail, taken at the head).
    pub fn queue(&self) -> String {
        format!("{}:queue", self.prefix)
    }

    /// Sorted set: entries handed out, scored by when they may be handed out again.
    pub fn inflight(&self) -> String {
        format!("{}:inflight", self.prefix)
    }

    /// List: entries delivered more than `max_deliveries` times.
    pub fn dead(&self) -> String {
        format!("{}:dead", self.prefix)
    }

    /// Hash: the seen-set's state (`n` fingerprints, `level`, `split`); its buckets are
    /// the hashes `seen:0`, `seen:1`, ... (named by the enqueue script from this key).
    pub fn seen(&self) -> String {
        format!("{}:seen", self.prefix)
    }

    /// Hash: node -> pages it acknowledged in this partition.
    pub fn pages(&self) -> String {
        format!("{}:pages", self.prefix)
    }

    /// Hash: host -> its politeness state (JSON).
    pub fn hosts(&self) -> String {
        format!("{}:hosts", self.prefix)
    }

    /// Hash: host -> its robots.txt state (JSON).
    pub fn robots(&self) -> String {
        format!("{}:robots", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis Cluster hashes only what is between the first `{` and the next `}`.
    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').unwrap();
        let close = key[open..].find('}').unwrap() + open;
        &key[open + 1..close]
    }

    #[test]
    fn every_partition_key_carries_its_tag() {
        let keys = Keys::new("shop");
        let p = keys.partition(7);
        for key in [
            p.lease(),
            p.queue(),
            p.inflight(),
            p.dead(),
            p.seen(),
            format!("{}:12", p.seen()),
            p.pages(),
            p.hosts(),
            p.robots(),
        ] {
            assert!(key.starts_with("crawl:shop:"), "{key}");
            assert_eq!(hash_tag(&key), "p7", "{key}");
        }
        assert!(!keys.settings().contains('{'));
        assert!(!keys.nodes().contains('{'));
    }
}
