//! Log lines on stderr through `tracing`: `-v`/`-q` pick the level, `--log-format`
//! the shape (text for people, one JSON object per line for machines).
//!
//! The levels apply to the crawler's own crates (`crawler`, `crawler_core`,
//! `crawler_storage`, `crawler_fixtures`); libraries below them (HTTP client, sled)
//! log at `warn` whatever the flags, or they would drown the crawl's own lines at
//! `-vv`. `CRAWLER_LOG`, when set, replaces all of this with `EnvFilter` directives
//! (`CRAWLER_LOG=crawler_core::frontier=trace,hyper=debug`).

use std::io::IsTerminal;

use clap::{ArgAction, Args, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::terminal::{self, StderrAboveBar};

/// The environment variable whose `EnvFilter` directives replace `-v`/`-q`.
pub const FILTER_VARIABLE: &str = "CRAWLER_LOG";

/// The shape of a log line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `TIME LEVEL THREAD TARGET: message fields`, for reading.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, threadName, target, fields), for machines.
    Json,
}

/// The logging flags, accepted before or after the subcommand.
#[derive(Args, Debug, Default, Clone)]
pub struct LogArgs {
    /// More log lines on stderr: -v info, -vv debug, -vvv trace [default: warnings and errors].
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Errors only on stderr, and no progress bar.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log lines as text or as JSON objects (one per line).
    #[arg(long, value_name = "FORMAT", global = true, default_value = "text")]
    pub log_format: LogFormat,
}

impl LogArgs {
    /// The level of the crawler's own crates.
    fn level(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "info",
            (false, 2) => "debug",
            (false, _) => "trace",
        }
    }

    /// The filter directives these flags stand for.
    pub fn directives(&self) -> String {
        let level = self.level();
        let others = if self.quiet { "error" } else { "warn" };
        format!(
            "{others},crawler={level},crawler_core={level},crawler_storage={level},crawler_fixtures={level}"
        )
    }
}

/// Installs the global subscriber. Called once, before any command runs.
pub fn init(args: &LogArgs) {
    let json = args.log_format == LogFormat::Json;
    terminal::set_notice_style(args.quiet, json);
    let filter = match std::env::var(FILTER_VARIABLE) {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new(args.directives()),
    };
    // A line that cannot be written (stderr closed: `crawler crawl -vv 2>&1 | head`) is
    // dropped. By default the subscriber reports that with `eprintln!`, which panics
    // on the same closed stderr, in whichever thread was logging.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(StderrAboveBar)
        .log_internal_errors(false)
        .with_thread_names(true);
    // A second subscriber cannot be installed; that only happens in tests.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_raises_the_level_of_our_crates_only() {
        let at = |verbose, quiet| {
            LogArgs {
                verbose,
                quiet,
                log_format: LogFormat::Text,
            }
            .directives()
        };
        assert!(at(0, false).starts_with("warn,crawler=warn,"));
        assert!(at(1, false).contains("crawler_core=info"));
        assert!(at(2, false).contains("crawler_storage=debug"));
        assert!(at(5, false).contains("crawler=trace"));
        assert!(at(5, false).starts_with("warn,"), "libraries stay at warn");
        assert!(at(0, true).starts_with("error,crawler=error"));
        for verbose in 0..4 {
            EnvFilter::try_new(at(verbose, false)).expect("valid directives");
        }
    }
}
