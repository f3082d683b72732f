//! The in-memory seen-set: fingerprints of every URL ever queued or settled.
//!
//! Workers check and insert outlinks concurrently, so the set is split into shards,
//! each behind its own mutex held for one hash-set operation.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

const SHARDS: usize = 64;

/// Fingerprints are already uniform hashes: hashing them again is wasted work.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | u64::from(*byte);
        }
    }
    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

type Shard = HashSet<u128, BuildHasherDefault<PassThrough>>;

pub struct SeenSet {
    shards: Vec<Mutex<Shard>>,
}

impl Default for SeenSet {
    fn default() -> SeenSet {
        SeenSet {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }
}

impl SeenSet {
    /// Inserts a fingerprint; true when it was not there before.
    pub fn insert(&self, fingerprint: u128) -> bool {
        let shard = &self.shards[(fingerprint >> 64) as usize % SHARDS];
        // A poisoned shard only means another worker panicked mid-insert; the set is still valid.
        let mut set = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        set.insert(fingerprint)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_once() {
        let seen = SeenSet::default();
        assert!(seen.insert(42));
        assert!(!seen.insert(42));
        assert!(seen.insert(43 << 64));
        assert_eq!(seen.len(), 2);
    }
}
