//! The key layout: one sled tree, one leading byte per kind of record.
//!
//! Keeping every kind of record in one tree is what makes a page write atomic: a sled
//! batch is atomic within one tree, and cross-tree transactions are slower and retry.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `p` | URL | where the page's body, outlinks, HTTP heads and [`crate::PageRecord`] are in the body log (`crate::codec::page_value`) |
//! | `Q` | host key | 8-byte big-endian offset: the cursor of the host's queue file |
//! | `m` | name | metadata (format version, runs, the open mark, the inlink and page indexes' manifests) |
//! | `x` | 2-byte big-endian bucket | the page counts of the bucket's hosts (running totals: `crate::writer::host_counts`) |
//! | `y` | host | format 11 and before: 8-byte big-endian count of the host's page records, moved into `x` buckets when a writer opens the store |
//! | `z` | | the whole-crawl running totals as JSON |
//!
//! The page index's keys are not in sled but in its runs (`crate::index::page_index`), spelled
//! the same way: `h`, varint length, host, URL (pages by host); `c`, 2-byte big-endian
//! status (0: no response), URL; `e`, varint length, error kind, URL; `t`, 8-byte
//! big-endian fetch time (ms), URL; `d`, 8-byte big-endian due time (ms), URL, for
//! records with a revisit interval of their own. They carry the URL in the key, so a
//! filtered read is a prefix or range read that costs in proportion to what it finds.
//! Hosts and error kinds are length-prefixed so that no host is a prefix of another's
//! entries. (Format 5 kept them in sled.)
//!
//! The inlink index has no keys here: one key per link made sled's memory and writes
//! grow with every link stored, so it lives beside sled in `inlinks/` (see
//! `crate::index::inlinks`), with its manifest under `m` + `inlinks`. The prefix `i` (one key
//! per link, format version 3) is no longer written.
//!
//! The frontier and the seen-set are not in sled: they are files beside it
//! (`crate::files::queue_files`, `crate::files::seen_table`), because sled's memory grows with its
//! number of keys and they hold one entry per URL discovered. sled keeps one cursor
//! per host.

use crate::codec::leb128;

/// `p` + URL -> the page's parts and record (`crate::codec::page_value`).
pub const PAGE: u8 = b'p';
/// `Q` + host key -> big-endian u64 offset in the host's queue file before which every
/// entry is settled.
pub const CURSOR: u8 = b'Q';
/// `m` + name -> metadata (format version, runs).
pub const META: u8 = b'm';
/// `x` + big-endian u16 bucket -> the page counts of the bucket's hosts
/// (`crate::writer::host_counts`).
///
/// The running totals are rewritten by every page write, so they sort after every
/// other key, away from the metadata: sled splits a leaf at 16 keys and rewrites a
/// leaf whole now and then as it is updated, and a leaf shared with the runs (whose
/// settings and seed list can be megabytes) would be rewritten with them.
pub const HOST_COUNTS: u8 = b'x';
/// `y` + host -> big-endian u64 count of the host's page records: format 11 and
/// before, one key per host (`crate::writer::host_counts` reads and moves them).
pub const HOST_COUNT: u8 = b'y';
/// `z` -> the whole-crawl running totals (`crate::writer::totals`), the last key of all.
pub const TOTALS: u8 = b'z';
/// `h` + varint length + host + URL -> empty.
pub const BY_HOST: u8 = b'h';
/// `c` + big-endian u16 status (0 when there was no response) + URL -> empty.
pub const BY_STATUS: u8 = b'c';
/// `e` + varint length + error kind + URL -> empty.
pub const BY_ERROR: u8 = b'e';
/// `t` + big-endian u64 fetch time in ms + URL -> empty.
pub const BY_TIME: u8 = b't';
/// `d` + big-endian u64 due time in ms + URL -> empty: a record with its own revisit
/// interval ([`crate::PageRecord::due_at_ms`]), for an adaptive recrawl's due URLs.
pub const BY_DUE: u8 = b'd';

pub fn url_key(kind: u8, url: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(url.len() + 1);
    key.push(kind);
    key.extend_from_slice(url.as_bytes());
    key
}

pub fn meta_key(name: &str) -> Vec<u8> {
    url_key(META, name)
}

/// The URL part of a `kind + URL` key, for error messages and iteration.
pub fn url_of(key: &[u8]) -> String {
    String::from_utf8_lossy(key.get(1..).unwrap_or_default()).into_owned()
}

/// `kind` + LEB128 length of `name` + `name`: the prefix of every entry for `name`.
pub fn named_prefix(kind: u8, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 3);
    key.push(kind);
    leb128::push(&mut key, name.len() as u64);
    key.extend_from_slice(name.as_bytes());
    key
}

/// `prefix` + URL.
pub fn with_url(mut prefix: Vec<u8>, url: &str) -> Vec<u8> {
    prefix.extend_from_slice(url.as_bytes());
    prefix
}

/// The prefix of the status index entries for `status` (0: no response).
pub fn status_prefix(status: u16) -> Vec<u8> {
    let [hi, lo] = status.to_be_bytes();
    vec![BY_STATUS, hi, lo]
}

/// The prefix of the time index entries at `ms`.
pub fn time_prefix(ms: u64) -> Vec<u8> {
    moment_prefix(BY_TIME, ms)
}

/// `d` + big-endian due time: where a record's due entry starts.
pub fn due_prefix(ms: u64) -> Vec<u8> {
    moment_prefix(BY_DUE, ms)
}

fn moment_prefix(kind: u8, ms: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(kind);
    key.extend_from_slice(&ms.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_prefixes_are_never_prefixes_of_each_other() {
        let a = named_prefix(BY_HOST, "a.test");
        let ab = named_prefix(BY_HOST, "a.test.b");
        assert!(!ab.starts_with(&a));
        assert!(!with_url(ab, "http://x/").starts_with(&a));
    }

    #[test]
    fn lengths_past_127_take_more_bytes() {
        let long = "x".repeat(300);
        let key = named_prefix(BY_ERROR, &long);
        assert_eq!(&key[..3], &[BY_ERROR, 0xac, 0x02]);
        assert_eq!(key.len(), 3 + 300);
    }

    #[test]
    fn status_and_time_prefixes_sort_numerically() {
        assert!(status_prefix(99) < status_prefix(200));
        assert!(status_prefix(299) < status_prefix(300));
        assert!(time_prefix(255) < time_prefix(256));
    }
}
