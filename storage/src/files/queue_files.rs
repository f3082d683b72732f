//! The frontier on disk: one append-only file of queue entries per host.
//!
//! In sled, every queued URL was a key, and sled's memory grows with its number of keys
//! whatever its cache size says. Here a host's queue is a file,
//! `frontier/<xxh3-64 of the host key, hex>.q`, that a worker appends the URLs a page
//! discovered to (one `write` per host per page) and that the frontier reads back in
//! order, a bufferful at a time. sled keeps one key per host: the host's *cursor*, the
//! offset before which every entry is known to be settled.
//!
//! A file is a magic line, then frames of `[u32 length][u32 xxh3 checksum][payload]`
//! (little-endian). The first payload is the host key, so that a directory listing can
//! name the hosts; each later one is a [`QueueEntry`] in a small binary form. Entries
//! are in discovery order (first in, first out), which is breadth-first as far as pages
//! are fetched in depth order.
//!
//! **What is still queued** is decided by the caller's `settled` test (the store: "has
//! a page record"): an entry is never removed from its file; the page record written
//! when its URL is fetched or refused is what settles it. Readers skip settled entries,
//! and advance the cursor over the settled entries at its front, so each entry costs a
//! lookup or two over its life. That makes a crash harmless in both directions: entries
//! handed out and settled are skipped when read again, entries handed out and not
//! settled are handed out again.
//!
//! **Crash behaviour**: a worker appends before it writes its page's batch, so an entry
//! is on disk (in the OS page cache) before the page that found it is recorded. A kill
//! during a `write` can leave a partial frame at a file's end; [`QueueFiles::repair`]
//! truncates each file at its first bad frame after an unclean stop, before anything
//! is appended behind it. Power loss can lose appends since the last
//! [`QueueFiles::sync`].
//!
//! Writers hold a per-file mutex for one `write` call. At most [`MAX_OPEN`] files are
//! kept open for appending (`super::handles`: the least recently used is closed when
//! another is needed), so a crawl of any number of hosts keeps few descriptors.
//! Readers open their own handle and stop at a frame still being written.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::frame;
use super::handles::{self, OpenFiles};
use super::queue_buckets::{self, bucket_of, BucketContents, Buckets, Compacted};
use super::queue_entry::{decode_entry, encode_entry, warn_of_damage};
use super::queue_plan::{EntryReader, Plans};
use crate::record::QueueEntry;
use crate::StoreError;

const MAGIC: &[u8; 8] = b"crawlq1\n";
/// Largest payload a reader accepts; anything larger is a damaged length.
const MAX_PAYLOAD: u32 = 1 << 20;
/// Files kept open for appending at most.
pub const MAX_OPEN: usize = 64;

/// One host's file, as the writers share it.
struct HostFile {
    path: PathBuf,
    /// Held for one append: a host's frames are never interleaved.
    append: Mutex<()>,
    /// Appended to since the last [`QueueFiles::sync`].
    unsynced: Mutex<bool>,
}

pub struct QueueFiles {
    dir: PathBuf,
    /// The hosts with files of their own that this process met: a few big hosts, not
    /// every host (the others are in `buckets`).
    files: Mutex<HashMap<String, Arc<HostFile>>>,
    /// Open handles, by host key.
    handles: OpenFiles<String>,
    /// The shared files of the hosts without a file of their own.
    buckets: Buckets,
    /// The xxh3 hashes (file names) of the hosts with files of their own: listed at
    /// open, so that asking about a host without one costs no `stat` (a million seed
    /// hosts asked a million times).
    own: Mutex<HashSet<u64>>,
    /// How the hosts with files of their own are read best first.
    plans: Plans,
}

/// One host's queue, as read: its own file from a cursor, or its entries in its bucket.
pub enum HostQueue {
    Own(QueueReader),
    Shared(std::vec::IntoIter<QueueEntry>),
}

impl HostQueue {
    /// The next entry; `None` at the end.
    pub fn next_entry(&mut self) -> Result<Option<QueueEntry>, StoreError> {
        match self {
            HostQueue::Own(reader) => reader.next_entry(),
            HostQueue::Shared(entries) => Ok(entries.next()),
        }
    }
}

impl QueueFiles {
    pub fn open(dir: &Path) -> QueueFiles {
        QueueFiles {
            dir: dir.to_path_buf(),
            files: Mutex::new(HashMap::new()),
            handles: OpenFiles::new(MAX_OPEN),
            buckets: Buckets::open(&dir.join("shared")),
            own: Mutex::new(own_file_hashes(dir)),
            plans: Plans::default(),
        }
    }

    /// The own file of a host key (which may not exist).
    pub fn path(&self, host: &str) -> PathBuf {
        self.dir.join(format!("{:016x}.q", host_hash(host)))
    }

    fn lock_own(&self) -> MutexGuard<'_, HashSet<u64>> {
        // A set of numbers: whole after any panic.
        self.own.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets `host`'s file (moved away by a repair): the next append goes to its bucket.
    pub fn forget(&self, host: &str) {
        self.lock_own().remove(&host_hash(host));
        self.lock_files().remove(host);
        self.handles.clear();
        self.plans.forget(host);
    }

    fn lock_files(&self) -> MutexGuard<'_, HashMap<String, Arc<HostFile>>> {
        // Entries are inserted whole; a panic cannot leave the map half-made.
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `host`'s own file, when it has one.
    fn own_file(&self, host: &str) -> Option<Arc<HostFile>> {
        let mut files = self.lock_files();
        if let Some(file) = files.get(host) {
            return Some(Arc::clone(file));
        }
        if !self.lock_own().contains(&host_hash(host)) {
            return None;
        }
        let path = self.path(host);
        if !path.exists() {
            return None;
        }
        let file = Arc::new(HostFile {
            path,
            append: Mutex::new(()),
            unsynced: Mutex::new(false),
        });
        files.insert(host.to_owned(), Arc::clone(&file));
        Some(file)
    }

    /// Whether `host` has a file of its own (its entries in its bucket, if any, are
    /// copies a compaction killed midway left).
    pub fn is_own(&self, host: &str) -> bool {
        self.own_file(host).is_some()
    }

    /// Appends entries to their hosts' queues, one `write` per host: the host's own
    /// file when it has one, else its bucket. Entries of one host keep their order.
    /// Returns the buckets appended to, for [`QueueFiles::compact_if_due`].
    pub fn append<'a>(
        &self,
        entries: impl IntoIterator<Item = &'a QueueEntry>,
    ) -> Result<Vec<u64>, StoreError> {
        // By bucket, then by host in the order hosts first appear: one `write` per
        // bucket (a batch of seeds of 10,000 hosts is a few thousand writes, not
        // 10,000).
        let mut by_bucket: HashMap<u64, Vec<HostEntries>> = HashMap::new();
        for entry in entries {
            let host = entry.host.as_str();
            let hosts = by_bucket.entry(bucket_of(host)).or_default();
            match hosts.iter_mut().find(|(h, _, _)| *h == host) {
                Some((_, encoded, orders)) => {
                    encoded.push(encode_entry(entry));
                    orders.push(entry.order());
                }
                None => hosts.push((host, vec![encode_entry(entry)], vec![entry.order()])),
            }
        }
        let mut touched = Vec::new();
        for (bucket, hosts) in by_bucket {
            // Decided under the bucket's mutex: a compaction moving a host to a file
            // of its own holds it.
            let mut guard = self.buckets.lock(bucket);
            let (mut shared, mut own) = (Vec::new(), Vec::new());
            for (host, encoded, orders) in hosts {
                match self.own_file(host) {
                    Some(file) => own.push((host, file, encoded, orders)),
                    None => shared.push((host, encoded)),
                }
            }
            if !shared.is_empty() {
                guard.append(&shared)?;
                touched.push(bucket);
            }
            drop(guard);
            for (host, file, encoded, orders) in own {
                let mut frames = Vec::new();
                for entry in &encoded {
                    frame::push(&mut frames, entry);
                }
                let offset = self.append_frames(&file, host, &frames)?;
                self.plans.appended(host, offset, orders);
            }
        }
        Ok(touched)
    }

    /// Tells the buckets that these entries are settled (their records written); returns
    /// the buckets they are in, for [`QueueFiles::compact_if_due`].
    pub fn settled<'a>(&self, hosts: impl IntoIterator<Item = &'a str>) -> Vec<u64> {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for host in hosts {
            *counts.entry(host).or_default() += 1;
        }
        let mut touched = Vec::new();
        for (host, count) in counts {
            if !self.lock_files().contains_key(host) {
                self.buckets.settled(host, count);
                touched.push(bucket_of(host));
            }
        }
        touched
    }

    /// Compacts `bucket` when it is due (see `super::queue_buckets`): its entries that
    /// are `settled` go, and hosts with many left move to files of their own.
    pub fn compact_if_due(
        &self,
        bucket: u64,
        settled: impl Fn(&QueueEntry) -> Result<bool, StoreError>,
    ) -> Result<Option<Compacted>, StoreError> {
        if !self.buckets.due(bucket) {
            return Ok(None);
        }
        self.compact(bucket, settled).map(Some)
    }

    /// Compacts `bucket` now.
    pub fn compact(
        &self,
        bucket: u64,
        settled: impl Fn(&QueueEntry) -> Result<bool, StoreError>,
    ) -> Result<Compacted, StoreError> {
        let mut guard = self.buckets.lock(bucket);
        let mut own: HashMap<String, bool> = HashMap::new();
        let dropped = |entry: &QueueEntry| {
            let is_own = match own.get(&entry.host) {
                Some(&is_own) => is_own,
                None => {
                    let is_own = self.is_own(&entry.host);
                    own.insert(entry.host.clone(), is_own);
                    is_own
                }
            };
            Ok(is_own || settled(entry)?)
        };
        guard.compact(dropped, |host, entries| self.promote(host, entries))
    }

    /// Writes `host`'s own file whole with `entries`, durably.
    pub(crate) fn promote(&self, host: &str, entries: &[QueueEntry]) -> Result<(), StoreError> {
        let mut bytes = MAGIC.to_vec();
        frame::push(&mut bytes, host.as_bytes());
        for entry in entries {
            frame::push(&mut bytes, &encode_entry(entry));
        }
        super::write_whole(&self.path(host), &bytes)?;
        self.plans.forget(host);
        self.lock_own().insert(host_hash(host));
        self.own_file(host);
        Ok(())
    }

    /// Appends `frames` to `host`'s file; returns the offset they start at.
    fn append_frames(&self, file: &HostFile, host: &str, frames: &[u8]) -> Result<u64, StoreError> {
        let _append = file.append.lock().unwrap_or_else(|p| p.into_inner());
        let open = self
            .handles
            .get(&host.to_owned(), || self.open_for_append(&file.path, host))
            .map_err(|e| StoreError::io(&file.path, e))?;
        *file.unsynced.lock().unwrap_or_else(|p| p.into_inner()) = true;
        // Appends to this file are serialized by the mutex held: its length is where
        // these frames go.
        let offset = open
            .metadata()
            .map_err(|e| StoreError::io(&file.path, e))?
            .len();
        (&*open)
            .write_all(frames)
            .map_err(|e| StoreError::io(&file.path, e))?;
        Ok(offset)
    }

    /// What `host`'s read plan says is queued at most, if it has one (see
    /// `super::queue_plan`): no pass over its file.
    pub fn planned_count(&self, host: &str) -> Option<u64> {
        self.plans.queued_at_most(host)
    }

    /// The first `limit` entries of `host`'s own file from `cursor` by order, not
    /// `settled`, and where its cursor may move to (see `super::queue_plan`).
    pub fn take_in_order(
        &self,
        host: &str,
        cursor: u64,
        limit: usize,
        settled: impl Fn(&QueueEntry) -> Result<bool, StoreError>,
    ) -> Result<(Vec<QueueEntry>, Option<u64>), StoreError> {
        self.plans.take(
            host,
            cursor,
            limit,
            |offset| self.own_reader(host, offset),
            settled,
        )
    }

    /// Opens a host's file for appending; a new file gets its magic and host frame.
    fn open_for_append(&self, path: &Path, host: &str) -> std::io::Result<File> {
        std::fs::create_dir_all(&self.dir)?;
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        if file.metadata()?.len() == 0 {
            let mut head = MAGIC.to_vec();
            frame::push(&mut head, host.as_bytes());
            file.write_all(&head)?;
        }
        Ok(file)
    }

    /// The host keys that have files of their own, read from their first frames.
    pub fn own_hosts(&self) -> Result<Vec<String>, StoreError> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut hosts = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| StoreError::io(&self.dir, e))?.path();
            if path.extension().is_some_and(|e| e == "q") {
                if let Some((host, _)) = QueueReader::open(&path, 0)?.host {
                    hosts.push(host);
                }
            }
        }
        hosts.sort();
        Ok(hosts)
    }

    /// The buckets that have a file.
    pub fn buckets(&self) -> Result<Vec<u64>, StoreError> {
        Ok(self.buckets.files()?.into_iter().map(|(b, _)| b).collect())
    }

    /// The host keys with entries in `bucket` and no file of their own, in the order
    /// of their first entries.
    pub fn shared_hosts(&self, bucket: u64) -> Result<Vec<String>, StoreError> {
        let mut hosts = self.buckets.hosts_in(bucket)?;
        hosts.retain(|host| !self.is_own(host));
        Ok(hosts)
    }

    /// Every bucket file's readable entries and damage (for `check` and `repair`).
    pub fn bucket_contents(&self) -> Result<Vec<BucketContents>, StoreError> {
        let mut all = Vec::new();
        for (_, path) in self.buckets.files()? {
            all.push(self.buckets.contents(&path)?);
        }
        Ok(all)
    }

    /// Moves a bucket file away (to `to`, by `repair`) and forgets what was known of it.
    pub fn move_bucket(
        &self,
        path: &Path,
        to: impl FnOnce(&Path) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let bucket = self
            .buckets
            .files()?
            .into_iter()
            .find(|(_, p)| p == path)
            .map(|(b, _)| b);
        let Some(bucket) = bucket else {
            return Ok(());
        };
        let guard = self.buckets.lock(bucket);
        to(path)?;
        drop(guard);
        self.buckets.forget(bucket);
        Ok(())
    }

    /// Reads `host`'s queue: its own file from `cursor` (0: from the first entry), or
    /// its entries in its bucket.
    pub fn reader(&self, host: &str, cursor: u64) -> Result<HostQueue, StoreError> {
        if self.lock_files().contains_key(host) {
            // Known to have its own file (never taken back while the store is open).
            return self.own_reader(host, cursor).map(HostQueue::Own);
        }
        // The bucket first: a compaction creates the host's file before it replaces the
        // bucket, so a host found without a file after this read has its entries in it.
        let shared = self.buckets.entries_of(host)?;
        if self.is_own(host) {
            return self.own_reader(host, cursor).map(HostQueue::Own);
        }
        Ok(HostQueue::Shared(shared.into_iter()))
    }

    /// Reads `host`'s own file from `cursor` (0: from the first entry).
    pub fn own_reader(&self, host: &str, cursor: u64) -> Result<QueueReader, StoreError> {
        let path = self.path(host);
        let reader = QueueReader::open(&path, cursor)?;
        match &reader.host {
            Some((found, _)) if found != host => Err(StoreError::Corrupt {
                key: path.display().to_string(),
                reason: format!("queue file of {found:?} where {host:?} was expected"),
            }),
            _ => Ok(reader),
        }
    }

    /// Truncates every own queue file at its first damaged frame at or after its host's
    /// cursor (`cursor_of`), deletes files whose host frame is incomplete, and cuts the
    /// buckets' torn tails. Run after an unclean stop, before anything is appended.
    pub fn repair(
        &self,
        cursor_of: impl Fn(&str) -> Result<u64, StoreError>,
    ) -> Result<(), StoreError> {
        queue_buckets::remove_temporaries(&self.dir)?;
        self.buckets.repair()?;
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for entry in entries {
            let path = entry.map_err(|e| StoreError::io(&self.dir, e))?.path();
            if path.extension().is_none_or(|e| e != "q") {
                continue;
            }
            let Some((host, _)) = QueueReader::open(&path, 0)?.host else {
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                continue;
            };
            let mut reader = QueueReader::open(&path, cursor_of(&host)?)?;
            while reader.next_entry()?.is_some() {}
            let len = std::fs::metadata(&path)
                .map_err(|e| StoreError::io(&path, e))?
                .len();
            if reader.offset < len {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| StoreError::io(&path, e))?;
                file.set_len(reader.offset)
                    .map_err(|e| StoreError::io(&path, e))?;
            }
        }
        Ok(())
    }

    /// Makes every append durable (reopening the files whose handles were closed).
    pub fn sync(&self) -> Result<(), StoreError> {
        let files: Vec<(String, Arc<HostFile>)> = self
            .lock_files()
            .iter()
            .map(|(host, file)| (host.clone(), Arc::clone(file)))
            .collect();
        for (host, file) in files {
            let mut unsynced = file.unsynced.lock().unwrap_or_else(|p| p.into_inner());
            if *unsynced {
                let open = self
                    .handles
                    .get(&host, || self.open_for_append(&file.path, &host))
                    .map_err(|e| StoreError::io(&file.path, e))?;
                open.sync_data()
                    .map_err(|e| StoreError::io(&file.path, e))?;
                *unsynced = false;
            }
        }
        self.buckets.sync()
    }

    /// Deletes every queue file (and forgets their open handles). Only for a frontier
    /// whose entries are all settled, with nothing being appended.
    pub fn remove_all(&self) -> Result<(), StoreError> {
        self.plans.clear();
        self.lock_own().clear();
        self.lock_files().clear();
        self.handles.clear();
        self.buckets.remove_all()?;
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(&self.dir, e)),
        };
        for entry in entries {
            let path = entry.map_err(|e| StoreError::io(&self.dir, e))?.path();
            if path.extension().is_some_and(|e| e == "q") {
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            }
        }
        Ok(())
    }

    /// Bytes of all queue files.
    pub fn size_on_disk(&self) -> u64 {
        crate::files::dir_size(&self.dir) + self.buckets.size_on_disk()
    }
}

/// Reads one queue file forward from an offset, frame by frame.
pub struct QueueReader {
    path: PathBuf,
    /// `None` when the file does not exist (an empty queue).
    input: Option<BufReader<File>>,
    /// The host key and where its frame ends (the first entry's offset).
    pub host: Option<(String, u64)>,
    /// The offset of the next frame: after the last entry read.
    pub offset: u64,
    /// The damaged stretches read past so far: where each starts and its length.
    pub damaged: Vec<(u64, u64)>,
    /// Whether damage read past is logged (a crawl's readers); `crawler check` reports
    /// it itself.
    pub warn: bool,
}

impl EntryReader for QueueReader {
    fn next_entry(&mut self) -> Result<Option<QueueEntry>, StoreError> {
        QueueReader::next_entry(self)
    }

    fn offset(&self) -> u64 {
        self.offset
    }
}

impl QueueReader {
    /// Opens `path` at `cursor` (at the first entry when `cursor` is before it). A file
    /// that is missing, or too short to name its host, reads as empty.
    fn open(path: &Path, cursor: u64) -> Result<QueueReader, StoreError> {
        let mut reader = QueueReader {
            path: path.to_path_buf(),
            input: None,
            host: None,
            offset: 0,
            damaged: Vec::new(),
            warn: true,
        };
        let file = match handles::open_retrying(|| File::open(path), || {}) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(reader),
            Err(e) => return Err(StoreError::io(path, e)),
        };
        let mut input = BufReader::new(file);
        let mut magic = [0u8; 8];
        match input.read_exact(&mut magic) {
            Ok(()) if &magic == MAGIC => {}
            Ok(()) => {
                return Err(StoreError::Corrupt {
                    key: path.display().to_string(),
                    reason: "not a queue file (bad magic)".into(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(reader),
            Err(e) => return Err(StoreError::io(path, e)),
        }
        reader.offset = MAGIC.len() as u64;
        reader.input = Some(input);
        let Some(host) = reader.next_frame()? else {
            reader.input = None;
            return Ok(reader);
        };
        let host = String::from_utf8(host).map_err(|_| StoreError::Corrupt {
            key: path.display().to_string(),
            reason: "the host frame is not UTF-8".into(),
        })?;
        reader.host = Some((host, reader.offset));
        if cursor > reader.offset {
            if let Some(input) = reader.input.as_mut() {
                input
                    .seek(SeekFrom::Start(cursor))
                    .map_err(|e| StoreError::io(path, e))?;
            }
            reader.offset = cursor;
        }
        Ok(reader)
    }

    /// The next whole frame's payload; `None` at the end of the file or at a frame that
    /// is incomplete or damaged (being written, or torn by a crash).
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(input) = self.input.as_mut() else {
            return Ok(None);
        };
        let mut payload = Vec::new();
        let Some(framed) = frame::read(input, &mut payload, MAX_PAYLOAD)
            .map_err(|e| StoreError::io(&self.path, e))?
        else {
            if !self.skip_damage()? {
                return Ok(None);
            }
            return self.next_frame();
        };
        self.offset += framed;
        Ok(Some(payload))
    }

    /// After a bad frame at `offset`: when a whole frame follows it (damage, not the end
    /// of what was written), records and logs the damage, moves past it and returns true.
    fn skip_damage(&mut self) -> Result<bool, StoreError> {
        let io = |e| StoreError::io(&self.path, e);
        let Some(input) = self.input.as_mut() else {
            return Ok(false);
        };
        let mut rest = Vec::new();
        input.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        input.read_to_end(&mut rest).map_err(io)?;
        let (found, _) = frame::scan(&rest, MAX_PAYLOAD);
        let Some(&frame::Scanned::Damaged { at: 0, len }) = found.first() else {
            return Ok(false);
        };
        let (at, len) = (self.offset, len as u64);
        self.damaged.push((at, len));
        let host = self.host.as_ref().map_or("", |(h, _)| h.as_str());
        if self.warn {
            warn_of_damage(&self.path, &format!("of host {host}"), at, len);
        }
        self.offset += len;
        input.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        Ok(true)
    }

    /// The next entry and the offset just after it; `None` at the end (see
    /// [`QueueReader::next_frame`]). No more is read past the end: a reader stops at
    /// the first bad frame for good.
    pub fn next_entry(&mut self) -> Result<Option<QueueEntry>, StoreError> {
        let Some(payload) = self.next_frame()? else {
            self.input = None;
            return Ok(None);
        };
        let host = self.host.as_ref().map(|(h, _)| h.as_str()).unwrap_or("");
        decode_entry(&payload, host)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("{} at byte {}", self.path.display(), self.offset),
                reason: "a queue entry that does not decode".into(),
            })
    }
}

/// A host's entries, encoded, in their order, and their orders (for its read plan).
type HostEntries<'a> = (&'a str, Vec<Vec<u8>>, Vec<u64>);

/// The name a host's own file is known by.
fn host_hash(host: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(host.as_bytes())
}

/// The hashes of the own files in `dir` (`<16 hex digits>.q`).
fn own_file_hashes(dir: &Path) -> HashSet<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return HashSet::new();
    };
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            let stem = name.to_str()?.strip_suffix(".q")?;
            (stem.len() == 16).then(|| u64::from_str_radix(stem, 16).ok())?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(host: &str, url: &str, depth: u32) -> QueueEntry {
        QueueEntry {
            depth,
            from: Some(format!("{host}/from")),
            kind: (depth == 3).then(|| "sitemap:1".to_owned()),
            ..QueueEntry::seed(url, host)
        }
    }

    fn read_all(files: &QueueFiles, host: &str) -> Vec<QueueEntry> {
        read_raw(files.reader(host, 0).unwrap())
    }

    /// Every entry `reader` reads, in file order.
    fn read_raw(mut reader: HostQueue) -> Vec<QueueEntry> {
        std::iter::from_fn(|| reader.next_entry().unwrap()).collect()
    }

    /// Gives `host` a file of its own, as a compaction does for a big host.
    fn own(files: &QueueFiles, host: &str) {
        files.promote(host, &[]).unwrap();
    }

    #[test]
    fn entries_read_back_per_host_in_the_order_appended() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let a = [
            entry("a:80", "a/1", 2),
            entry("a:80", "a/2", 1),
            entry("a:80", "a/3", 3),
        ];
        let b = [entry("b:80", "b/1", 0)];
        files.append([&a[0], &b[0], &a[1]]).unwrap();
        files.append([&a[2]]).unwrap();
        assert_eq!(read_all(&files, "a:80"), a);
        assert_eq!(read_all(&files, "b:80"), b);
        assert!(read_all(&files, "c:80").is_empty());
    }

    #[test]
    fn hosts_sharing_a_bucket_are_written_together_and_read_back_each_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let a = "a:80";
        let b = (0..)
            .map(|i| format!("h{i}:80"))
            .find(|h| bucket_of(h) == bucket_of(a))
            .unwrap();
        let (a1, b1, a2, b2) = (
            entry(a, "a/1", 0),
            entry(&b, "b/1", 0),
            entry(a, "a/2", 1),
            entry(&b, "b/2", 1),
        );
        files.append([&a1, &b1, &a2, &b2]).unwrap();
        assert_eq!(read_all(&files, a), [a1, a2]);
        assert_eq!(read_all(&files, &b), [b1, b2]);
    }

    #[test]
    fn a_host_file_of_its_own_is_known_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        own(&QueueFiles::open(dir.path()), "big:80");
        let files = QueueFiles::open(dir.path());
        let queued = entry("big:80", "big/1", 0);
        files.append([&queued]).unwrap();
        assert!(files.is_own("big:80") && !files.is_own("small:80"));
        assert_eq!(read_all(&files, "big:80"), [queued]);
        let bucket = files.buckets.path(bucket_of("big:80"));
        assert!(!bucket.exists(), "appended to its own file, not its bucket");
    }

    /// Queue files in `dir` with one entry of host `a:80`: the files, the entry, its
    /// file and the file's length.
    fn one_entry(dir: &Path) -> (QueueFiles, QueueEntry, PathBuf, u64) {
        let files = QueueFiles::open(dir);
        own(&files, "a:80");
        let first = entry("a:80", "a/1", 1);
        files.append([&first]).unwrap();
        let path = files.path("a:80");
        let whole = std::fs::metadata(&path).unwrap().len();
        (files, first, path, whole)
    }

    #[test]
    fn a_torn_tail_is_truncated_and_appends_after_it_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (files, first, path, whole) = one_entry(dir.path());
        // A kill in the middle of the next write: half a frame at the end.
        let mut torn = Vec::new();
        frame::push(&mut torn, &encode_entry(&entry("a:80", "a/2", 1)));
        let mut raw = OpenOptions::new().append(true).open(&path).unwrap();
        raw.write_all(&torn[..torn.len() / 2]).unwrap();
        drop(files);

        let files = QueueFiles::open(dir.path());
        files.repair(|_| Ok(0)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        let second = entry("a:80", "a/3", 2);
        files.append([&second]).unwrap();
        assert_eq!(read_all(&files, "a:80"), [first, second]);
    }

    #[test]
    fn a_flipped_bit_stops_reading_and_repair_cuts_the_file_there() {
        let dir = tempfile::tempdir().unwrap();
        let (files, first, path, whole) = one_entry(dir.path());
        files.append([&entry("a:80", "a/2", 1)]).unwrap();
        drop(files);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();

        let files = QueueFiles::open(dir.path());
        assert_eq!(read_all(&files, "a:80"), [first]);
        files.repair(|_| Ok(0)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
    }

    #[test]
    fn a_damaged_entry_between_whole_ones_costs_that_entry_only() {
        let dir = tempfile::tempdir().unwrap();
        let (files, first, path, whole) = one_entry(dir.path());
        let third = entry("a:80", "a/3", 1);
        files.append([&entry("a:80", "a/2", 1)]).unwrap();
        files.append([&third]).unwrap();
        drop(files);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[whole as usize + frame::HEAD_LEN + 2] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();

        let files = QueueFiles::open(dir.path());
        let mut reader = files.own_reader("a:80", 0).unwrap();
        reader.warn = false;
        let read = read_raw(HostQueue::Own(reader));
        assert_eq!(read, [first.clone(), third.clone()]);
        let mut reader = files.own_reader("a:80", 0).unwrap();
        reader.warn = false;
        while reader.next_entry().unwrap().is_some() {}
        assert_eq!(reader.damaged.len(), 1);
        assert_eq!(reader.damaged[0].0, whole);
        // Repair after a kill cuts torn ends only: what follows damage stays.
        files.repair(|_| Ok(0)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), bytes.len() as u64);
    }

    #[test]
    fn a_file_cut_inside_its_host_frame_is_deleted_by_repair() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        own(&files, "a:80");
        files.append([&entry("a:80", "a/1", 1)]).unwrap();
        let path = files.path("a:80");
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(12)
            .unwrap();
        files.forget("a:80");
        files.repair(|_| Ok(0)).unwrap();
        assert!(!path.exists());
        assert!(files.own_hosts().unwrap().is_empty());
    }

    #[test]
    fn taking_in_order_goes_round_robin_by_source_page_and_skips_settled_entries_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        own(&files, "a:80");
        let link = |url: &str, turn: u32| QueueEntry {
            turn,
            ..entry("a:80", url, 2)
        };
        // A farm page's ten links, then two pages' one link each, then a duplicate.
        let mut entries: Vec<_> = (0..10).map(|i| link(&format!("a/farm{i}"), i)).collect();
        entries.extend([link("a/p", 0), link("a/q", 0), link("a/farm1", 0)]);
        files.append(&entries).unwrap();
        // What a take hands out is fetched (settled) before the next.
        let fetched = std::cell::RefCell::new(HashSet::from(["a/q".to_owned()]));
        let settled = |e: &QueueEntry| Ok(fetched.borrow().contains(&e.url));
        let take = |limit, cursor| {
            let (taken, moved) = files.take_in_order("a:80", cursor, limit, settled).unwrap();
            fetched
                .borrow_mut()
                .extend(taken.iter().map(|e| e.url.clone()));
            (taken, moved)
        };
        let urls = |taken: &[QueueEntry]| taken.iter().map(|e| e.url.clone()).collect::<Vec<_>>();

        let (first, _) = take(3, 0);
        assert_eq!(urls(&first), ["a/farm0", "a/p", "a/farm1"]);
        let (second, moved) = take(3, 0);
        assert_eq!(urls(&second), ["a/farm2", "a/farm3", "a/farm4"]);
        // Every entry before the farm's fifth link was read by the first two takes.
        let moved = moved.unwrap();
        assert!(moved > 0);
        // A link appended now, of a better order than what is left, goes next.
        files.append([&link("a/r", 0)]).unwrap();
        let (third, _) = take(2, moved);
        assert_eq!(urls(&third), ["a/r", "a/farm5"]);
        let (rest, _) = take(10, moved);
        assert_eq!(urls(&rest), ["a/farm6", "a/farm7", "a/farm8", "a/farm9"]);
        assert!(take(10, moved).0.is_empty());
    }

    #[test]
    fn more_hosts_than_open_files_all_append_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let hosts: Vec<String> = (0..MAX_OPEN * 2 + 7).map(|i| format!("h{i}:80")).collect();
        for host in &hosts[..MAX_OPEN + 3] {
            own(&files, host);
        }
        for round in 0..3 {
            let entries: Vec<_> = hosts
                .iter()
                .map(|h| entry(h, &format!("{h}/{round}"), round))
                .collect();
            files.append(&entries).unwrap();
            assert!(files.handles.len() <= MAX_OPEN);
        }
        for host in &hosts {
            let urls: Vec<_> = read_all(&files, host).into_iter().map(|e| e.url).collect();
            assert_eq!(urls, [0, 1, 2].map(|r| format!("{host}/{r}")));
        }
    }

    /// `count` host keys that share one bucket.
    fn hosts_in_one_bucket(count: usize) -> Vec<String> {
        let bucket = bucket_of("h0:80");
        (0..)
            .map(|i| format!("h{i}:80"))
            .filter(|h| bucket_of(h) == bucket)
            .take(count)
            .collect()
    }

    /// `count` entries of `hosts` in turn (the host of entry `i` is `hosts[i % len]`,
    /// its URL `HOST/i`), appended in one write.
    fn interleaved(files: &QueueFiles, hosts: &[String], count: usize) -> Vec<QueueEntry> {
        let entries: Vec<QueueEntry> = (0..count)
            .map(|i| {
                let host = &hosts[i % hosts.len()];
                entry(host, &format!("{host}/{i}"), 1)
            })
            .collect();
        files.append(&entries).unwrap();
        entries
    }

    fn bucket_len(files: &QueueFiles, host: &str) -> Option<u64> {
        let path = files.buckets.path(bucket_of(host));
        std::fs::metadata(path).ok().map(|m| m.len())
    }

    fn urls(entries: &[QueueEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.url.as_str()).collect()
    }

    #[test]
    fn many_small_hosts_share_a_bounded_number_of_files_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let hosts: Vec<String> = (0..5_000).map(|i| format!("http://h{i}.test:80")).collect();
        for round in 0..2 {
            let entries: Vec<_> = hosts
                .iter()
                .map(|h| entry(h, &format!("{h}/{round}"), 1))
                .collect();
            files.append(&entries).unwrap();
        }
        let own_files = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_file())
            .count();
        let shared = files.buckets.files().unwrap();
        assert_eq!(own_files, 0);
        assert!(shared.len() as u64 <= queue_buckets::BUCKETS);
        let bytes: u64 = shared
            .iter()
            .map(|(_, p)| p.metadata().unwrap().len())
            .sum();
        assert!(
            bytes / (hosts.len() as u64) < 300,
            "{bytes} bytes for {} hosts",
            hosts.len()
        );
        for host in hosts.iter().step_by(97) {
            let read = read_all(&files, host);
            assert_eq!(urls(&read), [format!("{host}/0"), format!("{host}/1")]);
        }
    }

    #[test]
    fn a_compaction_drops_settled_entries_keeps_each_hosts_order_and_deletes_an_empty_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let hosts = hosts_in_one_bucket(3);
        interleaved(&files, &hosts, 30);
        let before = bucket_len(&files, &hosts[0]).unwrap();
        // Every even entry settled.
        let settled = |e: &QueueEntry| {
            let n: usize = e.url.rsplit('/').next().unwrap().parse().unwrap();
            Ok(n.is_multiple_of(2))
        };
        let bucket = bucket_of(&hosts[0]);
        let compacted = files.compact(bucket, settled).unwrap();
        assert_eq!((compacted.kept, compacted.dropped), (15, 15));
        assert!(bucket_len(&files, &hosts[0]).unwrap() < before * 6 / 10);
        for (h, host) in hosts.iter().enumerate() {
            let expected: Vec<String> = (0..30)
                .filter(|i| i % 3 == h && i % 2 == 1)
                .map(|i| format!("{host}/{i}"))
                .collect();
            assert_eq!(urls(&read_all(&files, host)), expected);
        }
        // Appends after a compaction go to the new file.
        let late = entry(&hosts[1], "late", 1);
        files.append([&late]).unwrap();
        assert_eq!(read_all(&files, &hosts[1]).last(), Some(&late));
        files.compact(bucket, |_| Ok(true)).unwrap();
        assert_eq!(
            bucket_len(&files, &hosts[0]),
            None,
            "a bucket with nothing queued is deleted"
        );
        assert!(read_all(&files, &hosts[1]).is_empty());
    }

    #[test]
    fn a_bucket_is_due_once_half_its_entries_were_settled_since_its_last_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let hosts = hosts_in_one_bucket(4);
        let entries = interleaved(&files, &hosts, 80);
        let bucket = bucket_of(&hosts[0]);
        files.compact(bucket, |_| Ok(false)).unwrap();
        assert!(!files.buckets.due(bucket));
        let settled_hosts = || entries[..39].iter().map(|e| e.host.as_str());
        assert_eq!(files.settled(settled_hosts()).len(), 4);
        assert!(!files.buckets.due(bucket), "39 of 80 settled");
        files.settled([hosts[0].as_str()]);
        assert!(files.buckets.due(bucket), "40 of 80 settled");
        let settled = |e: &QueueEntry| Ok(entries[..40].contains(e));
        assert!(files.compact_if_due(bucket, settled).unwrap().is_some());
        assert!(!files.buckets.due(bucket));
        assert_eq!(read_all(&files, &hosts[0]).len(), 10);
    }

    #[test]
    fn a_host_past_the_threshold_moves_to_a_file_of_its_own_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let hosts = hosts_in_one_bucket(2);
        let (big, small) = (&hosts[0], &hosts[1]);
        let mut expected: Vec<QueueEntry> = (0..100)
            .map(|i| entry(big, &format!("{big}/a-rather-long-path/{i}"), 1))
            .collect();
        files.append(&expected).unwrap();
        files.append([&entry(small, "s/1", 1)]).unwrap();
        let compacted = files.compact(bucket_of(big), |_| Ok(false)).unwrap();
        assert_eq!(compacted.promoted, std::slice::from_ref(big));
        assert!(files.is_own(big) && files.path(big).exists());
        assert!(!files.is_own(small));
        let shared_before = bucket_len(&files, small).unwrap();
        let later = entry(big, "later", 2);
        files.append([&later]).unwrap();
        expected.push(later);
        assert_eq!(
            bucket_len(&files, small).unwrap(),
            shared_before,
            "appended to its own file"
        );
        assert_eq!(read_all(&files, big), expected);
        assert_eq!(urls(&read_all(&files, small)), ["s/1"]);
        // A new process finds the host's file.
        drop(files);
        let files = QueueFiles::open(dir.path());
        assert_eq!(read_all(&files, big), expected);
        assert_eq!(files.own_hosts().unwrap(), std::slice::from_ref(big));
        assert_eq!(
            files.shared_hosts(bucket_of(big)).unwrap(),
            std::slice::from_ref(small)
        );
    }

    #[test]
    fn a_kill_between_promoting_a_host_and_rewriting_its_bucket_reads_its_entries_once() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = hosts_in_one_bucket(2);
        let entries: Vec<QueueEntry> = (0..5)
            .map(|i| entry(&hosts[0], &format!("a/{i}"), 1))
            .collect();
        {
            let files = QueueFiles::open(dir.path());
            files.append(&entries).unwrap();
            files.append([&entry(&hosts[1], "b/1", 1)]).unwrap();
            // The host's file is written; the kill comes before the bucket is replaced.
            files.promote(&hosts[0], &entries).unwrap();
        }
        let files = QueueFiles::open(dir.path());
        files.repair(|_| Ok(0)).unwrap();
        assert_eq!(read_all(&files, &hosts[0]), entries);
        assert_eq!(
            files.shared_hosts(bucket_of(&hosts[0])).unwrap(),
            [hosts[1].clone()]
        );
        // The next compaction drops the copies left in the bucket.
        let compacted = files.compact(bucket_of(&hosts[0]), |_| Ok(false)).unwrap();
        assert_eq!((compacted.kept, compacted.dropped), (1, 5));
        assert_eq!(read_all(&files, &hosts[0]), entries);
    }

    #[test]
    fn a_torn_bucket_tail_is_cut_and_appends_after_it_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let host = "http://a.test:80";
        let first = entry(host, "a/1", 1);
        let path = {
            let files = QueueFiles::open(dir.path());
            files.append([&first]).unwrap();
            files.buckets.path(bucket_of(host))
        };
        let whole = std::fs::metadata(&path).unwrap().len();
        let mut torn = Vec::new();
        frame::push(&mut torn, b"a frame a kill cut short");
        let mut raw = OpenOptions::new().append(true).open(&path).unwrap();
        raw.write_all(&torn[..torn.len() / 2]).unwrap();
        // And a compaction's temporary file.
        std::fs::write(path.with_extension("qb.tmp"), b"half").unwrap();

        let files = QueueFiles::open(dir.path());
        files.repair(|_| Ok(0)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        assert!(!path.with_extension("qb.tmp").exists());
        let second = entry(host, "a/2", 1);
        files.append([&second]).unwrap();
        assert_eq!(read_all(&files, host), [first, second]);
    }

    #[test]
    fn a_damaged_bucket_entry_costs_that_entry_and_its_bucket_is_not_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let host = "http://a.test:80";
        let entries: Vec<QueueEntry> = (0..3).map(|i| entry(host, &format!("a/{i}"), 1)).collect();
        for e in &entries {
            files.append([e]).unwrap();
        }
        let path = files.buckets.path(bucket_of(host));
        let mut bytes = std::fs::read(&path).unwrap();
        let first_frame =
            MAGIC.len() + frame::HEAD_LEN + 4 + host.len() + encode_entry(&entries[0]).len();
        bytes[first_frame + frame::HEAD_LEN + 1] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            read_all(&files, host),
            [entries[0].clone(), entries[2].clone()]
        );
        let compacted = files.compact(bucket_of(host), |_| Ok(true)).unwrap();
        assert_eq!(compacted, Compacted::default());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "left for `crawler repair`"
        );
        let contents = files.bucket_contents().unwrap();
        assert_eq!(contents[0].damaged.len(), 1);
    }
}
