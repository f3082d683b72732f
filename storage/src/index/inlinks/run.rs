//! Run files: immutable sorted arrays of postings, each a `(target hash, record
//! position)` pair of 16 bytes, with a sparse index at the end.
//!
//! ```text
//! entries: n x (hash u64 BE, position u64 BE), ascending
//! sparse:  the hash of every BLOCK-th entry (u64 BE), ceil(n / BLOCK) of them
//! footer:  n (u64 BE), xxh3-64 of sparse and n (u64 BE)
//! ```
//!
//! The sparse index is read into memory at open (8 bytes per 1,024 postings), so a
//! lookup is one `pread` of a 16 KB block, two when a target's postings straddle a
//! block boundary. A run is written to a temporary file, synced and then renamed, so a
//! run file that exists under its final name is whole.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::index::run_file::{self, RunWriter};
use crate::StoreError;

/// Entries per sparse-index block: a lookup reads 16 KB.
const BLOCK: usize = 1024;
const ENTRY: usize = 16;
const FOOTER: usize = 16;

pub fn run_path(dir: &Path, id: u64) -> PathBuf {
    run_file::path(dir, id)
}

/// An open run file.
pub struct Run {
    pub id: u64,
    path: PathBuf,
    file: File,
    entries: u64,
    /// The hash of every BLOCK-th entry.
    sparse: Vec<u64>,
}

impl Run {
    /// Writes `postings` (ascending) as run `id`: temporary file, sync, rename.
    pub fn write(
        dir: &Path,
        id: u64,
        postings: impl Iterator<Item = Result<u128, StoreError>>,
    ) -> Result<Run, StoreError> {
        let mut out = RunWriter::create(dir, id)?;
        let mut sparse = Vec::new();
        let mut entries = 0u64;
        for posting in postings {
            let posting = posting?;
            if entries.is_multiple_of(BLOCK as u64) {
                sparse.push((posting >> 64) as u64);
            }
            out.write(&posting.to_be_bytes())?;
            entries += 1;
        }
        let footer = footer(&sparse, entries);
        for hash in &sparse {
            out.write(&hash.to_be_bytes())?;
        }
        out.write(&footer)?;
        let path = out.finish()?;
        Ok(Run {
            id,
            file: File::open(&path).map_err(|e| StoreError::io(&path, e))?,
            path,
            entries,
            sparse,
        })
    }

    /// Opens run `id`, which the manifest says holds `entries` postings.
    pub fn open(dir: &Path, id: u64, entries: u64) -> Result<Run, StoreError> {
        let path = run_path(dir, id);
        let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        let damaged = |reason: &str| StoreError::Corrupt {
            key: path.display().to_string(),
            reason: format!("inlink run: {reason}"),
        };
        let blocks = entries.div_ceil(BLOCK as u64);
        let expected = entries * ENTRY as u64 + blocks * 8 + FOOTER as u64;
        let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        if len != expected {
            return Err(damaged(&format!("{len} bytes, expected {expected}")));
        }
        let mut tail = vec![0u8; (blocks * 8) as usize + FOOTER];
        file.read_exact_at(&mut tail, entries * ENTRY as u64)
            .map_err(|e| StoreError::io(&path, e))?;
        let sparse: Vec<u64> = tail[..tail.len() - FOOTER]
            .chunks_exact(8)
            .map(|b| u64::from_be_bytes(b.try_into().unwrap_or_default()))
            .collect();
        if tail[tail.len() - FOOTER..] != footer(&sparse, entries) {
            return Err(damaged("footer does not match"));
        }
        Ok(Run {
            id,
            path,
            file,
            entries,
            sparse,
        })
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The record positions of every posting of `hash`.
    pub fn lookup(&self, hash: u64, into: &mut Vec<u64>) -> Result<(), StoreError> {
        // The last block whose first hash is below `hash` may end with its postings.
        let mut block = self
            .sparse
            .partition_point(|first| *first < hash)
            .saturating_sub(1);
        let mut buf = vec![0u8; BLOCK * ENTRY];
        while (block as u64) * (BLOCK as u64) < self.entries {
            let first = block as u64 * BLOCK as u64;
            let count = (self.entries - first).min(BLOCK as u64) as usize;
            let bytes = &mut buf[..count * ENTRY];
            self.file
                .read_exact_at(bytes, first * ENTRY as u64)
                .map_err(|e| StoreError::io(&self.path, e))?;
            for entry in bytes.chunks_exact(ENTRY) {
                let found = u64::from_be_bytes(entry[..8].try_into().unwrap_or_default());
                if found > hash {
                    return Ok(());
                }
                if found == hash {
                    into.push(u64::from_be_bytes(
                        entry[8..].try_into().unwrap_or_default(),
                    ));
                }
            }
            block += 1;
        }
        Ok(())
    }

    /// Every posting in order, read sequentially (for merging).
    pub fn postings(&self) -> Result<impl Iterator<Item = Result<u128, StoreError>>, StoreError> {
        let file = File::open(&self.path).map_err(|e| StoreError::io(&self.path, e))?;
        let mut reader = BufReader::with_capacity(128 * 1024, file);
        let path = self.path.clone();
        let mut left = self.entries;
        Ok(std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let mut entry = [0u8; ENTRY];
            Some(
                reader
                    .read_exact(&mut entry)
                    .map(|()| u128::from_be_bytes(entry))
                    .map_err(|e| StoreError::io(&path, e)),
            )
        }))
    }
}

fn footer(sparse: &[u64], entries: u64) -> [u8; FOOTER] {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for hash in sparse {
        hasher.update(&hash.to_be_bytes());
    }
    hasher.update(&entries.to_be_bytes());
    let mut out = [0u8; FOOTER];
    out[..8].copy_from_slice(&entries.to_be_bytes());
    out[8..].copy_from_slice(&hasher.digest().to_be_bytes());
    out
}

/// Merges ascending streams into one ascending stream. Memory: one posting per stream.
pub fn merge(
    mut streams: Vec<Box<dyn Iterator<Item = Result<u128, StoreError>> + '_>>,
) -> impl Iterator<Item = Result<u128, StoreError>> + '_ {
    let mut heads: Vec<Option<u128>> = Vec::new();
    let mut started = false;
    std::iter::from_fn(move || {
        if !started {
            started = true;
            for stream in &mut streams {
                match stream.next().transpose() {
                    Ok(head) => heads.push(head),
                    Err(e) => return Some(Err(e)),
                }
            }
        }
        let (at, smallest) = heads
            .iter()
            .enumerate()
            .filter_map(|(i, head)| Some((i, (*head)?)))
            .min_by_key(|(_, posting)| *posting)?;
        match streams[at].next().transpose() {
            Ok(next) => heads[at] = next,
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(smallest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    fn posting(hash: u64, at: u64) -> u128 {
        (u128::from(hash) << 64) | u128::from(at)
    }

    #[test]
    fn lookups_find_every_posting_across_block_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        // Hash 7 straddles the first block boundary; hash 9 is absent.
        let mut postings: Vec<u128> = (0..BLOCK as u64 - 2).map(|i| posting(5, i)).collect();
        postings.extend((0..5).map(|i| posting(7, 100 + i)));
        postings.extend((0..3000).map(|i| posting(10 + i, i)));
        let run = Run::write(dir.path(), 3, postings.iter().copied().map(Ok)).unwrap();
        let run = Run::open(dir.path(), run.id, run.entries()).unwrap();
        let find = |hash| {
            let mut found = Vec::new();
            run.lookup(hash, &mut found).unwrap();
            found
        };
        assert_eq!(find(7), [100, 101, 102, 103, 104]);
        assert_eq!(find(5).len(), BLOCK - 2);
        assert_eq!(find(9), Vec::<u64>::new());
        assert_eq!(find(3009), [2999]);
        assert_eq!(find(u64::MAX), Vec::<u64>::new());
        let read: Vec<u128> = run.postings().unwrap().map(Result::unwrap).collect();
        assert_eq!(read, postings);

        let other = Run::write(
            dir.path(),
            4,
            [posting(7, 1), posting(8, 0)].into_iter().map(Ok),
        )
        .unwrap();
        let merged: Vec<u128> = merge(vec![
            Box::new(run.postings().unwrap()),
            Box::new(other.postings().unwrap()),
        ])
        .map(Result::unwrap)
        .collect();
        let mut expected = postings.clone();
        expected.extend([posting(7, 1), posting(8, 0)]);
        expected.sort_unstable();
        assert_eq!(merged, expected);
    }

    #[test]
    fn a_damaged_run_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        Run::write(dir.path(), 1, [posting(1, 1)].into_iter().map(Ok)).unwrap();
        assert!(Run::open(dir.path(), 1, 2).is_err());
        let file = OpenOptions::new()
            .write(true)
            .open(run_path(dir.path(), 1))
            .unwrap();
        file.write_all_at(&[9], 20).unwrap();
        assert!(Run::open(dir.path(), 1, 1).is_err());
    }
}
