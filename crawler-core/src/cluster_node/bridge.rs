//! The bridge thread: the one place a node talks to the cluster while it crawls.
//!
//! Each round it hands the cluster what the scheduler sent, in order (new URLs,
//! each to its partition's queue; recorded URLs, acknowledged), renews and balances
//! its leases every third of a lease, tops the scheduler's supply of deliveries up
//! to a fixed room, and, once nothing is left here, asks whether the whole crawl is
//! over. Order matters: a page's new URLs are enqueued before the page itself is
//! acknowledged, so "nothing queued and nothing in flight" means no URL is still
//! only in a node's hands. Redis errors are logged once per outage and retried with
//! backoff; the messages wait meanwhile (the store's journal keeps new URLs too).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawler_cluster::{Backlog, ClusterError, Delivery, Entry, Session};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::held::Held;
use super::link_state::{FromBridge, LinkState, ToBridge, NOT_FINISHED};
use super::payload;
use super::politeness::SharedPoliteness;
use super::scope_reader::ScopeReader;
use crate::messages::Queued;

/// The shortest and longest waits of an idle round: an idle node costs Redis a few
/// commands a second at most.
const IDLE_FIRST: Duration = Duration::from_millis(20);
const IDLE_MOST: Duration = Duration::from_secs(8);
/// From this wait on, a round first reads every partition's backlog (one pipelined
/// round trip): takes go only to partitions with something queued, and an empty
/// backlog everywhere is the end of the crawl.
const SLOW_IDLE: Duration = Duration::from_millis(500);
/// How often the live nodes are read between balancing rounds.
const LOOK_FOR_NODES: Duration = Duration::from_secs(1);
/// How long a closing node keeps trying to hand over what it holds.
const CLOSING_PATIENCE: Duration = Duration::from_secs(15);
/// How long what was enqueued and acknowledged is kept to be done again after an
/// outage: a Redis that crashed and restarted has lost at most its last second of
/// writes (`appendfsync everysec`), and the same writes done twice change nothing.
const REPLAY_WINDOW: Duration = Duration::from_secs(5);

/// Dead letters named one by one in the log; later ones are counted.
const NAMED_DEAD_LETTERS: u64 = 10;

/// A write kept for [`REPLAY_WINDOW`].
pub(super) enum Replay {
    Enqueue(u32, Vec<Entry>),
    Ack(u32, Vec<Delivery>),
}

pub(super) struct Bridge {
    pub session: Session,
    /// The hosts' politeness shared through Redis.
    pub politeness: SharedPoliteness,
    pub held: Held,
    pub incoming: Receiver<ToBridge>,
    pub deliveries: Sender<FromBridge>,
    pub state: Arc<LinkState>,
    /// The crawl's scope keys, read as they are added.
    pub scope: ScopeReader,
    /// Deliveries handed to the scheduler and not recorded, at most.
    pub room: usize,
    pub pending: VecDeque<ToBridge>,
    /// Messages handled (what [`LinkState::finished_at`] is compared with).
    pub handled: u64,
    /// Whether this node marked the crawl as having had URLs enqueued.
    pub seeded: bool,
    /// URLs this node gave up after too many deliveries.
    pub dead_letters: u64,
    /// The writes of the last [`REPLAY_WINDOW`], oldest first.
    pub recent: VecDeque<(Instant, Replay)>,
}

impl Bridge {
    pub fn run(mut self) {
        let lease = self.session.crawl().config().lease;
        let mut next_balance = Instant::now();
        let mut next_look = Instant::now();
        let mut live: Vec<String> = Vec::new();
        let mut idle = IDLE_FIRST;
        let mut outage: Option<Instant> = None;
        let mut closing: Option<Instant> = None;
        loop {
            while let Ok(message) = self.incoming.try_recv() {
                self.receive(message, &mut closing);
            }
            let mut busy = false;
            let result = (|| -> Result<(), ClusterError> {
                if outage.is_some() {
                    // What a restarted Redis may have lost is written again first.
                    self.replay()?;
                }
                busy |= self.hand_over()?;
                // A node joining or leaving is seen within a second, not at the next
                // renewal: the plan moves partitions to it at once.
                if Instant::now() >= next_look {
                    let now_live = self.session.live_nodes()?;
                    if now_live != live {
                        next_balance = Instant::now();
                        live = now_live;
                    }
                    next_look = Instant::now() + LOOK_FOR_NODES;
                }
                if Instant::now() >= next_balance {
                    // Short of its share, a node looks again soon: the others release
                    // what they drain as soon as it is recorded.
                    let short = self.held.balance(&mut self.session)?;
                    let every = if short { LOOK_FOR_NODES } else { lease / 3 };
                    next_balance = Instant::now() + every.min(lease / 3);
                }
                if closing.is_none() {
                    let backlog = match idle >= SLOW_IDLE {
                        true => Some(self.session.backlog()?),
                        false => None,
                    };
                    let queued = backlog.as_ref().map(|(b, _)| b.as_slice());
                    busy |= self.supply(queued)?;
                    if let Some((backlog, seeded)) = backlog.filter(|_| !busy) {
                        self.check_finished(&backlog, seeded);
                    }
                }
                Ok(())
            })();
            let lost = self.held.take_lost();
            if !lost.is_empty() {
                let of = self.session.crawl().partitions();
                let _ = self.deliveries.send(FromBridge::Lost {
                    partitions: lost,
                    of,
                });
            }
            match result {
                Ok(()) => {
                    if let Some(since) = outage.take() {
                        tracing::info!(
                            secs = since.elapsed().as_secs(),
                            "Redis answers again: going on"
                        );
                    }
                }
                Err(error) => {
                    if outage.is_none() {
                        tracing::warn!(%error, "the cluster's Redis failed: retrying with backoff");
                        outage = Some(Instant::now());
                    }
                    busy = false;
                }
            }
            if let Some(since) = closing {
                let done = self.pending.is_empty() && outage.is_none();
                if done || since.elapsed() >= CLOSING_PATIENCE {
                    break;
                }
            }
            idle = if busy {
                IDLE_FIRST
            } else {
                (idle * 2).min(IDLE_MOST)
            };
            if busy {
                continue;
            }
            // Not past the next balancing round: a node short of its share looks again.
            let until_balance = next_balance.saturating_duration_since(Instant::now());
            let wait = idle.min(until_balance).max(IDLE_FIRST);
            match self.incoming.recv_timeout(wait) {
                Ok(message) => {
                    self.receive(message, &mut closing);
                    idle = IDLE_FIRST;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    closing.get_or_insert_with(Instant::now);
                }
            }
        }
        self.leave();
    }

    fn receive(&mut self, message: ToBridge, closing: &mut Option<Instant>) {
        self.state.finished_at.store(NOT_FINISHED, Ordering::SeqCst);
        match message {
            ToBridge::Close => {
                closing.get_or_insert_with(Instant::now);
            }
            message => self.pending.push_back(message),
        }
    }

    /// Hands the cluster the scheduler's messages, in order; true when there were any.
    fn hand_over(&mut self) -> Result<bool, ClusterError> {
        let any = !self.pending.is_empty();
        while let Some(message) = self.pending.front() {
            let now = Instant::now();
            match message {
                ToBridge::Forward(queued) => {
                    if !self.seeded {
                        self.session.mark_seeded()?;
                        self.seeded = true;
                    }
                    for (p, entries) in enqueue(&mut self.session, queued)? {
                        self.recent.push_back((now, Replay::Enqueue(p, entries)));
                    }
                }
                ToBridge::Recorded(urls) => {
                    let mut acked = Vec::new();
                    let result = self.held.recorded(&mut self.session, urls, &mut acked);
                    for (p, deliveries) in acked {
                        self.recent.push_back((now, Replay::Ack(p, deliveries)));
                    }
                    result?;
                }
                ToBridge::Politeness(news) => {
                    (self.politeness).share(&mut self.session, &self.held, news)?;
                }
                ToBridge::Close => {}
            }
            while (self.recent.front()).is_some_and(|(at, _)| now - *at > REPLAY_WINDOW) {
                self.recent.pop_front();
            }
            self.pending.pop_front();
            self.handled += 1;
            self.state.handled.store(self.handled, Ordering::SeqCst);
        }
        Ok(any)
    }

    /// Does the writes of the last [`REPLAY_WINDOW`] again, in order.
    fn replay(&mut self) -> Result<(), ClusterError> {
        for (_, write) in &self.recent {
            match write {
                Replay::Enqueue(p, entries) => {
                    self.session.enqueue(*p, entries)?;
                }
                Replay::Ack(p, deliveries) => {
                    self.held.ack_again(&mut self.session, *p, deliveries)?;
                }
            }
        }
        tracing::info!(
            writes = self.recent.len(),
            "the last seconds' writes done again after the outage"
        );
        Ok(())
    }

    /// Reads new scope keys, then takes entries up to the room left (with a
    /// `backlog`, only from partitions with something queued); true when it took any.
    fn supply(&mut self, backlog: Option<&[Backlog]>) -> Result<bool, ClusterError> {
        let room = self.room.saturating_sub(self.held.outstanding());
        let queued =
            |p: u32| backlog.is_none_or(|b| b.get(p as usize).is_some_and(|b| b.queued > 0));
        if room == 0 || !self.held.any(queued) {
            return Ok(false);
        }
        self.scope.catch_up(&mut self.session)?;
        let hold = self.session.crawl().config().lease * 10;
        let mut takings = self.held.take(&mut self.session, room, hold, queued)?;
        if !takings.dead.is_empty() {
            // The first few are named; later ones are counted, a line a take, so a
            // run of crashes does not flood the log (the store records every one).
            for (queued, deliveries) in &takings.dead {
                if self.dead_letters < NAMED_DEAD_LETTERS {
                    tracing::warn!(
                        url = queued.url.as_str(),
                        deliveries,
                        "delivered too many times without being recorded: dead-lettered"
                    );
                }
                self.dead_letters += 1;
            }
            let unnamed = (self.dead_letters.saturating_sub(NAMED_DEAD_LETTERS))
                .min(takings.dead.len() as u64);
            if unnamed > 0 {
                tracing::warn!(
                    unnamed,
                    total = self.dead_letters,
                    "more URLs dead-lettered (crawler ls --error dead-letter lists them)"
                );
            }
            // Busy: the end is not judged before the scheduler has them to record.
            self.state.finished_at.store(NOT_FINISHED, Ordering::SeqCst);
            let dead = FromBridge::DeadLetters(std::mem::take(&mut takings.dead));
            let sent = self.deliveries.send(dead).is_ok();
            if takings.queued.is_empty() {
                return Ok(sent);
            }
        }
        if takings.queued.is_empty() {
            return Ok(false);
        }
        self.state.finished_at.store(NOT_FINISHED, Ordering::SeqCst);
        // Taken, so handed over even when reading the hosts' politeness fails.
        let adopted = (self.politeness).adopted(&mut self.session, &self.held, &takings.queued);
        let deliveries = FromBridge::Deliveries {
            queued: takings.queued,
            adopted,
        };
        Ok(self.deliveries.send(deliveries).is_ok())
    }

    /// Says the crawl is over when nothing is queued or in flight anywhere (and
    /// something ever was) and nothing waits here.
    fn check_finished(&mut self, backlog: &[Backlog], seeded: bool) {
        let empty = backlog.iter().all(|b| b.queued == 0 && b.in_flight == 0);
        if seeded && empty && self.pending.is_empty() && self.held.outstanding() == 0 {
            self.state.finished_at.store(self.handled, Ordering::SeqCst);
        }
    }

    /// Releases every lease and leaves the live nodes, so the others go on at once.
    fn leave(&mut self) {
        let left = self
            .held
            .release_all(&mut self.session)
            .and_then(|()| self.session.leave());
        if let Err(error) = left {
            tracing::warn!(%error, "could not release this node's partitions: they pass to other nodes when the leases lapse");
        }
        if !self.pending.is_empty() {
            tracing::warn!(
                messages = self.pending.len(),
                "left the cluster with URLs not handed over: the store's journal has them for the next start"
            );
        }
    }
}

/// Enqueues `queued` into their partitions' queues, one call per partition; returns
/// what it enqueued, by partition.
fn enqueue(
    session: &mut Session,
    queued: &[Queued],
) -> Result<Vec<(u32, Vec<Entry>)>, ClusterError> {
    let mut by_partition: BTreeMap<u32, Vec<Entry>> = BTreeMap::new();
    for q in queued {
        let p = session.crawl().partition_of(q.url.host_key().as_str());
        let entry = Entry::new(q.url.as_str(), payload::encode(q));
        by_partition.entry(p).or_default().push(entry);
    }
    for (p, entries) in &by_partition {
        session.enqueue(*p, entries)?;
    }
    Ok(by_partition.into_iter().collect())
}
