//! `crawler stats`: totals of a stored crawl, or of one host.

use std::io::{self, Write};
use std::process::ExitCode;

use crawler_core::pace::{self, NAMED_SLOWEST};
use crawler_storage::{Change, PageFilter, Store, StoreStats};

use super::reading::{answer_from, host_and_port};
use crate::args::StatsArgs;
use crate::escape::escaped;
use crate::report::{human_bytes, plural, print_slowest};
use crate::screen::Output;
use crate::time::rfc3339_secs;
use crate::Failure;

mod cluster;

pub fn run(args: StatsArgs) -> Result<ExitCode, Failure> {
    if let (Some(url), Some(crawl_id)) = (&args.cluster, &args.crawl_id) {
        return cluster::run(url, crawl_id, args.json);
    }
    // A bad --host is refused before the store is looked for.
    if let Some(text) = &args.host {
        host_and_port(text).map_err(Failure::Usage)?;
    }
    let Some(store) = &args.store else {
        return Err(Failure::Usage(
            "stats needs --store DIR or --cluster URL".into(),
        ));
    };
    answer_from(store, |store, out| answer(&args, store, out))
}

/// `stats` on an open store (this process's, or a running crawl's asked for it).
pub fn answer(args: &StatsArgs, store: &Store, output: &mut Output) -> Result<(), Failure> {
    let stats = match &args.host {
        None => store.stats()?,
        Some(text) => {
            let (host, port) = host_and_port(text).map_err(Failure::Usage)?;
            store.stats_for(&PageFilter {
                host: Some(host),
                port,
                ..PageFilter::default()
            })?
        }
    };
    let speed = Speed::of(&stats, args.host.is_none());
    // Each host's delay as the crawl last saved it: a figure of the whole crawl.
    let paces = match &args.host {
        None => pace::read(store)?,
        Some(_) => None,
    };
    let (slowest, slowed) = paces
        .as_ref()
        .map_or((Vec::new(), 0), |paces| paces.slowest(NAMED_SLOWEST));
    let out = &mut output.out;
    if args.json {
        let mut value = serde_json::to_value(&stats)?;
        if let Some(object) = value.as_object_mut() {
            // Every change kind, 0 included, so that a script need not know which
            // ones the crawl met.
            let by_change: serde_json::Map<String, serde_json::Value> = change_counts(&stats)
                .map(|(change, n)| (change.as_str().to_owned(), n.into()))
                .collect();
            object.insert("by_change".into(), by_change.into());
            // One elapsed time, in two units: the one the speed is measured over.
            object.insert("elapsed_ms".into(), speed.ms.into());
            object.insert("elapsed_secs".into(), speed.secs.into());
            object.insert("pages_per_sec".into(), speed.pages_per_sec.into());
            if args.host.is_some() {
                // Figures of the whole crawl, not of a host: left out rather than 0.
                object.remove("runs");
                object.remove("queued");
                object.remove("proxies");
            }
            if let Some(paces) = &paces {
                object.insert("slowest_hosts".into(), serde_json::to_value(&slowest)?);
                object.insert("hosts_slowed".into(), slowed.into());
                let saved = paces
                    .saved_at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_millis());
                let saved = u64::try_from(saved).unwrap_or(u64::MAX);
                object.insert("delays_saved_at".into(), rfc3339_secs(saved).into());
            }
        }
        serde_json::to_writer(&mut *out, &value)?;
        writeln!(out)?;
        return Ok(());
    }
    print_text(out, &stats, &speed, args.top, args.host.is_none())?;
    print_slowest(out, &slowest, slowed)?;
    Ok(())
}

/// How long the crawl (or the host's part of it) took, and how fast it went.
struct Speed {
    ms: u64,
    secs: f64,
    pages_per_sec: f64,
    /// What `secs` measures, for the text output.
    basis: &'static str,
}

impl Speed {
    /// The whole store: the runs' wall time, or the span of fetch times when no run
    /// finished (a killed crawl). One host: the span of its fetch times.
    fn of(stats: &StoreStats, whole_store: bool) -> Speed {
        let fetched = (stats.responses + stats.errors.values().sum::<u64>()) as f64;
        let span_ms = match (stats.first_fetch_ms, stats.last_fetch_ms) {
            (Some(first), Some(last)) => last.saturating_sub(first),
            _ => 0,
        };
        let (ms, basis) = if whole_store && stats.elapsed_ms > 0 {
            (stats.elapsed_ms, "wall time of the runs")
        } else {
            (span_ms, "first to last fetch")
        };
        let secs = ms as f64 / 1000.0;
        Speed {
            ms,
            secs,
            pages_per_sec: if secs > 0.0 { fetched / secs } else { 0.0 },
            basis,
        }
    }
}

/// What the last revisit of each revisited URL found, when the crawl revisited any:
/// `revisits: 12 URLs (not-modified: 9, unchanged: 2, changed: 1, gone: 0)`.
fn print_revisits(out: &mut impl Write, stats: &StoreStats) -> io::Result<()> {
    if stats.revisited == 0 {
        return Ok(());
    }
    let kinds: Vec<String> = change_counts(stats)
        .map(|(change, n)| format!("{change}: {n}"))
        .collect();
    writeln!(
        out,
        "revisits:  {} ({})",
        plural(stats.revisited, "URL"),
        kinds.join(", ")
    )
}

/// URLs by what their last revisit found, for every kind (0 when none).
fn change_counts(stats: &StoreStats) -> impl Iterator<Item = (Change, u64)> + '_ {
    Change::ALL.into_iter().map(|change| {
        let n = stats.by_change.get(change.as_str()).copied().unwrap_or(0);
        (change, n)
    })
}

fn print_text(
    out: &mut impl Write,
    stats: &StoreStats,
    speed: &Speed,
    top: usize,
    whole_store: bool,
) -> io::Result<()> {
    let queued = if whole_store {
        format!(", {} queued", stats.queued)
    } else {
        String::new()
    };
    writeln!(
        out,
        "urls:      {} ({}{queued})",
        stats.urls,
        plural(stats.responses, "response")
    )?;
    writeln!(out, "bytes:     {}", human_bytes(stats.bytes))?;
    if let (Some(first), Some(last)) = (stats.first_fetch_ms, stats.last_fetch_ms) {
        writeln!(
            out,
            "fetched:   {} .. {}",
            rfc3339_secs(first),
            rfc3339_secs(last)
        )?;
    }
    writeln!(
        out,
        "elapsed:   {:.1} s ({:.0} pages/s; {}{})",
        speed.secs,
        speed.pages_per_sec,
        speed.basis,
        if stats.runs > 0 {
            format!(", runs: {}", stats.runs)
        } else {
            String::new()
        }
    )?;
    for (class, n) in &stats.by_status_class {
        let codes: Vec<String> = stats
            .by_status
            .iter()
            .filter(|(code, _)| format!("{}xx", *code / 100) == *class)
            .map(|(code, n)| format!("{code}: {n}"))
            .collect();
        writeln!(out, "status {class}: {n} ({})", codes.join(", "))?;
    }
    for (kind, n) in &stats.errors {
        writeln!(out, "error {}: {n}", escaped(kind))?;
    }
    print_revisits(out, stats)?;
    for proxy in &stats.proxies {
        let outages = match proxy.outages {
            0 => String::new(),
            n => format!(", out {}", plural(n, "time")),
        };
        writeln!(
            out,
            "proxy {}: {}{outages}",
            escaped(&proxy.proxy),
            plural(proxy.requests, "request")
        )?;
    }
    let mut hosts: Vec<(&String, &u64)> = stats.pages_per_host.iter().collect();
    hosts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    writeln!(out, "hosts:     {}", hosts.len())?;
    for (host, n) in hosts.iter().take(top) {
        writeln!(out, "  {n:>8}  {}", escaped(host))?;
    }
    if hosts.len() > top {
        writeln!(out, "  ... {} more (--top N)", hosts.len() - top)?;
    }
    Ok(())
}
