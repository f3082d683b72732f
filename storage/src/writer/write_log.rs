//! The log of what a durable store's writer was handed and has not flushed yet.
//!
//! A durable write returns once its sled changes are appended here (one plain `write`,
//! which survives `kill -9` once it returns), not once the writer has applied and
//! flushed them: the worker goes on while the writer gathers a round. A store opened
//! after a kill replays the log through the writer; replaying a change that was applied
//! already is harmless (the writer's apply is idempotent: a record replacing itself is
//! counted out and in again, and its index entries are appended again, which queries
//! read once).
//!
//! Two files, used in turn: writes go to the *active* one; when the writer takes a
//! round it makes the other one active, and once that round is applied and flushed,
//! every entry of the file it came from is on disk in sled, so the file is emptied.
//! The other file was emptied after the previous round, before this one was taken.
//!
//! A file is frames of `[u32 length][u32 xxh3 checksum][payload]` (as the queue files);
//! a payload is one submission: `ticket u64`, then its changes (`u32` count; each a
//! tag byte, 1 for an insert, 0 for a removal, then the key and, for an insert, the
//! value, each as `u32 length + bytes`), then its seen marks (`u32` count, 16 bytes
//! each). Its records are the changes under the page prefix. A kill in the middle of
//! an append leaves a torn frame at the end: reading stops there.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::submission::Submission;
use crate::codec::keys;
use crate::codec::page_value;
use crate::files::body_log::BodyLog;
use crate::files::frame;
use crate::StoreError;

/// The two files of a store's write log.
pub(crate) struct WriteLog {
    files: [(PathBuf, File); 2],
}

impl WriteLog {
    /// Opens (creating) the two files in `dir`, reading back what they hold, in the
    /// order the submissions were made; the records they point to are read from `bodies`.
    pub(crate) fn open(
        dir: &Path,
        bodies: &BodyLog,
    ) -> Result<(WriteLog, Vec<Submission>), StoreError> {
        let open = |n: usize| -> Result<(PathBuf, File), StoreError> {
            let path = dir.join(format!("writer-{n}.log"));
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&path)
                .map_err(|e| StoreError::io(&path, e))?;
            Ok((path, file))
        };
        let files = [open(0)?, open(1)?];
        let mut logged = Vec::new();
        for (path, _) in &files {
            let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
            logged.extend(frame::frames(&bytes).filter_map(|payload| decode(payload, bodies)));
        }
        logged.sort_by_key(|(ticket, _)| *ticket);
        let submissions = logged
            .into_iter()
            .map(|(_, submission)| submission)
            .collect();
        Ok((WriteLog { files }, submissions))
    }

    /// Appends one submission to file `active`.
    pub(crate) fn append(
        &mut self,
        active: usize,
        ticket: u64,
        submission: &Submission,
    ) -> Result<(), StoreError> {
        let payload = encode(ticket, submission);
        let mut frame = Vec::with_capacity(payload.len() + 8);
        frame::push(&mut frame, &payload);
        let (path, file) = &mut self.files[active % 2];
        file.write_all(&frame).map_err(|e| StoreError::io(path, e))
    }

    /// Empties file `which`: everything in it is applied and flushed.
    pub(crate) fn empty(&mut self, which: usize) -> Result<(), StoreError> {
        let (path, file) = &mut self.files[which % 2];
        file.set_len(0).map_err(|e| StoreError::io(path, e))
    }
}

fn encode(ticket: u64, submission: &Submission) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&ticket.to_le_bytes());
    let changes = submission.changes.entries();
    out.extend_from_slice(&(changes.len() as u32).to_le_bytes());
    for (key, value) in changes {
        out.push(u8::from(value.is_some()));
        push_bytes(&mut out, key);
        if let Some(value) = value {
            push_bytes(&mut out, value);
        }
    }
    out.extend_from_slice(&(submission.marks.len() as u32).to_le_bytes());
    for mark in &submission.marks {
        out.extend_from_slice(&mark.to_le_bytes());
    }
    out
}

/// A logged submission; `None` for one that does not decode (it is skipped: its frame
/// checksum held, so only a bug could write one) or whose record does not read back
/// from the body log (written before the log, so only damage can lose it).
fn decode(payload: &[u8], bodies: &BodyLog) -> Option<(u64, Submission)> {
    let (ticket, mut rest) = payload.split_first_chunk::<8>()?;
    let (count, tail) = take_u32(rest)?;
    rest = tail;
    let mut submission = Submission::default();
    for _ in 0..count {
        let (&tag, tail) = rest.split_first()?;
        let (key, tail) = take_bytes(tail)?;
        rest = tail;
        if tag == 1 {
            let (value, tail) = take_bytes(rest)?;
            rest = tail;
            if key.first() == Some(&keys::PAGE) {
                let record = page_value::record(key, value, bodies).ok()?;
                submission.records.push((key.to_vec(), record));
            }
            submission.changes.insert(key.to_vec(), value.to_vec());
        } else {
            submission.changes.remove(key.to_vec());
        }
    }
    let (marks, mut rest) = take_u32(rest)?;
    for _ in 0..marks {
        let (mark, tail) = rest.split_first_chunk::<16>()?;
        submission.marks.push(u128::from_le_bytes(*mark));
        rest = tail;
    }
    Some((u64::from_le_bytes(*ticket), submission))
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}

fn take_bytes(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = take_u32(bytes)?;
    let len = len as usize;
    Some((rest.get(..len)?, rest.get(len..)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::keys::url_key;
    use crate::writer::submission::Changes;
    use crate::{PageRecord, Store, StoreOptions};

    /// A page's submission as the store makes it, its record written to `bodies`.
    fn page_submission(bodies: &BodyLog, url: &str, mark: u128) -> Submission {
        let record = PageRecord::new(url, "a.test", 0);
        let key = url_key(keys::PAGE, url);
        let part = page_value::encode_record(&record);
        let pointer = bodies.append_all(&[Some(&part[..])]).unwrap()[0].unwrap();
        let mut changes = Changes::default();
        changes.insert(
            key.clone(),
            page_value::encode(&Default::default(), page_value::RecordAt::Logged(pointer)),
        );
        changes.remove(b"gone".to_vec());
        Submission {
            changes,
            records: vec![(key, record)],
            marks: vec![mark],
        }
    }

    /// Appends to a new log in `dir` the submission of page `ticket` (marked `ticket`)
    /// to file `file`, for each `(file, ticket)`.
    fn log_pages(dir: &Path, appends: &[(usize, u64)]) {
        let bodies = bodies(dir);
        let (mut log, logged) = WriteLog::open(dir, &bodies).unwrap();
        assert!(logged.is_empty());
        for &(file, ticket) in appends {
            let url = format!("http://a.test/{ticket}");
            log.append(
                file,
                ticket,
                &page_submission(&bodies, &url, u128::from(ticket)),
            )
            .unwrap();
        }
    }

    /// The body log of the store in `dir`.
    fn bodies(dir: &Path) -> BodyLog {
        BodyLog::open(&dir.join("bodies"))
    }

    #[test]
    fn submissions_come_back_in_ticket_order_from_both_files_up_to_a_torn_frame() {
        let dir = tempfile::tempdir().unwrap();
        log_pages(dir.path(), &[(1, 2), (0, 1), (1, 3)]);
        // A kill in the middle of an append.
        let torn = dir.path().join("writer-0.log");
        let mut bytes = std::fs::read(&torn).unwrap();
        bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2]);
        std::fs::write(&torn, bytes).unwrap();

        let (mut log, logged) = WriteLog::open(dir.path(), &bodies(dir.path())).unwrap();
        let urls: Vec<&str> = logged.iter().map(|s| s.records[0].1.url.as_str()).collect();
        assert_eq!(
            urls,
            ["http://a.test/1", "http://a.test/2", "http://a.test/3"]
        );
        assert_eq!(logged[1].marks, [2]);
        assert_eq!(logged[1].changes.entries().len(), 2);
        assert_eq!(logged[1].changes.entries()[1], (b"gone".to_vec(), None));
        log.empty(0).unwrap();
        log.empty(1).unwrap();
        assert!(WriteLog::open(dir.path(), &bodies(dir.path()))
            .unwrap()
            .1
            .is_empty());
    }

    #[test]
    fn a_flipped_bit_drops_its_submission_and_what_follows_in_its_file() {
        let dir = tempfile::tempdir().unwrap();
        log_pages(dir.path(), &[(0, 1), (0, 2), (1, 3)]);
        let path = dir.path().join("writer-0.log");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();

        let (_, logged) = WriteLog::open(dir.path(), &bodies(dir.path())).unwrap();
        let urls: Vec<&str> = logged.iter().map(|s| s.records[0].1.url.as_str()).collect();
        assert_eq!(urls, ["http://a.test/1", "http://a.test/3"]);
    }

    #[test]
    fn a_store_opened_after_a_kill_applies_what_its_log_holds() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), StoreOptions::default()).unwrap());
        {
            // What a killed durable crawl leaves: writes logged, never applied.
            let bodies = bodies(dir.path());
            let (mut log, _) = WriteLog::open(dir.path(), &bodies).unwrap();
            log.append(0, 0, &page_submission(&bodies, "http://a.test/x", 9))
                .unwrap();
        }
        let durable = StoreOptions {
            durable_writes: true,
            ..StoreOptions::existing()
        };
        let store = Store::open(dir.path(), durable).unwrap();
        assert!(store.page("http://a.test/x").unwrap().is_some());
        assert!(store.is_seen(9).unwrap());
        assert_eq!(store.stats().unwrap().urls, 1);
        drop(store);
        // Replayed once: the log is empty now, and the totals did not double.
        let store = Store::open(dir.path(), StoreOptions::existing()).unwrap();
        assert_eq!(store.stats().unwrap().urls, 1);
        assert!(WriteLog::open(dir.path(), &bodies(dir.path()))
            .unwrap()
            .1
            .is_empty());
    }
}
