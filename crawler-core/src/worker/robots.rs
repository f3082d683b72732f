//! One robots.txt fetch: fetch, interpret, select the group; queue the sitemaps.

use std::sync::Arc;

use crawler_storage::{QueueEntry, StoreError, Via};

use super::context::WorkerContext;
use crate::fetch::BodyLimit;
use crate::messages::{JobKind, Queued, Report, RobotsJob, RobotsResult};
use crate::robots::{self, RobotsResponse, RobotsRules, MAX_ROBOTS_BYTES};
use crate::url::CanonicalUrl;

impl WorkerContext {
    pub(super) fn process_robots(&self, job: RobotsJob) -> Result<Report, StoreError> {
        // Only what is parsed is read; a longer file is cut, not refused.
        let limit = BodyLimit::Truncate(MAX_ROBOTS_BYTES as u64);
        let outcome = self.fetcher.fetch_with_limit(job.url.as_url(), limit);
        self.progress
            .record_robots_fetch(outcome.response.is_some());
        let mut discovered = Vec::new();
        let verdict = robots::interpret(&job.url, &outcome, job.hops);
        log_robots(&job.url, &verdict);
        let result = match verdict {
            RobotsResponse::Found(file) => {
                let rules = Arc::new(file.rules_for(&self.settings.robots_agent));
                if job.seed_host && self.settings.sitemaps {
                    discovered = self.queue_sitemaps(&job.url, rules.sitemaps())?;
                }
                RobotsResult::Rules(rules)
            }
            RobotsResponse::Unavailable(_) => RobotsResult::Rules(RobotsRules::allow_all()),
            RobotsResponse::Redirect(url) => RobotsResult::Redirect {
                url,
                hops: job.hops.saturating_add(1),
            },
            RobotsResponse::Unreachable {
                reason,
                retry_after,
                connection_failure,
            } => RobotsResult::Unreachable {
                reason,
                retry_after,
                connection_failure,
            },
        };
        Ok(Report::Robots {
            host: job.host,
            answered: Some(outcome.answered),
            result,
            discovered,
        })
    }

    /// Admits the `Sitemap` URLs of a seed host's robots.txt like links found on it
    /// (scope, dedup) and stores them in the frontier.
    fn queue_sitemaps(
        &self,
        robots_url: &CanonicalUrl,
        sitemaps: &[String],
    ) -> Result<Vec<Queued>, StoreError> {
        let mut entries = Vec::new();
        let mut queued = Vec::new();
        // Released when dropped, after the write (or on an error or a panic before it).
        let mut claims = self.seen.claims();
        let from = Some(robots_url.as_str().to_owned());
        let kind = JobKind::Sitemap { level: 0 };
        for sitemap in sitemaps {
            let Ok(url) = CanonicalUrl::parse(sitemap) else {
                continue;
            };
            if !self.scope.admits(&url) {
                continue;
            }
            match self.hooks.admits(&url) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(failure) => {
                    tracing::warn!(url = url.as_str(), failure, "hook failed on a sitemap URL");
                    self.progress.record_hook_failure();
                    continue;
                }
            }
            if !claims.claim(url.fingerprint())? {
                // Read again by a recrawl, to learn what changed since.
                if let Some((fingerprint, entry)) = self.refetch_listed(&url, Some(u64::MAX))? {
                    if self.budgets.reserve(&url.host_key(), false)?.is_ok() {
                        // A sitemap, whatever an older record says it was fetched as.
                        let entry = QueueEntry {
                            kind: kind.store_name(),
                            via: Some(Via::Sitemap),
                            ..entry
                        };
                        queued.push(Queued::from_entry(url, entry.clone()));
                        entries.push((fingerprint, entry));
                    }
                }
                continue;
            }
            if self.budgets.reserve(&url.host_key(), false)?.is_err() {
                claims.give_back(url.fingerprint());
                self.progress.record_not_queued(1);
                tracing::warn!(
                    url = url.as_str(),
                    "sitemap not queued: its host's queue is full (--max-queued-per-host)"
                );
                continue;
            }
            entries.push((
                url.fingerprint(),
                QueueEntry {
                    url: url.as_str().to_owned(),
                    host: url.host_key().as_str().to_owned(),
                    depth: 0,
                    from: from.clone(),
                    hops: 0,
                    kind: kind.store_name(),
                    via: Some(Via::Sitemap),
                    ..QueueEntry::default()
                },
            ));
            queued.push(Queued {
                from: from.clone(),
                kind,
                via: Via::Sitemap,
                ..Queued::page(url, 0, None, 0)
            });
        }
        let written = if entries.is_empty() {
            Ok(())
        } else {
            self.store.enqueue(&entries)
        };
        drop(claims);
        written?;
        Ok(queued)
    }
}

/// What a host's robots.txt said, for `-v`.
fn log_robots(url: &CanonicalUrl, verdict: &RobotsResponse) {
    let url = url.as_str();
    match verdict {
        RobotsResponse::Found(_) => tracing::info!(url, "robots.txt found; its rules apply"),
        RobotsResponse::Unavailable(why) => {
            tracing::info!(url, why, "robots.txt unavailable; everything is allowed")
        }
        RobotsResponse::Redirect(to) => {
            tracing::debug!(url, to = to.as_str(), "robots.txt redirects")
        }
        // An attempt: the host waits and tries again, and when the retries are spent
        // it is closed, which is what the default level reports.
        RobotsResponse::Unreachable { reason, .. } => {
            tracing::info!(url, reason, "robots.txt unreachable; the host waits")
        }
    }
}
