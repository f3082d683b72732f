//! A live status in Prometheus' text exposition format (version 0.0.4): `# HELP` and
//! `# TYPE` before each family, counters ending in `_total`, histograms as cumulative
//! `_bucket{le=...}` lines with `_sum` and `_count`.
//!
//! Every error kind and status class is written, at 0 when none was seen, so a
//! series exists from the first scrape and rates over it work.

use std::collections::BTreeMap;
use std::fmt::Write;

use crawler_core::live::Histogram;
use crawler_core::progress::STATUS_CLASSES;
use crawler_core::{ErrorKind, LiveStatus};

pub fn encode(status: &LiveStatus) -> String {
    let c = &status.counters;
    let mut out = String::with_capacity(8 * 1024);
    let counters: [(&str, &str, u64); 8] = [
        (
            "crawler_retries_total",
            "Failed fetches tried again.",
            status.retries,
        ),
        (
            "crawler_robots_fetched_total",
            "robots.txt fetches that got a response, of any status.",
            status.robots_fetched,
        ),
        (
            "crawler_robots_failed_total",
            "robots.txt fetches that got no response.",
            status.robots_failed,
        ),
        (
            "crawler_pages_fetched_total",
            "Page fetches completed, with a response or an error (retried attempts not counted).",
            c.fetched,
        ),
        (
            "crawler_fetch_errors_total",
            "Page fetches that ended in an error.",
            c.errors,
        ),
        (
            "crawler_bytes_total",
            "Decompressed body bytes received.",
            c.bytes,
        ),
        (
            "crawler_hook_failures_total",
            "Hook calls that failed or panicked.",
            c.hook_failures,
        ),
        (
            "crawler_events_dropped_total",
            "Events not delivered because the event channel was full.",
            c.events_dropped,
        ),
    ];
    for (name, help, value) in counters {
        family(&mut out, name, help, "counter");
        let _ = writeln!(out, "{name} {value}");
    }
    labelled(
        &mut out,
        (
            "crawler_responses_total",
            "HTTP responses to page fetches, by status class.",
        ),
        "class",
        &STATUS_CLASSES,
        &status.responses_by_class,
    );
    let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|kind| kind.as_str()).collect();
    labelled(
        &mut out,
        (
            "crawler_errors_total",
            "URLs recorded with an error (failed fetches and refused URLs), by kind.",
        ),
        "kind",
        &kinds,
        &status.errors_by_kind,
    );
    let gauges: [(&str, &str, f64); 8] = [
        (
            "crawler_urls_queued",
            "URLs waiting in the frontier.",
            c.queued as f64,
        ),
        (
            "crawler_fetches_in_flight",
            "Fetches under way.",
            c.in_flight as f64,
        ),
        ("crawler_hosts", "Hosts the frontier knows.", c.hosts as f64),
        (
            "crawler_hosts_active",
            "Hosts with work queued or in flight, not parked.",
            c.hosts_active as f64,
        ),
        (
            "crawler_hosts_parked",
            "Hosts parked after failures, or closed for an unreachable robots.txt.",
            c.hosts_parked as f64,
        ),
        (
            "crawler_hosts_backing_off",
            "Hosts backing off after failures or slow-down answers (refreshed each second).",
            status.hosts_backing_off as f64,
        ),
        (
            "crawler_paused",
            "1 while the crawl is paused.",
            f64::from(u8::from(c.paused)),
        ),
        (
            "crawler_elapsed_seconds",
            "Seconds since the crawl was set up.",
            c.elapsed_secs,
        ),
    ];
    for (name, help, value) in gauges {
        family(&mut out, name, help, "gauge");
        let _ = writeln!(out, "{name} {value}");
    }
    histogram(
        &mut out,
        (
            "crawler_fetch_duration_seconds",
            "Page fetch durations, body included.",
        ),
        &status.fetch_seconds,
    );
    histogram(
        &mut out,
        (
            "crawler_store_write_duration_seconds",
            "Store writes of a page with its links and frontier changes.",
        ),
        &status.store_write_seconds,
    );
    out
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A counter family with one series per label value; `known` first (0 when absent),
/// then any other value `values` has.
fn labelled(
    out: &mut String,
    (name, help): (&str, &str),
    label: &str,
    known: &[&str],
    values: &BTreeMap<String, u64>,
) {
    family(out, name, help, "counter");
    let others = values
        .keys()
        .map(String::as_str)
        .filter(|v| !known.contains(v));
    for value in known.iter().copied().chain(others) {
        let count = values.get(value).copied().unwrap_or(0);
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {count}", escape(value));
    }
}

fn histogram(out: &mut String, (name, help): (&str, &str), histogram: &Histogram) {
    family(out, name, help, "histogram");
    for (bound, count) in histogram.cumulative() {
        let le = if bound.is_infinite() {
            "+Inf".to_owned()
        } else {
            bound.to_string()
        };
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_sum {}", histogram.sum);
    let _ = writeln!(out, "{name}_count {}", histogram.count);
}

/// A label value as the format quotes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_series_and_histograms_are_cumulative() {
        let mut status = LiveStatus::default();
        status.counters.fetched = 7;
        status.errors_by_kind.insert("timeout".into(), 2);
        status.fetch_seconds = Histogram {
            bounds: vec![0.1, 1.0],
            counts: vec![3, 1, 2],
            sum: 9.5,
            count: 6,
        };
        let text = encode(&status);
        assert!(text.contains("\ncrawler_pages_fetched_total 7\n"), "{text}");
        assert!(text.contains("\ncrawler_retries_total 0\n"), "{text}");
        assert!(text.contains("crawler_errors_total{kind=\"timeout\"} 2\n"));
        assert!(text.contains("crawler_errors_total{kind=\"connect\"} 0\n"));
        assert!(text.contains("crawler_responses_total{class=\"2xx\"} 0\n"));
        assert!(text.contains("crawler_fetch_duration_seconds_bucket{le=\"0.1\"} 3\n"));
        assert!(text.contains("crawler_fetch_duration_seconds_bucket{le=\"1\"} 4\n"));
        assert!(text.contains("crawler_fetch_duration_seconds_bucket{le=\"+Inf\"} 6\n"));
        assert!(text.contains("crawler_fetch_duration_seconds_count 6\n"));
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
