//! Every flag of the `crawler` command, with its help text, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use crawler_core::{BodyPolicy, CrawlConfig, ScopeMode};

pub const EXIT_CODES: &str = "\
Exit codes:
  0    done
  1    error (the store could not be opened or written, a crawl failed)
  2    bad usage (unknown flag, bad value, bad seed line)";

#[derive(Parser, Debug)]
#[command(name = "crawler", version, about = "A polite, crash-safe web crawler with a queryable store.", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Crawl from seed URLs into a store (continues the crawl a store already holds).
    Crawl(Box<CrawlArgs>),
    /// Totals of a stored crawl: statuses, errors, bytes, pages per host.
    Stats(StatsArgs),
    /// One line per stored URL.
    Ls(LsArgs),
    /// One stored URL: its record, body or links.
    Get(GetArgs),
    /// Start a small synthetic web on loopback, crawl it, and show how to query the result.
    Demo(DemoArgs),
}

#[derive(Args, Debug)]
pub struct CrawlArgs {
    /// Seed URLs (http or https).
    pub urls: Vec<String>,
    /// Read seeds from FILE, one URL per line (`-` for standard input; `#` starts a comment).
    #[arg(long, value_name = "FILE")]
    pub seeds: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub settings: CrawlSettings,
}

/// The crawl settings; each overrides the matching field of [`CrawlConfig::default`].
#[derive(Args, Debug, Default)]
pub struct CrawlSettings {
    /// Store directory (created if absent).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// Worker threads [default: 16].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Requests in flight at once per host (scheme + host + port) [default: 1].
    #[arg(long, value_name = "N")]
    pub per_host_concurrency: Option<usize>,
    /// Requests per second per host, evenly spaced; 0 for no limit [default: 2].
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    pub per_host_rate: Option<f64>,
    /// What the seeds admit: host (the seeds' hosts), domain (their registrable domains), all [default: host].
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<ScopeMode>,
    /// Only URLs matching one of these regexes (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub allow: Vec<String>,
    /// No URL matching any of these regexes (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub deny: Vec<String>,
    /// Follow links at most N hops from a seed (seeds are depth 0).
    #[arg(long, value_name = "N")]
    pub max_depth: Option<u32>,
    /// Stop after starting N fetches.
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,
    /// Start at most N fetches per host.
    #[arg(long, value_name = "N")]
    pub max_pages_per_host: Option<u64>,
    /// The User-Agent header [default: crawler/VERSION].
    #[arg(long, value_name = "UA")]
    pub user_agent: Option<String>,
    /// Seconds allowed per request, body included [default: 30].
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// Seconds allowed to connect [default: 10].
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub connect_timeout: Option<f64>,
    /// Largest body accepted, after decompression: bytes, or with K, M, G (KiB, MiB, GiB) [default: 10M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_body: Option<u64>,
    /// Which bodies to store: all (up to --max-body) or html (others as metadata only) [default: all].
    #[arg(long, value_name = "WHICH")]
    pub bodies: Option<BodyPolicy>,
    /// Redirect hops followed from one URL [default: 10].
    #[arg(long, value_name = "N")]
    pub max_redirects: Option<u8>,
    /// Resolve HOST to ADDR (curl syntax HOST:PORT:ADDR; HOST may be *.example.test). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// sled page cache in MiB [default: 256].
    #[arg(long, value_name = "MB")]
    pub cache_mb: Option<u64>,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

impl CrawlSettings {
    /// The configuration: defaults, overridden by the flags given.
    pub fn to_config(&self) -> Result<CrawlConfig, String> {
        let mut config = CrawlConfig {
            store: self.store.clone(),
            ..CrawlConfig::default()
        };
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(value) = self.$field.clone() { config.$field = value; })* };
        }
        set!(
            workers,
            per_host_concurrency,
            per_host_rate,
            scope,
            max_body,
            bodies,
            max_redirects,
            user_agent,
            cache_mb
        );
        config.max_depth = self.max_depth;
        config.max_pages = self.max_pages;
        config.max_pages_per_host = self.max_pages_per_host;
        config.allow = self.allow.clone();
        config.deny = self.deny.clone();
        config.resolve = self.resolve.clone();
        if let Some(secs) = self.timeout {
            config.timeout = seconds("--timeout", secs)?;
        }
        if let Some(secs) = self.connect_timeout {
            config.connect_timeout = seconds("--connect-timeout", secs)?;
        }
        Ok(config)
    }
}

fn seconds(flag: &str, secs: f64) -> Result<std::time::Duration, String> {
    std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{flag}: {secs} is not a positive number of seconds"))
}

/// `1048576`, `512K`, `10M`, `1G` (binary units).
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (digits, unit) = match trimmed.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 10M"))?;
    let multiplier: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use K, M or G)")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
    /// Hosts listed in the text output (by pages, most first).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// The URL (any spelling; it is canonicalized).
    pub url: String,
    /// Print the stored body, as stored (bytes).
    #[arg(long, conflicts_with_all = ["links", "json"])]
    pub body: bool,
    /// Print the outlinks, one per line.
    #[arg(long, conflicts_with = "json")]
    pub links: bool,
    /// Print the record and its outlinks as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Store directory [default: a new directory under the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Synthetic hosts.
    #[arg(long, default_value_t = 5)]
    pub hosts: usize,
    /// Pages per host.
    #[arg(long, default_value_t = 60)]
    pub pages: usize,
    /// Requests per second per host.
    #[arg(long, default_value_t = 20.0)]
    pub per_host_rate: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn flags_override_defaults_only_when_given() {
        let settings = CrawlSettings {
            store: "s".into(),
            workers: Some(3),
            ..CrawlSettings::default()
        };
        let config = settings.to_config().unwrap();
        assert_eq!(config.workers, 3);
        assert_eq!(config.per_host_rate, CrawlConfig::default().per_host_rate);
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
