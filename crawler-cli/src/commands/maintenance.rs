//! What `check` and `repair` share.

use crawler_core::CanonicalUrl;

/// The seen-set's key of a stored URL: the engine's fingerprint of its canonical form.
pub fn fingerprint(url: &str) -> Option<u128> {
    CanonicalUrl::parse(url).ok().map(|url| url.fingerprint())
}
