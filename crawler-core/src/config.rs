//! The one configuration struct of a crawl, shared by the library and the CLI.
//!
//! [`CrawlConfig`] is plain data with defaults; [`CrawlConfig::validate`] checks it
//! once and compiles what needs compiling, with errors that name the setting.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fetch::{
    header, parse_network, read_cookies_file, AddressPolicy, AddressRule, Credentials,
    FetchSettings, FileCookie, HeaderRule, HostCredential, OverrideResolver, PerHost, ProxySetting,
    ResolveRule, SeedHosts,
};
use crate::priority::PreferAvoid;
use crate::render::{find_browser, RenderMode, RenderResources, RenderSettings};
use crate::revisit::RevisitPolicy;
use crate::robots::ProductToken;
use crate::url::{CanonicalUrl, ScopeMode};

/// Which response bodies the store keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyPolicy {
    /// Every body up to the body limit.
    #[default]
    All,
    /// HTML bodies only; other types are stored as metadata.
    Html,
}

impl BodyPolicy {
    /// Every policy.
    pub const ALL: [BodyPolicy; 2] = [BodyPolicy::All, BodyPolicy::Html];

    /// The name used in flags and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyPolicy::All => "all",
            BodyPolicy::Html => "html",
        }
    }
}

impl std::fmt::Display for BodyPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BodyPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<BodyPolicy, String> {
        match s {
            "all" => Ok(BodyPolicy::All),
            "html" => Ok(BodyPolicy::Html),
            other => Err(format!(
                "unknown body policy {other:?} (expected all or html)"
            )),
        }
    }
}

/// How a host's requests are spaced: a fixed rate, or a delay that follows how fast
/// the host answers (`auto`, see [`CrawlConfig::delay_factor`]).
///
/// Stored as a number (requests per second) or the text `"auto"`, so the settings of
/// crawls stored before `auto` existed read back unchanged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PerHostRate {
    /// Requests per second, evenly spaced; 0 means no limit.
    PerSecond(f64),
    /// Wait `delay_factor` times the last fetch's duration, within `min_delay` and
    /// `max_delay`; longer after 429, 503 and timeouts.
    Auto,
}

impl PerHostRate {
    /// The fixed rate, 0 (no limit) in auto mode, where delays space the requests.
    pub fn fixed(self) -> f64 {
        match self {
            PerHostRate::PerSecond(rate) => rate,
            PerHostRate::Auto => 0.0,
        }
    }
}

impl From<f64> for PerHostRate {
    fn from(rate: f64) -> PerHostRate {
        PerHostRate::PerSecond(rate)
    }
}

impl std::fmt::Display for PerHostRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PerHostRate::PerSecond(rate) => write!(f, "{rate}"),
            PerHostRate::Auto => f.write_str("auto"),
        }
    }
}

impl std::str::FromStr for PerHostRate {
    type Err = String;
    fn from_str(text: &str) -> Result<PerHostRate, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("auto") {
            return Ok(PerHostRate::Auto);
        }
        text.parse::<f64>()
            .map(PerHostRate::PerSecond)
            .map_err(|_| format!("{text:?} is neither a number of requests per second nor auto"))
    }
}

impl Serialize for PerHostRate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PerHostRate::PerSecond(rate) => s.serialize_f64(*rate),
            PerHostRate::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for PerHostRate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PerHostRate, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Number(f64),
            Text(String),
        }
        match Stored::deserialize(d)? {
            Stored::Number(rate) => Ok(PerHostRate::PerSecond(rate)),
            Stored::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Every setting of a crawl. `Default` gives the documented defaults.
///
/// It serializes to JSON (the store keeps the first run's settings, so that a resumed
/// crawl runs as it started) and reads back with defaults for any field missing.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct CrawlConfig {
    /// Directory of the sled store (created if absent).
    pub store: PathBuf,
    /// Worker threads fetching in parallel.
    pub workers: usize,
    /// Requests in flight at once to one host (scheme + host + port).
    pub per_host_concurrency: usize,
    /// Requests per second to one host, evenly spaced (0 means no limit), or `auto`:
    /// a delay that follows the host's response time.
    pub per_host_rate: PerHostRate,
    /// With `per_host_rate` auto: a host's delay is this times its last fetch's
    /// duration (body included), within `min_delay` and `max_delay`.
    pub delay_factor: f64,
    /// With `per_host_rate` auto: the shortest delay between a host's requests.
    pub min_delay: Duration,
    /// With `per_host_rate` auto: the longest delay, however slow or overloaded the host.
    pub max_delay: Duration,
    /// Which hosts the seeds admit.
    #[serde(serialize_with = "display", deserialize_with = "from_str")]
    pub scope: ScopeMode,
    /// Regular expressions a URL must match one of (when any are given).
    pub allow: Vec<String>,
    /// Regular expressions no URL may match.
    pub deny: Vec<String>,
    /// Regular expressions of URLs that go first within their host, the first
    /// strongest (see [`crate::priority::PreferAvoid`]).
    pub prefer: Vec<String>,
    /// Regular expressions of URLs that go last within their host.
    pub avoid: Vec<String>,
    /// Links kept of one page at most (in source order; the rest are recorded as
    /// `parse-limited`).
    pub max_links_per_page: usize,
    /// Links deeper than this are not followed (seeds are depth 0).
    pub max_depth: Option<u32>,
    /// Pages fetched in the whole crawl at most, its earlier runs' stored pages
    /// counted: a budget of the crawl, not of one run.
    pub max_pages: Option<u64>,
    /// Pages one run fetches at most (the crawl's budget, `max_pages`, still holds).
    pub max_pages_per_run: Option<u64>,
    /// Pages fetched per host in the whole crawl at most, earlier runs counted.
    pub max_pages_per_host: Option<u64>,
    /// URLs sitemaps may add to one host's queue in a run; the rest are counted as
    /// `budget-exceeded` on the sitemap's record, not queued.
    pub max_sitemap_urls: u64,
    /// URLs one host's queue holds at most; links beyond are counted as
    /// `budget-exceeded` on the page that had them, not queued.
    pub max_queued_per_host: u64,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Total time allowed for one request, body included.
    pub timeout: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Largest body accepted, counted on decompressed bytes.
    pub max_body: u64,
    /// Which bodies are stored.
    pub bodies: BodyPolicy,
    /// Redirect hops followed from one URL before giving up.
    pub max_redirects: u8,
    /// Name-to-address overrides, curl's `HOST:PORT:ADDR` syntax.
    pub resolve: Vec<String>,
    /// Networks (CIDR, or one address) requests may connect to whatever the built-in
    /// address rules say (see `crate::fetch::AddressPolicy`).
    pub allow_address: Vec<String>,
    /// Networks (CIDR, or one address) requests never connect to. Of an allowed and a
    /// denied network that both hold an address, the more specific decides; deny wins
    /// between two of one length.
    pub deny_address: Vec<String>,
    /// sled's page cache in MiB.
    pub cache_mb: u64,
    /// Bytes to keep free on the store's filesystem: the crawl stops (resumable) when
    /// less is free. `None`: 1% of the filesystem, at most 100 MiB; `Some(0)`: no check.
    pub min_free_space: Option<u64>,
    /// Skip robots.txt entirely (fetch nothing of it, obey none of it).
    pub ignore_robots: bool,
    /// The product token looked for in robots.txt `User-agent` lines; `None` derives it
    /// from `user_agent` (`crawler/0.1.0` gives `crawler`).
    pub robots_agent: Option<String>,
    /// How long a host's robots.txt rules are used before it is fetched again.
    pub robots_ttl: Duration,
    /// The longest `Crawl-delay` obeyed; a longer one is cut to this (and reported).
    pub max_crawl_delay: Duration,
    /// Retries of a fetch that timed out, failed to connect, or got a 5xx or 429.
    pub retries: u32,
    /// The first backoff pause of a host after a failure; it doubles with each further one.
    pub retry_backoff: Duration,
    /// The longest pause of a host, `Retry-After` included.
    pub max_backoff: Duration,
    /// Connection failures in a row after which a host is parked: its queue is
    /// recorded as `host-unreachable` and dropped.
    pub park_after: u32,
    /// Read the `Sitemap` lines of the seed hosts' robots.txt.
    pub sitemaps: bool,
    /// Sitemaps to read whatever robots.txt says (`--sitemap`); their hosts join the scope.
    pub sitemap_urls: Vec<String>,
    /// Queue `rel="nofollow"` links too.
    pub follow_nofollow: bool,
    /// Also queue what stored pages embed (images, stylesheets, scripts, media, fonts),
    /// on any host, one embed hop outside the scope (see [`crate::worker`]'s page
    /// module and the README's "Page requisites").
    pub requisites: bool,
    /// Longest canonical URL fetched, in bytes; longer ones are recorded as
    /// `trap-suspected` (see [`crate::traps`]).
    pub max_url_len: usize,
    /// Times one path segment may appear in a URL's path before it is recorded as
    /// `trap-suspected`; 0 for no limit.
    pub max_segment_repeats: u32,
    /// Which fetched pages are rendered in a headless browser (`--render`; see
    /// [`crate::render`]): their links are then read from the rendered DOM too.
    pub render: RenderMode,
    /// Browser tabs rendering at once, each driven by a thread of its own.
    pub render_tabs: usize,
    /// A rendering page is settled once none of its requests was pending this long.
    pub render_idle: Duration,
    /// A rendering page not settled by then is taken as it is (`render-timeout`).
    pub render_timeout: Duration,
    /// What a rendering page's images, fonts and media get: an empty answer
    /// (`needed`), or a fetch like any other request (`all`).
    pub render_resources: RenderResources,
    /// The browser (`--chrome`); by default the first of
    /// [`crate::render::BROWSER_NAMES`] on `PATH`. Not stored: it is this machine's.
    #[serde(skip)]
    pub chrome: Option<PathBuf>,
    /// Basic credentials by origin, sent with every request to that origin: what
    /// seed URLs' userinfo becomes ([`crate::parse_seed`]). Never stored with the
    /// crawl's settings, so a resumed crawl needs them given again.
    #[serde(skip)]
    pub credentials: Credentials,
    /// Headers sent with every request, curl's `Name: value` (`Name:` drops an
    /// earlier one of that name). Some are refused (see `crate::fetch::HeaderError`).
    pub headers: Vec<String>,
    /// Settings of single hosts, by `host` or `host:port`: headers and credentials.
    pub hosts: BTreeMap<String, HostConfig>,
    /// Speak HTTP/1.1 only; otherwise HTTP/2 where an HTTPS server offers it.
    pub http1_only: bool,
    /// Accept any TLS certificate (self-signed, expired, for another name).
    pub insecure: bool,
    /// PEM files of root certificates trusted besides the system's.
    pub cacert: Vec<PathBuf>,
    /// Keep no cookie jar: send no `Cookie`, take no `Set-Cookie`. By default a crawl
    /// keeps one jar, in the store, so a resumed crawl keeps its sessions.
    pub no_cookies: bool,
    /// A Netscape `cookies.txt` loaded into the jar when the run starts (over the
    /// cookies of the same name, domain and path the jar holds). Not stored with the
    /// settings: its cookies are kept in the jar, and a resumed crawl that gives the
    /// file again loads it again.
    #[serde(skip)]
    pub cookies_file: Option<PathBuf>,
    /// Proxies requests go through, as a pool (each host through one of them): URLs
    /// with a scheme of [`crate::fetch::PROXY_SCHEMES`], credentials allowed; or
    /// `["none"]` for no proxy at all. Empty: the environment's (`HTTP_PROXY`,
    /// `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`). Never stored with the crawl's
    /// settings (they may hold credentials): a resumed crawl needs them given again.
    #[serde(skip)]
    pub proxy: Vec<String>,
    /// Hosts that go direct, in curl's `--noproxy` syntax (`.example.com,10.0.0.0/8`,
    /// `*` for all); it replaces `NO_PROXY`. Not stored, like `proxy`.
    #[serde(skip)]
    pub no_proxy: Option<String>,
    /// When stored URLs are due again ([`crate::revisit`]): what
    /// [`crate::Crawler::queue_revisits`] queues, and how a revisit sets a URL's own
    /// interval (adaptive). `None`: a run fetches what is queued, as a first crawl.
    pub revisit: Option<RevisitPolicy>,
    /// Bodies a revisited URL keeps: the current one and up to `keep_versions - 1`
    /// earlier ones (at least 1).
    pub keep_versions: u32,
}

/// The settings of one host (`[hosts."HOST"]` in a config file).
///
/// A secret is never a setting: a credential names the environment variable that
/// holds it, read when the crawl starts (and again when it resumes), so the stored
/// settings hold no secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HostConfig {
    /// Headers sent to this host, after the crawl's own.
    pub headers: BTreeMap<String, String>,
    /// Basic credentials sent to this host.
    pub basic_auth: Option<BasicAuthConfig>,
    /// The environment variable holding a bearer token sent to this host.
    pub bearer_env: Option<String>,
}

/// `basic-auth = { user = "...", password-env = "VAR" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BasicAuthConfig {
    /// The user name.
    pub user: String,
    /// The environment variable holding the password.
    pub password_env: String,
}

/// URLs sitemaps may add per host by default: what one sitemap file may list (the
/// protocol's limit), so a site's one full sitemap is read whole, and an index of
/// thousands of them is not.
pub const DEFAULT_MAX_SITEMAP_URLS: u64 = 50_000;

/// URLs a host's queue holds at most by default: a million queue entries are about
/// 170 MB of store, and no crawl at a polite rate gets through them in days.
pub const DEFAULT_MAX_QUEUED_PER_HOST: u64 = 1_000_000;

/// The default `delay_factor`, Heritrix's: with one request at a time, a host spends
/// at most a sixth of one connection's time on the crawl.
pub const DEFAULT_DELAY_FACTOR: f64 = 5.0;

/// The largest `delay_factor`: past it the delay is `max_delay` for any real host.
pub const MAX_DELAY_FACTOR: f64 = 1000.0;

/// The default `User-Agent`: the crawler's name and version.
pub const DEFAULT_USER_AGENT: &str = concat!("crawler/", env!("CARGO_PKG_VERSION"));

impl Default for CrawlConfig {
    fn default() -> CrawlConfig {
        CrawlConfig {
            store: PathBuf::from("crawl.store"),
            workers: 16,
            per_host_concurrency: 1,
            per_host_rate: PerHostRate::PerSecond(2.0),
            delay_factor: DEFAULT_DELAY_FACTOR,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            scope: ScopeMode::Host,
            allow: Vec::new(),
            prefer: Vec::new(),
            avoid: Vec::new(),
            max_links_per_page: crate::extract::DEFAULT_MAX_LINKS_PER_PAGE,
            deny: Vec::new(),
            max_depth: None,
            max_pages: None,
            max_pages_per_run: None,
            max_pages_per_host: None,
            max_sitemap_urls: DEFAULT_MAX_SITEMAP_URLS,
            max_queued_per_host: DEFAULT_MAX_QUEUED_PER_HOST,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body: 10 * 1024 * 1024,
            bodies: BodyPolicy::All,
            max_redirects: 10,
            resolve: Vec::new(),
            allow_address: Vec::new(),
            deny_address: Vec::new(),
            cache_mb: 256,
            min_free_space: None,
            ignore_robots: false,
            robots_agent: None,
            robots_ttl: Duration::from_secs(24 * 3600),
            max_crawl_delay: Duration::from_secs(30),
            retries: 2,
            retry_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            park_after: 10,
            sitemaps: true,
            sitemap_urls: Vec::new(),
            follow_nofollow: false,
            requisites: false,
            render: RenderMode::Off,
            render_tabs: 2,
            render_idle: Duration::from_millis(500),
            render_timeout: Duration::from_secs(15),
            render_resources: RenderResources::Needed,
            chrome: None,
            max_url_len: 2048,
            max_segment_repeats: 3,
            credentials: Credentials::default(),
            headers: Vec::new(),
            hosts: BTreeMap::new(),
            http1_only: false,
            insecure: false,
            cacert: Vec::new(),
            no_cookies: false,
            cookies_file: None,
            proxy: Vec::new(),
            no_proxy: None,
            revisit: None,
            keep_versions: 1,
        }
    }
}

/// A setting with a value the crawl cannot run with.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    /// The setting's name as the CLI spells it (`per-host-rate`, ...).
    pub setting: &'static str,
    /// Why the value is refused.
    pub reason: String,
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

/// A validated configuration with its regexes and resolve rules compiled.
#[derive(Clone, Debug)]
pub struct ValidConfig {
    /// The settings as given.
    pub config: CrawlConfig,
    /// The compiled `allow` patterns.
    pub allow: Vec<regex::Regex>,
    /// The compiled `deny` patterns.
    pub deny: Vec<regex::Regex>,
    /// The compiled `prefer` and `avoid` patterns.
    pub prefer_avoid: PreferAvoid,
    /// The parsed `resolve` rules.
    pub resolve: Vec<ResolveRule>,
    /// The parsed `allow_address` and `deny_address` networks.
    pub address_rules: Vec<AddressRule>,
    /// The robots.txt product token, given or derived.
    pub robots_agent: ProductToken,
    /// The parsed `sitemap` URLs.
    pub sitemap_urls: Vec<CanonicalUrl>,
    /// The parsed `headers`.
    pub headers: Vec<HeaderRule>,
    /// The parsed headers of `hosts`.
    pub host_headers: PerHost<Vec<HeaderRule>>,
    /// The credentials of `hosts`, their secrets read from the environment.
    pub host_credentials: Credentials,
    /// The certificates of `cacert`.
    pub root_certificates: Vec<reqwest::Certificate>,
    /// The cookies of `cookies_file`, read and checked.
    pub file_cookies: Vec<FileCookie>,
    /// The parsed `proxy` and `no_proxy`.
    pub proxy: ProxySetting,
    /// The rendering asked for, with the browser found (`None`: no rendering).
    pub render: Option<RenderSettings>,
}

impl CrawlConfig {
    /// Checks every setting; the error names the first bad one.
    pub fn validate(self) -> Result<ValidConfig, ConfigError> {
        self.check_each_setting()?;
        let robots_agent = match &self.robots_agent {
            Some(token) => {
                ProductToken::parse(token).map_err(|e| invalid("robots-agent", e.to_string()))?
            }
            None => ProductToken::from_user_agent(&self.user_agent).ok_or_else(|| {
                invalid(
                    "robots-agent",
                    format!(
                        "cannot derive a product token from the user agent {:?}; give one",
                        self.user_agent
                    ),
                )
            })?,
        };
        if self.min_delay > self.max_delay {
            let setting = if self.max_delay == CrawlConfig::default().max_delay {
                "min-delay"
            } else {
                "max-delay"
            };
            return Err(invalid(
                setting,
                format!(
                    "min-delay ({}) is longer than max-delay ({}); lengthen max-delay or shorten min-delay",
                    seconds_text(self.min_delay),
                    seconds_text(self.max_delay)
                ),
            ));
        }
        if self.retry_backoff > self.max_backoff {
            // Name the one that moved from its default: that is the one typed.
            let setting = if self.max_backoff == CrawlConfig::default().max_backoff {
                "retry-backoff"
            } else {
                "max-backoff"
            };
            return Err(invalid(
                setting,
                format!(
                    "retry-backoff (the first pause, {}) is longer than max-backoff (the longest pause, {}); lengthen max-backoff or shorten retry-backoff",
                    seconds_text(self.retry_backoff),
                    seconds_text(self.max_backoff)
                ),
            ));
        }
        let sitemap_urls = self
            .sitemap_urls
            .iter()
            .map(|url| CanonicalUrl::parse(url).map_err(|e| invalid("sitemap", e.to_string())))
            .collect::<Result<_, _>>()?;
        let proxy = ProxySetting::parse(&self.proxy, self.no_proxy.as_deref())
            .map_err(|e| invalid(e.setting(), e.to_string()))?;
        let allow = compile_all("allow", &self.allow)?;
        let deny = compile_all("deny", &self.deny)?;
        if self.prefer.len() > usize::from(i8::MAX.unsigned_abs()) {
            return Err(invalid(
                "prefer",
                format!("{} patterns; at most 127 are ranked", self.prefer.len()),
            ));
        }
        let prefer_avoid = PreferAvoid::new(
            compile_all("prefer", &self.prefer)?,
            compile_all("avoid", &self.avoid)?,
        );
        let resolve = self
            .resolve
            .iter()
            .map(|rule| {
                rule.parse::<ResolveRule>()
                    .map_err(|e| invalid("resolve", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let address_rules = address_rules("allow-address", &self.allow_address, true)?
            .into_iter()
            .chain(address_rules("deny-address", &self.deny_address, false)?)
            .collect();
        let headers = self
            .headers
            .iter()
            .map(|rule| {
                rule.parse::<HeaderRule>()
                    .map_err(|e| invalid("header", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let (host_headers, host_credentials) = hosts_settings(&self.hosts, env_var)?;
        let root_certificates = self
            .cacert
            .iter()
            .map(read_root_certificates)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        let file_cookies = match &self.cookies_file {
            Some(_) if self.no_cookies => {
                return Err(invalid(
                    "cookies",
                    "a cookies file goes into the cookie jar that no-cookies turns off; give one of them",
                ))
            }
            Some(path) => read_cookies_file(path).map_err(|e| invalid("cookies", e.to_string()))?,
            None => Vec::new(),
        };
        let render = self.render_settings()?;
        Ok(ValidConfig {
            config: self,
            allow,
            deny,
            prefer_avoid,
            resolve,
            address_rules,
            robots_agent,
            sitemap_urls,
            headers,
            host_headers,
            host_credentials,
            root_certificates,
            file_cookies,
            proxy,
            render,
        })
    }

    /// The rendering asked for, its browser found: one missing is an error that says
    /// what to install.
    fn render_settings(&self) -> Result<Option<RenderSettings>, ConfigError> {
        if self.render == RenderMode::Off {
            return Ok(None);
        }
        if !cfg!(feature = "render") {
            return Err(invalid(
                "render",
                "this crawler was built without rendering (the `render` feature)",
            ));
        }
        let setting = if self.chrome.is_some() {
            "chrome"
        } else {
            "render"
        };
        let chrome = find_browser(self.chrome.as_deref()).map_err(|e| invalid(setting, e))?;
        Ok(Some(RenderSettings {
            chrome,
            tabs: self.render_tabs,
            idle: self.render_idle,
            timeout: self.render_timeout,
            resources: self.render_resources,
            auto: self.render == RenderMode::Auto,
        }))
    }
}

impl ValidConfig {
    /// What fetching needs of these settings, for a crawl of `seeds`: a seed on a
    /// loopback or private address lets the crawl connect to that class of addresses
    /// (see `crate::fetch::AddressPolicy`; nothing is looked up here).
    pub fn fetch_settings(&self, seeds: &[CanonicalUrl]) -> FetchSettings {
        let mut hosts = SeedHosts::default();
        let resolver = self.seed_resolver();
        for seed in seeds {
            hosts.add(seed, &resolver);
        }
        self.fetch_settings_from(hosts, self.config.credentials.clone())
    }

    /// The resolver that tells which seeds `--resolve` maps to an address.
    pub fn seed_resolver(&self) -> OverrideResolver {
        OverrideResolver::new(self.resolve.clone())
    }

    /// [`ValidConfig::fetch_settings`], of seeds taken in one at a time.
    pub fn fetch_settings_from(&self, hosts: SeedHosts, credentials: Credentials) -> FetchSettings {
        let config = &self.config;
        let credentials = credentials.with_hosts_of(&self.host_credentials);
        let (seed_addresses, seed_names) = hosts.into_parts();
        let addresses = AddressPolicy::new(self.address_rules.clone(), seed_addresses)
            .with_seed_names(seed_names);
        FetchSettings {
            user_agent: config.user_agent.clone(),
            timeout: config.timeout,
            connect_timeout: config.connect_timeout,
            max_body: config.max_body,
            idle_per_host: config.per_host_concurrency,
            resolve: self.resolve.clone(),
            credentials,
            addresses,
            headers: self.headers.clone(),
            host_headers: self.host_headers.clone(),
            http1_only: config.http1_only,
            insecure: config.insecure,
            root_certificates: self.root_certificates.clone(),
            cookies: None,
            proxy: self.proxy.clone(),
        }
    }
}

/// The headers and credentials of `hosts`, the secrets looked up with `var`.
fn hosts_settings(
    hosts: &BTreeMap<String, HostConfig>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(PerHost<Vec<HeaderRule>>, Credentials), ConfigError> {
    let mut headers = PerHost::default();
    let mut credentials = Credentials::default();
    for (key, host) in hosts {
        let bad = |what: &str, why: String| invalid("hosts", format!("{key:?}: {what}{why}"));
        let rules = host
            .headers
            .iter()
            .map(|(name, value)| header(name, Some(value)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("headers: ", e.to_string()))?;
        headers
            .insert(key, rules)
            .map_err(|e| bad("", e.to_string()))?;
        let secret = |variable: &str, what: &str| {
            var(variable)
                .filter(|value| !value.is_empty())
                .ok_or_else(|| {
                    bad(
                        what,
                        format!(": the environment variable {variable} is not set (or empty)"),
                    )
                })
        };
        let credential = match (&host.basic_auth, &host.bearer_env) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "",
                    "give basic-auth or bearer-env, not both".to_owned(),
                ))
            }
            (Some(basic), None) => Some(HostCredential::Basic {
                user: basic.user.clone(),
                password: secret(&basic.password_env, "basic-auth")?,
            }),
            (None, Some(variable)) => Some(HostCredential::Bearer(secret(variable, "bearer-env")?)),
            (None, None) => None,
        };
        if let Some(credential) = credential {
            credentials
                .add_host(key, credential)
                .map_err(|e| bad("", e.to_string()))?;
        }
    }
    Ok((headers, credentials))
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The certificates of a `cacert` PEM file; an error names the file.
fn read_root_certificates(path: &PathBuf) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| invalid("cacert", format!("{shown}: {e}")))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| invalid("cacert", format!("{shown}: not PEM certificates: {e}")))?;
    if certificates.is_empty() {
        return Err(invalid(
            "cacert",
            format!("{shown}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        ));
    }
    Ok(certificates)
}

/// The longest duration any setting takes: past it a value is a typo, and instants
/// that far away overflow.
pub const MAX_SETTING_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The largest body limit: bodies are held in memory, one per worker.
pub const MAX_BODY_LIMIT: u64 = 1 << 30;

impl CrawlConfig {
    /// The checks of each setting on its own (no setting compared with another): every
    /// number lies in the range where it means something, within the crawl's memory
    /// and arithmetic, or is refused naming the setting. [`CrawlConfig::validate`]
    /// runs these first; a caller that merges settings from several places (the CLI
    /// resuming a stored crawl) runs them on each part, so a bad value is blamed on
    /// where it came from.
    pub fn check_each_setting(&self) -> Result<(), ConfigError> {
        for bound in self.whole_number_bounds() {
            bound.check()?;
        }
        let durations = [
            ("timeout", self.timeout, true),
            ("connect-timeout", self.connect_timeout, true),
            ("max-crawl-delay", self.max_crawl_delay, false),
            ("retry-backoff", self.retry_backoff, false),
            ("max-backoff", self.max_backoff, false),
            ("robots-ttl", self.robots_ttl, true),
            ("min-delay", self.min_delay, false),
            ("max-delay", self.max_delay, true),
            ("render-idle", self.render_idle, true),
            ("render-timeout", self.render_timeout, true),
        ];
        let revisit = match self.revisit {
            Some(RevisitPolicy::Fixed { after }) => vec![("revisit-after", after, false)],
            Some(RevisitPolicy::Adaptive { initial, min, max }) => vec![
                ("revisit-after", initial, false),
                ("revisit-min", min, true),
                ("revisit-max", max, true),
            ],
            None => Vec::new(),
        };
        if let Some(RevisitPolicy::Adaptive { min, max, .. }) = self.revisit {
            if min > max {
                return Err(invalid(
                    "revisit-min",
                    format!(
                        "{} is longer than --revisit-max {}",
                        seconds_text(min),
                        seconds_text(max)
                    ),
                ));
            }
        }
        let durations = durations.into_iter().chain(revisit);
        for (setting, duration, positive) in durations {
            if duration > MAX_SETTING_DURATION {
                return Err(invalid(
                    setting,
                    format!("{} is longer than a year", seconds_text(duration)),
                ));
            }
            if positive && duration.is_zero() {
                return Err(invalid(setting, "must be more than 0 seconds"));
            }
        }
        let factor = self.delay_factor;
        if !factor.is_finite() || !(0.0..=MAX_DELAY_FACTOR).contains(&factor) {
            return Err(invalid(
                "delay-factor",
                format!("{factor} is not a number between 0 and {MAX_DELAY_FACTOR} (a host's delay is this times its last fetch's duration)"),
            ));
        }
        let rate = self.per_host_rate.fixed();
        if !rate.is_finite() || rate < 0.0 {
            return Err(invalid(
                "per-host-rate",
                format!("{rate} is not a number of requests per second >= 0 (0 means no limit)"),
            ));
        }
        if rate > 1e6 {
            return Err(invalid(
                "per-host-rate",
                format!("{rate} is above a million requests per second (0 means no limit)"),
            ));
        }
        if rate > 0.0 && rate < 1e-6 {
            return Err(invalid("per-host-rate", "below one request per 11 days"));
        }
        if self.user_agent.trim().is_empty()
            || reqwest::header::HeaderValue::from_str(&self.user_agent).is_err()
        {
            return Err(invalid(
                "user-agent",
                format!("{:?} is not a valid header value", self.user_agent),
            ));
        }
        if self.store.as_os_str().is_empty() {
            return Err(invalid("store", "empty path"));
        }
        Ok(())
    }

    /// Every whole-number setting with the values it may take.
    fn whole_number_bounds(&self) -> [Bound; 16] {
        let widen = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let unlimited = "; leave it out for no limit";
        [
            Bound::new("keep-versions", u64::from(self.keep_versions), 1, 100)
                .note(" (the current body and up to 99 earlier ones)"),
            Bound::new("workers", widen(self.workers), 1, 4096),
            Bound::new("render-tabs", widen(self.render_tabs), 1, 64),
            Bound::new(
                "per-host-concurrency",
                widen(self.per_host_concurrency),
                1,
                4096,
            ),
            Bound::new("max-pages", self.max_pages.unwrap_or(1), 1, u64::MAX).note(unlimited),
            Bound::new(
                "max-pages-per-run",
                self.max_pages_per_run.unwrap_or(1),
                1,
                u64::MAX,
            )
            .note(unlimited),
            Bound::new(
                "max-pages-per-host",
                self.max_pages_per_host.unwrap_or(1),
                1,
                u64::MAX,
            )
            .note(unlimited),
            Bound::new("max-sitemap-urls", self.max_sitemap_urls, 1, u64::MAX)
                .note("; --no-sitemaps reads none"),
            Bound::new("max-queued-per-host", self.max_queued_per_host, 1, u64::MAX),
            Bound::new("max-body", self.max_body, 1, MAX_BODY_LIMIT)
                .note(" bytes (bodies are held in memory)"),
            Bound::new("max-redirects", u64::from(self.max_redirects), 0, 100),
            Bound::new(
                "max-links-per-page",
                widen(self.max_links_per_page),
                1,
                widen(crate::extract::MAX_LINKS_PER_PAGE_LIMIT),
            ),
            Bound::new("cache-mb", self.cache_mb, 1, 1 << 20).note(" MiB"),
            Bound::new("retries", u64::from(self.retries), 0, 100),
            Bound::new("park-after", u64::from(self.park_after), 1, u64::MAX),
            Bound::new(
                "max-url-len",
                widen(self.max_url_len),
                64,
                widen(crate::url::MAX_URL_LEN),
            ),
        ]
    }

    /// The trap rules these settings ask for.
    pub fn trap_rules(&self) -> crate::traps::TrapRules {
        crate::traps::TrapRules {
            max_url_len: self.max_url_len,
            max_segment_repeats: self.max_segment_repeats,
        }
    }
}

/// A whole-number setting and the inclusive range it must lie in.
struct Bound {
    setting: &'static str,
    value: u64,
    min: u64,
    max: u64,
    note: &'static str,
}

impl Bound {
    fn new(setting: &'static str, value: u64, min: u64, max: u64) -> Bound {
        Bound {
            setting,
            value,
            min,
            max,
            note: "",
        }
    }

    /// Said after the range (a unit, or what leaving the setting out means).
    fn note(self, note: &'static str) -> Bound {
        Bound { note, ..self }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let Bound {
            value, min, max, ..
        } = *self;
        if (min..=max).contains(&value) {
            return Ok(());
        }
        let reason = if max == u64::MAX {
            format!(
                "{value} is below {min}: must be at least {min}{}",
                self.note
            )
        } else {
            format!("{value} is not between {min} and {max}{}", self.note)
        };
        Err(invalid(self.setting, reason))
    }
}

/// `30s`, `1.5s`, `0s`: a duration as the settings read it.
fn seconds_text(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

fn address_rules(
    setting: &'static str,
    networks: &[String],
    allow: bool,
) -> Result<Vec<AddressRule>, ConfigError> {
    networks
        .iter()
        .map(|net| {
            let net = parse_network(net).map_err(|e| invalid(setting, e.to_string()))?;
            Ok(AddressRule { net, allow })
        })
        .collect()
}

fn compile_all(
    setting: &'static str,
    patterns: &[String],
) -> Result<Vec<regex::Regex>, ConfigError> {
    patterns
        .iter()
        .map(|p| regex::Regex::new(p).map_err(|e| invalid(setting, format!("{p:?}: {e}"))))
        .collect()
}

fn from_str<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
    D: serde::Deserializer<'de>,
{
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn display<T: std::fmt::Display, S: serde::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_round_trip_through_json() {
        let config = CrawlConfig {
            per_host_rate: PerHostRate::Auto,
            scope: ScopeMode::Domain,
            timeout: Duration::from_millis(1500),
            deny: vec!["x".into()],
            ..CrawlConfig::default()
        };
        let json = serde_json::to_value(&config).unwrap();
        let back: CrawlConfig = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        let sparse: CrawlConfig = serde_json::from_str(r#"{"workers": 3}"#).unwrap();
        assert_eq!(sparse.workers, 3);
        assert_eq!(sparse.per_host_rate, CrawlConfig::default().per_host_rate);
        // auto is stored as text; a rate stored before auto existed reads back as it was.
        assert_eq!(json["per_host_rate"], "auto");
        let old: CrawlConfig = serde_json::from_str(r#"{"per_host_rate": 5.0}"#).unwrap();
        assert_eq!(old.per_host_rate, PerHostRate::PerSecond(5.0));
        assert!(serde_json::from_str::<CrawlConfig>(r#"{"per_host_rate": "fast"}"#).is_err());
    }

    #[test]
    fn bad_delay_settings_are_refused_naming_the_setting() {
        let check = |config: CrawlConfig| config.validate().err().map(|e| e.setting);
        let auto = || CrawlConfig {
            per_host_rate: PerHostRate::Auto,
            ..CrawlConfig::default()
        };
        assert_eq!(check(auto()), None);
        for factor in [-1.0, f64::NAN, f64::INFINITY, 1e4] {
            let config = CrawlConfig {
                delay_factor: factor,
                ..auto()
            };
            assert_eq!(check(config), Some("delay-factor"), "{factor}");
        }
        let min_over_max = CrawlConfig {
            min_delay: Duration::from_secs(60),
            ..auto()
        };
        assert_eq!(check(min_over_max), Some("min-delay"));
        let max_under_min = CrawlConfig {
            max_delay: Duration::from_millis(100),
            ..auto()
        };
        assert_eq!(check(max_under_min), Some("max-delay"));
        let zero_max = CrawlConfig {
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..auto()
        };
        assert_eq!(check(zero_max), Some("max-delay"));
        assert_eq!("auto".parse(), Ok(PerHostRate::Auto));
        assert_eq!("2.5".parse(), Ok(PerHostRate::PerSecond(2.5)));
        assert!("soon".parse::<PerHostRate>().unwrap_err().contains("soon"));
    }

    #[test]
    fn a_cookies_file_is_read_at_validation_and_its_bad_line_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cookies.txt");
        std::fs::write(&file, "a.test\tFALSE\t/\tFALSE\t0\tsid\tabc\n").unwrap();
        let with = |no_cookies| CrawlConfig {
            cookies_file: Some(file.clone()),
            no_cookies,
            ..CrawlConfig::default()
        };
        assert_eq!(with(false).validate().unwrap().file_cookies.len(), 1);
        assert_eq!(with(true).validate().unwrap_err().setting, "cookies");
        std::fs::write(&file, "# comment\na.test\tmaybe\t/\tFALSE\t0\tsid\tabc\n").unwrap();
        let error = with(false).validate().unwrap_err();
        assert_eq!(error.setting, "cookies");
        assert!(error.reason.contains("cookies.txt:2: "), "{}", error.reason);
        // The file is not a stored setting: a resumed crawl loads it only if given.
        let json = serde_json::to_value(with(false)).unwrap();
        assert!(json.get("cookies_file").is_none() && json["no_cookies"] == false);
    }

    #[test]
    fn defaults_are_valid() {
        let valid = CrawlConfig::default().validate().unwrap();
        assert_eq!(valid.robots_agent.as_str(), "crawler");
    }

    #[test]
    fn out_of_bounds_values_name_the_setting() {
        let bad = |config: CrawlConfig| config.validate().err().map(|e| e.setting);
        let d = CrawlConfig::default;
        let ages = Duration::from_secs(1 << 40);
        assert_eq!(
            bad(CrawlConfig {
                timeout: ages,
                ..d()
            }),
            Some("timeout")
        );
        assert_eq!(
            bad(CrawlConfig {
                max_backoff: ages,
                ..d()
            }),
            Some("max-backoff")
        );
        assert_eq!(
            bad(CrawlConfig {
                max_body: 2 << 30,
                ..d()
            }),
            Some("max-body")
        );
        assert_eq!(
            bad(CrawlConfig {
                max_pages: Some(0),
                ..d()
            }),
            Some("max-pages")
        );
        assert_eq!(
            bad(CrawlConfig {
                max_url_len: 10,
                ..d()
            }),
            Some("max-url-len")
        );
        assert_eq!(
            bad(CrawlConfig {
                max_url_len: 100_000,
                ..d()
            }),
            Some("max-url-len")
        );
        assert_eq!(
            bad(CrawlConfig {
                per_host_rate: PerHostRate::PerSecond(1e300),
                ..d()
            }),
            Some("per-host-rate")
        );
        assert_eq!(
            bad(CrawlConfig {
                cache_mb: u64::MAX,
                ..d()
            }),
            Some("cache-mb")
        );
        assert_eq!(
            bad(CrawlConfig {
                retries: 1000,
                ..d()
            }),
            Some("retries")
        );
        assert_eq!(d().trap_rules(), crate::traps::TrapRules::default());
    }

    #[test]
    fn every_whole_number_is_held_to_its_range_with_the_range_in_the_message() {
        assert_eq!(CrawlConfig::default().check_each_setting(), Ok(()));
        let bad = |config: CrawlConfig| config.check_each_setting().err();
        let d = CrawlConfig::default;
        let zero_cache = bad(CrawlConfig { cache_mb: 0, ..d() }).unwrap();
        assert_eq!(zero_cache.setting, "cache-mb");
        assert!(
            zero_cache.reason.contains("not between 1 and"),
            "{zero_cache}"
        );
        let redirects = bad(CrawlConfig {
            max_redirects: 200,
            ..d()
        });
        assert_eq!(redirects.map(|e| e.setting), Some("max-redirects"));
        let max_pages = bad(CrawlConfig {
            max_pages: Some(0),
            ..d()
        })
        .unwrap();
        assert!(max_pages.reason.contains("no limit"), "{max_pages}");
        for (config, setting) in [
            (
                CrawlConfig {
                    max_pages_per_run: Some(0),
                    ..d()
                },
                "max-pages-per-run",
            ),
            (
                CrawlConfig {
                    max_sitemap_urls: 0,
                    ..d()
                },
                "max-sitemap-urls",
            ),
            (
                CrawlConfig {
                    max_queued_per_host: 0,
                    ..d()
                },
                "max-queued-per-host",
            ),
        ] {
            assert_eq!(bad(config).map(|e| e.setting), Some(setting));
        }
        for bound in d().whole_number_bounds() {
            assert!(bound.min <= bound.max, "{}", bound.setting);
        }
    }

    #[test]
    fn backoffs_in_the_wrong_order_blame_the_one_moved_from_its_default() {
        let blamed = |config: CrawlConfig| config.validate().err().map(|e| e.setting);
        let d = CrawlConfig::default;
        assert_eq!(
            blamed(CrawlConfig {
                max_backoff: Duration::ZERO,
                ..d()
            }),
            Some("max-backoff")
        );
        assert_eq!(
            blamed(CrawlConfig {
                retry_backoff: Duration::from_secs(600),
                ..d()
            }),
            Some("retry-backoff")
        );
    }

    #[test]
    fn errors_name_the_setting() {
        let bad = |config: CrawlConfig| config.validate().err().map(|e| e.setting);
        let d = CrawlConfig::default;
        assert_eq!(bad(CrawlConfig { workers: 0, ..d() }), Some("workers"));
        assert_eq!(
            bad(CrawlConfig {
                per_host_concurrency: 0,
                ..d()
            }),
            Some("per-host-concurrency")
        );
        assert_eq!(
            bad(CrawlConfig {
                per_host_rate: PerHostRate::PerSecond(-1.0),
                ..d()
            }),
            Some("per-host-rate")
        );
        assert_eq!(
            bad(CrawlConfig {
                per_host_rate: PerHostRate::PerSecond(f64::NAN),
                ..d()
            }),
            Some("per-host-rate")
        );
        assert_eq!(
            bad(CrawlConfig {
                allow: vec!["(".into()],
                ..d()
            }),
            Some("allow")
        );
        assert_eq!(
            bad(CrawlConfig {
                deny: vec!["[".into()],
                ..d()
            }),
            Some("deny")
        );
        assert_eq!(
            bad(CrawlConfig {
                resolve: vec!["nonsense".into()],
                ..d()
            }),
            Some("resolve")
        );
        assert_eq!(
            bad(CrawlConfig {
                user_agent: "a\nb".into(),
                ..d()
            }),
            Some("user-agent")
        );
        assert_eq!(bad(CrawlConfig { max_body: 0, ..d() }), Some("max-body"));
        assert_eq!(
            bad(CrawlConfig {
                robots_agent: Some("bot/1".into()),
                ..d()
            }),
            Some("robots-agent")
        );
        assert_eq!(
            bad(CrawlConfig {
                user_agent: "1984".into(),
                ..d()
            }),
            Some("robots-agent")
        );
        assert_eq!(
            bad(CrawlConfig {
                park_after: 0,
                ..d()
            }),
            Some("park-after")
        );
        assert_eq!(
            bad(CrawlConfig {
                sitemap_urls: vec!["ftp://a.test/s.xml".into()],
                ..d()
            }),
            Some("sitemap")
        );
    }

    #[test]
    fn a_hosts_secret_comes_from_its_variable_and_a_missing_one_is_named() {
        let hosts = |host: HostConfig| BTreeMap::from([("intranet.test:8080".to_owned(), host)]);
        let basic = HostConfig {
            basic_auth: Some(BasicAuthConfig {
                user: "crawler".into(),
                password_env: "PW".into(),
            }),
            headers: BTreeMap::from([("X-Team".to_owned(), "crawl".to_owned())]),
            ..HostConfig::default()
        };
        let env = |name: &str| (name == "PW").then(|| "s3cret".to_owned());
        let (headers, credentials) = hosts_settings(&hosts(basic.clone()), env).unwrap();
        let url = url::Url::parse("http://intranet.test:8080/").unwrap();
        assert_eq!(headers.get(&url).map(Vec::len), Some(1));
        assert_eq!(
            credentials.for_url(&url),
            Some(crate::fetch::Credential::Basic("crawler", Some("s3cret")))
        );
        let error = hosts_settings(&hosts(basic.clone()), |_| None).unwrap_err();
        assert_eq!(error.setting, "hosts");
        assert!(
            error.reason.contains("intranet.test:8080") && error.reason.contains("PW"),
            "{error}"
        );
        let both = HostConfig {
            bearer_env: Some("PW".into()),
            ..basic
        };
        assert!(hosts_settings(&hosts(both), env)
            .unwrap_err()
            .reason
            .contains("not both"));
        let refused = HostConfig {
            headers: BTreeMap::from([("Authorization".to_owned(), "x".to_owned())]),
            ..HostConfig::default()
        };
        assert!(hosts_settings(&hosts(refused), env)
            .unwrap_err()
            .reason
            .contains("Authorization cannot be set"));
        let bad_key = BTreeMap::from([("a.test/x".to_owned(), HostConfig::default())]);
        assert!(hosts_settings(&bad_key, env).is_err());
    }

    #[test]
    fn a_refused_header_or_a_missing_cacert_is_named() {
        let bad = |config: CrawlConfig| config.validate().err().map(|e| e.setting);
        let d = CrawlConfig::default;
        assert_eq!(
            bad(CrawlConfig {
                headers: vec!["Host: x".into()],
                ..d()
            }),
            Some("header")
        );
        assert_eq!(
            bad(CrawlConfig {
                cacert: vec!["/nonexistent/ca.pem".into()],
                ..d()
            }),
            Some("cacert")
        );
    }
}
