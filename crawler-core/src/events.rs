//! What a running crawl tells its embedder, as it happens: one [`CrawlEvent`] per
//! page fetched, stored or refused, per host closed, and one when the crawl ends.
//!
//! Events travel on a bounded crossbeam channel ([`crate::CrawlHandle::events`],
//! [`crate::Crawler::events`]), so a consumer that reads slowly (or not at all) cannot
//! make the crawl's memory grow: **when the channel is full, a new event is dropped**
//! and counted in [`crate::Snapshot::events_dropped`]. Workers never wait for the
//! consumer; a crawl runs as fast with a slow consumer as without one. Events that
//! do arrive arrive in the order they happened for each page (a page's
//! [`CrawlEvent::PageFetched`] or [`CrawlEvent::FetchFailed`] before its
//! [`CrawlEvent::PageStored`]); dropping only leaves gaps.
//!
//! [`CrawlEvent::CrawlFinished`] is always delivered: the channel holds room beyond
//! its capacity for every thread that sends, so once the workers are done the final
//! event finds a free slot whatever the consumer did.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::progress::{CrawlSummary, Progress};

/// The default capacity of the event channel.
pub const DEFAULT_EVENT_CAPACITY: usize = 4096;

/// Something that happened in a crawl.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CrawlEvent {
    /// A response arrived for a page (any status); its record is written next.
    PageFetched {
        /// The canonical URL.
        url: String,
        /// The response's status code.
        status: u16,
        /// Link hops from a seed.
        depth: u32,
    },
    /// A fetch ended without a usable response (timeout, connection refused, ...).
    FetchFailed {
        /// The canonical URL.
        url: String,
        /// The error kind the store records (`timeout`, `connect`, ...).
        kind: String,
        /// What went wrong.
        message: String,
        /// The fetch will be tried again; no record is written this time.
        retrying: bool,
    },
    /// A page hook (page handler, URL filter, page sink) failed on this page; the
    /// page is stored with the error `hook-failed`.
    HookFailed {
        /// The canonical URL.
        url: String,
        /// Which hook, and what it said or the panic's message.
        message: String,
    },
    /// A page's record (and body, outlinks and new frontier entries) is durably
    /// stored.
    PageStored {
        /// The canonical URL.
        url: String,
        /// `None` when the fetch got no response.
        status: Option<u16>,
        /// The error kind recorded, if any.
        error: Option<String>,
        /// Links on the page (stored as its outlinks).
        outlinks: u32,
        /// URLs this page added to the frontier.
        queued: usize,
    },
    /// A URL was not fetched because robots.txt disallows it.
    RobotsRefused {
        /// The canonical URL.
        url: String,
        /// The rule (and group) that refused it.
        rule: String,
    },
    /// A host is closed: parked after repeated connection failures
    /// (`host-unreachable`), or its robots.txt stayed unreachable
    /// (`robots-unavailable`). Its queued URLs are recorded with that error.
    HostClosed {
        /// The host key (`http://a.test:80`).
        host: String,
        /// `host-unreachable` or `robots-unavailable`.
        kind: String,
        /// Why, as recorded against its URLs.
        reason: String,
    },
    /// The crawl ended; always the last event, always delivered.
    CrawlFinished {
        /// What the crawl did (boxed: the largest event by far).
        summary: Box<CrawlSummary>,
        /// Why the crawl failed, when it did (the store refused a write).
        error: Option<String>,
    },
}

/// The sending side, shared by the scheduler and the workers.
#[derive(Clone, Debug)]
pub(crate) struct Events {
    sender: Sender<CrawlEvent>,
    /// Events queued beyond this are dropped; the channel holds more, so that the
    /// final event always fits.
    capacity: usize,
    progress: Arc<Progress>,
}

impl Events {
    /// A channel for `capacity` events, with room beyond it for `senders` threads that
    /// may each pass the capacity check at once, and for the final event.
    pub(crate) fn channel(
        capacity: usize,
        senders: usize,
        progress: Arc<Progress>,
    ) -> (Events, Receiver<CrawlEvent>) {
        let (sender, receiver) = crossbeam_channel::bounded(capacity + senders + 1);
        (
            Events {
                sender,
                capacity,
                progress,
            },
            receiver,
        )
    }

    /// Sends without waiting; a full channel drops the event and counts it.
    pub(crate) fn emit(&self, event: CrawlEvent) {
        if self.sender.len() >= self.capacity {
            self.progress.record_event_dropped();
            return;
        }
        match self.sender.try_send(event) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => self.progress.record_event_dropped(),
        }
    }

    /// Sends the final event: every other sender is done, so a slot is free.
    pub(crate) fn finish(&self, event: CrawlEvent) {
        if let Err(TrySendError::Full(_)) = self.sender.try_send(event) {
            self.progress.record_event_dropped();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished() -> CrawlEvent {
        CrawlEvent::CrawlFinished {
            summary: Box::default(),
            error: None,
        }
    }

    #[test]
    fn a_full_channel_drops_new_events_but_never_the_final_one() {
        let progress = Arc::new(Progress::default());
        let (events, receiver) = Events::channel(2, 3, Arc::clone(&progress));
        for depth in 0..5 {
            events.emit(CrawlEvent::PageFetched {
                url: "http://a.test/".into(),
                status: 200,
                depth,
            });
        }
        events.finish(finished());
        let got: Vec<CrawlEvent> = receiver.try_iter().collect();
        assert_eq!(got.len(), 3);
        assert!(matches!(got[0], CrawlEvent::PageFetched { depth: 0, .. }));
        assert!(matches!(got[1], CrawlEvent::PageFetched { depth: 1, .. }));
        assert_eq!(got[2], finished());
        assert_eq!(progress.snapshot().events_dropped, 3);
    }
}
