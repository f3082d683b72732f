//! Whether the cluster's Redis keeps what it acknowledged across its own crash.
//!
//! The crawl's shared state is only as durable as Redis makes it. With the
//! append-only file on and `appendfsync everysec`, a crash of the Redis process
//! loses nothing it acknowledged (each write reaches the kernel before the reply),
//! and a crash of its machine at most the last second. Without the AOF, a restart
//! brings back the last RDB snapshot, or nothing: a node should warn at start.

use crate::error::ClusterError;
use crate::session::Session;

/// What `INFO persistence` says about the server's durability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// The append-only file is on.
    pub aof: bool,
    /// `appendfsync` (`always`, `everysec`, `no`) when the server lets it be read
    /// (`CONFIG GET` may be refused by a managed Redis).
    pub fsync: Option<String>,
}

impl Durability {
    /// A sentence for a node's start-up warning, or `None` when the AOF is on.
    pub fn warning(&self) -> Option<String> {
        if self.aof {
            None
        } else {
            Some(
                "the cluster's Redis has its append-only file off: a Redis restart may lose the crawl's shared state since its last snapshot (set appendonly yes, appendfsync everysec)"
                    .to_string(),
            )
        }
    }
}

impl Session {
    /// Reads the server's persistence settings.
    pub fn durability(&mut self) -> Result<Durability, ClusterError> {
        // On a Redis Cluster, every shard's primary must keep its writes.
        let infos = self.conn().info("persistence")?;
        let aof = !infos.is_empty()
            && infos
                .iter()
                .all(|info| info.lines().any(|line| line.trim() == "aof_enabled:1"));
        let fsync: Option<Vec<String>> = self
            .conn()
            .run(|c| redis::cmd("CONFIG").arg("GET").arg("appendfsync").query(c))
            .ok();
        Ok(Durability {
            aof,
            fsync: fsync.and_then(|pair| pair.into_iter().nth(1)),
        })
    }
}
