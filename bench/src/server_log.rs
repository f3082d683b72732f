//! Judging a crawl from the server's side: the request log that
//! `crawler-fixtures serve --log FILE` streams (one [`LogLine`] per request).
//!
//! Every tool is judged the same way, whatever it says about itself: which
//! pages it fetched (so no one is faster by doing less), what else it asked for,
//! and how it spaced its requests to each host.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crawler_fixtures::LogLine;

/// Reads a streamed request log.
pub fn read(path: &Path) -> Result<Vec<LogLine>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the request log {}: {e}", path.display()))?;
    text.lines()
        .map(|line| LogLine::parse(line).ok_or_else(|| format!("bad log line {line:?}")))
        .collect()
}

/// What a crawl did, as the server saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    /// Requests of any kind.
    pub requests: usize,
    /// Expected pages answered 200 at least once.
    pub pages: usize,
    /// Expected pages never fetched.
    pub missing: usize,
    /// Requests of an expected page after its first.
    pub duplicates: usize,
    /// `/robots.txt` requests.
    pub robots: usize,
    /// Requests that were neither an expected page nor a robots.txt (404s of
    /// misspelled URLs, out-of-scope hosts, ...).
    pub extra: usize,
    /// Pairs of consecutive requests to one host that started less than the
    /// interval apart (0 when no interval was asked).
    pub violations: usize,
    /// The shortest gap between the starts of consecutive requests to one host,
    /// in microseconds (`None` with fewer than two requests on every host).
    pub min_gap_us: Option<u64>,
    /// The most requests open at once on one host.
    pub max_open_per_host: usize,
    /// From the first request's start to the last response's end, microseconds.
    pub span_us: u64,
}

/// Judges `lines` against the pages a complete crawl fetches (`(host, path)`
/// pairs), counting requests to one host that start less than `interval_us`
/// apart as violations (`0`: no interval).
pub fn judge(
    lines: &[LogLine],
    expected: &BTreeSet<(String, String)>,
    interval_us: u64,
) -> Judgement {
    let mut judgement = Judgement {
        requests: lines.len(),
        ..Judgement::default()
    };
    let mut fetched: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut by_host: HashMap<&str, Vec<(u64, u64)>> = HashMap::new();
    for line in lines {
        by_host
            .entry(line.host.as_str())
            .or_default()
            .push((line.start_us, line.end_us));
        let key = (line.host.clone(), line.path.clone());
        if line.path == "/robots.txt" {
            judgement.robots += 1;
        } else if expected.contains(&key) {
            if line.status != 200 || !fetched.insert((&line.host, &line.path)) {
                judgement.duplicates += 1;
            }
        } else {
            judgement.extra += 1;
        }
    }
    judgement.pages = fetched.len();
    judgement.missing = expected.len() - judgement.pages;
    for times in by_host.values_mut() {
        times.sort_unstable();
        for pair in times.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            judgement.min_gap_us = Some(judgement.min_gap_us.map_or(gap, |min| min.min(gap)));
            if gap < interval_us {
                judgement.violations += 1;
            }
        }
        judgement.max_open_per_host = judgement.max_open_per_host.max(max_open(times));
    }
    let first = lines.iter().map(|l| l.start_us).min().unwrap_or(0);
    let last = lines.iter().map(|l| l.end_us).max().unwrap_or(0);
    judgement.span_us = last.saturating_sub(first);
    judgement
}

/// The most intervals (sorted by start) open at one instant; one that ends
/// exactly when another starts does not overlap it.
fn max_open(sorted: &[(u64, u64)]) -> usize {
    let mut ends: std::collections::BinaryHeap<std::cmp::Reverse<u64>> = Default::default();
    let mut most = 0;
    for &(start, end) in sorted {
        while ends.peek().is_some_and(|&std::cmp::Reverse(e)| e <= start) {
            ends.pop();
        }
        ends.push(std::cmp::Reverse(end));
        most = most.max(ends.len());
    }
    most
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(host: &str, path: &str, start_us: u64, end_us: u64, status: u16) -> LogLine {
        LogLine {
            start_us,
            end_us,
            status,
            connection: 1,
            host: host.into(),
            path: path.into(),
        }
    }

    #[test]
    fn counts_pages_extras_duplicates_and_spacing() {
        let expected: BTreeSet<(String, String)> = [("a", "/"), ("a", "/page/1"), ("b", "/")]
            .map(|(h, p)| (h.to_string(), p.to_string()))
            .into();
        let lines = [
            line("a", "/robots.txt", 0, 100, 404),
            line("a", "/", 400_000, 400_100, 200),
            line("a", "/x/../page/1", 1_000_000, 1_000_100, 404),
            line("a", "/page/1", 1_500_000, 1_500_100, 200),
            line("a", "/page/1", 2_000_000, 2_000_100, 200),
            line("b", "/robots.txt", 10, 600_000, 404),
            line("b", "/", 500_000, 500_100, 200),
        ];
        let j = judge(&lines, &expected, 500_000);
        assert_eq!(j.requests, 7);
        assert_eq!((j.pages, j.missing, j.duplicates), (3, 0, 1));
        assert_eq!((j.robots, j.extra), (2, 1));
        // a: robots -> / is 0.4 s; b: robots -> / is 0.49999 s.
        assert_eq!(j.violations, 2);
        assert_eq!(j.min_gap_us, Some(400_000));
        assert_eq!(j.max_open_per_host, 2);
        assert_eq!(j.span_us, 2_000_100);
        let partial = judge(&lines[..2], &expected, 0);
        assert_eq!(
            (partial.pages, partial.missing, partial.violations),
            (1, 2, 0)
        );
    }
}
