//! Which page keys may already have a record, so that the writer looks up the record
//! it replaces only for those.
//!
//! The store's writer looks up every page key it writes, to count out the record being
//! replaced. In a crawl nearly every key is new, and that lookup (a sled tree walk per
//! page) showed in the crawler's profile (ARCHITECTURE.md, "Why it is built this
//! way"). When the tree held no page at all as the writer started, a key can have a record only if this writer wrote it; a Bloom
//! filter of the keys it wrote answers "certainly not" for the rest. A false positive
//! only costs the lookup it would have made anyway. A writer that found pages in the
//! store when it was opened looks every key up.

use crate::growing_filter::GrowingFilter;

/// False-positive rate of each filter.
const FALSE_POSITIVES: f64 = 0.01;
/// Keys the first filter is sized for; each next one takes four times as many.
const FIRST_CAPACITY: usize = 1 << 16;

/// The keys written since the store was opened.
pub(crate) struct RecordedKeys {
    /// `None`: the tree held pages when the writer started; every key may have one.
    filter: Option<GrowingFilter>,
}

impl RecordedKeys {
    /// For a tree that held no page record (`empty`), or one that did.
    pub(crate) fn new(empty: bool) -> RecordedKeys {
        RecordedKeys {
            filter: empty.then(|| GrowingFilter::new(FIRST_CAPACITY, FALSE_POSITIVES)),
        }
    }

    /// Whether `key` may have a record: `false` only when it certainly has none.
    pub(crate) fn may_have(&self, key: &[u8]) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|filter| filter.contains(key))
    }

    /// Notes that `key` now has a record.
    pub(crate) fn add(&mut self, key: &[u8]) {
        if let Some(filter) = &mut self.filter {
            filter.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_added_key_may_have_a_record_across_filters_and_most_others_not() {
        let mut keys = RecordedKeys::new(true);
        let n = FIRST_CAPACITY * 6; // fills the first filter and part of the second
        for i in 0..n {
            keys.add(format!("p{i}").as_bytes());
        }
        assert!((0..n).all(|i| keys.may_have(format!("p{i}").as_bytes())));
        let strangers = (n..n + 10_000)
            .filter(|i| keys.may_have(format!("p{i}").as_bytes()))
            .count();
        // Two filters at 1% each: a few hundred false positives at most.
        assert!(strangers < 500, "{strangers} false positives in 10,000");
    }

    #[test]
    fn a_store_that_held_pages_looks_up_every_key() {
        let keys = RecordedKeys::new(false);
        assert!(keys.may_have(b"pnever-written"));
    }
}
