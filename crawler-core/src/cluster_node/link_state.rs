//! What the scheduler and the bridge thread share: the messages one sends the other,
//! and the counters the bridge keeps for the scheduler to read.

use std::sync::atomic::AtomicU64;

use crate::messages::{AdoptedHost, HostNews, Queued};

/// [`LinkState::finished_at`] when the crawl is not known to be over.
pub(crate) const NOT_FINISHED: u64 = u64::MAX;

/// What the scheduler sends the bridge.
pub(crate) enum ToBridge {
    /// New URLs (stored in the journal already): to their partitions' queues.
    Forward(Vec<Queued>),
    /// URLs whose records are stored: their deliveries are done.
    Recorded(Vec<String>),
    /// What the frontier learned of hosts' politeness: to their partitions.
    Politeness(Vec<HostNews>),
    /// The crawl is over here: hand over what is left, release the leases.
    Close,
}

/// What the bridge sends the scheduler.
pub(crate) enum FromBridge {
    /// Entries taken from this node's partitions, for the frontier, and what former
    /// owners shared of their hosts (to adopt once they are queued).
    Deliveries {
        queued: Vec<Queued>,
        adopted: Vec<AdoptedHost>,
    },
    /// Entries given up after too many deliveries (with their counts): to record.
    DeadLetters(Vec<(Queued, u32)>),
    /// Partitions another node took over (this node was paused past its lease): the
    /// frontier drops what it holds of their hosts.
    Lost {
        partitions: Vec<u32>,
        /// The crawl's partition count, to place a host.
        of: u32,
    },
}

/// What the bridge tells the scheduler without a message.
#[derive(Default)]
pub(crate) struct LinkState {
    /// Messages the bridge has handled.
    pub(super) handled: AtomicU64,
    /// How many messages the bridge had handled when it saw the whole crawl over
    /// with nothing left here ([`NOT_FINISHED`] otherwise).
    pub(super) finished_at: AtomicU64,
}
