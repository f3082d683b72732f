//! The seen-set: has this URL (by its 128-bit fingerprint) ever been queued or settled?
//!
//! The truth is the store's seen-set, an on-disk hash table written just after the
//! frontier entry a URL gets and before the batch of the page that found it. Memory
//! holds only a Bloom filter over it (about 1.2 bytes per URL), so most new URLs are
//! known to be new without touching disk (a filter hit costs one lookup in the table,
//! a few `pread`s, remembered: see below; the filter grows with the crawl, see
//! [`crawler_storage::GrowingFilter`]), and a small set of *pending*
//! fingerprints: claimed by a worker whose batch is not written yet. Without the pending
//! set, two workers finding the same new link at once could both see it missing from
//! the store and queue it twice.
//!
//! Links repeat (navigation, pagination), so a filter hit that the table confirms is
//! remembered: each shard keeps the last few thousand confirmed fingerprints in two
//! generations (the older one dropped when the newer fills), so a link found on every
//! page of a site costs one table lookup, not one per page. A fingerprint once in the
//! table is never removed, so remembering it can never be wrong.
//!
//! Workers check and claim concurrently, so the set is split into shards by
//! fingerprint, each behind its own mutex. A shard's lock is held for one claim,
//! which may read the store (never write it) when the filter says "maybe".

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex, MutexGuard};

use crawler_storage::{GrowingFilter, Store, StoreError};

use crate::pass_through::PassThrough;

const SHARDS: usize = 64;
/// The filter's first part is sized for at least this many URLs (about 2.4 MB at a 1%
/// false-positive rate), the next for four times as many, and so on: 10 million URLs
/// take the 12 MB one filter for 10 million did, and a crawl of 100,000 a fifth of it.
/// A false positive costs a store read, never correctness.
const MIN_EXPECTED: usize = 2_000_000;
const FALSE_POSITIVE_RATE: f64 = 0.01;
/// Confirmed fingerprints remembered per shard and generation (about 5 MB in all).
const RECENT_PER_SHARD: usize = 2048;

struct Shard {
    filter: GrowingFilter,
    /// Claimed, and not yet known to be in the store.
    pending: HashSet<u128, BuildHasherDefault<PassThrough>>,
    /// Found in the store lately: the newer generation, then the older.
    recent: [HashSet<u128, BuildHasherDefault<PassThrough>>; 2],
}

impl Shard {
    fn recently_found(&self, fingerprint: u128) -> bool {
        self.recent
            .iter()
            .any(|generation| generation.contains(&fingerprint))
    }

    fn remember_found(&mut self, fingerprint: u128) {
        if self.recent[0].len() >= RECENT_PER_SHARD {
            self.recent[1] = std::mem::take(&mut self.recent[0]);
        }
        self.recent[0].insert(fingerprint);
    }
}

pub struct SeenSet {
    shards: Vec<Mutex<Shard>>,
    store: Arc<Store>,
}

impl SeenSet {
    /// The seen-set of `store`: its filter is built from every fingerprint the store holds.
    pub fn load(store: Arc<Store>) -> Result<SeenSet, StoreError> {
        let stored = store.seen_count()?;
        let expected = (stored.saturating_mul(2) as usize).max(MIN_EXPECTED) / SHARDS;
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    filter: GrowingFilter::new(expected, FALSE_POSITIVE_RATE),
                    pending: HashSet::default(),
                    recent: Default::default(),
                })
            })
            .collect();
        let seen = SeenSet { shards, store };
        seen.store.for_each_seen(|fingerprint| {
            seen.shard(fingerprint).filter.insert(&fingerprint);
        })?;
        Ok(seen)
    }

    fn shard(&self, fingerprint: u128) -> MutexGuard<'_, Shard> {
        let shard = &self.shards[(fingerprint >> 64) as usize % SHARDS];
        // A poisoned shard only means another worker panicked mid-claim; the filter
        // and the pending set are each still valid.
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Claims a fingerprint: true when it was never seen, and it is now pending until
    /// released. Tasks claim through [`Claims`], which releases after their write.
    fn claim(&self, fingerprint: u128) -> Result<bool, StoreError> {
        let mut shard = self.shard(fingerprint);
        // Most links repeat ones found before: the remembered set answers them first.
        if shard.recently_found(fingerprint) || shard.pending.contains(&fingerprint) {
            return Ok(false);
        }
        if shard.filter.contains(&fingerprint) && self.store.is_seen(fingerprint)? {
            shard.remember_found(fingerprint);
            return Ok(false);
        }
        shard.filter.insert(&fingerprint);
        shard.pending.insert(fingerprint);
        Ok(true)
    }

    /// The claimed fingerprints are in the store now (or their task ended without
    /// writing them): see [`Claims`].
    fn release(&self, fingerprints: impl IntoIterator<Item = u128>) {
        for fingerprint in fingerprints {
            self.shard(fingerprint).pending.remove(&fingerprint);
        }
    }

    /// A set of claims for one task, released when it is dropped.
    pub fn claims(&self) -> Claims<'_> {
        Claims {
            seen: self,
            fingerprints: Vec::new(),
        }
    }
}

/// The fingerprints one task claimed, released when it is dropped: after the task's
/// store write, or when the task returns an error or panics before it. Either way is
/// right: a written fingerprint is in the store, and one that never reached it must be
/// claimable again, or the URL would be lost to the crawl while the pending set grew.
pub struct Claims<'a> {
    seen: &'a SeenSet,
    fingerprints: Vec<u128>,
}

impl Claims<'_> {
    /// [`SeenSet::claim`], remembering a successful claim for the release.
    pub fn claim(&mut self, fingerprint: u128) -> Result<bool, StoreError> {
        let new = self.seen.claim(fingerprint)?;
        if new {
            self.fingerprints.push(fingerprint);
        }
        Ok(new)
    }

    /// Releases a fingerprint this task claimed and will not write after all (a URL a
    /// budget kept out of the queue), so that it can be found again.
    pub fn give_back(&mut self, fingerprint: u128) {
        if let Some(at) = self.fingerprints.iter().rposition(|f| *f == fingerprint) {
            self.fingerprints.swap_remove(at);
            self.seen.release([fingerprint]);
        }
    }
}

impl Drop for Claims<'_> {
    fn drop(&mut self) {
        self.seen.release(self.fingerprints.drain(..));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crawler_storage::{QueueEntry, StoreOptions};

    #[test]
    fn a_fingerprint_is_new_once_before_and_after_it_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), StoreOptions::default()).unwrap());
        store
            .enqueue(&[(7, QueueEntry::seed("http://a.test/", "http://a.test:80"))])
            .unwrap();
        let seen = SeenSet::load(Arc::clone(&store)).unwrap();
        assert!(!seen.claim(7).unwrap(), "stored before the set was loaded");
        assert!(seen.claim(8).unwrap());
        assert!(
            !seen.claim(8).unwrap(),
            "pending: claimed and not yet stored"
        );
        store
            .enqueue(&[(8, QueueEntry::seed("http://a.test/8", "http://a.test:80"))])
            .unwrap();
        seen.release([8]);
        assert!(!seen.claim(8).unwrap(), "stored now");
        assert!(seen.claim(9 << 64).unwrap());
    }

    #[test]
    fn claims_are_released_when_their_task_fails_or_panics() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), StoreOptions::default()).unwrap());
        let seen = SeenSet::load(Arc::clone(&store)).unwrap();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut claims = seen.claims();
            assert!(claims.claim(21).unwrap());
            assert!(!claims.claim(21).unwrap(), "pending while the task runs");
            panic!("the task fails before its write");
        }));
        assert!(panicked.is_err());
        assert!(seen.claim(21).unwrap(), "never stored, so new again");
        let mut claims = seen.claims();
        assert!(
            !claims.claim(21).unwrap(),
            "claimed above, outside any guard"
        );
        assert!(claims.claim(22).unwrap());
        drop(claims);
        assert!(seen.claim(22).unwrap());
    }

    #[test]
    fn remembered_fingerprints_are_bounded_and_stay_seen_after_they_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), StoreOptions::default()).unwrap());
        // All in shard 0, three generations' worth.
        let fingerprints: Vec<u128> = (1..=3 * RECENT_PER_SHARD as u128)
            .map(|k| (k * SHARDS as u128) << 64)
            .collect();
        let entries: Vec<_> = fingerprints
            .iter()
            .map(|&fp| (fp, QueueEntry::seed("http://a.test/", "http://a.test:80")))
            .collect();
        store.enqueue(&entries).unwrap();
        let seen = SeenSet::load(Arc::clone(&store)).unwrap();
        for round in 0..2 {
            for &fp in &fingerprints {
                assert!(!seen.claim(fp).unwrap(), "round {round}: stored, so seen");
            }
        }
        let shard = seen.shard(0);
        assert!(shard.recent.iter().all(|g| g.len() <= RECENT_PER_SHARD));
        assert!(shard.recently_found(*fingerprints.last().unwrap()));
        assert!(
            !shard.recently_found(fingerprints[0]),
            "the oldest were forgotten"
        );
    }

    #[test]
    fn concurrent_claims_of_one_fingerprint_have_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), StoreOptions::default()).unwrap());
        let seen = Arc::new(SeenSet::load(store).unwrap());
        let winners: usize = (0..8)
            .map(|_| {
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    (0..1000u128).filter(|fp| seen.claim(*fp).unwrap()).count()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(winners, 1000);
    }
}
