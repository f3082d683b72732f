//! A node of a crawl shared through Redis (`--cluster`): how the engine takes its
//! work from the cluster and hands back what it found.
//!
//! The node runs the ordinary engine. What changes is where URLs come from and go:
//! - the scheduler's frontier holds only *deliveries*, entries taken from the
//!   partitions this node leases; a host belongs to one partition and a partition
//!   to one node, so a host's politeness is kept by one frontier at a time;
//! - the URLs a page (or a seed list, or a robots.txt) leads to are written to the
//!   node's store as ever, which is their journal, and sent to their partitions'
//!   queues in Redis, where the shared seen-set keeps only the new ones;
//! - a delivery is acknowledged once its record is stored and the URLs it led to
//!   are enqueued;
//! - the crawl ends when nothing is queued or in flight in the whole cluster.
//!
//! The scheduler talks to one [`ClusterLink`]; the link's thread (`bridge.rs`) does
//! all the talking to Redis, so a slow or lost Redis never stalls the scheduler.
//! `held.rs` keeps the node's leases and deliveries, `join.rs` the shared settings,
//! `payload.rs` the bytes of an entry, `politeness.rs` the hosts' politeness state
//! shared through Redis.

mod bridge;
mod held;
mod join;
mod link_state;
mod payload;
mod politeness;
mod scope_reader;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crawler_cluster::{Crawl, Session};
use crossbeam_channel::{Receiver, Sender};

pub use join::{join_cluster, SHARED_SETTINGS};
pub(crate) use link_state::{FromBridge, LinkState, ToBridge, NOT_FINISHED};

use crate::crawl_error::CrawlError;
use crate::messages::{HostNews, Queued};
use crate::url::SharedScopeKeys;
use scope_reader::ScopeReader;

/// The scheduler's end of the link to the cluster.
pub(crate) struct ClusterLink {
    to_bridge: Sender<ToBridge>,
    /// Entries taken from this node's partitions, and partitions lost.
    pub(crate) deliveries: Receiver<FromBridge>,
    state: Arc<LinkState>,
    /// Messages sent to the bridge (Close aside).
    sent: u64,
    bridge: Option<JoinHandle<()>>,
}

/// How a node starts in the cluster.
pub(crate) struct Start {
    pub crawl: Crawl,
    /// The scope keys of the seeds this node was given, for the other nodes.
    pub scope_keys: Vec<String>,
    /// Where the scope keys of every node's seeds are learned.
    pub learned: Arc<SharedScopeKeys>,
    /// URLs in the store's journal: found by an earlier run and maybe never handed to
    /// the cluster.
    pub journal: Vec<Queued>,
    /// Deliveries in the scheduler's hands at most.
    pub room: usize,
    /// The crawl's per-host spacing: how long after claiming a partition its hosts
    /// are first fetched.
    pub settle: Duration,
}

impl ClusterLink {
    /// Shares this node's seeds' scope, learns everyone's, hands over the journal,
    /// and starts the bridge thread.
    pub(crate) fn start(start: Start) -> Result<ClusterLink, CrawlError> {
        let mut session = Session::open(&start.crawl)?;
        match session.durability() {
            Ok(durability) => {
                if let Some(warning) = durability.warning() {
                    tracing::warn!("{warning}");
                }
            }
            Err(error) => tracing::debug!(%error, "cannot read Redis's persistence settings"),
        }
        session.add_scope_keys(&start.scope_keys)?;
        let mut scope = ScopeReader::new(start.learned);
        scope.catch_up(&mut session)?;
        let (to_bridge, incoming) = crossbeam_channel::unbounded();
        let (supply, deliveries) = crossbeam_channel::unbounded();
        let state = Arc::new(LinkState {
            handled: AtomicU64::new(0),
            finished_at: AtomicU64::new(NOT_FINISHED),
        });
        let mut link = ClusterLink {
            to_bridge,
            deliveries,
            state: Arc::clone(&state),
            sent: 0,
            bridge: None,
        };
        for chunk in start.journal.chunks(1024) {
            link.forward(chunk.to_vec());
        }
        let politeness = politeness::SharedPoliteness::start(&mut session)?;
        let bridge = bridge::Bridge {
            session,
            politeness,
            held: held::Held::new(start.settle),
            incoming,
            deliveries: supply,
            state,
            scope,
            room: start.room,
            pending: VecDeque::new(),
            handled: 0,
            recent: VecDeque::new(),
            seeded: false,
            dead_letters: 0,
        };
        let thread = std::thread::Builder::new()
            .name("cluster".into())
            .spawn(move || bridge.run())?;
        link.bridge = Some(thread);
        Ok(link)
    }

    /// New URLs, for their partitions' queues.
    pub(crate) fn forward(&mut self, queued: Vec<Queued>) {
        if !queued.is_empty() {
            self.send(ToBridge::Forward(queued));
        }
    }

    /// URLs whose records are stored.
    pub(crate) fn recorded(&mut self, urls: Vec<String>) {
        if !urls.is_empty() {
            self.send(ToBridge::Recorded(urls));
        }
    }

    /// What the frontier learned of hosts' politeness, for their next owners.
    pub(crate) fn share(&mut self, news: Vec<HostNews>) {
        if !news.is_empty() {
            self.send(ToBridge::Politeness(news));
        }
    }

    fn send(&mut self, message: ToBridge) {
        // The bridge ends only after Close; until then a send cannot fail.
        if self.to_bridge.send(message).is_ok() {
            self.sent += 1;
        }
    }

    /// Whether the whole crawl is over: the bridge saw nothing queued or in flight
    /// anywhere after it had handled every message sent to it.
    pub(crate) fn finished(&self) -> bool {
        self.state.finished_at.load(Ordering::SeqCst) == self.sent
    }

    /// Hands over what is left and releases the node's leases; waits for the bridge.
    pub(crate) fn close(mut self) {
        let _ = self.to_bridge.send(ToBridge::Close);
        if let Some(bridge) = self.bridge.take() {
            if bridge.join().is_err() {
                tracing::error!("the cluster bridge panicked");
            }
        }
    }
}
