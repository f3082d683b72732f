//! The one vocabulary of what went wrong with a URL.
//!
//! Every error a crawl records against a URL, whether its fetch failed, what it
//! fetched was unusable, or it was not fetched at all, is an [`ErrorKind`]. Its
//! string form ([`ErrorKind::as_str`]) is what the store keeps in a record's `error`
//! (the store itself keeps strings and knows nothing of HTTP), what the live counters
//! and the crawl summary count by, and what `crawler stats`, `crawler ls --error` and
//! the README's table of error kinds name. Stores written before this type existed
//! hold the same strings.

use std::fmt;
use std::str::FromStr;

/// What went wrong with a URL: the `error` its record is stored with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The request (body included) took longer than the timeout.
    Timeout,
    /// The connection could not be opened (refused, unreachable, connect timeout).
    Connect,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (bad or self-signed certificate, protocol error).
    Tls,
    /// The decompressed body exceeded the body limit.
    BodyTooLarge,
    /// A redirect chain went past the hop limit.
    TooManyRedirects,
    /// The connection broke while the body was being received.
    Read,
    /// The server's response was not valid HTTP.
    Protocol,
    /// Anything else (a failure no other kind describes, or an internal error while
    /// handling the page).
    Other,
    /// Not fetched: the URL looks like a crawler trap (longer than the URL-length
    /// cap, or a path segment repeated too often; see `crate::traps`).
    TrapSuspected,
    /// Fetched, but not every link of the page was kept: it had more than
    /// [`crate::CrawlConfig::max_links_per_page`].
    ParseLimited,
    /// A redirect (301, 302, 303, 307, 308) without a `Location` that resolves to
    /// an http(s) URL.
    RedirectInvalid,
    /// Fetched, but a hook the embedder wrote (a page handler, URL filter or page
    /// sink; see [`crate::hooks`]) returned an error or panicked on this page.
    HookFailed,
    /// Not fetched: a robots.txt rule disallows it.
    RobotsDisallowed,
    /// Not fetched: the host's robots.txt could not be fetched through all retries.
    RobotsUnavailable,
    /// Not fetched: the host was parked after failing again and again.
    HostUnreachable,
    /// A sitemap that was fetched but could not be read (malformed, or it declares
    /// entities: an XML bomb); none of its URLs are queued.
    SitemapInvalid,
    /// Fetched, but not every URL it led to was queued: its host's queue was full
    /// (`max_queued_per_host`), or sitemaps had added their share of the host
    /// (`max_sitemap_urls`). The message says how many and which budget.
    BudgetExceeded,
    /// Not fetched: the address the host is, or every address its name resolved to,
    /// is refused by the address rules (link-local, loopback, private, ... ; see
    /// `--allow-address` and `--deny-address`). Nothing was sent.
    AddressRefused,
    /// Not fetched: every `--proxy` was out, or each one tried failed to carry the
    /// request (the message says how). Not held against the host.
    Proxy,
    /// Rendered (`--render`), but the page had not settled (network idle for
    /// `--render-idle`) within `--render-timeout`: what was rendered by then is kept.
    /// Now how a page's rendering settled ([`crawler_storage::Settled`]), not an
    /// error of a record: only the `URL#rendered` records of a store of format 12 or
    /// older have it.
    RenderTimeout,
    /// `--render` could not render the page (the browser crashed or the tab hung);
    /// the page as fetched is kept. Like [`ErrorKind::RenderTimeout`], only on the
    /// records of older stores.
    RenderFailed,
    /// Not recorded: a cluster crawl handed the URL out `--max-deliveries` times and no
    /// node recorded it (each that took it died or lost its partition first); it is
    /// given up instead of handed out forever.
    DeadLetter,
}

impl ErrorKind {
    /// Every kind, in declaration order (the order of per-kind counters).
    pub const ALL: [ErrorKind; 23] = [
        ErrorKind::Timeout,
        ErrorKind::Connect,
        ErrorKind::Dns,
        ErrorKind::Tls,
        ErrorKind::BodyTooLarge,
        ErrorKind::TooManyRedirects,
        ErrorKind::Read,
        ErrorKind::Protocol,
        ErrorKind::Other,
        ErrorKind::TrapSuspected,
        ErrorKind::ParseLimited,
        ErrorKind::RedirectInvalid,
        ErrorKind::HookFailed,
        ErrorKind::RobotsDisallowed,
        ErrorKind::RobotsUnavailable,
        ErrorKind::HostUnreachable,
        ErrorKind::SitemapInvalid,
        ErrorKind::BudgetExceeded,
        ErrorKind::AddressRefused,
        ErrorKind::Proxy,
        ErrorKind::RenderTimeout,
        ErrorKind::RenderFailed,
        ErrorKind::DeadLetter,
    ];

    /// The name stored and printed: `timeout`, `connect`, `dns`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Dns => "dns",
            ErrorKind::Tls => "tls",
            ErrorKind::BodyTooLarge => "body-too-large",
            ErrorKind::TooManyRedirects => "too-many-redirects",
            ErrorKind::Read => "read",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Other => "other",
            ErrorKind::TrapSuspected => "trap-suspected",
            ErrorKind::ParseLimited => "parse-limited",
            ErrorKind::RedirectInvalid => "redirect-invalid",
            ErrorKind::HookFailed => "hook-failed",
            ErrorKind::RobotsDisallowed => "robots-disallowed",
            ErrorKind::RobotsUnavailable => "robots-unavailable",
            ErrorKind::HostUnreachable => "host-unreachable",
            ErrorKind::SitemapInvalid => "sitemap-invalid",
            ErrorKind::BudgetExceeded => "budget-exceeded",
            ErrorKind::AddressRefused => "address-refused",
            ErrorKind::Proxy => "proxy",
            ErrorKind::RenderTimeout => "render-timeout",
            ErrorKind::RenderFailed => "render-failed",
            ErrorKind::DeadLetter => "dead-letter",
        }
    }

    /// What the kind means, in one line for a person (the man page lists them).
    pub const fn meaning(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "no complete answer within --timeout (body included)",
            ErrorKind::Connect => "the connection was refused or could not be opened",
            ErrorKind::Dns => "the host name did not resolve",
            ErrorKind::Tls => "the TLS handshake failed (an untrusted certificate, say)",
            ErrorKind::BodyTooLarge => "the body was over --max-body after decompression",
            ErrorKind::TooManyRedirects => "the redirect chain went past --max-redirects",
            ErrorKind::Read => "the connection broke while the answer was being received",
            ErrorKind::Protocol => "the answer was not valid HTTP",
            ErrorKind::Other => "anything else; the record's message says what",
            ErrorKind::TrapSuspected => {
                "not fetched: over --max-url-len, or a path segment repeated too often"
            }
            ErrorKind::ParseLimited => "fetched, but only the page's first links were kept (--max-links-per-page)",
            ErrorKind::RedirectInvalid => "a redirect without a Location that is an http(s) URL",
            ErrorKind::HookFailed => "fetched, but an embedder's hook failed on the page",
            ErrorKind::RobotsDisallowed => "not fetched: a robots.txt rule disallows it",
            ErrorKind::RobotsUnavailable => {
                "not fetched: the host's robots.txt could not be fetched through all retries"
            }
            ErrorKind::HostUnreachable => {
                "not fetched: the host was parked after --park-after connection failures"
            }
            ErrorKind::SitemapInvalid => {
                "a sitemap that could not be read; none of its URLs queued"
            }
            ErrorKind::BudgetExceeded => {
                "fetched, but links past --max-queued-per-host or --max-sitemap-urls were not queued"
            }
            ErrorKind::AddressRefused => {
                "not fetched: the host's address is refused by the address rules (--allow-address)"
            }
            ErrorKind::Proxy => {
                "not fetched: every --proxy was out, or each one tried failed to carry the request"
            }
            ErrorKind::RenderTimeout => {
                "rendered, but not settled within --render-timeout; what was rendered is kept"
            }
            ErrorKind::RenderFailed => "--render could not render the page (browser crashed, tab hung)",
            ErrorKind::DeadLetter => {
                "given up: a cluster handed it out --max-deliveries times and no node recorded it"
            }
        }
    }

    /// Whether the fetch got no usable answer from the host at all (no connection, no
    /// name, no response in time, a broken connection): what makes a host look down.
    /// These are also the errors worth retrying.
    pub fn is_connection_failure(self) -> bool {
        matches!(
            self,
            ErrorKind::Timeout | ErrorKind::Connect | ErrorKind::Dns | ErrorKind::Read
        )
    }

    /// Whether a record with this error was never fetched (refused before a request):
    /// such records do not count toward the page budgets.
    pub fn is_unfetched(self) -> bool {
        matches!(
            self,
            ErrorKind::TrapSuspected
                | ErrorKind::TooManyRedirects
                | ErrorKind::RobotsDisallowed
                | ErrorKind::RobotsUnavailable
                | ErrorKind::HostUnreachable
                | ErrorKind::AddressRefused
                | ErrorKind::DeadLetter
        )
    }

    /// Position in [`ErrorKind::ALL`].
    pub const fn index(self) -> usize {
        // `ALL` lists the variants in declaration order (a test checks it).
        self as usize
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an [`ErrorKind`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown error kind {given:?}")]
pub struct UnknownErrorKind {
    /// The name given.
    pub given: String,
}

impl FromStr for ErrorKind {
    type Err = UnknownErrorKind;

    /// The kind named by its stored name (exactly as [`ErrorKind::as_str`] spells it).
    fn from_str(name: &str) -> Result<ErrorKind, UnknownErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownErrorKind {
                given: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_in_order_and_reads_back_from_its_name() {
        for (position, kind) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), position, "{kind}");
            assert_eq!(kind.as_str().parse::<ErrorKind>(), Ok(kind));
        }
        let mut names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len(), "two kinds share a name");
    }

    #[test]
    fn a_name_must_be_spelled_as_stored() {
        assert_eq!(
            "Timeout".parse::<ErrorKind>(),
            Err(UnknownErrorKind {
                given: "Timeout".into()
            })
        );
    }
}
