//! Seed-list parsing: never panics; every seed is canonical; the strict reader fails
//! exactly when the lenient one skips a line.
#![no_main]

use crawler_core::url::CanonicalUrl;
use crawler_core::{read_seeds, read_seeds_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut skipped = 0;
    let lenient = read_seeds_with(data, "fuzz", |_| {
        skipped += 1;
        Ok(())
    })
    .expect("reading from memory cannot fail");
    for seed in &lenient {
        assert_eq!(CanonicalUrl::parse(seed.as_str()).as_ref(), Ok(seed));
    }
    match read_seeds(data, "fuzz") {
        Ok(strict) => {
            assert_eq!(skipped, 0);
            assert_eq!(strict, lenient);
        }
        Err(error) => {
            assert!(skipped > 0, "{error}");
            assert!(error.to_string().starts_with("fuzz:"));
        }
    }
});
