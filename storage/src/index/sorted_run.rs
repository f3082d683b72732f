//! Sorted runs: the one file format of both indexes beside sled. A run is an immutable
//! set of byte-string keys in byte order, with no repeats. The page index's keys are a
//! prefix and a URL; an inlink posting is a 16-byte key, its target hash and record
//! position in big-endian, so byte order is numeric order and a target's postings
//! share an 8-byte prefix.
//!
//! ```text
//! blocks: the keys, each a LEB128 length and its bytes; a block ends after the first
//!         key that takes it to BLOCK_BYTES, so a block is a whole number of keys
//! sparse: per block: offset (u64 LE), xxh3-64 of the block (u64 LE), its first key
//!         (LEB128 length and bytes)
//! footer: keys end (u64 LE), blocks (u64 LE), keys (u64 LE), xxh3-64 of sparse and
//!         the three (u64 LE)
//! ```
//!
//! The sparse index is read into memory at open and checked against the footer's
//! checksum, so a torn or damaged end is an error at open; every block is checked
//! against its checksum when a cursor reads it, so damage inside is an error then,
//! naming the file either way. A lookup is one `pread` of the block where its first
//! key can be (about 16 KiB whatever the keys are), two when its keys straddle a block
//! boundary; a merge reads [`MERGE_READ`] blocks at a time.
//!
//! A run is written under a temporary name, synced and renamed (`crate::index::run_file`),
//! so a run under its final name is whole.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::leb128;
use crate::index::run_file::{self, RunWriter};
use crate::StoreError;

/// Bytes of keys per block, at least: what a lookup reads.
const BLOCK_BYTES: usize = 16 * 1024;
const FOOTER: usize = 32;
/// Blocks a merge's cursor reads at once.
pub(crate) const MERGE_READ: usize = 16;

/// Damage to the run at `path` (`STORE/index/` or `STORE/inlinks/`), at `offset`.
fn damaged(path: &Path, offset: u64, what: &str) -> StoreError {
    let store = path.parent().and_then(Path::parent).unwrap_or(path);
    StoreError::damaged(store, path, offset, &format!("a damaged index run: {what}"))
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    leb128::push(out, len as u64);
}

/// A LEB128 length at the start of `bytes`, and the bytes it took; `None` when it is
/// cut short or longer than a `u32`'s five bytes.
fn read_len(bytes: &[u8]) -> Option<(usize, usize)> {
    let (len, took) = leb128::read(bytes, 5)?;
    Some((usize::try_from(len).ok()?, took))
}

/// Splits the key at the start of `bytes` off: the key and what follows it.
fn split_key(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, head) = read_len(bytes)?;
    let rest = &bytes[head..];
    (len <= rest.len()).then(|| rest.split_at(len))
}

fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

fn footer(sparse: &[u8], keys_end: u64, blocks: u64, keys: u64) -> [u8; FOOTER] {
    let mut footer = [0u8; FOOTER];
    footer[..8].copy_from_slice(&keys_end.to_le_bytes());
    footer[8..16].copy_from_slice(&blocks.to_le_bytes());
    footer[16..24].copy_from_slice(&keys.to_le_bytes());
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(sparse);
    hasher.update(&footer[..24]);
    footer[24..].copy_from_slice(&hasher.digest().to_le_bytes());
    footer
}

/// One block of a run, as its sparse index entry says.
struct Block {
    offset: u64,
    checksum: u64,
    /// Where its first key ends in [`SortedRun::first_keys`].
    first_key_end: usize,
}

/// An open run.
pub(crate) struct SortedRun {
    id: u64,
    path: PathBuf,
    file: File,
    keys_end: u64,
    keys: u64,
    size: u64,
    blocks: Vec<Block>,
    /// The blocks' first keys, one after another.
    first_keys: Vec<u8>,
}

impl SortedRun {
    /// Opens run `id` in `dir`, which should hold `keys` keys (the manifest's count),
    /// reading and checking its sparse index.
    pub(crate) fn open(dir: &Path, id: u64, keys: u64) -> Result<SortedRun, StoreError> {
        let path = run_file::path(dir, id);
        let io = |e| StoreError::io(&path, e);
        let file = File::open(&path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size < FOOTER as u64 {
            return Err(damaged(&path, 0, "shorter than its footer"));
        }
        let mut tail = [0u8; FOOTER];
        file.read_exact_at(&mut tail, size - FOOTER as u64)
            .map_err(io)?;
        let word =
            |i: usize| u64::from_le_bytes(tail[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        let (keys_end, block_count, count) = (word(0), word(1), word(2));
        let sparse_len = (size - FOOTER as u64)
            .checked_sub(keys_end)
            .ok_or_else(|| {
                damaged(
                    &path,
                    size - FOOTER as u64,
                    "its footer points past its end",
                )
            })?;
        let mut sparse = vec![0u8; sparse_len as usize];
        file.read_exact_at(&mut sparse, keys_end).map_err(io)?;
        if footer(&sparse, keys_end, block_count, count) != tail {
            return Err(damaged(
                &path,
                size - FOOTER as u64,
                "its footer does not match (torn or damaged)",
            ));
        }
        if count != keys {
            return Err(damaged(
                &path,
                size - FOOTER as u64,
                &format!("{count} keys where the manifest says {keys}"),
            ));
        }
        let (blocks, first_keys) = decode_sparse(&sparse, keys_end)
            .filter(|(blocks, _)| blocks.len() as u64 == block_count)
            .ok_or_else(|| damaged(&path, keys_end, "its sparse index does not decode"))?;
        Ok(SortedRun {
            id,
            path,
            file,
            keys_end,
            keys: count,
            size,
            blocks,
            first_keys,
        })
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// How many keys it holds.
    pub(crate) fn keys(&self) -> u64 {
        self.keys
    }

    /// Its size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Removes the file; cursors already open keep reading it.
    pub(crate) fn delete(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    fn first_key(&self, block: usize) -> &[u8] {
        let start = block
            .checked_sub(1)
            .map_or(0, |b| self.blocks[b].first_key_end);
        &self.first_keys[start..self.blocks[block].first_key_end]
    }

    fn block_end(&self, block: usize) -> u64 {
        self.blocks
            .get(block + 1)
            .map_or(self.keys_end, |next| next.offset)
    }

    /// Reads blocks `first..first + count` into `into`, checking each.
    fn read_blocks(
        &self,
        first: usize,
        count: usize,
        into: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        let last = (first + count).min(self.blocks.len());
        let start = self.blocks[first].offset;
        let end = self.block_end(last - 1);
        into.resize((end - start) as usize, 0);
        self.file
            .read_exact_at(into, start)
            .map_err(|e| StoreError::io(&self.path, e))?;
        for block in first..last {
            let from = (self.blocks[block].offset - start) as usize;
            let to = (self.block_end(block) - start) as usize;
            if checksum(&into[from..to]) != self.blocks[block].checksum {
                return Err(damaged(
                    &self.path,
                    self.blocks[block].offset,
                    &format!("block {block} fails its checksum"),
                ));
            }
        }
        Ok(())
    }

    /// Calls `found` with every key that starts with `prefix`, in order.
    pub(crate) fn for_each_with_prefix(
        self: &Arc<Self>,
        prefix: &[u8],
        mut found: impl FnMut(&[u8]),
    ) -> Result<(), StoreError> {
        let mut cursor = Cursor::seek(self, prefix)?;
        while let Some(key) = cursor.key() {
            if !key.starts_with(prefix) {
                break;
            }
            found(key);
            cursor.advance()?;
        }
        Ok(())
    }
}

type Sparse = (Vec<Block>, Vec<u8>);

fn decode_sparse(mut bytes: &[u8], keys_end: u64) -> Option<Sparse> {
    let (mut blocks, mut first_keys) = (Vec::new(), Vec::new());
    let mut last_offset = None;
    while !bytes.is_empty() {
        let (head, rest) = bytes.split_first_chunk::<16>()?;
        let offset = u64::from_le_bytes(head[..8].try_into().ok()?);
        let checksum = u64::from_le_bytes(head[8..].try_into().ok()?);
        if offset >= keys_end || last_offset.is_some_and(|last| offset <= last) {
            return None;
        }
        last_offset = Some(offset);
        let (key, rest) = split_key(rest)?;
        first_keys.extend_from_slice(key);
        blocks.push(Block {
            offset,
            checksum,
            first_key_end: first_keys.len(),
        });
        bytes = rest;
    }
    if blocks.first().is_some_and(|b| b.offset != 0) {
        return None;
    }
    Some((blocks, first_keys))
}

/// Writes a run: keys pushed in ascending order, without repeats.
pub(crate) struct RunBuilder {
    out: RunWriter,
    dir: PathBuf,
    id: u64,
    block: Vec<u8>,
    sparse: Vec<u8>,
    /// Where the current block's entry starts in `sparse`.
    block_entry: usize,
    /// Bytes of keys written out before `block`.
    offset: u64,
    blocks: u64,
    keys: u64,
}

impl RunBuilder {
    pub(crate) fn create(dir: &Path, id: u64) -> Result<RunBuilder, StoreError> {
        Ok(RunBuilder {
            out: RunWriter::create(dir, id)?,
            dir: dir.to_path_buf(),
            id,
            block: Vec::with_capacity(BLOCK_BYTES + 1024),
            sparse: Vec::new(),
            block_entry: 0,
            offset: 0,
            blocks: 0,
            keys: 0,
        })
    }

    /// Appends `key`, greater than every key before it.
    pub(crate) fn push(&mut self, key: &[u8]) -> Result<(), StoreError> {
        if self.block.is_empty() {
            self.block_entry = self.sparse.len();
            self.sparse.extend_from_slice(&self.offset.to_le_bytes());
            // The block's checksum, filled in when it is written out.
            self.sparse.extend_from_slice(&[0; 8]);
            push_len(&mut self.sparse, key.len());
            self.sparse.extend_from_slice(key);
        }
        push_len(&mut self.block, key.len());
        self.block.extend_from_slice(key);
        self.keys += 1;
        if self.block.len() >= BLOCK_BYTES {
            self.end_block()?;
        }
        Ok(())
    }

    fn end_block(&mut self) -> Result<(), StoreError> {
        if self.block.is_empty() {
            return Ok(());
        }
        // The block's checksum sits after its offset in its sparse entry.
        let entry = self.block_entry;
        self.sparse[entry + 8..entry + 16].copy_from_slice(&checksum(&self.block).to_le_bytes());
        self.out.write(&self.block)?;
        self.offset += self.block.len() as u64;
        self.blocks += 1;
        self.block.clear();
        Ok(())
    }

    /// Makes the run whole under its final name and opens it.
    pub(crate) fn finish(mut self) -> Result<SortedRun, StoreError> {
        self.end_block()?;
        let footer = footer(&self.sparse, self.offset, self.blocks, self.keys);
        self.out.write(&self.sparse)?;
        self.out.write(&footer)?;
        self.out.finish()?;
        SortedRun::open(&self.dir, self.id, self.keys)
    }
}

/// Reads a run's keys in order, one block (or [`MERGE_READ`] blocks) at a time. Keys
/// are lent, not copied: [`Cursor::key`] is the current one until [`Cursor::advance`].
pub(crate) struct Cursor {
    run: Option<Arc<SortedRun>>,
    next_block: usize,
    blocks_per_read: usize,
    buffer: Vec<u8>,
    /// The current key's place in `buffer`; `None` past the end.
    current: Option<(usize, usize)>,
}

impl Cursor {
    /// A cursor at the first key of `run`, reading `blocks_per_read` blocks at a time.
    pub(crate) fn from_start(
        run: &Arc<SortedRun>,
        blocks_per_read: usize,
    ) -> Result<Cursor, StoreError> {
        Cursor::at_block(run, 0, blocks_per_read.max(1))
    }

    /// A cursor at the first key of `run` not below `start`.
    pub(crate) fn seek(run: &Arc<SortedRun>, start: &[u8]) -> Result<Cursor, StoreError> {
        // The last block whose first key is not above `start` holds the keys from it.
        let (mut low, mut high) = (0, run.blocks.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if run.first_key(mid) <= start {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        let block = low.saturating_sub(1);
        let mut cursor = Cursor::at_block(run, block, 1)?;
        while cursor.key().is_some_and(|key| key < start) {
            cursor.advance()?;
        }
        Ok(cursor)
    }

    /// A cursor over keys held in memory, ascending and without repeats.
    pub(crate) fn in_memory<K: AsRef<[u8]>>(keys: &[K]) -> Cursor {
        let mut buffer = Vec::new();
        for key in keys {
            push_len(&mut buffer, key.as_ref().len());
            buffer.extend_from_slice(key.as_ref());
        }
        let mut cursor = Cursor {
            run: None,
            next_block: 0,
            blocks_per_read: 1,
            buffer,
            current: None,
        };
        // Keys made here always split.
        let _ = cursor.step_from(0);
        cursor
    }

    fn at_block(
        run: &Arc<SortedRun>,
        block: usize,
        blocks_per_read: usize,
    ) -> Result<Cursor, StoreError> {
        let mut cursor = Cursor {
            run: Some(Arc::clone(run)),
            next_block: block,
            blocks_per_read,
            buffer: Vec::new(),
            current: None,
        };
        cursor.step_from(0)?;
        Ok(cursor)
    }

    /// The current key; `None` past the last.
    pub(crate) fn key(&self) -> Option<&[u8]> {
        self.current.map(|(start, end)| &self.buffer[start..end])
    }

    /// Moves to the next key.
    pub(crate) fn advance(&mut self) -> Result<(), StoreError> {
        match self.current {
            Some((_, end)) => self.step_from(end),
            None => Ok(()),
        }
    }

    /// Makes the key at `at` in the buffer current, reading the next blocks when the
    /// buffer is done. A failure ends the cursor.
    fn step_from(&mut self, at: usize) -> Result<(), StoreError> {
        self.current = None;
        let mut at = at;
        if at >= self.buffer.len() {
            let Some(run) = &self.run else {
                return Ok(());
            };
            if self.next_block >= run.blocks.len() {
                return Ok(());
            }
            run.read_blocks(self.next_block, self.blocks_per_read, &mut self.buffer)?;
            self.next_block += self.blocks_per_read;
            at = 0;
        }
        let Some((len, head)) = read_len(&self.buffer[at..]) else {
            return Err(self.cut_short());
        };
        let (start, end) = (at + head, at + head + len);
        if end > self.buffer.len() {
            return Err(self.cut_short());
        }
        self.current = Some((start, end));
        Ok(())
    }

    fn cut_short(&mut self) -> StoreError {
        self.buffer.clear();
        self.next_block = usize::MAX;
        let path = self
            .run
            .as_ref()
            .map_or_else(PathBuf::new, |r| r.path.clone());
        damaged(&path, 0, "a key runs past its block")
    }
}

/// A merge of cursors into one ascending sequence without repeats, up to an exclusive
/// end. Lends each key until the next call.
pub(crate) struct Merge {
    cursors: Vec<Cursor>,
    end: Option<Vec<u8>>,
    last: Vec<u8>,
    started: bool,
    done: bool,
}

impl Merge {
    pub(crate) fn new(cursors: Vec<Cursor>, end: Option<Vec<u8>>) -> Merge {
        Merge {
            cursors,
            end,
            last: Vec::new(),
            started: false,
            done: false,
        }
    }

    /// The next key, or `None` at the end (and after an error).
    pub(crate) fn next_key(&mut self) -> Result<Option<&[u8]>, StoreError> {
        loop {
            if self.done {
                return Ok(None);
            }
            // Fan-in is a few runs: a linear pick costs less than a heap's upkeep.
            let mut smallest: Option<(usize, &[u8])> = None;
            for (i, cursor) in self.cursors.iter().enumerate() {
                if let Some(key) = cursor.key() {
                    if smallest.is_none_or(|(_, best)| key < best) {
                        smallest = Some((i, key));
                    }
                }
            }
            let Some((source, key)) = smallest else {
                self.done = true;
                return Ok(None);
            };
            if self.end.as_deref().is_some_and(|end| key >= end) {
                self.done = true;
                return Ok(None);
            }
            let repeat = self.started && key == self.last.as_slice();
            if !repeat {
                self.last.clear();
                self.last.extend_from_slice(key);
                self.started = true;
            }
            if let Err(error) = self.cursors[source].advance() {
                self.done = true;
                return Err(error);
            }
            if !repeat {
                return Ok(Some(&self.last));
            }
        }
    }

    /// Writes everything left as run `id` in `dir`.
    pub(crate) fn write(mut self, dir: &Path, id: u64) -> Result<SortedRun, StoreError> {
        let mut out = RunBuilder::create(dir, id)?;
        while let Some(key) = self.next_key()? {
            out.push(key)?;
        }
        out.finish()
    }
}

impl Iterator for Merge {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_key()
            .map(|key| key.map(<[u8]>::to_vec))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    fn write(dir: &Path, id: u64, keys: &[Vec<u8>]) -> Arc<SortedRun> {
        let mut out = RunBuilder::create(dir, id).unwrap();
        for key in keys {
            out.push(key).unwrap();
        }
        Arc::new(out.finish().unwrap())
    }

    fn read(run: &Arc<SortedRun>, blocks_per_read: usize) -> Vec<Vec<u8>> {
        let cursor = Cursor::from_start(run, blocks_per_read).unwrap();
        Merge::new(vec![cursor], None).map(Result::unwrap).collect()
    }

    fn from(run: &Arc<SortedRun>, start: &[u8]) -> Vec<Vec<u8>> {
        let cursor = Cursor::seek(run, start).unwrap();
        Merge::new(vec![cursor], None).map(Result::unwrap).collect()
    }

    /// Keys of growing length (a few bytes to a few hundred), ascending.
    fn keys(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("k{i:06}{}", "u".repeat(i % 300)).into_bytes())
            .collect()
    }

    #[test]
    fn runs_read_back_whole_and_from_any_key() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(dir.path(), 1, &[]);
        assert_eq!(read(&empty, 1), Vec::<Vec<u8>>::new());
        assert_eq!(from(&empty, b"k"), Vec::<Vec<u8>>::new());
        let one = write(dir.path(), 2, &[b"only".to_vec()]);
        assert_eq!(read(&one, 1), [b"only".to_vec()]);
        assert_eq!(from(&one, b"only"), [b"only".to_vec()]);
        assert_eq!(from(&one, b"onlz"), Vec::<Vec<u8>>::new());
        // An empty key, and one longer than a block.
        let odd = vec![Vec::new(), vec![b'z'; BLOCK_BYTES + 5]];
        assert_eq!(read(&write(dir.path(), 3, &odd), 1), odd);

        let all = keys(3000);
        let many = write(dir.path(), 4, &all);
        assert!(many.blocks.len() > 20, "{} blocks", many.blocks.len());
        assert_eq!(read(&many, 1), all);
        assert_eq!(read(&many, MERGE_READ), all);
        // From each block's first key, the key before it, and between keys.
        for block in 0..many.blocks.len() {
            let first = many.first_key(block).to_vec();
            let at = all.iter().position(|k| *k == first).unwrap();
            assert_eq!(from(&many, &first), all[at..], "block {block}");
            let before = &all[at.saturating_sub(1)];
            assert_eq!(from(&many, before), all[at.saturating_sub(1)..]);
            let mut between = before.clone();
            between.push(0);
            assert_eq!(from(&many, &between), all[at.max(1)..]);
        }
        assert_eq!(from(&many, b""), all);
        assert_eq!(from(&many, b"l"), Vec::<Vec<u8>>::new());
        let reopened = Arc::new(SortedRun::open(dir.path(), 4, 3000).unwrap());
        assert_eq!(read(&reopened, 3), all);
    }

    #[test]
    fn prefixes_straddling_blocks_are_found_whole() {
        let dir = tempfile::tempdir().unwrap();
        // 16-byte postings, a thousand of hash 5 over at least two blocks.
        let posting =
            |hash: u64, at: u64| ((u128::from(hash) << 64) | u128::from(at)).to_be_bytes();
        let mut all: Vec<Vec<u8>> = (0..900).map(|i| posting(1, i).to_vec()).collect();
        all.extend((0..1000).map(|i| posting(5, i).to_vec()));
        all.extend((0..900).map(|i| posting(6 + i, 0).to_vec()));
        let run = write(dir.path(), 1, &all);
        let found = |hash: u64| {
            let mut found = Vec::new();
            run.for_each_with_prefix(&hash.to_be_bytes(), |key| found.push(key.to_vec()))
                .unwrap();
            found
        };
        assert_eq!(found(5), all[900..1900]);
        assert_eq!(found(1).len(), 900);
        assert_eq!(found(3), Vec::<Vec<u8>>::new());
        assert_eq!(found(905), [posting(905, 0).to_vec()]);
        assert_eq!(found(u64::MAX), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn a_torn_or_damaged_run_is_an_error_naming_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let all = keys(2000);
        write(dir.path(), 7, &all);
        let path = run_file::path(dir.path(), 7);
        let names_the_file = |error: StoreError| {
            let text = error.to_string();
            assert!(text.contains("00000007.run"), "{text}");
            assert!(text.contains("damaged"), "{text}");
        };
        let whole = std::fs::read(&path).unwrap();
        names_the_file(SortedRun::open(dir.path(), 7, 1999).err().unwrap());

        // A flipped bit inside a block: found when a cursor reads that block.
        let mut bytes = whole.clone();
        bytes[BLOCK_BYTES * 2] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let run = Arc::new(SortedRun::open(dir.path(), 7, 2000).unwrap());
        let mut merge = Merge::new(vec![Cursor::from_start(&run, 1).unwrap()], None);
        let error = merge.find_map(Result::err).unwrap();
        names_the_file(error);
        assert!(merge.next().is_none(), "a failed read ends the cursor");
        names_the_file(Cursor::from_start(&run, MERGE_READ).err().unwrap());

        // Torn anywhere, or a flipped bit in the sparse index or the footer.
        for cut in [1, 20, 40, whole.len() / 2, whole.len() - 1] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            names_the_file(SortedRun::open(dir.path(), 7, 2000).err().unwrap());
        }
        for at in [whole.len() - 200, whole.len() - 30, whole.len() - 1] {
            let mut bytes = whole.clone();
            bytes[at] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            names_the_file(SortedRun::open(dir.path(), 7, 2000).err().unwrap());
        }
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(0).unwrap();
        names_the_file(SortedRun::open(dir.path(), 7, 2000).err().unwrap());
    }
}
