//! What goes first within a host: a URL's *priority*, given by a scoring function
//! when the URL is discovered and kept with it in the frontier (memory and store), so
//! a resumed crawl keeps the order.
//!
//! A host's queue is taken highest priority first, then breadth-first, then fairly by
//! the page that found each URL (see `crawler_storage::queue_order`); when workers are
//! scarce, hosts whose best queued URL has a higher priority go first. Priorities are
//! small integers (`i8`) on purpose: reading a host's stored queue in order costs a
//! pass per distinct order it holds, so a handful of levels is what a scorer should use.
//!
//! The CLI's `--prefer REGEX` (repeatable, earlier stronger) and `--avoid REGEX` are
//! [`PreferAvoid`]; an embedder passes any [`UrlScorer`] to
//! [`crate::CrawlerBuilder::scorer`], which replaces them.

use std::sync::Arc;

use regex::Regex;

use crate::url::CanonicalUrl;

/// What a scoring function is told about a URL it scores.
#[derive(Clone, Copy, Debug)]
pub struct ScoredUrl<'a> {
    /// The URL, canonical.
    pub url: &'a CanonicalUrl,
    /// Link hops from a seed.
    pub depth: u32,
    /// The text of the `<a>` element that linked to it, if it was one.
    pub anchor_text: Option<&'a str>,
    /// The page it was found on (`None` for a seed or a sitemap named by the user).
    pub source: Option<&'a str>,
}

/// Scores discovered URLs: higher goes first within a host (ties in fair,
/// breadth-first order). Runs on the worker threads for every new URL, so it must be
/// quick. A scorer that panics gives the URL priority 0.
pub trait UrlScorer: Send + Sync {
    /// The URL's priority.
    fn score(&self, url: &ScoredUrl<'_>) -> i8;
}

impl<F> UrlScorer for F
where
    F: Fn(&ScoredUrl<'_>) -> i8 + Send + Sync,
{
    fn score(&self, url: &ScoredUrl<'_>) -> i8 {
        self(url)
    }
}

/// `--prefer` and `--avoid`: a URL matching the first of `n` `--prefer` patterns gets
/// priority `n`, the second `n - 1`, and so on; one matching any `--avoid` pattern
/// gets -1, whatever it prefers (avoiding is the more specific wish: `--prefer
/// /product/ --avoid '\?sort='` skips the sorted copies of products); others 0.
#[derive(Clone, Debug, Default)]
pub struct PreferAvoid {
    prefer: Vec<Regex>,
    avoid: Vec<Regex>,
}

impl PreferAvoid {
    /// Rules from compiled patterns (at most 127 `prefer`s count; validation says so).
    pub fn new(prefer: Vec<Regex>, avoid: Vec<Regex>) -> PreferAvoid {
        PreferAvoid { prefer, avoid }
    }

    /// Whether there are no rules (every URL scores 0).
    pub fn is_empty(&self) -> bool {
        self.prefer.is_empty() && self.avoid.is_empty()
    }
}

impl UrlScorer for PreferAvoid {
    fn score(&self, url: &ScoredUrl<'_>) -> i8 {
        let text = url.url.as_str();
        if self.avoid.iter().any(|avoid| avoid.is_match(text)) {
            return -1;
        }
        let levels = self.prefer.len();
        self.prefer
            .iter()
            .position(|prefer| prefer.is_match(text))
            .map_or(0, |at| i8::try_from(levels - at).unwrap_or(i8::MAX))
    }
}

/// The crawl's scorer, if it has one: an embedder's, else `--prefer`/`--avoid`.
pub(crate) fn scorer_of(
    custom: Option<Arc<dyn UrlScorer>>,
    rules: &PreferAvoid,
) -> Option<Arc<dyn UrlScorer>> {
    custom.or_else(|| (!rules.is_empty()).then(|| Arc::new(rules.clone()) as Arc<dyn UrlScorer>))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(rules: &PreferAvoid, url: &str) -> i8 {
        let url = CanonicalUrl::parse(url).unwrap();
        rules.score(&ScoredUrl {
            url: &url,
            depth: 1,
            anchor_text: None,
            source: None,
        })
    }

    #[test]
    fn earlier_prefer_patterns_are_stronger_and_avoid_wins() {
        let rules = PreferAvoid::new(
            vec![
                Regex::new("/product/").unwrap(),
                Regex::new("/blog/").unwrap(),
            ],
            vec![Regex::new(r"\?sort=").unwrap()],
        );
        assert_eq!(score(&rules, "http://a.test/product/1"), 2);
        assert_eq!(score(&rules, "http://a.test/blog/1"), 1);
        assert_eq!(score(&rules, "http://a.test/blog/product/1"), 2);
        assert_eq!(score(&rules, "http://a.test/about"), 0);
        assert_eq!(score(&rules, "http://a.test/product/1?sort=asc"), -1);
    }
}
