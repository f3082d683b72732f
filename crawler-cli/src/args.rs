//! Every flag of the `crawler` command, with its help text, in one place.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use std::ops::RangeInclusive;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum, ValueHint};
use clap_complete::Shell;
use crawler_core::render::{RenderMode, RenderResources};
use crawler_core::{
    BodyPolicy, ConfigError, CrawlConfig, ErrorKind, HostConfig, PerHostRate, RevisitPolicy,
    ScopeMode,
};
use crawler_storage::{StatusFilter, Via};

use crate::config_file::Origins;
use crate::exit;
use crate::logging::LogArgs;
use crate::values::{whole, Seconds, Size};

#[derive(Parser, Debug)]
#[command(name = "crawler", version, propagate_version = true, about = "A polite, crash-safe web crawler with a queryable store.", after_help = exit::help_text())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub logging: LogArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Crawl from seed URLs into a store (continues the crawl a store already holds).
    #[command(after_help = exit::help_text())]
    Crawl(Box<CrawlArgs>),
    /// Totals of a stored crawl: statuses, errors, bytes, pages per host, speed.
    Stats(StatsArgs),
    /// List stored URLs, filtered by host, status, error, type, depth or time.
    Ls(LsArgs),
    /// One stored URL: its body (the default), headers, links, inlinks or record.
    Get(GetArgs),
    /// The link graph of stored pages: one edge per line, or Graphviz DOT.
    Links(LinksArgs),
    /// Export stored pages as JSON lines, CSV, a WARC 1.1 archive (with its CDXJ index), a Parquet table or a WACZ.
    Export(ExportArgs),
    /// Fold several stores (a cluster crawl's nodes') into one new store: each URL once, its newest record winning.
    Merge(MergeArgs),
    /// Verify every file of a store; name each problem (exit 1), or say it is sound.
    Check(CheckArgs),
    /// Rebuild what a store derives from its records; move what cannot be trusted to DIR/quarantine/.
    Repair(RepairArgs),
    /// Start a small synthetic web on loopback, crawl it, and show how to query the result.
    Demo(DemoArgs),
    /// A running crawl's live view: pages/s and errors, the slowest, failing and parked hosts; keys to pause, resume, stop.
    Top(TopArgs),
    /// Judge URLs against a robots.txt (a file or a URL) as a crawl would, naming the deciding rule.
    Robots(RobotsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write one page per command with --out DIR.
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct CrawlArgs {
    /// Seed URLs (http or https).
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,
    /// Take flags from a TOML file: keys are the long flag names (per-host-rate = 2.0), seeds = [URL, ...] for seed URLs; flags given here win.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,
    /// Read seeds from FILE, one URL per line (`-` for standard input; `#` starts a comment).
    #[arg(long, help_heading = SCOPE, visible_alias = "seed-file", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub seeds: Option<PathBuf>,
    /// Skip seed lines that are not crawlable URLs, with a warning naming file and line, instead of stopping.
    #[arg(long, help_heading = SCOPE)]
    pub skip_bad_seeds: bool,
    #[command(flatten)]
    pub settings: CrawlSettings,
    /// Print the summary as one JSON object.
    #[arg(long, help_heading = OUTPUT)]
    pub json: bool,
    /// Start over: delete the crawl the store holds first (needs --force when it holds one).
    #[arg(long, help_heading = STORE)]
    pub fresh: bool,
    /// Let --fresh delete a store that holds a crawl.
    #[arg(long, help_heading = STORE, requires = "fresh")]
    pub force: bool,
    /// Fetch again the stored URLs that failed with these error kinds (comma-separated, or all), e.g. after an outage; their new records replace the failed ones.
    #[arg(long, help_heading = STORE, value_name = "KIND[,KIND]|all", value_delimiter = ',', value_parser = retry_kind())]
    pub retry_errors: Vec<RetryKind>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Where the settings taken from `--config` were written (key -> FILE:LINE).
    #[arg(skip)]
    pub origins: Origins,
    /// The `[hosts."HOST"]` tables of `--config`.
    #[arg(skip)]
    pub hosts: BTreeMap<String, HostConfig>,
    /// The `CrawlConfig` fields set by a flag or a config key, even to their default
    /// (they override a resumed crawl's stored settings).
    #[arg(skip)]
    pub given: BTreeSet<String>,
}

/// Joining a crawl shared by several crawler processes through Redis.
#[derive(Args, Debug, Default)]
pub struct ClusterArgs {
    /// Share this crawl with other crawler processes through the Redis at URL (redis://[:PASSWORD@]HOST[:PORT][/DB], or rediss:// for TLS); each keeps its own --store.
    #[arg(long = "cluster", help_heading = CLUSTER, value_name = "URL")]
    pub url: Option<String>,
    /// The shared crawl's name: every node of one crawl gives the same (letters, digits, '.', '_', '-').
    #[arg(long, help_heading = CLUSTER, value_name = "ID", requires = "url")]
    pub crawl_id: Option<String>,
    /// This node's name in the cluster [default: hostname-pid]; a node restarted with its name takes its partitions back at once.
    #[arg(long, help_heading = CLUSTER, value_name = "NAME", requires = "url")]
    pub node: Option<String>,
    /// How long a node's hold on its share of the hosts lasts without renewal: a stopped node's hosts pass to the others after about this [default: 30s].
    #[arg(long, help_heading = CLUSTER, value_name = "SECS", requires = "url")]
    pub lease: Option<Seconds>,
    /// Hand a URL out at most N times (a node that dies while fetching it counts one); then it is given up as a dead letter [default: 5].
    #[arg(long, help_heading = CLUSTER, value_name = "N", requires = "url")]
    pub max_deliveries: Option<u32>,
}

/// The crawl settings. A setting's default, shown in `--help`, is the value of
/// [`CrawlConfig::default`] (`defaults()`), so the two cannot disagree; which flags
/// were given, even at their default, is read from clap's matches
/// (`command_line::given_settings`), since on resume a given flag overrides the
/// stored setting.
#[derive(Args, Debug)]
pub struct CrawlSettings {
    /// Requests in flight at once per host (scheme + host + port).
    #[arg(long, help_heading = POLITENESS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>, default_value_t = defaults().per_host_concurrency)]
    pub per_host_concurrency: usize,
    /// Requests per second per host, evenly spaced; 0 for no limit. Or auto: wait --delay-factor times the host's last fetch time, within --min-delay and --max-delay, longer after 429, 503 and timeouts.
    #[arg(long, help_heading = POLITENESS, value_name = "R|auto", allow_negative_numbers = true, default_value_t = defaults().per_host_rate)]
    pub per_host_rate: PerHostRate,
    /// Worker threads.
    #[arg(long, help_heading = FETCHING, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>, default_value_t = defaults().workers)]
    pub workers: usize,
    /// What the seeds admit: host (the seeds' hosts and ports; a scheme's default port counts as none), hostname (the seeds' hosts, any port), domain (their registrable domains), all.
    #[arg(long, help_heading = SCOPE, value_name = "SCOPE", ignore_case = true, value_parser = named::<ScopeMode, 4>(ScopeMode::ALL.map(ScopeMode::as_str)), default_value_t = defaults().scope)]
    pub scope: ScopeMode,
    /// Only URLs matching one of these regexes (repeatable).
    #[arg(long, help_heading = SCOPE, value_name = "REGEX")]
    pub allow: Vec<String>,
    /// No URL matching any of these regexes (repeatable).
    #[arg(long, help_heading = SCOPE, value_name = "REGEX")]
    pub deny: Vec<String>,
    /// Within each host, URLs matching this regex go first (repeatable: an earlier one is stronger); with a budget, they are what it buys.
    #[arg(long, help_heading = ORDER, value_name = "REGEX")]
    pub prefer: Vec<String>,
    /// Within each host, URLs matching this regex go last (repeatable; wins over --prefer).
    #[arg(long, help_heading = ORDER, value_name = "REGEX")]
    pub avoid: Vec<String>,
    /// Keep at most N links of one page, in source order (what is cut is recorded as parse-limited); each kept link costs memory while its page is written.
    #[arg(long, help_heading = LIMITS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>, default_value_t = defaults().max_links_per_page)]
    pub max_links_per_page: usize,
    /// Follow links at most N hops from a seed (seeds are depth 0).
    #[arg(long, help_heading = LIMITS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>)]
    pub max_depth: Option<u32>,
    /// Budget of the whole crawl: N pages fetched in all its runs (stored with the crawl; give it again to raise it on resume).
    #[arg(long, help_heading = LIMITS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub max_pages: Option<u64>,
    /// Fetch at most N pages in each run (the crawl's --max-pages still holds).
    #[arg(long, help_heading = LIMITS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub max_pages_per_run: Option<u64>,
    /// Budget of the whole crawl per host: N pages of a host fetched in all its runs.
    #[arg(long, help_heading = LIMITS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>)]
    pub max_pages_per_host: Option<u64>,
    /// A host's queue holds at most N URLs; links beyond are not queued and their page is recorded as budget-exceeded.
    #[arg(long, help_heading = LIMITS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>, default_value_t = defaults().max_queued_per_host)]
    pub max_queued_per_host: u64,
    /// The User-Agent header.
    #[arg(long, help_heading = FETCHING, value_name = "UA", default_value_t = defaults().user_agent)]
    pub user_agent: String,
    /// Time allowed per request, body included: seconds (30, 1.5) or with units (500ms, 2m).
    #[arg(long, help_heading = FETCHING, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().timeout))]
    pub timeout: Seconds,
    /// Time allowed to connect (seconds, or with units: 500ms, 2m).
    #[arg(long, help_heading = FETCHING, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().connect_timeout))]
    pub connect_timeout: Seconds,
    /// Largest body accepted, after decompression: bytes, or with K, M, G (KiB, MiB, GiB; 1.5M).
    #[arg(long, help_heading = FETCHING, value_name = "SIZE", default_value_t = Size(defaults().max_body))]
    pub max_body: Size,
    /// Store directory (created if absent). Required, on the command line or in --config.
    #[arg(long, help_heading = STORE, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub store: Option<PathBuf>,
    /// Which bodies to store: all (up to --max-body) or html (others as metadata only).
    #[arg(long, help_heading = STORE, value_name = "WHICH", value_parser = named::<BodyPolicy, 2>(BodyPolicy::ALL.map(BodyPolicy::as_str)), default_value_t = defaults().bodies)]
    pub bodies: BodyPolicy,
    /// Redirect hops followed from one URL.
    #[arg(long, help_heading = FETCHING, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u8>, default_value_t = defaults().max_redirects)]
    pub max_redirects: u8,
    /// Send this header with every request, curl's syntax: 'Name: value' ('Name:' drops an earlier -H of that name). Repeatable. Per-host headers and credentials: [hosts."HOST"] in --config.
    #[arg(short = 'H', long, help_heading = FETCHING, value_name = "'NAME: VALUE'")]
    pub header: Vec<String>,
    /// Speak HTTP/1.1 only (by default HTTPS hosts that offer HTTP/2 are crawled over it).
    #[arg(long = "http1.1", help_heading = FETCHING)]
    pub http1_only: bool,
    /// Accept any TLS certificate (self-signed, expired, another name's). Said in the summary and on each record.
    #[arg(long, help_heading = FETCHING)]
    pub insecure: bool,
    /// Trust the root certificates of this PEM file besides the system's. Repeatable.
    #[arg(long, help_heading = FETCHING, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub cacert: Vec<PathBuf>,
    /// Load a Netscape cookies.txt (as curl -c and browser extensions write it) into the crawl's cookie jar.
    #[arg(long, help_heading = FETCHING, value_name = "FILE", value_hint = ValueHint::FilePath, conflicts_with = "no_cookies")]
    pub cookies: Option<PathBuf>,
    /// Keep no cookies: send none, keep none a response sets (by default a crawl keeps one cookie jar, in its store).
    #[arg(long, help_heading = FETCHING)]
    pub no_cookies: bool,
    /// Connect to ADDR for HOST on PORT (curl syntax HOST:PORT:ADDR; other ports of HOST are looked up as usual; HOST may be *.example.test). Repeatable.
    #[arg(long, help_heading = FETCHING, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Connect to addresses in this network (CIDR like 10.0.0.0/8, or one address) even if the address rules refuse them. Repeatable.
    #[arg(long, help_heading = SCOPE, value_name = "CIDR")]
    pub allow_address: Vec<String>,
    /// Never connect to addresses in this network (CIDR, or one address); the most specific of --allow-address and --deny-address decides, deny on a tie. Repeatable.
    #[arg(long, help_heading = SCOPE, value_name = "CIDR")]
    pub deny_address: Vec<String>,
    /// sled page cache in MiB.
    #[arg(long, help_heading = STORE, value_name = "MB", allow_negative_numbers = true, value_parser = whole::<u64>, default_value_t = defaults().cache_mb)]
    pub cache_mb: u64,
    /// Stop the crawl (resumable) when its disk has less free than this: bytes, or with K, M, G. 0: never. Default: 1% of the disk, at most 100M.
    #[arg(long, help_heading = STORE, value_name = "SIZE")]
    pub min_free_space: Option<Size>,
    #[command(flatten)]
    pub politeness: PolitenessSettings,
    #[command(flatten)]
    pub traps: TrapSettings,
    #[command(flatten)]
    pub proxies: ProxySettings,
    #[command(flatten)]
    pub recrawl: RecrawlSettings,
    #[command(flatten)]
    pub render: RenderFlags,
    /// No progress bar, even on a terminal (-q implies it).
    #[arg(long, help_heading = OUTPUT)]
    pub no_progress: bool,
    /// Serve the live status while the crawl runs: /metrics (Prometheus), /status.json (crawler top), POST /pause, /resume, /stop (from loopback only). A port alone listens on 127.0.0.1; 0 picks a free port.
    #[arg(long, help_heading = OUTPUT, value_name = "[ADDR:]PORT", value_parser = crate::listen::parse_address)]
    pub listen: Option<std::net::SocketAddr>,
}

// The headings of `crawl --help`, in the order a crawl meets them.
const SCOPE: &str = "Scope";
const ORDER: &str = "Order";
const POLITENESS: &str = "Politeness";
const FETCHING: &str = "Fetching";
const LIMITS: &str = "Limits";
const STORE: &str = "Store";
const RECRAWL: &str = "Recrawl";
const RENDERING: &str = "Rendering";
const OUTPUT: &str = "Output";
const CLUSTER: &str = "Cluster";

/// The defaults of every crawl setting: the one place they are written.
fn defaults() -> CrawlConfig {
    CrawlConfig::default()
}

impl CrawlSettings {
    /// The configuration: the flags, which hold the defaults where none was given.
    pub fn to_config(&self) -> Result<CrawlConfig, ConfigError> {
        let store = self.store.clone().ok_or_else(|| ConfigError {
            setting: "store",
            reason: "missing: give --store DIR, the directory the crawl is stored in (created if absent), or store = \"DIR\" in the --config file".into(),
        })?;
        let mut config = CrawlConfig {
            store,
            workers: self.workers,
            per_host_concurrency: self.per_host_concurrency,
            per_host_rate: self.per_host_rate,
            scope: self.scope,
            allow: self.allow.clone(),
            deny: self.deny.clone(),
            prefer: self.prefer.clone(),
            avoid: self.avoid.clone(),
            max_links_per_page: self.max_links_per_page,
            max_depth: self.max_depth,
            max_pages: self.max_pages,
            max_pages_per_run: self.max_pages_per_run,
            max_pages_per_host: self.max_pages_per_host,
            max_queued_per_host: self.max_queued_per_host,
            user_agent: self.user_agent.clone(),
            timeout: self.timeout.0,
            connect_timeout: self.connect_timeout.0,
            max_body: self.max_body.0,
            bodies: self.bodies,
            max_redirects: self.max_redirects,
            no_cookies: self.no_cookies,
            cookies_file: self.cookies.clone(),
            resolve: self.resolve.clone(),
            headers: self.header.clone(),
            http1_only: self.http1_only,
            insecure: self.insecure,
            cacert: self.cacert.clone(),
            allow_address: self.allow_address.clone(),
            deny_address: self.deny_address.clone(),
            cache_mb: self.cache_mb,
            min_free_space: self.min_free_space.map(|size| size.0),
            ..defaults()
        };
        self.politeness.apply(&mut config);
        self.traps.apply(&mut config);
        self.proxies.apply(&mut config);
        self.recrawl.apply(&mut config);
        self.render.apply(&mut config);
        Ok(config)
    }
}

/// Fetching stored URLs again (a recrawl) with conditional requests.
#[derive(Args, Debug)]
pub struct RecrawlSettings {
    /// Fetch again the stored URLs last fetched longer than this ago (30m, 12h, 1d; 0: all of them), with If-None-Match / If-Modified-Since: a 304 or the same content keeps what is stored. With --revisit adaptive: each URL's first interval (1d if not given).
    #[arg(long, help_heading = RECRAWL, value_name = "TIME")]
    pub revisit_after: Option<Seconds>,
    /// fixed: every URL is due --revisit-after after its last fetch. adaptive: each URL has its own interval, halved when it changed, half as long again when not, within --revisit-min and --revisit-max.
    #[arg(long, help_heading = RECRAWL, value_name = "POLICY", value_enum)]
    pub revisit: Option<RevisitMode>,
    /// With --revisit adaptive: the shortest interval of a URL.
    #[arg(long, help_heading = RECRAWL, value_name = "TIME", default_value_t = Seconds(DEFAULT_REVISIT_MIN))]
    pub revisit_min: Seconds,
    /// With --revisit adaptive: the longest interval of a URL.
    #[arg(long, help_heading = RECRAWL, value_name = "TIME", default_value_t = Seconds(DEFAULT_REVISIT_MAX))]
    pub revisit_max: Seconds,
    /// Bodies a URL keeps as it changes: the current one and up to N-1 earlier ones (crawler get URL --version TIME).
    #[arg(long, help_heading = RECRAWL, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>, default_value_t = defaults().keep_versions)]
    pub keep_versions: u32,
}

/// `--revisit`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisitMode {
    Fixed,
    Adaptive,
}

/// `--revisit-min`'s default: an hour.
const DEFAULT_REVISIT_MIN: Duration = Duration::from_secs(3600);
/// `--revisit-max`'s default: 30 days.
const DEFAULT_REVISIT_MAX: Duration = Duration::from_secs(30 * 24 * 3600);
/// A URL's first interval under `--revisit adaptive` without `--revisit-after`.
const DEFAULT_REVISIT_FIRST: Duration = Duration::from_secs(24 * 3600);

impl RecrawlSettings {
    fn apply(&self, config: &mut CrawlConfig) {
        config.keep_versions = self.keep_versions;
        let after = self.revisit_after.map(|after| after.0);
        config.revisit = match (self.revisit, after) {
            (Some(RevisitMode::Adaptive), after) => Some(RevisitPolicy::Adaptive {
                initial: after.unwrap_or(DEFAULT_REVISIT_FIRST),
                min: self.revisit_min.0,
                max: self.revisit_max.0,
            }),
            (_, Some(after)) => Some(RevisitPolicy::Fixed { after }),
            (Some(RevisitMode::Fixed), None) => Some(RevisitPolicy::Fixed {
                after: DEFAULT_REVISIT_FIRST,
            }),
            (None, None) => None,
        };
    }
}

/// JavaScript rendering in a headless Chromium whose every request the crawler makes.
#[derive(Args, Debug)]
pub struct RenderFlags {
    /// Render pages in a headless Chromium after fetching them and read their links from the rendered DOM too: off, always, auto (render each host's first 3 pages and keep rendering the hosts where that found more links or text). Every request a page makes is fetched by the crawler (robots.txt, scope, politeness) and stored (via render).
    #[arg(long, help_heading = RENDERING, value_name = "WHEN", value_parser = named::<RenderMode, 3>(["off", "always", "auto"]), default_value_t = defaults().render)]
    pub render: RenderMode,
    /// Browser tabs rendering at once.
    #[arg(long, help_heading = RENDERING, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>, default_value_t = defaults().render_tabs)]
    pub render_tabs: usize,
    /// A rendering page is settled once none of its requests was pending this long.
    #[arg(long, help_heading = RENDERING, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().render_idle))]
    pub render_idle: Seconds,
    /// A rendering page not settled by then is stored as it is, as render-timeout.
    #[arg(long, help_heading = RENDERING, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().render_timeout))]
    pub render_timeout: Seconds,
    /// What a rendering page's images, fonts and media get: needed (an empty answer, nothing fetched), all (fetched like scripts).
    #[arg(long, help_heading = RENDERING, value_name = "WHICH", value_parser = named::<RenderResources, 2>(["needed", "all"]), default_value_t = defaults().render_resources)]
    pub render_resources: RenderResources,
    /// The browser to render with. Default: chromium, chromium-browser, google-chrome, google-chrome-stable or chrome on PATH.
    #[arg(long, help_heading = RENDERING, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub chrome: Option<PathBuf>,
}

impl RenderFlags {
    fn apply(&self, config: &mut CrawlConfig) {
        config.render = self.render;
        config.render_tabs = self.render_tabs;
        config.render_idle = self.render_idle.0;
        config.render_timeout = self.render_timeout.0;
        config.render_resources = self.render_resources;
        config.chrome = self.chrome.clone();
    }
}

/// The proxies requests go through.
#[derive(Args, Debug)]
pub struct ProxySettings {
    /// Send requests through this proxy: http://, https://, socks5:// or socks5h://, credentials allowed (http://user:pw@host:3128). Repeatable: a pool, each host through one proxy, a failing one taken out. `none`: no proxy, whatever HTTP_PROXY and the like say (read when no --proxy is given).
    #[arg(long, help_heading = FETCHING, value_name = "URL")]
    pub proxy: Vec<String>,
    /// Hosts that go direct, not through a proxy: comma-separated names (matching the names under them too), addresses and CIDR networks, or * (curl's --noproxy syntax). Replaces NO_PROXY.
    #[arg(long, help_heading = FETCHING, value_name = "LIST")]
    pub no_proxy: Option<String>,
}

impl ProxySettings {
    fn apply(&self, config: &mut CrawlConfig) {
        config.proxy = self.proxy.clone();
        config.no_proxy = self.no_proxy.clone();
    }
}

/// Crawler traps: URLs refused (recorded as trap-suspected) before they are fetched.
#[derive(Args, Debug)]
pub struct TrapSettings {
    /// Longest URL fetched, in bytes (64 to 8192); longer ones are recorded as trap-suspected.
    #[arg(long, help_heading = LIMITS, value_name = "BYTES", allow_negative_numbers = true, value_parser = whole::<usize>, default_value_t = defaults().max_url_len)]
    pub max_url_len: usize,
    /// Times one path segment may repeat in a URL (/a/a/a/a/ is 4) before it is a trap-suspected; 0 for no limit.
    #[arg(long, help_heading = LIMITS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>, default_value_t = defaults().max_segment_repeats)]
    pub max_repeated_segments: u32,
}

impl TrapSettings {
    fn apply(&self, config: &mut CrawlConfig) {
        config.max_url_len = self.max_url_len;
        config.max_segment_repeats = self.max_repeated_segments;
    }
}

/// robots.txt, sitemaps, retries and backoff: the politeness beyond the rate.
#[derive(Args, Debug)]
pub struct PolitenessSettings {
    /// Do not fetch or obey robots.txt (the summary says so).
    #[arg(long, help_heading = POLITENESS)]
    pub ignore_robots: bool,
    /// Product token matched against robots.txt User-agent lines [default: from --user-agent].
    #[arg(long, help_heading = POLITENESS, value_name = "TOKEN")]
    pub robots_agent: Option<String>,
    /// Longest Crawl-delay obeyed (seconds, or with units); longer ones are cut to it and reported.
    #[arg(long, help_heading = POLITENESS, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().max_crawl_delay))]
    pub max_crawl_delay: Seconds,
    /// Retries of a fetch that timed out, failed to connect, or got a 5xx or 429.
    #[arg(long, help_heading = FETCHING, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>, default_value_t = defaults().retries)]
    pub retries: u32,
    /// First pause of a host after a failure or a 429/503 without Retry-After (seconds, or with units); doubles each time.
    #[arg(long, help_heading = POLITENESS, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().retry_backoff))]
    pub retry_backoff: Seconds,
    /// Longest pause of a host, Retry-After included (seconds, or with units: 5m).
    #[arg(long, help_heading = POLITENESS, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().max_backoff))]
    pub max_backoff: Seconds,
    /// With --per-host-rate auto: a host's delay is F times its last fetch's time (body included).
    #[arg(long, help_heading = POLITENESS, value_name = "F", allow_negative_numbers = true, default_value_t = defaults().delay_factor)]
    pub delay_factor: f64,
    /// With --per-host-rate auto: the shortest delay between a host's requests (seconds, or with units: 250ms).
    #[arg(long, help_heading = POLITENESS, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().min_delay))]
    pub min_delay: Seconds,
    /// With --per-host-rate auto: the longest delay between a host's requests, however slow or overloaded it is.
    #[arg(long, help_heading = POLITENESS, value_name = "SECS", allow_negative_numbers = true, default_value_t = Seconds(defaults().max_delay))]
    pub max_delay: Seconds,
    /// Park a host after N connection failures in a row: its queue is recorded as host-unreachable.
    #[arg(long, help_heading = POLITENESS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u32>, default_value_t = defaults().park_after)]
    pub park_after: u32,
    // A switch takes no value, so clap shows no default for it: the help says it.
    #[arg(long, help_heading = SCOPE, overrides_with = "no_sitemaps", help = switch_help("Read the Sitemap lines of the seed hosts' robots.txt", defaults().sitemaps))]
    pub sitemaps: bool,
    /// Do not read the Sitemap lines of robots.txt.
    #[arg(long, help_heading = SCOPE, overrides_with = "sitemaps")]
    pub no_sitemaps: bool,
    /// Read this sitemap (urlset, index, gzip or plain text); its host joins the scope. Repeatable.
    #[arg(long, help_heading = SCOPE, value_name = "URL")]
    pub sitemap: Vec<String>,
    /// Sitemaps add at most N URLs per host in a run (one sitemap file's limit); the rest are not queued and the sitemap is recorded as budget-exceeded.
    #[arg(long, help_heading = LIMITS, value_name = "N", allow_negative_numbers = true, value_parser = whole::<u64>, default_value_t = defaults().max_sitemap_urls)]
    pub max_sitemap_urls: u64,
    /// Queue rel="nofollow" links too.
    #[arg(long, help_heading = SCOPE)]
    pub follow_nofollow: bool,
    /// Also fetch what stored pages embed (images, stylesheets and their fonts, scripts, media), on any host, one embed hop outside the scope.
    #[arg(long, help_heading = SCOPE)]
    pub requisites: bool,
}

/// A switch's help with its default, as clap writes one for a flag with a value.
fn switch_help(text: &str, on: bool) -> String {
    format!("{text} [default: {}]", if on { "on" } else { "off" })
}

impl PolitenessSettings {
    fn apply(&self, config: &mut CrawlConfig) {
        // Switches change their setting only when given (the last of a pair wins).
        config.ignore_robots |= self.ignore_robots;
        config.follow_nofollow |= self.follow_nofollow;
        config.requisites |= self.requisites;
        if self.sitemaps {
            config.sitemaps = true;
        } else if self.no_sitemaps {
            config.sitemaps = false;
        }
        config.robots_agent = self.robots_agent.clone();
        config.sitemap_urls = self.sitemap.clone();
        config.max_sitemap_urls = self.max_sitemap_urls;
        config.retries = self.retries;
        config.park_after = self.park_after;
        config.max_crawl_delay = self.max_crawl_delay.0;
        config.retry_backoff = self.retry_backoff.0;
        config.max_backoff = self.max_backoff.0;
        config.delay_factor = self.delay_factor;
        config.min_delay = self.min_delay.0;
        config.max_delay = self.max_delay.0;
    }
}

/// Which stored pages a query covers (shared by `ls`, `links` and `export`).
#[derive(Args, Debug, Default, Clone)]
pub struct FilterArgs {
    /// Only this host (h0.test), or this host and port as URLs show them (h0.test:8080).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only this status: a code (404), a class (2xx, 4xx) or `error` (no response).
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    pub status: Option<StatusFilter>,
    /// Only this error kind (the README says what each means).
    #[arg(long, value_name = "KIND", value_parser = error_kind())]
    pub error: Option<ErrorKind>,
    /// Only this media type (text/html), family (image/*), or subtype of any type (html).
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
    /// Only this link depth (N) or range (A..B, inclusive; A.. or ..B).
    #[arg(long, value_name = "N|A..B", value_parser = parse_depth)]
    pub depth: Option<RangeInclusive<u32>>,
    /// Only pages fetched at or after TIME: 2026-11-22, 2026-11-22T10:00:00Z, or 15m / 2h / 3d ago.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only pages fetched before TIME (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only pages reached this way (embed: a page's requisite, with --requisites).
    #[arg(long, value_name = "HOW", value_parser = via())]
    pub via: Option<Via>,
    /// Only pages new or changed at or after TIME (same forms as --since): their content was fetched then, not merely visited again (a 304 or the same payload is no change).
    #[arg(long, value_name = "TIME")]
    pub changed_since: Option<String>,
    /// Only the URLs a revisit found gone (404 or 410 where a page was). ls leaves them out without it; links and export include them.
    #[arg(long)]
    pub gone: bool,
}

/// How a URL was reached, by its name; clap lists the names.
fn via() -> impl clap::builder::TypedValueParser<Value = Via> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Via::ALL.map(Via::as_str))
        .try_map(|name| Via::from_name(&name).ok_or("not a way a URL is reached"))
}

/// An error kind by its stored name. Clap lists the kinds in `--help`, and refuses
/// another name as a usage error that lists them, with a similar one when there is.
fn error_kind() -> impl clap::builder::TypedValueParser<Value = ErrorKind> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(ErrorKind::ALL.map(ErrorKind::as_str))
        .try_map(|name| name.parse::<ErrorKind>())
}

/// A value of one of these `names`, read by its `FromStr`. Clap knows the names: the
/// completions offer them, `--help` lists them, a typo gets the nearest.
fn named<T, const N: usize>(
    names: [&'static str; N],
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
    T::Err: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names).try_map(|name| name.parse::<T>())
}

/// What `--retry-errors` names: one error kind, or `all` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryKind {
    All,
    Kind(ErrorKind),
}

/// [`error_kind`], plus `all`.
fn retry_kind() -> impl clap::builder::TypedValueParser<Value = RetryKind> {
    use clap::builder::TypedValueParser as _;
    let names = ErrorKind::ALL
        .map(ErrorKind::as_str)
        .into_iter()
        .chain(["all"]);
    clap::builder::PossibleValuesParser::new(names).try_map(|name| match name.as_str() {
        "all" => Ok(RetryKind::All),
        kind => kind.parse::<ErrorKind>().map(RetryKind::Kind),
    })
}

/// `200`, `2xx`, `error`.
fn parse_status(text: &str) -> Result<StatusFilter, String> {
    let text = text.trim().to_ascii_lowercase();
    if text == "error" {
        return Ok(StatusFilter::NoResponse);
    }
    if let Some(class) = text.strip_suffix("xx") {
        if let Ok(class @ 1..=5) = class.parse::<u8>() {
            return Ok(StatusFilter::Class(class));
        }
    }
    match text.parse::<u16>() {
        Ok(code @ 100..=599) => Ok(StatusFilter::Code(code)),
        _ => Err(format!(
            "{text:?} is not a status (use a code like 404, a class like 2xx, or error)"
        )),
    }
}

/// `3`, `1..4`, `2..`, `..3`.
fn parse_depth(text: &str) -> Result<RangeInclusive<u32>, String> {
    let number = |part: &str| {
        part.trim()
            .parse::<u32>()
            .map_err(|_| format!("{text:?} is not a depth (use N, A..B, A.. or ..B)"))
    };
    let range = match text.split_once("..") {
        None => number(text).map(|n| n..=n)?,
        Some((low, high)) => {
            let low = if low.trim().is_empty() {
                0
            } else {
                number(low)?
            };
            let high = if high.trim().is_empty() {
                u32::MAX
            } else {
                number(high)?
            };
            low..=high
        }
    };
    if range.is_empty() {
        return Err(format!("{text:?} is an empty range"));
    }
    Ok(range)
}

/// How `ls` prints its lines.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    /// Aligned columns for reading.
    Table,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line (RFC 4180 quoting).
    Csv,
}

/// What `ls --sort` orders by.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// The URL, in byte order.
    Url,
    /// The status code; URLs without a response last.
    Status,
    /// The body's size, largest first.
    Size,
    /// The fetch time, latest first.
    Fetched,
}

/// A column of `ls`'s table.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// The status code, or the error kind when there was no response.
    Status,
    /// The error kind.
    Error,
    /// Link hops from a seed.
    Depth,
    /// The body's size.
    Size,
    /// The media type.
    Type,
    Host,
    Url,
    Title,
    /// The page that linked here first.
    From,
    /// When it was fetched.
    Fetched,
    /// How it was reached: seed, link, embed, redirect or sitemap.
    Via,
    /// How many times it was fetched (1, more after revisits).
    Visits,
    /// What its last revisit found: not-modified (304), unchanged (same payload), changed or gone; empty after one visit.
    Change,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("crawl").required(true).args(["connect", "store"])))]
pub struct TopArgs {
    /// The address the crawl serves its status on (its --listen): [ADDR:]PORT.
    #[arg(long, value_name = "[ADDR:]PORT", value_parser = crate::listen::parse_address)]
    pub connect: Option<std::net::SocketAddr>,
    /// Or the store of a crawl running with --listen: its address is read from the store.
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub store: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// The store of a crawl (finished, interrupted or stopped). Give it once per store to read several (a cluster crawl's nodes') as one crawl: each URL once, its newest record winning.
    #[arg(long, value_name = "DIR", required_unless_present = "cluster")]
    pub store: Vec<PathBuf>,
    /// The totals of a crawl shared through the Redis at URL, all nodes together (with --crawl-id).
    #[arg(long, value_name = "URL", conflicts_with_all = ["store", "host"], requires = "crawl_id")]
    pub cluster: Option<String>,
    /// The shared crawl's name (with --cluster).
    #[arg(long, value_name = "ID", requires = "cluster")]
    pub crawl_id: Option<String>,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
    /// Hosts listed in the text output (by pages, most first).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// The totals of this host only (h0.test, or h0.test:8080 for one port).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// The store of a crawl (finished, interrupted or stopped). Give it once per store to read several (a cluster crawl's nodes') as one crawl: each URL once, its newest record winning.
    #[arg(long, value_name = "DIR", required = true)]
    pub store: Vec<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Stop after N lines.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Skip the first N lines (with --limit: pages of a listing).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: usize,
    /// Order the lines by this field (size and fetched: largest and latest first) [default: the index's order].
    #[arg(long, value_name = "FIELD")]
    pub sort: Option<SortKey>,
    /// The table's columns, comma-separated [default: status,depth,size,url,title].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub columns: Vec<Column>,
    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(long, value_name = "FORMAT", conflicts_with = "json")]
    pub format: Option<ListFormat>,
    /// The same as --format jsonl.
    #[arg(long)]
    pub json: bool,
}

// `--version TIME` is get's own: the crawler's version is `crawler --version`.
#[derive(Args, Debug)]
#[command(disable_version_flag = true)]
#[command(group(ArgGroup::new("what").args(["body", "headers", "links", "inlinks", "json", "info", "version"])))]
pub struct GetArgs {
    /// The store of a crawl (finished, interrupted or stopped). Give it once per store to read several (a cluster crawl's nodes') as one crawl: each URL once, its newest record winning.
    #[arg(long, value_name = "DIR", required = true)]
    pub store: Vec<PathBuf>,
    /// The URL (any spelling; it is canonicalized).
    pub url: String,
    /// Print the stored body, as stored (bytes). This is the default.
    #[arg(long)]
    pub body: bool,
    /// Print the response's status line and headers.
    #[arg(long)]
    pub headers: bool,
    /// Print the request that was sent (its line and headers); with --headers, before the response's.
    #[arg(long, conflicts_with_all = ["body", "links", "inlinks", "json", "info"])]
    pub request: bool,
    /// Print the outlinks, one per line.
    #[arg(long)]
    pub links: bool,
    /// Print the stored pages that link here, one per line (also for a URL never fetched).
    #[arg(long)]
    pub inlinks: bool,
    /// Print the record with its outlinks, inlinks and HTTP heads as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Print the record as readable fields.
    #[arg(long)]
    pub info: bool,
    /// Print every visit of the URL the store knows, newest first: fetch time, status or error, payload digest, what changed (new on the first visit), whether its body is kept. With --json, one JSON object per visit.
    #[arg(long, conflicts_with_all = ["body", "headers", "request", "links", "inlinks", "info", "version"])]
    pub history: bool,
    /// Print the body as a visit at TIME captured it: the time --history shows (RFC 3339, or the milliseconds of --history --json). A visit that found no change (a 304, the same payload) shows the body it kept.
    #[arg(long, value_name = "TIME")]
    pub version: Option<String>,
    /// The page as a browser rendered it (crawl --render): its DOM, or with --links, --json or --info, the links found in it and how it settled (idle, render-timeout, render-failed).
    #[arg(long)]
    pub rendered: bool,
}

/// How `links` prints the graph.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GraphFormat {
    /// One `FROM<TAB>TO` line per link.
    #[default]
    Edges,
    /// A Graphviz `digraph`.
    Dot,
}

#[derive(Args, Debug)]
pub struct LinksArgs {
    /// The store of a crawl (finished, interrupted or stopped). Give it once per store to read several (a cluster crawl's nodes') as one crawl: each URL once, its newest record winning.
    #[arg(long, value_name = "DIR", required = true)]
    pub store: Vec<PathBuf>,
    /// The links of the pages these flags select.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "edges")]
    pub format: GraphFormat,
}

/// What `export` writes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per page: the record, outlinks and HTTP heads (body with --with-body).
    Jsonl,
    /// WARC 1.1, one gzip member per record: warcinfo, then response + request per page (and revisit + request for a last visit that found it unchanged).
    Warc,
    /// The columns of `ls --format csv`, with a header line.
    Csv,
    /// A Parquet table, one row per page, in Common Crawl's index columns and ours (needs -o).
    Parquet,
    /// WACZ 1.1.1: the WARC, its CDXJ index and pages.jsonl in one zip (needs -o).
    Wacz,
}

impl ExportFormat {
    /// The format a file name's extension names: `.jsonl`/`.json`, `.warc`/`.warc.gz`,
    /// `.csv`, `.parquet`, `.wacz`.
    pub fn of_file(path: &std::path::Path) -> Option<ExportFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        // A WARC is gzipped member by member; the other formats are not compressed.
        if name.ends_with(".warc.gz") {
            return Some(ExportFormat::Warc);
        }
        let (_, extension) = name.rsplit_once('.')?;
        match extension {
            "jsonl" | "json" | "ndjson" => Some(ExportFormat::Jsonl),
            "warc" => Some(ExportFormat::Warc),
            "csv" => Some(ExportFormat::Csv),
            "parquet" => Some(ExportFormat::Parquet),
            "wacz" => Some(ExportFormat::Wacz),
            _ => None,
        }
    }
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The store of a crawl (finished, interrupted or stopped). Give it once per store to read several (a cluster crawl's nodes') as one crawl: each URL once, its newest record winning.
    #[arg(long, value_name = "DIR", required = true)]
    pub store: Vec<PathBuf>,
    /// Output format [default: from -o's extension (.jsonl, .warc.gz, .csv, .parquet, .wacz)].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<ExportFormat>,
    /// Write to FILE instead of standard output (written beside it, renamed when complete).
    #[arg(short = 'o', long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub output: Option<PathBuf>,
    /// With --format warc and -o: also write the WARC's CDXJ index (sorted, as pywb loads it) to FILE.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub cdxj: Option<PathBuf>,
    /// With --format warc and -o: also write the Parquet table to FILE, with each page's WARC record (warc_filename, warc_record_offset, warc_record_length).
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub parquet: Option<PathBuf>,
    /// JSON lines: include each body (as `body` when UTF-8, else `body_base64`).
    #[arg(long)]
    pub with_body: bool,
    /// Go on past pages whose stored parts are damaged, leaving them out (counted on stderr).
    #[arg(long)]
    pub skip_damaged: bool,
    /// The pages these flags select.
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The store to write: a new (absent or empty) directory.
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub into: PathBuf,
    /// A store to fold in; give it once per store. On equal fetch times the store given first wins; the merged store keeps the first store's settings.
    #[arg(long, value_name = "DIR", required = true, value_hint = ValueHint::DirPath)]
    pub store: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The store to verify (no crawl may hold it); nothing in it is changed.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// One JSON object: sound, pages, queued, problems (file, offset, what).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RepairArgs {
    /// The store to repair (no crawl may hold it).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Store directory [default: a new directory under the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Synthetic hosts (1 to 1000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub hosts: u32,
    /// Pages per host (1 to 100000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub pages: u32,
    /// Requests per second per host.
    #[arg(long, default_value_t = 20.0)]
    pub per_host_rate: f64,
}

#[derive(Args, Debug)]
pub struct RobotsArgs {
    /// The crawler's User-Agent (crawl's default); robots.txt groups are matched on its product token.
    #[arg(long, value_name = "UA", default_value_t = defaults().user_agent)]
    pub user_agent: String,
    /// Read robots.txt from this file.
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "url",
        required_unless_present = "url"
    )]
    pub file: Option<PathBuf>,
    /// Fetch robots.txt from this URL, following redirects as a crawl does.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// URLs to judge (paths like /a/b are taken relative to --url).
    #[arg(value_name = "TESTURL", required = true)]
    pub test_urls: Vec<String>,
    /// One JSON object per URL per line: url, allowed, rule, line, group.
    #[arg(long)]
    pub json: bool,
    /// Resolve HOST to ADDR for --url (curl syntax HOST:PORT:ADDR). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Time allowed for fetching --url: seconds, or with units (500ms, 2m) [default: 30].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<Seconds>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// The page of this command (crawl, ls, ...) instead of crawler's own.
    #[arg(value_name = "COMMAND", conflicts_with = "out")]
    pub command: Option<String>,
    /// Write crawler.1 and one page per command (crawler-crawl.1, ...) into DIR instead.
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub out: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings of `crawler crawl ARGS`.
    fn settings_of(args: &[&str]) -> CrawlSettings {
        let argv = ["crawler", "crawl"].iter().chain(args);
        match Cli::try_parse_from(argv).map(|cli| cli.command) {
            Ok(Command::Crawl(crawl)) => crawl.settings,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn flags_override_defaults_only_when_given() {
        let config = settings_of(&["--store", "s", "--workers", "3"])
            .to_config()
            .unwrap();
        assert_eq!(config.workers, 3);
        assert_eq!(config.per_host_rate, CrawlConfig::default().per_host_rate);
    }

    /// The defaults `--help` shows are read back as exactly `CrawlConfig::default()`.
    #[test]
    fn no_flags_give_the_default_config() {
        let config = settings_of(&["--store", "s"]).to_config().unwrap();
        let expected = CrawlConfig {
            store: "s".into(),
            ..CrawlConfig::default()
        };
        let json = |c: &CrawlConfig| serde_json::to_value(c).unwrap();
        assert_eq!(json(&config), json(&expected));
        let switched = settings_of(&["--store", "s", "--no-sitemaps", "--ignore-robots"])
            .to_config()
            .unwrap();
        assert!(!switched.sitemaps && switched.ignore_robots);
        // A switch without a `no-` twin can only turn its setting on.
        assert!(!expected.ignore_robots && !expected.follow_nofollow);
    }

    #[test]
    fn statuses_are_codes_classes_or_error() {
        assert_eq!(parse_status("404"), Ok(StatusFilter::Code(404)));
        assert_eq!(parse_status("2XX"), Ok(StatusFilter::Class(2)));
        assert_eq!(parse_status("error"), Ok(StatusFilter::NoResponse));
        for bad in ["6xx", "xx", "99", "600", "ok", ""] {
            assert!(parse_status(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn depths_are_numbers_or_inclusive_ranges() {
        assert_eq!(parse_depth("3"), Ok(3..=3));
        assert_eq!(parse_depth("1..4"), Ok(1..=4));
        assert_eq!(parse_depth("2.."), Ok(2..=u32::MAX));
        assert_eq!(parse_depth("..2"), Ok(0..=2));
        for bad in ["", "a", "4..1", "1...3", "-1"] {
            assert!(parse_depth(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
