//! From a fetched body to the outlinks the crawl follows.
//!
//! Two steps, each a pure function so the worker can call them without locks
//! and tests can call them without a server:
//!
//! 1. [`decode_html`] turns the body's bytes into text, choosing the encoding
//!    the way a browser does (BOM, then the `Content-Type` header, then a
//!    `<meta>` prescan, then UTF-8), so that non-UTF-8 pages yield the same
//!    links a user would see.
//! 2. [`extract_links`] reads the text with a real HTML5 tokenizer
//!    (html5ever's) and returns the page title, the links to follow as
//!    [`CanonicalUrl`](crate::url::CanonicalUrl)s, the declared canonical URL
//!    and the robots meta directives.
//!
//! ```
//! use crawler_core::extract::{decode_html, extract_links, LinkKind};
//!
//! let body = b"<title> Caf\xe9 </title><a href='/menu#top'>menu</a>";
//! let (text, encoding) = decode_html(body, Some("text/html; charset=iso-8859-1"));
//! assert_eq!(encoding, encoding_rs::WINDOWS_1252);
//!
//! let page_url = url::Url::parse("https://cafe.test/").unwrap();
//! let page = extract_links(&text, &page_url);
//! assert_eq!(page.title.as_deref(), Some("Café"));
//! assert_eq!(page.links[0].url.as_str(), "https://cafe.test/menu");
//! assert_eq!(page.links[0].kind, LinkKind::Anchor);
//! ```
//!
//! Not here: deciding whether a link is in scope ([`crate::url::Scope`]),
//! honouring robots.txt, or running scripts. Links that only exist after
//! JavaScript runs are not found, by design.

pub(crate) mod budget;
mod charset;
mod css;
mod links;
mod open_elements;
mod tag_scan;

pub use budget::{
    parse_bounded, parse_budget, BIG_PAGE, BIG_PARSES, PARSE_WORK_BASE, PARSE_WORK_PER_BYTE,
};
pub use charset::decode_html;
pub use links::{
    extract_css, extract_links, extract_page, ExtractedPage, Link, LinkKind,
    DEFAULT_MAX_LINKS_PER_PAGE, MAX_ANCHOR_TEXT, MAX_LINKS_PER_PAGE_LIMIT,
};
