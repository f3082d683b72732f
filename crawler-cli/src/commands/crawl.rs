//! `crawler crawl`: seeds in, a store out.

use std::fs::File;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};

use crawler_core::cluster::Crawl;
use crawler_core::fetch::{read_cookies_file, Credentials};
use crawler_core::{
    parse_seed, CanonicalUrl, ConfigError, CrawlConfig, CrawlError, CrawlSummary, Crawler,
    ErrorKind, SeedError, SeedFile,
};
use crawler_storage::{Store, StoreError, StoreOptions};
use tempfile::NamedTempFile;

use crate::args::{CrawlArgs, RetryKind};
use crate::config_file::Origins;
use crate::listen::Endpoint;
use crate::report::{self, print_complete, print_summary, Pace, ProgressBar};
use crate::signals::SignalWatch;
use crate::terminal::notice;

mod cluster;
mod resume;
use crate::Failure;

pub fn run(args: CrawlArgs) -> Result<ExitCode, Failure> {
    let given = args
        .settings
        .to_config()
        .map(|config| CrawlConfig {
            hosts: args.hosts.clone(),
            ..config
        })
        .and_then(|config| config.check_each_setting().map(|()| config))
        .map_err(|e| bad_setting(&e, &args.origins))?;
    // Everything the crawl needs is checked before --fresh deletes anything.
    let (seeds, credentials) = collect_seeds(&args)?;
    let retry = retry_kinds(&args.retry_errors);
    if args.fresh {
        if seeds.is_empty()? {
            return Err(Failure::Usage(format!(
                "--fresh starts {} over and needs seeds: give seed URLs as arguments or --seeds FILE (nothing was deleted)",
                given.store.display()
            )));
        }
        // So must a cookies file's.
        if let Some(path) = given.cookies_file.as_deref().filter(|_| !given.no_cookies) {
            read_cookies_file(path).map_err(|e| {
                let error = ConfigError {
                    setting: "cookies",
                    reason: e.to_string(),
                };
                bad_setting(&error, &args.origins)
            })?;
        }
        // A seed file is read as the crawl goes; its bad lines must show before
        // anything is deleted.
        if let Some(error) = seeds.first_bad_line(args.skip_bad_seeds)? {
            return Err(seed_failure(error));
        }
        start_over(&given.store, args.force)?;
    }
    let store = given.store.clone();
    // Not stored settings: the cookies file is loaded by the run it is given to; the
    // proxies may hold credentials. Both are taken from this run.
    let cookies_file = given.cookies_file.clone();
    let (proxy, no_proxy) = (given.proxy.clone(), given.no_proxy.clone());
    let (mut config, overrides, resumed) = resume::settings(given, &args.given)?;
    config.cookies_file = cookies_file;
    config.proxy = proxy;
    config.no_proxy = no_proxy;
    // The stored settings with the flags' changes must make a crawl before any of it
    // is reported; a stored setting to blame is named as such.
    if let Err(error) = config.clone().validate() {
        let setting = error.setting.replace('-', "_");
        let message = setting_message(&error, &args.origins);
        return Err(Failure::Usage(
            if !resumed || args.given.contains(&setting) {
                message
            } else {
                format!(
                    "{message} (stored with the crawl in {}; give --{} to change it)",
                    store.display(),
                    error.setting
                )
            },
        ));
    }
    let (mut config, cluster) = cluster::join(config, &args.cluster, &args.given)?;
    config.credentials = credentials;
    for o in &overrides {
        notice(&format!(
            "resuming with {} = {} (the store's crawl had {})",
            o.setting, o.now, o.stored
        ));
    }
    let overrides: Vec<String> = overrides
        .iter()
        .map(|o| format!("{}: {} -> {}", o.setting, o.stored, o.now))
        .collect();
    let show_progress = !args.settings.no_progress;
    let listener = args.settings.listen.map(listen_on).transpose()?;
    let run = Run {
        json: args.json,
        show_progress,
        listener: listener.as_ref(),
        overrides: &overrides,
        retry: &retry,
        revisit: args.given.contains("revisit"),
        cluster: cluster.as_ref(),
    };
    crawl(config, seeds, &run).map_err(|failure| match failure {
        Failure::Setting(e) => bad_setting(&e, &args.origins),
        other => other,
    })
}

/// How one run of `crawl` goes, beside its settings and seeds.
pub struct Run<'a> {
    /// Print the summary as JSON.
    pub json: bool,
    pub show_progress: bool,
    /// Stored settings this run overrides, as `setting: stored -> now`.
    pub overrides: &'a [String],
    /// Error kinds whose stored URLs are queued again (`--retry-errors`).
    pub retry: &'a [ErrorKind],
    /// Queue the stored URLs the revisit policy has due (`--revisit-after`,
    /// `--revisit` given to this run).
    pub revisit: bool,
    /// Where the live status is served (`--listen`), bound before the crawl starts.
    pub listener: Option<&'a TcpListener>,
    /// The cluster crawl this run is a node of (`--cluster`).
    pub cluster: Option<&'a Crawl>,
}

/// Binds `--listen`'s address, so a taken port fails before anything is fetched.
fn listen_on(address: SocketAddr) -> Result<TcpListener, Failure> {
    TcpListener::bind(address)
        .map_err(|e| Failure::Usage(format!("--listen {address}: cannot listen there: {e}")))
}

/// `--retry-errors timeout,connect` or `all` (every kind).
fn retry_kinds(given: &[RetryKind]) -> Vec<ErrorKind> {
    if given.contains(&RetryKind::All) {
        return ErrorKind::ALL.to_vec();
    }
    given
        .iter()
        .filter_map(|kind| match kind {
            RetryKind::Kind(kind) => Some(*kind),
            RetryKind::All => None,
        })
        .collect()
}

/// A setting the crawl cannot run with, named as a flag, with the config file line
/// it came from when it came from one.
fn bad_setting(error: &ConfigError, origins: &Origins) -> Failure {
    Failure::Usage(setting_message(error, origins))
}

/// `--workers: 0 is not between 1 and 4096 (set at crawl.toml:2)`.
pub fn setting_message(error: &ConfigError, origins: &Origins) -> String {
    let origin = origins
        .get(error.setting)
        .map_or(String::new(), |at| format!(" (set at {at})"));
    if error.setting == HOSTS_TABLE {
        // Not a flag: the config file's table.
        return format!("[hosts] {}{origin}", error.reason);
    }
    format!("--{}: {}{origin}", error.setting, error.reason)
}

/// The setting of the config file's `[hosts."HOST"]` tables.
const HOSTS_TABLE: &str = "hosts";

/// `--fresh`: delete the crawl a store holds, which takes `--force` when there is one.
fn start_over(store: &Path, force: bool) -> Result<(), Failure> {
    let holds_a_crawl = match Store::open(store, StoreOptions::read_only()) {
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
pub fn crawl(config: CrawlConfig, seeds: Seeds, run: &Run) -> Result<ExitCode, Failure> {
    let store_path = config.store.clone();
    let new_store = !store_path.exists();
    let outcome = crawl_into(config, seeds, run);
    if outcome.is_err() && new_store {
        remove_if_empty(&store_path);
    }
    outcome
}

/// Removes a store this command created when it holds nothing (no run, no page, no
/// frontier): a crawl that failed before it started leaves no directory behind.
fn remove_if_empty(store: &Path) {
    let empty = match Store::open(store, StoreOptions::read_only()) {
        Ok(opened) => {
            opened.runs().is_ok_and(|runs| runs.is_empty())
                && opened.pages().next().is_none()
                && opened.queued().next().is_none()
        }
        Err(_) => false,
    };
    if empty {
        let _ = std::fs::remove_dir_all(store);
    }
}

fn crawl_into(config: CrawlConfig, seeds: Seeds, run: &Run) -> Result<ExitCode, Failure> {
    let Run {
        json,
        show_progress,
        overrides,
        retry,
        revisit,
        listener,
        cluster,
    } = *run;
    let store_path = config.store.clone();
    let max_pages = config.max_pages;
    // A recrawl reads its sitemaps even when nothing is due: their `<lastmod>`s say
    // what changed.
    let reads_sitemaps = revisit && !config.sitemap_urls.is_empty();
    let pace = Pace {
        budget: config.max_pages,
        workers: config.workers as u64,
        per_host_concurrency: config.per_host_concurrency as u64,
    };
    let mut crawler = Crawler::new(config).map_err(|e| match e {
        CrawlError::Config(e) => Failure::Setting(e),
        other => Failure::Error(other.into()),
    })?;
    if let Some(crawl) = cluster {
        crawler.in_cluster(crawl.clone());
    }
    if !retry.is_empty() {
        let requeued = crawler.retry_errors(retry)?;
        notice(&format!(
            "--retry-errors: {requeued} stored URL{} queued again",
            if requeued == 1 { "" } else { "s" }
        ));
    }
    if revisit {
        let due = crawler.queue_revisits()?;
        notice(&match due.queued {
            0 => "revisit: 0 stored URLs due: none was last fetched that long ago".to_owned(),
            1 => "revisit: 1 stored URL due, queued to be fetched again".to_owned(),
            n => format!("revisit: {n} stored URLs due, queued to be fetched again"),
        });
    }
    // A few seeds, to say whether they were stored already when nothing is fetched.
    let seed_sample = seeds.first(SEED_SAMPLE)?;
    let already_queued = crawler.store().queued().next().is_some();
    // A cluster node without seeds joins to take its share of the others'.
    if seed_sample.is_empty() && !already_queued && !reads_sitemaps && cluster.is_none() {
        let runs = crawler.store().runs()?;
        if runs.is_empty() {
            return Err(Failure::Usage(format!(
                "no seeds: {} holds no crawl to resume; give seed URLs as arguments or --seeds FILE",
                store_path.display()
            )));
        }
        // Resuming a finished crawl is done already: scripts that resume until
        // done may run once more.
        let stats = crawler.store().stats()?;
        print_complete(&stats, &runs, &store_path, json)?;
        return Ok(ExitCode::SUCCESS);
    }
    log_opened(&crawler, already_queued);
    let Seeds {
        urls,
        file,
        skipped,
        stdin_copy,
    } = seeds;
    crawler.add_seeds(urls);
    if let Some(file) = file {
        crawler.add_seed_file(file);
    }
    let signals = SignalWatch::start(crawler.stop_handle())?;
    let endpoint = match listener {
        Some(listener) => Some(serve_live_status(&crawler, listener)?),
        None => None,
    };
    let bar = show_progress
        .then(|| ProgressBar::start(crawler.progress(), pace))
        .flatten();
    let crawler_store = std::sync::Arc::clone(crawler.store());
    #[cfg(unix)]
    let queries = crate::query_socket::server::Server::start(std::sync::Arc::clone(&crawler_store));
    let result = crawler.run();
    #[cfg(unix)]
    drop(queries);
    if let Some(bar) = bar {
        bar.finish();
    }
    let signal = signals.finish();
    if let Some(endpoint) = endpoint {
        endpoint.finish();
    }
    drop(stdin_copy);
    lock(&skipped).finish();
    // The engine logs `crawl finished` with these figures.
    let summary = match result {
        Err(CrawlError::Seeds(error)) => return Err(seed_failure(error)),
        other => other?,
    };
    print_summary(&summary, &store_path, json, overrides)?;
    match signal {
        Some(signal) => {
            notice(&format!(
                "stopped by signal; resume with: crawler crawl --store {}",
                store_path.display()
            ));
            Ok(ExitCode::from(crate::exit::signalled(signal)))
        }
        None if nothing_answered(&summary) => {
            let check = if summary.errors.contains_key(ErrorKind::Proxy.as_str()) {
                "check the proxies (--proxy, or HTTP_PROXY and its kin), then the URLs"
            } else {
                "check the URLs, the network, --resolve and --timeout"
            };
            notice(&format!(
                "no server answered: every request failed before a response ({}); {check}",
                report::counts(&summary.errors),
            ));
            Ok(ExitCode::from(crate::exit::NOTHING_REACHED))
        }
        None => {
            if let Some(max) =
                max_pages.filter(|_| summary.page_budget_spent && summary.queued_left > 0)
            {
                notice(&format!(
                    "the crawl's page budget is spent: --max-pages {max} counts the pages of every run \
                     ({} URLs left in the frontier); to fetch more, resume with a larger budget: \
                     crawler crawl --store {} --max-pages N",
                    summary.queued_left,
                    store_path.display()
                ));
            } else if summary.pages_fetched == 0 {
                say_if_seeds_were_stored(&crawler_store, &seed_sample, &store_path)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Starts `--listen`'s endpoint and says where it is, on the terminal and in the
/// store's holder file (for `crawler top --store`).
fn serve_live_status(crawler: &Crawler, listener: &TcpListener) -> Result<Endpoint, Failure> {
    let endpoint = Endpoint::start(
        listener.try_clone()?,
        crawler.progress(),
        crawler.stop_handle(),
    )?;
    let address = endpoint.address();
    crawler.store().advertise("listen", &address.to_string());
    notice(&format!(
        "live status on http://{address}/ (/metrics, /status.json); watch it with: crawler top --connect {address}"
    ));
    Ok(endpoint)
}

/// Seeds looked up after a run that fetched nothing.
const SEED_SAMPLE: usize = 100;

/// A crawl given seeds that fetched nothing: when the seeds are stored already, says so
/// rather than leave a bare `Crawled 0 pages`.
fn say_if_seeds_were_stored(
    store: &Store,
    seeds: &[CanonicalUrl],
    store_path: &Path,
) -> Result<(), Failure> {
    let mut stored = 0;
    for seed in seeds {
        if store.page(seed.as_str())?.is_some() {
            stored += 1;
        }
    }
    if stored > 0 && stored == seeds.len() {
        notice(&format!(
            "nothing new to fetch: {} already stored in {} (see crawler get --store {} URL); \
             --retry-errors KIND|all fetches failed URLs again, --fresh --force starts over",
            if stored == 1 {
                "the seed is"
            } else {
                "all the seeds are"
            },
            store_path.display(),
            store_path.display(),
        ));
    }
    Ok(())
}

/// Whether this run tried to fetch and no server gave any response, robots.txt
/// included: wrong URLs, no network, a DNS or TLS failure.
fn nothing_answered(summary: &CrawlSummary) -> bool {
    // A cluster node that only gave up dead letters asked no server anything.
    let asked = (summary.errors.keys()).any(|kind| kind != ErrorKind::DeadLetter.as_str());
    summary.responses == 0 && !summary.stopped && asked
}

/// What the store holds as the crawl starts (counting costs a scan of the frontier,
/// so only when the line is shown).
fn log_opened(crawler: &Crawler, resuming: bool) {
    let store = crawler.store();
    tracing::info!(store = %store.path().display(), "store opened");
    if resuming && tracing::enabled!(tracing::Level::INFO) {
        let queued = store.queued_count().unwrap_or_default();
        let runs = store.runs().map(|runs| runs.len()).unwrap_or_default();
        tracing::info!(
            queued,
            earlier_runs = runs,
            "resuming: {queued} URLs queued"
        );
    }
}

/// A crawl's seeds as the command line gave them: URLs, and a seed file the crawl
/// reads as it goes (a million seeds are not held in memory).
pub struct Seeds {
    urls: Vec<CanonicalUrl>,
    file: Option<SeedFile>,
    skipped: Arc<Mutex<SkippedSeeds>>,
    /// `--seeds -`: standard input copied to a file the crawl can read twice;
    /// removed when dropped.
    stdin_copy: Option<NamedTempFile>,
}

impl Seeds {
    /// Seeds given as URLs only.
    pub fn urls(urls: Vec<CanonicalUrl>) -> Seeds {
        Seeds {
            urls,
            file: None,
            skipped: Arc::new(Mutex::new(SkippedSeeds::new(false))),
            stdin_copy: None,
        }
    }

    fn is_empty(&self) -> Result<bool, Failure> {
        Ok(self.first(1)?.is_empty())
    }

    /// The first `n` seeds.
    fn first(&self, n: usize) -> Result<Vec<CanonicalUrl>, Failure> {
        let mut first: Vec<CanonicalUrl> = self.urls.iter().take(n).cloned().collect();
        if let Some(file) = &self.file {
            let more = n.saturating_sub(first.len());
            first.extend(file.first_seeds(more).map_err(seed_failure)?);
        }
        Ok(first)
    }

    /// The seed file's first bad line, unless bad lines are skipped.
    fn first_bad_line(&self, skip: bool) -> Result<Option<SeedError>, Failure> {
        match &self.file {
            Some(file) if !skip => file.first_bad_line().map_err(seed_failure),
            _ => Ok(None),
        }
    }
}

/// The seeds, and the Basic credentials the userinfo of the URLs given as arguments
/// gave (a seed file's are taken as the crawl reads it).
fn collect_seeds(args: &CrawlArgs) -> Result<(Seeds, Credentials), Failure> {
    let skipped = Arc::new(Mutex::new(SkippedSeeds::new(args.skip_bad_seeds)));
    let mut urls = Vec::new();
    let mut credentials = Credentials::default();
    for (index, url) in args.urls.iter().enumerate() {
        match parse_seed(url, &mut credentials) {
            Ok(seed) => urls.push(seed),
            Err(e) => lock(&skipped).line(format!(
                "seed argument {}: {e}{}",
                index + 1,
                scheme_hint(url)
            ))?,
        }
    }
    let mut stdin_copy = None;
    let file = match &args.seeds {
        None => None,
        Some(path) if path.as_os_str() == "-" => {
            let copy = copy_stdin().map_err(|e| {
                Failure::Usage(format!(
                    "--seeds -: cannot copy standard input to a temporary file: {e}"
                ))
            })?;
            let file = SeedFile::new(copy.path()).named("-");
            stdin_copy = Some(copy);
            Some(file)
        }
        Some(path) => {
            // Checked now, before anything is created or deleted.
            File::open(path).map_err(|error| {
                seed_failure(SeedError::Read {
                    source_name: path.display().to_string(),
                    error,
                })
            })?;
            Some(SeedFile::new(path))
        }
    };
    let file = file.map(|file| match args.skip_bad_seeds {
        true => {
            let skipped = Arc::clone(&skipped);
            file.on_bad_line(move |error| lock(&skipped).line(error.to_string()).map_err(|_| error))
        }
        false => file,
    });
    let seeds = Seeds {
        urls,
        file,
        skipped,
        stdin_copy,
    };
    Ok((seeds, credentials))
}

/// Standard input, copied to a temporary file: a seed list is read twice.
fn copy_stdin() -> io::Result<NamedTempFile> {
    let mut copy = NamedTempFile::new()?;
    io::copy(&mut io::stdin().lock(), copy.as_file_mut())?;
    copy.as_file_mut().flush()?;
    Ok(copy)
}

/// A seed list's error as the command line reports it.
fn seed_failure(error: SeedError) -> Failure {
    match error {
        SeedError::Read { .. } => Failure::Usage(format!(
            "--seeds {error} (give a file of seed URLs, one per line, or - to read them from standard input)"
        )),
        line => Failure::Usage(format!(
            "{line} (fix or remove that line, or add --skip-bad-seeds to skip bad lines)"
        )),
    }
}

fn lock(skipped: &Mutex<SkippedSeeds>) -> MutexGuard<'_, SkippedSeeds> {
    // Two counters: whole after any panic.
    skipped.lock().unwrap_or_else(|p| p.into_inner())
}

/// `example.test` is not a URL; `https://example.test/` is.
fn scheme_hint(text: &str) -> String {
    if text.contains("://") || text.trim().is_empty() || has_scheme(text) {
        return String::new();
    }
    format!(
        " (a seed is a full URL: did you mean https://{}/ ?)",
        text.trim().trim_end_matches('/')
    )
}

/// Whether `text` starts with a URL scheme of its own (`mailto:`, `ftp:`), rather than
/// a host with a port (`example.test:8080`), which a scheme would complete.
fn has_scheme(text: &str) -> bool {
    let Some((scheme, rest)) = text.trim().split_once(':') else {
        return false;
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let is_port = rest
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    is_scheme && !is_port
}

/// `--skip-bad-seeds`: bad seed lines are warned about (the first few in full) and
/// skipped; without it the first one stops the crawl.
pub struct SkippedSeeds {
    skip: bool,
    count: usize,
}

impl SkippedSeeds {
    /// Warnings printed in full; the rest are counted.
    const SHOWN: usize = 20;

    fn new(skip: bool) -> SkippedSeeds {
        SkippedSeeds { skip, count: 0 }
    }

    fn line(&mut self, problem: String) -> Result<(), Failure> {
        if !self.skip {
            return Err(Failure::Usage(problem));
        }
        self.count += 1;
        if self.count <= Self::SHOWN {
            notice(&format!("warning: skipped seed: {problem}"));
        }
        Ok(())
    }

    fn finish(&self) {
        if self.count > Self::SHOWN {
            notice(&format!(
                "warning: skipped {} bad seed lines in all ({} more than shown)",
                self.count,
                self.count - Self::SHOWN
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheme_is_suggested_for_hosts_only() {
        assert!(scheme_hint("example.test").contains("https://example.test/"));
        assert!(scheme_hint("example.test:8080/a").contains("https://example.test:8080/a/"));
        for has_one in [
            "mailto:a@b.c",
            "ftp:x",
            "javascript:void(0)",
            "http://a.test/",
        ] {
            assert_eq!(scheme_hint(has_one), "", "{has_one}");
        }
    }
}
