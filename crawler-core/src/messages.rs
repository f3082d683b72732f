//! The messages that move a URL through the engine, together: what the frontier hands
//! the scheduler ([`Next`]: a [`Job`], a [`RobotsJob`], or when to look again), what the
//! scheduler hands a worker (`Task`), what a worker reports back (`Report`, carrying
//! [`Queued`] URLs, [`Health`] and [`RobotsResult`]), and what the frontier refuses or
//! closes ([`Refused`], [`Closure`]).
//!
//! They are plain data in a module of their own so that the frontier, the scheduler and
//! the workers each import them without importing one another.

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crawler_storage::Via;
use crawler_storage::{QueueEntry, StoreError};

use crate::error_kind::ErrorKind;
use crate::robots::RobotsRules;
use crate::url::CanonicalUrl;

/// Index of a host in the frontier.
pub type HostId = usize;

/// What a queued URL is fetched as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// A page: stored, and its links followed.
    Page,
    /// A sitemap, `level` sitemap indexes below the one that was found first.
    Sitemap {
        /// Sitemap indexes followed to reach it (0 for one named by robots.txt or
        /// `--sitemap`).
        level: u8,
    },
}

impl JobKind {
    /// How the store's frontier spells the kind (`None` for a page).
    pub fn store_name(self) -> Option<String> {
        match self {
            JobKind::Page => None,
            JobKind::Sitemap { level } => Some(format!("sitemap:{level}")),
        }
    }

    /// The kind a stored frontier entry names; anything unknown is a page.
    pub fn from_store_name(name: Option<&str>) -> JobKind {
        name.and_then(|name| name.strip_prefix("sitemap:"))
            .and_then(|level| level.parse().ok())
            .map_or(JobKind::Page, |level| JobKind::Sitemap { level })
    }
}

/// A URL handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The URL to fetch.
    pub url: CanonicalUrl,
    /// Its host in the frontier.
    pub host: HostId,
    /// Link hops from a seed.
    pub depth: u32,
    /// The page it was discovered on (`None` for seeds).
    pub from: Option<String>,
    /// Redirect hops that led here.
    pub hops: u8,
    /// A page or a sitemap.
    pub kind: JobKind,
    /// Fetch attempts already made (0 for a first try).
    pub attempts: u32,
    /// Its priority within its host (see [`crate::priority`]).
    pub priority: i8,
    /// Its place among the URLs of its host the page that found it queued.
    pub turn: u32,
    /// How it was reached.
    pub via: Via,
    /// Embed hops in a row that led here (0 unless reached by an embed, or by a
    /// redirect from one).
    pub embeds: u8,
    /// A revisit: the store holds a record of the URL (a recrawl's, or
    /// `--retry-errors`'), whose validators the request sends and whose content a
    /// 304 or the same payload keeps ([`crate::revisit`]).
    pub revisit: bool,
    /// How often a sitemap said the URL changes (`<changefreq>`, seconds): its first
    /// interval under an adaptive revisit policy.
    pub changefreq_s: Option<u32>,
    /// The host's only request in flight, and its last for a while (its turn ends, or
    /// nothing else of it is queued and it is not the turn's first page): its
    /// connection need not be kept.
    pub last_of_turn: bool,
}

/// A URL waiting in a host queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The URL, canonical.
    pub url: CanonicalUrl,
    /// Link hops from a seed.
    pub depth: u32,
    /// The page it was discovered on (`None` for seeds).
    pub from: Option<String>,
    /// Redirect hops that led here.
    pub hops: u8,
    /// A page or a sitemap.
    pub kind: JobKind,
    /// Fetch attempts already made.
    pub attempts: u32,
    /// Higher goes first within its host (see [`crate::priority`]).
    pub priority: i8,
    /// Its place among the URLs of its host that the page which found it queued (0
    /// for the first): the fair order within a depth (see
    /// [`crawler_storage::queue_order`]).
    pub turn: u32,
    /// How it was reached.
    pub via: Via,
    /// Embed hops in a row that led here (see [`Job::embeds`]).
    pub embeds: u8,
    /// A revisit of a stored record (see [`Job::revisit`]).
    pub revisit: bool,
    /// A sitemap's `<changefreq>` of it (see [`Job::changefreq_s`]).
    pub changefreq_s: Option<u32>,
}

impl Queued {
    /// A page URL on its first try, reached as a seed (no `from`) or a link.
    pub fn page(url: CanonicalUrl, depth: u32, from: Option<String>, hops: u8) -> Queued {
        Queued {
            via: Via::presumed(from.as_deref()),
            url,
            depth,
            from,
            hops,
            kind: JobKind::Page,
            attempts: 0,
            priority: 0,
            turn: 0,
            embeds: 0,
            revisit: false,
            changefreq_s: None,
        }
    }

    /// The queued URL a frontier entry stands for, its URL parsed already: a revisit
    /// when the entry names a record it refetches.
    pub fn from_entry(url: CanonicalUrl, entry: QueueEntry) -> Queued {
        Queued {
            via: entry.via(),
            embeds: entry.embeds,
            url,
            depth: entry.depth,
            from: entry.from,
            hops: entry.hops,
            kind: JobKind::from_store_name(entry.kind.as_deref()),
            attempts: 0,
            priority: entry.priority,
            turn: entry.turn,
            revisit: entry.retry_of.is_some(),
            changefreq_s: entry.changefreq_s,
        }
    }

    /// Where it goes in its host's queue, lowest first.
    pub fn order(&self) -> u64 {
        crawler_storage::queue_order(self.priority, self.depth, self.turn)
    }
}

/// A robots.txt fetch for a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RobotsJob {
    /// The host in the frontier.
    pub host: HostId,
    /// `/robots.txt` of the host, or where it redirected.
    pub url: CanonicalUrl,
    /// Redirects followed to get here.
    pub hops: u8,
    /// Whether a seed is on the host (its `Sitemap` lines are wanted then).
    pub seed_host: bool,
}

/// A URL settled without a fetch, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The host in the frontier.
    pub host: HostId,
    /// The URL not fetched.
    pub queued: Queued,
    /// Why.
    pub reason: Refusal,
}

/// Why a URL is not fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A robots.txt rule disallows it (the rule and group, for the record).
    RobotsDisallowed(String),
    /// The host's robots.txt could not be fetched through all retries.
    RobotsUnavailable(Arc<str>),
    /// The host is parked after failing again and again.
    HostUnreachable(Arc<str>),
    /// A cluster handed it out this many times and no node recorded it.
    DeadLetter(u32),
}

impl Refusal {
    /// The error kind the store records.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Refusal::RobotsDisallowed(_) => ErrorKind::RobotsDisallowed,
            Refusal::RobotsUnavailable(_) => ErrorKind::RobotsUnavailable,
            Refusal::HostUnreachable(_) => ErrorKind::HostUnreachable,
            Refusal::DeadLetter(_) => ErrorKind::DeadLetter,
        }
    }

    /// The human-readable detail the store records.
    pub fn message(&self) -> String {
        match self {
            Refusal::RobotsDisallowed(rule) => format!("disallowed by robots.txt: {rule}"),
            Refusal::RobotsUnavailable(why) => {
                format!("robots.txt unreachable, so nothing on the host is fetched ({why})")
            }
            Refusal::HostUnreachable(why) => format!("host parked after repeated failures ({why})"),
            Refusal::DeadLetter(times) => format!(
                "handed out {times} times by the cluster and never recorded: given up (--max-deliveries)"
            ),
        }
    }
}

/// A host the frontier closed: nothing more of it is fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closure {
    /// The host key (`http://a.test:80`).
    pub host: String,
    /// `host-unreachable` (parked) or `robots-unavailable`.
    pub kind: &'static str,
    /// Why, as recorded against its URLs.
    pub reason: String,
}

/// What the frontier can give the scheduler now.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Fetch this.
    Job(Job),
    /// Fetch this host's robots.txt.
    Robots(RobotsJob),
    /// Nothing is ready; the earliest host becomes ready at this instant.
    WaitUntil(Instant),
    /// Nothing is ready or waiting: only completions in flight can bring more work.
    Idle,
}

/// What a finished request says about its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// An answer that asks nothing of us (any status but 429 and 5xx).
    Fine,
    /// 429 or 503: slow down, for `retry_after` if the server said.
    Overloaded {
        /// The server's `Retry-After`, read.
        retry_after: Option<Duration>,
    },
    /// Another 5xx.
    ServerError,
    /// No usable answer: connection refused, DNS, timeout, broken connection.
    Unreachable {
        /// What failed, for the record of a parked host.
        reason: String,
        /// It was a timeout: the host may be overloaded (an auto delay grows).
        timed_out: bool,
    },
    /// Nothing was sent.
    NotContacted,
}

/// A page fetch that reached its host: when the response began, and how long the
/// whole fetch took (body included), which an auto delay follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answered {
    /// When the response began.
    pub at: Instant,
    /// From the request's start to its body's end (or its failure).
    pub took: Duration,
}

/// A change to a host's politeness that a cluster node shares with the host's
/// partition, so that whichever node owns the host next keeps to it.
#[derive(Clone, Debug)]
pub enum HostNews {
    /// The rules of its robots.txt, fetched just now.
    Robots {
        /// The host's key.
        host: String,
        /// The rules that apply to this crawler.
        rules: Arc<RobotsRules>,
    },
    /// The host is paused (a `Retry-After` or a backoff).
    Paused {
        /// The host's key.
        host: String,
        /// Nothing of it may be fetched for this long from now.
        pause: Duration,
        /// The backoff level it reached: what the next backoff doubles from.
        backoff_level: u8,
    },
}

impl HostNews {
    /// The key of the host the news is about.
    pub fn host(&self) -> &str {
        match self {
            HostNews::Robots { host, .. } | HostNews::Paused { host, .. } => host,
        }
    }
}

/// What a host's former owner shared: what a cluster node adopts with its first
/// delivery of the host.
#[derive(Clone, Debug)]
pub struct AdoptedHost {
    /// The host's key.
    pub host: String,
    /// Its robots.txt rules, and how long ago they were fetched.
    pub robots: Option<(Arc<RobotsRules>, Duration)>,
    /// How long from now it stays paused, and its backoff level.
    pub paused: Option<(Duration, u8)>,
}

/// The meaning of a finished robots.txt fetch, for the frontier.
#[derive(Clone, Debug, PartialEq)]
pub enum RobotsResult {
    /// These rules apply (a missing file gives [`RobotsRules::allow_all`]).
    Rules(Arc<RobotsRules>),
    /// Fetch this next, for the same host.
    Redirect {
        /// Where robots.txt moved to.
        url: CanonicalUrl,
        /// Redirect hops so far.
        hops: u8,
    },
    /// No usable answer: nothing of the host goes; retry later.
    Unreachable {
        /// What failed.
        reason: String,
        /// The server's `Retry-After`, read.
        retry_after: Option<Duration>,
        /// No connection at all (counts toward parking the host).
        connection_failure: bool,
    },
}

/// What the scheduler hands a worker.
pub(crate) enum Task {
    Page(Job),
    Robots(RobotsJob),
    /// Record these without a fetch.
    Settle(Vec<Refused>),
}

/// What a worker tells the scheduler after each task.
pub(crate) enum Report {
    /// A page fetch is settled (stored, or to be retried); these URLs are new.
    Page {
        host: HostId,
        /// When the response began and how long the fetch took (`None` when no
        /// request was made).
        answered: Option<Answered>,
        health: Health,
        discovered: Vec<Queued>,
        /// The URL again, when the fetch failed and is to be tried once more.
        retry: Option<Queued>,
        /// The job's URL, now recorded in the store (`None` when it is to be retried).
        recorded: Option<String>,
    },
    /// A robots.txt fetch finished; these URLs (its sitemaps) are new.
    Robots {
        host: HostId,
        answered: Option<Instant>,
        result: RobotsResult,
        discovered: Vec<Queued>,
    },
    /// A batch of refused URLs is recorded (one host entry per URL, and the URLs).
    Settled {
        hosts: Vec<HostId>,
        urls: Vec<String>,
    },
    /// Seeds taken in and stored (from the seed intake, not a worker); `end` says the
    /// intake is over, and how it ended.
    Seeds {
        discovered: Vec<Queued>,
        end: Option<Result<(), StoreError>>,
    },
    /// From a render thread (not a worker): URLs a rendering page asked for or its
    /// rendered DOM leads to; `done` when the page's rendering is stored.
    #[cfg_attr(not(feature = "render"), allow(dead_code))]
    Rendered { discovered: Vec<Queued>, done: bool },
    /// The store refused a write: the crawl must stop.
    StoreFailed {
        /// The host whose request this was (`None` for a refused batch).
        host: Option<HostId>,
        error: StoreError,
    },
}
