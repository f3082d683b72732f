//! What a queued entry looks like in Redis, and in Rust.
//!
//! An entry is stored as one binary string: a delivery count (one byte), the URL's
//! 8-byte fingerprint, then the engine's own payload (the URL, its depth, whatever
//! it needs back). The same bytes sit in the queue list, the in-flight set and the
//! dead-letter list, so moving an entry never rewrites more than the count, and an
//! acknowledgement names the exact member to remove.

use crate::partition::Fingerprint;

/// Bytes before the payload: count and fingerprint.
pub(crate) const HEADER: usize = 9;

/// A URL to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub fingerprint: Fingerprint,
    pub payload: Vec<u8>,
}

impl Entry {
    /// An entry for `canonical_url` (fingerprinted), carrying `payload`.
    pub fn new(canonical_url: &str, payload: impl Into<Vec<u8>>) -> Entry {
        Entry {
            fingerprint: Fingerprint::of(canonical_url),
            payload: payload.into(),
        }
    }

    /// The stored form, never delivered yet.
    pub(crate) fn record(&self) -> Vec<u8> {
        let mut record = Vec::with_capacity(HEADER + self.payload.len());
        record.push(0);
        record.extend_from_slice(&self.fingerprint.0);
        record.extend_from_slice(&self.payload);
        record
    }
}

/// An entry handed to this node: fetch it, then acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    record: Vec<u8>,
}

impl Delivery {
    /// `None` for bytes this crate did not write.
    pub(crate) fn from_record(record: Vec<u8>) -> Option<Delivery> {
        (record.len() >= HEADER).then_some(Delivery { record })
    }

    /// The payload given to [`Entry::new`].
    pub fn payload(&self) -> &[u8] {
        &self.record[HEADER..]
    }

    /// How many times it has been handed out, this time included.
    pub fn deliveries(&self) -> u32 {
        u32::from(self.record[0])
    }

    /// The URL's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&self.record[1..HEADER]);
        Fingerprint(fp)
    }

    /// The exact stored bytes (the in-flight set's member).
    pub(crate) fn record(&self) -> &[u8] {
        &self.record
    }
}
