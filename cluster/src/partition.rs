//! Which partition a host belongs to, and a URL's fingerprint.
//!
//! Both are xxh3 (64 bits), which is stable across processes, machines and
//! versions of the crate, unlike std's `Hash`: every node must compute the same
//! partition for a host and the same fingerprint for a URL.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// The partition of a politeness key (a host, or whatever the engine spaces
/// requests by): `xxh3(key) mod partitions`.
pub fn partition_of(politeness_key: &str, partitions: u32) -> u32 {
    (xxh3_64(politeness_key.as_bytes()) % u64::from(partitions.max(1))) as u32
}

/// A URL's 8-byte fingerprint, as the seen-set stores it (big-endian, so its first
/// four bytes pick the bucket).
///
/// 64 bits: within one partition, a false "already seen" between two different URLs
/// has probability about n²/2⁶⁵ for n URLs in the partition (3·10⁻⁸ at a million,
/// 3·10⁻⁴ at a hundred million).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 8]);

impl Fingerprint {
    /// The fingerprint of a canonical URL. A different seed from [`partition_of`], so
    /// a partition's fingerprints are not all alike in their low bits.
    pub fn of(canonical_url: &str) -> Fingerprint {
        Fingerprint(xxh3_64_with_seed(canonical_url.as_bytes(), 0x5eed).to_be_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_in_range() {
        // Pinned: a change here would split a running crawl's hosts across nodes.
        assert_eq!(partition_of("h1.test", 64), partition_of("h1.test", 64));
        assert_eq!(
            partition_of("example.org", 64),
            (xxh3_64(b"example.org") % 64) as u32
        );
        let mut counts = [0u32; 64];
        for i in 0..6400 {
            counts[partition_of(&format!("h{i}.test"), 64) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (50..=150).contains(&c)),
            "{counts:?}"
        );
        assert_ne!(
            Fingerprint::of("https://a/"),
            Fingerprint::of("https://a/b")
        );
    }
}
