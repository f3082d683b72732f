//! What the user sees of a crawl: the live progress line and the final summary.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crawler_core::{CrawlSummary, Progress, Snapshot};
use crawler_storage::{CrawlRun, StoreStats};
use crossbeam_channel::{bounded, Sender};

use crate::escape::{escape, escaped};
use crate::{terminal, time};

/// A progress line on stderr, redrawn four times a second; absent when stderr is not a
/// terminal or with `-q`. Log lines and notices are written above it (`terminal`).
pub struct ProgressBar {
    done: Sender<()>,
    thread: thread::JoinHandle<()>,
}

/// Redraws per second: enough to look alive, few enough to cost nothing.
const REDRAWS_PER_SEC: u8 = 4;

impl ProgressBar {
    pub fn start(progress: Arc<Progress>) -> Option<ProgressBar> {
        if !io::stderr().is_terminal() || terminal::is_quiet() {
            return None;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            None,
            indicatif::ProgressDrawTarget::stderr_with_hz(REDRAWS_PER_SEC),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let (done, stop) = bounded::<()>(1);
        let period = Duration::from_millis(1000 / u64::from(REDRAWS_PER_SEC));
        terminal::show_bar(bar.clone());
        let thread = thread::Builder::new()
            .name("progress".into())
            .spawn(move || loop {
                bar.set_message(progress_line(&progress.snapshot()));
                bar.tick();
                if stop.recv_timeout(period).is_ok() {
                    terminal::hide_bar();
                    bar.finish_and_clear();
                    return;
                }
            });
        match thread {
            Ok(thread) => Some(ProgressBar { done, thread }),
            Err(_) => {
                terminal::hide_bar();
                None
            }
        }
    }

    pub fn finish(self) {
        let _ = self.done.send(());
        let _ = self.thread.join();
    }
}

/// `1234 pages, 56/s, 789 queued, 16 in flight, 12 hosts active, 1 parked, 3 errors`.
fn progress_line(s: &Snapshot) -> String {
    format!(
        "{}, {:.0}/s, {} queued, {} in flight, {} active, {} parked, {}",
        plural(s.fetched, "page"),
        s.pages_per_sec,
        s.queued,
        s.in_flight,
        plural(s.hosts_active, "host"),
        s.hosts_parked,
        plural(s.errors, "error")
    )
}

/// Prints the summary; `overrides` are the stored settings that flags changed on resume
/// (`setting: stored -> now`).
pub fn print_summary(
    summary: &CrawlSummary,
    store: &Path,
    json: bool,
    overrides: &[String],
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if json {
        let mut value = serde_json::to_value(summary)?;
        if let (Some(object), false) = (value.as_object_mut(), overrides.is_empty()) {
            object.insert("settings_overridden".into(), overrides.into());
        }
        serde_json::to_writer(&mut out, &value)?;
        return writeln!(out);
    }
    if !overrides.is_empty() {
        writeln!(
            out,
            "Resumed with the stored settings, except: {}",
            overrides.join(", ")
        )?;
    }
    writeln!(
        out,
        "{} {} in {:.1} s ({:.0} pages/s), {}",
        if summary.stopped {
            "Stopped after"
        } else {
            "Crawled"
        },
        plural(summary.pages_fetched, "page"),
        summary.elapsed_secs,
        summary.pages_per_sec,
        human_bytes(summary.bytes)
    )?;
    if !summary.by_status_class.is_empty() {
        writeln!(out, "  responses: {}", counts(&summary.by_status_class))?;
    }
    if !summary.errors.is_empty() {
        writeln!(out, "  errors: {}", counts(&summary.errors))?;
    }
    if summary.queued_left > 0 {
        writeln!(
            out,
            "  {} left in the frontier",
            plural(summary.queued_left, "URL")
        )?;
    }
    print_politeness(&mut out, summary)?;
    writeln!(out, "  store: {}", escaped(&store.display().to_string()))
}

/// `2xx 40, 4xx 2` or `connect 3, timeout 1`: counts by name, as the summary shows them.
pub fn counts(by_name: &BTreeMap<String, u64>) -> String {
    let counts: Vec<String> = by_name
        .iter()
        .map(|(name, n)| format!("{} {n}", escaped(name)))
        .collect();
    counts.join(", ")
}

/// Says that the store's crawl has nothing left to do, when it ended, and how to
/// go on: what `crawler crawl --store S` without seeds prints on a finished crawl.
pub fn print_complete(
    stats: &StoreStats,
    runs: &[CrawlRun],
    store: &Path,
    json: bool,
) -> io::Result<()> {
    // A killed last run has no end: its last fetch is the best answer.
    let ended_ms = runs
        .iter()
        .rev()
        .find_map(|run| run.finished_at_ms)
        .or(stats.last_fetch_ms);
    let ended = ended_ms.map(time::rfc3339_secs);
    let mut out = io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "complete": true,
            "pages_fetched": 0,
            "queued_left": 0,
            "stopped": false,
            "stored_urls": stats.urls,
            "ended_at": ended,
        });
        serde_json::to_writer(&mut out, &value)?;
        return writeln!(out);
    }
    let store = escape(&store.display().to_string());
    writeln!(
        out,
        "The crawl in {store} is complete: {} stored{}; nothing is left to fetch.",
        plural(stats.urls, "URL"),
        ended.map_or(String::new(), |at| format!(", last run ended {at}")),
    )?;
    writeln!(
        out,
        "  to add pages:         crawler crawl --store {store} URL... (or --seeds FILE)"
    )?;
    writeln!(
        out,
        "  to start it over:     crawler crawl --store {store} --fresh --force URL..."
    )?;
    writeln!(out, "  to see what it holds: crawler stats --store {store}")
}

/// `1 page`, `2 pages`: a count and its noun, which takes an `s` unless it is one.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// robots.txt, retries, capped crawl delays and parked hosts: what politeness did.
fn print_politeness(out: &mut impl Write, summary: &CrawlSummary) -> io::Result<()> {
    if summary.ignored_robots {
        writeln!(out, "  robots.txt: ignored (--ignore-robots)")?;
    } else {
        let failed = match summary.robots_failed {
            0 => String::new(),
            n => format!(", {n} without a response"),
        };
        writeln!(
            out,
            "  robots.txt: {} fetched{failed}",
            summary.robots_fetched
        )?;
    }
    if summary.retries > 0 {
        writeln!(out, "  retries: {}", summary.retries)?;
    }
    for (host, asked) in &summary.crawl_delay_capped {
        writeln!(
            out,
            "  Crawl-delay capped: {} asked for {asked} s (see --max-crawl-delay)",
            escaped(host)
        )?;
    }
    for (host, why) in &summary.parked_hosts {
        writeln!(out, "  parked: {}: {}", escaped(host), escaped(why))?;
    }
    Ok(())
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for next in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}
