//! The body log: page bodies, and the other parts of a page (its record, outlinks and
//! HTTP heads), appended to segment files beside the sled database.
//!
//! sled is a fine index but a poor home for megabytes of bodies: every value it
//! stores is rewritten as its pages are consolidated and its segments cleaned, so
//! bodies cost several times their size in disk writes. Here a body is written once,
//! sequentially, and sled keeps a 16-byte pointer to it under the page's key. The
//! same holds for a record of a few hundred bytes: sled kept it at about four times
//! its size (`crate::codec::page_value`).
//!
//! Each part is one frame (`crate::files::frame`) and a pointer names the whole frame,
//! so a read checks the part's length and checksum and reports a damaged part as
//! [`StoreError::Corrupt`] instead of handing back wrong bytes.
//!
//! Writers never lock around the write: each reserves its byte range in the current
//! segment with an atomic add, then writes there with `pwrite`; many workers append
//! to one file at once. A short mutex guards only the swap to a new segment.
//!
//! Crash behaviour: a body is written before the sled batch that points to it, so a
//! pointer the store holds never runs ahead of its bytes (after `kill -9` the bytes
//! are in the OS page cache). A crash between the two leaves unreferenced bytes in a
//! segment, which cost space and nothing else. [`BodyLog::sync`] runs before each
//! explicit store flush so that flushed pointers have durable bodies.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::frame;
use crate::StoreError;

/// A segment is closed for appends once it reaches this size.
const SEGMENT_BYTES: u64 = 1 << 30;

/// Where one part's frame lives: its segment, its offset, and its length, head included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyPointer {
    pub segment: u32,
    pub offset: u64,
    pub len: u32,
}

impl BodyPointer {
    pub const ENCODED_LEN: usize = 16;

    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..4].copy_from_slice(&self.segment.to_be_bytes());
        out[4..12].copy_from_slice(&self.offset.to_be_bytes());
        out[12..].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<BodyPointer> {
        let bytes: &[u8; Self::ENCODED_LEN] = bytes.try_into().ok()?;
        Some(BodyPointer {
            segment: u32::from_be_bytes(bytes[..4].try_into().ok()?),
            offset: u64::from_be_bytes(bytes[4..12].try_into().ok()?),
            len: u32::from_be_bytes(bytes[12..].try_into().ok()?),
        })
    }
}

struct Segment {
    id: u32,
    file: File,
    /// The next free byte; reserved by `fetch_add`.
    end: AtomicU64,
    /// Up to where writeback has been started (see [`WRITEBACK_EVERY`]).
    written_back: AtomicU64,
}

/// Writeback of a segment is started each time this many bytes were appended since
/// the last start, so that a sync finds most bytes on disk already instead of writing
/// the whole crawl's bodies then.
const WRITEBACK_EVERY: u64 = 8 << 20;

pub struct BodyLog {
    dir: PathBuf,
    /// The segment appends go to; created by the first append, so readers write nothing.
    current: Mutex<Option<Arc<Segment>>>,
    /// Segments opened for reading, kept open: an export reads two or three parts per
    /// page, and an `open` per read cost more than the read.
    readers: RwLock<HashMap<u32, Arc<File>>>,
}

impl Segment {
    /// Starts writeback of what lies before `end` once [`WRITEBACK_EVERY`] bytes are
    /// waiting; one appender claims the range, the others go on.
    fn start_writeback_after(&self, end: u64) {
        let from = self.written_back.load(Ordering::Relaxed);
        if end < from + WRITEBACK_EVERY {
            return;
        }
        if self
            .written_back
            .compare_exchange(from, end, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            crate::files::start_writeback(&self.file, from, end - from);
        }
    }
}

impl BodyLog {
    /// Opens the log in `dir`. Appends go to a new segment, created on first use.
    pub fn open(dir: &Path) -> BodyLog {
        BodyLog {
            dir: dir.to_path_buf(),
            current: Mutex::new(None),
            readers: RwLock::new(HashMap::new()),
        }
    }

    /// The id after the highest segment on disk.
    fn next_segment_id(dir: &Path) -> Result<u32, StoreError> {
        let highest = std::fs::read_dir(dir)
            .map_err(|e| StoreError::io(dir, e))?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                name.to_str()?.strip_suffix(".body")?.parse::<u32>().ok()
            })
            .max();
        Ok(highest.map_or(0, |id| id + 1))
    }

    fn segment_path(dir: &Path, id: u32) -> PathBuf {
        dir.join(format!("{id:08}.body"))
    }

    fn create_segment(dir: &Path, id: u32) -> Result<Segment, StoreError> {
        let path = Self::segment_path(dir, id);
        let file = crate::files::create_segment(&path)?;
        Ok(Segment {
            id,
            file,
            end: AtomicU64::new(0),
            written_back: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<Segment>>> {
        // The guarded value is an Arc swapped whole; a panic cannot leave it half-made.
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The segment to append to, created on first use.
    fn current(&self) -> Result<Arc<Segment>, StoreError> {
        let mut current = self.lock();
        if let Some(segment) = current.as_ref() {
            return Ok(Arc::clone(segment));
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let segment = Arc::new(Self::create_segment(
            &self.dir,
            Self::next_segment_id(&self.dir)?,
        )?);
        *current = Some(Arc::clone(&segment));
        Ok(segment)
    }

    /// Appends the `parts` present, each as a frame, one after the other with one write,
    /// and returns where each is (in the order given).
    pub fn append_all(
        &self,
        parts: &[Option<&[u8]>],
    ) -> Result<Vec<Option<BodyPointer>>, StoreError> {
        let size = parts
            .iter()
            .flatten()
            .map(|part| frame::framed_len(part.len()))
            .sum();
        let mut framed = Vec::with_capacity(size);
        for part in parts.iter().flatten() {
            check_len(part.len())?;
            frame::push(&mut framed, part);
        }
        if framed.is_empty() {
            return Ok(vec![None; parts.len()]);
        }
        let whole = self.append_framed(&framed)?;
        let mut offset = whole.offset;
        Ok(parts
            .iter()
            .map(|part| {
                part.map(|part| {
                    let len = frame::framed_len(part.len());
                    let pointer = BodyPointer {
                        segment: whole.segment,
                        offset,
                        // Each frame is shorter than the whole, which fit in a u32.
                        len: len as u32,
                    };
                    offset += len as u64;
                    pointer
                })
            })
            .collect())
    }

    /// Appends `bytes` as one frame and returns where it is (the store appends a
    /// page's parts together, with [`BodyLog::append_all`]).
    #[cfg(test)]
    pub fn append(&self, bytes: &[u8]) -> Result<BodyPointer, StoreError> {
        check_len(bytes.len())?;
        let mut framed = Vec::with_capacity(frame::framed_len(bytes.len()));
        frame::push(&mut framed, bytes);
        self.append_framed(&framed)
    }

    /// Appends bytes that are whole frames, and returns where they are.
    fn append_framed(&self, bytes: &[u8]) -> Result<BodyPointer, StoreError> {
        let len = u32::try_from(bytes.len()).map_err(|_| StoreError::Corrupt {
            key: "body".into(),
            reason: format!("a page's parts of {} bytes are over 4 GiB", bytes.len()),
        })?;
        loop {
            let segment = self.current()?;
            let offset = segment.end.fetch_add(u64::from(len), Ordering::Relaxed);
            if offset > 0 && offset + u64::from(len) > SEGMENT_BYTES {
                self.roll(&segment)?;
                continue;
            }
            segment
                .file
                .write_all_at(bytes, offset)
                .map_err(|e| StoreError::io(&Self::segment_path(&self.dir, segment.id), e))?;
            segment.start_writeback_after(offset + u64::from(len));
            return Ok(BodyPointer {
                segment: segment.id,
                offset,
                len,
            });
        }
    }

    /// Starts a new segment unless another writer already has; the full one is synced.
    fn roll(&self, full: &Arc<Segment>) -> Result<(), StoreError> {
        let mut current = self.lock();
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, full)) {
            full.file
                .sync_data()
                .map_err(|e| StoreError::io(&Self::segment_path(&self.dir, full.id), e))?;
            *current = Some(Arc::new(Self::create_segment(&self.dir, full.id + 1)?));
        }
        Ok(())
    }

    /// Reads the part a pointer names, checked against its frame's length and checksum.
    pub fn read(&self, pointer: BodyPointer) -> Result<Vec<u8>, StoreError> {
        let file = self.reader(pointer.segment)?;
        let path = Self::segment_path(&self.dir, pointer.segment);
        let mut framed = vec![0u8; pointer.len as usize];
        match file.read_exact_at(&mut framed, pointer.offset) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let store = self.dir.parent().unwrap_or(&self.dir);
                let what = "the segment ends inside this frame (cut short)";
                return Err(StoreError::damaged(store, &path, pointer.offset, what));
            }
            Err(e) => return Err(StoreError::io(&path, e)),
        }
        if frame::payload(&framed).is_none() {
            let store = self.dir.parent().unwrap_or(&self.dir);
            return Err(StoreError::damaged(
                store,
                &path,
                pointer.offset,
                "a body log frame whose length or checksum does not match",
            ));
        }
        framed.drain(..frame::HEAD_LEN);
        Ok(framed)
    }

    /// Segment `id` open for reading.
    fn reader(&self, id: u32) -> Result<Arc<File>, StoreError> {
        // The map only ever gains complete entries; a panic cannot leave one half-made.
        let known = self.readers.read().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = known.get(&id) {
            return Ok(Arc::clone(file));
        }
        drop(known);
        let path = Self::segment_path(&self.dir, id);
        let file = Arc::new(File::open(&path).map_err(|e| StoreError::io(&path, e))?);
        let mut known = self.readers.write().unwrap_or_else(|p| p.into_inner());
        Ok(Arc::clone(known.entry(id).or_insert(file)))
    }

    /// Bytes in all segments.
    pub fn size_on_disk(&self) -> u64 {
        crate::files::dir_size(&self.dir)
    }

    /// Makes every appended body durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        let Some(current) = self.lock().clone() else {
            return Ok(());
        };
        current
            .file
            .sync_data()
            .map_err(|e| StoreError::io(&Self::segment_path(&self.dir, current.id), e))
    }
}

/// `len` as a frame or segment length: parts over 4 GiB are refused.
fn check_len(len: usize) -> Result<u32, StoreError> {
    u32::try_from(frame::framed_len(len)).map_err(|_| StoreError::Corrupt {
        key: "body".into(),
        reason: format!("a body of {len} bytes is over 4 GiB"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_from_many_threads_read_back_intact() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(BodyLog::open(dir.path()));
        let handles: Vec<_> = (0..8u8)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    (0..200u32)
                        .map(|i| {
                            let body = vec![t; (i as usize * 7) % 3000 + 1];
                            (log.append(&body).unwrap(), body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            for (pointer, body) in handle.join().unwrap() {
                assert_eq!(log.read(pointer).unwrap(), body);
                assert_eq!(BodyPointer::decode(&pointer.encode()), Some(pointer));
            }
        }
    }

    #[test]
    fn bodies_written_back_while_appended_read_back_intact_after_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(BodyLog::open(dir.path()));
        // 4 threads x 40 x 200 KB: 32 MB, so writeback starts several times while
        // other threads still write below the range it covers.
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    (0..40u8)
                        .map(|i| {
                            let body = vec![t.wrapping_mul(40).wrapping_add(i); 200_000];
                            (log.append(&body).unwrap(), body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let written: Vec<_> = handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect();
        log.sync().unwrap();
        let segment = written[0].0.segment;
        let current = log.lock().clone().unwrap();
        assert!(current.written_back.load(Ordering::Relaxed) >= 3 * WRITEBACK_EVERY);
        let reopened = BodyLog::open(dir.path());
        for (pointer, body) in &written {
            assert_eq!(pointer.segment, segment);
            assert_eq!(&reopened.read(*pointer).unwrap(), body);
        }
    }

    #[test]
    fn parts_appended_together_read_back_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let log = BodyLog::open(dir.path());
        let before = log.append(b"before").unwrap();
        let parts: [&[u8]; 3] = [b"body", b"", b"heads"];
        let pointers = log.append_all(&parts.map(Some)).unwrap();
        for (pointer, part) in pointers.iter().zip(parts) {
            assert_eq!(log.read(pointer.unwrap()).unwrap(), part);
        }
        assert_eq!(log.read(before).unwrap(), b"before");
    }

    #[test]
    fn reopening_appends_to_a_new_segment_and_old_bodies_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let first = BodyLog::open(dir.path()).append(b"one").unwrap();
        let log = BodyLog::open(dir.path());
        let second = log.append(b"two").unwrap();
        assert_ne!(first.segment, second.segment);
        assert_eq!(log.read(first).unwrap(), b"one");
        assert_eq!(log.read(second).unwrap(), b"two");
    }

    #[test]
    fn a_torn_or_flipped_part_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let log = BodyLog::open(dir.path());
        let [body, absent, heads] = log
            .append_all(&[Some(&b"body"[..]), None, Some(b"heads")])
            .unwrap()[..]
        else {
            panic!("three pointers for three parts")
        };
        assert_eq!(absent, None);
        let (body, heads) = (body.unwrap(), heads.unwrap());
        log.sync().unwrap();
        let path = BodyLog::segment_path(dir.path(), body.segment);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[body.offset as usize + frame::HEAD_LEN] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let reopened = BodyLog::open(dir.path());
        assert!(matches!(
            reopened.read(body),
            Err(StoreError::Damaged { .. })
        ));
        assert_eq!(reopened.read(heads).unwrap(), b"heads");
        // Torn: the file ends inside the part's frame.
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(BodyLog::open(dir.path()).read(heads).is_err());
        // A pointer that names less than the whole frame.
        let short = BodyPointer {
            len: heads.len - 1,
            ..heads
        };
        assert!(log.read(short).is_err());
    }

    #[test]
    fn a_pointer_past_the_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let log = BodyLog::open(dir.path());
        let mut pointer = log.append(b"abc").unwrap();
        pointer.len = 1000;
        assert!(log.read(pointer).is_err());
        pointer.segment = 99;
        assert!(log.read(pointer).is_err());
    }
}
