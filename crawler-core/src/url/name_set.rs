//! A set of names (seed hosts, their domains) held as 64-bit hashes.
//!
//! A broad crawl's scope and address rules ask "is this one of the seeds' hosts?" of
//! a million names; as strings they cost about 80 bytes each, as hashes 16. The hash
//! is keyed at random per set, so a page cannot craft a name that passes for a
//! seed's: two names collide with odds of one in 2^64, and nobody can aim for it.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault};

use crate::pass_through::PassThrough;

/// Names, held as keyed hashes: insert and ask, never list. The table takes the
/// hashes as they are (hashing them again was a fifth of reading a million seeds).
#[derive(Clone, Debug, Default)]
pub struct NameSet {
    key: RandomState,
    hashes: HashSet<u64, BuildHasherDefault<PassThrough>>,
}

impl NameSet {
    /// Adds `name`; true when it was not in the set.
    pub fn insert(&mut self, name: &str) -> bool {
        let hash = self.key.hash_one(name);
        self.hashes.insert(hash)
    }

    /// Whether `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.hashes.contains(&self.key.hash_one(name))
    }

    /// Names in the set.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// No name in the set.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

impl<'a> FromIterator<&'a str> for NameSet {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> NameSet {
        let mut set = NameSet::default();
        for name in names {
            set.insert(name);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_inserted_and_nothing_else() {
        let mut set: NameSet = ["a.test", "b.test"].into_iter().collect();
        assert!(set.contains("a.test") && set.contains("b.test"));
        assert!(!set.contains("c.test") && !set.contains("A.test"));
        assert!(!set.insert("a.test"));
        assert!(set.insert("c.test"));
        assert_eq!(set.len(), 3);
    }
}
