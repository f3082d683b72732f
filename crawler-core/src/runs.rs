//! A crawl's runs as the store records them: each run over a store writes, when it
//! starts, its settings and a sample of its seeds, and when it ends, when, how many
//! pages and whether it was interrupted.
//!
//! The seeds of earlier runs matter to a run that continues a store: together with
//! its own they set the scope and the addresses the crawl may connect to. They are
//! kept in the store's seed list (`Store::add_seeds`, written by the seed intake as it
//! takes them in), one seed per host: the scope
//! and the address rules look at a seed's host only, and a broad crawl's million
//! seeds would make the run's description (one JSON value, rewritten whole) huge.
//! Stores written before kept every seed in the description; those are read too.

use crawler_storage::{CrawlRun, ProxyUse, Store, StoreError};

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
    /// Records that a run with these settings and seeds starts now.
    pub(crate) fn start(
        store: &Store,
        settings: &CrawlConfig,
        seeds: &SeedTally,
    ) -> Result<RunRecord, StoreError> {
        let run = CrawlRun {
            started_at_ms: unix_ms(),
            config: run_description(settings, seeds),
            ..CrawlRun::default()
        };
        let index = store.start_run(&run)?;
        Ok(RunRecord { run, index })
    }

    /// Records that the run ends now, with `fetched` pages, interrupted or not, and
    /// what went through each `--proxy`.
    pub(crate) fn finish(
        mut self,
        store: &Store,
        fetched: u64,
        interrupted: bool,
        proxies: &[ProxyUse],
    ) -> Result<(), StoreError> {
        self.run.finished_at_ms = Some(unix_ms());
        self.run.fetched = fetched;
        self.run.interrupted = interrupted;
        self.run.proxies = proxies.to_vec();
        store.finish_run(self.index, &self.run)
    }
}

/// How many seeds this run was given, and the first few, for its description.
#[derive(Default)]
pub(crate) struct SeedTally {
    pub(crate) count: u64,
    sample: Vec<String>,
}

impl SeedTally {
    pub(crate) fn add(&mut self, seed: &CanonicalUrl) {
        self.count += 1;
        if self.sample.len() < SEED_SAMPLE {
            self.sample.push(seed.as_str().to_owned());
        }
    }
}

/// The hosts the store's seed list holds a seed of: read from it before the crawl,
/// and added to by the seed intake, which lists the seeds of new hosts.
#[derive(Default)]
pub(crate) struct ListedHosts {
    hosts: NameSet,
}

impl ListedHosts {
    /// Hands each seed of earlier runs over `store` to `each`, one at a time, and
    /// keeps their hosts.
    pub(crate) fn read(
        store: &Store,
        mut each: impl FnMut(&CanonicalUrl),
    ) -> Result<ListedHosts, StoreError> {
        let mut listed = ListedHosts::default();
        let mut take = |text: &str| {
            if let Ok(seed) = CanonicalUrl::parse(text) {
                listed.hosts.insert(seed.host_key().as_str());
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
        Ok(listed)
    }

    /// Whether no listed seed is on `seed`'s host; it is from now on.
    pub(crate) fn is_new(&mut self, seed: &CanonicalUrl) -> bool {
        self.hosts.insert(seed.host_key().as_str())
    }
}

fn run_description(settings: &CrawlConfig, seeds: &SeedTally) -> serde_json::Value {
    let mut value = serde_json::to_value(settings).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        let sample = seeds.sample.iter().map(|s| s.as_str().into()).collect();
        object.insert("seed_sample".into(), serde_json::Value::Array(sample));
        object.insert("seed_count".into(), seeds.count.into());
    }
    value
}
