//! The one error type of the crate.
//!
//! Every variant that involves the server names it by its *masked* URL
//! ([`crate::ClusterConfig::masked_url`]), so an error can be printed or logged as
//! it is: a password given in the URL never reaches a message.

/// What went wrong talking to the cluster's Redis, or with what it holds.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The `--cluster` URL cannot be used.
    #[error("bad cluster URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    /// A configuration value out of range (crawl id, node name, lease, ...).
    #[error("bad cluster setting {name}: {reason}")]
    BadConfig { name: &'static str, reason: String },
    /// No connection could be made (refused, timed out, TLS or authentication failed).
    #[error("cannot reach Redis at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// A command failed on an open connection (the connection is dropped and made
    /// again on the next call).
    #[error("Redis at {url} failed: {reason}")]
    Redis { url: String, reason: String },
    /// A node joining a crawl gave a setting that differs from the one the crawl was
    /// created with, and did not pass it as an override.
    #[error("setting {name} of crawl {crawl_id} is {stored:?}; this node gives {given:?} (pass it as an override to change it)")]
    SettingConflict {
        crawl_id: String,
        name: String,
        stored: String,
        given: String,
    },
    /// A write as the owner of a partition carried an epoch that is no longer the
    /// partition's: another node took the partition over (or this node released it).
    /// The node must drop the partition and everything it holds for it.
    #[error("partition {partition}: this node's epoch {epoch} is stale (now epoch {current}, owner {owner})")]
    Fenced {
        partition: u32,
        epoch: u64,
        current: u64,
        owner: String,
    },
    /// Something stored in Redis is not what this crate writes.
    #[error("unexpected data in {key} on Redis at {url}: {what}")]
    Corrupt {
        url: String,
        key: String,
        what: String,
    },
}
