//! Sitemap parsing (XML urlset and index, gzip, plain text): never panics, stays
//! within the protocol's limits.
#![no_main]

use crawler_core::sitemap::{parse, MAX_SITEMAP_URLS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sitemap) = parse(data) {
        assert!(sitemap.locs.len() <= MAX_SITEMAP_URLS);
        assert!(sitemap.locs.iter().all(|loc| loc.trim() == loc));
    }
});
