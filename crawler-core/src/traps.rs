//! Crawler traps: sites that generate URLs without end.
//!
//! A calendar whose every month links to the next, session IDs that make every
//! visit a new URL, relative links that nest one directory deeper on every page
//! (`a/` from `/a/` is `/a/a/`): each is a finite site with an infinite URL space.
//! Depth (`--max-depth`) and per-host budgets (`--max-pages-per-host`) bound all of
//! them; the two rules here catch the commonest shapes early, on the URL alone,
//! before a fetch is spent on them:
//!
//! - **length**: a canonical URL longer than `max_url_len` bytes (2,048 by
//!   default; browsers and search engines start to cut URLs around there);
//! - **repeated path segments**: one path segment spelled the same way more than
//!   `max_segment_repeats` times (3 by default). Ever-deeper relative links
//!   (`/docs/img/img/img/img/`) and loops between two directories
//!   (`/a/b/a/b/a/b/a/b/`) trip it; real dated paths (`/2024/01/01/`) do not.
//!
//! A URL caught here is not fetched: the store records it with the error
//! `trap-suspected` and the rule it broke. Since each rule looks at one URL of one
//! host, a trap on one host costs the others nothing. Calendars and session IDs
//! have no URL-shaped tell; the depth and per-host limits are what bound them.

use std::collections::HashMap;
use std::fmt;

use crawler_storage::PageRecord;

use crate::error_kind::ErrorKind;
use crate::url::CanonicalUrl;

/// The trap rules of a crawl (from `CrawlConfig::max_url_len` and
/// `CrawlConfig::max_segment_repeats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapRules {
    /// Longest canonical URL fetched, in bytes.
    pub max_url_len: usize,
    /// Times one path segment may appear in a path; 0 for no limit.
    pub max_segment_repeats: u32,
}

impl Default for TrapRules {
    fn default() -> TrapRules {
        TrapRules {
            max_url_len: 2048,
            max_segment_repeats: 3,
        }
    }
}

/// Why a URL looks like a trap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trap {
    /// The canonical URL is longer than the cap.
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The cap (`--max-url-len`).
        max: usize,
    },
    /// A path segment appears more often than allowed.
    RepeatedSegment {
        /// The segment.
        segment: String,
        /// How often it appears.
        times: u32,
        /// The limit (`--max-repeated-segments`).
        max: u32,
    },
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trap::TooLong { len, max } => {
                write!(
                    f,
                    "URL is {len} bytes long, over the cap of {max} (--max-url-len)"
                )
            }
            Trap::RepeatedSegment {
                segment,
                times,
                max,
            } => write!(
                f,
                "path segment {segment:?} appears {times} times, over the limit of {max} \
                 (--max-repeated-segments)"
            ),
        }
    }
}

impl TrapRules {
    /// Whether `url` looks like a trap, and why.
    pub fn check(&self, url: &CanonicalUrl) -> Option<Trap> {
        let len = url.as_str().len();
        if len > self.max_url_len {
            return Some(Trap::TooLong {
                len,
                max: self.max_url_len,
            });
        }
        if self.max_segment_repeats == 0 {
            return None;
        }
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for segment in url.as_url().path().split('/').filter(|s| !s.is_empty()) {
            let times = counts.entry(segment).or_insert(0);
            *times += 1;
            if *times > self.max_segment_repeats {
                return Some(Trap::RepeatedSegment {
                    segment: segment.to_owned(),
                    times: *times,
                    max: self.max_segment_repeats,
                });
            }
        }
        None
    }
}

/// The record of a URL refused as a trap: found at `depth`, linked from `from`.
pub(crate) fn trap_record(
    url: &CanonicalUrl,
    depth: u32,
    from: Option<String>,
    trap: &Trap,
    now_ms: u64,
) -> PageRecord {
    let mut record = PageRecord::new(url.as_str(), url.host(), depth);
    record.from = from;
    record.attempts = 0;
    record.fetched_at_ms = now_ms;
    record.error = Some(ErrorKind::TrapSuspected.as_str().to_owned());
    record.error_message = Some(trap.to_string());
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> Option<Trap> {
        TrapRules::default().check(&CanonicalUrl::parse(url).unwrap())
    }

    #[test]
    fn ordinary_urls_pass() {
        for url in [
            "http://a.test/",
            "http://a.test/2024/01/01/news",
            "http://a.test/a/b/a/b/a/b",
            "http://a.test/x?q=/a/a/a/a/a",
            "http://a.test//////",
        ] {
            assert_eq!(check(url), None, "{url}");
        }
    }

    #[test]
    fn a_segment_repeated_too_often_is_a_trap() {
        assert_eq!(
            check("http://a.test/deep/a/a/a/a/"),
            Some(Trap::RepeatedSegment {
                segment: "a".into(),
                times: 4,
                max: 3
            })
        );
        assert!(check("http://a.test/x/y/x/y/x/y/x/y").is_some());
        let off = TrapRules {
            max_segment_repeats: 0,
            ..TrapRules::default()
        };
        let url = CanonicalUrl::parse("http://a.test/a/a/a/a/a/a").unwrap();
        assert_eq!(off.check(&url), None);
    }

    #[test]
    fn a_url_over_the_cap_is_a_trap() {
        let url = format!("http://a.test/{}", "x".repeat(2048));
        let trap = check(&url).unwrap();
        assert!(matches!(trap, Trap::TooLong { max: 2048, .. }), "{trap:?}");
        assert!(trap.to_string().contains("--max-url-len"));
        let exactly = format!("http://a.test/{}", "x".repeat(2048 - 14));
        assert_eq!(exactly.len(), 2048);
        assert_eq!(check(&exactly), None);
    }

    #[test]
    fn the_record_names_the_kind_and_the_rule() {
        let url = CanonicalUrl::parse("http://a.test/a/a/a/a").unwrap();
        let trap = TrapRules::default().check(&url).unwrap();
        let record = trap_record(&url, 3, Some("http://a.test/".into()), &trap, 7);
        assert_eq!(record.error.as_deref(), Some("trap-suspected"));
        assert!(record
            .error_message
            .unwrap()
            .contains("\"a\" appears 4 times"));
        assert_eq!((record.depth, record.fetched_at_ms), (3, 7));
    }
}
