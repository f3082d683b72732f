//! A revisit's part of a page task: the stored record it refetches, the validators
//! its request sends, and what the answer means against the record (see
//! [`crate::revisit`]). A 304, or a full answer with the stored payload, keeps the
//! stored content: the new record takes the old one's content fields, and neither
//! links nor body are read again.

use std::time::Duration;

use crawler_storage::{payload_digest, Change, PageRecord, QueueEntry, Revisit, StoreError};

use super::context::WorkerContext;
use crate::fetch::{FetchOutcome, Validators};
use crate::messages::Job;
use crate::millis::millis;
use crate::revisit::refetch_entry;
use crate::url::CanonicalUrl;

/// The stored record a job revisits, when it is a revisit and the store has one.
pub(super) struct Previous {
    pub(super) record: PageRecord,
}

impl WorkerContext {
    /// The record `job` revisits (read without waiting for the store's writer: it is
    /// an earlier run's).
    pub(super) fn previous(&self, job: &Job) -> Result<Option<Previous>, StoreError> {
        if !job.revisit {
            return Ok(None);
        }
        Ok(self
            .store
            .applied_page(job.url.as_str())?
            .map(|record| Previous { record }))
    }

    /// How the task's write keeps what it replaces, for a revisit.
    pub(super) fn revisit_write<'a>(
        &self,
        job: &Job,
        previous: Option<&'a Previous>,
    ) -> Option<Revisit<'a>> {
        job.revisit.then_some(Revisit {
            versions: self.settings.keep_versions,
            replaces: previous.map(|previous| &previous.record),
        })
    }

    /// The refetch of a stored URL a sitemap lists with a `<lastmod>` later than its
    /// record's fetch, when a revisit policy is set and no revisit of it is queued
    /// (by a pass, or by another sitemap in this run): the page changed since. A
    /// sitemap robots.txt names is one with a `<lastmod>` of always
    /// (`u64::MAX`): a recrawl reads the sitemaps again for what changed.
    pub(super) fn refetch_listed(
        &self,
        url: &CanonicalUrl,
        lastmod_ms: Option<u64>,
    ) -> Result<Option<(u128, QueueEntry)>, StoreError> {
        let Some(lastmod_ms) = lastmod_ms.filter(|_| self.settings.revisit.is_some()) else {
            return Ok(None);
        };
        let Some(record) = self.store.applied_page(url.as_str())? else {
            return Ok(None);
        };
        if record.fetched_at_ms >= lastmod_ms || !self.revisits.may_refetch(&record) {
            return Ok(None);
        }
        let Some(entry) = refetch_entry(record) else {
            return Ok(None);
        };
        Ok(self.revisits.take(entry.0).then_some(entry))
    }

    /// Completes the record of a revisit that did not keep the stored content: what
    /// it found, the visit count and, under an adaptive policy, the URL's interval.
    /// A first visit under an adaptive policy gets its first interval.
    pub(super) fn note_visit(&self, job: &Job, page: &mut PageRecord, previous: Option<&Previous>) {
        if let Some(previous) = previous {
            let before = &previous.record;
            let gone = matches!(page.status, Some(404 | 410))
                && !matches!(before.status, Some(404 | 410) | None);
            page.change = Some(match gone {
                true => Change::Gone,
                false => Change::Changed,
            });
            page.visits = before.visit_count().saturating_add(1);
            self.progress
                .record_revisit(page.change.unwrap_or(Change::Changed));
        }
        // A first visit starts from what a sitemap said of how often it changes.
        let hint = job
            .changefreq_s
            .map(|secs| Duration::from_secs(u64::from(secs)));
        self.schedule(page, previous, hint);
    }

    /// Makes `page` the record of a visit that kept the stored content (`change`: a
    /// 304, or the same payload): the stored record's content fields, this visit's
    /// status, time and validators.
    pub(super) fn keep_content(&self, page: &mut PageRecord, previous: &Previous, change: Change) {
        let before = &previous.record;
        page.change = Some(change);
        page.visits = before.visit_count().saturating_add(1);
        page.captured_ms = Some(before.captured_at_ms());
        page.digest.clone_from(&before.digest);
        page.content_type.clone_from(&before.content_type);
        page.content_length = before.content_length;
        page.title.clone_from(&before.title);
        page.outlinks = before.outlinks;
        page.noindex = before.noindex;
        page.canonical.clone_from(&before.canonical);
        page.body_stored = before.body_stored;
        // The length of the body the record holds (what came this time is counted in
        // the summary: nothing for a 304).
        page.bytes = before.bytes;
        // A 304 may leave a validator out; the stored one still holds (RFC 9110 §15.4.5).
        if page.etag.is_none() {
            page.etag.clone_from(&before.etag);
        }
        if page.last_modified.is_none() {
            page.last_modified.clone_from(&before.last_modified);
        }
        self.progress.record_revisit(change);
        self.schedule(page, Some(previous), None);
    }

    /// The URL's next interval under an adaptive policy, from the one it had (or,
    /// on a first visit, `first`).
    fn schedule(
        &self,
        page: &mut PageRecord,
        previous: Option<&Previous>,
        first: Option<Duration>,
    ) {
        let Some(policy) = &self.settings.revisit else {
            return;
        };
        let had = match previous {
            Some(previous) => previous.record.revisit_ms.map(Duration::from_millis),
            None => first,
        };
        page.revisit_ms = policy.next_interval(had, page.change).map(millis);
    }
}

impl Previous {
    /// The validators of the stored response, when it brought content worth keeping.
    pub(super) fn validators(&self) -> Option<Validators> {
        let record = &self.record;
        let validators = Validators {
            etag: record.etag.clone(),
            last_modified: record.last_modified.clone(),
        };
        (self.has_content() && !validators.is_empty()).then_some(validators)
    }

    /// Whether the stored record holds content a new answer may leave as it is: a
    /// complete 2xx response, or a visit that kept one (a 304 among them).
    fn has_content(&self) -> bool {
        let record = &self.record;
        let kept = record.change.is_some_and(|change| change.kept_content());
        (matches!(record.status, Some(200..=299)) || kept)
            && record.error.is_none()
            && record.digest.is_some()
    }

    /// Whether `outcome` leaves the stored content as it is: a 304, or a complete 2xx
    /// answer with the stored payload digest.
    pub(super) fn kept_by(&self, outcome: &FetchOutcome) -> Option<Change> {
        if !self.has_content() || outcome.error.is_some() {
            return None;
        }
        match outcome.response.as_ref()?.status {
            304 => Some(Change::NotModified),
            200..=299 if self.record.digest == Some(payload_digest(&outcome.body)) => {
                Some(Change::Unchanged)
            }
            _ => None,
        }
    }
}
