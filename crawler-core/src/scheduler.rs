//! The scheduler: the one thread that owns the frontier and moves URLs between it and
//! the workers.
//!
//! Each round it takes the workers' reports into the frontier, then hands a task to each
//! idle worker (a page, a robots.txt, or a batch of refused URLs to record), then waits
//! for a report, a stop or pause, or the instant the next waiting host becomes ready. It
//! sends only to an idle worker, so a job never waits in a channel while its host's
//! politeness clock runs. [`StopHandle`] holds the stop and pause flags it reads each
//! round.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawler_storage::{Store, StoreError};
use crossbeam_channel::{select, Receiver, Sender};

use crate::budgets::QueueBudgets;
use crate::closure_log::ClosureLog;
use crate::cluster_node::{ClusterLink, FromBridge};
use crate::events::{CrawlEvent, Events};
use crate::frontier::Frontier;
use crate::live::NAMED;
use crate::messages::{Health, Next, Queued, Report, Task};
use crate::pace::PaceKeeper;
use crate::progress::Progress;
use crate::worker::WorkerPool;
use crawler_cluster::partition_of;

/// Asks a running crawl to stop, or to pause: no new fetches; fetches in flight
/// finish and are stored. Cheap to clone and to call from any thread.
#[derive(Clone, Debug)]
pub struct StopHandle {
    stopped: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    wake: Sender<()>,
}

impl StopHandle {
    /// A handle with neither flag set, and the channel its wake-ups arrive on.
    pub(crate) fn new() -> (StopHandle, Receiver<()>) {
        let (wake, woken) = crossbeam_channel::bounded(1);
        let handle = StopHandle {
            stopped: Arc::new(AtomicBool::new(false)),
            paused: Arc::new(AtomicBool::new(false)),
            wake,
        };
        (handle, woken)
    }

    /// Ends the crawl: nothing new is fetched, fetches in flight finish and are
    /// stored, then [`Crawler::run`](crate::Crawler::run) returns its summary. The frontier stays in the
    /// store, so a crawl over the same store continues where this one stopped.
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            tracing::info!("stop requested: finishing the fetches in flight");
        }
        let _ = self.wake.try_send(());
    }

    /// Whether a stop was requested.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Stops handing out new fetches until [`StopHandle::resume`]; fetches in flight
    /// finish and are stored. A paused crawl holds its frontier; stopping it works.
    pub fn pause(&self) {
        if !self.paused.swap(true, Ordering::SeqCst) {
            tracing::info!("crawl paused");
        }
        let _ = self.wake.try_send(());
    }

    /// Lets a paused crawl go on.
    pub fn resume(&self) {
        if self.paused.swap(false, Ordering::SeqCst) {
            tracing::info!("crawl resumed");
        }
        let _ = self.wake.try_send(());
    }

    /// Whether a pause is in force (see [`crate::Snapshot::paused`] for whether the scheduler has taken it).
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }
}

/// The loop that owns the frontier: take reports, hand out jobs, wait for the next event.
pub(crate) struct Scheduler {
    frontier: Frontier,
    /// The workers: the scheduler sends them tasks and receives their reports.
    workers: WorkerPool,
    stop_signal: Receiver<()>,
    stop: StopHandle,
    progress: Arc<Progress>,
    idle_workers: usize,
    /// Room in the hosts' queues: given back as URLs leave them.
    budgets: Arc<QueueBudgets>,
    /// Page fetches this run may start (what is left of the crawl's budget, at most
    /// the per-run limit).
    max_pages: Option<u64>,
    dispatched: u64,
    failure: Option<StoreError>,
    events: Events,
    /// When the active and parked hosts were last counted (a walk over every host).
    counted_hosts_at: Option<Instant>,
    /// Hosts closed: named one by one, then counted (a broad crawl closes many).
    closures: ClosureLog,
    /// The seed intake has not said it is done: the frontier may be empty only
    /// because the seeds are not all in yet.
    seeds_pending: bool,
    /// Where the hosts' politeness state is saved as it changes, and when it was.
    pace: Option<(Arc<Store>, PaceKeeper)>,
    /// A cluster node's link: the frontier's URLs come from it, new ones go to it.
    cluster: Option<ClusterLink>,
}

/// What the scheduler holds the run to: room in the hosts' queues, and the page
/// fetches it may start.
pub(crate) struct RunBudgets {
    pub queues: Arc<QueueBudgets>,
    /// What is left of the crawl's page budget, at most the per-run limit.
    pub pages: Option<u64>,
}

/// What a scheduler leaves when its loop ends, every worker joined.
pub(crate) struct Ended {
    /// The frontier as the crawl left it (what is queued, closed, capped).
    pub frontier: Frontier,
    /// The store error that stopped the crawl, if one did.
    pub failure: Option<StoreError>,
    /// Page fetches started (first tries only).
    pub dispatched: u64,
}

/// How often the active and parked hosts are counted, for each 10,000 hosts known: the
/// walk over every host then costs the same share of the scheduler's time at any breadth.
const HOST_COUNT_EVERY: Duration = Duration::from_millis(100);
/// The longest time between two counts.
const HOST_COUNT_AT_MOST_EVERY: Duration = Duration::from_secs(5);

/// How often the scheduler refreshes the live counters when nothing else happens.
const TICK: Duration = Duration::from_millis(200);

/// Refused URLs recorded by one worker task at most (one store batch).
const SETTLE_BATCH: usize = 512;

impl Scheduler {
    /// A scheduler over `frontier` and the started `workers`, all of them idle.
    pub(crate) fn new(
        frontier: Frontier,
        workers: WorkerPool,
        stop: StopHandle,
        stop_signal: Receiver<()>,
        progress: Arc<Progress>,
        events: Events,
        budgets: RunBudgets,
    ) -> Scheduler {
        Scheduler {
            frontier,
            idle_workers: workers.size(),
            workers,
            stop_signal,
            stop,
            progress,
            budgets: budgets.queues,
            max_pages: budgets.pages,
            dispatched: 0,
            failure: None,
            events,
            counted_hosts_at: None,
            seeds_pending: true,
            closures: ClosureLog::default(),
            pace: None,
            cluster: None,
        }
    }

    /// Takes the frontier's URLs from a cluster and hands it the new ones.
    pub(crate) fn linked(mut self, cluster: Option<ClusterLink>) -> Scheduler {
        if cluster.is_some() {
            self.frontier.share_politeness();
        }
        self.cluster = cluster;
        self
    }

    /// Saves the hosts' politeness state in `store` as it changes, and at the end.
    pub(crate) fn keeping_pace(mut self, store: Arc<Store>) -> Scheduler {
        self.pace = Some((store, PaceKeeper::new()));
        self
    }

    /// Runs the crawl's rounds until it ends , then
    /// closes the task channel and joins every worker.
    pub(crate) fn run(mut self) -> Ended {
        self.rounds();
        self.closures.flush();
        if let Some((store, keeper)) = self.pace.take() {
            keeper.finish(&store, &mut self.frontier);
        }
        let Scheduler {
            frontier,
            workers,
            failure,
            dispatched,
            cluster,
            ..
        } = self;
        workers.join();
        if let Some(link) = cluster {
            link.close();
        }
        Ended {
            frontier,
            failure,
            dispatched,
        }
    }

    /// Takes reports, hands out tasks and waits, round after round, until nothing is in
    /// flight and the crawl is stopped, out of budget or out of URLs.
    fn rounds(&mut self) {
        loop {
            while let Ok(report) = self.workers.reports.try_recv() {
                self.handle(report);
            }
            self.take_deliveries();
            // Read before dispatching: a pause seen here holds for this round.
            let paused = self.stop.is_paused();
            let wake_at = self.dispatch(paused);
            if let Some(error) = self.frontier.take_spill_error() {
                self.failure.get_or_insert(error);
            }
            self.publish(paused);
            let stopping = self.stop.is_stopped() || self.failure.is_some();
            let budget_spent = self.max_pages.is_some_and(|max| self.dispatched >= max);
            let exhausted = self.frontier.is_exhausted()
                && !self.seeds_pending
                && self.cluster.as_ref().is_none_or(ClusterLink::finished);
            if stopping || budget_spent {
                self.workers.close_renders();
            }
            // A page being rendered may still queue what it asks for and links.
            let rendering = self.workers.renders_pending() > 0 && self.failure.is_none();
            if self.frontier.in_flight() == 0
                && !rendering
                && (stopping || budget_spent || exhausted)
            {
                return;
            }
            let timeout = wake_at
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or(TICK)
                .min(TICK);
            let never = crossbeam_channel::never();
            let deliveries = self
                .cluster
                .as_ref()
                .map_or(&never, |link| &link.deliveries);
            select! {
                recv(self.workers.reports) -> report => match report {
                    Ok(report) => self.handle(report),
                    Err(_) => return, // every worker is gone
                },
                recv(deliveries) -> news => {
                    if let Ok(news) = news {
                        self.take_news(news);
                    }
                }
                recv(self.stop_signal) -> _ => {}
                default(timeout) => {}
            }
        }
    }

    /// Hands tasks to idle workers; returns when the next waiting host becomes ready.
    ///
    /// Only page fetches count toward `max_pages` (retries of a page do not count
    /// again); robots.txt fetches and refused URLs do not.
    fn dispatch(&mut self, paused: bool) -> Option<Instant> {
        if self.stop.is_stopped() || paused || self.failure.is_some() {
            return None;
        }
        while self.idle_workers > 0 {
            if let Some(batch) = self.frontier.take_refused(SETTLE_BATCH) {
                for refused in &batch {
                    self.budgets.left(&refused.queued.url.host_key());
                }
                if !self.send(Task::Settle(batch)) {
                    return None;
                }
                continue;
            }
            if self.max_pages.is_some_and(|max| self.dispatched >= max) {
                return None;
            }
            match self.frontier.next(Instant::now()) {
                Next::Job(job) => {
                    self.budgets.left(&job.url.host_key());
                    let (host, first_try) = (job.host, job.attempts == 0);
                    if !self.send(Task::Page(job)) {
                        self.frontier.complete(host, None, Health::NotContacted);
                        return None;
                    }
                    if first_try {
                        self.dispatched += 1;
                    }
                }
                Next::Robots(job) => {
                    let host = job.host;
                    if !self.send(Task::Robots(job)) {
                        self.frontier.complete(host, None, Health::NotContacted);
                        return None;
                    }
                }
                Next::WaitUntil(at) => return Some(at),
                Next::Idle => return None,
            }
        }
        None
    }

    /// Sends a task to the idle workers; false when they are all gone.
    fn send(&mut self, task: Task) -> bool {
        if self.workers.tasks.send(task).is_err() {
            return false;
        }
        self.idle_workers -= 1;
        true
    }

    fn handle(&mut self, report: Report) {
        // Every report but the seed intake's and the render threads' ends a worker's task.
        if !matches!(report, Report::Seeds { .. } | Report::Rendered { .. }) {
            self.idle_workers += 1;
        }
        match report {
            Report::Page {
                host,
                answered,
                health,
                discovered,
                retry,
                recorded,
            } => {
                self.frontier.complete(host, answered, health);
                if let Some(queued) = retry {
                    self.budgets.requeued(&queued.url.host_key());
                    self.frontier.retry(queued);
                }
                // New URLs go to the cluster before the page is acknowledged.
                self.push_all(discovered);
                if let (Some(link), Some(url)) = (&mut self.cluster, recorded) {
                    link.recorded(vec![url]);
                }
            }
            Report::Robots {
                host,
                answered,
                result,
                discovered,
            } => {
                self.frontier.robots_done(host, answered, result);
                self.push_all(discovered);
            }
            Report::Settled { hosts, urls } => {
                self.frontier.settled(&hosts);
                if let Some(link) = &mut self.cluster {
                    link.recorded(urls);
                }
            }
            Report::Rendered { discovered, done } => {
                self.push_all(discovered);
                if done {
                    self.workers.render_done();
                }
            }
            Report::Seeds { discovered, end } => {
                self.push_all(discovered);
                match end {
                    Some(Ok(())) => self.seeds_pending = false,
                    Some(Err(error)) => {
                        self.seeds_pending = false;
                        tracing::error!(%error, "the store refused the seeds: stopping the crawl");
                        self.failure.get_or_insert(error);
                    }
                    None => {}
                }
            }
            Report::StoreFailed { host, error } => {
                tracing::error!(%error, "the store refused a write: stopping the crawl");
                if let Some(host) = host {
                    self.frontier.complete(host, None, Health::NotContacted);
                }
                self.failure.get_or_insert(error);
            }
        }
    }

    /// Queues new URLs: in the frontier, or a cluster node's in the cluster (which
    /// hands them to their partitions' owners, this node among them).
    fn push_all(&mut self, discovered: Vec<Queued>) {
        match &mut self.cluster {
            Some(link) => link.forward(discovered),
            None => self.frontier.push_all(discovered),
        }
    }

    /// Puts what the cluster handed this node into the frontier.
    fn take_deliveries(&mut self) {
        while let Some(news) = (self.cluster.as_ref()).and_then(|l| l.deliveries.try_recv().ok()) {
            self.take_news(news);
        }
    }

    fn take_news(&mut self, news: FromBridge) {
        match news {
            FromBridge::Deliveries { queued, adopted } => {
                self.frontier.push_all(queued);
                let now = Instant::now();
                for host in adopted {
                    self.frontier.adopt(host, now);
                }
            }
            FromBridge::DeadLetters(dead) => {
                for (queued, deliveries) in dead {
                    self.frontier.refuse_dead_letter(queued, deliveries);
                }
            }
            FromBridge::Lost { partitions, of } => {
                let dropped = (self.frontier)
                    .drop_queued(|host| partitions.contains(&partition_of(host, of)));
                tracing::warn!(
                    dropped,
                    "URLs of lost partitions dropped: their new owner fetches them"
                );
            }
        }
    }

    /// Refreshes the live counters, and announces hosts the frontier closed.
    fn publish(&mut self, paused: bool) {
        self.progress.set_frontier(
            self.frontier.queued(),
            self.frontier.in_flight(),
            self.frontier.hosts(),
        );
        self.progress.set_paused(paused);
        let now = Instant::now();
        let walks = u32::try_from(self.frontier.hosts() / 10_000 + 1).unwrap_or(u32::MAX);
        let every = HOST_COUNT_EVERY
            .saturating_mul(walks)
            .min(HOST_COUNT_AT_MOST_EVERY);
        if self
            .counted_hosts_at
            .is_none_or(|at| now.duration_since(at) >= every)
        {
            let (active, parked) = self.frontier.host_counts();
            self.progress.set_host_counts(active, parked);
            self.frontier.forget_idle_rate_limits();
            self.counted_hosts_at = Some(now);
        }
        let live = &self.progress.live;
        if live.board_due(self.frontier.hosts(), now) {
            live.set_board(self.frontier.host_board(NAMED, now), now);
        }
        for closure in self.frontier.take_closures() {
            self.closures.record(&closure, now);
            self.events.emit(CrawlEvent::HostClosed {
                host: closure.host,
                kind: closure.kind.to_owned(),
                reason: closure.reason,
            });
        }
        self.closures.tick(now);
        if let Some(link) = &mut self.cluster {
            link.share(self.frontier.take_host_news());
        }
        if let Some((store, keeper)) = &mut self.pace {
            keeper.tick(store, &mut self.frontier, now);
        }
    }
}
