//! The crawl's scope, shared: what the seeds admit, known to every node.
//!
//! A crawl's scope comes from its seeds (their hosts or domains), but in a cluster
//! only the nodes given seed lists read them, while every node judges the links of
//! the pages it fetches. So a node appends its seeds' scope keys to one list before
//! it enqueues any seed, and every node reads the list from where it last stopped
//! before it takes entries: a link is judged by a scope that holds every seed queued
//! before the page that carries it. Keys are opaque here (the engine makes them);
//! a key given twice is kept twice, and read twice, harmlessly.

use crate::error::ClusterError;
use crate::session::Session;

/// Keys appended per command: bounds one command's size with a million seeds.
const CHUNK: usize = 10_000;

impl Session {
    /// Appends scope keys to the crawl's scope list.
    pub fn add_scope_keys(&mut self, keys: &[String]) -> Result<(), ClusterError> {
        let list = self.crawl().keys().scope();
        for chunk in keys.chunks(CHUNK) {
            self.conn()
                .run(|c| redis::cmd("RPUSH").arg(&list).arg(chunk).query::<u64>(c))?;
        }
        Ok(())
    }

    /// The scope keys from position `from` on (0 for all of them), at most
    /// `CHUNK` at a time: call again from `from + returned.len()` until empty.
    pub fn scope_keys_from(&mut self, from: u64) -> Result<Vec<String>, ClusterError> {
        let list = self.crawl().keys().scope();
        let last = from + CHUNK as u64 - 1;
        self.conn()
            .run(|c| redis::cmd("LRANGE").arg(&list).arg(from).arg(last).query(c))
    }
}
