//! The Redis side of a crawl shared by many crawler processes on many machines.
//!
//! This crate provides the shared state of a cluster crawl, kept in one Redis (or
//! Redis Cluster) and changed only through small Lua scripts: the crawl's settings,
//! its partitions and their leases, the shared frontier (queues and in-flight
//! sets), the seen-set, per-host politeness state and cluster-wide totals. It knows
//! nothing about HTTP, the engine or the store: the engine hands it opaque payloads
//! and politeness keys.
//!
//! # Brief overview
//!
//! The principal types are [`Crawl`] (a crawl id, created or joined, shared by a
//! node's threads) and [`Session`] (one connection; every operation is a method on
//! it). A node:
//!
//! 1. opens the crawl with its settings ([`Crawl::open`]): the first node stores
//!    them, a later one with a conflicting setting gets
//!    [`ClusterError::SettingConflict`] naming it;
//! 2. heartbeats and balances its partitions ([`Session::rebalance`]), renewing
//!    each [`Lease`] at a third of the lease time ([`Session::renew`]);
//! 3. takes entries from its partitions ([`Session::take`]), fetches them,
//!    enqueues their links into the links' partitions ([`Session::enqueue`]) and
//!    acknowledges them once stored ([`Session::ack`]);
//! 4. keeps each host's politeness state in the host's partition
//!    ([`Session::store_host`]).
//!
//! ```no_run
//! use crawler_cluster::{ClusterConfig, Crawl, Entry, Session};
//! use std::collections::BTreeMap;
//! use std::time::Duration;
//!
//! let config = ClusterConfig::new("redis://127.0.0.1:6379/0", "shop")?;
//! let settings = BTreeMap::from([("max-depth".to_string(), "3".to_string())]);
//! let crawl = Crawl::open(config, &settings, &[])?;
//! let mut session = Session::open(&crawl)?;
//! let p = crawl.partition_of("example.org");
//! session.enqueue(p, &[Entry::new("https://example.org/", "https://example.org/")])?;
//! let mut held = BTreeMap::new();
//! session.rebalance(&mut held)?;
//! if let Some(lease) = held.get(&p) {
//!     let taken = session.take(lease, 10, Duration::from_secs(60))?;
//!     // ... fetch and store each delivery, then:
//!     session.ack(lease, &taken.deliveries)?;
//! }
//! # Ok::<(), crawler_cluster::ClusterError>(())
//! ```
//!
//! # Design
//!
//! **Partitions.** A host belongs to partition `xxh3(host) mod P` ([`partition_of`]);
//! P is fixed when the crawl id is created (default [`DEFAULT_PARTITIONS`] = 64) and
//! does not depend on the node count. Each partition has exactly one owner, who
//! alone takes its entries and spaces its hosts' requests, so politeness holds
//! cluster-wide without cross-node coordination. Why 64: partitions are what is
//! balanced, so P bounds the balance (with [`assign::plan`]'s quotas, counts differ
//! by at most one: the busiest node has at most 3% more than the mean up to 6 nodes,
//! 17% up to 16, none at 2, 4, 8 and 16; and the more partitions a node has, the more
//! its hosts' uneven sizes average out), while each partition costs a lease renewal
//! every lease/3 (64 partitions at the default 30 s lease: ~6 commands a second for
//! the whole cluster), a few keys, and a round of commands when a node looks for
//! work. Every key of a partition carries the hash tag `{pN}` ([`keys`]) and no
//! script touches two partitions, so the key layout runs unchanged on Redis Cluster
//! (tests run every operation on a one-node cluster, which refuses cross-slot
//! scripts, and the layer's main guarantees on a cluster of three shards). The
//! connection finds out whether the URL's server runs in cluster mode (`INFO
//! cluster`) and then uses the `redis` crate's cluster client, seeded from that
//! URL: each script goes to its partition's shard, and the pipelines that read
//! every partition at once (backlog, totals, leases) are split per shard.
//! TLS: `rediss://` URLs go through the `redis` crate's rustls backend (the
//! system's root certificates).
//!
//! **Leases and epochs** ([`lease`], [`fence`]). A node owns a partition by a
//! lease it renews with a compare-and-extend script. Every takeover increments the
//! partition's epoch, and every write a node makes as owner (take, ack, retry,
//! enqueue as owner, politeness) carries its epoch and is refused with
//! [`ClusterError::Fenced`] when stale: a node paused past its lease cannot write
//! for a partition it lost. Leases are by node *name*, so a node restarted with its
//! old name takes its partitions straight back.
//!
//! **Once per URL** ([`queue`], [`seen`]). Enqueueing is one script per target
//! partition that adds each fingerprint to the partition's seen-set and queues only
//! the new ones. The seen-set holds 8-byte fingerprints in small hashes (listpack
//! encoded), 15.5 bytes of Redis memory per URL at a million (BENCHMARKS.md).
//!
//! **Nothing lost** ([`inflight`]). A taken entry waits in a deadline-ordered
//! in-flight set until acknowledged; a takeover puts a dead owner's in-flight
//! entries back in the queue; an entry delivered more than `max_deliveries` times
//! goes to a dead-letter list.
//!
//! **Durability** ([`durability`]). The shared state is as durable as Redis keeps
//! it: with `appendonly yes` and `appendfsync everysec`, a crash of the Redis
//! process loses nothing it acknowledged, a crash of its machine at most the last
//! second. [`Session::durability`] tells a node whether to warn.
//!
//! **Clocks.** Lease expiries, deadlines and politeness times are all Redis's
//! clock (`TIME` inside the scripts, [`Session::now_ms`] outside), never a node's.
//!
//! What this crate deliberately does not do: fetch, store, schedule, or decide when
//! to renew; it has no threads. The engine drives it.

pub mod assign;
mod backlog;
mod config;
mod connection;
mod crawl;
pub mod durability;
mod error;
pub mod fence;
pub mod inflight;
pub mod keys;
pub mod lease;
mod partition;
pub mod politeness;
pub mod queue;
mod record;
mod scope;
pub mod seen;
mod session;
pub mod totals;

pub use backlog::Backlog;
pub use config::{
    mask_url, ClusterConfig, DEFAULT_LEASE, DEFAULT_MAX_DELIVERIES, DEFAULT_PARTITIONS,
    MAX_DELIVERIES_LIMIT,
};
pub use crawl::Crawl;
pub use durability::Durability;
pub use error::ClusterError;
pub use fence::Lease;
pub use inflight::Taken;
pub use keys::{Keys, PartitionKeys};
pub use lease::{Claim, LeaseState, Moves};
pub use partition::{partition_of, Fingerprint};
pub use politeness::{HostState, RobotsState, SharedHost};
pub use record::{Delivery, Entry};
pub use session::Session;
pub use totals::{NodeTotals, Totals};
