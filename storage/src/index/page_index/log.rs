//! The key log: every key appended to the page index, in the order of the rounds. Each
//! round's keys are one frame (`crate::files::frame`) whose payload is the keys, each as
//! a little-endian `u32` length and the key's bytes, so a round torn by a kill or a
//! damaged one is found and dropped whole. The tail of the index is the log from the
//! manifest's `covered` offset on (a fold happens between rounds, so `covered` is
//! always where a frame starts).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::files::frame;
use crate::StoreError;

pub struct KeyLog {
    path: PathBuf,
    file: File,
    len: u64,
}

impl KeyLog {
    /// Opens the log in `dir` and reads the keys from `covered` on. A torn last round
    /// (a crash mid-append) is dropped, and cut off unless `read_only`, so appends
    /// follow whole rounds; a damaged round with whole rounds after it is an error. So
    /// is a bad last round when the store was `closed_cleanly`: no append was cut short
    /// then, so it is damage too. Read-only: no log handle.
    pub fn open(
        dir: &Path,
        covered: u64,
        read_only: bool,
        closed_cleanly: bool,
    ) -> Result<(Option<KeyLog>, Vec<Vec<u8>>), StoreError> {
        let path = dir.join("log");
        let io = |e| StoreError::io(&path, e);
        let mut file = match OpenOptions::new()
            .read(true)
            .write(!read_only)
            .create(!read_only)
            .truncate(false)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if read_only && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((None, Vec::new()))
            }
            Err(e) => return Err(io(e)),
        };
        let on_disk = file.metadata().map_err(io)?.len();
        let mut bytes = Vec::new();
        if on_disk > covered {
            file.seek(SeekFrom::Start(covered)).map_err(io)?;
            file.read_to_end(&mut bytes).map_err(io)?;
        }
        let (tail, whole) = parse(&path, covered, &bytes, closed_cleanly)?;
        let len = covered.max(on_disk.min(covered + whole as u64));
        if read_only {
            return Ok((None, tail));
        }
        if len != on_disk {
            // Cut a torn round off, or (the log lost what a run already covers) pad to
            // `covered`, which is never read again.
            file.set_len(len).map_err(io)?;
        }
        file.seek(SeekFrom::Start(len)).map_err(io)?;
        Ok((Some(KeyLog { path, file, len }), tail))
    }

    /// Appends a round's keys as one frame, in one write.
    pub fn append(&mut self, keys: &[Vec<u8>]) -> Result<(), StoreError> {
        let size = keys.iter().map(|key| 4 + key.len()).sum();
        let mut payload = Vec::with_capacity(size);
        for key in keys {
            // Index keys are a URL and a few bytes: far below 4 GiB.
            payload.extend_from_slice(&(key.len() as u32).to_le_bytes());
            payload.extend_from_slice(key);
        }
        let mut buffer = Vec::with_capacity(frame::framed_len(payload.len()));
        frame::push(&mut buffer, &payload);
        self.file
            .write_all(&buffer)
            .map_err(|e| StoreError::io(&self.path, e))?;
        self.len += buffer.len() as u64;
        Ok(())
    }

    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.file
            .sync_data()
            .map_err(|e| StoreError::io(&self.path, e))
    }

    /// The log's length in bytes: where the next key goes.
    pub fn len(&self) -> u64 {
        self.len
    }
}

/// The keys of the whole rounds in `bytes` (the log from `from` on), and how many bytes
/// those rounds take; a torn last round is left out. A round that fails its check with
/// whole rounds after it is damage, not a torn end: an error naming the log, so that no
/// query answers from part of the index.
fn parse(
    path: &Path,
    from: u64,
    bytes: &[u8],
    closed_cleanly: bool,
) -> Result<(Vec<Vec<u8>>, usize), StoreError> {
    let mut keys = Vec::new();
    let (found, whole) = frame::scan(bytes, u32::MAX);
    let damaged = |at: usize, what: &str| {
        let store = path.parent().and_then(Path::parent).unwrap_or(path);
        StoreError::damaged(store, path, from + at as u64, what)
    };
    for scanned in found {
        match scanned {
            frame::Scanned::Frame { at, payload } => {
                let round = parse_round(payload)
                    .ok_or_else(|| damaged(at, "a page index round that does not decode"))?;
                keys.extend(round);
            }
            frame::Scanned::Damaged { at, .. } => {
                return Err(damaged(at, "a page index round that fails its checksum"))
            }
        }
    }
    if closed_cleanly && whole < bytes.len() {
        return Err(damaged(
            whole,
            "a last page index round that fails its checksum in a store closed cleanly",
        ));
    }
    Ok((keys, whole))
}

/// The keys of one round's payload; `None` when it does not parse (its checksum held,
/// so only a foreign or newer writer makes one).
fn parse_round(mut payload: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    while !payload.is_empty() {
        let (len, rest) = payload.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        keys.push(rest.get(..len)?.to_vec());
        payload = &rest[len..];
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_key_is_dropped_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (log, tail) = KeyLog::open(dir.path(), 0, false, false).unwrap();
        assert!(tail.is_empty());
        let mut log = log.unwrap();
        log.append(&[b"one".to_vec()]).unwrap();
        let first_round = log.len();
        log.append(&[b"two".to_vec()]).unwrap();
        let whole = log.len();
        drop(log);
        // A crash in the middle of the next append.
        let path = dir.path().join("log");
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[9, 0, 0, 0, b't']).unwrap();
        drop(file);

        let (_, read_only) = KeyLog::open(dir.path(), 0, true, false).unwrap();
        assert_eq!(read_only, [b"one".to_vec(), b"two".to_vec()]);
        let (log, tail) = KeyLog::open(dir.path(), 0, false, false).unwrap();
        assert_eq!(tail, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(log.unwrap().len(), whole);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        // From a covered offset on: only what follows it.
        let (_, tail) = KeyLog::open(dir.path(), first_round, false, false).unwrap();
        assert_eq!(tail, [b"two".to_vec()]);
    }

    /// A log opened for writing in an empty `dir`.
    fn new_log(dir: &Path) -> KeyLog {
        KeyLog::open(dir, 0, false, false).unwrap().0.unwrap()
    }

    #[test]
    fn a_bad_last_round_is_damage_after_a_clean_close_and_torn_after_a_kill() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = new_log(dir.path());
        log.append(&[b"one".to_vec()]).unwrap();
        log.append(&[b"two".to_vec(), b"three".to_vec()]).unwrap();
        drop(log);
        let path = dir.path().join("log");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();

        let error = KeyLog::open(dir.path(), 0, true, true).err().unwrap();
        assert!(error.to_string().contains("closed cleanly"), "{error}");
        let (_, after_a_kill) = KeyLog::open(dir.path(), 0, true, false).unwrap();
        assert_eq!(after_a_kill, [b"one".to_vec()]);
    }

    #[test]
    fn a_flipped_bit_before_whole_rounds_is_an_error_naming_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = new_log(dir.path());
        log.append(&[b"one".to_vec(), b"two".to_vec()]).unwrap();
        let first_round = log.len();
        log.append(&[b"three".to_vec()]).unwrap();
        log.append(&[b"four".to_vec()]).unwrap();
        drop(log);
        let path = dir.path().join("log");
        let mut bytes = std::fs::read(&path).unwrap();
        let in_second_round = first_round as usize + frame::HEAD_LEN + 5;
        bytes[in_second_round] ^= 0x04;
        std::fs::write(&path, &bytes).unwrap();

        for read_only in [true, false] {
            let error = KeyLog::open(dir.path(), 0, read_only, false).err().unwrap();
            let message = error.to_string();
            assert!(matches!(error, StoreError::Damaged { .. }), "{message}");
            assert!(
                message.contains(&format!("log is damaged at byte {first_round}")),
                "{message}"
            );
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), bytes.len() as u64);
    }
}
