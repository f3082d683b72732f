//! The records a store keeps and hands back, as the crate's users see them: a page
//! ([`PageRecord`], its [`HttpExchange`]), a frontier entry ([`QueueEntry`]), a run
//! ([`CrawlRun`]), a link ([`Link`]) and the statistics of a crawl ([`StoreStats`]).
//! They are plain data; how they are laid out on disk is `crate::codec`'s business.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the crawl knows about one URL it fetched, or tried to, or decided not to.
///
/// Exactly one of `status` and `error` is normally set: a response was received
/// (any status, 3xx included) or the fetch failed (or was refused) with an error kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRecord {
    /// The canonical URL.
    pub url: String,
    /// The URL's host, for per-host statistics and filters.
    pub host: String,
    /// HTTP status, or `None` when no response was received.
    pub status: Option<u16>,
    /// Error kind (`timeout`, `connect`, `dns`, `body-too-large`, `too-many-redirects`, ...).
    pub error: Option<String>,
    /// Human-readable detail of the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Link distance from a seed (seeds are 0; a redirect target keeps its source's depth).
    pub depth: u32,
    /// The page this URL was discovered on (`None` for seeds).
    pub from: Option<String>,
    /// The `Content-Type` header, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The `Content-Length` header, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
    /// The `Last-Modified` header, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The `ETag` header, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The `Location` header of a redirect, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The decoded `<title>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Milliseconds since the Unix epoch when the fetch started.
    pub fetched_at_ms: u64,
    /// How long the fetch took, body included.
    pub fetch_ms: u64,
    /// Decompressed body length received (also when the body was not stored).
    pub bytes: u64,
    /// Whether the body is in the store.
    pub body_stored: bool,
    /// Number of outlinks stored for this page.
    pub outlinks: u32,
    /// Fetch attempts made (1 without retries, 0 when refused without a fetch).
    pub attempts: u32,
    /// The page asked not to be indexed (`noindex` in `<meta name="robots">` or
    /// `X-Robots-Tag`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub noindex: bool,
    /// The page's `<link rel="canonical">` target, canonicalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// The response's HTTP version (`HTTP/1.1`, `HTTP/2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_version: Option<String>,
    /// The response came over TLS whose certificate was not checked (`--insecure`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_unverified: bool,
    /// The proxy the request went through (`--proxy`), its credentials masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// How the crawl reached this URL; `None` in stores written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The payload's digest, `sha1:` and the base32 SHA-1 of the body received
    /// (decoded), as WARC and CDX name it: how a revisit tells an unchanged 200 from a
    /// changed one. Set for a complete body of a 2xx response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Visits of this URL so far, this one included (0 in stores written before
    /// revisits were kept: read it through [`PageRecord::visit_count`]).
    #[serde(default, skip_serializing_if = "is_at_most_one")]
    pub visits: u32,
    /// What this visit found, compared with the one before; `None` on a URL's first
    /// visit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// When the content stored now (body, outlinks, the response head that came with
    /// them) was fetched, when an earlier visit than this one fetched it (a 304 or an
    /// identical payload keeps it); `None`: this visit's. See
    /// [`PageRecord::captured_at_ms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_ms: Option<u64>,
    /// The URL's own revisit interval (ms), kept by an adaptive revisit policy: it is
    /// due again at `fetched_at_ms + revisit_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisit_ms: Option<u64>,
    /// What the engine fetched the URL as, when not an ordinary page (`sitemap:0`, as
    /// [`QueueEntry::kind`]); opaque to the store. A revisit is queued as the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

fn is_at_most_one(value: &u32) -> bool {
    *value <= 1
}

/// What a visit of a URL found, against the visit before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// `304 Not Modified` to a conditional request: the stored content is kept.
    NotModified,
    /// A full response whose payload digest is the stored one: the stored content is
    /// kept, no second copy of the body.
    Unchanged,
    /// New content: its body, links and head replace the stored ones.
    Changed,
    /// 404 or 410 where there was a page: the URL is gone (kept, with its history).
    Gone,
}

impl Change {
    /// Every value, in the order of the enum.
    pub const ALL: [Change; 4] = [
        Change::NotModified,
        Change::Unchanged,
        Change::Changed,
        Change::Gone,
    ];

    /// The name the JSON and the CLI use (`not-modified`, `unchanged`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Change::NotModified => "not-modified",
            Change::Unchanged => "unchanged",
            Change::Changed => "changed",
            Change::Gone => "gone",
        }
    }

    /// Whether the visit kept the stored content (a 304, or the same payload).
    pub fn kept_content(self) -> bool {
        matches!(self, Change::NotModified | Change::Unchanged)
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One visit of a URL, as its history keeps it ([`crate::Store::history`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// When the fetch started (ms since the Unix epoch).
    pub fetched_at_ms: u64,
    /// The HTTP status, if a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The error kind, if the visit failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The payload digest of what the visit received or kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// What it found against the visit before (`None`: the first visit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Whether the store still holds the body this visit brought (the current one, or
    /// an older version kept by `--keep-versions`); a visit that kept an earlier
    /// visit's content (a 304, the same payload) brought none.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_kept: bool,
}

impl Visit {
    /// The visit a record describes.
    pub fn of(page: &PageRecord) -> Visit {
        Visit {
            fetched_at_ms: page.fetched_at_ms,
            status: page.status,
            error: page.error.clone(),
            digest: page.digest.clone(),
            change: page.change,
            body_kept: false,
        }
    }
}

/// How the crawl reached a URL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// A seed.
    Seed,
    /// A link of a page (`<a>`, `<area>`, `<iframe>`, ...), or a URL a page handler
    /// added.
    #[default]
    Link,
    /// Embedded by a page or a stylesheet (`--requisites`): an image, a stylesheet, a
    /// script, a font, ...
    Embed,
    /// The target of a redirect.
    Redirect,
    /// Listed in a sitemap, or a sitemap named by robots.txt.
    Sitemap,
    /// Requested by a page as a browser rendered it (`--render`): a script, a
    /// stylesheet, the JSON a script fetched, ...
    Render,
}

impl Via {
    /// Every value, in the order of the enum.
    pub const ALL: [Via; 6] = [
        Via::Seed,
        Via::Link,
        Via::Embed,
        Via::Redirect,
        Via::Sitemap,
        Via::Render,
    ];

    /// The lowercase name the JSON and the CLI use (`seed`, `link`, `embed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Seed => "seed",
            Via::Link => "link",
            Via::Embed => "embed",
            Via::Redirect => "redirect",
            Via::Sitemap => "sitemap",
            Via::Render => "render",
        }
    }

    /// The value named `name` (as [`Via::as_str`] spells it).
    pub fn from_name(name: &str) -> Option<Via> {
        Via::ALL.into_iter().find(|via| via.as_str() == name)
    }

    /// A one-byte code, for binary forms.
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Via> {
        Via::ALL.get(usize::from(code)).copied()
    }

    /// What a frontier entry without a stored `via` was: a seed without a source
    /// page, else a link.
    pub fn presumed(from: Option<&str>) -> Via {
        if from.is_none() {
            Via::Seed
        } else {
            Via::Link
        }
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PageRecord {
    /// An empty record for `url`, to be filled in.
    pub fn new(url: &str, host: &str, depth: u32) -> PageRecord {
        PageRecord {
            url: url.to_owned(),
            host: host.to_owned(),
            depth,
            attempts: 1,
            ..PageRecord::default()
        }
    }

    /// Visits of this URL so far, this one included (at least 1).
    pub fn visit_count(&self) -> u32 {
        self.visits.max(1)
    }

    /// When the content stored now was fetched: this visit, unless it kept an earlier
    /// visit's content (a 304, or the same payload). `ls --changed-since` reads it.
    pub fn captured_at_ms(&self) -> u64 {
        self.captured_ms.unwrap_or(self.fetched_at_ms)
    }

    /// When an adaptive revisit policy has this URL due again.
    pub fn due_at_ms(&self) -> Option<u64> {
        self.revisit_ms
            .map(|interval| self.fetched_at_ms.saturating_add(interval))
    }

    /// Whether the URL is gone: a revisit found a 404 or 410 where a page was.
    pub fn is_gone(&self) -> bool {
        self.change == Some(Change::Gone)
    }

    /// `"2xx"`, `"3xx"`, ... or `"error"`.
    pub fn status_class(&self) -> &'static str {
        match self.status {
            Some(status) => PageRecord::class_of(status),
            None => "error",
        }
    }

    /// `"2xx"`, `"3xx"`, ... for a status; `"other"` outside 100..=599.
    pub fn class_of(status: u16) -> &'static str {
        match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            500..=599 => "5xx",
            _ => "other",
        }
    }
}

/// A URL in the frontier: discovered, admitted, not yet fetched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The canonical URL.
    pub url: String,
    /// The politeness key of its host (`scheme://host:port`): entries are stored per
    /// host, lowest depth first, so a host's queue can be read back in order.
    #[serde(default)]
    pub host: String,
    /// Link distance from a seed.
    pub depth: u32,
    /// The page it was discovered on (`None` for seeds).
    pub from: Option<String>,
    /// Redirect hops that led here (0 for a link).
    #[serde(default)]
    pub hops: u8,
    /// What the engine queued the URL as, when not an ordinary page (`sitemap:0`, ...).
    /// Opaque to the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// For a URL queued again after it failed: the fetch time (ms) of the failed
    /// record. The entry is settled once that record is replaced, not by the record
    /// itself, as other entries are. Queue a retry only when the failed record is
    /// applied ([`crate::Store::flush`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<u64>,
    /// Higher goes first within its host (the crawl's scoring; 0 by default).
    #[serde(default)]
    pub priority: i8,
    /// Its place among the URLs of its host that the page which found it queued (0
    /// for the first): the turn it takes when a depth's URLs are taken round-robin by
    /// the page that found them (see [`queue_order`]).
    #[serde(default)]
    pub turn: u32,
    /// How the URL was reached; `None` in entries written before it was kept (then
    /// [`Via::presumed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// Embed hops in a row that led here (`--requisites`): 0 for a seed or a link, 1
    /// for what a page embeds, 2 for what that embeds (a stylesheet's font), ...; a
    /// redirect keeps its source's.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub embeds: u8,
    /// How often a sitemap says the URL changes (`<changefreq>`, in seconds): its
    /// first revisit interval under an adaptive policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changefreq_s: Option<u32>,
}

fn is_zero(value: &u8) -> bool {
    *value == 0
}

/// The order a host's queue is taken in, lowest first: higher priority, then lower
/// depth (breadth-first), then lower *turn class*, then discovery order (the caller's
/// tie-break).
///
/// The turn class is the bit length of `turn` (0; 1; 2-3; 4-7; ...): a depth's URLs
/// go by the page that found them, each page's first URL, then each page's second,
/// then each page's third and fourth, and so on. One page of 5,000 links thus takes
/// at most twice the turns of any other page of its depth that still has URLs, instead
/// of the whole depth. Classes rather than exact turns keep the number of distinct
/// orders in a host's queue small (a dozen per depth at 5,000 links a page), which is
/// what reading a spilled queue in this order costs.
pub fn queue_order(priority: i8, depth: u32, turn: u32) -> u64 {
    let rank = u64::from((127 - i16::from(priority)) as u16);
    let class = u64::from(u32::BITS - turn.leading_zeros());
    (rank << 40) | (u64::from(depth) << 8) | class
}

impl QueueEntry {
    /// A seed on `host` (its politeness key): depth 0, discovered on no page.
    pub fn seed(url: &str, host: &str) -> QueueEntry {
        QueueEntry {
            url: url.to_owned(),
            host: host.to_owned(),
            depth: 0,
            from: None,
            hops: 0,
            via: Some(Via::Seed),
            ..QueueEntry::default()
        }
    }

    /// Where the entry goes in its host's queue (see [`queue_order`]).
    pub fn order(&self) -> u64 {
        queue_order(self.priority, self.depth, self.turn)
    }

    /// How the URL was reached: as stored, else [`Via::presumed`].
    pub fn via(&self) -> Via {
        self.via
            .unwrap_or_else(|| Via::presumed(self.from.as_deref()))
    }
}

/// Where a frontier entry is: enough to remove it when its URL is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSlot<'a> {
    /// The host's politeness key.
    pub host: &'a str,
    /// The entry's depth.
    pub depth: u32,
    /// The canonical URL.
    pub url: &'a str,
}

impl QueueEntry {
    /// Where this entry is stored.
    pub fn slot(&self) -> QueueSlot<'_> {
        QueueSlot {
            host: &self.host,
            depth: self.depth,
            url: &self.url,
        }
    }
}

/// One run of the crawler over this store (a crawl, or one resumption of it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CrawlRun {
    /// Milliseconds since the Unix epoch when the run started.
    pub started_at_ms: u64,
    /// When it ended; `None` while it runs, or when it was killed.
    pub finished_at_ms: Option<u64>,
    /// Fetches completed in this run.
    pub fetched: u64,
    /// Whether the run was stopped before the frontier was exhausted.
    pub interrupted: bool,
    /// The configuration of the run, as the engine chose to describe it.
    #[serde(default)]
    pub config: serde_json::Value,
    /// The run's `--proxy` proxies (credentials masked), with their requests and
    /// outages; empty without `--proxy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxyUse>,
}

/// What a crawl sent through one proxy, and how often the proxy was taken out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyUse {
    /// The proxy, its credentials masked (`http://***@proxy:3128`).
    pub proxy: String,
    /// Requests sent through it.
    pub requests: u64,
    /// Times it was taken out of the pool.
    pub outages: u64,
}

impl ProxyUse {
    /// Adds `each` to the totals in `into`, by proxy, in order of first appearance.
    pub fn add_all(into: &mut Vec<ProxyUse>, each: &[ProxyUse]) {
        for proxy in each {
            match into.iter_mut().find(|total| total.proxy == proxy.proxy) {
                Some(total) => {
                    total.requests += proxy.requests;
                    total.outages += proxy.outages;
                }
                None => into.push(proxy.clone()),
            }
        }
    }
}

/// The HTTP request sent for a page and the head of the response that came back, as
/// the engine recorded them (for `crawler get --headers` and WARC exports).
///
/// The store does not interpret them. Header names and values are kept in the order
/// they were sent; values that were not UTF-8 are stored lossily.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpExchange {
    /// What was sent.
    pub request: RequestHead,
    /// What came back, body excluded.
    pub response: ResponseHead,
}

/// A request line and its headers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestHead {
    /// `GET`.
    pub method: String,
    /// The request target: path and query, as on the request line.
    pub target: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub version: String,
    /// Every header sent, `Host` included, in order.
    pub headers: Vec<(String, String)>,
}

/// A status line and its headers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseHead {
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase (`OK`, `Not Found`); may be empty.
    pub reason: String,
    /// Every header received, in order. Headers that describe an encoding the HTTP
    /// client undid (`Content-Encoding`, `Content-Length` of a decompressed body) are
    /// absent, because the stored body is the decoded one.
    pub headers: Vec<(String, String)>,
}

/// One edge of the link graph: `from` links to `to`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Link {
    /// The page the link is on.
    pub from: String,
    /// Where it points (canonical; it may be out of scope and never fetched).
    pub to: String,
}

/// Now, as the records' times are kept: milliseconds since the Unix epoch (0 for a
/// clock set before 1970). The one clock reading of the crate and of those above it.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Totals over the pages of a store (or of one host, ...), and the crawl's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// The `--proxy` proxies of every run, with their requests and outages summed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxyUse>,
    /// URLs with a record (fetched, failed or refused).
    pub urls: u64,
    /// URLs that got an HTTP response.
    pub responses: u64,
    /// Responses by class: `"2xx"`, `"3xx"`, ...
    pub by_status_class: BTreeMap<String, u64>,
    /// Responses by exact status.
    pub by_status: BTreeMap<u16, u64>,
    /// Failed or refused URLs by error kind (a response whose body failed counts here
    /// and among the responses).
    pub errors: BTreeMap<String, u64>,
    /// Body bytes received (decompressed).
    pub bytes: u64,
    /// Records per host.
    pub pages_per_host: BTreeMap<String, u64>,
    /// URLs visited more than once (recrawls).
    pub revisited: u64,
    /// URLs by what their last visit found against the one before: `not-modified`
    /// (304), `unchanged` (the same payload), `changed`, `gone`. URLs visited once are
    /// in none.
    pub by_change: BTreeMap<String, u64>,
    /// The earliest and latest fetch start (ms since the Unix epoch), if any page.
    pub first_fetch_ms: Option<u64>,
    /// See `first_fetch_ms`.
    pub last_fetch_ms: Option<u64>,
    /// URLs still in the frontier (whole-store statistics only).
    pub queued: u64,
    /// Runs of the crawler over this store (whole-store statistics only).
    pub runs: u64,
    /// Wall time of all finished runs, in milliseconds (whole-store statistics only).
    /// A run that was killed has no end; its time is not counted.
    pub elapsed_ms: u64,
}

impl StoreStats {
    /// Counts one page record in.
    pub fn add(&mut self, page: &PageRecord) {
        self.urls += 1;
        self.bytes += page.bytes;
        match self.pages_per_host.get_mut(&page.host) {
            Some(count) => *count += 1,
            None => {
                self.pages_per_host.insert(page.host.clone(), 1);
            }
        }
        if let Some(status) = page.status {
            self.responses += 1;
            *self.by_status.entry(status).or_default() += 1;
            match self.by_status_class.get_mut(page.status_class()) {
                Some(count) => *count += 1,
                None => {
                    self.by_status_class
                        .insert(page.status_class().to_owned(), 1);
                }
            }
        }
        if let Some(kind) = &page.error {
            *self.errors.entry(kind.clone()).or_default() += 1;
        }
        if page.visit_count() > 1 {
            self.revisited += 1;
        }
        if let Some(change) = page.change {
            *self
                .by_change
                .entry(change.as_str().to_owned())
                .or_default() += 1;
        }
        if page.attempts > 0 {
            let at = page.fetched_at_ms;
            self.first_fetch_ms = Some(self.first_fetch_ms.map_or(at, |t| t.min(at)));
            self.last_fetch_ms = Some(self.last_fetch_ms.map_or(at, |t| t.max(at)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_totals_add_up_by_proxy_in_order_of_first_use() {
        let used = |proxy: &str, requests, outages| ProxyUse {
            proxy: proxy.into(),
            requests,
            outages,
        };
        let mut totals = vec![used("http://a:1", 3, 0)];
        ProxyUse::add_all(
            &mut totals,
            &[used("http://b:1", 2, 1), used("http://a:1", 1, 2)],
        );
        assert_eq!(totals, [used("http://a:1", 4, 2), used("http://b:1", 2, 1)]);
    }

    #[test]
    fn adds_statuses_errors_hosts_and_fetch_span() {
        let mut stats = StoreStats::default();
        let ok = PageRecord {
            status: Some(200),
            bytes: 10,
            fetched_at_ms: 50,
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        let failed = PageRecord {
            error: Some("timeout".into()),
            fetched_at_ms: 20,
            ..PageRecord::new("http://b.test/", "b.test", 0)
        };
        let refused = PageRecord {
            error: Some("too-many-redirects".into()),
            attempts: 0,
            fetched_at_ms: 5,
            ..PageRecord::new("http://b.test/r", "b.test", 0)
        };
        for page in [&ok, &failed, &refused] {
            stats.add(page);
        }
        assert_eq!(stats.urls, 3);
        assert_eq!(stats.responses, 1);
        assert_eq!(stats.bytes, 10);
        assert_eq!(stats.by_status_class["2xx"], 1);
        assert_eq!(stats.errors["timeout"], 1);
        assert_eq!(stats.pages_per_host["b.test"], 2);
        assert_eq!(
            (stats.first_fetch_ms, stats.last_fetch_ms),
            (Some(20), Some(50))
        );
    }
}
