//! [`Store::check`]: every file of a store read and held to what it should be, without
//! changing anything the store holds (`crawler check`).
//!
//! Damage shows in three ways, and each is looked for: a frame or block that fails
//! its checksum (the append-only files, the runs), a file that is gone (the seen
//! tables, the page index's log: what they held is missing from an answer, with no
//! checksum to fail), and derived data that disagrees with the records it is derived
//! from (the page index, the running totals, the seen-set). The records (sled's page
//! keys and the record parts they point to in the body log) are the truth;
//! `crate::store::repair` rebuilds the rest from them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::{check_format, check_path, open_sled, Store};
use crate::codec::keys;
use crate::codec::page_value::{self, Parts, RecordAt};
use crate::codec::part;
use crate::files::body_log::BodyLog;
use crate::files::frame;
use crate::files::queue_files::QueueFiles;
use crate::files::seen_table::SeenTable;
use crate::index::manifest::Manifest;
use crate::index::page_index::{self, PageIndex};
use crate::index::page_keys::page_keys;
use crate::index::sorted_run::{Cursor, SortedRun, MERGE_READ};
use crate::record::{PageRecord, QueueEntry};
use crate::writer::totals::Recount;
use crate::StoreError;

/// One thing wrong with a store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file (or folder) it is in.
    pub file: PathBuf,
    /// Where in the file, when it is one place.
    pub offset: Option<u64>,
    /// What is wrong, and what it costs.
    pub what: String,
}

/// What [`Store::check`] found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    /// Page records read.
    pub pages: u64,
    /// Frontier entries read (settled ones too).
    pub queued: u64,
    /// Every problem, in the order found.
    pub problems: Vec<Problem>,
}

/// A URL's fingerprint as the engine computes it (the key of the seen-set), passed in
/// because this crate knows nothing of URL syntax; `None` for a URL it would not store.
pub type Fingerprint<'a> = &'a dyn Fn(&str) -> Option<u128>;

/// The frontier entry that queues a URL again as the engine would queue a seed (its
/// host's politeness key is the engine's to say); `None` for a URL it would not crawl.
pub type Requeue<'a> = &'a dyn Fn(&str) -> Option<QueueEntry>;

/// The inlink index's and the page index's manifests, by folder.
pub(crate) const INDEXES: [(&str, &str); 2] = [("index", "page-index"), ("inlinks", "inlinks")];

impl CheckReport {
    fn problem(&mut self, file: &Path, offset: Option<u64>, what: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_path_buf(),
            offset,
            what: what.into(),
        });
    }

    /// Records `error` as a problem of `file` (or of the file it names).
    fn error(&mut self, file: &Path, error: StoreError) {
        match error {
            StoreError::Damaged {
                file: damaged,
                offset,
                url,
                what,
                ..
            } => {
                let what = match url {
                    Some(url) => format!("{what} (page {url})"),
                    None => what,
                };
                self.problem(&damaged, Some(offset), what);
            }
            other => self.problem(file, None, other.to_string()),
        }
    }

    /// Reads `path`, a file of frames from its start, and notes each damaged stretch.
    fn frames(&mut self, path: &Path, what: &str) {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => return self.problem(path, None, format!("cannot be read: {e}")),
        };
        for scanned in frame::scan(&bytes, u32::MAX).0 {
            if let frame::Scanned::Damaged { at, len } = scanned {
                self.problem(
                    path,
                    Some(at as u64),
                    format!("{len} bytes of {what} fail their checksum"),
                );
            }
        }
    }
}

impl Store {
    /// Checks every file of the store at `path` and returns what is wrong with it:
    /// frames and run blocks against their checksums, every page's parts, the page
    /// index, the running totals and the seen-set against the records, the frontier's
    /// queue files. Writes nothing the store holds (sled itself writes at its open);
    /// fails when the store is in use, missing or of another format.
    pub fn check(path: &Path, fingerprint: Fingerprint<'_>) -> Result<CheckReport, StoreError> {
        check_path(path, false)?;
        let mut report = CheckReport::default();
        for n in 0..2 {
            let log = path.join(format!("writer-{n}.log"));
            if log.exists() {
                report.frames(&log, "the write log");
            }
        }
        for segment in crate::index::inlinks::log_segments(&path.join("inlinks"))? {
            report.frames(&segment, "the inlink log");
        }
        let index_log = path.join("index").join("log");
        if index_log.exists() {
            report.frames(&index_log, "the page index log");
        }
        let db = match open_sled(path, 64) {
            Ok(db) => db,
            Err(error @ StoreError::InUse { .. }) => return Err(error),
            Err(error) => {
                report.problem(&path.join("db"), None, error.to_string());
                return Ok(report);
            }
        };
        let tree = db
            .open_tree("crawl")
            .map_err(|e| StoreError::from(e).in_store(path))?;
        check_format(path, &db, &tree, false, false)?;
        let runs_sound = check_runs(path, &tree, &mut report)?;

        let bodies = BodyLog::open(&path.join("bodies"));
        let seen = SeenTable::open(&path.join("seen"))?;
        let mut recount = Recount::default();
        let mut expected = Vec::new();
        let mut unmarked = 0u64;
        let marked = |url: &str| -> Result<bool, StoreError> {
            match fingerprint(url) {
                Some(fp) => seen.contains(fp),
                None => Ok(true),
            }
        };
        for entry in tree.scan_prefix([keys::PAGE]) {
            let (key, value) = entry.map_err(|e| StoreError::from(e).in_store(path))?;
            let (page, parts) = match page_value::decode(&key, &value) {
                Err(error) => {
                    report.error(&path.join("db"), error);
                    continue;
                }
                Ok((parts, at)) => match page_value::read_record(&key, at, &bodies) {
                    Ok(page) => (page, parts),
                    Err(error) => {
                        report.error(&path.join(record_file(at)), error);
                        continue;
                    }
                },
            };
            report.pages += 1;
            for error in damaged_parts(&bodies, &page, &parts) {
                report.error(&path.join("bodies"), error);
            }
            recount.add(&page);
            expected.extend(page_keys(&page).iter().map(|k| key_hash(k)));
            if !marked(&page.url)? {
                unmarked += 1;
            }
        }
        let queues = QueueFiles::open(&path.join("frontier"));
        for host in queues.own_hosts()? {
            let mut reader = queues.own_reader(&host, 0)?;
            reader.warn = false;
            loop {
                match reader.next_entry() {
                    Ok(Some(entry)) => {
                        report.queued += 1;
                        if !marked(&entry.url)? {
                            unmarked += 1;
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        report.error(&queues.path(&host), error);
                        break;
                    }
                }
            }
            for (at, len) in &reader.damaged {
                report.problem(
                    &queues.path(&host),
                    Some(*at),
                    format!("{len} bytes of host {host}'s queue fail their checksum: 1 queued URL unreadable"),
                );
            }
        }
        for bucket in queues.bucket_contents()? {
            for entry in &bucket.entries {
                report.queued += 1;
                if !marked(&entry.url)? {
                    unmarked += 1;
                }
            }
            for (at, len) in &bucket.damaged {
                report.problem(
                    &bucket.path,
                    Some(*at),
                    format!("{len} bytes of a shared queue file fail their checksum: 1 queued URL unreadable"),
                );
            }
            if bucket.undecodable > 0 {
                report.problem(
                    &bucket.path,
                    None,
                    format!(
                        "{} queue entries of a shared queue file do not decode",
                        bucket.undecodable
                    ),
                );
            }
        }
        if unmarked > 0 {
            report.problem(
                &path.join("seen"),
                None,
                format!(
                    "{unmarked} of {} recorded or queued URLs are not marked seen (seen tables deleted or damaged): a crawl would fetch or queue them again",
                    report.pages + report.queued
                ),
            );
        }
        for what in recount.disagreements(&tree)? {
            report.problem(&path.join("db"), None, what);
        }
        if runs_sound && !report.problems.iter().any(|p| p.file == index_log) {
            check_page_index(path, &tree, expected, &mut report)?;
        }
        Ok(report)
    }
}

/// Opens every run both manifests name and reads each block; false if any fails.
fn check_runs(
    path: &Path,
    tree: &sled::Tree,
    report: &mut CheckReport,
) -> Result<bool, StoreError> {
    let before = report.problems.len();
    for (folder, name) in INDEXES {
        let dir = path.join(folder);
        for entry in Manifest::load(tree, name)?.runs {
            let run = match SortedRun::open(&dir, entry.id, entry.entries) {
                Ok(run) => Arc::new(run),
                Err(error) => {
                    report.error(&dir, error);
                    continue;
                }
            };
            let walked = Cursor::from_start(&run, MERGE_READ).and_then(|mut cursor| {
                while cursor.key().is_some() {
                    cursor.advance()?;
                }
                Ok(())
            });
            if let Err(error) = walked {
                report.error(&dir, error);
            }
        }
    }
    Ok(report.problems.len() == before)
}

/// Every part of `page` that cannot be read back whole, as the error reading it gave.
pub(crate) fn damaged_parts(bodies: &BodyLog, page: &PageRecord, parts: &Parts) -> Vec<StoreError> {
    parts
        .all()
        .into_iter()
        .flatten()
        .filter_map(|pointer| match bodies.read(pointer) {
            Ok(payload) => part::decode(&page.url, &payload).err(),
            Err(error) => Some(error.of_page(&page.url)),
        })
        .collect()
}

/// The file of the store a page's record is in: the body log, or sled for a record
/// written inline (format 9 and before).
pub(crate) fn record_file(at: RecordAt<'_>) -> &'static str {
    match at {
        RecordAt::Logged(_) => "bodies",
        RecordAt::Inline(_) => "db",
    }
}

/// A short hash of an index key, to hold many pages' keys in little memory.
fn key_hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}

/// Whether the page index holds every entry the records imply (`expected`, hashed).
fn check_page_index(
    path: &Path,
    tree: &sled::Tree,
    expected: Vec<u64>,
    report: &mut CheckReport,
) -> Result<(), StoreError> {
    let dir = path.join("index");
    let closed_cleanly = super::closed_cleanly(tree)?;
    let index = match PageIndex::open(&dir, tree, true, closed_cleanly, page_index::FOLD_AT) {
        Ok(index) => index,
        Err(error) => {
            report.error(&dir, error);
            return Ok(());
        }
    };
    let mut held = HashSet::new();
    for key in index.range(&[], None) {
        match key {
            Ok(key) => {
                held.insert(key_hash(&key));
            }
            Err(error) => {
                report.error(&dir, error);
                return Ok(());
            }
        }
    }
    let missing = expected.iter().filter(|k| !held.contains(k)).count();
    if missing > 0 {
        report.problem(
            &dir,
            None,
            format!(
                "the page index lacks {missing} of the {} entries its records imply: `ls --host`, `stats --host` and `export --host` leave those pages out",
                expected.len()
            ),
        );
    }
    Ok(())
}
