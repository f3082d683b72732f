//! A crawl's runs as the store records them: each run over a store writes, when it
//! starts, its settings and a sample of its seeds, and when it ends, when, how many
//! pages and whether it was interrupted.
//!
//! The seeds of earlier runs matter to a run that continues a store: together with
//! its own they set the scope and the addresses the crawl may connect to. They are
//! kept in the store's seed list (`Store::add_seeds`), one seed per host: the scope
//! and the address rules look at a seed's host only, and a broad crawl's million
//! seeds would make the run's description (one JSON value, rewritten whole) huge.
//! Stores written before kept every seed in the description; those are read too.

use crawler_storage::{CrawlRun, Store, StoreError};

use crate::config::CrawlConfig;
use crate::url::{CanonicalUrl, NameSet};
use crate::worker::unix_ms;

/// Seeds named in a run's description; the seed list holds them all.
const SEED_SAMPLE: usize = 10;

/// This run's record in the store, started and not finished yet.
pub(crate) struct RunRecord {
    run: CrawlRun,
    index: usize,
}

impl RunRecord {
    /// Records that a run with these settings and seeds starts now: the seeds of
    /// hosts no earlier seed was on go to the store's seed list.
    pub(crate) fn start(
        store: &Store,
        settings: &CrawlConfig,
        seeds: &[CanonicalUrl],
        earlier: &mut EarlierSeeds,
    ) -> Result<RunRecord, StoreError> {
        let new_hosts = seeds
            .iter()
            .filter(|seed| earlier.hosts.insert(seed.host_key().as_str()))
            .map(CanonicalUrl::as_str);
        store.add_seeds(new_hosts)?;
        let run = CrawlRun {
            started_at_ms: unix_ms(),
            config: run_description(settings, seeds),
            ..CrawlRun::default()
        };
        let index = store.start_run(&run)?;
        Ok(RunRecord { run, index })
    }

    /// Records that the run ends now, with `fetched` pages, interrupted or not.
    pub(crate) fn finish(
        mut self,
        store: &Store,
        fetched: u64,
        interrupted: bool,
    ) -> Result<(), StoreError> {
        self.run.finished_at_ms = Some(unix_ms());
        self.run.fetched = fetched;
        self.run.interrupted = interrupted;
        store.finish_run(self.index, &self.run)
    }
}

/// The hosts of earlier runs' seeds, as the store's seed list gave them.
#[derive(Default)]
pub(crate) struct EarlierSeeds {
    hosts: NameSet,
}

impl EarlierSeeds {
    /// Hands each seed of earlier runs over `store` to `each`, one at a time, and
    /// keeps their hosts.
    pub(crate) fn read(
        store: &Store,
        mut each: impl FnMut(&CanonicalUrl),
    ) -> Result<EarlierSeeds, StoreError> {
        let mut earlier = EarlierSeeds::default();
        let mut take = |text: &str| {
            if let Ok(seed) = CanonicalUrl::parse(text) {
                earlier.hosts.insert(seed.host_key().as_str());
                each(&seed);
            }
        };
        for seed in store.seeds()? {
            take(&seed?);
        }
        // Runs of stores written before the seed list kept every seed here.
        for run in store.runs()? {
            let listed = run.config.get("seeds").and_then(|s| s.as_array());
            for seed in listed.into_iter().flatten() {
                take(seed.as_str().unwrap_or_default());
            }
        }
        Ok(earlier)
    }
}

fn run_description(settings: &CrawlConfig, seeds: &[CanonicalUrl]) -> serde_json::Value {
    let mut value = serde_json::to_value(settings).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        let sample = seeds
            .iter()
            .take(SEED_SAMPLE)
            .map(|s| serde_json::Value::from(s.as_str()))
            .collect();
        object.insert("seed_sample".into(), serde_json::Value::Array(sample));
        object.insert("seed_count".into(), seeds.len().into());
    }
    value
}
