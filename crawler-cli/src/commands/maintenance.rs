//! What `check` and `repair` share.

use crawler_core::CanonicalUrl;
use crawler_storage::QueueEntry;

/// The seen-set's key of a stored URL: the engine's fingerprint of its canonical form.
pub fn fingerprint(url: &str) -> Option<u128> {
    CanonicalUrl::parse(url).ok().map(|url| url.fingerprint())
}

/// The frontier entry of a URL `repair` queues again: a seed on its host.
pub fn queue_again(url: &str) -> Option<QueueEntry> {
    let url = CanonicalUrl::parse(url).ok()?;
    Some(QueueEntry::seed(url.as_str(), url.host_key().as_str()))
}
