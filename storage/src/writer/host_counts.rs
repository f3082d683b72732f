//! The page count of each host, in a fixed number of sled keys however many hosts.
//!
//! sled's memory grows with its number of keys, and a broad crawl records one page on
//! each of a million hosts: a key per host (format 11 and before: `y` + host) was
//! hundreds of bytes of memory per host. Hosts are hashed into [`BUCKETS`] buckets, one
//! key each (`x` + big-endian bucket number), whose value lists the bucket's hosts in
//! order, each as LEB128 length, host, LEB128 count. A round of the writer reads the
//! buckets of the hosts it changes, applies its changes and writes them back in the
//! round's batch, so counts stay atomic with the records they count; a host counted
//! down to 0 leaves its bucket.
//!
//! Stores written before keep their `y` keys until a writer opens them: then they are
//! moved into buckets in one batch ([`move_legacy_counts`]); a reader reads both.

use std::collections::BTreeMap;

use crate::codec::json::from_be_u64;
use crate::codec::keys;
use crate::codec::leb128;
use crate::writer::submission::Changes;
use crate::StoreError;

/// Buckets of host counts. At a million hosts about 120 hosts (2 KB) a bucket; at a
/// hundred, one host in most. A round rewrites the buckets of the hosts it touches.
pub(crate) const BUCKETS: u64 = 8192;

/// Count changes of a round, by host.
pub(crate) type Deltas = BTreeMap<String, i64>;

fn bucket_key(host: &str) -> [u8; 3] {
    let bucket = (xxhash_rust::xxh3::xxh3_64(host.as_bytes()) % BUCKETS) as u16;
    let [hi, lo] = bucket.to_be_bytes();
    [keys::HOST_COUNTS, hi, lo]
}

fn encode(hosts: &BTreeMap<String, u64>) -> Vec<u8> {
    let mut value = Vec::with_capacity(hosts.len() * 16);
    for (host, count) in hosts {
        leb128::push(&mut value, host.len() as u64);
        value.extend_from_slice(host.as_bytes());
        leb128::push(&mut value, *count);
    }
    value
}

fn decode(key: &[u8], mut value: &[u8]) -> Result<BTreeMap<String, u64>, StoreError> {
    let corrupt = || StoreError::Corrupt {
        key: format!("host counts bucket {:?}", key.get(1..).unwrap_or_default()),
        reason: "a host's count does not decode".into(),
    };
    let mut hosts = BTreeMap::new();
    while !value.is_empty() {
        let (len, took) = leb128::read(value, 5).ok_or_else(corrupt)?;
        let host = value
            .get(took..took.saturating_add(len as usize))
            .ok_or_else(corrupt)?;
        let host = std::str::from_utf8(host).map_err(|_| corrupt())?.to_owned();
        value = &value[took + host.len()..];
        let (count, took) = leb128::read(value, 10).ok_or_else(corrupt)?;
        value = &value[took..];
        hosts.insert(host, count);
    }
    Ok(hosts)
}

/// Every host's count, in host order: the buckets, and the `y` keys of a store no
/// writer has opened since format 11.
pub(crate) fn read_all(tree: &sled::Tree) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut counts = BTreeMap::new();
    for entry in tree.scan_prefix([keys::HOST_COUNTS]) {
        let (key, value) = entry?;
        counts.extend(decode(&key, &value)?);
    }
    for (host, count) in legacy_counts(tree)? {
        *counts.entry(host).or_default() += count;
    }
    counts.retain(|_, count| *count > 0);
    Ok(counts)
}

fn legacy_counts(tree: &sled::Tree) -> Result<Vec<(String, u64)>, StoreError> {
    let mut counts = Vec::new();
    for entry in tree.scan_prefix([keys::HOST_COUNT]) {
        let (key, value) = entry?;
        let count = from_be_u64(&key, &value, "a host's page count")?;
        counts.push((keys::url_of(&key), count));
    }
    Ok(counts)
}

/// Puts into `changes` the buckets of the hosts in `deltas`, changed by them (read
/// from `tree`, which only the caller writes).
pub(crate) fn apply(
    tree: &sled::Tree,
    deltas: &Deltas,
    changes: &mut Changes,
) -> Result<(), StoreError> {
    let mut buckets: BTreeMap<[u8; 3], BTreeMap<String, u64>> = BTreeMap::new();
    for (host, delta) in deltas {
        if *delta == 0 {
            continue;
        }
        let key = bucket_key(host);
        let hosts = match buckets.entry(key) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let stored = match tree.get(key)? {
                    Some(value) => decode(&key, &value)?,
                    None => BTreeMap::new(),
                };
                entry.insert(stored)
            }
        };
        let count = hosts.get(host).copied().unwrap_or(0);
        let count = count.saturating_add_signed(*delta);
        if count == 0 {
            hosts.remove(host);
        } else {
            hosts.insert(host.clone(), count);
        }
    }
    for (key, hosts) in buckets {
        if hosts.is_empty() {
            changes.remove(&key[..]);
        } else {
            changes.insert(&key[..], encode(&hosts));
        }
    }
    Ok(())
}

/// Replaces every stored count with `counts` (a recount), in `batch`.
pub(crate) fn replace_all(
    tree: &sled::Tree,
    counts: &BTreeMap<String, u64>,
    batch: &mut sled::Batch,
) -> Result<(), StoreError> {
    for prefix in [keys::HOST_COUNTS, keys::HOST_COUNT] {
        for key in tree.scan_prefix([prefix]).keys() {
            batch.remove(key?);
        }
    }
    let mut buckets: BTreeMap<[u8; 3], BTreeMap<String, u64>> = BTreeMap::new();
    for (host, count) in counts.iter().filter(|(_, count)| **count > 0) {
        buckets
            .entry(bucket_key(host))
            .or_default()
            .insert(host.clone(), *count);
    }
    for (key, hosts) in buckets {
        batch.insert(&key[..], encode(&hosts));
    }
    Ok(())
}

/// Moves the `y` keys of a store written before format 12 into buckets, atomically.
pub(crate) fn move_legacy_counts(tree: &sled::Tree) -> Result<(), StoreError> {
    if tree.scan_prefix([keys::HOST_COUNT]).next().is_none() {
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    replace_all(tree, &read_all(tree)?, &mut batch)?;
    tree.apply_batch(batch)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::keys::url_key;

    fn tree() -> (sled::Db, sled::Tree) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        (db, tree)
    }

    fn apply_round(tree: &sled::Tree, deltas: &[(&str, i64)]) {
        let deltas: Deltas = deltas.iter().map(|(h, d)| (h.to_string(), *d)).collect();
        let mut changes = Changes::default();
        apply(tree, &deltas, &mut changes).unwrap();
        let mut batch = sled::Batch::default();
        changes.add_to(&mut batch);
        tree.apply_batch(batch).unwrap();
    }

    #[test]
    fn ten_thousand_hosts_take_at_most_one_key_per_bucket_and_count_right() {
        let (_db, tree) = tree();
        let hosts: Vec<String> = (0..10_000).map(|i| format!("h{i}.test")).collect();
        for round in hosts.chunks(1_000) {
            let deltas: Vec<(&str, i64)> = round.iter().map(|h| (h.as_str(), 2)).collect();
            apply_round(&tree, &deltas);
        }
        apply_round(&tree, &[("h7.test", -1), ("h8.test", -2), ("h9.test", 0)]);
        let counts = read_all(&tree).unwrap();
        assert_eq!(counts.len(), 9_999, "a host counted down to 0 is gone");
        assert_eq!(counts["h7.test"], 1);
        assert_eq!(counts["h9.test"], 2);
        assert!(!counts.contains_key("h8.test"));
        assert!(tree.len() as u64 <= BUCKETS, "{} keys", tree.len());
    }

    #[test]
    fn an_old_stores_keys_are_read_then_moved_into_buckets() {
        let (_db, tree) = tree();
        tree.insert(url_key(keys::HOST_COUNT, "a.test"), &3u64.to_be_bytes())
            .unwrap();
        tree.insert(url_key(keys::HOST_COUNT, "gone.test"), &0u64.to_be_bytes())
            .unwrap();
        let expected = BTreeMap::from([("a.test".to_owned(), 3)]);
        assert_eq!(read_all(&tree).unwrap(), expected);
        move_legacy_counts(&tree).unwrap();
        assert_eq!(tree.scan_prefix([keys::HOST_COUNT]).count(), 0);
        assert_eq!(read_all(&tree).unwrap(), expected);
        apply_round(&tree, &[("a.test", 1)]);
        assert_eq!(read_all(&tree).unwrap()["a.test"], 4);
    }

    #[test]
    fn a_damaged_bucket_is_an_error_not_a_panic() {
        let (_db, tree) = tree();
        apply_round(&tree, &[("a.test", 1)]);
        let key = bucket_key("a.test");
        tree.insert(key, &[0x05, b'a'][..]).unwrap();
        assert!(matches!(read_all(&tree), Err(StoreError::Corrupt { .. })));
    }
}
