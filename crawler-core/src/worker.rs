//! A worker thread: fetch one URL, extract its links, store everything, report back.
//!
//! Workers do all the per-page work in parallel (network, decoding, parsing,
//! canonicalization, dedup, the store write) so the scheduler thread only moves URLs.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crawler_storage::{PageRecord, PageWrite, QueueEntry, Store, StoreError};
use crossbeam_channel::{Receiver, Sender};

use crate::config::BodyPolicy;
use crate::extract::{decode_html, extract_links};
use crate::fetch::{FetchErrorKind, FetchOutcome, Fetcher};
use crate::frontier::{HostId, Job, Queued};
use crate::progress::Progress;
use crate::seen::SeenSet;
use crate::url::{CanonicalUrl, Scope};

/// What a worker tells the scheduler after each job.
pub(crate) enum Report {
    /// The job is settled and stored; these URLs are new to the frontier.
    Done {
        host: HostId,
        /// When the response began (`None` when no request was made).
        answered: Option<Instant>,
        discovered: Vec<Queued>,
    },
    /// The store refused a write: the crawl must stop.
    StoreFailed { host: HostId, error: StoreError },
}

/// Everything a worker reads; shared by all workers.
pub(crate) struct WorkerContext {
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub seen: Arc<SeenSet>,
    pub scope: Arc<Scope>,
    pub progress: Arc<Progress>,
    pub max_depth: Option<u32>,
    pub max_redirects: u8,
    pub bodies: BodyPolicy,
}

/// A URL found on a page, before scope and dedup.
struct Candidate {
    url: CanonicalUrl,
    depth: u32,
    hops: u8,
}

pub(crate) fn run_worker(
    context: Arc<WorkerContext>,
    jobs: Receiver<Job>,
    reports: Sender<Report>,
) {
    for job in jobs {
        let host = job.host;
        let url = job.url.clone();
        let (depth, from) = (job.depth, job.from.clone());
        let report = match catch_unwind(AssertUnwindSafe(|| context.process(job))) {
            Ok(Ok((answered, discovered))) => Report::Done {
                host,
                answered: Some(answered),
                discovered,
            },
            Ok(Err(error)) => Report::StoreFailed { host, error },
            Err(panic) => context.record_panic(host, &url, depth, from, panic.as_ref()),
        };
        if reports.send(report).is_err() {
            break;
        }
    }
}

impl WorkerContext {
    fn process(&self, job: Job) -> Result<(Instant, Vec<Queued>), StoreError> {
        let fetched_at_ms = unix_ms();
        let outcome = self.fetcher.fetch(job.url.as_url());
        self.progress.record_fetched();

        let mut page = PageRecord::new(job.url.as_str(), job.url.host(), job.depth);
        page.from = job.from.clone();
        page.fetched_at_ms = fetched_at_ms;
        page.fetch_ms = u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX);
        page.bytes = outcome.bytes;
        if let Some(error) = &outcome.error {
            page.error = Some(error.kind.as_str().to_owned());
            page.error_message = Some(error.message.clone());
            self.progress.record_error(error.kind);
        }

        let mut outlinks = Vec::new();
        let mut candidates = Vec::new();
        let mut body = None;
        if let Some(response) = &outcome.response {
            self.progress
                .record_response(response.status, outcome.bytes);
            page.status = Some(response.status);
            page.content_type = response.content_type.clone();
            page.content_length = response.content_length;
            page.last_modified = response.last_modified.clone();
            page.etag = response.etag.clone();
            page.location = response.location.clone();
            if outcome.error.is_none() {
                self.read_page(&job, &outcome, &mut page, &mut outlinks, &mut candidates);
                let keep = response.is_html() || self.bodies == BodyPolicy::All;
                body = keep.then_some(outcome.body.as_slice());
            }
        }
        page.body_stored = body.is_some();
        page.outlinks = u32::try_from(outlinks.len()).unwrap_or(u32::MAX);

        let (discovered, settled, queued) = self.admit(&job, candidates);
        self.store.write_page(&PageWrite {
            page: Some(&page),
            body,
            outlinks: &outlinks,
            exchange: outcome.exchange.as_ref(),
            discovered: &discovered,
            settled: &settled,
        })?;
        Ok((outcome.answered, queued))
    }

    /// Fills in what the response body says: the redirect target or the links and title.
    fn read_page(
        &self,
        job: &Job,
        outcome: &FetchOutcome,
        page: &mut PageRecord,
        outlinks: &mut Vec<String>,
        candidates: &mut Vec<Candidate>,
    ) {
        let Some(response) = &outcome.response else {
            return;
        };
        if (300..400).contains(&response.status) {
            let target = response
                .location
                .as_deref()
                .and_then(|location| CanonicalUrl::join(job.url.as_url(), location).ok());
            if let Some(target) = target {
                outlinks.push(target.as_str().to_owned());
                candidates.push(Candidate {
                    url: target,
                    depth: job.depth,
                    hops: job.hops.saturating_add(1),
                });
            }
            return;
        }
        if !(200..300).contains(&response.status) || !response.is_html() {
            return;
        }
        let (html, _encoding) = decode_html(&outcome.body, response.content_type.as_deref());
        let extracted = extract_links(&html, job.url.as_url());
        page.title = extracted.title;
        let next_depth = job.depth.saturating_add(1);
        let follow = self.max_depth.is_none_or(|max| next_depth <= max);
        for link in extracted.links {
            outlinks.push(link.url.as_str().to_owned());
            if follow {
                candidates.push(Candidate {
                    url: link.url,
                    depth: next_depth,
                    hops: 0,
                });
            }
        }
    }

    /// Scope and dedup: which candidates become frontier entries, and which are
    /// settled without a fetch (redirect chains past the hop limit).
    #[allow(clippy::type_complexity)]
    fn admit(
        &self,
        job: &Job,
        candidates: Vec<Candidate>,
    ) -> (
        Vec<(u128, QueueEntry)>,
        Vec<(u128, PageRecord)>,
        Vec<Queued>,
    ) {
        let mut discovered = Vec::new();
        let mut settled = Vec::new();
        let mut queued = Vec::new();
        for candidate in candidates {
            if !self.scope.admits(&candidate.url) {
                continue;
            }
            let fingerprint = candidate.url.fingerprint();
            if !self.seen.insert(fingerprint) {
                continue;
            }
            let from = Some(job.url.as_str().to_owned());
            if candidate.hops > self.max_redirects {
                let mut record = PageRecord::new(
                    candidate.url.as_str(),
                    candidate.url.host(),
                    candidate.depth,
                );
                record.from = from;
                record.attempts = 0;
                record.fetched_at_ms = unix_ms();
                record.error = Some(FetchErrorKind::TooManyRedirects.as_str().to_owned());
                record.error_message = Some(format!(
                    "more than {} redirects in a row",
                    self.max_redirects
                ));
                self.progress.record_error(FetchErrorKind::TooManyRedirects);
                settled.push((fingerprint, record));
                continue;
            }
            discovered.push((
                fingerprint,
                QueueEntry {
                    url: candidate.url.as_str().to_owned(),
                    depth: candidate.depth,
                    from: from.clone(),
                    hops: candidate.hops,
                },
            ));
            queued.push(Queued {
                url: candidate.url,
                depth: candidate.depth,
                from,
                hops: candidate.hops,
            });
        }
        (discovered, settled, queued)
    }

    /// A bug hit while handling one page: record it against the page, keep the worker.
    fn record_panic(
        &self,
        host: HostId,
        url: &CanonicalUrl,
        depth: u32,
        from: Option<String>,
        panic: &(dyn std::any::Any + Send),
    ) -> Report {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let mut page = PageRecord::new(url.as_str(), url.host(), depth);
        page.from = from;
        page.fetched_at_ms = unix_ms();
        page.error = Some(FetchErrorKind::Other.as_str().to_owned());
        page.error_message = Some(format!("internal error while handling the page: {detail}"));
        self.progress.record_error(FetchErrorKind::Other);
        match self.store.write_page(&PageWrite {
            page: Some(&page),
            ..PageWrite::default()
        }) {
            Ok(()) => Report::Done {
                host,
                answered: None,
                discovered: Vec::new(),
            },
            Err(error) => Report::StoreFailed { host, error },
        }
    }
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
