//! The engine's settings as its parts read them, derived once from a validated
//! [`CrawlConfig`](crate::CrawlConfig): the frontier's [`Politeness`], the workers'
//! [`WorkerSettings`], and the pool size and page budget the scheduler needs.
//!
//! Each setting is copied from the configuration here and nowhere else, so a new
//! setting is wired in one place and a part sees only what it uses.

use crate::config::{BodyPolicy, PerHostRate, ValidConfig};
use crate::frontier::{AutoDelay, Politeness};
use crate::render::RenderSettings;
use crate::revisit::RevisitPolicy;
use crate::robots::ProductToken;
use crate::traps::TrapRules;

/// Every setting the engine's parts read, derived from the configuration once.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The frontier's per-host politeness.
    pub politeness: Politeness,
    /// What every worker reads.
    pub worker: WorkerSettings,
    /// Worker threads.
    pub workers: usize,
    /// Pages fetched in the whole crawl at most, earlier runs' stored pages counted.
    pub max_pages: Option<u64>,
    /// Page fetches this run starts at most (robots.txt fetches and retries excluded).
    pub max_pages_per_run: Option<u64>,
    /// URLs one host's queue holds at most.
    pub max_queued_per_host: u64,
    /// URLs sitemaps may add per host in a run.
    pub max_sitemap_urls: u64,
}

/// What a worker reads from the settings.
#[derive(Clone, Debug)]
pub(crate) struct WorkerSettings {
    /// Link hops from a seed followed at most.
    pub max_depth: Option<u32>,
    /// Redirect hops followed at most; a longer chain is recorded, not queued.
    pub max_redirects: u8,
    /// Which bodies are stored.
    pub bodies: BodyPolicy,
    /// The product token robots.txt groups and `X-Robots-Tag` lines are matched against.
    pub robots_agent: ProductToken,
    /// Retries of a failed fetch.
    pub retries: u32,
    /// Read the `Sitemap` lines of the seed hosts' robots.txt.
    pub sitemaps: bool,
    /// Queue `rel="nofollow"` links too.
    pub follow_nofollow: bool,
    /// Queue what pages and stylesheets embed (`--requisites`).
    pub requisites: bool,
    /// URLs that look like crawler traps are recorded, not queued.
    pub traps: TrapRules,
    /// Links kept of one page at most.
    pub max_links_per_page: usize,
    /// How a revisit sets a URL's own interval (adaptive), if at all.
    pub revisit: Option<RevisitPolicy>,
    /// Bodies a revisited URL keeps (`--keep-versions`).
    pub keep_versions: u32,
    /// How pages are rendered (`--render`), if they are.
    pub render: Option<RenderSettings>,
}

impl Settings {
    /// The settings `config` asks for.
    pub(crate) fn derive(config: &ValidConfig) -> Settings {
        let settings = &config.config;
        Settings {
            politeness: Politeness {
                concurrency: settings.per_host_concurrency,
                rate: settings.per_host_rate.fixed(),
                adaptive: (settings.per_host_rate == PerHostRate::Auto).then_some(AutoDelay {
                    factor: settings.delay_factor,
                    min: settings.min_delay,
                    max: settings.max_delay,
                }),
                max_pages_per_host: settings.max_pages_per_host,
                obey_robots: !settings.ignore_robots,
                robots_ttl: settings.robots_ttl,
                max_crawl_delay: settings.max_crawl_delay,
                retries: settings.retries,
                backoff: settings.retry_backoff,
                max_backoff: settings.max_backoff,
                park_after: settings.park_after,
            },
            worker: WorkerSettings {
                max_depth: settings.max_depth,
                max_redirects: settings.max_redirects,
                bodies: settings.bodies,
                robots_agent: config.robots_agent.clone(),
                retries: settings.retries,
                sitemaps: settings.sitemaps,
                follow_nofollow: settings.follow_nofollow,
                requisites: settings.requisites,
                traps: settings.trap_rules(),
                max_links_per_page: settings.max_links_per_page,
                revisit: settings.revisit,
                keep_versions: settings.keep_versions,
                render: config.render.clone(),
            },
            workers: settings.workers,
            max_pages: settings.max_pages,
            max_pages_per_run: settings.max_pages_per_run,
            max_queued_per_host: settings.max_queued_per_host,
            max_sitemap_urls: settings.max_sitemap_urls,
        }
    }
}
