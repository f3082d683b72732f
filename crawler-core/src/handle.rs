//! A crawl running on its own thread, and what its embedder can do with it while it
//! runs: stop, pause, resume, read live counters and events, wait for the end.

use std::sync::Arc;
use std::thread::JoinHandle;

use crawler_storage::Store;
use crossbeam_channel::Receiver;

use crate::crawl_error::CrawlError;
use crate::events::CrawlEvent;
use crate::live::LiveStatus;
use crate::progress::{CrawlSummary, Progress, Snapshot};
use crate::scheduler::StopHandle;

/// A crawl started with [`crate::Crawler::spawn`].
///
/// Dropping the handle does not stop the crawl: it runs to its end on its thread
/// (call [`CrawlHandle::stop`] first to end it early).
pub struct CrawlHandle {
    thread: JoinHandle<Result<CrawlSummary, CrawlError>>,
    control: StopHandle,
    progress: Arc<Progress>,
    events: Receiver<CrawlEvent>,
    store: Arc<Store>,
}

impl CrawlHandle {
    pub(crate) fn new(
        thread: JoinHandle<Result<CrawlSummary, CrawlError>>,
        control: StopHandle,
        progress: Arc<Progress>,
        events: Receiver<CrawlEvent>,
        store: Arc<Store>,
    ) -> CrawlHandle {
        CrawlHandle {
            thread,
            control,
            progress,
            events,
            store,
        }
    }

    /// Ends the crawl gracefully: nothing new is fetched, fetches in flight finish
    /// and are stored. Returns at once; [`CrawlHandle::join`] waits for the end.
    pub fn stop(&self) {
        self.control.stop();
    }

    /// Stops handing out new fetches (in-flight ones finish) until
    /// [`CrawlHandle::resume`].
    pub fn pause(&self) {
        self.control.pause();
    }

    /// Lets a paused crawl go on.
    pub fn resume(&self) {
        self.control.resume();
    }

    /// Whether a pause is in force.
    pub fn is_paused(&self) -> bool {
        self.control.is_paused()
    }

    /// A handle that can stop, pause and resume the crawl from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.control.clone()
    }

    /// The live counters now: a handful of atomic loads, cheap from any thread.
    pub fn stats(&self) -> Snapshot {
        self.progress.snapshot()
    }

    /// The live counters with latency histograms, each worker's URL and the hosts
    /// that are busiest, failing, slowest or parked (see [`crate::live`]); what
    /// `crawler crawl --listen` serves.
    pub fn status(&self) -> LiveStatus {
        self.progress.status()
    }

    /// The live counters, to be read from elsewhere (another thread, a service's
    /// metrics endpoint).
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// The crawl's events (see [`crate::events`]: bounded; new events are dropped
    /// when it is full; [`CrawlEvent::CrawlFinished`] always arrives last).
    pub fn events(&self) -> &Receiver<CrawlEvent> {
        &self.events
    }

    /// The store the crawl writes to; readable while it runs.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Whether the crawl has ended (`join` will not wait).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the crawl to end and returns its summary.
    pub fn join(self) -> Result<CrawlSummary, CrawlError> {
        match self.thread.join() {
            Ok(result) => result,
            Err(panic) => Err(CrawlError::Panicked(crate::hooks::panic_text(
                panic.as_ref(),
            ))),
        }
    }
}
