//! A queued URL as the cluster's queues carry it: the store's compact queue entry.

use crawler_storage::QueueEntry;

use crate::messages::Queued;
use crate::url::CanonicalUrl;

/// The bytes an entry of the cluster's queue carries for `queued`.
pub(super) fn encode(queued: &Queued) -> Vec<u8> {
    QueueEntry {
        url: queued.url.as_str().to_owned(),
        host: String::new(),
        depth: queued.depth,
        from: queued.from.clone(),
        hops: queued.hops,
        kind: queued.kind.store_name(),
        retry_of: None,
        priority: queued.priority,
        turn: queued.turn,
        via: Some(queued.via),
        embeds: queued.embeds,
        changefreq_s: queued.changefreq_s,
    }
    .to_bytes()
}

/// The queued URL a delivery carries; `None` for bytes that are not one (written by
/// another program, or damaged).
pub(super) fn decode(bytes: &[u8]) -> Option<Queued> {
    let entry = QueueEntry::from_bytes(bytes, "")?;
    let url = CanonicalUrl::parse(&entry.url).ok()?;
    Some(Queued::from_entry(url, entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{JobKind, Via};

    #[test]
    fn a_queued_url_comes_back_as_it_went() {
        let url = CanonicalUrl::parse("http://a.test/x?y=1").unwrap();
        let mut queued = Queued::page(url, 3, Some("http://a.test/".into()), 1);
        queued.kind = JobKind::Sitemap { level: 1 };
        queued.priority = -2;
        queued.turn = 7;
        queued.via = Via::Link;
        queued.changefreq_s = Some(86_400);
        assert_eq!(decode(&encode(&queued)), Some(queued));
    }

    #[test]
    fn bytes_that_are_no_entry_are_refused() {
        assert_eq!(decode(b"no"), None);
        assert_eq!(decode(&[0; 12]), None);
    }
}
