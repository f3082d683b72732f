//! The store's writer: one thread that applies the sled changes of every page write,
//! many writes per sled batch, with the running totals of what it applied.
//!
//! sled charges per batch, not per byte (its global write lock, the totals' keys
//! rewritten, a log buffer sealed and synced), so one batch per page from every worker
//! was most of a crawl's CPU; one writer applying rounds of writes costs a fraction of
//! it (the figures are in BENCHMARKS.md and ARCHITECTURE.md, "Why it is built this
//! way").
//!
//! [`crate::Store::write_page`] writes its own files (body log, queue entries, seen
//! marks), hands its sled changes here as a [`Submission`] and returns: a durable
//! store (the crawl's) first appends them to its write log (`write_log`), one plain
//! `write` that survives a kill, and replays that log when it is opened after one.
//! The writer gathers what arrives for up to [`GATHER_FOR`] (or until
//! [`GATHER_UP_TO`] submissions wait). A round is one sled batch, in submission
//! order: each submission's changes, then the running totals of the round (`totals`),
//! once, which count out the record each record replaces (looked up here, by the only
//! thread that writes the tree, so the lookup never waits for sled's write lock;
//! skipped for keys `recorded_keys` knows to be new). It applies the batch, appends the
//! round's index entries to the page index (`crate::index::page_index`; synced when
//! the store is durable), flushes sled when the store is durable, and then writes the
//! seen marks that must follow their records. Until then a submission's records and
//! marks are *pending*: the crawl's lookups (is a URL recorded, is it seen) ask here
//! before sled, and readers of the store's queries wait until the writer is idle
//! ([`RecordWriter::wait_idle`]).
//!
//! Why a log and not a wait for the flush: workers that waited for their round's flush
//! were slower (ARCHITECTURE.md, "The write log"), and without the log a kill would
//! lose the last round's pages, which the crawl had reported stored.
//!
//! The running totals belong to the writer: it counts each round's records in and the
//! records they replace out, and writes the totals in the round's batch, so the totals
//! on disk are always those of the records on disk.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) mod host_counts;
pub(crate) mod recorded_keys;
pub(crate) mod submission;
pub(crate) mod totals;
pub(crate) mod write_log;

use recorded_keys::RecordedKeys;
use submission::{Changes, Submission};
use totals::RunningTotals;
use write_log::WriteLog;

use crate::codec::{keys, page_value};
use crate::files::body_log::BodyLog;
use crate::files::seen_table::SeenTable;
use crate::index::page_index::PageIndex;
use crate::index::page_keys;
use crate::{PageRecord, StoreError};

/// How long the writer waits for more submissions before applying a round.
pub(crate) const GATHER_FOR: Duration = Duration::from_millis(5);
/// A round starts at once when this many submissions wait.
pub(crate) const GATHER_UP_TO: usize = 256;
/// Submitters wait while this many submissions wait (the writer has fallen behind).
const MAX_WAITING: usize = 4096;
/// Submitters also wait while the waiting submissions hold this many changes and marks:
/// sled holds a whole batch in memory several times over, so a round of a hundred
/// thousand refused records (every host of a broad crawl closing at once) cost a
/// gigabyte where rounds of this size cost tens of megabytes.
const MAX_WAITING_CHANGES: usize = 4096;

/// The writer thread and what it has not applied yet.
pub(crate) struct RecordWriter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// The writer waits on it for submissions.
    work: Condvar,
    /// Submitters and waiters wait on it for the end of a round.
    round_done: Condvar,
    db: sled::Db,
    tree: sled::Tree,
    seen: Arc<SeenTable>,
    /// Where the records are, for the records a round replaces.
    bodies: Arc<BodyLog>,
    page_index: Arc<PageIndex>,
    totals: RunningTotals,
    durable: bool,
}

#[derive(Default)]
struct State {
    /// Submissions waiting for the next round, in submission order.
    waiting: Vec<Submission>,
    /// The changes and marks of the waiting submissions.
    waiting_changes: usize,
    /// The ticket of the next submission; tickets number submissions in order.
    next_ticket: u64,
    /// Every submission with a smaller ticket has been through a round.
    applied: u64,
    /// The `p` keys of pending records, with the ticket of the submission that holds them.
    records: HashMap<Vec<u8>, u64>,
    /// Pending seen marks, with their submission's ticket.
    marks: HashMap<u128, u64>,
    /// The first failed round's error: every later write fails too, since nothing
    /// after a lost write may be stored (the totals and the order would be wrong).
    failure: Option<String>,
    /// Someone waits for the writer to be idle: apply without gathering.
    hurry: bool,
    /// The store is closing: apply what waits and stop.
    closing: bool,
    /// Where submissions are logged before they are queued (durable stores), and which
    /// of its two files takes them now; `None` while a log is replayed.
    log: Option<WriteLog>,
    active_log: usize,
}

/// The files beside sled the writer writes (seen marks, index entries) or reads (the
/// records a round replaces).
pub(crate) struct Beside {
    pub(crate) seen: Arc<SeenTable>,
    pub(crate) bodies: Arc<BodyLog>,
    pub(crate) page_index: Arc<PageIndex>,
}

impl RecordWriter {
    /// Starts the writer thread of a store.
    pub(crate) fn start(
        db: sled::Db,
        tree: sled::Tree,
        beside: Beside,
        totals: RunningTotals,
        durable: bool,
        log: Option<WriteLog>,
    ) -> Result<RecordWriter, StoreError> {
        let Beside {
            seen,
            bodies,
            page_index,
        } = beside;
        let holds_pages = tree.scan_prefix([keys::PAGE]).next().transpose()?.is_some();
        // The page keys that may have a record to replace: the writer thread's own.
        let recorded = RecordedKeys::new(!holds_pages);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                log,
                ..State::default()
            }),
            work: Condvar::new(),
            round_done: Condvar::new(),
            db,
            tree,
            seen,
            bodies,
            page_index,
            totals,
            durable,
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || for_thread.run(recorded))
            .map_err(|error| StoreError::Io {
                path: "store-writer thread".into(),
                error,
            })?;
        Ok(RecordWriter {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `submission` for the next round (logging it first in a durable store)
    /// and returns, after waiting only when the writer has fallen far behind.
    /// Submissions are applied in the order of the calls.
    pub(crate) fn submit(&self, submission: Submission) -> Result<(), StoreError> {
        let mut state = self.shared.lock();
        while state.failure.is_none()
            && (state.waiting.len() >= MAX_WAITING || state.waiting_changes >= MAX_WAITING_CHANGES)
        {
            state = wait(&self.shared.round_done, state);
        }
        state.check()?;
        let ticket = state.next_ticket;
        let active = state.active_log;
        if let (true, Some(log)) = (self.shared.durable, state.log.as_mut()) {
            log.append(active, ticket, &submission)?;
        }
        state.next_ticket += 1;
        for (key, _) in &submission.records {
            state.records.insert(key.clone(), ticket);
        }
        for &mark in &submission.marks {
            state.marks.insert(mark, ticket);
        }
        let changes = submission.weight();
        state.waiting_changes += changes;
        state.waiting.push(submission);
        // The writer needs waking only to start gathering, or to stop.
        let full = state.waiting_changes >= MAX_WAITING_CHANGES
            && state.waiting_changes - changes < MAX_WAITING_CHANGES;
        if state.waiting.len() == 1 || state.waiting.len() == GATHER_UP_TO || full {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// Whether a record under `key` is waiting to be applied.
    pub(crate) fn has_pending_record(&self, key: &[u8]) -> bool {
        self.shared.lock().records.contains_key(key)
    }

    /// Whether the seen mark `fingerprint` is waiting to be written.
    pub(crate) fn has_pending_mark(&self, fingerprint: u128) -> bool {
        self.shared.lock().marks.contains_key(&fingerprint)
    }

    /// Returns once everything submitted before the call is applied (and flushed, for
    /// a durable store), or with the error of the first round that failed.
    pub(crate) fn wait_idle(&self) -> Result<(), StoreError> {
        let mut state = self.shared.lock();
        let target = state.next_ticket;
        if state.applied < target {
            state.hurry = true;
            self.shared.work.notify_one();
            while state.applied < target {
                state = wait(&self.shared.round_done, state);
            }
        }
        state.check()
    }

    /// Applies `logged` (read back from the write log of a store that was not closed),
    /// flushes it and empties the log, before any new write is taken.
    pub(crate) fn replay(&self, logged: Vec<Submission>) -> Result<(), StoreError> {
        // Not logged again while it is replayed.
        let mut log = self.shared.lock().log.take();
        if !logged.is_empty() {
            for submission in logged {
                self.submit(submission)?;
            }
            self.wait_idle()?;
            // Flushed whether or not this store is durable: the log is emptied next.
            self.shared.db.flush()?;
        }
        // Emptied even when nothing whole was read: a torn frame must not stay in
        // front of the next appends.
        if let Some(log) = log.as_mut() {
            log.empty(0)?;
            log.empty(1)?;
        }
        self.shared.lock().log = log;
        Ok(())
    }

    /// Applies everything submitted, stops the thread and joins it.
    pub(crate) fn close(&mut self) -> Result<(), StoreError> {
        let idle = self.wait_idle();
        self.shared.lock().closing = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            // The thread catches what it runs; a panic here would be its own bug.
            let _ = thread.join();
        }
        idle
    }
}

impl Drop for RecordWriter {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Queues, maps and counters: each valid after a panic elsewhere.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn run(&self, mut recorded: RecordedKeys) {
        loop {
            let mut state = self.lock();
            while state.waiting.is_empty() {
                if state.closing {
                    return;
                }
                state = wait(&self.work, state);
            }
            let deadline = Instant::now() + GATHER_FOR;
            while !state.hurry
                && !state.closing
                && state.waiting.len() < GATHER_UP_TO
                && state.waiting_changes < MAX_WAITING_CHANGES
            {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                state = self
                    .work
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0;
            }
            state.hurry = false;
            let round_log = state.active_log;
            state.active_log ^= 1;
            let round = std::mem::take(&mut state.waiting);
            state.waiting_changes = 0;
            let end = state.next_ticket;
            let failed = state.failure.is_some();
            drop(state);

            let result = if failed {
                Ok(())
            } else {
                catch_unwind(AssertUnwindSafe(|| self.apply(round, &mut recorded)))
                    .unwrap_or_else(|_| Err("the store's writer panicked".to_owned()))
            };

            let mut state = self.lock();
            // Everything logged in the round's file is applied and flushed now.
            let emptied = match (&result, self.durable, state.log.as_mut()) {
                (Ok(()), true, Some(log)) if !failed => {
                    log.empty(round_log).map_err(|e| e.to_string())
                }
                _ => Ok(()),
            };
            if let Err(error) = result.and(emptied) {
                state.failure.get_or_insert(error);
            }
            state.applied = end;
            state.records.retain(|_, ticket| *ticket >= end);
            state.marks.retain(|_, ticket| *ticket >= end);
            self.round_done.notify_all();
        }
    }

    /// One round: the changes as one batch, a flush, then the marks that follow them.
    fn apply(&self, round: Vec<Submission>, recorded: &mut RecordedKeys) -> Result<(), String> {
        let mut batch = sled::Batch::default();
        let mut marks = Vec::new();
        // The latest record of each key written in this round, for a key written twice.
        let mut written: HashMap<Vec<u8>, PageRecord> = HashMap::new();
        // How the round changes its hosts' counts: of the records added and replaced.
        let mut hosts = host_counts::Deltas::new();
        let mut totals = self.totals.lock();
        for submission in round {
            let mut removed = Vec::new();
            for (key, _) in &submission.records {
                if !recorded.may_have(key) {
                    recorded.add(key);
                    continue;
                }
                if let Some(old) = self.current_record(&written, key)? {
                    removed.push(old);
                }
            }
            submission.changes.add_to(&mut batch);
            let added: Vec<&PageRecord> = submission.records.iter().map(|(_, r)| r).collect();
            totals.count(&removed, &added, &mut hosts);
            for (key, record) in submission.records {
                written.insert(key, record);
            }
            marks.extend(submission.marks);
        }
        // A round of cursors only leaves the totals as they are.
        if !written.is_empty() {
            let mut counts = Changes::default();
            totals
                .write(&mut counts, &self.tree, &hosts)
                .map_err(|e| e.to_string())?;
            counts.add_to(&mut batch);
        }
        drop(totals);
        self.tree.apply_batch(batch).map_err(|e| e.to_string())?;
        // The records' index entries, durable with them before the write log forgets
        // the round (the entries of a replaced record stay: queries check them).
        let entries = written.values().flat_map(page_keys::page_keys).collect();
        self.page_index
            .append(entries, self.durable)
            .map_err(|e| e.to_string())?;
        if self.durable {
            self.db.flush().map_err(|e| e.to_string())?;
        }
        for mark in marks {
            self.seen.insert(mark).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The record under `key` before this submission: written earlier in the round, or
    /// in the tree. A damaged old record cannot be unindexed; queries skip what no
    /// longer matches.
    fn current_record(
        &self,
        written: &HashMap<Vec<u8>, PageRecord>,
        key: &[u8],
    ) -> Result<Option<PageRecord>, String> {
        if let Some(record) = written.get(key) {
            return Ok(Some(record.clone()));
        }
        let stored = self.tree.get(key).map_err(|e| e.to_string())?;
        Ok(stored.and_then(|value| page_value::record(key, &value, &self.bodies).ok()))
    }
}

impl State {
    /// The error of the first failed round, if one failed.
    fn check(&self) -> Result<(), StoreError> {
        match &self.failure {
            Some(failure) => Err(StoreError::WriteFailed {
                reason: failure.clone(),
            }),
            None => Ok(()),
        }
    }
}

fn wait<'a>(condvar: &Condvar, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
    condvar
        .wait(state)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::keys::{self, url_key};
    use crate::writer::totals::Totals;

    fn start(dir: &std::path::Path, durable: bool) -> (RecordWriter, sled::Tree, Arc<SeenTable>) {
        let db = sled::open(dir.join("db")).unwrap();
        let tree = db.open_tree("t").unwrap();
        let seen = Arc::new(SeenTable::open(&dir.join("seen")).unwrap());
        let index = PageIndex::open(&dir.join("index"), &tree, false, false, 4).unwrap();
        let writer = RecordWriter::start(
            db,
            tree.clone(),
            Beside {
                seen: Arc::clone(&seen),
                bodies: Arc::new(BodyLog::open(&dir.join("bodies"))),
                page_index: Arc::new(index),
            },
            RunningTotals::default(),
            durable,
            None,
        )
        .unwrap();
        (writer, tree, seen)
    }

    /// A write of `record` to `writer`'s store as the store makes it: its record in
    /// the body log.
    fn page_write(writer: &RecordWriter, record: &PageRecord, mark: Option<u128>) -> Submission {
        let key = url_key(keys::PAGE, &record.url);
        let part = page_value::encode_record(record);
        let bodies = &writer.shared.bodies;
        let pointer = bodies.append_all(&[Some(&part[..])]).unwrap()[0].unwrap();
        let mut changes = Changes::default();
        changes.insert(
            key.clone(),
            page_value::encode(&Default::default(), page_value::RecordAt::Logged(pointer)),
        );
        Submission {
            changes,
            records: vec![(key, record.clone())],
            marks: mark.into_iter().collect(),
        }
    }

    /// The by-status index entries, stale ones included (queries skip those).
    fn status_entries(writer: &RecordWriter) -> Vec<Vec<u8>> {
        let end = [keys::BY_STATUS + 1];
        writer
            .shared
            .page_index
            .range(&[keys::BY_STATUS], Some(&end))
            .map(Result::unwrap)
            .collect()
    }

    fn statuses_counted(tree: &sled::Tree) -> Vec<u16> {
        let totals = Totals::read(tree).unwrap().unwrap();
        let stats = totals.to_stats(Default::default());
        stats.by_status.keys().copied().collect()
    }

    fn page(n: u32, status: u16) -> PageRecord {
        PageRecord {
            status: Some(status),
            bytes: 10,
            ..PageRecord::new(&format!("http://a.test/{n}"), "a.test", 0)
        }
    }

    #[test]
    fn concurrent_writes_are_applied_with_their_marks_and_totals_that_count_them() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, tree, seen) = start(dir.path(), true);
        let writer = Arc::new(writer);
        let threads: Vec<_> = (0..8u32)
            .map(|thread| {
                let (writer, seen) = (Arc::clone(&writer), Arc::clone(&seen));
                std::thread::spawn(move || {
                    for n in 0..100u32 {
                        let record = page(thread * 1000 + n, 200);
                        let mark = u128::from(thread * 1000 + n) + 1;
                        writer
                            .submit(page_write(&writer, &record, Some(mark)))
                            .unwrap();
                        // Half the threads wait for the writer after each write.
                        let waits = thread % 2 == 0;
                        if waits {
                            writer.wait_idle().unwrap();
                        }
                        let key = url_key(keys::PAGE, &record.url);
                        let applied = writer.shared.tree.contains_key(&key).unwrap();
                        if waits {
                            assert!(applied, "applied once the writer is idle");
                            assert!(seen.contains(mark).unwrap(), "with its mark");
                        }
                        // Pending or applied: never neither.
                        let found = applied || writer.has_pending_record(&key);
                        assert!(found, "a submitted record is visible");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        writer.wait_idle().unwrap();
        let key = url_key(keys::PAGE, "http://a.test/7099");
        assert!(
            !writer.has_pending_record(&key),
            "applied: no longer pending"
        );
        assert!(tree.contains_key(&key).unwrap());
        assert_eq!(tree.scan_prefix([keys::PAGE]).count(), 800);
        let totals = Totals::read(&tree)
            .unwrap()
            .unwrap()
            .to_stats(Default::default());
        assert_eq!(totals.urls, 800);
        for mark in (0..8u32).flat_map(|t| (0..100).map(move |n| u128::from(t * 1000 + n) + 1)) {
            assert!(
                seen.contains(mark).unwrap(),
                "the marks follow their records"
            );
            assert!(!writer.has_pending_mark(mark));
        }
    }

    #[test]
    fn a_record_moved_to_another_host_is_counted_out_of_the_old_one_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, tree, _) = start(dir.path(), false);
        writer
            .submit(page_write(&writer, &page(1, 200), None))
            .unwrap();
        writer.wait_idle().unwrap();
        let moved = PageRecord {
            host: "b.test".into(),
            ..page(1, 200)
        };
        writer.submit(page_write(&writer, &moved, None)).unwrap();
        writer.close().unwrap();
        let counts = host_counts::read_all(&tree).unwrap();
        assert_eq!(counts.get("a.test"), None, "{counts:?}");
        assert_eq!(counts.get("b.test"), Some(&1), "{counts:?}");
    }

    #[test]
    fn a_record_written_before_the_store_was_reopened_is_counted_out_when_replaced() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut writer, _, _) = start(dir.path(), true);
            writer
                .submit(page_write(&writer, &page(1, 503), None))
                .unwrap();
            writer.close().unwrap();
        }
        // This writer did not write the record: it must look it up all the same.
        let (mut writer, tree, _) = start(dir.path(), true);
        writer
            .submit(page_write(&writer, &page(1, 200), None))
            .unwrap();
        writer.wait_idle().unwrap();
        assert_eq!(statuses_counted(&tree), [200], "the 503 is counted out");
        let by_status = status_entries(&writer);
        assert!(by_status
            .iter()
            .any(|key| key.starts_with(&keys::status_prefix(200))));
        writer.close().unwrap();
    }

    #[test]
    fn a_url_written_twice_in_one_round_is_counted_once_and_indexed_by_its_last_record() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, tree, _) = start(dir.path(), false);
        // In one round (the writer gathers for GATHER_FOR), then again in a later one.
        writer
            .submit(page_write(&writer, &page(1, 503), None))
            .unwrap();
        writer
            .submit(page_write(&writer, &page(1, 200), None))
            .unwrap();
        writer.wait_idle().unwrap();
        writer
            .submit(page_write(&writer, &page(1, 404), None))
            .unwrap();
        writer.close().unwrap();
        let totals = Totals::read(&tree)
            .unwrap()
            .unwrap()
            .to_stats(Default::default());
        assert_eq!(totals.urls, 1);
        assert_eq!(statuses_counted(&tree), [404]);
        // Within a round only the last record of a URL is indexed; the entries of a
        // record replaced in a later round stay, for queries to skip.
        let by_status = status_entries(&writer);
        let has = |status| {
            by_status
                .iter()
                .any(|key| key.starts_with(&keys::status_prefix(status)))
        };
        assert!(has(404) && has(200) && !has(503), "{by_status:?}");
    }
}
