//! What the user sees of a crawl: the live progress line and the final summary.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crawler_core::pace::HostPace;
use crawler_core::{CrawlSummary, Progress, RenderSummary, Snapshot};
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

/// What the progress line needs to know of the crawl's settings.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// `--max-pages`: with one, the line has a bar and an ETA.
    pub budget: Option<u64>,
    pub workers: u64,
    pub per_host_concurrency: u64,
}

impl Pace {
    /// Whether the crawl waits on its hosts' clocks (rate, Crawl-delay, backoff) rather
    /// than on workers or servers: URLs are queued, yet fewer fetches are in flight
    /// than both the workers and the active hosts' concurrency allow.
    fn limited_by_politeness(&self, s: &Snapshot) -> bool {
        let room = self
            .workers
            .min(s.hosts_active.saturating_mul(self.per_host_concurrency));
        s.queued > 0 && s.hosts_active > 0 && s.in_flight < room
    }
}

impl ProgressBar {
    pub fn start(progress: Arc<Progress>, pace: Pace) -> Option<ProgressBar> {
        if !io::stderr().is_terminal() || terminal::is_quiet() {
            return None;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            pace.budget,
            indicatif::ProgressDrawTarget::stderr_with_hz(REDRAWS_PER_SEC),
        );
        let template = match pace.budget {
            Some(_) => "{spinner} {elapsed_precise} [{bar:20}] {pos}/{len} ETA {eta} {msg}",
            None => "{spinner} {elapsed_precise} {msg}",
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
                .progress_chars("=> "),
        );
        let (done, stop) = bounded::<()>(1);
        let period = Duration::from_millis(1000 / u64::from(REDRAWS_PER_SEC));
        terminal::show_bar(bar.clone());
        let thread = thread::Builder::new()
            .name("progress".into())
            .spawn(move || loop {
                let snapshot = progress.snapshot();
                let mut line = progress_line(&snapshot);
                if pace.limited_by_politeness(&snapshot) {
                    line.push_str(" (limited by politeness: --per-host-rate, Crawl-delay)");
                }
                bar.set_message(line);
                if let Some(budget) = pace.budget {
                    bar.set_position(snapshot.fetched.min(budget));
                }
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
    print_rendering(&mut out, &summary.rendering)?;
    let revisits = &summary.revisits;
    if !revisits.is_empty() {
        writeln!(
            out,
            "  revisited: {} (not modified {}, unchanged {}, changed {}, gone {}); new pages {}",
            revisits.revisited,
            revisits.not_modified,
            revisits.unchanged,
            revisits.changed,
            revisits.gone,
            revisits.new
        )?;
    }
    if summary.queued_left > 0 {
        writeln!(
            out,
            "  {} left in the frontier",
            plural(summary.queued_left, "URL")
        )?;
    }
    if summary.urls_over_budget > 0 {
        writeln!(
            out,
            "  {} URLs not queued: over --max-queued-per-host or --max-sitemap-urls (the pages that had them: crawler ls --error budget-exceeded)",
            summary.urls_over_budget
        )?;
    }
    print_politeness(&mut out, summary)?;
    print_proxies(&mut out, summary)?;
    writeln!(out, "  store: {}", escaped(&store.display().to_string()))
}

/// `  rendered: idle 4, render-timeout 1 (crawler get URL --rendered)`, and with
/// `--render auto` a line per host tried: whether it is rendered, and why.
fn print_rendering(out: &mut impl Write, rendering: &RenderSummary) -> io::Result<()> {
    if !rendering.pages.is_empty() {
        writeln!(
            out,
            "  rendered: {} (crawler get URL --rendered)",
            counts(&rendering.pages)
        )?;
    }
    if rendering.hosts_tried > 0 {
        writeln!(
            out,
            "  --render auto: {} of {} rendered",
            rendering.hosts_rendered,
            plural(rendering.hosts_tried, "host")
        )?;
    }
    for (host, decided) in &rendering.hosts {
        let verdict = if decided.rendered {
            "rendered"
        } else {
            "not rendered"
        };
        writeln!(
            out,
            "    {}: {verdict}: {}",
            escaped(host),
            escaped(&decided.why)
        )?;
    }
    Ok(())
}

/// `  proxies: http://127.0.0.1:3128 40 requests, socks5://***@10.0.0.2:1080 12
/// requests (out 1 time); 3 hosts moved`, when the crawl had a `--proxy`.
fn print_proxies(out: &mut impl Write, summary: &CrawlSummary) -> io::Result<()> {
    if summary.proxies.is_empty() {
        return Ok(());
    }
    let each: Vec<String> = summary
        .proxies
        .iter()
        .map(|proxy| {
            let outages = match proxy.outages {
                0 => String::new(),
                n => format!(" (out {})", plural(n, "time")),
            };
            format!(
                "{} {}{outages}",
                proxy.proxy,
                plural(proxy.requests, "request")
            )
        })
        .collect();
    let moved = match summary.proxy_hosts_moved {
        0 => String::new(),
        n => format!("; {} moved off a proxy that was out", plural(n, "host")),
    };
    writeln!(out, "  proxies: {}{moved}", escaped(&each.join(", ")))
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
    if summary.insecure {
        writeln!(
            out,
            "  TLS certificates: not checked (--insecure); such records say tls_unverified"
        )?;
    }
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
    if summary.crawl_delay_capped_unnamed > 0 {
        writeln!(
            out,
            "  Crawl-delay capped: {} more hosts",
            summary.crawl_delay_capped_unnamed
        )?;
    }
    print_slowest(
        out,
        &summary.slowed.slowest_hosts,
        summary.slowed.hosts_slowed,
    )?;
    for (host, why) in &summary.parked_hosts {
        writeln!(out, "  parked: {}: {}", escaped(host), escaped(why))?;
    }
    if summary.parked_hosts_unnamed > 0 {
        writeln!(
            out,
            "  parked: {} more hosts (their URLs are recorded as host-unreachable)",
            summary.parked_hosts_unnamed
        )?;
    }
    Ok(())
}

/// The hosts spaced out the most (their delay between requests, their backoff), and
/// how many are slowed in all: a broad crawl's million hosts are counted, not listed.
pub fn print_slowest(out: &mut impl Write, slowest: &[HostPace], count: u64) -> io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "  slowed hosts: {count} (delay above a new host's, or backing off); the slowest:"
    )?;
    for host in slowest {
        let backoff = match host.backoff_level {
            0 => String::new(),
            level => format!("  (backing off, level {level})"),
        };
        writeln!(
            out,
            "    {:>9}  {}{backoff}",
            format!("{:.3} s", host.delay_secs),
            escaped(&host.host)
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn politeness_limits_when_urls_wait_and_room_is_left() {
        let pace = Pace {
            budget: None,
            workers: 16,
            per_host_concurrency: 1,
        };
        let at = |queued, in_flight, hosts_active| Snapshot {
            queued,
            in_flight,
            hosts_active,
            ..Snapshot::default()
        };
        assert!(pace.limited_by_politeness(&at(50, 0, 2)));
        assert!(pace.limited_by_politeness(&at(50, 1, 2)));
        assert!(!pace.limited_by_politeness(&at(50, 2, 2)), "each host busy");
        assert!(!pace.limited_by_politeness(&at(0, 0, 2)), "nothing queued");
        assert!(
            !pace.limited_by_politeness(&at(500, 16, 40)),
            "every worker busy"
        );
    }

    #[test]
    fn counts_of_one_are_singular() {
        let line = progress_line(&Snapshot {
            fetched: 1,
            hosts_active: 1,
            errors: 1,
            ..Snapshot::default()
        });
        assert!(line.starts_with("1 page, "), "{line}");
        assert!(
            line.contains(" 1 host active, ") && line.ends_with(" 1 error"),
            "{line}"
        );
    }
}
