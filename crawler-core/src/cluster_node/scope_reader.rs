//! Learning the crawl's scope keys (the seeds every node was given) from Redis, from
//! where this node last stopped reading.

use std::sync::Arc;

use crawler_cluster::{ClusterError, Session};

use crate::url::SharedScopeKeys;

/// The keys learned so far, and how many of the crawl's list they were.
pub(super) struct ScopeReader {
    learned: Arc<SharedScopeKeys>,
    read: u64,
}

impl ScopeReader {
    /// Nothing read yet; what is read widens `learned`.
    pub fn new(learned: Arc<SharedScopeKeys>) -> ScopeReader {
        ScopeReader { learned, read: 0 }
    }

    /// Reads every key appended since the last call.
    pub fn catch_up(&mut self, session: &mut Session) -> Result<(), ClusterError> {
        loop {
            let keys = session.scope_keys_from(self.read)?;
            if keys.is_empty() {
                return Ok(());
            }
            self.read += keys.len() as u64;
            self.learned.extend(keys.iter().map(String::as_str));
        }
    }
}
