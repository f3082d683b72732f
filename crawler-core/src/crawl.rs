//! A crawl wired together: [`Crawler`] opens the store, builds the seen-set, the
//! frontier and the worker pool, hands them to the scheduler, and closes the run when
//! the scheduler ends. The work itself lives elsewhere: the loop in `scheduler.rs`, a
//! task in `worker.rs`, which host goes next in `frontier/`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crawler_cluster::Crawl;
use crawler_storage::{Store, StoreOptions};
use crossbeam_channel::{Receiver, Sender};

use crate::budgets::QueueBudgets;
use crate::cluster_node::{ClusterLink, Start};
use crate::config::{CrawlConfig, ValidConfig};
use crate::cookie_keeper::{open_jar, CookieKeeper};
use crate::crawl_error::CrawlError;
use crate::error_kind::ErrorKind;
use crate::events::{CrawlEvent, Events, DEFAULT_EVENT_CAPACITY};
use crate::fetch::{FetchSettings, Fetcher, SeedHosts};
use crate::frontier::{queued_from_store, Frontier, Queued, StoreSpill};
use crate::hooks::Hooks;
use crate::messages::Report;
use crate::pace::{self, SlowedHosts, NAMED_SLOWEST};
use crate::priority::scorer_of;
use crate::progress::{CrawlSummary, Progress};
use crate::revisit::{RevisitLedger, RevisitsQueued};
use crate::runs::{ListedHosts, RunRecord, SeedTally};
use crate::scheduler::{Ended, RunBudgets, Scheduler, StopHandle};
use crate::seeds::{enqueue_seeds, SeedFile, SeedStream};
use crate::seen::SeenSet;
use crate::settings::Settings;
use crate::url::{CanonicalUrl, NameSet, Scope, SharedScopeKeys};
use crate::worker::{RenderQueue, WorkerContext, WorkerPool};

/// A crawl ready to run over its store: [`Crawler::run`] blocks until it ends,
/// [`Crawler::spawn`] runs it on a thread of its own and returns a [`CrawlHandle`](crate::CrawlHandle).
pub struct Crawler {
    config: ValidConfig,
    /// The settings as the engine's parts read them, derived from `config` once.
    settings: Settings,
    store: Arc<Store>,
    seeds: Vec<CanonicalUrl>,
    seed_files: Vec<SeedFile>,
    progress: Arc<Progress>,
    stop: StopHandle,
    stop_signal: Receiver<()>,
    hooks: Hooks,
    events: Events,
    event_receiver: Receiver<CrawlEvent>,
    /// Revisits this run queued: they refetch pages the budget counted already.
    revisits_queued: u64,
    /// The cluster crawl this node is part of, if any.
    cluster: Option<Crawl>,
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

    pub(crate) fn assemble(
        config: ValidConfig,
        mut hooks: Hooks,
        event_capacity: usize,
    ) -> Result<Crawler, CrawlError> {
        hooks.scorer = scorer_of(hooks.scorer.take(), &config.prefer_avoid);
        let store = Store::open(
            &config.config.store,
            StoreOptions {
                cache_mb: config.config.cache_mb,
                create: true,
                durable_writes: true,
                read_only: false,
                min_free_space: config.config.min_free_space,
            },
        )?;
        let (stop, stop_signal) = StopHandle::new();
        let progress = Arc::new(Progress::default());
        // The workers and the scheduler send.
        let senders = config.config.workers + 1;
        let (events, event_receiver) =
            Events::channel(event_capacity, senders, Arc::clone(&progress));
        Ok(Crawler {
            settings: Settings::derive(&config),
            config,
            store: Arc::new(store),
            seeds: Vec::new(),
            seed_files: Vec::new(),
            progress,
            stop,
            stop_signal,
            hooks,
            events,
            event_receiver,
            revisits_queued: 0,
            cluster: None,
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

    /// Makes this crawl a node of a cluster crawl, opened by [`crate::join_cluster`]
    /// (which gives the configuration to build this crawler with): it takes its work
    /// from the partitions it leases and hands what it finds to the cluster.
    pub fn in_cluster(&mut self, crawl: Crawl) {
        self.cluster = Some(crawl);
    }

    /// Adds seeds: they set the scope and start the crawl at depth 0.
    pub fn add_seeds(&mut self, seeds: impl IntoIterator<Item = CanonicalUrl>) {
        self.seeds.extend(seeds);
    }

    /// Adds the seeds of a file, read as the crawl goes rather than held in memory
    /// (see [`SeedFile`]); a bad line the file's handler does not skip ends
    /// [`Crawler::run`] with [`CrawlError::Seeds`] before anything is fetched.
    pub fn add_seed_file(&mut self, file: SeedFile) {
        self.seed_files.push(file);
    }

    /// Queues again, in the store's frontier, every stored URL that failed with one
    /// of `kinds` (at the depth it was found at), so that this run fetches it again
    /// and its new record replaces the failed one. Returns how many were queued.
    pub fn retry_errors(&mut self, kinds: &[ErrorKind]) -> Result<u64, CrawlError> {
        Ok(crate::retry::requeue_failed(&self.store, kinds)?)
    }

    /// Queues, as revisits, the stored URLs the configured
    /// [`RevisitPolicy`](crate::RevisitPolicy) has due
    /// now and no earlier pass queued (see [`crate::revisit`]); nothing without one.
    /// Call it before [`Crawler::run`]: the run then fetches them again with
    /// conditional requests, beside whatever else is queued.
    pub fn queue_revisits(&mut self) -> Result<RevisitsQueued, CrawlError> {
        let Some(policy) = self.config.config.revisit else {
            return Ok(RevisitsQueued::default());
        };
        let queued = crate::revisit::queue_due(&self.store, &policy, crawler_storage::now_ms())?;
        self.revisits_queued += queued.queued;
        Ok(queued)
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
    pub fn run(mut self) -> Result<CrawlSummary, CrawlError> {
        let settings = &self.config.config;
        tracing::info!(
            store = %settings.store.display(),
            seeds = self.seeds.len(),
            seed_files = self.seed_files.len(),
            workers = settings.workers,
            "crawl starting"
        );
        // Taken: after they are taken in, a broad crawl's million seeds must not stay.
        let seeds = std::mem::take(&mut self.seeds);
        let seed_files = std::mem::take(&mut self.seed_files);
        let result = self.crawl(seeds, seed_files);
        let (summary, error) = match &result {
            Ok(summary) => (summary.clone(), None),
            Err(error) => (self.progress.summary(true), Some(error.to_string())),
        };
        match (&result, &error) {
            (_, None) => tracing::info!(
                pages = summary.pages_fetched,
                errors = summary.errors.values().sum::<u64>(),
                queued_left = summary.queued_left,
                stopped = summary.stopped,
                secs = summary.elapsed_secs,
                "crawl finished"
            ),
            // The caller's input, refused before anything started: the caller says so.
            (Err(CrawlError::Seeds(_)), Some(error)) => {
                tracing::info!(error, "crawl not started: a bad seed list")
            }
            (_, Some(error)) => tracing::error!(error, "crawl failed"),
        }
        self.events.finish(CrawlEvent::CrawlFinished {
            summary: Box::new(summary),
            error,
        });
        result
    }

    /// The crawl, step by step: load what the store holds, take the seeds in, start
    /// the workers, schedule until the end, then close the run.
    fn crawl(
        &self,
        seeds: Vec<CanonicalUrl>,
        mut seed_files: Vec<SeedFile>,
    ) -> Result<CrawlSummary, CrawlError> {
        let SeedRules {
            mut scope,
            mut fetch_settings,
            listed,
            tally,
            shared_keys,
        } = self.seed_rules(&seeds, &mut seed_files)?;
        let link = match &self.cluster {
            Some(crawl) => {
                let learned = Arc::new(SharedScopeKeys::default());
                scope = scope.learning(Arc::clone(&learned));
                Some(ClusterLink::start(Start {
                    crawl: crawl.clone(),
                    scope_keys: shared_keys,
                    learned,
                    journal: self.journal()?,
                    room: (self.settings.workers * 8).max(64),
                    settle: self.host_spacing(),
                })?)
            }
            None => None,
        };
        let cookies = self.keep_cookies()?;
        fetch_settings.cookies = cookies.as_ref().map(CookieKeeper::jar);
        let seen = Arc::new(SeenSet::load(Arc::clone(&self.store))?);
        let frontier = self.load_frontier()?;
        let fetched_before = self.pages_fetched_before()?;
        let run = RunRecord::start(&self.store, &self.config.config, &tally)?;
        let budgets = Arc::new(QueueBudgets::new(
            Arc::clone(&self.store),
            self.settings.max_queued_per_host,
            self.settings.max_sitemap_urls,
        ));
        let fetcher = Fetcher::new(&fetch_settings)?;
        let mut workers = self.start_workers(
            Arc::clone(&seen),
            scope,
            Arc::clone(&budgets),
            fetcher.clone(),
        )?;
        let intake = match workers.take_intake_sender() {
            Some(reports) => {
                let sitemaps = self.config.sitemap_urls.clone();
                let given = tally.count + sitemaps.len() as u64;
                let stream = SeedStream::new(seeds, seed_files, sitemaps);
                self.start_intake(stream, given, listed, seen, reports)
            }
            None => Err(std::io::Error::other(
                "the seed intake has no report channel",
            )),
        };
        let intake = match intake {
            Ok(intake) => intake,
            Err(error) => {
                workers.join();
                return Err(error.into());
            }
        };
        let Ended {
            frontier,
            failure,
            dispatched,
        } = Scheduler::new(
            frontier,
            workers,
            self.stop.clone(),
            self.stop_signal.clone(),
            Arc::clone(&self.progress),
            self.events.clone(),
            RunBudgets {
                queues: budgets,
                pages: self.page_allowance(fetched_before),
            },
        )
        .keeping_pace(Arc::clone(&self.store))
        .linked(link)
        .run();
        // It stops at its next batch once the crawl stops.
        if intake.join().is_err() {
            tracing::error!("the seed intake panicked");
        }
        if let Some(cookies) = cookies {
            cookies.finish();
        }
        let stopped = self.stop.is_stopped() || failure.is_some();
        let mut summary = self.summarize(&frontier, stopped);
        if let Some((proxies, moved)) = fetcher.proxy_reports() {
            summary.proxies = proxies;
            summary.proxy_hosts_moved = moved;
        }
        summary.page_budget_spent = !stopped
            && self
                .settings
                .max_pages
                .is_some_and(|max| fetched_before.saturating_add(dispatched) >= max);
        let closed = self.close_run(run, &summary, stopped);
        // The first failure says why the crawl stopped; closing after it may fail for
        // the same reason (a full disk), and would hide it.
        match (failure, closed) {
            (Some(error), _) => Err(error.into()),
            (None, Err(error)) => Err(error),
            (None, Ok(())) => Ok(summary),
        }
    }

    /// The cookie jar (the store's, a cookies file's over it) and the thread that
    /// saves it as it changes; `None` with `no_cookies`.
    fn keep_cookies(&self) -> Result<Option<CookieKeeper>, CrawlError> {
        if self.config.config.no_cookies {
            return Ok(None);
        }
        let jar = open_jar(&self.store, &self.config.file_cookies)?;
        Ok(Some(CookieKeeper::start(
            Arc::new(jar),
            Arc::clone(&self.store),
        )?))
    }

    /// Pages the store holds that were fetched (records refused without a fetch left
    /// out): what earlier runs spent of the crawl's page budget. Read only when there is
    /// a budget.
    fn pages_fetched_before(&self) -> Result<u64, CrawlError> {
        if self.settings.max_pages.is_none() {
            return Ok(0);
        }
        let stats = self.store.record_stats()?;
        let unfetched: u64 = stats
            .errors
            .iter()
            .filter(|(kind, _)| kind.parse::<ErrorKind>().is_ok_and(ErrorKind::is_unfetched))
            .map(|(_, count)| count)
            .sum();
        Ok(stats.urls.saturating_sub(unfetched))
    }

    /// Page fetches this run may start: what is left of the crawl's budget (a
    /// revisit this run queued refetches a page it counted already, so it spends none
    /// of it), and at most the per-run limit.
    fn page_allowance(&self, fetched_before: u64) -> Option<u64> {
        let left = (self.settings.max_pages).map(|max| {
            max.saturating_sub(fetched_before)
                .saturating_add(self.revisits_queued)
        });
        match (left, self.settings.max_pages_per_run) {
            (Some(left), Some(per_run)) => Some(left.min(per_run)),
            (left, per_run) => left.or(per_run),
        }
    }

    /// The scope and the fetcher's address rules (and credentials) that this run's
    /// seeds and sitemaps and earlier runs' seeds set, taken in one seed at a time,
    /// seed files read whole; the hosts the store's seed list holds; and how many
    /// seeds this run has. A bad line of a seed file its handler does not skip is
    /// an error here, before anything is stored.
    fn seed_rules(
        &self,
        seeds: &[CanonicalUrl],
        seed_files: &mut [SeedFile],
    ) -> Result<SeedRules, CrawlError> {
        let mut scope = Scope::new(
            self.config.config.scope,
            &[],
            self.config.allow.clone(),
            self.config.deny.clone(),
        );
        let mut hosts = SeedHosts::default();
        let resolver = self.config.seed_resolver();
        let mut scope_keys = NameSet::default();
        let mut shared_keys = Vec::new();
        let mut take = |seed: &CanonicalUrl| {
            scope.add_seed(seed);
            hosts.add(seed, &resolver);
            if self.cluster.is_some() {
                // Each key once: a million seeds on a thousand hosts share a thousand.
                let key = scope.key_of(seed).filter(|key| scope_keys.insert(key));
                shared_keys.extend(key);
            }
        };
        let listed = ListedHosts::read(&self.store, &mut take)?;
        self.config.sitemap_urls.iter().for_each(&mut take);
        let mut tally = SeedTally::default();
        let mut given = |seed: &CanonicalUrl| {
            take(seed);
            tally.add(seed);
        };
        let mut credentials = self.config.config.credentials.clone();
        seeds.iter().for_each(&mut given);
        for file in seed_files {
            file.scan(&mut credentials, &mut given)?;
        }
        Ok(SeedRules {
            scope,
            fetch_settings: self.config.fetch_settings_from(hosts, credentials),
            listed,
            tally,
            shared_keys,
        })
    }
    /// The frontier, spilling to the store, with the hosts the store has URLs queued for.
    /// A cluster node's frontier holds only what it takes from the cluster: the store's
    /// queue is its journal, handed to the cluster at start ([`Crawler::journal`]).
    fn load_frontier(&self) -> Result<Frontier, CrawlError> {
        if self.cluster.is_some() {
            let mut frontier = Frontier::new(self.settings.politeness);
            pace::restore(&self.store, &mut frontier)?;
            return Ok(frontier);
        }
        let mut frontier =
            Frontier::new(self.settings.politeness).with_spill(Box::new(StoreSpill::new(
                Arc::clone(&self.store),
                self.settings.politeness.max_pages_per_host.is_some(),
            )?));
        pace::restore(&self.store, &mut frontier)?;
        for host in self.store.queued_hosts() {
            frontier.resume_host(&host?);
        }
        match frontier.take_spill_error() {
            Some(error) => Err(error.into()),
            None => Ok(frontier),
        }
    }

    /// The spacing of two requests to a host the settings ask for (auto: its
    /// shortest).
    fn host_spacing(&self) -> Duration {
        let politeness = &self.settings.politeness;
        if politeness.rate > 0.0 {
            Duration::from_secs_f64(1.0 / politeness.rate)
        } else if politeness.adaptive.is_some() {
            self.config.config.min_delay
        } else {
            Duration::ZERO
        }
    }

    /// What the store's queue holds: URLs this node found (in an earlier run) that
    /// may never have reached the cluster. The cluster's seen-set drops those it has.
    fn journal(&self) -> Result<Vec<Queued>, CrawlError> {
        const CHUNK: usize = 10_000;
        let mut journal = Vec::new();
        for host in self.store.queued_hosts() {
            let host = host?;
            loop {
                let entries = self.store.queued_for_host(&host, CHUNK)?;
                let last = entries.len() < CHUNK;
                for entry in entries {
                    journal.push(queued_from_store(entry)?);
                }
                if last {
                    break;
                }
            }
        }
        Ok(journal)
    }

    /// Starts the workers with the HTTP client (its address rules from the seeds),
    /// all of them idle.
    fn start_workers(
        &self,
        seen: Arc<SeenSet>,
        scope: Scope,
        budgets: Arc<QueueBudgets>,
        fetcher: Fetcher,
    ) -> Result<WorkerPool, CrawlError> {
        let context = WorkerContext {
            fetcher,
            store: Arc::clone(&self.store),
            seen,
            budgets,
            scope: Arc::new(scope),
            progress: Arc::clone(&self.progress),
            settings: self.settings.worker.clone(),
            hooks: self.hooks.clone(),
            events: self.events.clone(),
            revisits: RevisitLedger::read(&self.store)?,
            render: None,
        };
        let (context, render_tasks) = match self.settings.worker.render.is_some() {
            true => {
                let (queue, tasks) = RenderQueue::new();
                let context = WorkerContext {
                    render: Some(queue),
                    ..context
                };
                (context, Some(tasks))
            }
            false => (context, None),
        };
        Ok(WorkerPool::start(
            Arc::new(context),
            self.settings.workers,
            render_tasks,
        )?)
    }

    /// Starts the seed intake (a thread named `seed-intake`): it stores the seeds a
    /// batch at a time and reports each batch to the scheduler like discovered links,
    /// so the first fetch need not wait for a million seeds. It ends with a report
    /// that says so (also when it panicked), or at the first batch after a stop.
    fn start_intake(
        &self,
        mut seeds: SeedStream,
        given: u64,
        mut listed: ListedHosts,
        seen: Arc<SeenSet>,
        reports: Sender<Report>,
    ) -> std::io::Result<thread::JoinHandle<()>> {
        let (hooks, progress) = (self.hooks.clone(), Arc::clone(&self.progress));
        let (store, stop) = (Arc::clone(&self.store), self.stop.clone());
        thread::Builder::new()
            .name("seed-intake".into())
            .spawn(move || {
                let deliver = |discovered| {
                    !stop.is_stopped() && reports.send(Report::Seeds { discovered, end: None }).is_ok()
                };
                let started = std::time::Instant::now();
                let taken = catch_unwind(AssertUnwindSafe(|| {
                    enqueue_seeds(&mut seeds, &mut listed, &hooks, &progress, &seen, &store, deliver)
                }));
                if let Some(error) = &seeds.failure {
                    tracing::error!(%error, "the seed list could not be read again: the seeds after this point are not queued");
                }
                drop(seeds);
                let end = match taken {
                    Ok(Ok(taken)) => {
                        if stop.is_stopped() {
                            tracing::info!(taken, given, "the crawl stopped while taking the seeds in: give them again to take the rest (those taken are skipped)");
                        } else {
                            let secs = started.elapsed().as_secs_f64();
                            tracing::info!(taken, given, secs, "the seeds are taken in");
                        }
                        Ok(())
                    }
                    Ok(Err(error)) => Err(error),
                    Err(_) => {
                        tracing::error!("the seed intake panicked: the seeds not taken in yet are not queued");
                        Ok(())
                    }
                };
                let _ = reports.send(Report::Seeds {
                    discovered: Vec::new(),
                    end: Some(end),
                });
            })
    }

    /// The final counters, with what the frontier ended with (every worker is joined).
    fn summarize(&self, frontier: &Frontier, stopped: bool) -> CrawlSummary {
        let (active, parked) = frontier.host_counts();
        self.progress.set_host_counts(active, parked);
        let mut summary = self.progress.summary(stopped);
        summary.queued_left = frontier.queued() as u64;
        summary.ignored_robots = self.config.config.ignore_robots;
        summary.insecure = self.config.config.insecure;
        summary.crawl_delay_capped = frontier.capped_crawl_delays().clone();
        summary.parked_hosts = frontier.parked_hosts().clone();
        let (parked, capped) = frontier.parked_and_capped_counts();
        summary.parked_hosts_unnamed = parked.saturating_sub(summary.parked_hosts.len() as u64);
        summary.crawl_delay_capped_unnamed =
            capped.saturating_sub(summary.crawl_delay_capped.len() as u64);
        let (slowest_hosts, hosts_slowed) = frontier.slowest_hosts(NAMED_SLOWEST);
        summary.slowed = Box::new(SlowedHosts {
            slowest_hosts,
            hosts_slowed,
        });
        summary
    }

    /// Ends the run in the store: its frontier cleared when the crawl went through it
    /// all, the run's record finished, everything flushed.
    fn close_run(
        &self,
        run: RunRecord,
        summary: &CrawlSummary,
        stopped: bool,
    ) -> Result<(), CrawlError> {
        if !stopped && summary.queued_left == 0 {
            // Every worker is joined: nothing is in flight or being written.
            self.store.clear_frontier()?;
        }
        run.finish(
            &self.store,
            summary.pages_fetched,
            stopped,
            &summary.proxies,
        )?;
        self.store.flush()?;
        Ok(())
    }
}

/// What the seeds set before the crawl starts (`Crawler::seed_rules`).
struct SeedRules {
    scope: Scope,
    fetch_settings: FetchSettings,
    listed: ListedHosts,
    tally: SeedTally,
    /// The scope keys of this run's seeds, for the other nodes of a cluster crawl.
    shared_keys: Vec<String>,
}
