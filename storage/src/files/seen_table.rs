//! The seen-set on disk: an open-addressing hash table of 128-bit URL fingerprints.
//!
//! In sled, every fingerprint was a key, and sled's memory (node cache and page table)
//! grows with the number of keys whatever its cache size says. Here a fingerprint is 16
//! bytes in a file, read and written with `pread`/`pwrite`: the table lives in the OS
//! page cache, not in the crawler's heap, and the crawler's memory does not grow with it.
//!
//! The table is split into [`PARTITIONS`] files (`seen/NN.table`, `NN` the fingerprint's
//! top byte in hex), each a power-of-two array of 16-byte slots with linear probing.
//! A slot holds a fingerprint (big-endian); all zeros is empty, so the fingerprint 0 is
//! stored as 1. A partition doubles when it is half full: it is rebuilt in memory (a
//! partition is a 256th of the table: 2 MiB at ten million URLs), written to
//! `NN.table.new`, synced and renamed over the old file. A crash mid-grow leaves the old
//! file whole and a `.new` leftover, which [`SeenTable::open`] deletes.
//!
//! Crash behaviour: an insert is one 16-byte `pwrite` inside one page, visible to the
//! next process as soon as it returns (SIGKILL loses nothing). Power loss can lose
//! inserts since the last [`SeenTable::sync`].
//!
//! Each partition has its own mutex, held for one lookup or insert (a few `pread`s), so
//! workers rarely wait for each other. A partition's file is opened and its entries
//! counted on first use, so a store opened only to read pages never reads the table.
//! At most [`MAX_OPEN`] partitions are held open (`super::handles`); another is
//! reopened when used.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::handles::OpenFiles;
use crate::StoreError;

/// Files the table is split into, by the fingerprint's top byte.
pub const PARTITIONS: usize = 256;
/// Partition files held open at most.
pub const MAX_OPEN: usize = 64;
const SLOT: usize = 16;
/// Slots of a new partition (16 KiB, sparse until written): a crawl of up to about
/// 130,000 URLs never grows a partition. Each grow creates, syncs and renames a file
/// while the partition's lock is held; from 4 KiB, a crawl of 50,000 URLs grew every
/// partition once or twice, 4% of its CPU samples in its first two seconds.
const INITIAL_SLOTS: u64 = 1024;
/// Slots read per `pread` while probing.
const PROBE_READ: u64 = 8;
/// Bytes written at a time when a partition is rebuilt.
const PAGE: usize = 4096;
/// Bytes read at a time when scanning a partition.
const SCAN_CHUNK: usize = 1 << 20;

struct Partition {
    /// The file's path, for errors (kept: lookups are too frequent to build it each time).
    path: PathBuf,
    /// log2 of the number of slots.
    bits: u32,
    /// Fingerprints stored.
    count: u64,
    /// Not synced by this process since it was written or opened (a file opened after
    /// a kill may hold the killed process's unsynced inserts): a store's close syncs
    /// again what its crawl's end synced, and 256 `fdatasync`s of clean files are time
    /// for nothing.
    unsynced: bool,
}

pub struct SeenTable {
    dir: PathBuf,
    partitions: Vec<Mutex<Option<Partition>>>,
    /// Open partition files, by index.
    handles: OpenFiles<usize>,
}

impl SeenTable {
    /// The table in `dir` (created on first insert). Leftovers of an interrupted grow
    /// are deleted.
    pub fn open(dir: &Path) -> Result<SeenTable, StoreError> {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".new") {
                    let path = entry.path();
                    std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                }
            }
        }
        Ok(SeenTable {
            dir: dir.to_path_buf(),
            partitions: (0..PARTITIONS).map(|_| Mutex::new(None)).collect(),
            handles: OpenFiles::new(MAX_OPEN),
        })
    }

    fn path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("{index:02x}.table"))
    }

    /// The open file of a partition that exists (reopened when it was closed).
    fn file(&self, index: usize, path: &Path) -> Result<Arc<File>, StoreError> {
        let open = || OpenOptions::new().read(true).write(true).open(path);
        self.handles
            .get(&index, open)
            .map_err(|e| StoreError::io(path, e))
    }

    /// The partition of `index`, opened (and created when `create`) on first use.
    /// `None` when it does not exist and was not to be created.
    fn partition(
        &self,
        index: usize,
        create: bool,
    ) -> Result<MutexGuard<'_, Option<Partition>>, StoreError> {
        // The guarded value is replaced whole; a panic cannot leave it half-made.
        let mut guard = self.partitions[index]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = self.load_partition(index, create)?;
        }
        Ok(guard)
    }

    fn load_partition(&self, index: usize, create: bool) -> Result<Option<Partition>, StoreError> {
        let path = self.path(index);
        if !create && !path.exists() {
            return Ok(None);
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
        };
        let file = self
            .handles
            .get(&index, open)
            .map_err(|e| StoreError::io(&path, e))?;
        let mut len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        let created = len == 0;
        if created {
            len = INITIAL_SLOTS * SLOT as u64;
            file.set_len(len).map_err(|e| StoreError::io(&path, e))?;
        }
        let slots = len / SLOT as u64;
        if len % SLOT as u64 != 0 || !slots.is_power_of_two() {
            return Err(StoreError::Corrupt {
                key: path.display().to_string(),
                reason: format!(
                    "a seen-set partition of {len} bytes is not a power of two of 16-byte slots"
                ),
            });
        }
        let mut count = 0;
        if !created {
            scan_file(&file, &path, |_| count += 1)?;
        }
        Ok(Some(Partition {
            path,
            bits: slots.trailing_zeros(),
            count,
            unsynced: true,
        }))
    }

    /// Whether `fingerprint` is in the table.
    pub fn contains(&self, fingerprint: u128) -> Result<bool, StoreError> {
        let value = stored_value(fingerprint);
        let index = partition_of(value);
        let guard = self.partition(index, false)?;
        let Some(partition) = guard.as_ref() else {
            return Ok(false);
        };
        let file = self.file(index, &partition.path)?;
        Ok(probe(&file, partition, value)?.is_ok())
    }

    /// Adds `fingerprint`; nothing happens when it is there already.
    pub fn insert(&self, fingerprint: u128) -> Result<(), StoreError> {
        let value = stored_value(fingerprint);
        let index = partition_of(value);
        let mut guard = self.partition(index, true)?;
        let Some(partition) = guard.as_mut() else {
            return Ok(());
        };
        let file = self.file(index, &partition.path)?;
        let Err(empty) = probe(&file, partition, value)? else {
            return Ok(());
        };
        file.write_all_at(&value.to_be_bytes(), empty * SLOT as u64)
            .map_err(|e| StoreError::io(&partition.path, e))?;
        partition.count += 1;
        partition.unsynced = true;
        if partition.count * 2 > 1u64 << partition.bits {
            *partition = self.grow(&file, partition, index)?;
        }
        Ok(())
    }

    /// The partition rebuilt at twice the size, in memory, then swapped in by rename.
    fn grow(
        &self,
        old_file: &File,
        old: &Partition,
        index: usize,
    ) -> Result<Partition, StoreError> {
        let path = self.path(index);
        let bits = old.bits + 1;
        let mut slots = vec![0u8; SLOT << bits];
        scan_file(old_file, &path, |value| {
            let mut at = home(value, bits);
            let mask = (1u64 << bits) - 1;
            while slots[at as usize * SLOT..][..SLOT] != [0; SLOT] {
                at = (at + 1) & mask;
            }
            slots[at as usize * SLOT..][..SLOT].copy_from_slice(&value.to_be_bytes());
        })?;
        let new_path = path.with_extension("table.new");
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&new_path)
        };
        let file =
            super::handles::open_retrying(open, || {}).map_err(|e| StoreError::io(&new_path, e))?;
        // Written a page at a time: the page cache keeps each write's folio size, and a
        // later 16-byte insert into a large folio walks every block of it (ext4, Linux
        // 6.18: 42 µs per insert into 2 MiB folios against 2 µs into 4 KiB ones).
        slots
            .chunks(PAGE)
            .enumerate()
            .try_for_each(|(n, page)| file.write_all_at(page, (n * PAGE) as u64))
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io(&new_path, e))?;
        std::fs::rename(&new_path, &path).map_err(|e| StoreError::io(&path, e))?;
        // Without it, power loss could bring back the old file under the name, and with
        // it lose every insert synced into the new one since.
        crate::files::sync_dir(&self.dir);
        self.handles.insert(index, Arc::new(file));
        Ok(Partition {
            path,
            bits,
            count: old.count,
            unsynced: false,
        })
    }

    /// How many fingerprints the table holds (opens and counts every partition).
    pub fn count(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for index in 0..PARTITIONS {
            if let Some(partition) = self.partition(index, false)?.as_ref() {
                total += partition.count;
            }
        }
        Ok(total)
    }

    /// Calls `each` with every fingerprint, partition by partition (a sequential read).
    /// The fingerprint 0 comes back as 1.
    pub fn for_each(&self, mut each: impl FnMut(u128)) -> Result<(), StoreError> {
        for index in 0..PARTITIONS {
            let guard = self.partition(index, false)?;
            if let Some(partition) = guard.as_ref() {
                let file = self.file(index, &partition.path)?;
                scan_file(&file, &partition.path, &mut each)?;
            }
        }
        Ok(())
    }

    /// Makes every insert durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        // Writeback of every written partition first, then the waits: the disk works
        // on all of them at once instead of one file per round trip.
        for index in 0..PARTITIONS {
            let guard = self.partitions[index]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(partition) = guard.as_ref().filter(|p| p.unsynced) {
                crate::files::start_writeback(&*self.file(index, &partition.path)?, 0, 0);
            }
        }
        for index in 0..PARTITIONS {
            let mut guard = self.partitions[index]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(partition) = guard.as_mut().filter(|p| p.unsynced) {
                self.file(index, &partition.path)?
                    .sync_data()
                    .map_err(|e| StoreError::io(&partition.path, e))?;
                partition.unsynced = false;
            }
        }
        Ok(())
    }

    /// Bytes of all partitions.
    pub fn size_on_disk(&self) -> u64 {
        crate::files::dir_size(&self.dir)
    }
}

/// The slot value of a fingerprint: itself, except that 0 (the empty slot) becomes 1.
fn stored_value(fingerprint: u128) -> u128 {
    fingerprint.max(1)
}

fn partition_of(value: u128) -> usize {
    (value >> 120) as usize
}

/// The first slot to probe: the bits after the partition byte.
fn home(value: u128, bits: u32) -> u64 {
    ((value << 8) >> (128 - bits)) as u64
}

/// Where `value` is (`Ok(slot)`), or the empty slot where it would go (`Err(slot)`).
/// The table is at most half full, so an empty slot always ends the probe.
fn probe(file: &File, partition: &Partition, value: u128) -> Result<Result<u64, u64>, StoreError> {
    let path = &partition.path;
    let slots = 1u64 << partition.bits;
    let mut at = home(value, partition.bits);
    let mut buffer = [0u8; SLOT * PROBE_READ as usize];
    for _ in 0..slots.div_ceil(PROBE_READ) + 1 {
        let run = PROBE_READ.min(slots - at);
        let bytes = &mut buffer[..run as usize * SLOT];
        file.read_exact_at(bytes, at * SLOT as u64)
            .map_err(|e| StoreError::io(path, e))?;
        for slot in bytes.chunks_exact(SLOT) {
            let found = u128::from_be_bytes(slot.try_into().unwrap_or_default());
            if found == value {
                return Ok(Ok(at));
            }
            if found == 0 {
                return Ok(Err(at));
            }
            at = (at + 1) % slots;
        }
    }
    Err(StoreError::Corrupt {
        key: path.display().to_string(),
        reason: "the seen-set partition has no empty slot".into(),
    })
}

/// Calls `each` with every non-empty slot of a partition file, in slot order.
fn scan_file(file: &File, path: &Path, mut each: impl FnMut(u128)) -> Result<(), StoreError> {
    let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    // Sized to the file: most partitions are a few KiB, and a zeroed MiB costs 256
    // page faults each time a small partition is opened or grown.
    let mut buffer = vec![0u8; len.min(SCAN_CHUNK as u64) as usize];
    let mut offset = 0;
    while offset < len {
        let run = (len - offset).min(SCAN_CHUNK as u64) as usize;
        file.read_exact_at(&mut buffer[..run], offset)
            .map_err(|e| StoreError::io(path, e))?;
        for slot in buffer[..run].chunks_exact(SLOT) {
            let value = u128::from_be_bytes(slot.try_into().unwrap_or_default());
            if value != 0 {
                each(value);
            }
        }
        offset += run as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Fingerprints spread like real ones (xxh3-128 of a counter).
    fn fingerprint(i: u64) -> u128 {
        xxhash_rust::xxh3::xxh3_128(&i.to_le_bytes())
    }

    #[test]
    fn growing_keeps_every_fingerprint_and_reopening_finds_them() {
        let dir = tempfile::tempdir().unwrap();
        let n = 200_000u64; // about 780 per partition: each one doubles once at least
        {
            let table = SeenTable::open(dir.path()).unwrap();
            for i in 0..n {
                table.insert(fingerprint(i)).unwrap();
            }
            table.insert(fingerprint(5)).unwrap(); // again: no effect
            assert_eq!(table.count().unwrap(), n);
            // Every partition was used; few are held open.
            assert!(table.handles.len() <= MAX_OPEN);
        }
        let table = SeenTable::open(dir.path()).unwrap();
        assert_eq!(table.count().unwrap(), n);
        assert!((0..n).all(|i| table.contains(fingerprint(i)).unwrap()));
        assert!(!(n..n + 1000).any(|i| table.contains(fingerprint(i)).unwrap()));
        let mut listed = Vec::new();
        table.for_each(|fp| listed.push(fp)).unwrap();
        listed.sort_unstable();
        let mut expected: Vec<u128> = (0..n).map(fingerprint).collect();
        expected.sort_unstable();
        assert_eq!(listed, expected);
        // Half full at most: 200,000 entries need at least 400,000 slots of 16 bytes.
        assert!(table.size_on_disk() >= 400_000 * 16);
    }

    #[test]
    fn the_zero_fingerprint_is_stored_and_is_not_an_empty_slot() {
        let dir = tempfile::tempdir().unwrap();
        let table = SeenTable::open(dir.path()).unwrap();
        assert!(!table.contains(0).unwrap());
        table.insert(0).unwrap();
        assert!(table.contains(0).unwrap());
        assert_eq!(table.count().unwrap(), 1);
        table.insert(u128::MAX).unwrap();
        assert!(table.contains(u128::MAX).unwrap());
        assert_eq!(table.count().unwrap(), 2);
    }

    #[test]
    fn a_leftover_of_an_interrupted_grow_is_deleted_and_the_old_table_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let table = SeenTable::open(dir.path()).unwrap();
            table.insert(42).unwrap();
        }
        let leftover = dir.path().join("00.table.new");
        std::fs::write(&leftover, vec![7u8; 4096]).unwrap();
        let table = SeenTable::open(dir.path()).unwrap();
        assert!(!leftover.exists());
        assert!(table.contains(42).unwrap());
    }

    #[test]
    fn a_store_that_never_inserted_creates_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        let table = SeenTable::open(&seen).unwrap();
        assert!(!table.contains(1).unwrap());
        assert_eq!(table.count().unwrap(), 0);
        assert!(!seen.exists());
    }

    #[test]
    fn concurrent_inserts_and_lookups_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let table = Arc::new(SeenTable::open(dir.path()).unwrap());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    for i in (t * 20_000)..((t + 1) * 20_000) {
                        table.insert(fingerprint(i)).unwrap();
                        assert!(table.contains(fingerprint(i)).unwrap());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(table.count().unwrap(), 80_000);
        assert!((0..80_000).all(|i| table.contains(fingerprint(i)).unwrap()));
    }
}
