//! A Bloom filter that grows with what is put in it: when the newest filter holds
//! what it was sized for, it is kept and one four times larger is started. A lookup
//! asks each, so the false-positive rate is about the sum of theirs.
//!
//! A Bloom filter cannot grow, and sizing one for the largest crawl costs every crawl
//! that memory (at a 1% rate, 1.2 bytes per item it was sized for, touched at random,
//! so all of it resident). The store's writer uses one for the page keys it wrote
//! (`crate::writer::recorded_keys`) and the engine's seen-set one per shard.

use std::hash::Hash;

use fastbloom::BloomFilter;

/// Filters sized by four times each.
pub struct GrowingFilter {
    filters: Vec<Filter>,
    first_capacity: usize,
    false_positives: f64,
}

struct Filter {
    items: BloomFilter,
    added: usize,
    capacity: usize,
}

impl GrowingFilter {
    /// An empty filter whose first part is sized for `first_capacity` items (at least
    /// 1) at a `false_positives` rate; it takes no memory until the first insert.
    pub fn new(first_capacity: usize, false_positives: f64) -> GrowingFilter {
        GrowingFilter {
            filters: Vec::new(),
            first_capacity: first_capacity.max(1),
            false_positives,
        }
    }

    /// `false` only when `item` was certainly never inserted.
    pub fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool {
        self.filters
            .iter()
            .any(|filter| filter.items.contains(item))
    }

    /// Adds `item`, starting a larger filter when the newest is full.
    pub fn insert<T: Hash + ?Sized>(&mut self, item: &T) {
        let full = self
            .filters
            .last()
            .is_none_or(|last| last.added >= last.capacity);
        if full {
            let capacity = self
                .filters
                .last()
                .map_or(self.first_capacity, |last| last.capacity.saturating_mul(4));
            self.filters.push(Filter {
                items: BloomFilter::with_false_pos(self.false_positives).expected_items(capacity),
                added: 0,
                capacity,
            });
        }
        if let Some(last) = self.filters.last_mut() {
            last.items.insert(item);
            last.added += 1;
        }
    }

    /// Items it is sized for now (0 before the first insert).
    pub fn capacity(&self) -> usize {
        self.filters.iter().map(|filter| filter.capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_found_across_filters_and_most_strangers_are_not() {
        let mut filter = GrowingFilter::new(1_000, 0.01);
        assert_eq!(filter.capacity(), 0);
        let n = 6_000u64; // fills filters of 1,000 and 4,000, and starts one of 16,000
        for i in 0..n {
            filter.insert(&i);
        }
        assert_eq!(filter.capacity(), 21_000);
        assert!((0..n).all(|i| filter.contains(&i)));
        let strangers = (n..n + 10_000).filter(|i| filter.contains(i)).count();
        // Three filters at 1% each: a few hundred false positives at most.
        assert!(strangers < 500, "{strangers} false positives in 10,000");
    }
}
