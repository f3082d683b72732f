//! Wiring a crawl together: the store, the seen-set, the frontier, the worker pool and
//! the scheduler loop that moves URLs between them.
//!
//! Data flow: seeds -> frontier -> scheduler -> worker (fetch, parse, store) ->
//! report -> frontier. The scheduler is the only owner of the frontier; it hands a
//! task to a worker only when a worker is idle, so a job never waits in a channel
//! while its host's politeness clock runs. Tasks are page fetches, robots.txt fetches
//! (the frontier asks for one before a host's first page), and batches of URLs the
//! frontier refused, which a worker records without fetching.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crawler_storage::{CrawlRun, QueueEntry, Store, StoreError, StoreOptions};
use crossbeam_channel::{select, Receiver, Sender};

use crate::config::{CrawlConfig, ValidConfig};
use crate::events::{CrawlEvent, Events, DEFAULT_EVENT_CAPACITY};
use crate::fetch::{ClientBuildError, Fetcher};
use crate::frontier::{Frontier, Health, JobKind, Next, Politeness, QueueSpill, Queued};
use crate::hooks::Hooks;
use crate::progress::{CrawlSummary, Progress};
use crate::seen::SeenSet;
use crate::url::{CanonicalUrl, Scope};
use crate::worker::{run_worker, unix_ms, Report, Task, WorkerContext};
use crate::ConfigError;

/// Why a crawl could not start or had to end early.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error(transparent)]
    /// A setting is invalid (it names the setting).
    Config(#[from] ConfigError),
    #[error(transparent)]
    /// The store could not be opened, or refused a write.
    Store(#[from] StoreError),
    #[error(transparent)]
    /// The HTTP client could not be built.
    Client(#[from] ClientBuildError),
    #[error("cannot start a thread: {0}")]
    /// A thread could not be started.
    Thread(#[from] std::io::Error),
    /// The crawl's own thread panicked (a bug; hooks' panics are caught per page).
    #[error("the crawl thread panicked: {0}")]
    Panicked(String),
}

/// Asks a running crawl to stop, or to pause: no new fetches; fetches in flight
/// finish and are stored. Cheap to clone and to call from any thread.
#[derive(Clone, Debug)]
pub struct StopHandle {
    stopped: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    wake: Sender<()>,
}

impl StopHandle {
    /// Ends the crawl: nothing new is fetched, fetches in flight finish and are
    /// stored, then [`Crawler::run`] returns its summary. The frontier stays in the
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

/// A crawl ready to run over its store: [`Crawler::run`] blocks until it ends,
/// [`Crawler::spawn`] runs it on a thread of its own and returns a [`CrawlHandle`](crate::CrawlHandle).
pub struct Crawler {
    config: ValidConfig,
    store: Arc<Store>,
    seeds: Vec<CanonicalUrl>,
    progress: Arc<Progress>,
    stop: StopHandle,
    stop_signal: Receiver<()>,
    hooks: Hooks,
    events: Events,
    event_receiver: Receiver<CrawlEvent>,
}

impl Crawler {
    /// Validates the configuration and opens (or creates) the store.
    ///
    /// A store that already holds a crawl is continued: its frontier is loaded and
    /// every URL it has seen stays seen. [`Crawler::builder`] does the same with
    /// seeds, hooks and every setting in one chain.
    pub fn new(config: CrawlConfig) -> Result<Crawler, CrawlError> {
        Crawler::assemble(config.validate()?, Hooks::default(), DEFAULT_EVENT_CAPACITY)
    }

    /// A builder with the default settings (see [`CrawlerBuilder`](crate::CrawlerBuilder)).
    pub fn builder() -> crate::CrawlerBuilder {
        crate::CrawlerBuilder::default()
    }

    pub(crate) fn assemble(
        config: ValidConfig,
        hooks: Hooks,
        event_capacity: usize,
    ) -> Result<Crawler, CrawlError> {
        let store = Store::open(
            &config.config.store,
            StoreOptions {
                cache_mb: config.config.cache_mb,
                create: true,
                durable_writes: true,
                read_only: false,
            },
        )?;
        let (wake, stop_signal) = crossbeam_channel::bounded(1);
        let progress = Arc::new(Progress::default());
        // The workers and the scheduler send.
        let senders = config.config.workers + 1;
        let (events, event_receiver) =
            Events::channel(event_capacity, senders, Arc::clone(&progress));
        Ok(Crawler {
            config,
            store: Arc::new(store),
            seeds: Vec::new(),
            progress,
            stop: StopHandle {
                stopped: Arc::new(AtomicBool::new(false)),
                paused: Arc::new(AtomicBool::new(false)),
                wake,
            },
            stop_signal,
            hooks,
            events,
            event_receiver,
        })
    }

    /// The crawl's events (see [`crate::events`]). Every clone receives from the same
    /// channel: an event goes to one of them.
    pub fn events(&self) -> Receiver<CrawlEvent> {
        self.event_receiver.clone()
    }

    /// Runs the crawl on a thread of its own (named `crawl-scheduler`: it runs the
    /// scheduler loop and starts the workers), and returns at once.
    pub fn spawn(self) -> Result<crate::CrawlHandle, CrawlError> {
        let control = self.stop.clone();
        let progress = Arc::clone(&self.progress);
        let events = self.event_receiver.clone();
        let store = Arc::clone(&self.store);
        let thread = thread::Builder::new()
            .name("crawl-scheduler".into())
            .spawn(move || self.run())?;
        Ok(crate::CrawlHandle::new(
            thread, control, progress, events, store,
        ))
    }

    /// Adds seeds: they set the scope and start the crawl at depth 0.
    pub fn add_seeds(&mut self, seeds: impl IntoIterator<Item = CanonicalUrl>) {
        self.seeds.extend(seeds);
    }

    /// Live counters, readable from any thread while the crawl runs.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// A handle to stop, pause or resume the crawl from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The store the crawl writes to.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Runs the crawl to the end (frontier exhausted, budget spent or stopped) on
    /// this thread, and returns what it did. The last event sent is
    /// [`CrawlEvent::CrawlFinished`], whatever the outcome.
    pub fn run(self) -> Result<CrawlSummary, CrawlError> {
        let settings = &self.config.config;
        tracing::info!(
            store = %settings.store.display(),
            seeds = self.seeds.len(),
            workers = settings.workers,
            "crawl starting"
        );
        let result = self.crawl();
        let (summary, error) = match &result {
            Ok(summary) => (summary.clone(), None),
            Err(error) => (self.progress.summary(true), Some(error.to_string())),
        };
        match &error {
            None => tracing::info!(
                pages = summary.pages_fetched,
                errors = summary.errors.values().sum::<u64>(),
                queued_left = summary.queued_left,
                stopped = summary.stopped,
                secs = summary.elapsed_secs,
                "crawl finished"
            ),
            Some(error) => tracing::error!(error, "crawl failed"),
        }
        self.events
            .finish(CrawlEvent::CrawlFinished { summary, error });
        result
    }

    fn crawl(&self) -> Result<CrawlSummary, CrawlError> {
        let settings = &self.config.config;
        let mut all_seeds = self.seeds_with_previous_runs()?;
        all_seeds.extend(self.config.sitemap_urls.iter().cloned());
        let scope = Scope::new(
            settings.scope,
            &all_seeds,
            self.config.allow.clone(),
            self.config.deny.clone(),
        );
        let seen = SeenSet::load(Arc::clone(&self.store))?;
        let mut frontier = Frontier::new(Politeness {
            concurrency: settings.per_host_concurrency,
            rate: settings.per_host_rate,
            max_pages_per_host: settings.max_pages_per_host,
            obey_robots: !settings.ignore_robots,
            robots_ttl: settings.robots_ttl,
            max_crawl_delay: settings.max_crawl_delay,
            retries: settings.retries,
            backoff: settings.retry_backoff,
            max_backoff: settings.max_backoff,
            park_after: settings.park_after,
        })
        .with_spill(Box::new(StoreSpill(Arc::clone(&self.store))));
        for host in self.store.queued_hosts() {
            frontier.resume_host(&host?);
        }
        if let Some(error) = frontier.take_spill_error() {
            return Err(error.into());
        }
        let mut new_seeds = Vec::new();
        let pages = self.seeds.iter().map(|url| (url, JobKind::Page));
        let sitemaps =
            (self.config.sitemap_urls.iter()).map(|url| (url, JobKind::Sitemap { level: 0 }));
        // Released when dropped: after the write below, or on an error before it.
        let mut claims = seen.claims();
        for (seed, kind) in pages.chain(sitemaps) {
            match self.hooks.admits(seed) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(failure) => {
                    tracing::warn!(url = seed.as_str(), failure, "hook failed on a seed");
                    self.progress.record_hook_failure();
                    continue;
                }
            }
            if claims.claim(seed.fingerprint())? {
                let entry = QueueEntry {
                    kind: kind.store_name(),
                    ..QueueEntry::seed(seed.as_str(), seed.host_key().as_str())
                };
                new_seeds.push((seed.fingerprint(), entry));
                frontier.push(Queued {
                    kind,
                    ..Queued::page(seed.clone(), 0, None, 0)
                });
            }
        }
        let written = self.store.enqueue(&new_seeds);
        drop(claims);
        written?;

        let mut run = CrawlRun {
            started_at_ms: unix_ms(),
            config: run_description(settings, &self.seeds),
            ..CrawlRun::default()
        };
        let run_index = self.store.start_run(&run)?;

        let context = Arc::new(WorkerContext {
            fetcher: Fetcher::new(&self.config.fetch_settings())?,
            store: Arc::clone(&self.store),
            seen: Arc::new(seen),
            scope: Arc::new(scope),
            progress: Arc::clone(&self.progress),
            max_depth: settings.max_depth,
            max_redirects: settings.max_redirects,
            bodies: settings.bodies,
            robots_agent: self.config.robots_agent.clone(),
            retries: settings.retries,
            sitemaps: settings.sitemaps,
            follow_nofollow: settings.follow_nofollow,
            traps: settings.trap_rules(),
            hooks: self.hooks.clone(),
            events: self.events.clone(),
        });
        let (job_tx, job_rx) = crossbeam_channel::unbounded();
        let (report_tx, report_rx) = crossbeam_channel::unbounded();
        let mut workers = Vec::with_capacity(settings.workers);
        for index in 0..settings.workers {
            let (context, jobs, reports) =
                (Arc::clone(&context), job_rx.clone(), report_tx.clone());
            let spawned = thread::Builder::new()
                .name(format!("worker-{index}"))
                .spawn(move || run_worker(context, jobs, reports));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    drop(job_tx);
                    join_all(workers);
                    return Err(e.into());
                }
            }
        }
        drop((job_rx, report_tx));

        let mut scheduler = Scheduler {
            frontier,
            jobs: job_tx,
            reports: report_rx,
            stop_signal: self.stop_signal.clone(),
            stop: self.stop.clone(),
            progress: Arc::clone(&self.progress),
            idle_workers: settings.workers,
            max_pages: settings.max_pages,
            dispatched: 0,
            failure: None,
            events: self.events.clone(),
            counted_hosts_at: None,
        };
        scheduler.run();
        let Scheduler {
            frontier,
            jobs,
            failure,
            ..
        } = scheduler;
        drop(jobs);
        join_all(workers);
        let (active, parked) = frontier.host_counts();
        self.progress.set_host_counts(active, parked);

        let stopped = self.stop.is_stopped() || failure.is_some();
        let mut summary = self.progress.summary(stopped);
        summary.queued_left = frontier.queued() as u64;
        summary.ignored_robots = settings.ignore_robots;
        summary.crawl_delay_capped = frontier.capped_crawl_delays().clone();
        summary.parked_hosts = frontier.parked_hosts().clone();
        if !stopped && summary.queued_left == 0 {
            // Every worker is joined: nothing is in flight or being written.
            self.store.clear_frontier()?;
        }
        run.finished_at_ms = Some(unix_ms());
        run.fetched = summary.pages_fetched;
        run.interrupted = stopped;
        self.store.finish_run(run_index, &run)?;
        self.store.flush()?;
        match failure {
            Some(error) => Err(error.into()),
            None => Ok(summary),
        }
    }

    /// Seeds of this run and of earlier runs over the same store: together they set the scope.
    fn seeds_with_previous_runs(&self) -> Result<Vec<CanonicalUrl>, CrawlError> {
        let mut seeds = self.seeds.clone();
        for run in self.store.runs()? {
            let earlier = run
                .config
                .get("seeds")
                .and_then(|s| s.as_array())
                .cloned()
                .unwrap_or_default();
            seeds.extend(
                earlier
                    .iter()
                    .filter_map(|s| CanonicalUrl::parse(s.as_str()?).ok()),
            );
        }
        Ok(seeds)
    }
}

/// The store's frontier, as the place host queues spill to and are refilled from.
struct StoreSpill(Arc<Store>);

impl QueueSpill for StoreSpill {
    fn load(&self, host: &str, limit: usize) -> Result<Vec<Queued>, StoreError> {
        self.0
            .queued_for_host(host, limit)?
            .into_iter()
            .map(queued_from_store)
            .collect()
    }
}

fn queued_from_store(entry: QueueEntry) -> Result<Queued, StoreError> {
    let url = CanonicalUrl::parse(&entry.url).map_err(|e| StoreError::Corrupt {
        key: entry.url.clone(),
        reason: format!("frontier entry is not a crawlable URL: {e}"),
    })?;
    Ok(Queued {
        url,
        depth: entry.depth,
        from: entry.from,
        hops: entry.hops,
        kind: JobKind::from_store_name(entry.kind.as_deref()),
        attempts: 0,
    })
}

fn run_description(settings: &CrawlConfig, seeds: &[CanonicalUrl]) -> serde_json::Value {
    let mut value = serde_json::to_value(settings).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        let seeds = seeds
            .iter()
            .map(|s| serde_json::Value::from(s.as_str()))
            .collect();
        object.insert("seeds".into(), serde_json::Value::Array(seeds));
    }
    value
}

fn join_all(workers: Vec<thread::JoinHandle<()>>) {
    for worker in workers {
        // A worker catches panics per page; one escaping here has already been reported.
        let _ = worker.join();
    }
}

/// The loop that owns the frontier: take reports, hand out jobs, wait for the next event.
struct Scheduler {
    frontier: Frontier,
    jobs: Sender<Task>,
    reports: Receiver<Report>,
    stop_signal: Receiver<()>,
    stop: StopHandle,
    progress: Arc<Progress>,
    idle_workers: usize,
    max_pages: Option<u64>,
    dispatched: u64,
    failure: Option<StoreError>,
    events: Events,
    /// When the active and parked hosts were last counted (a walk over every host).
    counted_hosts_at: Option<Instant>,
}

/// How often the active and parked hosts are counted.
const HOST_COUNT_EVERY: Duration = Duration::from_millis(100);

/// How often the scheduler refreshes the live counters when nothing else happens.
const TICK: Duration = Duration::from_millis(200);

/// Refused URLs recorded by one worker task at most (one store batch).
const SETTLE_BATCH: usize = 512;

impl Scheduler {
    fn run(&mut self) {
        loop {
            while let Ok(report) = self.reports.try_recv() {
                self.handle(report);
            }
            // Read before dispatching: a pause seen here holds for this round.
            let paused = self.stop.is_paused();
            let wake_at = self.dispatch(paused);
            if let Some(error) = self.frontier.take_spill_error() {
                self.failure.get_or_insert(error);
            }
            self.publish(paused);
            let stopping = self.stop.is_stopped() || self.failure.is_some();
            let budget_spent = self.max_pages.is_some_and(|max| self.dispatched >= max);
            if self.frontier.in_flight() == 0
                && (stopping || budget_spent || self.frontier.is_exhausted())
            {
                return;
            }
            let timeout = wake_at
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or(TICK)
                .min(TICK);
            select! {
                recv(self.reports) -> report => match report {
                    Ok(report) => self.handle(report),
                    Err(_) => return, // every worker is gone
                },
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
        if self.jobs.send(task).is_err() {
            return false;
        }
        self.idle_workers -= 1;
        true
    }

    fn handle(&mut self, report: Report) {
        self.idle_workers += 1;
        match report {
            Report::Page {
                host,
                answered,
                health,
                discovered,
                retry,
            } => {
                self.frontier.complete(host, answered, health);
                if let Some(queued) = retry {
                    self.frontier.retry(queued);
                }
                for queued in discovered {
                    self.frontier.push(queued);
                }
            }
            Report::Robots {
                host,
                answered,
                result,
                discovered,
            } => {
                self.frontier.robots_done(host, answered, result);
                for queued in discovered {
                    self.frontier.push(queued);
                }
            }
            Report::Settled { hosts } => self.frontier.settled(&hosts),
            Report::StoreFailed { host, error } => {
                tracing::error!(%error, "the store refused a write: stopping the crawl");
                if let Some(host) = host {
                    self.frontier.complete(host, None, Health::NotContacted);
                }
                self.failure.get_or_insert(error);
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
        if self
            .counted_hosts_at
            .is_none_or(|at| now.duration_since(at) >= HOST_COUNT_EVERY)
        {
            let (active, parked) = self.frontier.host_counts();
            self.progress.set_host_counts(active, parked);
            self.counted_hosts_at = Some(now);
        }
        for closure in self.frontier.take_closures() {
            tracing::warn!(
                host = closure.host,
                kind = closure.kind,
                reason = closure.reason,
                "host closed: its URLs are recorded, not fetched"
            );
            self.events.emit(CrawlEvent::HostClosed {
                host: closure.host,
                kind: closure.kind.to_owned(),
                reason: closure.reason,
            });
        }
    }
}
