//! Write-behind for sled: one thread applies the sled changes every page write hands it.
//!
//! sled charges per batch, not per byte: every batch takes its global write lock (which
//! stalls every reader meanwhile), rewrites the running totals' keys, and, made durable,
//! seals a log buffer, wakes sled's I/O pool and waits for a `sync_file_range`. With
//! each worker applying its own page, sled was most of a crawl's CPU. Measured with
//! sled alone (BENCHMARKS.md): 50,000 pages' changes cost 15.5 CPU s as sixteen
//! threads' one-page batches with a flush each, and 3.3 CPU s as 64-page batches with
//! one flush each.
//!
//! So [`crate::Store::write_page`] writes its own files (queue entries, seen marks, body
//! log) and hands its sled changes here, and returns. The writer thread gathers what
//! arrives for up to [`GATHER_FOR`] (or until [`GATHER_UP_TO`] submissions wait),
//! applies it in submission order as one sled batch, flushes when the store is
//! durable, and then writes the seen marks that must follow their records. Until
//! then a submission's records and marks are *pending*: the store looks them up here
//! before sled, so for the crawl a record exists from the moment its write returned,
//! and readers of the store's queries wait until the writer is idle
//! ([`RecordWriter::wait_idle`]).
//!
//! What a kill loses: the submissions of the round being gathered or applied (a few
//! milliseconds of pages). They were never made durable, their frontier entries are
//! still unsettled, and the next run fetches them again.
//!
//! Lock order: the writer's state, then the running totals (taken by the `complete`
//! closure of [`RecordWriter::submit`]).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::seen_table::SeenTable;
use crate::{PageRecord, StoreError};

/// How long the writer waits for more submissions before applying a round.
pub(crate) const GATHER_FOR: Duration = Duration::from_millis(5);
/// A round starts at once when this many submissions wait.
pub(crate) const GATHER_UP_TO: usize = 256;
/// Submitters wait while this many submissions wait (the writer has fallen behind).
const MAX_WAITING: usize = 4096;

/// Key changes in order; the last change to a key wins, as in a sled batch.
#[derive(Default)]
pub(crate) struct Changes(Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl Changes {
    pub(crate) fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.0.push((key.into(), Some(value.into())));
    }

    pub(crate) fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.0.push((key.into(), None));
    }

    fn add_to(self, batch: &mut sled::Batch) {
        for (key, value) in self.0 {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
    }
}

/// One write's share of a round.
#[derive(Default)]
pub(crate) struct Submission {
    /// The sled changes (records, index entries, cursors).
    pub(crate) changes: Changes,
    /// The records among the changes, by their `p` key: looked up while pending.
    pub(crate) records: Vec<(Vec<u8>, PageRecord)>,
    /// Seen marks to write once the changes are applied (of URLs settled by a record).
    pub(crate) marks: Vec<u128>,
}

impl Submission {
    pub(crate) fn is_empty(&self) -> bool {
        self.changes.0.is_empty() && self.marks.is_empty()
    }
}

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
    durable: bool,
}

#[derive(Default)]
struct State {
    /// Submissions waiting for the next round, in submission order.
    waiting: Vec<Submission>,
    /// The ticket of the next submission; tickets number submissions in order.
    next_ticket: u64,
    /// Every submission with a smaller ticket has been through a round.
    applied: u64,
    /// Pending records by `p` key, with the ticket of the submission that holds them.
    records: HashMap<Vec<u8>, (u64, PageRecord)>,
    /// Pending seen marks, with their submission's ticket.
    marks: HashMap<u128, u64>,
    /// The first failed round's error: every later write fails too, since nothing
    /// after a lost write may be stored (the totals and the order would be wrong).
    failure: Option<String>,
    /// Someone waits for the writer to be idle: apply without gathering.
    hurry: bool,
    /// The store is closing: apply what waits and stop.
    closing: bool,
}

impl RecordWriter {
    /// Starts the writer thread of a store.
    pub(crate) fn start(
        db: sled::Db,
        tree: sled::Tree,
        seen: Arc<SeenTable>,
        durable: bool,
    ) -> Result<RecordWriter, StoreError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            round_done: Condvar::new(),
            db,
            tree,
            seen,
            durable,
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || for_thread.run())
            .map_err(|source| StoreError::Io {
                path: "store-writer thread".into(),
                source,
            })?;
        Ok(RecordWriter {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `submission` for the next round and returns (after waiting only when
    /// the writer has fallen far behind). `complete` is called on its changes under
    /// the lock that fixes the order of application, so what it adds reaches the tree
    /// in the order of the calls (the running totals rely on it).
    pub(crate) fn submit(
        &self,
        mut submission: Submission,
        complete: impl FnOnce(&mut Changes),
    ) -> Result<(), StoreError> {
        let mut state = self.shared.lock();
        while state.failure.is_none() && state.waiting.len() >= MAX_WAITING {
            state = wait(&self.shared.round_done, state);
        }
        if let Some(failure) = &state.failure {
            return Err(StoreError::WriteFailed {
                reason: failure.clone(),
            });
        }
        complete(&mut submission.changes);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        for (key, record) in std::mem::take(&mut submission.records) {
            state.records.insert(key, (ticket, record));
        }
        for &mark in &submission.marks {
            state.marks.insert(mark, ticket);
        }
        state.waiting.push(submission);
        // The writer needs waking only to start gathering, or to stop.
        if state.waiting.len() == 1 || state.waiting.len() == GATHER_UP_TO {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// The pending record under `key`, if one is waiting to be applied.
    pub(crate) fn pending_record(&self, key: &[u8]) -> Option<PageRecord> {
        let state = self.shared.lock();
        state.records.get(key).map(|(_, record)| record.clone())
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
        match &state.failure {
            Some(failure) => Err(StoreError::WriteFailed {
                reason: failure.clone(),
            }),
            None => Ok(()),
        }
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

    fn run(&self) {
        loop {
            let mut state = self.lock();
            while state.waiting.is_empty() {
                if state.closing {
                    return;
                }
                state = wait(&self.work, state);
            }
            let deadline = Instant::now() + GATHER_FOR;
            while !state.hurry && !state.closing && state.waiting.len() < GATHER_UP_TO {
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
            let round = std::mem::take(&mut state.waiting);
            let end = state.next_ticket;
            let failed = state.failure.is_some();
            drop(state);

            let result = if failed {
                Ok(())
            } else {
                catch_unwind(AssertUnwindSafe(|| self.apply(round)))
                    .unwrap_or_else(|_| Err("the store's writer panicked".to_owned()))
            };

            let mut state = self.lock();
            if let Err(error) = result {
                state.failure.get_or_insert(error);
            }
            state.applied = end;
            state.records.retain(|_, (ticket, _)| *ticket >= end);
            state.marks.retain(|_, ticket| *ticket >= end);
            self.round_done.notify_all();
        }
    }

    /// One round: the changes as one batch, a flush, then the marks that follow them.
    fn apply(&self, round: Vec<Submission>) -> Result<(), String> {
        let mut batch = sled::Batch::default();
        let mut marks = Vec::new();
        for submission in round {
            submission.changes.add_to(&mut batch);
            marks.extend(submission.marks);
        }
        self.tree.apply_batch(batch).map_err(|e| e.to_string())?;
        if self.durable {
            self.db.flush().map_err(|e| e.to_string())?;
        }
        for mark in marks {
            self.seen.insert(mark).map_err(|e| e.to_string())?;
        }
        Ok(())
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

    fn open(dir: &std::path::Path) -> (sled::Db, sled::Tree, Arc<SeenTable>) {
        let db = sled::open(dir.join("db")).unwrap();
        let tree = db.open_tree("t").unwrap();
        let seen = Arc::new(SeenTable::open(&dir.join("seen")).unwrap());
        (db, tree, seen)
    }

    fn submission(key: String, value: u32) -> Submission {
        let mut changes = Changes::default();
        changes.insert(key.clone().into_bytes(), value.to_be_bytes().to_vec());
        Submission {
            changes,
            records: vec![(
                key.into_bytes(),
                PageRecord::new("http://a.test/", "a.test", 0),
            )],
            marks: vec![u128::from(value) + 1],
        }
    }

    #[test]
    fn submissions_are_pending_until_applied_then_in_the_tree_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (db, tree, seen) = open(dir.path());
        let writer =
            Arc::new(RecordWriter::start(db, tree.clone(), Arc::clone(&seen), true).unwrap());
        let threads: Vec<_> = (0..8u32)
            .map(|thread| {
                let writer = Arc::clone(&writer);
                std::thread::spawn(move || {
                    for n in 0..200u32 {
                        let key = format!("{thread}/{n}");
                        writer.submit(submission(key, n), |_| {}).unwrap();
                        // Every thread also rewrites one shared key: the last one wins.
                        writer
                            .submit(Submission::default(), |changes| {
                                changes.insert(b"last".to_vec(), n.to_be_bytes().to_vec());
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(writer.has_pending_record(b"7/199") || tree.contains_key("7/199").unwrap());
        writer.wait_idle().unwrap();
        assert_eq!(tree.len(), 8 * 200 + 1);
        assert!(
            !writer.has_pending_record(b"7/199"),
            "applied: no longer pending"
        );
        assert_eq!(
            tree.get("last").unwrap().unwrap().as_ref(),
            199u32.to_be_bytes()
        );
        for n in 0..200u128 {
            assert!(
                seen.contains(n + 1).unwrap(),
                "the marks follow their records"
            );
            assert!(!writer.has_pending_mark(n + 1));
        }
    }

    #[test]
    fn a_pending_record_is_found_before_its_round() {
        let dir = tempfile::tempdir().unwrap();
        let (db, tree, seen) = open(dir.path());
        let mut writer = RecordWriter::start(db, tree.clone(), seen, false).unwrap();
        // The first submission starts a gathering window of GATHER_FOR.
        writer.submit(submission("p/x".into(), 1), |_| {}).unwrap();
        let pending = writer.pending_record(b"p/x");
        let in_tree = tree.contains_key("p/x").unwrap();
        assert!(
            pending.is_some() || in_tree,
            "a submitted record is visible, pending or applied"
        );
        writer.close().unwrap();
        assert!(
            tree.contains_key("p/x").unwrap(),
            "close applies what waits"
        );
    }
}
