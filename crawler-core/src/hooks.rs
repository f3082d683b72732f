//! Code the embedder plugs into a crawl: a [`PageHandler`] that sees each HTML page,
//! a [`UrlFilter`] that decides which URLs may enter the frontier, and a [`PageSink`]
//! that receives every page record (and body) as it is stored.
//!
//! Hooks run on the worker threads, in parallel, so they must be `Send + Sync` and
//! should be quick: a worker busy in a hook fetches nothing. Each call is wrapped in
//! `catch_unwind`: a hook that returns an error or panics never kills a worker.
//! The failure is recorded against the page being handled (error kind
//! `hook-failed`, with the message), counted in [`crate::Snapshot::hook_failures`],
//! announced as [`crate::CrawlEvent::HookFailed`], and the crawl goes on. A failed page
//! handler's actions (added URLs, vetoes) are discarded; the page's links are then
//! followed as if there were no handler. A URL filter that panics refuses the URL it
//! was asked about; on a seed or a robots.txt `Sitemap` URL, where there is no page to
//! record it against, the failure is logged (`tracing`, warn) and counted only.
//!
//! Closures implement the traits:
//!
//! ```
//! use crawler_core::hooks::{HookError, Page, PageActions};
//! use crawler_core::{CanonicalUrl, Crawler};
//!
//! let builder = Crawler::builder()
//!     .url_filter(|url: &CanonicalUrl| !url.as_str().contains("/private/"))
//!     .page_handler(|page: &Page<'_>, actions: &mut PageActions| -> Result<(), HookError> {
//!         if page.url().as_str().ends_with("/about") {
//!             actions.veto_all_outlinks();
//!         }
//!         Ok(())
//!     });
//! ```

use std::cell::OnceCell;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crawler_storage::PageRecord;
use scraper::Html;

use crate::extract::budget::BigParse;
use crate::extract::{parse_bounded, Link};
use crate::priority::{ScoredUrl, UrlScorer};
use crate::url::{CanonicalUrl, UrlError};

/// What a hook returns when it fails; any error type converts into it with `?`.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Sees each successfully fetched HTML page (2xx, `text/html` or XHTML; not
/// robots.txt or sitemaps), after its links are extracted and before it is stored.
///
/// It can read the page, extract data (into whatever the handler owns: a channel, a
/// `Mutex<Vec<_>>`, a database), queue more URLs and veto outlinks through
/// [`PageActions`].
pub trait PageHandler: Send + Sync {
    /// Handles one page; an `Err` or a panic is recorded against it (`hook-failed`).
    fn handle(&self, page: &Page<'_>, actions: &mut PageActions) -> Result<(), HookError>;
}

impl<F> PageHandler for F
where
    F: Fn(&Page<'_>, &mut PageActions) -> Result<(), HookError> + Send + Sync,
{
    fn handle(&self, page: &Page<'_>, actions: &mut PageActions) -> Result<(), HookError> {
        self(page, actions)
    }
}

/// Decides whether a URL may enter the frontier. It runs after the scope and the
/// allow/deny patterns, before dedup, for every seed, link, redirect target and
/// sitemap entry; a URL it refuses is never fetched, recorded or marked seen (so it
/// may be admitted again if another run's filter differs).
pub trait UrlFilter: Send + Sync {
    /// Whether `url` may enter the frontier.
    fn admit(&self, url: &CanonicalUrl) -> bool;
}

impl<F> UrlFilter for F
where
    F: Fn(&CanonicalUrl) -> bool + Send + Sync,
{
    fn admit(&self, url: &CanonicalUrl) -> bool {
        self(url)
    }
}

/// Receives every fetched page as it is stored: its record (status, headers'
/// metadata, title, error...), its body when there is one, and its outlinks.
///
/// It is called before the page's store write, on the worker thread. An `Err` or a
/// panic is recorded against the page (`hook-failed`); the page is stored anyway.
/// With [`crate::CrawlerBuilder::page_sink_instead`], bodies go only to the sink: the
/// store keeps records, outlinks and the frontier (what a resumed crawl needs), not
/// bodies.
pub trait PageSink: Send + Sync {
    /// Receives one page; an `Err` or a panic is recorded against it (`hook-failed`).
    fn page(&self, page: &StoredPage<'_>) -> Result<(), HookError>;
}

impl<F> PageSink for F
where
    F: Fn(&StoredPage<'_>) -> Result<(), HookError> + Send + Sync,
{
    fn page(&self, page: &StoredPage<'_>) -> Result<(), HookError> {
        self(page)
    }
}

/// A page as it is written to the store, for a [`PageSink`].
#[derive(Debug)]
pub struct StoredPage<'a> {
    /// The record the store keeps (`crawler ls`/`get` show it).
    pub record: &'a PageRecord,
    /// The decompressed body, when one was received (whatever the body policy).
    pub body: Option<&'a [u8]>,
    /// The page's links, canonical, in source order.
    pub outlinks: &'a [String],
}

/// A fetched HTML page, for a [`PageHandler`].
pub struct Page<'a> {
    pub(crate) url: &'a CanonicalUrl,
    pub(crate) depth: u32,
    pub(crate) status: u16,
    pub(crate) headers: &'a [(String, String)],
    pub(crate) text: &'a str,
    pub(crate) links: &'a [Link],
    pub(crate) title: Option<&'a str>,
    /// The page as a browser rendered it (`--render`), not as fetched.
    pub(crate) rendered: bool,
    /// The tree, with the big-page permit it holds while alive (see
    /// [`crate::extract::BIG_PARSES`]).
    pub(crate) html: OnceCell<(Html, Option<BigParse>)>,
}

impl<'a> Page<'a> {
    /// The page's canonical URL.
    pub fn url(&self) -> &'a CanonicalUrl {
        self.url
    }

    /// Link hops from a seed (seeds are 0).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Whether this is the page as a browser rendered it (`--render`): then
    /// [`Page::text`] is the rendered DOM, [`Page::links`] its links, and there are no
    /// headers. With rendering, a handler sees each page twice: as fetched, then as
    /// rendered; what it adds or vetoes applies to the links of that view.
    pub fn rendered(&self) -> bool {
        self.rendered
    }

    /// The response's status code (2xx).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every response header, in order, as received.
    pub fn headers(&self) -> &'a [(String, String)] {
        self.headers
    }

    /// The first header of that name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        (self.headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded to text by its charset (BOM, header, `<meta>`, UTF-8).
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The `<title>`, whitespace collapsed.
    pub fn title(&self) -> Option<&'a str> {
        self.title
    }

    /// The links the crawler extracted, canonical, in source order (at most
    /// [`crate::CrawlConfig::max_links_per_page`]); nofollow ones are marked.
    pub fn links(&self) -> &'a [Link] {
        self.links
    }

    /// The parsed document, for CSS selectors. Parsed on first call (on a work
    /// budget, [`crate::extract::parse_bounded`], so a hostile page cannot make it
    /// quadratic; such a page's tree ends where the budget ran out) and kept for the
    /// rest of the handler call. A page over [`crate::extract::BIG_PAGE`] waits for
    /// one of the big-page permits first, as link extraction does, so big trees stay
    /// few at once.
    pub fn html(&self) -> &Html {
        &self
            .html
            .get_or_init(|| {
                let permit = BigParse::for_text(self.text.len());
                (parse_bounded(self.text).0, permit)
            })
            .0
    }
}

/// What a [`PageHandler`] asks of the crawl for its page.
#[derive(Debug, Default)]
pub struct PageActions {
    pub(crate) added: Vec<CanonicalUrl>,
    pub(crate) vetoed: HashSet<String>,
    pub(crate) veto_all: bool,
}

impl PageActions {
    /// Queues a URL found by the handler (resolved against nothing: give it whole).
    /// It goes through the scope, the URL filter, dedup and the depth limit like a
    /// link of this page, one hop deeper.
    pub fn add_url(&mut self, url: &str) -> Result<(), UrlError> {
        self.added.push(CanonicalUrl::parse(url)?);
        Ok(())
    }

    /// Does not follow this outlink of the page (it stays in the page's stored
    /// outlinks: the page does link to it).
    pub fn veto_outlink(&mut self, url: &CanonicalUrl) {
        self.vetoed.insert(url.as_str().to_owned());
    }

    /// Follows none of the page's outlinks (URLs given to [`PageActions::add_url`]
    /// are still queued).
    pub fn veto_all_outlinks(&mut self) {
        self.veto_all = true;
    }

    /// Whether an outlink is still to be followed.
    pub(crate) fn follows(&self, url: &CanonicalUrl) -> bool {
        !self.veto_all && !self.vetoed.contains(url.as_str())
    }
}

/// The hooks of one crawl, shared by its workers.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub handler: Option<Arc<dyn PageHandler>>,
    pub filter: Option<Arc<dyn UrlFilter>>,
    pub sink: Option<Arc<dyn PageSink>>,
    /// The crawl's scorer: an embedder's, or `--prefer`/`--avoid` (see
    /// [`crate::priority`]).
    pub scorer: Option<Arc<dyn UrlScorer>>,
    /// Bodies go to the sink only, not to the store.
    pub sink_instead: bool,
}

impl Hooks {
    /// A new URL's priority: 0 without a scorer, or when the scorer panics.
    pub(crate) fn priority(&self, url: &ScoredUrl<'_>) -> i8 {
        let Some(scorer) = &self.scorer else {
            return 0;
        };
        catch_unwind(AssertUnwindSafe(|| scorer.score(url))).unwrap_or(0)
    }

    /// Whether the URL filter admits `url` (yes without one); `Err` when it panicked.
    pub(crate) fn admits(&self, url: &CanonicalUrl) -> Result<bool, String> {
        match &self.filter {
            None => Ok(true),
            Some(filter) => guarded("URL filter", || Ok(filter.admit(url))),
        }
    }
}

/// Runs a hook, turning a panic into an error message.
pub(crate) fn guarded<T>(
    what: &str,
    hook: impl FnOnce() -> Result<T, HookError>,
) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(hook)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{what} failed: {error}")),
        Err(panic) => Err(format!("{what} panicked: {}", panic_text(panic.as_ref()))),
    }
}

/// What a caught panic said, for the record of the page it happened on.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_hook_becomes_an_error_naming_it() {
        let result: Result<(), String> = guarded("page handler", || panic!("boom"));
        assert_eq!(result, Err("page handler panicked: boom".to_owned()));
        let result: Result<(), String> = guarded("page sink", || Err("disk full".into()));
        assert_eq!(result, Err("page sink failed: disk full".to_owned()));
    }

    #[test]
    fn vetoes_stop_following_without_touching_added_urls() {
        let mut actions = PageActions::default();
        let a = CanonicalUrl::parse("http://a.test/a").unwrap();
        let b = CanonicalUrl::parse("http://a.test/b").unwrap();
        actions.veto_outlink(&a);
        assert!(!actions.follows(&a));
        assert!(actions.follows(&b));
        actions.veto_all_outlinks();
        assert!(!actions.follows(&b));
        assert!(actions.add_url("not a url").is_err());
        actions.add_url("HTTP://A.test:80/c").unwrap();
        assert_eq!(actions.added[0].as_str(), "http://a.test/c");
    }
}
