//! Log lines on stderr through `tracing`: `-v`/`-q` pick the level, `--log-format`
//! the shape (text for people, one JSON object per line for machines).
//!
//! The levels apply to the crawler's own crates (`crawler`, `crawler_core`,
//! `crawler_storage`, `crawler_fixtures`). Libraries below them (HTTP client, TLS,
//! sled) are silent unless `-vv` or more, and then log at `warn`: their failures
//! reach the user as the error kinds of the URLs, and a TLS verifier's `ERROR` line
//! about one server's certificate is noise in a crawl's output; at `debug` they
//! would drown the crawl's own lines. `CRAWLER_LOG`, when set, replaces all of this
//! with `EnvFilter` directives (`CRAWLER_LOG=crawler_core::frontier=trace,hyper=debug`).

use std::io::IsTerminal;

use clap::{ArgAction, Args, ValueEnum};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{debug_fn, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::escape::escaped;

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
    #[arg(short, long, action = ArgAction::Count, global = true, help_heading = "Global options")]
    pub verbose: u8,
    /// Errors only on stderr, and no progress bar.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// Log lines as text or as JSON objects (one per line).
    #[arg(
        long,
        value_name = "FORMAT",
        global = true,
        default_value = "text",
        help_heading = "Global options"
    )]
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
        let others = if !self.quiet && self.verbose >= 2 {
            "warn"
        } else {
            "off"
        };
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
            .fmt_fields(escaped_fields())
            .with_ansi(std::io::stderr().is_terminal())
            .event_format(TextLine)
            .try_init()
    };
}

/// The widest thread name the crawler gives (`crawl-scheduler`): the thread column
/// is this wide from the first line on.
const THREAD_COLUMN: usize = 15;

/// A text line, `TIME LEVEL THREAD TARGET: message fields`, in columns that do not
/// move: `tracing-subscriber`'s own format widens the thread column each time a
/// longer name logs, shifting every later line.
struct TextLine;

impl<S, N> FormatEvent<S, N> for TextLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        SystemTime.format_time(&mut writer)?;
        let level = format!("{:>5}", meta.level());
        if writer.has_ansi_escapes() {
            let style = level_style(*meta.level());
            write!(writer, " {}{level}{}", style.render(), style.render_reset())?;
        } else {
            write!(writer, " {level}")?;
        }
        let thread = std::thread::current();
        let name = escaped(thread.name().unwrap_or("-")).to_string();
        write!(writer, " {name:>THREAD_COLUMN$} {}: ", meta.target())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The colour of a level on a terminal, as `tracing-subscriber` gives it.
fn level_style(level: Level) -> anstyle::Style {
    let colour = match level {
        Level::ERROR => anstyle::AnsiColor::Red,
        Level::WARN => anstyle::AnsiColor::Yellow,
        Level::INFO => anstyle::AnsiColor::Green,
        Level::DEBUG => anstyle::AnsiColor::Blue,
        Level::TRACE => anstyle::AnsiColor::Magenta,
    };
    anstyle::Style::new().fg_color(Some(colour.into()))
}

/// Text log fields as `tracing-subscriber` writes them (the message bare, others
/// `name=value`), every value through [`escaped`]: a URL, a title or a server's
/// reason can neither drive the terminal nor start a line of its own.
fn escaped_fields() -> impl for<'w> FormatFields<'w> {
    debug_fn(|writer, field, value| {
        let text = format!("{value:?}");
        match field.name() {
            "message" => write!(writer, "{}", escaped(&text)),
            name => write!(writer, "{name}={}", escaped(&text)),
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer into a shared buffer, for the subscriber under test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_has_its_columns_where_the_first_had_them() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(escaped_fields())
            .with_ansi(false)
            .event_format(TextLine)
            .with_writer(move || writer.clone())
            .finish();
        let dispatch = tracing::Dispatch::new(subscriber);
        for name in ["main", "worker-12", "crawl-scheduler", "io"] {
            let dispatch = dispatch.clone();
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    tracing::dispatcher::with_default(
                        &dispatch,
                        || tracing::warn!(target: "crawler_core::x", "from {}", "a thread"),
                    )
                })
                .unwrap()
                .join()
                .unwrap();
        }
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let columns: Vec<usize> = text
            .lines()
            .map(|l| l.find("crawler_core").unwrap())
            .collect();
        assert_eq!(columns.len(), 4, "{text}");
        assert!(columns.iter().all(|c| *c == columns[0]), "{text}");
        assert!(text.lines().all(|l| l.contains(" WARN ")), "{text}");
    }

    #[test]
    fn log_fields_show_control_characters_escaped() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(escaped_fields())
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let url = "http://a.test/\u{1b}]0;owned\u{7}";
            tracing::warn!(url = %url, why = %"a\rb\u{9b}2J", "fetched {}", "x\ny");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line = text.strip_suffix('\n').unwrap_or(&text);
        assert!(!line.contains(char::is_control), "{line:?}");
        assert!(
            line.contains(
                "fetched x\\x0ay url=http://a.test/\\x1b]0;owned\\x07 why=a\\x0db\\u{9b}2J"
            ),
            "{line:?}"
        );
    }

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
        assert!(at(0, false).starts_with("off,crawler=warn,"));
        assert!(at(1, false).contains("crawler_core=info"));
        assert!(at(1, false).starts_with("off,"), "libraries are silent");
        assert!(at(2, false).contains("crawler_storage=debug"));
        assert!(
            at(2, false).starts_with("warn,"),
            "-vv hears libraries' warnings"
        );
        assert!(at(5, false).contains("crawler=trace"));
        assert!(at(5, false).starts_with("warn,"), "libraries stay at warn");
        assert!(at(0, true).starts_with("off,crawler=error"));
        for verbose in 0..4 {
            EnvFilter::try_new(at(verbose, false)).expect("valid directives");
        }
    }
}
