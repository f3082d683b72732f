//! Spilling and refilling: memory holds a bounded buffer per host, and the store's
//! frontier holds the rest.
//!
//! A host that outgrows its buffer *spills*: its new URLs are only counted, and its
//! buffer is refilled from the store, in discovery order, when it runs dry while nothing
//! of the host is in flight or waiting to be recorded (so no URL is handed out twice).
//! The store is reached through [`QueueSpill`], so the frontier is tested without one;
//! [`StoreSpill`] is the real store behind it.

use std::collections::HashSet;
use std::sync::Arc;

use crawler_storage::{PageFilter, QueueEntry, Store, StoreError};

use super::queues::{Frontier, QueueSpill, MEMORY_BUDGET};
use crate::messages::{HostId, Queued};
use crate::url::CanonicalUrl;

const MIN_BUFFER: usize = 8;
pub(super) const MAX_BUFFER: usize = 256;

/// The store's frontier, as the place host queues spill to and are refilled from.
pub(crate) struct StoreSpill {
    store: Arc<Store>,
    /// The host names the store held records of as the run started: only their pages
    /// are counted against a page budget per host (a read of the host's records).
    recorded_hosts: HashSet<String>,
}

impl StoreSpill {
    /// The store behind a frontier; `per_host_budget` when the pages fetched of each
    /// host in earlier runs are asked for.
    pub(crate) fn new(store: Arc<Store>, per_host_budget: bool) -> Result<StoreSpill, StoreError> {
        let recorded_hosts = if per_host_budget {
            store.record_stats()?.pages_per_host.into_keys().collect()
        } else {
            HashSet::new()
        };
        Ok(StoreSpill {
            store,
            recorded_hosts,
        })
    }
}

impl QueueSpill for StoreSpill {
    fn load(&self, host: &str, limit: usize) -> Result<Vec<Queued>, StoreError> {
        self.store
            .queued_for_host(host, limit)?
            .into_iter()
            .map(queued_from_store)
            .collect()
    }

    fn fetched_before(&self, url: &CanonicalUrl) -> Result<u64, StoreError> {
        if !self.recorded_hosts.contains(url.host()) {
            return Ok(0);
        }
        let filter = PageFilter {
            host: Some(url.host().to_owned()),
            port: url.as_url().port_or_known_default(),
            ..PageFilter::default()
        };
        let mut fetched = 0;
        for page in self.store.query(&filter) {
            fetched += u64::from(page?.attempts > 0);
        }
        Ok(fetched)
    }

    fn count(&self, host: &str) -> Result<u64, StoreError> {
        self.store.queued_upper_bound(host)
    }
}

pub(crate) fn queued_from_store(entry: QueueEntry) -> Result<Queued, StoreError> {
    let url = CanonicalUrl::parse(&entry.url).map_err(|e| StoreError::Corrupt {
        key: entry.url.clone(),
        reason: format!("frontier entry is not a crawlable URL: {e}"),
    })?;
    Ok(Queued::from_entry(url, entry))
}

impl Frontier {
    /// Lets host queues spill to `spill` instead of growing without bound.
    pub fn with_spill(mut self, spill: Box<dyn QueueSpill>) -> Frontier {
        self.spill = Some(spill);
        self
    }

    /// The store error a refill met, if any (the crawl must stop).
    pub fn take_spill_error(&mut self) -> Option<StoreError> {
        self.spill_error.take()
    }

    /// Memory buffer of each host: the budget shared by the hosts known.
    pub(super) fn buffer_cap(&self) -> usize {
        (MEMORY_BUDGET / self.hosts.len().max(1)).clamp(MIN_BUFFER, MAX_BUFFER)
    }

    /// Takes up a host the store has URLs for (a resumed crawl): its buffer is filled
    /// from the store, and it spills when the store holds more than the buffer took.
    pub fn resume_host(&mut self, host: &str) {
        let cap = self.buffer_cap();
        let loaded = match self.spill.as_ref().map(|spill| spill.load(host, cap)) {
            Some(Ok(loaded)) => loaded,
            Some(Err(error)) => {
                self.spill_error.get_or_insert(error);
                return;
            }
            None => return,
        };
        let full = loaded.len() >= cap;
        let taken = loaded.len() as u64;
        let mut id = None;
        for queued in loaded {
            id = Some(self.host_id(&queued.url));
            self.push(queued);
        }
        let Some(id) = id.filter(|_| full) else {
            return;
        };
        // What the store holds beyond the buffer counts as queued (the progress line,
        // the summary), though it is read only when the buffer runs dry.
        let beyond = match self.spill.as_ref().map(|spill| spill.count(host)) {
            Some(Ok(count)) => count.saturating_sub(taken).max(1),
            Some(Err(error)) => {
                self.spill_error.get_or_insert(error);
                1
            }
            None => 1,
        };
        self.hosts[id].spilled = true;
        self.hosts[id].stored += beyond;
        self.queued += beyond as usize;
    }

    /// The next URL of a host's queue, refilling its buffer from the store when it ran
    /// dry and nothing of the host is leased.
    pub(super) fn pop(&mut self, id: HostId) -> Option<Queued> {
        if self.hosts[id].is_empty() && self.hosts[id].may_refill() {
            self.refill(id);
        }
        let queued = self.hosts[id].pop()?;
        self.queued -= 1;
        self.in_memory -= 1;
        Some(queued)
    }

    pub(super) fn refill(&mut self, id: HostId) {
        let cap = self.buffer_cap();
        let Some(spill) = self.spill.as_ref() else {
            return;
        };
        let loaded = match spill.load(&self.keys[id], cap) {
            Ok(loaded) => loaded,
            Err(error) => {
                self.spill_error.get_or_insert(error);
                Vec::new()
            }
        };
        let host = &mut self.hosts[id];
        let count = loaded.len() as u64;
        for queued in loaded {
            host.push(queued);
        }
        // `stored` counted what reports announced; the store is the truth. Once it
        // holds nothing beyond what was just loaded, the estimate is spent.
        self.in_memory += count as usize;
        let host = &mut self.hosts[id];
        let before = host.stored;
        host.stored = if count < cap as u64 {
            0
        } else {
            before.saturating_sub(count).max(1)
        };
        self.queued =
            (self.queued + count as usize + host.stored as usize).saturating_sub(before as usize);
    }
}
