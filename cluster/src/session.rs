//! [`Session`]: one connection to the crawl's Redis, on which every operation runs.
//!
//! A [`crate::Crawl`] is shared by a node's threads; each thread that talks to Redis
//! opens its own session (a session is one connection, used by one thread at a
//! time). The operations are in the modules named after them (`lease`, `queue`,
//! `inflight`, `politeness`, `totals`), each an `impl Session` block.

use crate::connection::Connection;
use crate::crawl::Crawl;
use crate::error::ClusterError;

/// One connection to the crawl's Redis, with the crawl it works on.
pub struct Session {
    crawl: Crawl,
    conn: Connection,
}

impl Session {
    /// Opens a connection for `crawl` (an unreachable server is an error here).
    pub fn open(crawl: &Crawl) -> Result<Session, ClusterError> {
        let config = crawl.config();
        Ok(Session {
            crawl: crawl.clone(),
            conn: Connection::open(&config.url, &config.masked_url(), config.tls_ca.as_deref())?,
        })
    }

    /// The crawl this session works on.
    pub fn crawl(&self) -> &Crawl {
        &self.crawl
    }

    /// Whether the crawl's Redis is a Redis Cluster (its server said so when the
    /// session connected), used through the cluster client.
    pub fn on_redis_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.crawl.config().node
    }

    /// Redis's clock in Unix milliseconds: the one clock all nodes agree on (leases,
    /// deadlines and politeness times are all in it).
    pub fn now_ms(&mut self) -> Result<u64, ClusterError> {
        let (secs, micros): (u64, u64) = self.conn.run(|c| redis::cmd("TIME").query(c))?;
        Ok(secs * 1000 + micros / 1000)
    }

    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }
}
