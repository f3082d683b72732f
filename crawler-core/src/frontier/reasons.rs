//! Why hosts were closed, each distinct text held once.
//!
//! A broad crawl closes hosts by the hundred thousand, most for the same few reasons
//! (connection refused, no such name). The HTTP client's text names the URL it was
//! fetching (`error sending request for url (http://a.test/robots.txt)`), which makes
//! every host's text unique; the record of each refused URL names its URL anyway. So
//! the URL is cut out, and what is left is shared by every host it applies to.

use std::collections::HashSet;
use std::sync::Arc;

/// Distinct texts kept for sharing at most; past it a text is held by its hosts alone.
const MAX_DISTINCT: usize = 10_000;

#[derive(Default)]
pub(crate) struct Reasons {
    known: HashSet<Arc<str>>,
}

impl Reasons {
    /// `why` without the URLs the client named, shared with every host closed for
    /// the same reason.
    pub(crate) fn intern(&mut self, why: &str) -> Arc<str> {
        let text = without_urls(why);
        if let Some(known) = self.known.get(text.as_str()) {
            return Arc::clone(known);
        }
        let shared: Arc<str> = text.into();
        if self.known.len() < MAX_DISTINCT {
            self.known.insert(Arc::clone(&shared));
        }
        shared
    }
}

/// `why` with each ` for url (…)` cut out.
fn without_urls(why: &str) -> String {
    const MARK: &str = " for url (";
    let mut text = String::with_capacity(why.len());
    let mut rest = why;
    while let Some(at) = rest.find(MARK) {
        text.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        match after.find(')') {
            Some(end) => rest = &after[end + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    text.push_str(rest);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_refused_alike_share_one_text_without_their_urls() {
        let mut reasons = Reasons::default();
        let a = reasons.intern("connect: error sending request for url (http://a.test/robots.txt): tcp connect error: Connection refused");
        let b = reasons.intern("connect: error sending request for url (http://b.test/robots.txt): tcp connect error: Connection refused");
        assert_eq!(
            &*a,
            "connect: error sending request: tcp connect error: Connection refused"
        );
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*reasons.intern("timed out"), "timed out");
        assert_eq!(&*reasons.intern("x for url (unclosed"), "x");
    }
}
