//! One page (or sitemap) fetch: fetch, decide on a retry, read the body, store.
//!
//! With `--requisites`, what a page embeds is queued besides its links, and the
//! embed hop rules live here ([`WorkerContext::read_page`], `read_stylesheet`,
//! `admit`): an embed is admitted on any host (only `--deny` refuses it), one level
//! past `--max-depth`; what was reached outside the scope has none of its links
//! followed, and only a stylesheet's embeds are (fonts, images, `@import`s), up to
//! [`MAX_EMBED_HOPS`] embeds in a row.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use crawler_storage::{payload_digest, PageRecord, PageWrite, QueueEntry, QueueSlot, StoreError};

use super::context::{unix_ms, WorkerContext};
use super::render_queue::{AsFetched, RenderJob};
use super::revisit::Previous;
use crate::budgets::OverBudget;
use crate::config::BodyPolicy;
use crate::error_kind::ErrorKind;
use crate::events::CrawlEvent;
use crate::extract::{decode_html, extract_css, extract_page, Link};
use crate::fetch::{retry_after, BodyLimit, FetchOutcome, ResponseMeta};
use crate::hooks::{guarded, Page, PageActions, StoredPage};
use crate::messages::{Answered, Health, Job, JobKind, Queued, Report, Via};
use crate::millis::millis;
use crate::priority::ScoredUrl;
use crate::render::{visible_text, Render};
use crate::robots::PageDirectives;
use crate::seen::Claims;
use crate::sitemap::{self, SitemapKind, MAX_SITEMAP_BYTES, MAX_SITEMAP_NESTING};
use crate::traps::trap_record;
use crate::url::{CanonicalUrl, HostKey};

/// Embeds in a row the crawl follows: a page, its stylesheet, the stylesheet that one
/// `@import`s, and that one's font. Bounds what a stylesheet outside the scope can
/// lead to.
pub const MAX_EMBED_HOPS: u8 = 3;

/// A URL found on a page (or in a sitemap, or by rendering), before scope and dedup.
pub(super) struct Candidate {
    pub url: CanonicalUrl,
    pub depth: u32,
    pub hops: u8,
    pub kind: JobKind,
    pub via: Via,
    /// Embed hops in a row (see [`Job::embeds`]); above 0, the URL is admitted on
    /// any host.
    pub embeds: u8,
    /// The text of the `<a>` that linked to it, for the scorer.
    pub anchor_text: Option<String>,
    /// The sitemap's `<lastmod>` of it (ms), when a sitemap listed it with one.
    pub lastmod: Option<u64>,
    /// The sitemap's `<changefreq>` of it, in seconds.
    pub changefreq_s: Option<u32>,
}

impl Candidate {
    /// A page reached by a link (or added by a page handler) at `depth`.
    pub(super) fn link(url: CanonicalUrl, depth: u32, anchor_text: Option<String>) -> Candidate {
        Candidate {
            url,
            depth,
            hops: 0,
            kind: JobKind::Page,
            via: Via::Link,
            embeds: 0,
            anchor_text,
            lastmod: None,
            changefreq_s: None,
        }
    }
}

/// Each host's next turn among the URLs one page queues (see `Queued::turn`).
#[derive(Default)]
struct Turns {
    by_host: HashMap<String, u32>,
}

impl Turns {
    fn next(&mut self, host: &str) -> u32 {
        if let Some(turn) = self.by_host.get_mut(host) {
            *turn += 1;
            return *turn;
        }
        self.by_host.insert(host.to_owned(), 0);
        0
    }
}

/// What admitting a page's candidates yields: its new frontier entries (for the store),
/// the records of URLs settled without a fetch, the new URLs (for the frontier), and
/// how many new URLs a budget kept out.
pub(super) struct Admitted {
    pub discovered: Vec<(u128, QueueEntry)>,
    pub settled: Vec<(u128, PageRecord)>,
    pub queued: Vec<Queued>,
    pub over_budget: OverBudget,
}

/// What reading a response yields besides the record.
#[derive(Default)]
struct Reading {
    outlinks: Vec<String>,
    candidates: Vec<Candidate>,
    /// What the embedder's hooks said went wrong on this page.
    hook_failures: Vec<String>,
}

impl WorkerContext {
    /// A page or sitemap task, step by step: fetch; either hand it back for a retry, or
    /// record the response, read it, admit the URLs it leads to, hand it to the sink,
    /// store it all in one write and report.
    pub(super) fn process(&self, job: Job) -> Result<Report, StoreError> {
        let previous = self.previous(&job)?;
        let fetched_at_ms = unix_ms();
        let outcome = self.fetch(&job, previous.as_ref());
        self.progress.live.fetch_seconds.record(outcome.elapsed);
        let health = health(&outcome);
        let attempt = job.attempts.saturating_add(1);
        let retrying = is_retryable(&outcome) && attempt <= self.settings.retries;
        self.announce_fetch(&job, &outcome, retrying);
        if retrying {
            return Ok(self.retry_later(job, &outcome, health, attempt));
        }
        self.progress.record_fetched();
        let mut page = self.record_fetch(&job, &outcome, attempt, fetched_at_ms);
        let kept = (previous.as_ref()).and_then(|p| Some((p, p.kept_by(&outcome)?)));
        let (mut reading, body) = match kept {
            // The stored content stands: nothing to read again.
            Some((previous, change)) => {
                self.record_answer(&outcome, &mut page);
                self.keep_content(&mut page, previous, change);
                (Reading::default(), None)
            }
            None => {
                let read = self.read_response(&job, &outcome, &mut page);
                self.note_visit(&job, &mut page, previous.as_ref());
                read
            }
        };
        let candidates = std::mem::take(&mut reading.candidates);
        // Released when dropped: after the write below, or on an error or a panic before it.
        let mut claims = self.seen.claims();
        let admitted = self.admit(&job, candidates, &mut claims, &mut reading.hook_failures)?;
        self.record_over_budget(&job, &mut page, admitted.over_budget);
        let body = body.filter(|_| !self.hooks.sink_instead);
        if kept.is_none() {
            page.body_stored = body.is_some();
        }
        // Before the sink, so that it sees the record as stored.
        self.record_hook_failures(&job, &mut page, &reading.hook_failures);
        self.hand_to_sink(&job, &mut page, &outcome, &reading.outlinks);
        let host_key = job.url.host_key();
        let writing = Instant::now();
        let written = self.write(&PageWrite {
            page: Some(&page),
            body,
            outlinks: &reading.outlinks,
            exchange: outcome.exchange.as_ref(),
            discovered: &admitted.discovered,
            settled: &admitted.settled,
            released: &[job_slot(&job, &host_key)],
            revisit: self.revisit_write(&job, previous.as_ref()),
            rendering: None,
        });
        drop(claims);
        self.progress
            .live
            .store_write_seconds
            .record(writing.elapsed());
        written?;
        self.announce_stored(&page, admitted.queued.len());
        if kept.is_none() {
            self.render_later(&job, &outcome, &reading.outlinks);
        }
        Ok(Report::Page {
            host: job.host,
            answered: Some(Answered {
                at: outcome.answered,
                took: outcome.elapsed,
            }),
            health,
            discovered: admitted.queued,
            retry: None,
            recorded: Some(job.url.as_str().to_owned()),
        })
    }

    /// Fetches the job's URL (a sitemap within the protocol's size limit), closing the
    /// connection when the host's turn ends with it.
    fn fetch(&self, job: &Job, previous: Option<&Previous>) -> FetchOutcome {
        let limit = match job.kind {
            JobKind::Page => BodyLimit::Refuse(self.fetcher.max_body()),
            JobKind::Sitemap { .. } => BodyLimit::Refuse(MAX_SITEMAP_BYTES),
        };
        if let Some(validators) = previous.and_then(Previous::validators) {
            let closing = job.last_of_turn;
            return (self.fetcher).fetch_if_changed(job.url.as_url(), limit, closing, &validators);
        }
        if job.last_of_turn {
            self.fetcher.fetch_closing(job.url.as_url(), limit)
        } else {
            self.fetcher.fetch_with_limit(job.url.as_url(), limit)
        }
    }

    /// A failed fetch to be tried again: counted, and handed back to the frontier.
    fn retry_later(
        &self,
        job: Job,
        outcome: &FetchOutcome,
        health: Health,
        attempt: u32,
    ) -> Report {
        self.progress.record_retry();
        tracing::debug!(url = job.url.as_str(), attempt, "will retry");
        Report::Page {
            host: job.host,
            answered: Some(Answered {
                at: outcome.answered,
                took: outcome.elapsed,
            }),
            health,
            discovered: Vec::new(),
            retry: Some(Queued {
                url: job.url,
                depth: job.depth,
                from: job.from,
                hops: job.hops,
                kind: job.kind,
                attempts: attempt,
                priority: job.priority,
                turn: job.turn,
                via: job.via,
                embeds: job.embeds,
                revisit: job.revisit,
                changefreq_s: job.changefreq_s,
            }),
            recorded: None,
        }
    }

    /// The page's record as the fetch left it: when, how long, how many bytes, and its
    /// error if the fetch failed.
    fn record_fetch(
        &self,
        job: &Job,
        outcome: &FetchOutcome,
        attempt: u32,
        fetched_at_ms: u64,
    ) -> PageRecord {
        let mut page = PageRecord::new(job.url.as_str(), job.url.host(), job.depth);
        page.from = job.from.clone();
        page.via = Some(job.via);
        page.kind = job.kind.store_name();
        page.attempts = attempt;
        page.fetched_at_ms = fetched_at_ms;
        page.fetch_ms = millis(outcome.elapsed);
        page.bytes = outcome.bytes;
        page.proxy = outcome.proxy.as_deref().map(str::to_owned);
        if let Some(error) = &outcome.error {
            page.error = Some(error.kind.as_str().to_owned());
            page.error_message = Some(error.message.clone());
            self.progress.record_error(error.kind);
        }

        page
    }

    /// Records what the response says (status, headers), and reads a successful one by
    /// its status and kind: a redirect's target, a page's links and directives, a
    /// sitemap's URLs. Returns what was read, and the body to store (HTML, or every
    /// body with `--bodies all`).
    fn read_response<'o>(
        &self,
        job: &Job,
        outcome: &'o FetchOutcome,
        page: &mut PageRecord,
    ) -> (Reading, Option<&'o [u8]>) {
        let mut reading = Reading::default();
        let mut body: Option<&[u8]> = None;
        self.record_answer(outcome, page);
        if let Some(response) = &outcome.response {
            if outcome.error.is_none() {
                let fetched = outcome.body.as_slice();
                if (200..=299).contains(&response.status) {
                    page.digest = Some(payload_digest(fetched));
                }
                match (response.status, job.kind) {
                    (300..=399, _) => {
                        if let Err(problem) = follow_redirect(job, response, &mut reading) {
                            self.flag(page, ErrorKind::RedirectInvalid, problem);
                        }
                    }
                    (200..=299, JobKind::Page) if response.is_css() => {
                        self.read_stylesheet(job, response, fetched, page, &mut reading)
                    }
                    (200..=299, JobKind::Page) => {
                        let headers = (outcome.exchange.as_ref())
                            .map(|exchange| exchange.response.headers.as_slice())
                            .unwrap_or_default();
                        self.read_page(job, response, headers, fetched, page, &mut reading)
                    }
                    (200..=299, JobKind::Sitemap { level }) => {
                        self.read_sitemap(job, level, fetched, page, &mut reading)
                    }
                    _ => {}
                }
                // A requisite is kept whatever its type: an archive needs it to show
                // its page.
                let keep =
                    response.is_html() || self.settings.bodies == BodyPolicy::All || job.embeds > 0;
                body = keep.then_some(outcome.body.as_slice());
            }
        }
        page.outlinks = u32::try_from(reading.outlinks.len()).unwrap_or(u32::MAX);
        (reading, body)
    }

    /// Records the response's status and headers (counted in the progress), if one
    /// came.
    fn record_answer(&self, outcome: &FetchOutcome, page: &mut PageRecord) {
        let Some(response) = &outcome.response else {
            return;
        };
        self.progress
            .record_response(response.status, outcome.bytes);
        page.status = Some(response.status);
        page.content_type = response.content_type.clone();
        page.content_length = response.content_length;
        page.last_modified = response.last_modified.clone();
        page.etag = response.etag.clone();
        page.location = response.location.clone();
        page.http_version = Some(response.http_version.clone());
        page.tls_unverified = response.tls_unverified;
    }

    /// Hands the page, as it is about to be stored, to the embedder's sink (if any); a
    /// failure of the sink is recorded against the page.
    fn hand_to_sink(
        &self,
        job: &Job,
        page: &mut PageRecord,
        outcome: &FetchOutcome,
        outlinks: &[String],
    ) {
        let Some(sink) = &self.hooks.sink else {
            return;
        };
        let received = (outcome.response.is_some() && outcome.error.is_none())
            .then_some(outcome.body.as_slice());
        let stored = StoredPage {
            record: page,
            body: received,
            outlinks,
        };
        if let Err(failure) = guarded("page sink", || sink.page(&stored)) {
            self.record_hook_failures(job, page, &[failure]);
        }
    }

    /// Records against the page the URLs it led to that a budget kept out of the
    /// queue: its error becomes `budget-exceeded` (or, when it already had one, the
    /// message is added to it).
    fn record_over_budget(&self, job: &Job, page: &mut PageRecord, over: OverBudget) {
        if over.total() == 0 {
            return;
        }
        self.progress.record_not_queued(over.total());
        let message = over.message(&self.budgets);
        tracing::debug!(url = job.url.as_str(), message, "URLs over budget");
        match &mut page.error_message {
            Some(existing) if page.error.is_some() => {
                existing.push_str("; ");
                existing.push_str(&message);
            }
            _ => self.flag(page, ErrorKind::BudgetExceeded, message),
        }
    }

    /// Tells the embedder the page is stored, with the URLs it added to the frontier.
    fn announce_stored(&self, page: &PageRecord, queued: usize) {
        self.events.emit(CrawlEvent::PageStored {
            url: page.url.clone(),
            status: page.status,
            error: page.error.clone(),
            outlinks: page.outlinks,
            queued,
        });
    }

    /// Logs a fetch and tells the embedder, before anything is stored.
    fn announce_fetch(&self, job: &Job, outcome: &FetchOutcome, retrying: bool) {
        let url = job.url.as_str();
        match (&outcome.error, &outcome.response) {
            (Some(error), _) => {
                tracing::debug!(
                    url,
                    kind = error.kind.as_str(),
                    message = error.message,
                    retrying,
                    "fetch failed"
                );
                self.events.emit(CrawlEvent::FetchFailed {
                    url: url.to_owned(),
                    kind: error.kind.as_str().to_owned(),
                    message: error.message.clone(),
                    retrying,
                });
            }
            (None, Some(response)) => {
                tracing::debug!(
                    url,
                    status = response.status,
                    bytes = outcome.bytes,
                    "fetched"
                );
                self.events.emit(CrawlEvent::PageFetched {
                    url: url.to_owned(),
                    status: response.status,
                    depth: job.depth,
                });
            }
            (None, None) => {}
        }
    }

    /// Records what the hooks said went wrong against the page: its error becomes
    /// `hook-failed` (or, when it already had one, the message is added to it).
    fn record_hook_failures(&self, job: &Job, page: &mut PageRecord, failures: &[String]) {
        if failures.is_empty() {
            return;
        }
        let message = failures.join("; ");
        tracing::warn!(url = job.url.as_str(), message, "hook failed");
        self.progress.record_hook_failure();
        self.events.emit(CrawlEvent::HookFailed {
            url: job.url.as_str().to_owned(),
            message: message.clone(),
        });
        match &mut page.error_message {
            Some(existing) if page.error.is_some() => {
                existing.push_str("; ");
                existing.push_str(&message);
            }
            _ => {
                page.error = Some(ErrorKind::HookFailed.as_str().to_owned());
                page.error_message = Some(message);
                self.progress.record_error(ErrorKind::HookFailed);
            }
        }
    }

    /// Fills in what a 2xx page says: its links, title, canonical URL and robots
    /// directives.
    fn read_page(
        &self,
        job: &Job,
        response: &ResponseMeta,
        headers: &[(String, String)],
        body: &[u8],
        page: &mut PageRecord,
        reading: &mut Reading,
    ) {
        if !response.is_html() {
            return;
        }
        let (html, _encoding) = decode_html(body, response.content_type.as_deref());
        let in_scope = job.embeds == 0 || self.scope.admits(&job.url);
        // A page's requisites: those of a page in scope that was within the depth
        // limit (an HTML page reached as an embed past it has none followed).
        let requisites = self.settings.requisites
            && in_scope
            && self.settings.max_depth.is_none_or(|max| job.depth <= max);
        let extracted = extract_page(
            &html,
            job.url.as_url(),
            self.settings.max_links_per_page,
            requisites,
        );
        if let Some(limits) = extracted.limits() {
            self.flag(page, ErrorKind::ParseLimited, limits);
        }
        page.title = extracted.title;
        page.canonical = extracted
            .canonical
            .as_ref()
            .map(|url| url.as_str().to_owned());
        let directives = PageDirectives::read(
            extracted.meta_robots.as_deref(),
            &response.x_robots_tag,
            &self.settings.robots_agent,
        );
        page.noindex = directives.noindex;
        let next_depth = job.depth.saturating_add(1);
        let deep_enough = self.settings.max_depth.is_none_or(|max| next_depth <= max);
        // Nothing reached outside the scope (by an embed) has its links followed.
        let follow = !directives.nofollow && deep_enough && in_scope;
        let mut actions = PageActions::default();
        if let Some(handler) = &self.hooks.handler {
            let view = Page {
                url: &job.url,
                depth: job.depth,
                status: response.status,
                headers,
                text: &html,
                links: &extracted.links,
                title: page.title.as_deref(),
                rendered: false,
                html: Default::default(),
            };
            if let Err(failure) = guarded("page handler", || handler.handle(&view, &mut actions)) {
                reading.hook_failures.push(failure);
                actions = PageActions::default();
            }
        }
        for link in extracted.links {
            reading.outlinks.push(link.url.as_str().to_owned());
            if follow
                && (self.settings.follow_nofollow || !link.nofollow)
                && actions.follows(&link.url)
            {
                let candidate = Candidate::link(link.url, next_depth, link.anchor_text);
                reading.candidates.push(candidate);
            }
        }
        if deep_enough && in_scope {
            for url in actions.added {
                reading
                    .candidates
                    .push(Candidate::link(url, next_depth, None));
            }
        }
        // `nofollow` is about links: a page that says it is still shown with its
        // images.
        embeds_of(job, extracted.embeds, reading);
    }

    /// Reads a 2xx stylesheet (`--requisites`): its `@import`s and `url()`s are queued
    /// as embeds, whether it is in the scope or not, up to [`MAX_EMBED_HOPS`].
    fn read_stylesheet(
        &self,
        job: &Job,
        response: &ResponseMeta,
        body: &[u8],
        page: &mut PageRecord,
        reading: &mut Reading,
    ) {
        if !self.settings.requisites {
            return;
        }
        let (css, _encoding) = decode_html(body, response.content_type.as_deref());
        let extracted = extract_css(&css, job.url.as_url());
        if let Some(limits) = extracted.limits() {
            self.flag(page, ErrorKind::ParseLimited, limits);
        }
        embeds_of(job, extracted.embeds, reading);
    }

    /// Reads a 2xx sitemap: its URLs become outlinks, pages one level deeper, nested
    /// sitemaps (of an index) at the same depth, up to [`MAX_SITEMAP_NESTING`].
    fn read_sitemap(
        &self,
        job: &Job,
        level: u8,
        body: &[u8],
        page: &mut PageRecord,
        reading: &mut Reading,
    ) {
        let sitemap = match sitemap::parse(body) {
            Ok(sitemap) => sitemap,
            Err(error) => {
                self.flag(page, ErrorKind::SitemapInvalid, error.to_string());
                return;
            }
        };
        let (kind, depth) = match sitemap.kind {
            SitemapKind::Index if level < MAX_SITEMAP_NESTING => {
                (Some(JobKind::Sitemap { level: level + 1 }), job.depth)
            }
            SitemapKind::Index => (None, job.depth),
            SitemapKind::UrlSet | SitemapKind::Text => {
                let depth = job.depth.saturating_add(1);
                let follow = self.settings.max_depth.is_none_or(|max| depth <= max);
                (follow.then_some(JobKind::Page), depth)
            }
        };
        let listed = match sitemap.kind {
            SitemapKind::Index => "sitemaps",
            _ => "URLs",
        };
        let mut title = format!("Sitemap: {} {listed}", sitemap.locs.len());
        if sitemap.dropped > 0 {
            title.push_str(&format!(
                ", {} more past the protocol's limit not read",
                sitemap.dropped
            ));
        }
        if sitemap.kind == SitemapKind::Index && kind.is_none() {
            title.push_str(", nested too deep to follow");
        }
        page.title = Some(title);
        let hints = sitemap.lastmods.into_iter().zip(sitemap.changefreqs);
        for (loc, (lastmod, changefreq)) in sitemap.locs.into_iter().zip(hints) {
            let changefreq_s =
                changefreq.map(|interval| u32::try_from(interval.as_secs()).unwrap_or(u32::MAX));
            let Ok(url) = CanonicalUrl::parse(&loc) else {
                continue;
            };
            reading.outlinks.push(url.as_str().to_owned());
            if let Some(kind) = kind {
                reading.candidates.push(Candidate {
                    url,
                    depth,
                    hops: 0,
                    kind,
                    via: Via::Sitemap,
                    embeds: 0,
                    anchor_text: None,
                    lastmod,
                    changefreq_s,
                });
            }
        }
    }

    /// Scope and dedup: which candidates become frontier entries, and which are
    /// settled without a fetch (redirect chains past the hop limit). Every fingerprint
    /// returned is claimed in the seen-set, in `claims`: the caller drops them once written.
    pub(super) fn admit(
        &self,
        job: &Job,
        candidates: Vec<Candidate>,
        claims: &mut Claims<'_>,
        hook_failures: &mut Vec<String>,
    ) -> Result<Admitted, StoreError> {
        let mut discovered = Vec::new();
        let mut settled = Vec::new();
        let mut queued = Vec::new();
        let mut over_budget = OverBudget::default();
        let from_sitemap = matches!(job.kind, JobKind::Sitemap { .. });
        let mut turns = Turns::default();
        for candidate in candidates {
            let admitted = if candidate.embeds > 0 {
                self.scope.admits_embed(&candidate.url)
            } else {
                self.scope.admits(&candidate.url)
            };
            if !admitted {
                continue;
            }
            match self.hooks.admits(&candidate.url) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(failure) => {
                    hook_failures.push(format!("{failure} (on {})", candidate.url.as_str()));
                    continue;
                }
            }
            let fingerprint = candidate.url.fingerprint();
            if !claims.claim(fingerprint)? {
                // Seen: fetched again only when a sitemap says it changed since.
                let host = candidate.url.host_key();
                if let Some(refetch) = self.refetch_listed(&candidate.url, candidate.lastmod)? {
                    if self.budgets.reserve(&host, from_sitemap)?.is_ok() {
                        queued.push(Queued::from_entry(candidate.url, refetch.1.clone()));
                        discovered.push(refetch);
                    }
                }
                continue;
            }
            let from = Some(job.url.as_str().to_owned());
            if let Some(trap) = self.settings.traps.check(&candidate.url) {
                let mut record =
                    trap_record(&candidate.url, candidate.depth, from, &trap, unix_ms());
                record.via = Some(candidate.via);
                self.progress.record_error(ErrorKind::TrapSuspected);
                settled.push((fingerprint, record));
                continue;
            }
            if candidate.hops > self.settings.max_redirects {
                let mut record = PageRecord::new(
                    candidate.url.as_str(),
                    candidate.url.host(),
                    candidate.depth,
                );
                record.from = from;
                record.via = Some(candidate.via);
                record.attempts = 0;
                record.fetched_at_ms = unix_ms();
                record.error = Some(ErrorKind::TooManyRedirects.as_str().to_owned());
                record.error_message = Some(format!(
                    "more than {} redirects in a row",
                    self.settings.max_redirects
                ));
                self.progress.record_error(ErrorKind::TooManyRedirects);
                settled.push((fingerprint, record));
                continue;
            }
            let host = candidate.url.host_key();
            if let Err(budget) = self.budgets.reserve(&host, from_sitemap)? {
                claims.give_back(fingerprint);
                over_budget.count(budget);
                continue;
            }
            let priority = self.hooks.priority(&ScoredUrl {
                url: &candidate.url,
                depth: candidate.depth,
                anchor_text: candidate.anchor_text.as_deref(),
                source: Some(job.url.as_str()),
            });
            let turn = turns.next(host.as_str());
            discovered.push((
                fingerprint,
                QueueEntry {
                    url: candidate.url.as_str().to_owned(),
                    host: host.as_str().to_owned(),
                    depth: candidate.depth,
                    from: from.clone(),
                    hops: candidate.hops,
                    kind: candidate.kind.store_name(),
                    retry_of: None,
                    priority,
                    turn,
                    via: Some(candidate.via),
                    embeds: candidate.embeds,
                    changefreq_s: candidate.changefreq_s,
                },
            ));
            queued.push(Queued {
                url: candidate.url,
                depth: candidate.depth,
                from,
                hops: candidate.hops,
                kind: candidate.kind,
                attempts: 0,
                priority,
                turn,
                via: candidate.via,
                embeds: candidate.embeds,
                revisit: false,
                changefreq_s: candidate.changefreq_s,
            });
        }
        Ok(Admitted {
            discovered,
            settled,
            queued,
            over_budget,
        })
    }
}

impl WorkerContext {
    /// Queues a page just stored for rendering, when the crawl renders and it is an
    /// HTML page fetched as itself (not a page's embed, which its page renders); with
    /// `--render auto`, when its host is rendered or tried (`crate::render::AutoRender`).
    fn render_later(&self, job: &Job, outcome: &FetchOutcome, outlinks: &[String]) {
        let (Some(queue), Some(response)) = (&self.render, &outcome.response) else {
            return;
        };
        let renders = job.kind == JobKind::Page
            && job.embeds == 0
            && outcome.error.is_none()
            && (200..=299).contains(&response.status)
            && response.is_html();
        if !renders {
            return;
        }
        let auto = self.settings.render.as_ref().is_some_and(|s| s.auto);
        let render = match auto {
            true => self.progress.render_hosts.page(job.url.host_key().as_str()),
            false => Render::Yes,
        };
        let trial = match render {
            Render::No => return,
            Render::Yes => None,
            Render::Compare => {
                let content_type = response.content_type.as_deref();
                let (html, _) = decode_html(&outcome.body, content_type);
                Some(AsFetched {
                    links: outlinks.iter().cloned().collect(),
                    text: visible_text(&html),
                })
            }
        };
        queue.submit(RenderJob {
            job: job.clone(),
            body: outcome.body.clone(),
            content_type: response.content_type.clone(),
            trial,
        });
    }
}

/// Where a job's URL sits in the store's frontier: removed when its page is written.
pub(super) fn job_slot<'a>(job: &'a Job, host_key: &'a HostKey) -> QueueSlot<'a> {
    QueueSlot {
        host: host_key.as_str(),
        depth: job.depth,
        url: job.url.as_str(),
    }
}

impl WorkerContext {
    /// Records a problem with a page that was fetched (so it has no error yet).
    fn flag(&self, page: &mut PageRecord, kind: ErrorKind, message: String) {
        page.error = Some(kind.as_str().to_owned());
        page.error_message = Some(message);
        self.progress.record_error(kind);
    }
}

/// Queues a redirect's target like a link: same depth, one more hop, same kind (a
/// redirected sitemap is still a sitemap). A redirect status (301, 302, 303, 307,
/// 308) without a usable `Location` is an error, said in the `Err`.
fn follow_redirect(
    job: &Job,
    response: &ResponseMeta,
    reading: &mut Reading,
) -> Result<(), String> {
    let is_redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
    let target = match response.location.as_deref() {
        Some(location) => CanonicalUrl::join(job.url.as_url(), location),
        None if is_redirect => return Err(format!("{} without a Location", response.status)),
        None => return Ok(()),
    };
    match target {
        Ok(target) => {
            reading.outlinks.push(target.as_str().to_owned());
            // A redirected embed is still one: it keeps its hops, and its host need
            // not be in the scope.
            reading.candidates.push(Candidate {
                url: target,
                depth: job.depth,
                hops: job.hops.saturating_add(1),
                kind: job.kind,
                via: Via::Redirect,
                embeds: job.embeds,
                anchor_text: None,
                lastmod: None,
                changefreq_s: None,
            });
            Ok(())
        }
        Err(error) if is_redirect => Err(format!("{} to no usable URL: {error}", response.status)),
        Err(_) => Ok(()),
    }
}

/// Queues what `job`'s response embeds, one level deeper than it and one embed hop
/// further, unless that is past [`MAX_EMBED_HOPS`]. Embeds are outlinks too.
fn embeds_of(job: &Job, embeds: Vec<Link>, reading: &mut Reading) {
    let hops = job.embeds.saturating_add(1);
    for embed in embeds {
        reading.outlinks.push(embed.url.as_str().to_owned());
        if hops <= MAX_EMBED_HOPS {
            reading.candidates.push(Candidate {
                url: embed.url,
                depth: job.depth.saturating_add(1),
                hops: 0,
                kind: JobKind::Page,
                via: Via::Embed,
                embeds: hops,
                anchor_text: None,
                lastmod: None,
                changefreq_s: None,
            });
        }
    }
}

/// What the response says about the host's health.
fn health(outcome: &FetchOutcome) -> Health {
    match (&outcome.response, &outcome.error) {
        // No proxy could carry it: the host waits, and is not held to have failed.
        (_, Some(error)) if error.kind == ErrorKind::Proxy => {
            Health::Overloaded { retry_after: None }
        }
        (Some(response), _) if matches!(response.status, 429 | 503) => Health::Overloaded {
            retry_after: response
                .retry_after
                .as_deref()
                .and_then(|value| retry_after(value, SystemTime::now())),
        },
        (Some(response), _) if (500..600).contains(&response.status) => Health::ServerError,
        (_, Some(error)) if error.kind.is_connection_failure() => Health::Unreachable {
            reason: format!("{}: {}", error.kind, error.message),
            timed_out: error.kind == ErrorKind::Timeout,
        },
        // An answer, or a failure that is not the host being away (TLS, protocol).
        (Some(_), _) | (None, Some(_)) => Health::Fine,
        (None, None) => Health::NotContacted,
    }
}

/// Timeouts, connection errors, 5xx, 429 and no proxy to go through are worth another
/// try.
fn is_retryable(outcome: &FetchOutcome) -> bool {
    let status_says = outcome
        .response
        .as_ref()
        .is_some_and(|r| r.status == 429 || (500..600).contains(&r.status));
    let error_says = outcome
        .error
        .as_ref()
        .is_some_and(|e| e.kind.is_connection_failure() || e.kind == ErrorKind::Proxy);
    status_says || error_says
}
