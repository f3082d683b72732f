//! A hasher for tables whose keys are uniform hashes already (URL fingerprints, keyed
//! name hashes): it takes the key as its hash instead of hashing it again.

use std::hash::Hasher;

/// Takes a `u64` or `u128` key (its low 64 bits) as the hash.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}
