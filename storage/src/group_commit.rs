//! Group commit: many writers' batches made durable by one flush.
//!
//! A durable page write is a sled batch followed by a flush (an `fsync`), and a flush
//! costs milliseconds while a batch costs microseconds. With one flush per page, sixteen
//! workers queue up behind each other's flushes and sled's writers contend for its
//! tree. Here the first writer to arrive while no flush is running becomes the *leader*:
//! it takes every batch queued so far, applies them in the order they arrived, flushes
//! once, and wakes their writers. Writers that arrive meanwhile queue up for the next
//! round. Nobody returns before a flush that covers their batch has finished, so a
//! write that returned is on disk, as with a flush per write.
//!
//! No lock is held while applying or flushing: the lock guards only the queue and the
//! counters.

use std::sync::{Condvar, Mutex, MutexGuard};

/// Orders and groups durable writes to one sled tree.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    round_done: Condvar,
}

#[derive(Default)]
struct State {
    /// Batches waiting for the next round, in arrival order.
    queue: Vec<sled::Batch>,
    /// The ticket the next batch gets; tickets number batches in arrival order.
    next_ticket: u64,
    /// Every batch with a smaller ticket has been through a round.
    committed: u64,
    /// A round is running.
    leading: bool,
    /// The first failed round's first ticket and its error: this batch and every later
    /// one fail, since a store whose flush failed cannot promise anything after it.
    failure: Option<(u64, sled::Error)>,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is counters and a queue, each valid after a panic elsewhere.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `batch` to `tree` and returns once a flush of `db` covering it finished.
    ///
    /// `complete` is called on the batch just before it takes its place in the order of
    /// application, under the lock that fixes that order: what it adds reaches the tree
    /// in the same order as the calls (the running totals rely on it).
    pub(crate) fn commit(
        &self,
        db: &sled::Db,
        tree: &sled::Tree,
        mut batch: sled::Batch,
        complete: impl FnOnce(&mut sled::Batch),
    ) -> Result<(), sled::Error> {
        let mut state = self.lock();
        complete(&mut batch);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push(batch);
        loop {
            if state.committed > ticket {
                return match &state.failure {
                    Some((first, error)) if *first <= ticket => Err(error.clone()),
                    _ => Ok(()),
                };
            }
            if state.leading {
                state = self
                    .round_done
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            state.leading = true;
            let round = std::mem::take(&mut state.queue);
            let first = state.committed;
            let end = state.next_ticket;
            drop(state);

            let result = Self::apply_round(db, tree, round);

            state = self.lock();
            if let Err(error) = result {
                state.failure.get_or_insert((first, error));
            }
            state.committed = end;
            state.leading = false;
            self.round_done.notify_all();
        }
    }

    fn apply_round(
        db: &sled::Db,
        tree: &sled::Tree,
        round: Vec<sled::Batch>,
    ) -> Result<(), sled::Error> {
        for batch in round {
            tree.apply_batch(batch)?;
        }
        db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_writer_returns_with_its_batch_applied() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree("t").unwrap();
        let group = Arc::new(GroupCommit::default());
        let threads: Vec<_> = (0..8u32)
            .map(|writer| {
                let (db, tree, group) = (db.clone(), tree.clone(), Arc::clone(&group));
                std::thread::spawn(move || {
                    for n in 0..200u32 {
                        let mut batch = sled::Batch::default();
                        let key = format!("{writer}/{n}");
                        batch.insert(key.as_bytes(), &n.to_be_bytes()[..]);
                        group.commit(&db, &tree, batch, |_| {}).unwrap();
                        // Returned means applied: visible to this writer at once.
                        assert!(tree.contains_key(key.as_bytes()).unwrap());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(tree.len(), 8 * 200);
        let state = group.lock();
        assert_eq!(state.committed, 8 * 200);
        assert!(state.queue.is_empty() && !state.leading);
    }
}
