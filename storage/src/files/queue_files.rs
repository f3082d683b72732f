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
    files: Mutex<HashMap<String, Arc<HostFile>>>,
    /// Open handles, by host key.
    handles: OpenFiles<String>,
}

impl QueueFiles {
    pub fn open(dir: &Path) -> QueueFiles {
        QueueFiles {
            dir: dir.to_path_buf(),
            files: Mutex::new(HashMap::new()),
            handles: OpenFiles::new(MAX_OPEN),
        }
    }

    /// The file of a host key.
    pub fn path(&self, host: &str) -> PathBuf {
        let hash = xxhash_rust::xxh3::xxh3_64(host.as_bytes());
        self.dir.join(format!("{hash:016x}.q"))
    }

    /// Forgets `host`'s file (moved away by a repair): the next append creates a new one.
    pub fn forget(&self, host: &str) {
        self.lock_files().remove(host);
        self.handles.clear();
    }

    fn lock_files(&self) -> MutexGuard<'_, HashMap<String, Arc<HostFile>>> {
        // Entries are inserted whole; a panic cannot leave the map half-made.
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn host_file(&self, host: &str) -> Arc<HostFile> {
        let mut files = self.lock_files();
        if let Some(file) = files.get(host) {
            return Arc::clone(file);
        }
        let file = Arc::new(HostFile {
            path: self.path(host),
            append: Mutex::new(()),
            unsynced: Mutex::new(false),
        });
        files.insert(host.to_owned(), Arc::clone(&file));
        file
    }

    /// Appends entries to their hosts' files, one `write` per host. Entries of one host
    /// keep their order.
    pub fn append<'a>(
        &self,
        entries: impl IntoIterator<Item = &'a QueueEntry>,
    ) -> Result<(), StoreError> {
        let mut by_host: HashMap<&str, Vec<u8>> = HashMap::new();
        for entry in entries {
            let frames = by_host.entry(entry.host.as_str()).or_default();
            frame::push(frames, &encode_entry(entry));
        }
        for (host, frames) in by_host {
            self.append_frames(host, &frames)?;
        }
        Ok(())
    }

    fn append_frames(&self, host: &str, frames: &[u8]) -> Result<(), StoreError> {
        let file = self.host_file(host);
        let _append = file.append.lock().unwrap_or_else(|p| p.into_inner());
        let open = self
            .handles
            .get(&host.to_owned(), || self.open_for_append(&file.path, host))
            .map_err(|e| StoreError::io(&file.path, e))?;
        *file.unsynced.lock().unwrap_or_else(|p| p.into_inner()) = true;
        (&*open)
            .write_all(frames)
            .map_err(|e| StoreError::io(&file.path, e))
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

    /// The host keys that have a queue file, read from their first frames.
    pub fn hosts(&self) -> Result<Vec<String>, StoreError> {
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

    /// Reads `host`'s entries from `cursor` (0: from the first entry).
    pub fn reader(&self, host: &str, cursor: u64) -> Result<QueueReader, StoreError> {
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

    /// Truncates every queue file at its first damaged frame at or after its host's
    /// cursor (`cursor_of`), and deletes files whose host frame is incomplete. Run
    /// after an unclean stop, before anything is appended.
    pub fn repair(
        &self,
        cursor_of: impl Fn(&str) -> Result<u64, StoreError>,
    ) -> Result<(), StoreError> {
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
        Ok(())
    }

    /// Deletes every queue file (and forgets their open handles). Only for a frontier
    /// whose entries are all settled, with nothing being appended.
    pub fn remove_all(&self) -> Result<(), StoreError> {
        self.lock_files().clear();
        self.handles.clear();
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
        crate::files::dir_size(&self.dir)
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

/// The damage every reader of this process has warned about, so that a stretch read
/// past at every refill of its host is logged once.
static WARNED: Mutex<Option<HashSet<(PathBuf, u64)>>> = Mutex::new(None);

/// Logs, once per process, that `len` bytes at `offset` of `path` (`host`'s queue file)
/// were damaged and skipped.
fn warn_of_damage(path: &Path, host: &str, offset: u64, len: u64) {
    // A set of plain values, valid after a panic elsewhere.
    let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
    if !warned
        .get_or_insert_with(HashSet::new)
        .insert((path.to_path_buf(), offset))
    {
        return;
    }
    let store = path.parent().and_then(Path::parent).unwrap_or(path);
    tracing::warn!(
        "queue file {} of host {host} is damaged at byte {offset}: {len} bytes skipped, 1 queued URL lost; run `crawler check --store {}` to list the damage and `crawler repair --store {}` to rebuild what can be",
        path.display(),
        store.display(),
        store.display(),
    );
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
            warn_of_damage(&self.path, host, at, len);
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

/// `depth u32, hops u8, flags u8 (1: from, 2: kind, 4: retry_of), url, [from], [kind],
/// [retry_of u64]`, strings as `u32 length + bytes`, little-endian. The host is the file's.
fn encode_entry(entry: &QueueEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.url.len() * 2 + 24);
    out.extend_from_slice(&entry.depth.to_le_bytes());
    out.push(entry.hops);
    out.push(
        u8::from(entry.from.is_some())
            | (u8::from(entry.kind.is_some()) << 1)
            | (u8::from(entry.retry_of.is_some()) << 2),
    );
    let strings = [Some(&entry.url), entry.from.as_ref(), entry.kind.as_ref()];
    for text in strings.into_iter().flatten() {
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    if let Some(failed_at) = entry.retry_of {
        out.extend_from_slice(&failed_at.to_le_bytes());
    }
    out
}

fn decode_entry(bytes: &[u8], host: &str) -> Option<QueueEntry> {
    let depth = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let hops = *bytes.get(4)?;
    let flags = *bytes.get(5)?;
    let mut rest = bytes.get(6..)?;
    let mut string = || -> Option<String> {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let text = std::str::from_utf8(rest.get(4..4 + len)?).ok()?.to_owned();
        rest = rest.get(4 + len..)?;
        Some(text)
    };
    let url = string()?;
    let from = if flags & 1 != 0 {
        Some(string()?)
    } else {
        None
    };
    let kind = if flags & 2 != 0 {
        Some(string()?)
    } else {
        None
    };
    let retry_of = if flags & 4 != 0 {
        Some(u64::from_le_bytes(rest.get(..8)?.try_into().ok()?))
    } else {
        None
    };
    Some(QueueEntry {
        url,
        host: host.to_owned(),
        depth,
        from,
        hops,
        kind,
        retry_of,
    })
}

/// Reads entries of one host from its cursor, skipping settled ones and duplicates,
/// until `limit` are found. Returns them and the new cursor: the offset after the
/// settled entries at the front.
pub fn load(
    reader: &mut QueueReader,
    limit: usize,
    settled: impl Fn(&QueueEntry) -> Result<bool, StoreError>,
) -> Result<(Vec<QueueEntry>, u64), StoreError> {
    let mut cursor = reader.offset;
    let mut taken = Vec::new();
    let mut urls = HashSet::new();
    while taken.len() < limit {
        let Some(entry) = reader.next_entry()? else {
            break;
        };
        if settled(&entry)? {
            if taken.is_empty() {
                cursor = reader.offset;
            }
            continue;
        }
        if urls.insert(entry.url.clone()) {
            taken.push(entry);
        }
    }
    Ok((taken, cursor))
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
        let mut reader = files.reader(host, 0).unwrap();
        load(&mut reader, usize::MAX, |_| Ok(false)).unwrap().0
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
        assert_eq!(files.hosts().unwrap(), ["a:80", "b:80"]);
        assert!(read_all(&files, "c:80").is_empty());
    }

    /// Queue files in `dir` with one entry of host `a:80`: the files, the entry, its
    /// file and the file's length.
    fn one_entry(dir: &Path) -> (QueueFiles, QueueEntry, PathBuf, u64) {
        let files = QueueFiles::open(dir);
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
        let mut reader = files.reader("a:80", 0).unwrap();
        reader.warn = false;
        let read = load(&mut reader, usize::MAX, |_| Ok(false)).unwrap().0;
        assert_eq!(read, [first.clone(), third.clone()]);
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
        files.append([&entry("a:80", "a/1", 1)]).unwrap();
        let path = files.path("a:80");
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(12)
            .unwrap();
        files.repair(|_| Ok(0)).unwrap();
        assert!(!path.exists());
        assert!(files.hosts().unwrap().is_empty());
    }

    #[test]
    fn loading_skips_settled_entries_and_duplicates_and_moves_the_cursor_over_the_settled_front() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let urls = ["a/1", "a/2", "a/3", "a/2", "a/4", "a/5"];
        let entries: Vec<_> = urls.iter().map(|u| entry("a:80", u, 1)).collect();
        files.append(&entries).unwrap();
        let settled = |e: &QueueEntry| Ok(e.url == "a/1" || e.url == "a/3");
        let mut reader = files.reader("a:80", 0).unwrap();
        let (loaded, cursor) = load(&mut reader, 3, settled).unwrap();
        let loaded: Vec<_> = loaded.iter().map(|e| e.url.as_str()).collect();
        assert_eq!(loaded, ["a/2", "a/4", "a/5"]);
        // Only a/1 is settled at the front; a/2 was handed out and may not be settled.
        let mut reader = files.reader("a:80", cursor).unwrap();
        let everything = |_: &QueueEntry| Ok(false);
        let (again, _) = load(&mut reader, 10, everything).unwrap();
        assert_eq!(again[0].url, "a/2");
        assert_eq!(again.len(), 4);
    }

    #[test]
    fn more_hosts_than_open_files_all_append_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let files = QueueFiles::open(dir.path());
        let hosts: Vec<String> = (0..MAX_OPEN * 2 + 7).map(|i| format!("h{i}:80")).collect();
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
}
