//! A crawl's runs as the store records them: each run over a store writes, when it
//! starts, its settings and seeds, and when it ends, when, how many pages and whether
//! it was interrupted.
//!
//! The seeds earlier runs recorded matter to a run that continues a store: together
//! with its own they set the scope.

use crawler_storage::{CrawlRun, Store, StoreError};

use crate::config::CrawlConfig;
use crate::url::CanonicalUrl;
use crate::worker::unix_ms;

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
        seeds: &[CanonicalUrl],
    ) -> Result<RunRecord, StoreError> {
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

/// `seeds`, and the seeds of earlier runs over the same store: together they set the scope.
pub(crate) fn with_earlier_seeds(
    store: &Store,
    seeds: &[CanonicalUrl],
) -> Result<Vec<CanonicalUrl>, StoreError> {
    let mut seeds = seeds.to_vec();
    for run in store.runs()? {
        let earlier = run
            .config
            .get("seeds")
            .and_then(|s| s.as_array())
            .cloned()
            .unwrap_or_default();
        seeds.extend(
            earlier
                .iter()
                .filter_map(|s| CanonicalUrl::parse(s.as_str()?).ok()),
        );
    }
    Ok(seeds)
}

fn run_description(settings: &CrawlConfig, seeds: &[CanonicalUrl]) -> serde_json::Value {
    let mut value = serde_json::to_value(settings).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        let seeds = seeds
            .iter()
            .map(|s| serde_json::Value::from(s.as_str()))
            .collect();
        object.insert("seeds".into(), serde_json::Value::Array(seeds));
    }
    value
}
