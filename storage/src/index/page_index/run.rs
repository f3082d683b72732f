//! Run files: immutable sorted sets of index keys, with a sparse index at the end.
//!
//! ```text
//! keys:   n x (u32 LE length, key), ascending, no repeats
//! sparse: m x (u64 LE offset, u32 LE length, key): every SPARSE_EVERY-th key
//! footer: keys end (u64 LE), m (u64 LE), n (u64 LE), xxh3-64 of sparse and the three
//! ```
//!
//! The sparse index is read into memory at open (one key per 256), so a range read
//! starts with one `pread` near its first key. A run is written to a temporary file,
//! synced, renamed and its directory synced, so a run file under its final name is
//! whole.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::index::run_file::{self, RunWriter};
use crate::StoreError;

/// Keys per sparse-index entry.
const SPARSE_EVERY: u64 = 256;
const FOOTER: u64 = 32;
/// Bytes read at once by a cursor.
const READ_AHEAD: usize = 64 * 1024;

fn run_path(dir: &Path, id: u64) -> PathBuf {
    run_file::path(dir, id)
}

fn damaged(path: &Path, what: &str) -> StoreError {
    StoreError::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned()),
    )
}

/// An open run file.
pub struct KeyRun {
    path: PathBuf,
    file: File,
    keys_end: u64,
    keys: u64,
    size: u64,
    /// Every SPARSE_EVERY-th key with its offset.
    sparse: Vec<(u64, Vec<u8>)>,
}

impl KeyRun {
    /// Writes `keys` (ascending, no repeats) as run `id`.
    pub fn write(
        dir: &Path,
        id: u64,
        keys: impl Iterator<Item = Result<Vec<u8>, StoreError>>,
    ) -> Result<KeyRun, StoreError> {
        let mut out = RunWriter::create(dir, id)?;
        let mut sparse = Vec::new();
        let (mut offset, mut count) = (0u64, 0u64);
        for key in keys {
            let key = key?;
            if count % SPARSE_EVERY == 0 {
                sparse.push((offset, key.clone()));
            }
            // Index keys are a URL and a few bytes: far below 4 GiB.
            out.write(&(key.len() as u32).to_le_bytes())?;
            out.write(&key)?;
            offset += 4 + key.len() as u64;
            count += 1;
        }
        let sparse_bytes = encode_sparse(&sparse);
        out.write(&sparse_bytes)?;
        out.write(&footer(&sparse_bytes, offset, sparse.len() as u64, count))?;
        out.finish()?;
        KeyRun::open(dir, id)
    }

    /// Opens run `id`, reading its sparse index.
    pub fn open(dir: &Path, id: u64) -> Result<KeyRun, StoreError> {
        let path = run_path(dir, id);
        let io = |e| StoreError::io(&path, e);
        let file = File::open(&path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size < FOOTER {
            return Err(damaged(&path, "a page index run shorter than its footer"));
        }
        let mut tail = [0u8; FOOTER as usize];
        file.read_exact_at(&mut tail, size - FOOTER).map_err(io)?;
        let word = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&tail[i * 8..i * 8 + 8]);
            u64::from_le_bytes(bytes)
        };
        let (keys_end, entries, count) = (word(0), word(1), word(2));
        let sparse_len = (size - FOOTER)
            .checked_sub(keys_end)
            .ok_or_else(|| damaged(&path, "a page index run's footer points past its end"))?;
        let mut sparse_bytes = vec![0u8; sparse_len as usize];
        file.read_exact_at(&mut sparse_bytes, keys_end)
            .map_err(io)?;
        if footer(&sparse_bytes, keys_end, entries, count)[..] != tail[..] {
            return Err(damaged(&path, "a page index run fails its checksum"));
        }
        let sparse = decode_sparse(&sparse_bytes)
            .filter(|sparse| sparse.len() as u64 == entries)
            .ok_or_else(|| damaged(&path, "a page index run's sparse index does not decode"))?;
        Ok(KeyRun {
            path,
            file,
            keys_end,
            keys: count,
            size,
            sparse,
        })
    }

    /// How many keys it holds.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Removes the file; readers that hold the run keep reading it.
    pub fn delete(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn encode_sparse(sparse: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (offset, key) in sparse {
        bytes.extend_from_slice(&offset.to_le_bytes());
        bytes.extend_from_slice(&(key.len() as u32).to_le_bytes());
        bytes.extend_from_slice(key);
    }
    bytes
}

fn decode_sparse(mut bytes: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    let mut sparse = Vec::new();
    while !bytes.is_empty() {
        let offset = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        let len = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize;
        sparse.push((offset, bytes.get(12..12 + len)?.to_vec()));
        bytes = &bytes[12 + len..];
    }
    Some(sparse)
}

fn footer(sparse: &[u8], keys_end: u64, entries: u64, count: u64) -> [u8; FOOTER as usize] {
    let mut footer = [0u8; FOOTER as usize];
    footer[..8].copy_from_slice(&keys_end.to_le_bytes());
    footer[8..16].copy_from_slice(&entries.to_le_bytes());
    footer[16..24].copy_from_slice(&count.to_le_bytes());
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(sparse);
    hasher.update(&footer[..24]);
    footer[24..].copy_from_slice(&hasher.digest().to_le_bytes());
    footer
}

/// Reads a run's keys in order from a position, with `pread`s of [`READ_AHEAD`].
pub struct RunCursor {
    run: Arc<KeyRun>,
    at: u64,
    buffer: Vec<u8>,
    /// Where `buffer` starts in the file.
    buffer_at: u64,
    /// Keys before this are skipped (the start of a range inside a sparse block).
    from: Option<Vec<u8>>,
}

impl RunCursor {
    pub fn from_start(run: &Arc<KeyRun>) -> RunCursor {
        RunCursor {
            run: Arc::clone(run),
            at: 0,
            buffer: Vec::new(),
            buffer_at: 0,
            from: None,
        }
    }

    /// A cursor at the first key not below `start`.
    pub fn seek(run: &Arc<KeyRun>, start: &[u8]) -> RunCursor {
        let block = run
            .sparse
            .partition_point(|(_, key)| key.as_slice() <= start);
        let at = block
            .checked_sub(1)
            .and_then(|i| run.sparse.get(i))
            .map_or(0, |(offset, _)| *offset);
        RunCursor {
            at,
            from: Some(start.to_vec()),
            ..RunCursor::from_start(run)
        }
    }

    /// `len` bytes at `at`, reading ahead when they are not buffered.
    fn bytes(&mut self, at: u64, len: usize) -> Result<&[u8], StoreError> {
        let buffered = self.buffer_at + self.buffer.len() as u64;
        if at < self.buffer_at || at + len as u64 > buffered {
            let want = (self.run.keys_end - at).min(READ_AHEAD.max(len) as u64) as usize;
            if want < len {
                return Err(damaged(
                    &self.run.path,
                    "a page index run ends inside a key",
                ));
            }
            self.buffer.resize(want, 0);
            self.run
                .file
                .read_exact_at(&mut self.buffer, at)
                .map_err(|e| StoreError::io(&self.run.path, e))?;
            self.buffer_at = at;
        }
        let start = (at - self.buffer_at) as usize;
        Ok(&self.buffer[start..start + len])
    }

    fn read_key(&mut self) -> Result<Vec<u8>, StoreError> {
        let mut len = [0u8; 4];
        len.copy_from_slice(self.bytes(self.at, 4)?);
        let len = u32::from_le_bytes(len) as usize;
        let key = self.bytes(self.at + 4, len)?.to_vec();
        self.at += 4 + len as u64;
        Ok(key)
    }
}

impl Iterator for RunCursor {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.at < self.run.keys_end {
            let key = match self.read_key() {
                Ok(key) => key,
                Err(error) => {
                    self.at = self.run.keys_end;
                    return Some(Err(error));
                }
            };
            if self.from.as_ref().is_some_and(|from| key < *from) {
                continue;
            }
            self.from = None;
            return Some(Ok(key));
        }
        None
    }
}
