//! The budgets on what may be queued: a host's queue holds at most
//! `max_queued_per_host` URLs, and sitemaps add at most `max_sitemap_urls` URLs of one
//! host in a run. URLs past either are not queued (nor marked seen): the page or
//! sitemap that led to them is recorded as `budget-exceeded` with how many.
//!
//! Workers take room before they write a frontier entry and the scheduler gives it
//! back as URLs leave their queues, under one lock per shard of hosts, so the cap holds
//! however many workers admit links at once. A host's count starts from the store's
//! frontier the first time a worker of this run takes room for it, so it holds across
//! runs and kills; before that, what leaves the queue is not counted (the store, read
//! later, no longer holds it or still holds it in flight: at most a few too many).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crawler_storage::{Store, StoreError};

use crate::url::HostKey;

/// Shards of the host map: workers taking room for different hosts rarely wait.
const SHARDS: usize = 16;

/// Which budget refused a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Budget {
    /// The host's queue is full (`max_queued_per_host`).
    Queue,
    /// Sitemaps added their share of the host (`max_sitemap_urls`).
    Sitemaps,
}

#[derive(Clone, Copy, Debug, Default)]
struct HostCounts {
    queued: u64,
    from_sitemaps: u64,
}

/// The per-host counts the queue budgets are checked against; shared by the workers
/// and the scheduler.
pub(crate) struct QueueBudgets {
    store: Arc<Store>,
    max_queued: u64,
    max_from_sitemaps: u64,
    shards: Vec<Mutex<HashMap<HostKey, HostCounts>>>,
}

impl QueueBudgets {
    pub(crate) fn new(store: Arc<Store>, max_queued: u64, max_from_sitemaps: u64) -> QueueBudgets {
        QueueBudgets {
            store,
            max_queued,
            max_from_sitemaps,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    pub(crate) fn max_queued(&self) -> u64 {
        self.max_queued
    }

    pub(crate) fn max_from_sitemaps(&self) -> u64 {
        self.max_from_sitemaps
    }

    fn shard(&self, host: &HostKey) -> MutexGuard<'_, HashMap<HostKey, HostCounts>> {
        let index = xxhash_rust::xxh3::xxh3_64(host.as_str().as_bytes()) as usize % SHARDS;
        // Plain counts: valid after a panic elsewhere.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes room for one more URL in `host`'s queue (and, for a URL a sitemap adds, in
    /// the host's sitemap share), or says which budget is spent.
    pub(crate) fn reserve(
        &self,
        host: &HostKey,
        from_sitemap: bool,
    ) -> Result<Result<(), Budget>, StoreError> {
        if !self.shard(host).contains_key(host) {
            // Read outside the lock: a long queue file takes a while.
            let queued = self.store.queued_count_for(host.as_str())?;
            self.shard(host).entry(host.clone()).or_insert(HostCounts {
                queued,
                from_sitemaps: 0,
            });
        }
        let mut shard = self.shard(host);
        let counts = shard.entry(host.clone()).or_default();
        if from_sitemap && counts.from_sitemaps >= self.max_from_sitemaps {
            return Ok(Err(Budget::Sitemaps));
        }
        if counts.queued >= self.max_queued {
            return Ok(Err(Budget::Queue));
        }
        counts.queued += 1;
        counts.from_sitemaps += u64::from(from_sitemap);
        Ok(Ok(()))
    }

    /// A URL went back into its host's queue without taking room (a retry).
    pub(crate) fn requeued(&self, host: &HostKey) {
        if let Some(counts) = self.shard(host).get_mut(host) {
            counts.queued += 1;
        }
    }

    /// A URL left its host's queue: handed out to be fetched, or refused.
    pub(crate) fn left(&self, host: &HostKey) {
        if let Some(counts) = self.shard(host).get_mut(host) {
            counts.queued = counts.queued.saturating_sub(1);
        }
    }
}

/// URLs one page or sitemap led to that a budget kept out of the queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OverBudget {
    pub queue: u64,
    pub sitemaps: u64,
}

impl OverBudget {
    pub(crate) fn count(&mut self, budget: Budget) {
        match budget {
            Budget::Queue => self.queue += 1,
            Budget::Sitemaps => self.sitemaps += 1,
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.queue + self.sitemaps
    }

    /// What the record's message says: how many, and which budget.
    pub(crate) fn message(&self, budgets: &QueueBudgets) -> String {
        let mut parts = Vec::new();
        if self.queue > 0 {
            parts.push(format!(
                "{} URLs not queued: their host's queue was full (--max-queued-per-host {})",
                self.queue,
                budgets.max_queued()
            ));
        }
        if self.sitemaps > 0 {
            parts.push(format!(
                "{} URLs not queued: sitemaps had added their share of the host (--max-sitemap-urls {})",
                self.sitemaps,
                budgets.max_from_sitemaps()
            ));
        }
        parts.join("; ")
    }
}
