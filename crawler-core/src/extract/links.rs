//! Link extraction: the outlinks, title, canonical URL and robots directives
//! of one HTML page.
//!
//! The page is read with html5ever's tokenizer, the HTML5 algorithm browsers
//! use to tell tags from text, so unquoted attributes, character references,
//! unclosed tags and comments are understood as a browser understands them, and
//! nothing inside a comment, a `<script>`, a `<noscript>` or a `<template>` is
//! taken for a link. There is no tree: [`super::tag_scan`] makes the few
//! decisions the tree builder would make for the tokenizer, and says where the
//! result differs from a browser's tree (source order for misnested content).
//!
//! Parse time is linear in the page's size whatever its shape (a typical 11 KB
//! page with 18 links takes about 25 µs), and memory is what is kept: the
//! links as written, until they are resolved.
//!
//! Links are resolved after the scan, so that `<base href>` applies to every
//! link of the page, including links that come before it, as in a browser.

use std::collections::HashMap;

use html5ever::local_name;
use html5ever::tendril::StrTendril;
use url::Url;

use super::tag_scan::{scan, Scanned, ScannedTag};
use crate::url::CanonicalUrl;

/// Which element a link came from; the frontier may prioritize by it. The kinds
/// from `Image` on are embeds ([`LinkKind::is_embed`]): what the page needs to be
/// shown, not where it leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// `<a href>`.
    Anchor,
    /// `<area href>` (image maps).
    Area,
    /// `<link rel="canonical" href>`.
    Canonical,
    /// `<iframe src>`.
    Iframe,
    /// `<frame src>`.
    Frame,
    /// `<img>` `src` and `srcset`, `<source srcset>`, `<video poster>`.
    Image,
    /// `<link rel=stylesheet>`, or a stylesheet's `@import`.
    Stylesheet,
    /// `<script src>`.
    Script,
    /// `<video>`, `<audio>`, `<source>` and `<track>` `src`.
    Media,
    /// `<link rel=icon>` (`shortcut icon` too) and `rel=apple-touch-icon`.
    Icon,
    /// `<link rel=preload>` and `rel=modulepreload`.
    Preload,
    /// `<embed src>` and `<object data>`.
    Object,
    /// CSS `url(...)`: in a stylesheet, a `<style>` or a `style` attribute.
    StyleUrl,
}

impl LinkKind {
    /// Whether the page embeds what this kind of link points to (it is fetched to
    /// show the page) rather than links to it.
    pub fn is_embed(self) -> bool {
        !matches!(
            self,
            LinkKind::Anchor
                | LinkKind::Area
                | LinkKind::Canonical
                | LinkKind::Iframe
                | LinkKind::Frame
        )
    }
}

/// One outlink (or embed) of a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Where it points, resolved against the page's base URL.
    pub url: CanonicalUrl,
    /// The element it came from (its first occurrence).
    pub kind: LinkKind,
    /// `rel` contains `nofollow` on every occurrence of this URL in the page.
    pub nofollow: bool,
    /// For an `<a>`: its text (whitespace collapsed, trimmed, at most
    /// [`MAX_ANCHOR_TEXT`] characters), from the first occurrence of the URL with
    /// any text; `None` for other kinds and for an `<a>` without text.
    pub anchor_text: Option<String>,
}

/// The most characters of an `<a>`'s text kept: enough to say what a link is about,
/// bounded whatever the page.
pub const MAX_ANCHOR_TEXT: usize = 256;

/// What [`extract_links`] found in a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtractedPage {
    /// The first HTML `<title>`, whitespace collapsed and trimmed; `None` if
    /// absent or empty.
    pub title: Option<String>,
    /// Followable links in source order, one per URL (first occurrence).
    pub links: Vec<Link>,
    /// The first resolvable `<link rel="canonical">`. It is in `links` too.
    pub canonical: Option<CanonicalUrl>,
    /// The `content` of `<meta name="robots">`, lowercased; several such
    /// tags are joined with `", "`, since crawlers apply all of them.
    pub meta_robots: Option<String>,
    /// Link elements past the links kept (see [`DEFAULT_MAX_LINKS_PER_PAGE`]), not kept.
    pub links_dropped: usize,
    /// What the page embeds (images, stylesheets, scripts, media, CSS `url()`s), in
    /// source order, one per URL; only when asked for ([`extract_page`]), and at most
    /// as many as links are kept.
    pub embeds: Vec<Link>,
    /// Embeds past those kept, not kept.
    pub embeds_dropped: usize,
}

/// The most links kept from one page unless `--max-links-per-page` says otherwise.
/// Every link kept is stored with its page (and indexed as an inlink of its target,
/// in the page's one atomic write), which costs the store kilobytes of memory per
/// link while the write is built: 150 pages of 100,000 links crawled by 16 workers
/// peaked at 4.7 GB with 10,000 kept per page, 1.0 GB with 5,000 and 0.54 GB with
/// 1,000 (release build). Large real pages (a long encyclopedia article, a hub) have a
/// few thousand.
pub const DEFAULT_MAX_LINKS_PER_PAGE: usize = 5_000;

/// The highest `--max-links-per-page` accepted: beyond it a few pages at once would
/// take gigabytes to write.
pub const MAX_LINKS_PER_PAGE_LIMIT: usize = 100_000;

impl ExtractedPage {
    /// What limited the reading of a page, said for its record; `None` when
    /// every link was kept.
    pub fn limits(&self) -> Option<String> {
        let links = (self.links_dropped > 0).then(|| {
            format!(
                "{} more link elements past the first {} links were not kept",
                self.links_dropped,
                self.links.len()
            )
        });
        let embeds = (self.embeds_dropped > 0).then(|| {
            format!(
                "{} more embeds past the first {} were not kept",
                self.embeds_dropped,
                self.embeds.len()
            )
        });
        match (links, embeds) {
            (Some(links), Some(embeds)) => Some(format!("{links}; {embeds}")),
            (links, embeds) => links.or(embeds),
        }
    }
}

/// Extracts links and metadata from an HTML page fetched from `page_url`.
///
/// Never fails: anything malformed (unparsable URLs, `javascript:`,
/// `mailto:`, `tel:`, `data:` and other non-http(s) targets, fragment-only and
/// empty references) is skipped silently, because one bad link must not cost
/// the page's other links.
pub fn extract_links(html: &str, page_url: &Url) -> ExtractedPage {
    extract_page(html, page_url, DEFAULT_MAX_LINKS_PER_PAGE, false)
}

/// [`extract_links`] keeping at most `max_links` links, and with `embeds` what the
/// page embeds too ([`ExtractedPage::embeds`], at most `max_links` of them):
/// `img`/`source` `src` and every `srcset` candidate, `link rel=stylesheet|icon|apple-touch-icon|preload|
/// modulepreload`, `script src`, `video`/`audio` `src` and `poster`, `track src`,
/// `embed src`, `object data`, and the `url()`s and `@import`s of `<style>` elements
/// and `style` attributes.
pub fn extract_page(html: &str, page_url: &Url, max_links: usize, embeds: bool) -> ExtractedPage {
    // Held until the links are resolved: a big page's raw links are what costs
    // memory.
    let permit = super::budget::BigParse::for_text(html.len());
    let mut found = Found {
        embeds: embeds.then(Vec::new),
        ..Found::default()
    };
    scan(html, |scanned| match scanned {
        Scanned::Start(tag) => found.visit(tag),
        Scanned::FirstTitle(text) => found.title = collapse_whitespace(text),
        Scanned::Text(text) => found.text(text),
        Scanned::End(name) => found.end(name),
    });
    found.close_anchor();
    found.close_style();
    let page = found.resolve(page_url, max_links);
    drop(permit);
    page
}

/// The embeds of a stylesheet (`@import`s and `url()`s), resolved against `sheet_url`,
/// in source order, one per URL, at most [`DEFAULT_MAX_LINKS_PER_PAGE`].
pub fn extract_css(css: &str, sheet_url: &Url) -> ExtractedPage {
    let permit = super::budget::BigParse::for_text(css.len());
    let mut found = Found {
        embeds: Some(Vec::new()),
        ..Found::default()
    };
    found.add_css(css);
    let page = found.resolve(sheet_url, DEFAULT_MAX_LINKS_PER_PAGE);
    drop(permit);
    page
}

/// A link as written in the page, before resolution.
struct RawLink {
    href: StrTendril,
    kind: LinkKind,
    nofollow: bool,
    anchor_text: Option<String>,
}

impl RawLink {
    fn embed(href: &str, kind: LinkKind) -> RawLink {
        RawLink {
            href: StrTendril::from_slice(href),
            kind,
            nofollow: false,
            anchor_text: None,
        }
    }
}

/// The text of the `<a>` being read: up to [`MAX_ANCHOR_TEXT`] characters,
/// whitespace collapsed as it comes (it comes in pieces).
struct Anchor {
    /// Its link in `Found::links`.
    link: usize,
    text: String,
    chars: usize,
    space_pending: bool,
}

impl Anchor {
    fn push(&mut self, piece: &str) {
        for c in piece.chars() {
            if self.chars == MAX_ANCHOR_TEXT {
                return;
            }
            if c.is_ascii_whitespace() {
                self.space_pending = !self.text.is_empty();
                continue;
            }
            if std::mem::take(&mut self.space_pending) {
                self.text.push(' ');
                self.chars += 1;
                if self.chars == MAX_ANCHOR_TEXT {
                    // A text cut here would end in a space.
                    self.text.pop();
                    return;
                }
            }
            self.text.push(c);
            self.chars += 1;
        }
    }
}

/// What the scan collects.
#[derive(Default)]
struct Found {
    base: Option<StrTendril>,
    title: Option<String>,
    meta_robots: Option<String>,
    links: Vec<RawLink>,
    /// The embeds, when asked for.
    embeds: Option<Vec<RawLink>>,
    /// The `<a>` whose text is being read.
    anchor: Option<Anchor>,
    /// The text of the `<style>` being read, when embeds are asked for.
    style: Option<String>,
}

impl Found {
    /// Reads a piece of text: an `<a>`'s, or a `<style>`'s.
    fn text(&mut self, text: &str) {
        if let Some(anchor) = &mut self.anchor {
            anchor.push(text);
        }
        if let Some(style) = &mut self.style {
            style.push_str(text);
        }
    }

    /// Reads an end tag: the end of an `<a>`'s text or of a `<style>`.
    fn end(&mut self, name: &html5ever::LocalName) {
        match *name {
            local_name!("a") => self.close_anchor(),
            local_name!("style") => self.close_style(),
            _ => {}
        }
    }

    fn close_anchor(&mut self) {
        if let Some(anchor) = self.anchor.take() {
            if let Some(link) = self.links.get_mut(anchor.link) {
                link.anchor_text = (!anchor.text.is_empty()).then_some(anchor.text);
            }
        }
    }

    fn close_style(&mut self) {
        if let Some(css) = self.style.take() {
            self.add_css(&css);
        }
    }

    /// Adds a stylesheet's `url()`s and `@import`s to the embeds.
    fn add_css(&mut self, css: &str) {
        let Some(embeds) = &mut self.embeds else {
            return;
        };
        super::css::css_refs(css, |found| {
            let (href, kind) = match found {
                super::css::CssRef::Url(href) => (href, LinkKind::StyleUrl),
                super::css::CssRef::Import(href) => (href, LinkKind::Stylesheet),
            };
            if is_followable(href) {
                embeds.push(RawLink::embed(href, kind));
            }
        });
    }

    /// Reads what an element embeds (asked for): its `style` attribute's `url()`s,
    /// and the attributes of the embedding elements.
    fn visit_embeds(&mut self, tag: &ScannedTag) {
        if let Some(style) = tag.attr(&local_name!("style")) {
            if super::css::may_embed(style) {
                self.add_css(style);
            }
        }
        let Some(embeds) = &mut self.embeds else {
            return;
        };
        let mut add = |name: &html5ever::LocalName, kind: LinkKind| {
            if let Some(href) = tag.attr(name).filter(|href| is_followable(href)) {
                embeds.push(RawLink::embed(href, kind));
            }
        };
        match tag.name {
            local_name!("img") => add(&local_name!("src"), LinkKind::Image),
            local_name!("source") => add(&local_name!("src"), LinkKind::Media),
            local_name!("script") => add(&local_name!("src"), LinkKind::Script),
            local_name!("video") => {
                add(&local_name!("src"), LinkKind::Media);
                add(&local_name!("poster"), LinkKind::Image);
            }
            local_name!("audio") | local_name!("track") => {
                add(&local_name!("src"), LinkKind::Media)
            }
            local_name!("embed") => add(&local_name!("src"), LinkKind::Object),
            local_name!("object") => add(&local_name!("data"), LinkKind::Object),
            local_name!("link") => {
                if let Some(kind) = embedded_by_rel(tag.attr(&local_name!("rel"))) {
                    add(&local_name!("href"), kind);
                }
            }
            _ => {}
        }
        if matches!(tag.name, local_name!("img") | local_name!("source")) {
            if let Some(srcset) = tag.attr(&local_name!("srcset")) {
                for href in srcset_urls(srcset).filter(|href| is_followable(href)) {
                    embeds.push(RawLink::embed(href, LinkKind::Image));
                }
            }
        }
    }

    /// Reads one start tag.
    fn visit(&mut self, mut tag: ScannedTag) {
        if self.embeds.is_some() {
            self.visit_embeds(&tag);
            if tag.name == local_name!("style") {
                self.style = Some(String::new());
            }
        }
        let (link, kind) = match tag.name {
            local_name!("a") => {
                // An `<a>` ends the one before it, as in a browser.
                self.close_anchor();
                (local_name!("href"), LinkKind::Anchor)
            }
            local_name!("area") => (local_name!("href"), LinkKind::Area),
            local_name!("link") if has_token(tag.attr(&local_name!("rel")), "canonical") => {
                (local_name!("href"), LinkKind::Canonical)
            }
            local_name!("iframe") => (local_name!("src"), LinkKind::Iframe),
            local_name!("frame") => (local_name!("src"), LinkKind::Frame),
            // Only the first `<base>` with an `href` counts, as in browsers.
            local_name!("base") => {
                if self.base.is_none() {
                    self.base = tag.take_attr(&local_name!("href"));
                }
                return;
            }
            local_name!("meta")
                if tag
                    .attr(&local_name!("name"))
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case("robots")) =>
            {
                self.add_robots(tag.attr(&local_name!("content")));
                return;
            }
            _ => return,
        };
        // `rel` counts only on `a`, `area` and `link`.
        let nofollow = matches!(
            kind,
            LinkKind::Anchor | LinkKind::Area | LinkKind::Canonical
        ) && has_token(tag.attr(&local_name!("rel")), "nofollow");
        if let Some(href) = tag.take_attr(&link) {
            if is_followable(&href) {
                if kind == LinkKind::Anchor {
                    self.anchor = Some(Anchor {
                        link: self.links.len(),
                        text: String::new(),
                        chars: 0,
                        space_pending: false,
                    });
                }
                self.links.push(RawLink {
                    href,
                    kind,
                    nofollow,
                    anchor_text: None,
                });
            }
        }
    }

    fn add_robots(&mut self, content: Option<&str>) {
        let Some(content) = content.map(str::trim).filter(|c| !c.is_empty()) else {
            return;
        };
        let content = content.to_lowercase();
        match &mut self.meta_robots {
            Some(all) => {
                all.push_str(", ");
                all.push_str(&content);
            }
            None => self.meta_robots = Some(content),
        }
    }

    /// Resolves the collected links against the base URL, dropping invalid
    /// ones and merging duplicates.
    fn resolve(self, page_url: &Url, max_links: usize) -> ExtractedPage {
        let base = self.base.and_then(|href| resolve_base(page_url, &href));
        let base = base.as_ref().unwrap_or(page_url);
        let mut canonical = None;
        let (links, links_dropped) = resolve_all(base, self.links, max_links, |raw, url| {
            if raw.kind == LinkKind::Canonical && canonical.is_none() {
                canonical = Some(url.clone());
            }
        });
        let embeds = self.embeds.unwrap_or_default();
        let (embeds, embeds_dropped) = resolve_all(base, embeds, max_links, |_, _| {});
        ExtractedPage {
            title: self.title,
            links,
            canonical,
            meta_robots: self.meta_robots,
            links_dropped,
            embeds,
            embeds_dropped,
        }
    }
}

/// Resolves raw links against `base`, dropping invalid ones and merging duplicates, up
/// to `max_links`; `seen` is shown each link kept. Returns the links and how many raw
/// ones were past the cap.
fn resolve_all(
    base: &Url,
    raw_links: Vec<RawLink>,
    max_links: usize,
    mut seen: impl FnMut(&RawLink, &CanonicalUrl),
) -> (Vec<Link>, usize) {
    let mut links = Links::with_capacity(raw_links.len().min(max_links));
    let total = raw_links.len();
    for (index, raw) in raw_links.into_iter().enumerate() {
        if links.list.len() == max_links {
            return (links.list, total - index);
        }
        let Ok(url) = CanonicalUrl::join(base, &raw.href) else {
            continue;
        };
        seen(&raw, &url);
        links.add(url, raw.kind, raw.nofollow, raw.anchor_text);
    }
    (links.list, 0)
}

/// Which embed a `<link>` is by its `rel` tokens, if it is one.
fn embedded_by_rel(rel: Option<&str>) -> Option<LinkKind> {
    let rel = rel?;
    [
        ("stylesheet", LinkKind::Stylesheet),
        ("icon", LinkKind::Icon),
        ("apple-touch-icon", LinkKind::Icon),
        ("preload", LinkKind::Preload),
        ("modulepreload", LinkKind::Preload),
    ]
    .into_iter()
    .find(|(token, _)| has_token(Some(rel), token))
    .map(|(_, kind)| kind)
}

/// The URLs of a `srcset`'s candidates (`a.png 1x, b.png 2x`), as the HTML standard
/// splits them: a URL runs to whitespace (its trailing commas end the candidate), and
/// its descriptors run to a comma outside parentheses.
fn srcset_urls(srcset: &str) -> impl Iterator<Item = &str> {
    let mut rest = srcset;
    std::iter::from_fn(move || loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (url, after) = rest.split_at(end);
        rest = after;
        let trimmed = url.trim_end_matches(',');
        if trimmed.len() == url.len() {
            // Descriptors, up to the next comma outside parentheses.
            let mut depth = 0usize;
            let end = rest
                .char_indices()
                .find(|&(_, c)| match c {
                    '(' => {
                        depth += 1;
                        false
                    }
                    ')' => {
                        depth = depth.saturating_sub(1);
                        false
                    }
                    ',' => depth == 0,
                    _ => false,
                })
                .map_or(rest.len(), |(i, _)| i);
            rest = &rest[end..];
        }
        if !trimmed.is_empty() {
            return Some(trimmed);
        }
    })
}

/// The page's links, deduplicated by URL while keeping source order.
struct Links {
    list: Vec<Link>,
    /// Fingerprint to index in `list`. A (practically impossible) collision
    /// is detected by comparing URLs and only costs the merge.
    index: HashMap<u128, usize>,
}

impl Links {
    fn with_capacity(capacity: usize) -> Links {
        Links {
            list: Vec::with_capacity(capacity),
            index: HashMap::with_capacity(capacity),
        }
    }

    /// Adds a link; a URL seen before stays where it first appeared, stays
    /// `nofollow` only if this occurrence is `nofollow` too, and takes this
    /// occurrence's anchor text if it had none.
    fn add(
        &mut self,
        url: CanonicalUrl,
        kind: LinkKind,
        nofollow: bool,
        anchor_text: Option<String>,
    ) {
        let key = url.fingerprint();
        if let Some(earlier) = self.index.get(&key).and_then(|&i| self.list.get_mut(i)) {
            if earlier.url == url {
                earlier.nofollow &= nofollow;
                if earlier.anchor_text.is_none() {
                    earlier.anchor_text = anchor_text;
                }
                return;
            }
        }
        self.index.entry(key).or_insert(self.list.len());
        self.list.push(Link {
            url,
            kind,
            nofollow,
            anchor_text,
        });
    }
}

/// The document's base URL from `<base href>`, if it resolves to http(s).
///
/// A `<base>` pointing elsewhere (`javascript:`, `data:`) would make every
/// relative link unresolvable; it is ignored like an invalid one.
fn resolve_base(page_url: &Url, href: &str) -> Option<Url> {
    page_url
        .join(href)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
}

/// Cheap checks that skip references which can never become a crawlable URL,
/// before paying for URL parsing. Anything that passes is still checked by
/// [`CanonicalUrl::join`].
fn is_followable(href: &str) -> bool {
    // The URL parser trims C0 controls and spaces; so do we.
    let href = href.trim_matches(|c: char| c <= ' ');
    if href.is_empty() || href.starts_with('#') {
        return false;
    }
    const SKIPPED: [&str; 4] = ["javascript:", "mailto:", "tel:", "data:"];
    !SKIPPED.iter().any(|scheme| {
        href.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
}

/// Whether a space-separated token list (`rel`) contains `token`, ignoring
/// ASCII case.
fn has_token(list: Option<&str>, token: &str) -> bool {
    list.is_some_and(|list| {
        list.split_ascii_whitespace()
            .any(|t| t.eq_ignore_ascii_case(token))
    })
}

/// Collapses ASCII whitespace runs into one space and trims; `None` if
/// nothing is left.
fn collapse_whitespace(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for word in text.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PAGE: &str = "http://a.test/dir/page.html";

    fn page_url() -> Url {
        Url::parse(PAGE).unwrap_or_else(|e| panic!("{PAGE}: {e}"))
    }

    fn extract(html: &str) -> ExtractedPage {
        extract_links(html, &page_url())
    }

    fn urls(html: &str) -> Vec<String> {
        extract(html)
            .links
            .iter()
            .map(|l| l.url.as_str().to_owned())
            .collect()
    }

    fn url_kinds(links: &[Link]) -> Vec<(&str, LinkKind)> {
        links.iter().map(|l| (l.url.as_str(), l.kind)).collect()
    }

    #[test]
    fn finds_every_followed_kind_in_source_order() {
        let page = extract(
            "<link rel=canonical href=/canon>\
             <a href=a1>x</a>\
             <map><area href=/area></map>\
             <iframe src='/if'></iframe>\
             <frameset><frame src=/fr></frameset>",
        );
        assert_eq!(
            url_kinds(&page.links),
            [
                ("http://a.test/canon", LinkKind::Canonical),
                ("http://a.test/dir/a1", LinkKind::Anchor),
                ("http://a.test/area", LinkKind::Area),
                ("http://a.test/if", LinkKind::Iframe),
                ("http://a.test/fr", LinkKind::Frame),
            ]
        );
        // A browser drops a frameset that comes after body content; its frames
        // are still in the page's source, and we follow them.
        let frames = urls("<html><frameset><frame src=/f1><frame src='f2'></frameset></html>");
        assert_eq!(frames, ["http://a.test/f1", "http://a.test/dir/f2"]);
        assert!(extract("<frameset><frame src=/f></frameset>").links[0].kind == LinkKind::Frame);
    }

    #[test]
    fn ignores_elements_and_rels_that_are_not_followed() {
        let html = "<link rel=stylesheet href=/s.css><link rel=alternate href=/alt>\
                    <img src=/i.png><script src=/s.js></script><a>no href</a><iframe></iframe>\
                    <form action=/f></form><link href=/no-rel>";
        assert!(urls(html).is_empty());
    }

    #[test]
    fn rel_canonical_is_a_case_insensitive_token() {
        let page = extract("<link rel='Shortcut CANONICAL' href=/c1><link rel=canonical href=/c2>");
        assert_eq!(
            page.canonical.map(|c| c.to_string()).as_deref(),
            Some("http://a.test/c1")
        );
        assert!(urls("<link rel=canonicalize href=/x>").is_empty());
    }

    #[test]
    fn canonical_skips_unresolvable_declarations() {
        let page =
            extract("<link rel=canonical href='http://[bad'><link rel=canonical href=/good>");
        assert_eq!(
            page.canonical.map(|c| c.to_string()).as_deref(),
            Some("http://a.test/good")
        );
    }

    fn embeds(html: &str) -> Vec<(String, LinkKind)> {
        extract_page(html, &page_url(), DEFAULT_MAX_LINKS_PER_PAGE, true)
            .embeds
            .into_iter()
            .map(|l| (l.url.as_str().to_owned(), l.kind))
            .collect()
    }

    #[test]
    fn embeds_of_every_kind_in_source_order() {
        let got = embeds(
            "<link rel=stylesheet href=/s.css><link rel='shortcut icon' href=/fav.ico>\
             <link rel=apple-touch-icon href=/t.png><link rel=modulepreload href=/m.js>\
             <link rel=preload href=/p.woff2><link rel=alternate href=/alt>\
             <script src=/s.js></script><img src=i.png srcset='i2.png 2x, /i3.png 3x'>\
             <picture><source srcset=/p1.webp type=image/webp></picture>\
             <video src=/v.mp4 poster=/v.jpg><source src=/v.webm><track src=/v.vtt></video>\
             <audio src=/a.ogg></audio><embed src=/e.swf><object data=/o.svg></object>\
             <p style='background: url(/bg.png)'>x</p>\
             <style>@import '/imp.css'; .a { background: url(\"/style.png\") }</style>",
        );
        let want = [
            ("s.css", LinkKind::Stylesheet),
            ("fav.ico", LinkKind::Icon),
            ("t.png", LinkKind::Icon),
            ("m.js", LinkKind::Preload),
            ("p.woff2", LinkKind::Preload),
            ("s.js", LinkKind::Script),
            ("dir/i.png", LinkKind::Image),
            ("dir/i2.png", LinkKind::Image),
            ("i3.png", LinkKind::Image),
            ("p1.webp", LinkKind::Image),
            ("v.mp4", LinkKind::Media),
            ("v.jpg", LinkKind::Image),
            ("v.webm", LinkKind::Media),
            ("v.vtt", LinkKind::Media),
            ("a.ogg", LinkKind::Media),
            ("e.swf", LinkKind::Object),
            ("o.svg", LinkKind::Object),
            ("bg.png", LinkKind::StyleUrl),
            ("imp.css", LinkKind::Stylesheet),
            ("style.png", LinkKind::StyleUrl),
        ]
        .map(|(path, kind)| (format!("http://a.test/{path}"), kind));
        assert_eq!(got, want);
        assert!(want.iter().all(|(_, kind)| kind.is_embed()));
        // Embeds are not links, and are read only when asked for.
        assert!(extract_page(
            "<img src=/i.png>",
            &page_url(),
            DEFAULT_MAX_LINKS_PER_PAGE,
            true
        )
        .links
        .is_empty());
        assert!(extract("<img src=/i.png><style>a{b:url(x)}</style>")
            .embeds
            .is_empty());
    }

    #[test]
    fn embeds_skip_templates_comments_data_and_repeats_and_use_the_base() {
        let got = embeds(
            "<!-- <img src=/c.png> --><template><img src=/t.png></template>\
             <img src='data:image/png;base64,AA'><img src=/x.png><img src='/x.png#f'>\
             <base href=/b/><img src=rel.png>",
        );
        let urls: Vec<_> = got.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(urls, ["http://a.test/x.png", "http://a.test/b/rel.png"]);
    }

    #[test]
    fn srcset_candidates_split_as_the_standard_says() {
        let urls: Vec<_> =
            srcset_urls(" a.png 1x,b.png, c,d.png 2x , e(1).png 100w ,, f.png").collect();
        assert_eq!(urls, ["a.png", "b.png", "c,d.png", "e(1).png", "f.png"]);
        let fn_descriptor: Vec<_> = srcset_urls("a.png foo(1,2), b.png").collect();
        assert_eq!(fn_descriptor, ["a.png", "b.png"]);
        assert_eq!(srcset_urls(" , ").count(), 0);
    }

    #[test]
    fn stylesheets_yield_their_imports_and_urls() {
        let sheet = Url::parse("http://a.test/css/site.css").unwrap();
        let page = extract_css(
            "@import 'more.css'; @font-face { src: url(../f.woff2) } b { x: url(data:x) }",
            &sheet,
        );
        assert_eq!(
            url_kinds(&page.embeds),
            [
                ("http://a.test/css/more.css", LinkKind::Stylesheet),
                ("http://a.test/f.woff2", LinkKind::StyleUrl)
            ]
        );
    }

    fn anchor_texts(html: &str) -> Vec<Option<String>> {
        extract(html)
            .links
            .into_iter()
            .map(|l| l.anchor_text)
            .collect()
    }

    #[test]
    fn anchor_text_is_collapsed_trimmed_and_read_through_markup() {
        let texts = anchor_texts(
            "<a href=/1>\n  Caf&eacute;\t <b>au</b>\r\nlait  </a>\
             <a href=/2><img src=x alt=y></a><area href=/3>\
             <a href=/4>one<a href=/5>two</a>after<iframe src=/6></iframe>\
             <a href=/7>a&amp;b<!-- c --><script>s()</script></a>",
        );
        let want = [
            Some("Café au lait"),
            None,
            None,
            Some("one"),
            Some("two"),
            None,
            Some("a&bs()"),
        ]
        .map(|t| t.map(str::to_owned));
        assert_eq!(texts, want);
    }

    #[test]
    fn anchor_text_is_cut_at_a_char_boundary_and_repeats_keep_the_first() {
        let long = "é".repeat(300);
        let texts = anchor_texts(&format!("<a href=/l>{long}</a>"));
        assert_eq!(texts, [Some("é".repeat(MAX_ANCHOR_TEXT))]);
        let spaced = format!("<a href=/s>{} b</a>", "a".repeat(MAX_ANCHOR_TEXT - 1));
        assert_eq!(
            anchor_texts(&spaced),
            [Some("a".repeat(MAX_ANCHOR_TEXT - 1))]
        );
        let repeated = anchor_texts("<a href=/r><img></a><a href=/r>later</a><a href=/r>last</a>");
        assert_eq!(repeated, [Some("later".to_owned())]);
        // An unclosed `<a>` reads to the end of the page, within the cap.
        assert_eq!(anchor_texts("<a href=/u>open"), [Some("open".to_owned())]);
        assert_eq!(anchor_texts("<template><a href=/t>t</a></template>"), []);
    }

    #[test]
    fn nofollow_from_rel() {
        let page =
            extract("<a href=/n rel='External NoFollow'>n</a><a href=/f rel=nofollower>f</a>");
        let flags: Vec<_> = page.links.iter().map(|l| l.nofollow).collect();
        assert_eq!(flags, [true, false]);
    }

    #[test]
    fn duplicates_keep_first_position_and_nofollow_only_if_all_are() {
        let page = extract(
            "<a href=/x rel=nofollow>1</a><a href=/y>2</a>\
             <a href='/x#frag'>3</a><area href=/y rel=nofollow>\
             <a href=/z rel=nofollow><a href=/Z rel=nofollow><a href=/%7A rel=nofollow>",
        );
        let got: Vec<_> = page
            .links
            .iter()
            .map(|l| (l.url.as_str(), l.kind, l.nofollow))
            .collect();
        assert_eq!(
            got,
            [
                ("http://a.test/x", LinkKind::Anchor, false),
                ("http://a.test/y", LinkKind::Anchor, false),
                ("http://a.test/z", LinkKind::Anchor, true),
                ("http://a.test/Z", LinkKind::Anchor, true),
            ]
        );
    }

    #[test]
    fn first_base_href_applies_to_all_links() {
        let html = "<a href=early>e</a><base href='http://b.test/root/'><base href=http://c.test/>\
                    <a href=late>l</a><a href=/abs>a</a>";
        assert_eq!(
            urls(html),
            [
                "http://b.test/root/early",
                "http://b.test/root/late",
                "http://b.test/abs"
            ]
        );
    }

    #[test]
    fn relative_base_resolves_against_the_page() {
        assert_eq!(
            urls("<base href=../other/><a href=x>"),
            ["http://a.test/other/x"]
        );
    }

    #[test]
    fn invalid_or_non_http_base_is_ignored() {
        assert_eq!(
            urls("<base href='http://[bad/'><a href=x>"),
            ["http://a.test/dir/x"]
        );
        assert_eq!(
            urls("<base href='javascript:void(0)'><a href=x>"),
            ["http://a.test/dir/x"]
        );
        // A `<base>` without `href` does not count as the first one.
        assert_eq!(
            urls("<base target=_top><base href=/b/><a href=x>"),
            ["http://a.test/b/x"]
        );
    }

    #[test]
    fn skips_non_http_fragment_only_and_empty_references() {
        let html = "<a href='javascript:go()'>j</a><a href=' JavaScript:go()'>j</a>\
                    <a href='mailto:a@b.test'>m</a><a href='tel:+1'>t</a>\
                    <a href='data:text/html,x'>d</a><a href='#top'>f</a><a href=''>e</a>\
                    <a href='  '>s</a><a href='ftp://a.test/'>ftp</a><a href='java\nscript:x'>n</a>\
                    <a href='http://[::1'>bad</a><a href='//'>empty host</a><a href='file:///x'>f</a>";
        assert!(urls(html).is_empty(), "{:?}", urls(html));
    }

    #[test]
    fn query_only_and_self_references_are_kept() {
        assert_eq!(urls("<a href=?p=2>"), ["http://a.test/dir/page.html?p=2"]);
        assert_eq!(
            urls("<a href=page.html#x>"),
            ["http://a.test/dir/page.html"]
        );
    }

    #[test]
    fn attribute_whitespace_is_trimmed_and_tabs_newlines_removed() {
        let html = "<a href=' \n /a\t/b\n '>x</a><iframe src='\t/c\n'></iframe>";
        assert_eq!(urls(html), ["http://a.test/a/b", "http://a.test/c"]);
    }

    #[test]
    fn unquoted_and_odd_attributes_work() {
        let html = "<A HREF=/one>1</A><a href=/two?x=1&amp;y=2 class=c>2</a><a\nhref\n=\n/three>";
        assert_eq!(
            urls(html),
            [
                "http://a.test/one",
                "http://a.test/two?x=1&y=2",
                "http://a.test/three"
            ]
        );
    }

    #[test]
    fn comments_scripts_and_templates_are_not_followed() {
        let html = "<!-- <a href=/comment>c</a> -->\
                    <script>document.write('<a href=/script>s</a>')</script>\
                    <template><a href=/template>t</a><link rel=canonical href=/tc></template>\
                    <noscript><a href=/noscript>n</a></noscript>\
                    <textarea><a href=/textarea></textarea>\
                    <a href=/real>r</a>";
        let page = extract(html);
        // html5ever parses as a browser with scripting enabled does, so the
        // content of `<noscript>` is text, not links.
        assert_eq!(urls(html), ["http://a.test/real"]);
        assert_eq!(page.canonical, None);
    }

    #[test]
    fn links_come_in_source_order_even_where_a_browser_moves_them() {
        // A browser moves the second `<a>` out of the table ("foster parenting"),
        // before it; the page's source has it after the cell's link, and so do we.
        let html = "<table><tr><td><a href=/in-cell>c</a></td></tr><a href=/fostered>f</a></table>";
        assert_eq!(
            urls(html),
            ["http://a.test/in-cell", "http://a.test/fostered"]
        );
    }

    #[test]
    fn title_is_first_html_title_with_collapsed_whitespace() {
        let page = extract(
            "<svg><title>icon</title></svg><title>\n  Hello \t\r\n World  </title><title>2</title>",
        );
        // In a browser's tree this SVG title sits in the body, after the head's
        // title; in the source it comes first: only HTML titles count.
        assert_eq!(page.title.as_deref(), Some("Hello World"));
        assert_eq!(
            extract("<title> &amp; &lt;b&gt; </title>").title.as_deref(),
            Some("& <b>")
        );
        assert_eq!(extract("<title> </title>").title, None);
        assert_eq!(extract("<p>no title</p>").title, None);
    }

    #[test]
    fn meta_robots_is_lowercased_and_combined() {
        let page = extract(
            "<meta name=ROBOTS content='NoIndex, Follow'><meta name=description content=x>\
             <meta name=robots content=noarchive><meta name=robots>",
        );
        assert_eq!(
            page.meta_robots.as_deref(),
            Some("noindex, follow, noarchive")
        );
        assert_eq!(
            extract("<meta name=googlebot content=noindex>").meta_robots,
            None
        );
    }

    #[test]
    fn non_ascii_links_are_encoded() {
        let html = "<a href='/café?q=ü'>x</a><a href='http://bücher.test/'>y</a>";
        assert_eq!(
            urls(html),
            [
                "http://a.test/caf%C3%A9?q=%C3%BC",
                "http://xn--bcher-kva.test/"
            ]
        );
    }

    #[test]
    fn deep_nesting_is_read_to_the_end() {
        // A tree builder takes time quadratic in the depth; the tokenizer does not
        // care, and there is no stack to overflow.
        for nesting in ["<div>", "<svg>", "<math><mi>", "<template>"] {
            let html = format!(
                "<a href=/top>t</a>{}<a href=/deep>d</a>",
                nesting.repeat(100_000)
            );
            let expected: &[&str] = if nesting == "<template>" {
                &["http://a.test/top"]
            } else {
                &["http://a.test/top", "http://a.test/deep"]
            };
            assert_eq!(urls(&html), expected, "{nesting}");
            assert_eq!(extract(&html).limits(), None);
        }
    }

    #[test]
    fn links_past_the_cap_are_counted_not_kept() {
        let html: String = (0..DEFAULT_MAX_LINKS_PER_PAGE + 25)
            .map(|i| format!("<a href=/l/{i}>{i}</a>"))
            .collect();
        let page = extract(&html);
        assert_eq!(page.links.len(), DEFAULT_MAX_LINKS_PER_PAGE);
        assert_eq!(page.links_dropped, 25);
        assert_eq!(page.links[0].url.as_str(), "http://a.test/l/0");
        let said = page.limits().unwrap_or_default();
        assert!(said.starts_with("25 more link elements"), "{said}");
        assert_eq!(extract("<a href=/x>").limits(), None);
    }

    #[test]
    fn empty_and_garbage_documents() {
        assert_eq!(extract(""), ExtractedPage::default());
        assert!(extract("\0<<>><a href=\0/x>").links.len() <= 1);
    }

    /// Fragments that make the tokenizer change state, including foreign content,
    /// with no table or other tag a tree builder moves or drops (those are in
    /// `structural_soup`).
    fn html_soup() -> impl Strategy<Value = String> {
        let part = prop::sample::select(vec![
            "<a href=",
            "<a href='",
            "'",
            "\"",
            ">",
            "</a>",
            "<base href=",
            "<link rel=canonical href=",
            "<iframe src=",
            "<template>",
            "</template>",
            "<!--",
            "-->",
            "<script>",
            "</script>",
            "<title>",
            "</title>",
            "<meta name=robots content=",
            "/x",
            "../y",
            "#f",
            "?q=1",
            "http://b.test/",
            "javascript:",
            "%zz",
            "%41",
            " ",
            "\n",
            "é",
            "<svg>",
            "</svg>",
            "<math>",
            "<mi>",
            "<desc>",
            "<style>",
            "<![CDATA[",
            "]]>",
            "rel=nofollow",
            "//",
            "http://[",
            "mailto:x",
            "<p>",
            "<b>",
            "</b>",
            "<div>",
            "</p>",
            "<noscript>",
            "<body href=",
            "<head>",
            "<area href=",
            "<textarea>",
        ]);
        prop::collection::vec(part, 0..40).prop_map(|parts| parts.concat())
    }

    /// What a browser reads from `html`, as the reference: the same [`Found`],
    /// filled by a walk of `scraper`'s DOM (html5ever's tree builder) in document
    /// order, skipping HTML `<template>` contents.
    /// What we read, anchor texts left out: the tree a browser builds moves text
    /// around (a misnested `<a>` is cloned), where anchor text is the source's.
    fn without_anchor_text(html: &str) -> ExtractedPage {
        let mut page = extract(html);
        for link in &mut page.links {
            link.anchor_text = None;
        }
        page
    }

    fn browser_reads(html: &str) -> ExtractedPage {
        use html5ever::{ns, Attribute, QualName};
        let document = scraper::Html::parse_document(html);
        let mut found = Found::default();
        let mut next = document.tree.root().first_child();
        while let Some(node) = next {
            let mut descend = true;
            if let Some(element) = scraper::ElementRef::wrap(node) {
                let el = element.value();
                let is_html = el.name.ns == ns!(html);
                if el.name() == "title" && is_html && found.title.is_none() {
                    found.title = collapse_whitespace(&element.text().collect::<String>());
                    // Only the first title counts, even when it is empty.
                    found.title.get_or_insert_with(String::new);
                }
                let attrs = el
                    .attrs()
                    .map(|(name, value)| Attribute {
                        name: QualName::new(None, ns!(), name.into()),
                        value: value.into(),
                    })
                    .collect();
                found.visit(ScannedTag {
                    name: el.name.local.clone(),
                    attrs,
                });
                descend = !(is_html && el.name() == "template");
            }
            next = descend.then(|| node.first_child()).flatten().or_else(|| {
                let mut current = node;
                loop {
                    if let Some(sibling) = current.next_sibling() {
                        break Some(sibling);
                    }
                    current = current.parent()?;
                }
            });
        }
        found.title = found.title.filter(|title| !title.is_empty());
        found.resolve(&page_url(), DEFAULT_MAX_LINKS_PER_PAGE)
    }

    /// The page's links as a set: which URLs, each nofollow or not.
    fn link_set(page: &ExtractedPage) -> Vec<(String, bool)> {
        let mut set: Vec<_> = page
            .links
            .iter()
            .map(|l| (l.url.as_str().to_owned(), l.nofollow))
            .collect();
        set.sort();
        set
    }

    #[test]
    fn reads_as_a_browser_on_tricky_pages() {
        for html in [
            "<a href=/1><p>x</a>y</p><b><a href=/2><div>z</b></div>",
            "<title>a<b>c</b></title><svg><title>s</title><a href=/svg>s</a></svg>",
            "<svg><style><a href=/in-svg-style></style><p><title>t</title><style><a href=/no>",
            "<math><mi><title>m</title></mi><annotation-xml><title>x</title></annotation-xml>",
            "<svg><![CDATA[<a href=/cdata>]]></svg><![CDATA[<a href=/html-cdata>]]>",
            "<template><a href=/t>t</a><template></template><a href=/t2></template><a href=/x>",
            "<svg><template><a href=/svg-template></template></svg><a href=/after>a</a>",
            "<html lang=x><body><html href=/h><body href=/b><a href=/x>",
            "<base href=/b1/><base href=/b2/><a href=x><title></title><title>second</title>",
            "<noscript><a href=/n></noscript><iframe><a href=/i></iframe><xmp><a href=/x></xmp>",
        ] {
            assert_eq!(without_anchor_text(html), browser_reads(html), "{html}");
        }
    }

    /// Whole tags that make the tree builder move nodes (foster parenting, the adoption
    /// agency, implied and closed elements), with numbered links: unlike `html_soup`,
    /// nothing here turns the rest of the page into text. No `<svg>` or `<math>`:
    /// foreign content inside misnested tables and formatting elements is where
    /// `open_elements` can misjudge the current node (about once in 70,000 of
    /// these soups; a later `<title>` read as SVG's or HTML's).
    fn structural_soup(dropping: bool) -> impl Strategy<Value = String> {
        let mut parts = vec![
            "<a href=/a>",
            "</a>",
            "<table>",
            "</table>",
            "<tr>",
            "<td>",
            "<th>",
            "<caption>",
            "<colgroup>",
            "<p>",
            "</p>",
            "<b>",
            "</b>",
            "<i>",
            "<nobr>",
            "<font>",
            "<div>",
            "</div>",
            "<li>",
            "<h1>",
            "<form>",
            "<title>t</title>",
            "<link rel=canonical href=/c>",
            "<base href=/b/>",
            "<area href=/ar>",
            "<iframe src=/i></iframe>",
            "<meta name=robots content=x>",
            "text",
        ];
        if dropping {
            // Tags after which a tree builder drops what follows (the base too,
            // which would change every link). Templates are in `html_soup`: here
            // a browser may drop one, or clone an `<a>` out of one.
            parts.extend(["<select>", "<option>", "<frameset>", "<frame src=/f>"]);
            parts.retain(|part| !part.starts_with("<base"));
        }
        let part = prop::sample::select(parts);
        prop::collection::vec(part, 0..60).prop_map(|parts| {
            let mut links = 0;
            parts
                .iter()
                .map(|part| match *part {
                    "<a href=/a>" => {
                        links += 1;
                        format!("<a href=/a{links}>")
                    }
                    other => other.to_owned(),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn reads_as_a_browser(html in html_soup()) {
            prop_assert_eq!(without_anchor_text(&html), browser_reads(&html));
        }

        /// Where the tree builder moves content, the order may differ (source
        /// order against tree order), never what is found.
        #[test]
        fn finds_what_a_browser_finds(html in structural_soup(false)) {
            let (ours, browsers) = (extract(&html), browser_reads(&html));
            prop_assert_eq!(link_set(&ours), link_set(&browsers));
            prop_assert_eq!(ours.title, browsers.title);
            prop_assert_eq!(ours.meta_robots, browsers.meta_robots);
            prop_assert_eq!(ours.canonical, browsers.canonical);
        }

        /// Where a tree builder drops elements (in `<select>`, after
        /// `<frameset>`, a `<frame>` outside one), we read them still.
        #[test]
        fn finds_every_link_a_browser_finds(html in structural_soup(true)) {
            let ours = link_set(&extract(&html));
            for link in link_set(&browser_reads(&html)) {
                prop_assert!(ours.contains(&link), "{:?} not in {:?}", link, ours);
            }
        }

        #[test]
        fn never_panics_and_links_are_canonical(html in any::<String>()) {
            check_page(&extract(&html))?;
        }

        #[test]
        fn soup_never_panics_and_links_are_canonical(html in html_soup()) {
            check_page(&extract(&html))?;
        }
    }

    fn check_page(page: &ExtractedPage) -> Result<(), TestCaseError> {
        for link in &page.links {
            let reparsed = CanonicalUrl::parse(link.url.as_str());
            prop_assert_eq!(reparsed.as_ref(), Ok(&link.url));
            prop_assert!(matches!(link.url.as_url().scheme(), "http" | "https"));
        }
        let mut seen = std::collections::HashSet::new();
        prop_assert!(
            page.links.iter().all(|l| seen.insert(l.url.clone())),
            "duplicates"
        );
        Ok(())
    }
}
