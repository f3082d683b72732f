//! The postings log: one framed record per page written with outlinks, appended to
//! segment files in `inlinks/`.
//!
//! A record is one frame (`crate::files::frame`) whose payload is the source URL and
//! the 64-bit hashes of its outlink targets, little-endian:
//!
//! ```text
//! payload = URL length (u32) | URL | one u64 hash per outlink target
//! ```
//!
//! A record's *position* is its segment id in the high 32 bits and its byte offset in
//! the low 32 (segments stop at 1 GiB), so positions sort in log order. Records are
//! appended one after another under the index's append lock, so a segment has no holes:
//! reading it from the start, the first record whose frame does not fit or whose
//! checksum fails is a torn end (a write cut short by a crash), and nothing after it
//! in that segment was ever written. A process that appends starts a new segment, so a
//! torn end is never followed by new records.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::files::frame;
use crate::StoreError;

/// A segment takes no record that would carry it past this size.
const SEGMENT_BYTES: u64 = 1 << 30;
/// No record is this large (5,000 outlinks are 40 KB); a larger length is damage.
const MAX_PAYLOAD: u32 = 64 << 20;

/// Where a record starts: segment id (high 32 bits) and byte offset (low 32 bits).
pub type Position = u64;

pub fn position(segment: u32, offset: u64) -> Position {
    (u64::from(segment) << 32) | (offset & 0xffff_ffff)
}

pub fn segment_of(position: Position) -> u32 {
    (position >> 32) as u32
}

fn offset_of(position: Position) -> u64 {
    position & 0xffff_ffff
}

/// The framed record of `source` linking to targets with these hashes.
pub fn encode(source: &str, hashes: &[u64]) -> Result<Vec<u8>, StoreError> {
    let payload_len = 4 + source.len() + 8 * hashes.len();
    let too_big = || StoreError::Corrupt {
        key: source.to_owned(),
        reason: format!("an inlink record of {payload_len} bytes is too large"),
    };
    if payload_len > MAX_PAYLOAD as usize {
        return Err(too_big());
    }
    let url_len = u32::try_from(source.len()).map_err(|_| too_big())?;
    let mut payload = Vec::with_capacity(payload_len);
    payload.extend_from_slice(&url_len.to_le_bytes());
    payload.extend_from_slice(source.as_bytes());
    for hash in hashes {
        payload.extend_from_slice(&hash.to_le_bytes());
    }
    let mut record = Vec::with_capacity(frame::framed_len(payload_len));
    frame::push(&mut record, &payload);
    Ok(record)
}

pub fn segment_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("{id:08}.log"))
}

/// The ids of the log segments in `dir`, ascending.
pub fn segment_ids(dir: &Path) -> Result<Vec<u32>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut ids: Vec<u32> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            name.to_str()?.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Appends records. Owned by the index's append lock.
pub struct LogWriter {
    dir: PathBuf,
    /// The segment appends go to and its length; created by the first append, so a
    /// store opened only to read writes no segment.
    current: Option<(u32, File, u64)>,
    next_id: u32,
}

impl LogWriter {
    /// A writer whose first append creates segment `next_id`.
    pub fn new(dir: &Path, next_id: u32) -> LogWriter {
        LogWriter {
            dir: dir.to_path_buf(),
            current: None,
            next_id,
        }
    }

    /// Appends one record; returns its position and the position after it.
    pub fn append(&mut self, record: &[u8]) -> Result<(Position, Position), StoreError> {
        let len = record.len() as u64;
        let full =
            matches!(&self.current, Some((_, _, end)) if *end > 0 && end + len > SEGMENT_BYTES);
        if full {
            if let Some((id, file, _)) = self.current.take() {
                file.sync_data()
                    .map_err(|e| StoreError::io(&segment_path(&self.dir, id), e))?;
            }
        }
        let (id, file, end) = match &mut self.current {
            Some(current) => current,
            None => {
                std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
                let id = self.next_id;
                let path = segment_path(&self.dir, id);
                let file = crate::files::create_segment(&path)?;
                self.next_id = id + 1;
                self.current.insert((id, file, 0))
            }
        };
        file.write_all_at(record, *end)
            .map_err(|e| StoreError::io(&segment_path(&self.dir, *id), e))?;
        let at = position(*id, *end);
        *end += len;
        Ok((at, position(*id, *end)))
    }
}

/// Reads source URLs back by position, keeping one handle per segment.
pub struct LogReader {
    dir: PathBuf,
    files: Mutex<HashMap<u32, Arc<File>>>,
}

impl LogReader {
    pub fn new(dir: &Path) -> LogReader {
        LogReader {
            dir: dir.to_path_buf(),
            files: Mutex::new(HashMap::new()),
        }
    }

    fn file(&self, segment: u32) -> Result<Arc<File>, StoreError> {
        // The map only caches handles; a panic elsewhere cannot leave it half-made.
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = files.get(&segment) {
            return Ok(Arc::clone(file));
        }
        let path = segment_path(&self.dir, segment);
        let file = Arc::new(File::open(&path).map_err(|e| StoreError::io(&path, e))?);
        files.insert(segment, Arc::clone(&file));
        Ok(file)
    }

    /// The source URL of the record at `at`, or `None` when the bytes there are not a
    /// record (the caller verifies every source against the store, so a damaged or
    /// foreign position costs a lookup and nothing else).
    pub fn source_at(&self, at: Position) -> Result<Option<String>, StoreError> {
        let file = self.file(segment_of(at))?;
        let offset = offset_of(at);
        let mut head = [0u8; frame::HEAD_LEN + 4];
        if !read_exact_or_eof(&file, &mut head, offset, &self.dir)? {
            return Ok(None);
        }
        let [l0, l1, l2, l3, _, _, _, _, u0, u1, u2, u3] = head;
        let payload_len = u32::from_le_bytes([l0, l1, l2, l3]);
        let url_len = u32::from_le_bytes([u0, u1, u2, u3]);
        if payload_len > MAX_PAYLOAD || url_len.saturating_add(4) > payload_len {
            return Ok(None);
        }
        let mut url = vec![0u8; url_len as usize];
        if !read_exact_or_eof(&file, &mut url, offset + head.len() as u64, &self.dir)? {
            return Ok(None);
        }
        Ok(String::from_utf8(url).ok())
    }

    /// Makes the segments from `from` through `to` durable.
    pub fn sync(&self, from: u32, to: u32) -> Result<(), StoreError> {
        for id in segment_ids(&self.dir)? {
            if (from..=to).contains(&id) {
                self.file(id)?
                    .sync_data()
                    .map_err(|e| StoreError::io(&segment_path(&self.dir, id), e))?;
            }
        }
        Ok(())
    }
}

/// Fills `buf` from `offset`; false when the file ends first.
fn read_exact_or_eof(
    file: &File,
    buf: &mut [u8],
    offset: u64,
    dir: &Path,
) -> Result<bool, StoreError> {
    match file.read_exact_at(buf, offset) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(StoreError::io(dir, e)),
    }
}

/// What reading the log from a position found.
pub struct Recovered {
    /// `(target hash << 64) | record position` for every intact record, in log order.
    pub postings: Vec<u128>,
    /// The position after the last intact record (or `from` when there is none).
    pub end: Position,
    /// The id a new segment gets: one past the highest on disk.
    pub next_segment: u32,
}

/// Reads every intact record at or after `from`, segment by segment, stopping each
/// segment at its end or at its first torn record. Memory: the postings found and one
/// record.
pub fn recover(dir: &Path, from: Position) -> Result<Recovered, StoreError> {
    let ids = segment_ids(dir)?;
    let mut found = Recovered {
        postings: Vec::new(),
        end: from,
        next_segment: ids.last().map_or(0, |id| id + 1),
    };
    for id in ids.into_iter().filter(|id| *id >= segment_of(from)) {
        let start = if id == segment_of(from) {
            offset_of(from)
        } else {
            0
        };
        let path = segment_path(dir, id);
        let mut file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| StoreError::io(&path, e))?;
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut offset = start;
        let mut payload = Vec::new();
        while let Some(len) =
            read_record(&mut reader, &mut payload).map_err(|e| StoreError::io(&path, e))?
        {
            let at = position(id, offset);
            let url_len =
                u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]) as usize;
            for hash in payload[4 + url_len..].chunks_exact(8) {
                let hash = u64::from_le_bytes(hash.try_into().unwrap_or_default());
                found
                    .postings
                    .push((u128::from(hash) << 64) | u128::from(at));
            }
            offset += len;
            found.end = position(id, offset);
        }
    }
    Ok(found)
}

/// Reads the next record's payload into `payload`; its framed length, or `None` at the
/// end of the segment or at a torn or damaged record.
fn read_record(reader: &mut impl Read, payload: &mut Vec<u8>) -> std::io::Result<Option<u64>> {
    let Some(framed) = frame::read(reader, payload, MAX_PAYLOAD)? else {
        return Ok(None);
    };
    let Some((url_len, rest)) = payload.split_first_chunk::<4>() else {
        return Ok(None);
    };
    let url_len = u32::from_le_bytes(*url_len) as usize;
    if url_len > rest.len() || !(rest.len() - url_len).is_multiple_of(8) {
        return Ok(None);
    }
    Ok(Some(framed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    #[test]
    fn records_read_back_and_a_torn_end_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = LogWriter::new(dir.path(), 0);
        let (a, _) = writer
            .append(&encode("http://a.test/", &[1, 2]).unwrap())
            .unwrap();
        let (b, end) = writer
            .append(&encode("http://b.test/", &[3]).unwrap())
            .unwrap();
        let reader = LogReader::new(dir.path());
        assert_eq!(
            reader.source_at(b).unwrap().as_deref(),
            Some("http://b.test/")
        );

        let found = recover(dir.path(), 0).unwrap();
        assert_eq!(found.end, end);
        assert_eq!(found.next_segment, 1);
        let expected = [
            (1u128 << 64) | u128::from(a),
            (2 << 64) | u128::from(a),
            (3 << 64) | u128::from(b),
        ];
        assert_eq!(found.postings, expected);
        assert_eq!(recover(dir.path(), b).unwrap().postings, expected[2..]);

        // Cut the last record short, then add garbage: only the first survives.
        let path = segment_path(dir.path(), 0);
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(offset_of(end) - 3).unwrap();
        let found = recover(dir.path(), 0).unwrap();
        assert_eq!(found.postings, expected[..2]);
        assert_eq!(found.end, b);
        file.write_all_at(&[0xff; 40], offset_of(b)).unwrap();
        assert_eq!(recover(dir.path(), 0).unwrap().postings, expected[..2]);
        assert_eq!(reader.source_at(position(0, 1)).unwrap(), None);
        assert_eq!(reader.source_at(position(0, 1 << 20)).unwrap(), None);
    }

    #[test]
    fn a_flipped_bit_ends_the_segment_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = LogWriter::new(dir.path(), 0);
        let (a, _) = writer
            .append(&encode("http://a.test/", &[1]).unwrap())
            .unwrap();
        let (b, _) = writer
            .append(&encode("http://b.test/", &[2]).unwrap())
            .unwrap();
        writer
            .append(&encode("http://c.test/", &[3]).unwrap())
            .unwrap();
        let path = segment_path(dir.path(), 0);
        let mut bytes = std::fs::read(&path).unwrap();
        // The last byte of the second record's hash.
        let in_b = offset_of(b) as usize + frame::HEAD_LEN + 4 + "http://b.test/".len() + 7;
        bytes[in_b] ^= 0x80;
        std::fs::write(&path, bytes).unwrap();

        let found = recover(dir.path(), 0).unwrap();
        assert_eq!(found.postings, [(1u128 << 64) | u128::from(a)]);
        assert_eq!(found.end, b);
    }
}
