//! Charset decoding and link extraction of arbitrary bytes: never panics, every link
//! is canonical and http(s), each URL once, within the per-page cap.
#![no_main]

use std::collections::HashSet;

use crawler_core::extract::{decode_html, extract_links, DEFAULT_MAX_LINKS_PER_PAGE as MAX_LINKS_PER_PAGE};
use crawler_core::url::CanonicalUrl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the declared charset, as a Content-Type header would.
    let (choice, body) = data.split_first().unwrap_or((&0, data));
    let content_type = match choice % 4 {
        0 => None,
        1 => Some("text/html; charset=utf-8"),
        2 => Some("text/html; charset=windows-1252"),
        _ => Some("text/html; charset=shift_jis"),
    };
    let (text, _encoding) = decode_html(body, content_type);
    let base = url::Url::parse("http://a.test/dir/page.html").expect("a valid base");
    let page = extract_links(&text, &base);
    assert!(page.links.len() <= MAX_LINKS_PER_PAGE);
    let mut seen = HashSet::new();
    for link in &page.links {
        assert_eq!(CanonicalUrl::parse(link.url.as_str()).as_ref(), Ok(&link.url));
        assert!(matches!(link.url.as_url().scheme(), "http" | "https"));
        assert!(seen.insert(link.url.as_str().to_owned()), "each URL once");
    }
});
