//! The key layout: one sled tree, one leading byte per kind of record.
//!
//! Keeping every kind of record in one tree is what makes a page write atomic: a sled
//! batch is atomic within one tree, and cross-tree transactions are slower and retry.

/// `p` + URL -> [`crate::PageRecord`] as JSON.
pub const PAGE: u8 = b'p';
/// `b` + URL -> where the body is in the body log ([`crate::body_log`]).
pub const BODY: u8 = b'b';
/// `o` + URL -> the outlinks, one per line, encoded (compressed) like bodies.
pub const OUTLINKS: u8 = b'o';
/// `q` + URL -> [`crate::QueueEntry`] as JSON: the frontier.
pub const QUEUE: u8 = b'q';
/// `s` + 16-byte big-endian fingerprint -> empty: the seen-set.
pub const SEEN: u8 = b's';
/// `m` + name -> metadata (format version, runs).
pub const META: u8 = b'm';

pub fn url_key(kind: u8, url: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(url.len() + 1);
    key.push(kind);
    key.extend_from_slice(url.as_bytes());
    key
}

pub fn seen_key(fingerprint: u128) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = SEEN;
    key[1..].copy_from_slice(&fingerprint.to_be_bytes());
    key
}

pub fn meta_key(name: &str) -> Vec<u8> {
    url_key(META, name)
}

/// The URL part of a `kind + URL` key, for error messages and iteration.
pub fn url_of(key: &[u8]) -> String {
    String::from_utf8_lossy(key.get(1..).unwrap_or_default()).into_owned()
}
