//! The frontier's shared files: the queue entries of small hosts, many hosts to a file.
//!
//! A file per host costs a filesystem block and an inode whatever it holds (4 KiB and
//! more on ext4 for a 60-byte entry): a broad crawl of a million hosts with one URL each
//! took 4 GB of queue files. So a host's entries start in one of [`BUCKETS`] shared
//! *bucket* files, `frontier/shared/<bucket, hex>.qb`, chosen by the hash of its host
//! key; a host only gets a file of its own (`super::queue_files`) once its live entries
//! in its bucket outgrow [`PROMOTE_AT`] bytes, when a compaction moves them there. A
//! bounded number of files, each holding hundreds of hosts: about 70 bytes per queued
//! URL from a hundred thousand hosts up.
//!
//! A bucket is a magic line, then frames (`super::frame`) whose payload is the host key
//! (`u32` length + bytes) followed by the entry in the queue files' form. Appends hold
//! the bucket's mutex for one `write`, so one host's entries keep their order. There is
//! no cursor: a reader reads the whole bucket (tens of KB) and keeps the frames of its
//! host, comparing host keys byte by byte; the last bucket read is kept, so reading host
//! after host of a bucket (a resumed crawl loading its frontier) reads it once.
//!
//! **Compaction** keeps buckets as small as what they hold: a bucket is rewritten
//! without its settled entries (the caller's `settled` test, the same that decides what
//! is queued) once half of its entries, and at least [`SETTLED_AT`] or all of them, were
//! settled since its last compaction (counted from the writes that settle them) or once it doubled in
//! size; a host with more than
//! [`PROMOTE_AT`] bytes left gets its own file then. Each compaction reads and writes
//! one bucket, under its mutex, and is paid for by the appends or settlements that made
//! it due, so its cost is amortised over them; no step touches every host. A bucket
//! whose entries are all settled is deleted. Without the floor of [`SETTLED_AT`], a
//! broad crawl's small buckets were rewritten and synced for nearly every entry settled
//! as they drained: 12,400 compactions for 20,000 hosts of 5 pages, the largest part of
//! what a host cost the crawl. The floor leaves at most that many settled entries (a
//! few KB) in each of the buckets until the next compaction or the frontier drains.
//!
//! **Crash behaviour**: a compaction writes the new bucket (and any promoted host's file)
//! to a temporary file, syncs it and renames it over; a kill leaves the old bucket or the
//! new one, and a promoted host whose file exists while its old bucket still holds its
//! entries reads its own file only (the entries are the same). A torn tail is cut by
//! [`Buckets::repair`] after an unclean stop, as for the hosts' own files.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::frame;
use super::handles::{self, OpenFiles};
use crate::record::QueueEntry;
use crate::StoreError;

const MAGIC: &[u8; 8] = b"crawlb1\n";
/// Shared files at most: 2,048 blocks (8 MiB on ext4) are the floor of the frontier's
/// disk (what 100,000 hosts with a URL each fill anyway), and a million such hosts make
/// buckets of about 32 KB, read whole to load one host.
pub const BUCKETS: u64 = 2048;
/// Live bytes of one host's entries in its bucket past which a compaction moves them to
/// a file of the host's own: about one filesystem block, what that file costs anyway.
pub const PROMOTE_AT: usize = 4096;
/// A bucket is compacted when it is at least this large and twice its size after its
/// last compaction (a host appending much gets its own file soon). Above what a million
/// hosts with one URL each put in a bucket (about 32 KB), so that seeding them does not
/// compact every bucket.
const GROWN_AT: u64 = 256 * 1024;
/// ... or once half of its entries, and at least this many or all, were settled since; when
/// this process has not counted them yet (no compaction since it opened the store),
/// once this many were.
const SETTLED_AT: u64 = 32;
/// Largest frame a reader accepts; anything larger is a damaged length.
const MAX_PAYLOAD: u32 = 1 << 20;
/// Bucket files kept open for appending at most.
const MAX_OPEN: usize = 64;

/// Which bucket holds a host key's shared entries.
pub fn bucket_of(host: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(host.as_bytes()) % BUCKETS
}

/// What this process knows of one bucket, behind the mutex its appends hold.
#[derive(Default)]
struct BucketState {
    /// The file's length after its last compaction, or when this process first met it.
    base_len: Option<u64>,
    /// Bytes this process appended since `base_len` was taken: the length is known
    /// without a `stat` of the file on each write that may make it due.
    appended: u64,
    /// Frames in the file, when a compaction counted them (then kept up to date).
    frames: Option<u64>,
    /// Entries settled since the last compaction (told by the writes that settle them).
    settled: u64,
    /// Appended to since the last sync.
    unsynced: bool,
    /// A compaction found damage: left as it is for `crawler repair` to quarantine.
    damaged: bool,
}

/// One bucket read whole: its bytes and where each host's frames are.
struct Parsed {
    bucket: u64,
    /// The file's identity and length when read: equal ones mean the same bytes, as a
    /// bucket is only appended to between compactions, which replace its inode.
    identity: (u64, i64, i64, u64),
    bytes: Vec<u8>,
    /// Each frame: its host key and its entry's payload, as ranges of `bytes`, in order.
    frames: Vec<ParsedFrame>,
    /// Damaged stretches read past: where each starts and its length.
    damaged: Vec<(u64, u64)>,
    /// Where the whole frames end (a torn tail after it).
    end: u64,
}

struct ParsedFrame {
    at: usize,
    len: usize,
    host: std::ops::Range<usize>,
    entry: std::ops::Range<usize>,
}

impl Parsed {
    fn host(&self, frame: &ParsedFrame) -> &str {
        std::str::from_utf8(&self.bytes[frame.host.clone()]).unwrap_or("")
    }

    fn entry(&self, frame: &ParsedFrame) -> Option<QueueEntry> {
        super::queue_entry::decode_entry(&self.bytes[frame.entry.clone()], self.host(frame))
    }

    /// The distinct host keys, in the order of their first frames.
    fn hosts(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.frames
            .iter()
            .map(|frame| self.host(frame))
            .filter(|host| seen.insert(*host))
            .map(str::to_owned)
            .collect()
    }

    /// The frames of `host`: a comparison of bytes per frame, nothing allocated for the
    /// other hosts (a broad crawl loads its hosts one at a time, in no bucket's order).
    fn frames_of<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a ParsedFrame> + 'a {
        self.frames
            .iter()
            .filter(move |frame| &self.bytes[frame.host.clone()] == host.as_bytes())
    }
}

/// The entries of one bucket file and the damage read past (for `check` and `repair`).
pub struct BucketContents {
    pub path: PathBuf,
    pub entries: Vec<QueueEntry>,
    pub damaged: Vec<(u64, u64)>,
    /// Frames whose payload does not decode as an entry.
    pub undecodable: usize,
}

pub struct Buckets {
    dir: PathBuf,
    states: Vec<Mutex<BucketState>>,
    handles: OpenFiles<u64>,
    cache: Mutex<Option<Parsed>>,
}

/// What a compaction did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Compacted {
    pub kept: u64,
    pub dropped: u64,
    /// The hosts moved to files of their own.
    pub promoted: Vec<String>,
}

impl Buckets {
    pub fn open(dir: &Path) -> Buckets {
        Buckets {
            dir: dir.to_path_buf(),
            states: (0..BUCKETS).map(|_| Mutex::default()).collect(),
            handles: OpenFiles::new(MAX_OPEN),
            cache: Mutex::new(None),
        }
    }

    pub fn path(&self, bucket: u64) -> PathBuf {
        self.dir.join(format!("{bucket:03x}.qb"))
    }

    /// Holds `bucket`'s mutex: no append or compaction of it happens meanwhile.
    pub fn lock(&self, bucket: u64) -> BucketGuard<'_> {
        // Numbers and flags, valid after a panic elsewhere.
        let state = self.states[bucket as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        BucketGuard {
            buckets: self,
            bucket,
            state,
        }
    }

    /// Tells the buckets that `count` shared entries of `host` were settled.
    pub fn settled(&self, host: &str, count: u64) {
        self.lock(bucket_of(host)).state.settled += count;
    }

    /// Whether `bucket` is due for a compaction.
    pub fn due(&self, bucket: u64) -> bool {
        let guard = self.lock(bucket);
        let state = &guard.state;
        if state.damaged {
            return false;
        }
        let grown = match state.base_len {
            Some(base) => {
                let len = base + state.appended;
                len >= GROWN_AT && len >= base.saturating_mul(2)
            }
            None => false,
        };
        let settled = match state.frames {
            // Not for a few settled entries unless they are all (the bucket is deleted):
            // a bucket of a few hosts would be rewritten and synced for nearly every
            // entry settled as it drains.
            Some(frames) => {
                state.settled > 0
                    && state.settled * 2 >= frames
                    && (state.settled >= SETTLED_AT || state.settled >= frames)
            }
            // Not counted since this process met the bucket: wait for a few.
            None => state.settled >= SETTLED_AT,
        };
        grown || settled
    }

    /// Every bucket file there is.
    pub fn files(&self) -> Result<Vec<(u64, PathBuf)>, StoreError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(&self.dir, e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| StoreError::io(&self.dir, e))?.path();
            let bucket = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".qb"))
                .and_then(|n| u64::from_str_radix(n, 16).ok())
                .filter(|&b| b < BUCKETS);
            if let Some(bucket) = bucket {
                found.push((bucket, path));
            }
        }
        found.sort();
        Ok(found)
    }

    /// Calls `each` with the parsed bucket (read whole once, or taken from the cache).
    fn with_parsed<T>(
        &self,
        bucket: u64,
        each: impl FnOnce(Option<&Parsed>) -> T,
    ) -> Result<T, StoreError> {
        let path = self.path(bucket);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let current = match std::fs::metadata(&path) {
            Ok(meta) => identity(&meta),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(each(None)),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let fresh = cache
            .as_ref()
            .is_some_and(|p| p.bucket == bucket && p.identity == current);
        if !fresh {
            *cache = read_bucket(&path, bucket)?;
        }
        Ok(each(cache.as_ref()))
    }

    /// `host`'s entries in its bucket, in the order they were appended.
    pub fn entries_of(&self, host: &str) -> Result<Vec<QueueEntry>, StoreError> {
        let bucket = bucket_of(host);
        let path = self.path(bucket);
        self.with_parsed(bucket, |parsed| {
            let Some(parsed) = parsed else {
                return Ok(Vec::new());
            };
            let mut entries = Vec::new();
            for frame in parsed.frames_of(host) {
                entries.push(
                    parsed
                        .entry(frame)
                        .ok_or_else(|| undecodable(&path, frame))?,
                );
            }
            warn_of_damage(&path, host, &parsed.damaged);
            Ok(entries)
        })?
    }

    /// The distinct host keys of a bucket, in the order of their first entries.
    pub fn hosts_in(&self, bucket: u64) -> Result<Vec<String>, StoreError> {
        self.with_parsed(bucket, |parsed| {
            parsed.map(Parsed::hosts).unwrap_or_default()
        })
    }

    /// Everything a bucket file holds that reads back, and the damage read past.
    pub fn contents(&self, path: &Path) -> Result<BucketContents, StoreError> {
        let mut contents = BucketContents {
            path: path.to_path_buf(),
            entries: Vec::new(),
            damaged: Vec::new(),
            undecodable: 0,
        };
        if let Some(parsed) = read_bucket(path, 0)? {
            for frame in &parsed.frames {
                match parsed.entry(frame) {
                    Some(entry) => contents.entries.push(entry),
                    None => contents.undecodable += 1,
                }
            }
            contents.damaged = parsed.damaged;
        }
        Ok(contents)
    }

    /// Cuts each bucket at its torn tail (deleting one too short to hold its magic),
    /// and deletes what a compaction killed midway left. Run after an unclean stop,
    /// before anything is appended.
    pub fn repair(&self) -> Result<(), StoreError> {
        remove_temporaries(&self.dir)?;
        for (_, path) in self.files()? {
            let len = std::fs::metadata(&path)
                .map_err(|e| StoreError::io(&path, e))?
                .len();
            let end = match read_bucket(&path, 0)? {
                Some(parsed) => parsed.end,
                None => 0,
            };
            if end == 0 {
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            } else if end < len {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| StoreError::io(&path, e))?;
                file.set_len(end).map_err(|e| StoreError::io(&path, e))?;
            }
        }
        self.forget_cached();
        Ok(())
    }

    /// Makes every append durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        for bucket in 0..BUCKETS {
            let mut guard = self.lock(bucket);
            if guard.state.unsynced {
                let path = self.path(bucket);
                let open = guard.handle().map_err(|e| StoreError::io(&path, e))?;
                open.sync_data().map_err(|e| StoreError::io(&path, e))?;
                guard.state.unsynced = false;
            }
        }
        Ok(())
    }

    /// Deletes every bucket. Only when nothing is queued or being appended.
    pub fn remove_all(&self) -> Result<(), StoreError> {
        self.handles.clear();
        self.forget_cached();
        for state in &self.states {
            *state.lock().unwrap_or_else(|p| p.into_inner()) = BucketState::default();
        }
        for (_, path) in self.files()? {
            std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
        // Gone when empty: a frontier that drained leaves nothing.
        let _ = std::fs::remove_dir(&self.dir);
        Ok(())
    }

    /// Bytes of all buckets.
    pub fn size_on_disk(&self) -> u64 {
        super::dir_size(&self.dir)
    }

    /// Forgets what this process knew of `bucket` (its file was moved away).
    pub fn forget(&self, bucket: u64) {
        self.handles.remove(&bucket);
        self.forget_cached();
        *self.lock(bucket).state = BucketState::default();
    }

    fn forget_cached(&self) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// A bucket's mutex, held: appends and compaction go through it.
pub struct BucketGuard<'a> {
    buckets: &'a Buckets,
    bucket: u64,
    state: MutexGuard<'a, BucketState>,
}

impl BucketGuard<'_> {
    fn handle(&mut self) -> std::io::Result<std::sync::Arc<File>> {
        let path = self.buckets.path(self.bucket);
        let dir = &self.buckets.dir;
        self.buckets.handles.get(&self.bucket, || {
            std::fs::create_dir_all(dir)?;
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            if file.metadata()?.len() == 0 {
                file.write_all(MAGIC)?;
            }
            Ok(file)
        })
    }

    /// Appends the entries of these hosts, already encoded, in one `write`; each
    /// host's in their order.
    pub fn append(&mut self, hosts: &[(&str, Vec<Vec<u8>>)]) -> Result<(), StoreError> {
        let path = self.buckets.path(self.bucket);
        let mut frames = Vec::new();
        let mut payload = Vec::new();
        let mut count = 0;
        for (host, entries) in hosts {
            for entry in entries {
                payload.clear();
                let len = u32::try_from(host.len()).unwrap_or(u32::MAX);
                payload.extend_from_slice(&len.to_le_bytes());
                payload.extend_from_slice(host.as_bytes());
                payload.extend_from_slice(entry);
                frame::push(&mut frames, &payload);
                count += 1;
            }
        }
        let open = self.handle().map_err(|e| StoreError::io(&path, e))?;
        if self.state.base_len.is_none() {
            let len = open.metadata().map_err(|e| StoreError::io(&path, e))?.len();
            self.state.base_len = Some(len);
        }
        self.state.unsynced = true;
        (&*open)
            .write_all(&frames)
            .map_err(|e| StoreError::io(&path, e))?;
        self.state.appended += frames.len() as u64;
        if let Some(frames) = self.state.frames.as_mut() {
            *frames += count;
        }
        Ok(())
    }

    /// Rewrites the bucket without the entries `dropped` says go (settled ones, and
    /// those of hosts with files of their own), and hands the entries of each host
    /// with more than [`PROMOTE_AT`] bytes left to `promote` (which writes the host's
    /// own file, durably) instead of keeping them. A bucket with damage is left as it is.
    pub fn compact(
        &mut self,
        mut dropped: impl FnMut(&QueueEntry) -> Result<bool, StoreError>,
        mut promote: impl FnMut(&str, &[QueueEntry]) -> Result<(), StoreError>,
    ) -> Result<Compacted, StoreError> {
        let path = self.buckets.path(self.bucket);
        let mut compacted = Compacted::default();
        let Some(parsed) = read_bucket(&path, self.bucket)? else {
            self.state.base_len = Some(0);
            self.state.appended = 0;
            self.state.frames = Some(0);
            self.state.settled = 0;
            return Ok(compacted);
        };
        if !parsed.damaged.is_empty() {
            self.state.damaged = true;
            return Ok(compacted);
        }
        // The live frames, and the bytes each host has among them.
        // Frames, not entries, are kept: a bucket of a big host holds thousands.
        let mut live: Vec<&ParsedFrame> = Vec::new();
        let mut bytes_of: HashMap<&str, usize> = HashMap::new();
        for frame in &parsed.frames {
            let Some(entry) = parsed.entry(frame) else {
                self.state.damaged = true;
                return Ok(compacted);
            };
            if dropped(&entry)? {
                compacted.dropped += 1;
                continue;
            }
            *bytes_of.entry(parsed.host(frame)).or_default() += frame.len;
            live.push(frame);
        }
        let mut promoted: Vec<&str> = bytes_of
            .iter()
            .filter(|(_, &bytes)| bytes > PROMOTE_AT)
            .map(|(&host, _)| host)
            .collect();
        promoted.sort_unstable();
        let mut kept = MAGIC.to_vec();
        for frame in &live {
            if promoted.binary_search(&parsed.host(frame)).is_err() {
                kept.extend_from_slice(&parsed.bytes[frame.at..frame.at + frame.len]);
                compacted.kept += 1;
            }
        }
        // The promoted hosts' files first, one host's entries in memory at a time: a kill
        // before the bucket is replaced leaves their entries in both, and readers read the
        // host's own file.
        for &host in &promoted {
            let entries: Vec<QueueEntry> = live
                .iter()
                .filter(|frame| parsed.host(frame) == host)
                .filter_map(|frame| parsed.entry(frame))
                .collect();
            promote(host, &entries)?;
        }
        self.buckets.handles.remove(&self.bucket);
        self.buckets.forget_cached();
        if compacted.kept == 0 {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(&path, e)),
            }
        } else {
            super::write_whole(&path, &kept)?;
        }
        self.state.base_len = Some(if compacted.kept == 0 {
            0
        } else {
            kept.len() as u64
        });
        self.state.appended = 0;
        self.state.frames = Some(compacted.kept);
        self.state.settled = 0;
        self.state.unsynced = false;
        compacted.promoted = promoted.into_iter().map(str::to_owned).collect();
        Ok(compacted)
    }
}

fn identity(meta: &std::fs::Metadata) -> (u64, i64, i64, u64) {
    (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len())
}

fn undecodable(path: &Path, frame: &ParsedFrame) -> StoreError {
    StoreError::Corrupt {
        key: format!("{} at byte {}", path.display(), frame.at),
        reason: "a queue entry that does not decode".into(),
    }
}

/// Reads a bucket file whole; `None` when it is missing or too short to hold its magic.
fn read_bucket(path: &Path, bucket: u64) -> Result<Option<Parsed>, StoreError> {
    let io = |e| StoreError::io(path, e);
    let mut file = match handles::open_retrying(|| File::open(path), || {}) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() < MAGIC.len() {
        return Ok(None);
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(StoreError::Corrupt {
            key: path.display().to_string(),
            reason: "not a shared queue file (bad magic)".into(),
        });
    }
    let base = MAGIC.len();
    let (found, end) = frame::scan(&bytes[base..], MAX_PAYLOAD);
    let mut frames = Vec::new();
    let mut damaged = Vec::new();
    for scanned in found {
        match scanned {
            frame::Scanned::Frame { at, payload } => {
                let at = base + at;
                let start = at + frame::HEAD_LEN;
                let split = payload
                    .get(..4)
                    .and_then(|l| l.try_into().ok())
                    .map(|l| u32::from_le_bytes(l) as usize)
                    .filter(|&l| 4 + l <= payload.len());
                match split {
                    Some(host_len) => frames.push(ParsedFrame {
                        at,
                        len: frame::framed_len(payload.len()),
                        host: start + 4..start + 4 + host_len,
                        entry: start + 4 + host_len..start + payload.len(),
                    }),
                    None => damaged.push((at as u64, frame::framed_len(payload.len()) as u64)),
                }
            }
            frame::Scanned::Damaged { at, len } => damaged.push(((base + at) as u64, len as u64)),
        }
    }
    // The file as read: a length past what was read (an append since) reads again.
    let mut identity = identity(&meta);
    identity.3 = bytes.len() as u64;
    Ok(Some(Parsed {
        bucket,
        identity,
        bytes,
        frames,
        damaged,
        end: (base + end) as u64,
    }))
}

/// Deletes the temporary files of compactions a kill interrupted.
pub(crate) fn remove_temporaries(dir: &Path) -> Result<(), StoreError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(|e| StoreError::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "tmp") {
            std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
    }
    Ok(())
}

/// Logs damage in `host`'s bucket once per process (as `super::queue_files` does for a
/// host's own file).
fn warn_of_damage(path: &Path, host: &str, damaged: &[(u64, u64)]) {
    let whose = format!("shared by host {host} and others");
    for &(at, len) in damaged {
        super::queue_entry::warn_of_damage(path, &whose, at, len);
    }
}
