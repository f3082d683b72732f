//! The one configuration struct of a crawl, shared by the library and the CLI.
//!
//! [`CrawlConfig`] is plain data with defaults; [`CrawlConfig::validate`] checks it
//! once and compiles what needs compiling, with errors that name the setting.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fetch::{Credentials, FetchSettings, ResolveRule};
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

impl std::fmt::Display for BodyPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyPolicy::All => "all",
            BodyPolicy::Html => "html",
        })
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
    /// Requests per second to one host, evenly spaced; 0 means no limit.
    pub per_host_rate: f64,
    /// Which hosts the seeds admit.
    #[serde(serialize_with = "display", deserialize_with = "from_str")]
    pub scope: ScopeMode,
    /// Regular expressions a URL must match one of (when any are given).
    pub allow: Vec<String>,
    /// Regular expressions no URL may match.
    pub deny: Vec<String>,
    /// Links deeper than this are not followed (seeds are depth 0).
    pub max_depth: Option<u32>,
    /// Stop dispatching once this many fetches have started.
    pub max_pages: Option<u64>,
    /// Stop dispatching to a host once this many fetches to it have started.
    pub max_pages_per_host: Option<u64>,
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
    /// sled's page cache in MiB.
    pub cache_mb: u64,
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
    /// Longest canonical URL fetched, in bytes; longer ones are recorded as
    /// `trap-suspected` (see [`crate::traps`]).
    pub max_url_len: usize,
    /// Times one path segment may appear in a URL's path before it is recorded as
    /// `trap-suspected`; 0 for no limit.
    pub max_segment_repeats: u32,
    /// Basic credentials by origin, sent with every request to that origin: what
    /// seed URLs' userinfo becomes ([`crate::parse_seed`]). Never stored with the
    /// crawl's settings, so a resumed crawl needs them given again.
    #[serde(skip)]
    pub credentials: Credentials,
}

/// The default `User-Agent`: the crawler's name and version.
pub const DEFAULT_USER_AGENT: &str = concat!("crawler/", env!("CARGO_PKG_VERSION"));

impl Default for CrawlConfig {
    fn default() -> CrawlConfig {
        CrawlConfig {
            store: PathBuf::from("crawl.store"),
            workers: 16,
            per_host_concurrency: 1,
            per_host_rate: 2.0,
            scope: ScopeMode::Host,
            allow: Vec::new(),
            deny: Vec::new(),
            max_depth: None,
            max_pages: None,
            max_pages_per_host: None,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body: 10 * 1024 * 1024,
            bodies: BodyPolicy::All,
            max_redirects: 10,
            resolve: Vec::new(),
            cache_mb: 256,
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
            max_url_len: 2048,
            max_segment_repeats: 3,
            credentials: Credentials::default(),
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
    /// The parsed `resolve` rules.
    pub resolve: Vec<ResolveRule>,
    /// The robots.txt product token, given or derived.
    pub robots_agent: ProductToken,
    /// The parsed `sitemap` URLs.
    pub sitemap_urls: Vec<CanonicalUrl>,
}

impl CrawlConfig {
    /// Checks every setting; the error names the first bad one.
    pub fn validate(self) -> Result<ValidConfig, ConfigError> {
        self.check_bounds()?;
        if self.workers == 0 || self.workers > 4096 {
            return Err(invalid(
                "workers",
                format!("{} is not between 1 and 4096", self.workers),
            ));
        }
        if self.per_host_concurrency == 0 {
            return Err(invalid("per-host-concurrency", "must be at least 1"));
        }
        if !self.per_host_rate.is_finite() || self.per_host_rate < 0.0 {
            return Err(invalid(
                "per-host-rate",
                format!(
                    "{} is not a number of requests per second >= 0",
                    self.per_host_rate
                ),
            ));
        }
        if self.per_host_rate > 0.0 && self.per_host_rate < 1e-6 {
            return Err(invalid("per-host-rate", "below one request per 11 days"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("timeout", "must be more than 0"));
        }
        if self.connect_timeout.is_zero() {
            return Err(invalid("connect-timeout", "must be more than 0"));
        }
        if self.max_body == 0 {
            return Err(invalid("max-body", "must be more than 0"));
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
        if self.park_after == 0 {
            return Err(invalid("park-after", "must be at least 1"));
        }
        if self.retry_backoff > self.max_backoff {
            return Err(invalid(
                "retry-backoff",
                "is longer than max-backoff, the longest pause allowed",
            ));
        }
        let sitemap_urls = self
            .sitemap_urls
            .iter()
            .map(|url| CanonicalUrl::parse(url).map_err(|e| invalid("sitemap", e.to_string())))
            .collect::<Result<_, _>>()?;
        let allow = compile_all("allow", &self.allow)?;
        let deny = compile_all("deny", &self.deny)?;
        let resolve = self
            .resolve
            .iter()
            .map(|rule| {
                rule.parse::<ResolveRule>()
                    .map_err(|e| invalid("resolve", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(ValidConfig {
            config: self,
            allow,
            deny,
            resolve,
            robots_agent,
            sitemap_urls,
        })
    }
}

impl ValidConfig {
    /// What fetching needs of these settings.
    pub fn fetch_settings(&self) -> FetchSettings {
        let config = &self.config;
        FetchSettings {
            user_agent: config.user_agent.clone(),
            timeout: config.timeout,
            connect_timeout: config.connect_timeout,
            max_body: config.max_body,
            idle_per_host: config.per_host_concurrency,
            resolve: self.resolve.clone(),
            credentials: config.credentials.clone(),
        }
    }
}

/// The longest duration any setting takes: past it a value is a typo, and instants
/// that far away overflow.
pub const MAX_SETTING_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The largest body limit: bodies are held in memory, one per worker.
pub const MAX_BODY_LIMIT: u64 = 1 << 30;

impl CrawlConfig {
    /// Limits that keep a crawl within its memory and its arithmetic: every value a
    /// flag can take either means something or is refused here, naming the setting.
    fn check_bounds(&self) -> Result<(), ConfigError> {
        let durations = [
            ("timeout", self.timeout),
            ("connect-timeout", self.connect_timeout),
            ("max-crawl-delay", self.max_crawl_delay),
            ("retry-backoff", self.retry_backoff),
            ("max-backoff", self.max_backoff),
            ("robots-ttl", self.robots_ttl),
        ];
        for (setting, duration) in durations {
            if duration > MAX_SETTING_DURATION {
                return Err(invalid(
                    setting,
                    format!("{} s is longer than a year", duration.as_secs()),
                ));
            }
        }
        if self.per_host_concurrency > 4096 {
            return Err(invalid(
                "per-host-concurrency",
                format!("{} is not between 1 and 4096", self.per_host_concurrency),
            ));
        }
        if self.per_host_rate > 1e6 {
            return Err(invalid(
                "per-host-rate",
                "above a million requests per second (0 means no limit)",
            ));
        }
        if self.max_body > MAX_BODY_LIMIT {
            return Err(invalid(
                "max-body",
                format!(
                    "{} bytes is over 1 GiB (bodies are held in memory)",
                    self.max_body
                ),
            ));
        }
        if self.max_pages == Some(0) || self.max_pages_per_host == Some(0) {
            let setting = if self.max_pages == Some(0) {
                "max-pages"
            } else {
                "max-pages-per-host"
            };
            return Err(invalid(
                setting,
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        if self.retries > 100 {
            return Err(invalid("retries", format!("{} is over 100", self.retries)));
        }
        if self.cache_mb > 1 << 20 {
            return Err(invalid(
                "cache-mb",
                format!("{} MB is over 1 TiB", self.cache_mb),
            ));
        }
        if !(64..=crate::url::MAX_URL_LEN).contains(&self.max_url_len) {
            return Err(invalid(
                "max-url-len",
                format!(
                    "{} is not between 64 and {}",
                    self.max_url_len,
                    crate::url::MAX_URL_LEN
                ),
            ));
        }
        Ok(())
    }

    /// The trap rules these settings ask for.
    pub fn trap_rules(&self) -> crate::traps::TrapRules {
        crate::traps::TrapRules {
            max_url_len: self.max_url_len,
            max_segment_repeats: self.max_segment_repeats,
        }
    }
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
            per_host_rate: 5.0,
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
                per_host_rate: 1e300,
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
                per_host_rate: -1.0,
                ..d()
            }),
            Some("per-host-rate")
        );
        assert_eq!(
            bad(CrawlConfig {
                per_host_rate: f64::NAN,
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
}
