//! [`CrawlerBuilder`]: every setting of [`CrawlConfig`], the seeds and the hooks in
//! one chain, validated once by [`CrawlerBuilder::build`].
//!
//! The builder holds a plain [`CrawlConfig`] (the struct the CLI and its config file
//! fill in too), so there is one list of settings, one set of defaults and one
//! validation, whose errors name the setting as the CLI flag and the config key do.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster_node::join_cluster;
use crate::config::{BodyPolicy, ConfigError, CrawlConfig, HostConfig, PerHostRate};
use crate::crawl::Crawler;
use crate::crawl_error::CrawlError;
use crate::events::DEFAULT_EVENT_CAPACITY;
use crate::hooks::{Hooks, PageHandler, PageSink, UrlFilter};
use crate::priority::UrlScorer;
use crate::render::{RenderMode, RenderResources};
use crate::seeds::{parse_seed, SeedFile};
use crate::url::ScopeMode;

/// The largest event channel: events are held in memory until read.
pub const MAX_EVENT_CAPACITY: usize = 1 << 20;

/// Builds a [`Crawler`]: `Crawler::builder().seed(..).workers(8).build()?`.
///
/// Every setter replaces the value (list settings such as [`CrawlerBuilder::allow`]
/// add one, like their repeatable flags); nothing is checked until `build`.
pub struct CrawlerBuilder {
    config: CrawlConfig,
    seeds: Vec<String>,
    seed_files: Vec<SeedFile>,
    hooks: Hooks,
    event_capacity: usize,
    cluster: Option<crawler_cluster::ClusterConfig>,
}

impl Default for CrawlerBuilder {
    fn default() -> CrawlerBuilder {
        CrawlerBuilder {
            config: CrawlConfig::default(),
            seeds: Vec::new(),
            seed_files: Vec::new(),
            hooks: Hooks::default(),
            event_capacity: DEFAULT_EVENT_CAPACITY,
            cluster: None,
        }
    }
}

/// Setters that store their argument in the field of the same name.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> CrawlerBuilder {
                self.config.$name = value;
                self
            }
        )*
    };
}

/// Setters of optional limits: giving one sets it.
macro_rules! limits {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> CrawlerBuilder {
                self.config.$name = Some(value);
                self
            }
        )*
    };
}

impl CrawlerBuilder {
    /// Starts from a whole configuration (read from a config file, say); later
    /// setters change single fields of it.
    pub fn config(mut self, config: CrawlConfig) -> CrawlerBuilder {
        self.config = config;
        self
    }

    /// Adds a seed URL (any spelling; canonicalized by `build`, which names it if it
    /// is not a crawlable URL).
    pub fn seed(mut self, url: impl Into<String>) -> CrawlerBuilder {
        self.seeds.push(url.into());
        self
    }

    /// Adds seed URLs.
    pub fn seeds<S: Into<String>>(mut self, urls: impl IntoIterator<Item = S>) -> CrawlerBuilder {
        self.seeds.extend(urls.into_iter().map(Into::into));
        self
    }

    /// Adds the seeds of a file, one URL per line, read as the crawl goes rather than
    /// held in memory (see [`SeedFile`]): for a broad crawl's list of a million sites.
    pub fn seed_file(mut self, file: SeedFile) -> CrawlerBuilder {
        self.seed_files.push(file);
        self
    }

    /// Directory of the sled store (created if absent; a store holding a crawl is
    /// continued). `--store`.
    pub fn store(mut self, path: impl Into<PathBuf>) -> CrawlerBuilder {
        self.config.store = path.into();
        self
    }

    /// Requests per second per host, evenly spaced (0 for no limit), or
    /// [`PerHostRate::Auto`]: a delay that follows the host's response time.
    /// `--per-host-rate`.
    pub fn per_host_rate(mut self, rate: impl Into<PerHostRate>) -> CrawlerBuilder {
        self.config.per_host_rate = rate.into();
        self
    }

    setters! {
        /// Worker threads fetching in parallel. `--workers`.
        workers: usize;
        /// Requests in flight at once per host. `--per-host-concurrency`.
        per_host_concurrency: usize;
        /// With an auto rate: the delay is this times the last fetch's duration. `--delay-factor`.
        delay_factor: f64;
        /// With an auto rate: the shortest delay between a host's requests. `--min-delay`.
        min_delay: Duration;
        /// With an auto rate: the longest delay between a host's requests. `--max-delay`.
        max_delay: Duration;
        /// Which hosts the seeds admit. `--scope`.
        scope: ScopeMode;
        /// Total time for one request, body included. `--timeout`.
        timeout: Duration;
        /// Time to open a connection. `--connect-timeout`.
        connect_timeout: Duration;
        /// Largest body in bytes, after decompression. `--max-body`.
        max_body: u64;
        /// Which bodies the store keeps. `--bodies`.
        bodies: BodyPolicy;
        /// Redirect hops followed from one URL. `--max-redirects`.
        max_redirects: u8;
        /// sled's page cache in MiB. `--cache-mb`.
        cache_mb: u64;
        /// Fetch and obey no robots.txt. `--ignore-robots`.
        ignore_robots: bool;
        /// How long a host's robots.txt rules are used before it is fetched again.
        robots_ttl: Duration;
        /// The longest `Crawl-delay` obeyed. `--max-crawl-delay`.
        max_crawl_delay: Duration;
        /// Retries of timeouts, connection errors, 5xx and 429. `--retries`.
        retries: u32;
        /// The first pause of a host after a failure; doubles each time. `--retry-backoff`.
        retry_backoff: Duration;
        /// The longest pause of a host, `Retry-After` included. `--max-backoff`.
        max_backoff: Duration;
        /// Connection failures in a row that park a host. `--park-after`.
        park_after: u32;
        /// Read the `Sitemap` lines of the seed hosts' robots.txt (`--no-sitemaps`: false).
        sitemaps: bool;
        /// Queue `rel="nofollow"` links too. `--follow-nofollow`.
        follow_nofollow: bool;
        /// Also queue what pages embed, on any host (one embed hop). `--requisites`.
        requisites: bool;
        /// Render fetched HTML pages in a headless Chromium, every request of theirs
        /// fetched by the engine; a page handler then also sees the rendered DOM
        /// ([`crate::Page::rendered`]). `--render`.
        render: RenderMode;
        /// Browser tabs rendering at once. `--render-tabs`.
        render_tabs: usize;
        /// A rendering page is settled once none of its requests was pending this long.
        /// `--render-idle`.
        render_idle: Duration;
        /// A rendering page not settled by then is stored as it is. `--render-timeout`.
        render_timeout: Duration;
        /// Whether images, fonts and media of a rendering page are fetched.
        /// `--render-resources`.
        render_resources: RenderResources;
        /// The browser; by default the first of [`crate::render::BROWSER_NAMES`] on
        /// `PATH`. `--chrome`.
        chrome: Option<PathBuf>;
        /// Speak HTTP/1.1 only, not HTTP/2 where a server offers it. `--http1.1`.
        http1_only: bool;
        /// Accept any TLS certificate (self-signed, expired, another name's). `--insecure`.
        insecure: bool;
        /// Longest URL fetched, in bytes. `--max-url-len`.
        max_url_len: usize;
        /// Times a path segment may repeat; 0 for no limit. `--max-repeated-segments`.
        max_segment_repeats: u32;
        /// URLs sitemaps may add per host in a run. `--max-sitemap-urls`.
        max_sitemap_urls: u64;
        /// URLs one host's queue holds at most. `--max-queued-per-host`.
        max_queued_per_host: u64;
    }

    limits! {
        /// Link hops from a seed followed (seeds are 0). `--max-depth`.
        max_depth: u32;
        /// Pages fetched in the whole crawl, earlier runs counted. `--max-pages`.
        max_pages: u64;
        /// Pages fetched in one run. `--max-pages-per-run`.
        max_pages_per_run: u64;
        /// Pages fetched per host in the whole crawl. `--max-pages-per-host`.
        max_pages_per_host: u64;
        /// Bytes to keep free on the store's disk (0: no check). `--min-free-space`.
        min_free_space: u64;
    }

    /// The `User-Agent` header. `--user-agent`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> CrawlerBuilder {
        self.config.user_agent = user_agent.into();
        self
    }

    /// The product token matched against robots.txt `User-agent` lines. `--robots-agent`.
    pub fn robots_agent(mut self, token: impl Into<String>) -> CrawlerBuilder {
        self.config.robots_agent = Some(token.into());
        self
    }

    /// Adds a regular expression a URL must match one of. `--allow`.
    pub fn allow(mut self, pattern: impl Into<String>) -> CrawlerBuilder {
        self.config.allow.push(pattern.into());
        self
    }

    /// Adds a regular expression no URL may match. `--deny`.
    pub fn deny(mut self, pattern: impl Into<String>) -> CrawlerBuilder {
        self.config.deny.push(pattern.into());
        self
    }

    /// Adds a name-to-address override, curl's `HOST:PORT:ADDR`. `--resolve`.
    pub fn resolve(mut self, rule: impl Into<String>) -> CrawlerBuilder {
        self.config.resolve.push(rule.into());
        self
    }

    /// Adds a header to every request, curl's `Name: value` (`Name:` drops an
    /// earlier one of that name); `build` refuses the headers the crawler sets itself. `-H`.
    pub fn header(mut self, header: impl Into<String>) -> CrawlerBuilder {
        self.config.headers.push(header.into());
        self
    }

    /// Sets the headers and credentials of one host (`host` or `host:port`); a
    /// credential's secret is read from the environment variable it names.
    /// `[hosts."HOST"]` in a config file.
    pub fn host(mut self, host: impl Into<String>, settings: HostConfig) -> CrawlerBuilder {
        self.config.hosts.insert(host.into(), settings);
        self
    }

    /// Trusts the root certificates of a PEM file besides the system's. `--cacert`.
    pub fn cacert(mut self, pem_file: impl Into<PathBuf>) -> CrawlerBuilder {
        self.config.cacert.push(pem_file.into());
        self
    }

    /// Adds a proxy to the pool requests go through: `http://`, `https://`,
    /// `socks5://` or `socks5h://`, credentials allowed (kept in memory only, shown
    /// masked). Several form a pool: each host goes through one, and a failing one is
    /// taken out while its hosts move to another (see [`crate::fetch::ProxySetting`]).
    /// `"none"` alone: no proxy, whatever the environment says. Without any, the
    /// environment's (`HTTP_PROXY`, ...) are used. `--proxy`.
    pub fn proxy(mut self, url: impl Into<String>) -> CrawlerBuilder {
        self.config.proxy.push(url.into());
        self
    }

    /// Hosts that go direct, not through a proxy: curl's `--noproxy` list (names with
    /// the names under them, addresses, CIDR networks, `*`); replaces `NO_PROXY`.
    /// `--no-proxy`.
    pub fn no_proxy(mut self, list: impl Into<String>) -> CrawlerBuilder {
        self.config.no_proxy = Some(list.into());
        self
    }

    /// Adds a sitemap to read (its host joins the scope). `--sitemap`.
    pub fn sitemap(mut self, url: impl Into<String>) -> CrawlerBuilder {
        self.config.sitemap_urls.push(url.into());
        self
    }

    /// Keeps a cookie jar (the default): requests carry the cookies responses set,
    /// by RFC 6265's rules, and the jar is kept in the store for a resumed crawl.
    /// `false` is `--no-cookies`.
    pub fn cookies(mut self, keep: bool) -> CrawlerBuilder {
        self.config.no_cookies = !keep;
        self
    }

    /// Loads a Netscape `cookies.txt` (as curl and browsers export) into the jar when
    /// the crawl starts; `build` names the file and line of a bad line. `--cookies`.
    pub fn cookies_file(mut self, path: impl Into<PathBuf>) -> CrawlerBuilder {
        self.config.cookies_file = Some(path.into());
        self
    }

    /// Sees every fetched HTML page (see [`crate::hooks::PageHandler`]).
    pub fn page_handler(mut self, handler: impl PageHandler + 'static) -> CrawlerBuilder {
        self.hooks.handler = Some(Arc::new(handler));
        self
    }

    /// Decides which URLs may enter the frontier (see [`crate::hooks::UrlFilter`]).
    pub fn url_filter(mut self, filter: impl UrlFilter + 'static) -> CrawlerBuilder {
        self.hooks.filter = Some(Arc::new(filter));
        self
    }

    /// Scores every new URL: higher goes first within its host, and hosts with
    /// higher-scored work go first when workers are scarce (see
    /// [`crate::priority`]). Replaces `prefer`/`avoid`.
    pub fn scorer(mut self, scorer: impl UrlScorer + 'static) -> CrawlerBuilder {
        self.hooks.scorer = Some(Arc::new(scorer));
        self
    }

    /// Sends every stored page to `sink` as well as to the store.
    pub fn page_sink(mut self, sink: impl PageSink + 'static) -> CrawlerBuilder {
        self.hooks.sink = Some(Arc::new(sink));
        self.hooks.sink_instead = false;
        self
    }

    /// Sends bodies to `sink` instead of the store: the store keeps each page's
    /// record and outlinks and the frontier (so the crawl can still be queried and
    /// resumed), but no bodies (`body_stored` is false).
    pub fn page_sink_instead(mut self, sink: impl PageSink + 'static) -> CrawlerBuilder {
        self.hooks.sink = Some(Arc::new(sink));
        self.hooks.sink_instead = true;
        self
    }

    /// Events held for the consumer before new ones are dropped (see
    /// [`crate::events`]); default [`DEFAULT_EVENT_CAPACITY`].
    pub fn event_capacity(mut self, capacity: usize) -> CrawlerBuilder {
        self.event_capacity = capacity;
        self
    }

    /// Joins a crawl shared through Redis (see [`crate::cluster`]): the first node
    /// stores the crawl-wide settings ([`crate::SHARED_SETTINGS`]), a later one must
    /// give the same. `build` connects, so an unreachable Redis is its error.
    pub fn cluster(mut self, cluster: crawler_cluster::ClusterConfig) -> CrawlerBuilder {
        self.cluster = Some(cluster);
        self
    }

    /// Checks every setting and seed (the error names the first bad one), then opens
    /// (or creates) the store.
    pub fn build(self) -> Result<Crawler, CrawlError> {
        if !(1..=MAX_EVENT_CAPACITY).contains(&self.event_capacity) {
            return Err(ConfigError {
                setting: "event-capacity",
                reason: format!(
                    "{} is not between 1 and {MAX_EVENT_CAPACITY}",
                    self.event_capacity
                ),
            }
            .into());
        }
        // A seed's userinfo becomes its origin's credentials; the error names the seed
        // with its userinfo masked.
        let mut config = self.config;
        let seeds = self
            .seeds
            .iter()
            .map(|seed| {
                parse_seed(seed, &mut config.credentials).map_err(|e| ConfigError {
                    setting: "seeds",
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let shared = match self.cluster {
            Some(cluster) => {
                config.clone().validate()?;
                let (joined, crawl) = join_cluster(config, cluster, None)?;
                config = joined;
                Some(crawl)
            }
            None => None,
        };
        let config = config.validate()?;
        let mut crawler = Crawler::assemble(config, self.hooks, self.event_capacity)?;
        if let Some(crawl) = shared {
            crawler.in_cluster(crawl);
        }
        crawler.add_seeds(seeds);
        for file in self.seed_files {
            crawler.add_seed_file(file);
        }
        Ok(crawler)
    }
}

impl Crawler {
    /// A builder with the default settings (see [`CrawlerBuilder`]).
    pub fn builder() -> CrawlerBuilder {
        CrawlerBuilder::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(builder: CrawlerBuilder) -> Option<&'static str> {
        match builder.build() {
            Err(CrawlError::Config(error)) => Some(error.setting),
            _ => None,
        }
    }

    #[test]
    fn build_names_the_bad_setting_before_touching_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("never-created");
        let base = || Crawler::builder().store(&store);
        assert_eq!(setting(base().workers(0)), Some("workers"));
        assert_eq!(setting(base().per_host_rate(-2.0)), Some("per-host-rate"));
        assert_eq!(setting(base().deny("(")), Some("deny"));
        assert_eq!(setting(base().max_pages(0)), Some("max-pages"));
        assert_eq!(setting(base().seed("ftp://x.test/")), Some("seeds"));
        assert_eq!(setting(base().event_capacity(0)), Some("event-capacity"));
        assert_eq!(setting(base().proxy("ftp://x")), Some("proxy"));
        assert_eq!(setting(base().no_proxy("a b")), Some("no-proxy"));
        assert!(!store.exists());
    }

    #[test]
    fn setters_land_in_the_shared_config() {
        let builder = Crawler::builder()
            .config(CrawlConfig {
                retries: 7,
                ..CrawlConfig::default()
            })
            .workers(3)
            .max_depth(2)
            .allow("a")
            .allow("b")
            .robots_agent("mybot");
        assert_eq!(builder.config.retries, 7);
        assert_eq!(builder.config.workers, 3);
        assert_eq!(builder.config.max_depth, Some(2));
        assert_eq!(builder.config.allow, ["a", "b"]);
        assert_eq!(builder.config.robots_agent.as_deref(), Some("mybot"));
    }
}
