//! `crawler crawl`: seeds in, a store out.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;
use std::process::ExitCode;

use crawler_core::{read_seeds, CanonicalUrl, CrawlConfig, CrawlError, Crawler};
use crawler_storage::{Store, StoreError, StoreOptions};

use crate::args::CrawlArgs;
use crate::report::{print_summary, ProgressBar};
use crate::signals::SignalWatch;

mod resume;
use crate::Failure;

pub fn run(args: CrawlArgs) -> Result<ExitCode, Failure> {
    let given = args.settings.to_config().map_err(Failure::Usage)?;
    if args.fresh {
        start_over(&given.store, args.force)?;
    }
    let (config, overrides) = resume::settings(given)?;
    for o in &overrides {
        eprintln!(
            "crawler: resuming with {} = {} (the store's crawl had {})",
            o.setting, o.now, o.stored
        );
    }
    let seeds = collect_seeds(&args)?;
    let show_progress = !args.settings.no_progress;
    crawl(config, seeds, args.json, show_progress)
}

/// `--fresh`: delete the crawl a store holds, which takes `--force` when there is one.
fn start_over(store: &Path, force: bool) -> Result<(), Failure> {
    let holds_a_crawl = match Store::open(store, StoreOptions::existing()) {
        Ok(existing) => !existing.runs()?.is_empty() || existing.queued().next().is_some(),
        Err(StoreError::Missing { .. }) => return Ok(()),
        Err(error) => return Err(error.into()),
    };
    if holds_a_crawl && !force {
        return Err(Failure::Usage(format!(
            "--fresh would delete the crawl stored in {}; add --force to do so",
            store.display()
        )));
    }
    std::fs::remove_dir_all(store)
        .map_err(|e| Failure::Error(anyhow::anyhow!("cannot delete {}: {e}", store.display())))
}

/// Runs a crawl with a progress bar and prints its summary (shared with `demo`).
pub fn crawl(
    config: CrawlConfig,
    seeds: Vec<CanonicalUrl>,
    json: bool,
    show_progress: bool,
) -> Result<ExitCode, Failure> {
    let store_path = config.store.clone();
    let mut crawler = Crawler::new(config).map_err(|e| match e {
        CrawlError::Config(e) => Failure::Usage(e.to_string()),
        other => Failure::Error(other.into()),
    })?;
    let already_queued = crawler.store().queued().next().is_some();
    if seeds.is_empty() && !already_queued {
        return Err(Failure::Usage(format!(
            "no seeds: give URLs, --seeds FILE, or a --store with unfinished work ({} has none)",
            store_path.display()
        )));
    }
    crawler.add_seeds(seeds);
    let signals = SignalWatch::start(crawler.stop_handle())?;
    let bar = show_progress
        .then(|| ProgressBar::start(crawler.progress()))
        .flatten();
    let result = crawler.run();
    if let Some(bar) = bar {
        bar.finish();
    }
    let signal = signals.finish();
    let summary = result?;
    print_summary(&summary, &store_path, json)?;
    match signal {
        Some(signal) => {
            eprintln!(
                "crawler: stopped by signal; resume with: crawler crawl --store {}",
                store_path.display()
            );
            Ok(ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

fn collect_seeds(args: &CrawlArgs) -> Result<Vec<CanonicalUrl>, Failure> {
    let mut seeds = Vec::new();
    for (index, url) in args.urls.iter().enumerate() {
        let seed = CanonicalUrl::parse(url)
            .map_err(|e| Failure::Usage(format!("seed argument {}: {e}", index + 1)))?;
        seeds.push(seed);
    }
    if let Some(path) = &args.seeds {
        let from_file = if path.as_os_str() == "-" {
            read_seeds(io::stdin().lock(), "-")
        } else {
            let file = File::open(path)
                .map_err(|e| Failure::Usage(format!("--seeds {}: {e}", path.display())))?;
            read_seeds(BufReader::new(file), &path.display().to_string())
        };
        seeds.extend(from_file.map_err(|e| Failure::Usage(e.to_string()))?);
    }
    Ok(seeds)
}
