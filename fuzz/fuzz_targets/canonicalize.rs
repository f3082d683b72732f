//! URL canonicalization: never panics; a canonical URL parses back to itself, stays
//! http(s), within the length cap, without a fragment; joining a link against a base
//! obeys the same rules.
#![no_main]

use crawler_core::url::{CanonicalUrl, MAX_URL_LEN};
use libfuzzer_sys::fuzz_target;

fn check(url: &CanonicalUrl) {
    let again = CanonicalUrl::parse(url.as_str()).expect("a canonical URL parses");
    assert_eq!(&again, url, "canonicalization is idempotent");
    let via_url = CanonicalUrl::from_url(url.as_url().clone()).expect("from_url accepts it");
    assert_eq!(&via_url, url);
    assert!(matches!(url.as_url().scheme(), "http" | "https"));
    assert!(url.as_str().len() <= MAX_URL_LEN);
    assert!(url.as_url().fragment().is_none());
    assert!(!url.host().is_empty());
    let _ = url.host_key();
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = CanonicalUrl::parse(text) {
        check(&url);
    }
    // The first line is a base, the rest a link found on it.
    let (base, href) = text.split_once('\n').unwrap_or(("http://a.test/dir/page?q=1", text));
    if let Ok(base) = url::Url::parse(base) {
        if let Ok(url) = CanonicalUrl::join(&base, href) {
            check(&url);
        }
    }
});
