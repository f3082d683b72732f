//! What every worker shares ([`WorkerContext`]), the loop a worker thread runs, and the
//! tasks handled here: running a page or robots.txt task with its panics caught, and
//! recording a batch of refused URLs without a fetch.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crawler_storage::{PageRecord, PageWrite, QueueSlot, Store, StoreError};
use crossbeam_channel::{Receiver, Sender};

use super::render_queue::RenderQueue;
use crate::budgets::QueueBudgets;
use crate::error_kind::ErrorKind;
use crate::events::{CrawlEvent, Events};
use crate::fetch::Fetcher;
use crate::frontier::Refusal;
use crate::hooks::{panic_text, Hooks};
use crate::messages::{Health, HostId, Job, Refused, Report, RobotsJob, RobotsResult, Task};
use crate::progress::Progress;
use crate::revisit::RevisitLedger;
use crate::seen::SeenSet;
use crate::settings::WorkerSettings;
use crate::url::{CanonicalUrl, HostKey, Scope};

/// Everything a worker reads; shared by all workers.
pub(crate) struct WorkerContext {
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub seen: Arc<SeenSet>,
    /// Room in the hosts' queues and their sitemap shares.
    pub budgets: Arc<QueueBudgets>,
    pub scope: Arc<Scope>,
    pub progress: Arc<Progress>,
    /// The settings a worker reads.
    pub settings: WorkerSettings,
    /// The embedder's page handler, URL filter and page sink.
    pub hooks: Hooks,
    pub events: Events,
    /// The revisits queued before the run and since (sitemaps' `<lastmod>`).
    pub revisits: RevisitLedger,
    /// Where stored pages go to be rendered (`--render`).
    pub render: Option<RenderQueue>,
}

pub(crate) fn run_worker(
    index: usize,
    context: Arc<WorkerContext>,
    tasks: Receiver<Task>,
    reports: Sender<Report>,
) {
    let board = &context.progress.live.workers;
    for task in tasks {
        let report = match task {
            Task::Page(job) => {
                board.busy(index, job.url.as_str());
                context.run_page(job)
            }
            Task::Robots(job) => {
                board.busy(index, job.url.as_str());
                context.run_robots(job)
            }
            Task::Settle(batch) => context.settle(&batch),
        };
        board.idle(index);
        if reports.send(report).is_err() {
            break;
        }
    }
}

impl WorkerContext {
    fn run_page(&self, job: Job) -> Report {
        let (host, url, depth, from) = (job.host, job.url.clone(), job.depth, job.from.clone());
        match catch_unwind(AssertUnwindSafe(|| self.process(job))) {
            Ok(Ok(report)) => report,
            Ok(Err(error)) => {
                tracing::error!(url = url.as_str(), %error, "cannot store the page");
                Report::StoreFailed {
                    host: Some(host),
                    error,
                }
            }
            Err(panic) => self.record_panic(host, &url, depth, from, panic.as_ref()),
        }
    }

    fn run_robots(&self, job: RobotsJob) -> Report {
        let host = job.host;
        match catch_unwind(AssertUnwindSafe(|| self.process_robots(job))) {
            Ok(Ok(report)) => report,
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot store a robots.txt's sitemaps");
                Report::StoreFailed {
                    host: Some(host),
                    error,
                }
            }
            // Treated like an unreachable robots.txt: nothing of the host is fetched
            // on the strength of a file we could not read.
            Err(panic) => Report::Robots {
                host,
                answered: None,
                result: RobotsResult::Unreachable {
                    reason: format!("internal error: {}", panic_text(panic.as_ref())),
                    retry_after: None,
                    connection_failure: false,
                },
                discovered: Vec::new(),
            },
        }
    }

    /// Records refused URLs with their reason, in one atomic batch.
    fn settle(&self, batch: &[Refused]) -> Report {
        let now = unix_ms();
        let records: Vec<(u128, PageRecord)> = batch
            .iter()
            .map(|refused| {
                let queued = &refused.queued;
                let mut record =
                    PageRecord::new(queued.url.as_str(), queued.url.host(), queued.depth);
                record.from = queued.from.clone();
                record.via = Some(queued.via);
                record.attempts = queued.attempts;
                record.fetched_at_ms = now;
                record.error = Some(refused.reason.kind().as_str().to_owned());
                record.error_message = Some(refused.reason.message());
                (queued.url.fingerprint(), record)
            })
            .collect();
        let host_keys: Vec<HostKey> = batch.iter().map(|r| r.queued.url.host_key()).collect();
        let released: Vec<QueueSlot<'_>> = batch
            .iter()
            .zip(&host_keys)
            .map(|(refused, host)| QueueSlot {
                host: host.as_str(),
                depth: refused.queued.depth,
                url: refused.queued.url.as_str(),
            })
            .collect();
        match self.write(&PageWrite {
            settled: &records,
            released: &released,
            ..PageWrite::default()
        }) {
            Ok(()) => {
                for refused in batch {
                    self.progress.record_refused(&refused.reason);
                    if let Refusal::RobotsDisallowed(rule) = &refused.reason {
                        tracing::debug!(
                            url = refused.queued.url.as_str(),
                            rule,
                            "robots.txt disallows"
                        );
                        self.events.emit(CrawlEvent::RobotsRefused {
                            url: refused.queued.url.as_str().to_owned(),
                            rule: rule.clone(),
                        });
                    }
                }
                Report::Settled {
                    hosts: batch.iter().map(|r| r.host).collect(),
                    urls: (batch.iter())
                        .map(|r| r.queued.url.as_str().to_owned())
                        .collect(),
                }
            }
            Err(error) => {
                tracing::error!(%error, "cannot record refused URLs");
                Report::StoreFailed { host: None, error }
            }
        }
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
        let mut page = PageRecord::new(url.as_str(), url.host(), depth);
        page.from = from;
        page.fetched_at_ms = unix_ms();
        page.error = Some(ErrorKind::Other.as_str().to_owned());
        page.error_message = Some(format!(
            "internal error while handling the page: {}",
            panic_text(panic)
        ));
        tracing::error!(
            url = url.as_str(),
            message = page.error_message.as_deref(),
            "internal error"
        );
        self.progress.record_error(ErrorKind::Other);
        let host_key = url.host_key();
        let slot = QueueSlot {
            host: host_key.as_str(),
            depth,
            url: url.as_str(),
        };
        match self.write(&PageWrite {
            page: Some(&page),
            released: &[slot],
            ..PageWrite::default()
        }) {
            Ok(()) => Report::Page {
                host,
                answered: None,
                health: Health::NotContacted,
                discovered: Vec::new(),
                retry: None,
                recorded: Some(url.as_str().to_owned()),
            },
            Err(error) => Report::StoreFailed {
                host: Some(host),
                error,
            },
        }
    }
}

impl WorkerContext {
    /// Writes to the store, then wakes the rendering pages' requests waiting for a
    /// record (`--render`): every write of the crawl's pages goes through here.
    pub(crate) fn write(&self, write: &PageWrite<'_>) -> Result<(), StoreError> {
        let written = self.store.write_page(write);
        if let Some(render) = &self.render {
            render.wrote();
        }
        written
    }
}

/// Now in milliseconds since the Unix epoch, the store's clock.
pub(crate) use crawler_storage::now_ms as unix_ms;
