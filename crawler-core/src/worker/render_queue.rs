//! How a worker hands a stored page to the render pool (`--render`): a
//! [`RenderQueue`] of [`RenderTask`]s, the count of renders not yet reported,
//! which the scheduler holds the crawl's end to, and the signal a rendering page's
//! request waits on for the fetch it queued ([`RenderQueue::wait_for_write`]).
//!
//! The worker only queues: rendering waits for the page's embeds, which the workers
//! fetch, so it runs on threads of its own (`render.rs`), one per tab.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::messages::Job;

/// A page to render, as the engine fetched it.
#[cfg_attr(not(feature = "render"), allow(dead_code))]
pub(crate) struct RenderJob {
    pub job: Job,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// One of its host's trial pages (`--render auto`): what it had as fetched, to
    /// compare its rendering with.
    pub trial: Option<AsFetched>,
}

/// A trial page as fetched: its outlinks and its visible characters.
#[cfg_attr(not(feature = "render"), allow(dead_code))]
pub(crate) struct AsFetched {
    pub links: HashSet<String>,
    pub text: usize,
}

/// What a render thread is handed.
#[cfg_attr(not(feature = "render"), allow(dead_code))]
pub(crate) enum RenderTask {
    Page(Box<RenderJob>),
    /// The crawl is over: end.
    Quit,
}

/// Where workers queue pages for rendering.
pub(crate) struct RenderQueue {
    tasks: Sender<RenderTask>,
    /// Renders queued and not yet reported done (the scheduler decrements it when it
    /// takes a render's last report; a worker increments it before its page's report).
    pending: Arc<AtomicUsize>,
    /// Set once the scheduler dispatches nothing more (stopping, or the page budget
    /// spent): a rendering page's request for a URL not yet stored then fails at once
    /// instead of waiting for a fetch that will not come.
    closed: AtomicBool,
    /// Store writes made by the workers so far: a request waiting for its URL's
    /// record looks again after each (a worker's write is read back the moment it
    /// returns), and at [`RenderQueue::close`].
    writes: Mutex<u64>,
    written: Condvar,
}

impl RenderQueue {
    /// A queue and the end the render threads take tasks from.
    pub(crate) fn new() -> (RenderQueue, Receiver<RenderTask>) {
        let (tasks, taken) = crossbeam_channel::unbounded();
        let queue = RenderQueue {
            tasks,
            pending: Arc::new(AtomicUsize::new(0)),
            closed: AtomicBool::new(false),
            writes: Mutex::new(0),
            written: Condvar::new(),
        };
        (queue, taken)
    }

    /// The count of renders not yet reported done.
    pub(crate) fn pending(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.pending)
    }

    /// Queues `job`, counted as pending until the scheduler takes its last report.
    pub(crate) fn submit(&self, job: RenderJob) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.tasks.send(RenderTask::Page(Box::new(job))).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// No more fetches will be dispatched (see `closed`): the waiting requests are
    /// woken to give up.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wrote();
    }

    /// A worker wrote to the store: what a waiting request may wait for is there.
    pub(crate) fn wrote(&self) {
        let mut writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        *writes += 1;
        self.written.notify_all();
    }

    /// The writes so far: what [`RenderQueue::wait_for_write`] waits past. Taken
    /// before looking at the store, so that a write after the look is not missed.
    #[cfg_attr(not(feature = "render"), allow(dead_code))]
    pub(crate) fn writes(&self) -> u64 {
        *self.writes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a write after `seen` ([`RenderQueue::writes`]), or the close, or
    /// `until`.
    #[cfg_attr(not(feature = "render"), allow(dead_code))]
    pub(crate) fn wait_for_write(&self, seen: u64, until: Instant) {
        let mut writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        while *writes == seen {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return;
            };
            writes = (self.written.wait_timeout(writes, left))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Whether [`RenderQueue::close`] was called.
    #[cfg_attr(not(feature = "render"), allow(dead_code))]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Tells `threads` render threads to end once the queue is drained.
    pub(crate) fn quit(&self, threads: usize) {
        for _ in 0..threads {
            let _ = self.tasks.send(RenderTask::Quit);
        }
    }
}
