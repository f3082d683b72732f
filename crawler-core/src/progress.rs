//! Live counters of a running crawl and the summary it ends with.
//!
//! Workers and the scheduler bump atomics; anyone may take a [`Progress::snapshot`]
//! from any thread at any time without stopping the crawl.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;

use crawler_storage::{Change, Settled};

use crate::error_kind::ErrorKind;
use crate::frontier::Refusal;
use crate::live::{Live, LiveStatus};
use crate::render::{AutoRender, HostRendering};
pub use crate::snapshot::Snapshot;

/// The status classes responses are counted by, in order (`other`: outside 100-599).
pub const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/// How a rendering can settle, in the order they are counted.
const SETTLED: [Settled; 3] = [Settled::Idle, Settled::RenderTimeout, Settled::RenderFailed];

/// Counters shared by every thread of a crawl.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    fetched: AtomicU64,
    errors: AtomicU64,
    bytes: AtomicU64,
    queued: AtomicU64,
    in_flight: AtomicU64,
    hosts: AtomicU64,
    by_class: [AtomicU64; STATUS_CLASSES.len()],
    /// URLs recorded with an error, by kind (refused URLs included).
    by_error: [AtomicU64; ErrorKind::ALL.len()],
    robots_fetched: AtomicU64,
    robots_failed: AtomicU64,
    /// HTTP responses of any status, robots.txt included.
    responses: AtomicU64,
    retries: AtomicU64,
    hosts_active: AtomicU64,
    hosts_parked: AtomicU64,
    hook_failures: AtomicU64,
    events_dropped: AtomicU64,
    not_queued: AtomicU64,
    /// Renderings stored (`--render`), by how they settled, in the order of
    /// [`SETTLED`].
    rendered: [AtomicU64; SETTLED.len()],
    /// Revisits by what they found, in the order of [`Change::ALL`].
    revisits: [AtomicU64; Change::ALL.len()],
    paused: AtomicBool,
    /// Histograms, the workers' tasks and the named hosts.
    pub(crate) live: Live,
    /// With `--render auto`: the hosts' trials and what was decided (the render
    /// threads decide, the workers ask, the summary tells).
    pub(crate) render_hosts: AutoRender,
}

/// What a finished (or stopped) crawl did in this run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CrawlSummary {
    /// Fetches completed (the final attempt of each URL; robots.txt not included).
    pub pages_fetched: u64,
    /// robots.txt fetches that got a response, of any status (redirect hops and
    /// retries included).
    pub robots_fetched: u64,
    /// robots.txt fetches that got no response (refused connection, DNS, TLS, timeout).
    pub robots_failed: u64,
    /// HTTP responses received, of any status, robots.txt included: 0 after a run
    /// that tried to fetch means no server answered at all.
    pub responses: u64,
    /// Fetches that failed and were tried again.
    pub retries: u64,
    /// What `--render` did; left out of the JSON when nothing was rendered (boxed:
    /// an event carries the summary).
    #[serde(skip_serializing_if = "RenderSummary::is_empty")]
    pub rendering: Box<RenderSummary>,
    /// Whether robots.txt was ignored (`--ignore-robots`).
    pub ignored_robots: bool,
    /// Whether TLS certificates went unchecked (`--insecure`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Hosts whose `Crawl-delay` was above the cap, with the delay they asked for (s):
    /// the first 100.
    pub crawl_delay_capped: BTreeMap<String, f64>,
    /// Hosts parked after repeated connection failures, with why: the first 100.
    pub parked_hosts: BTreeMap<String, String>,
    /// Hosts parked beyond those named in `parked_hosts`.
    pub parked_hosts_unnamed: u64,
    /// Hosts whose `Crawl-delay` was capped beyond those named in `crawl_delay_capped`.
    pub crawl_delay_capped_unnamed: u64,
    /// The hosts spaced out the most as the run ended (boxed: an event carries the
    /// summary).
    #[serde(flatten)]
    pub slowed: Box<crate::slowed::SlowedHosts>,
    /// Responses by status class (`2xx`, `3xx`, ...).
    pub by_status_class: BTreeMap<String, u64>,
    /// Failed fetches and refused URLs by error kind.
    pub errors: BTreeMap<String, u64>,
    /// Decompressed body bytes received.
    pub bytes: u64,
    /// Seconds since the crawl was set up.
    pub elapsed_secs: f64,
    /// `pages_fetched` over `elapsed_secs`.
    pub pages_per_sec: f64,
    /// URLs left in the frontier (budget spent, or stopped).
    pub queued_left: u64,
    /// URLs found that a queue budget (`max_queued_per_host`, `max_sitemap_urls`) kept
    /// out of the frontier; the pages that led to them are recorded as `budget-exceeded`.
    pub urls_over_budget: u64,
    /// Whether the crawl's page budget (`max_pages`, earlier runs' pages counted) is
    /// spent: a resume with the same budget fetches nothing more.
    pub page_budget_spent: bool,
    /// Whether the crawl was stopped before its frontier was exhausted.
    pub stopped: bool,
    /// Each `--proxy` (credentials masked) with its requests and the times it was
    /// taken out; empty (and not serialized) without `--proxy`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<crate::fetch::ProxyReport>,
    /// Hosts moved off a `--proxy` while it was out.
    #[serde(skip_serializing_if = "is_zero")]
    pub proxy_hosts_moved: u64,
    /// What revisits of stored URLs found; left out of the JSON when there were none
    /// (boxed: an event carries the summary).
    #[serde(skip_serializing_if = "Revisits::is_empty")]
    pub revisits: Box<Revisits>,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            started: Instant::now(),
            fetched: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            hosts: AtomicU64::new(0),
            by_class: Default::default(),
            by_error: Default::default(),
            robots_fetched: AtomicU64::new(0),
            robots_failed: AtomicU64::new(0),
            responses: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            hosts_active: AtomicU64::new(0),
            hosts_parked: AtomicU64::new(0),
            hook_failures: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            not_queued: AtomicU64::new(0),
            rendered: Default::default(),
            render_hosts: AutoRender::default(),
            revisits: Default::default(),
            paused: AtomicBool::new(false),
            live: Live::default(),
        }
    }
}

impl Progress {
    pub(crate) fn record_response(&self, status: u16, bytes: u64) {
        let class = match status {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            500..=599 => 4,
            _ => 5,
        };
        self.by_class[class].fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
        self.record_answer();
    }

    /// A page's rendering was stored (`--render`), as a part of the page.
    #[cfg_attr(not(feature = "render"), allow(dead_code))]
    pub(crate) fn record_rendered(&self, settled: Settled) {
        let at = SETTLED.iter().position(|s| *s == settled).unwrap_or(0);
        self.rendered[at].fetch_add(1, Relaxed);
    }

    /// A server answered (any status; a page's or robots.txt's).
    pub(crate) fn record_answer(&self) {
        self.responses.fetch_add(1, Relaxed);
    }

    /// A URL recorded with this error (it also counts in [`Snapshot::errors`]).
    pub(crate) fn record_error(&self, kind: ErrorKind) {
        self.by_error[kind.index()].fetch_add(1, Relaxed);
        self.errors.fetch_add(1, Relaxed);
    }

    /// A URL settled without a fetch (not counted in [`Snapshot::errors`]).
    pub(crate) fn record_refused(&self, refusal: &Refusal) {
        self.by_error[refusal.kind().index()].fetch_add(1, Relaxed);
    }

    /// A robots.txt fetch ended: with a response (`answered`), or without one.
    pub(crate) fn record_robots_fetch(&self, answered: bool) {
        if answered {
            self.robots_fetched.fetch_add(1, Relaxed);
            self.record_answer();
        } else {
            self.robots_failed.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    pub(crate) fn record_fetched(&self) {
        self.fetched.fetch_add(1, Relaxed);
    }

    pub(crate) fn set_frontier(&self, queued: usize, in_flight: usize, hosts: usize) {
        self.queued.store(queued as u64, Relaxed);
        self.in_flight.store(in_flight as u64, Relaxed);
        self.hosts.store(hosts as u64, Relaxed);
    }

    /// Hosts with work (not parked or closed) and hosts parked or closed.
    pub(crate) fn set_host_counts(&self, active: usize, parked: usize) {
        self.hosts_active.store(active as u64, Relaxed);
        self.hosts_parked.store(parked as u64, Relaxed);
    }

    /// Whether the scheduler dispatches nothing for a pause; set after the frontier
    /// counters of the same round.
    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Release);
    }

    pub(crate) fn record_hook_failure(&self) {
        self.hook_failures.fetch_add(1, Relaxed);
    }

    /// URLs a queue budget kept out of the frontier.
    pub(crate) fn record_not_queued(&self, urls: u64) {
        self.not_queued.fetch_add(urls, Relaxed);
    }

    /// A stored URL fetched again, and what the visit found.
    pub(crate) fn record_revisit(&self, change: Change) {
        if let Some(at) = Change::ALL.iter().position(|c| *c == change) {
            self.revisits[at].fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn record_event_dropped(&self) {
        self.events_dropped.fetch_add(1, Relaxed);
    }

    /// A copy of every counter: a handful of atomic loads, cheap from any thread.
    pub fn snapshot(&self) -> Snapshot {
        // Loaded first: the frontier counters read next are from its round or later.
        let paused = self.paused.load(Ordering::Acquire);
        let elapsed_secs = self.started.elapsed().as_secs_f64();
        let fetched = self.fetched.load(Relaxed);
        Snapshot {
            paused,
            fetched,
            errors: self.errors.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            queued: self.queued.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            hosts: self.hosts.load(Relaxed),
            hosts_active: self.hosts_active.load(Relaxed),
            hosts_parked: self.hosts_parked.load(Relaxed),
            hook_failures: self.hook_failures.load(Relaxed),
            events_dropped: self.events_dropped.load(Relaxed),
            elapsed_secs,
            pages_per_sec: rate(fetched, elapsed_secs),
        }
    }

    /// The counters with the live parts: histograms, the workers' tasks and the
    /// hosts named (see [`crate::live`]). Cheap from any thread; it never waits on
    /// the scheduler or a worker's fetch.
    pub fn status(&self) -> LiveStatus {
        let live = &self.live;
        let (board, hosts_age_ms) = live.watched_board();
        LiveStatus {
            counters: self.snapshot(),
            responses_by_class: self.by_status_class(),
            errors_by_kind: self.errors_by_kind(),
            retries: self.retries.load(Relaxed),
            robots_fetched: self.robots_fetched.load(Relaxed),
            robots_failed: self.robots_failed.load(Relaxed),
            hosts_backing_off: board.backing_off,
            hosts_by_queue: board.by_queue.clone(),
            hosts_by_errors: board.by_errors.clone(),
            hosts_by_delay: board.by_delay.clone(),
            parked: board.parked.clone(),
            hosts_age_ms,
            workers: live.workers.snapshot(),
            fetch_seconds: live.fetch_seconds.snapshot(),
            store_write_seconds: live.store_write_seconds.snapshot(),
        }
    }

    /// Responses by status class; classes with none left out.
    fn by_status_class(&self) -> BTreeMap<String, u64> {
        nonzero(STATUS_CLASSES.iter().copied().zip(&self.by_class))
    }

    /// Failed fetches and refused URLs by kind; kinds with none left out.
    fn errors_by_kind(&self) -> BTreeMap<String, u64> {
        nonzero(
            ErrorKind::ALL
                .iter()
                .map(|kind| kind.as_str())
                .zip(&self.by_error),
        )
    }

    pub(crate) fn summary(&self, stopped: bool) -> CrawlSummary {
        let snapshot = self.snapshot();
        CrawlSummary {
            pages_fetched: snapshot.fetched,
            by_status_class: self.by_status_class(),
            errors: self.errors_by_kind(),
            robots_fetched: self.robots_fetched.load(Relaxed),
            robots_failed: self.robots_failed.load(Relaxed),
            responses: self.responses.load(Relaxed),
            retries: self.retries.load(Relaxed),
            rendering: Box::new(self.render_summary()),
            ignored_robots: false,
            insecure: false,
            crawl_delay_capped: BTreeMap::new(),
            parked_hosts: BTreeMap::new(),
            parked_hosts_unnamed: 0,
            crawl_delay_capped_unnamed: 0,
            slowed: Box::default(),
            bytes: snapshot.bytes,
            elapsed_secs: snapshot.elapsed_secs,
            pages_per_sec: snapshot.pages_per_sec,
            queued_left: snapshot.queued,
            urls_over_budget: self.not_queued.load(Relaxed),
            page_budget_spent: false,
            stopped,
            proxies: Vec::new(),
            proxy_hosts_moved: 0,
            revisits: Box::new(self.revisits_summary(snapshot.fetched)),
        }
    }

    fn render_summary(&self) -> RenderSummary {
        let (hosts, hosts_tried, hosts_rendered) = self.render_hosts.decisions();
        RenderSummary {
            pages: nonzero(SETTLED.iter().map(|s| s.as_str()).zip(&self.rendered)),
            hosts,
            hosts_tried,
            hosts_rendered,
        }
    }

    fn revisits_summary(&self, fetched: u64) -> Revisits {
        let [not_modified, unchanged, changed, gone] =
            std::array::from_fn(|at| self.revisits[at].load(Relaxed));
        let revisited = not_modified + unchanged + changed + gone;
        Revisits {
            revisited,
            not_modified,
            unchanged,
            changed,
            gone,
            new: fetched.saturating_sub(revisited),
        }
    }
}

/// What a run's rendering (`--render`) did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RenderSummary {
    /// Pages rendered, by how their rendering settled (`idle`, `render-timeout`,
    /// `render-failed`): each is one of `pages_fetched`, its rendering a part of its
    /// record, not an error of it.
    pub pages: BTreeMap<String, u64>,
    /// With `--render auto`: hosts tried, whether their pages are rendered and why
    /// ([`crate::render::AutoRender`]); the first 100, rendered ones first.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, HostRendering>,
    /// With `--render auto`: hosts tried (each named in `hosts` up to 100).
    #[serde(skip_serializing_if = "is_zero")]
    pub hosts_tried: u64,
    /// With `--render auto`: hosts whose pages are rendered.
    #[serde(skip_serializing_if = "is_zero")]
    pub hosts_rendered: u64,
}

impl RenderSummary {
    /// Whether nothing was rendered or tried.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty() && self.hosts.is_empty()
    }
}

/// What a run's revisits of stored URLs found (see [`crate::revisit`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Revisits {
    /// Stored URLs fetched again.
    pub revisited: u64,
    /// Of those, answered `304 Not Modified`: the stored content kept.
    pub not_modified: u64,
    /// Answered in full with the stored payload (same digest): the stored content
    /// kept, no second copy of the body.
    pub unchanged: u64,
    /// Answered with new content: stored, its links followed.
    pub changed: u64,
    /// Answered 404 or 410 where a page was.
    pub gone: u64,
    /// Pages fetched for the first time in the run.
    pub new: u64,
}

impl Revisits {
    /// Whether the run revisited nothing (the summary then leaves the figures out).
    pub fn is_empty(&self) -> bool {
        self.revisited == 0
    }
}

fn nonzero<'a>(counts: impl Iterator<Item = (&'a str, &'a AtomicU64)>) -> BTreeMap<String, u64> {
    counts
        .map(|(name, n)| (name.to_owned(), n.load(Relaxed)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn rate(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// Whether a count is zero: counts of what only some crawls do are left out of the
/// JSON summary then.
fn is_zero(count: &u64) -> bool {
    *count == 0
}
