//! Whether a failed request failed because of its proxy, and how.
//!
//! Through a proxy, the client connects to the proxy only; so a connection that
//! could not be opened, or a name that did not resolve when it is the proxy's, is
//! the proxy's fault. A proxy that refuses our credentials (407; a refused SOCKS
//! login) is at fault too. A proxy that answers it could not carry the request (a
//! refused `CONNECT` tunnel, a SOCKS failure reply) may be broken, or the origin may
//! be down: that counts as a strike, and strikes in a row take the proxy out
//! (`pool.rs`).
//!
//! A plain-http request is forwarded by the proxy, which relays the origin's
//! answer: a 502, 503 or 504 is the proxy's own only when it says so, with an
//! RFC 9209 `Proxy-Status` header naming an error, or Squid's `X-Squid-Error`;
//! otherwise it is the origin's answer and recorded as such. Even then, an error
//! about the destination (RFC 9209's `dns_*`, `destination_*`, `connection_*`,
//! `tls_*` and `http_response_*` types; Squid's `ERR_CONNECT_FAIL`, `ERR_DNS_FAIL`,
//! ...) says the site is down, not the proxy: in a broad crawl many sites are, and
//! counting them against the proxy would take a working proxy out. Such an answer is
//! recorded as the site's.
//!
//! The client's tunnel and SOCKS errors are not public types, so they are told
//! apart by their text; every other cause is found by type.

use reqwest::header::HeaderMap;

use super::super::address::AddressRefused;
use super::super::resolver::DnsFailure;

/// How a proxy failed a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// It could not be reached: connection refused or timed out, its name unresolved.
    Unreachable,
    /// It refused our credentials.
    Refused,
    /// It answered that it could not carry the request.
    Failed,
}

impl Fault {
    /// Whether the proxy is taken out at once (else after strikes in a row).
    pub(crate) fn is_certain(self) -> bool {
        matches!(self, Fault::Unreachable | Fault::Refused)
    }

    /// For people.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Fault::Unreachable => "cannot connect to it",
            Fault::Refused => "it refused the credentials (407)",
            Fault::Failed => "it could not carry requests",
        }
    }
}

/// The proxy's fault in a request error, if it is one: `proxy_host` is the host of
/// the proxy the request went through, `message` the error's text with its causes.
pub(crate) fn of_error(error: &reqwest::Error, proxy_host: &str, message: &str) -> Option<Fault> {
    if !error.is_connect() {
        // A connection was made: whatever broke after it is the origin's answer.
        return None;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.is::<rustls::Error>() || cause.is::<AddressRefused>() {
            // The origin's certificate, or an address the rules refuse.
            return None;
        }
        if let Some(dns) = cause.downcast_ref::<DnsFailure>() {
            let name = dns.name.trim_start_matches('[').trim_end_matches(']');
            return name
                .eq_ignore_ascii_case(proxy_host)
                .then_some(Fault::Unreachable);
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut
            ) {
                return Some(Fault::Unreachable);
            }
        }
        // An `io::Error`'s `source()` skips the error it wraps.
        source = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as _),
            None => cause.source(),
        };
    }
    let text = message.to_ascii_lowercase();
    if text.contains("proxy authorization required")
        || text.contains("credentials not accepted")
        || text.contains("does not support user/pass")
    {
        Some(Fault::Refused)
    } else if error.is_timeout() || text.contains("failed to create underlying connection") {
        Some(Fault::Unreachable)
    } else {
        Some(Fault::Failed)
    }
}

/// The proxy's fault in a response to a plain-http request it forwarded.
pub(crate) fn of_response(status: u16, headers: &HeaderMap) -> Option<Fault> {
    match status {
        407 => Some(Fault::Refused),
        502..=504 if says_it_failed(headers) => Some(Fault::Failed),
        _ => None,
    }
}

/// Whether a response says the proxy produced it for a fault of its own (RFC 9209
/// `Proxy-Status` with an `error` parameter, or Squid's `X-Squid-Error`, that is not
/// about the destination).
fn says_it_failed(headers: &HeaderMap) -> bool {
    let proxy_status = headers.get_all("proxy-status").iter().any(|value| {
        String::from_utf8_lossy(value.as_bytes())
            .split(';')
            .filter_map(|param| {
                let param = param.trim().to_ascii_lowercase();
                Some(param.strip_prefix("error=")?.trim_matches('"').to_owned())
            })
            .any(|error| !about_the_destination(&error))
    });
    let squid = headers.get_all("x-squid-error").iter().any(|value| {
        let text = String::from_utf8_lossy(value.as_bytes()).to_ascii_uppercase();
        let code = text.split_whitespace().next().unwrap_or_default();
        !SQUID_DESTINATION_ERRORS.contains(&code)
    });
    proxy_status || squid
}

/// RFC 9209 error types (§2.3) that say the destination failed.
fn about_the_destination(error: &str) -> bool {
    [
        "dns_",
        "destination_",
        "connection_",
        "tls_",
        "http_response_",
    ]
    .iter()
    .any(|prefix| error.starts_with(prefix))
        || matches!(error, "http_upgrade_failed" | "http_protocol_error")
}

/// Squid's error pages for a site it could not reach or read.
const SQUID_DESTINATION_ERRORS: [&str; 8] = [
    "ERR_CONNECT_FAIL",
    "ERR_DNS_FAIL",
    "ERR_READ_TIMEOUT",
    "ERR_READ_ERROR",
    "ERR_WRITE_ERROR",
    "ERR_ZERO_SIZE_OBJECT",
    "ERR_SECURE_CONNECT_FAIL",
    "ERR_LIFETIME_EXP",
];

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_gateway_error_is_the_proxys_only_when_it_says_so() {
        let mut headers = HeaderMap::new();
        assert_eq!(of_response(502, &headers), None);
        assert_eq!(of_response(407, &headers), Some(Fault::Refused));
        headers.insert(
            "proxy-status",
            HeaderValue::from_static("cache.example; error=proxy_internal_error"),
        );
        assert_eq!(of_response(502, &headers), Some(Fault::Failed));
        assert_eq!(of_response(200, &headers), None);
        let mut squid = HeaderMap::new();
        squid.insert(
            "x-squid-error",
            HeaderValue::from_static("ERR_SHUTTING_DOWN 0"),
        );
        assert_eq!(of_response(503, &squid), Some(Fault::Failed));
        let mut forwarded = HeaderMap::new();
        forwarded.insert(
            "proxy-status",
            HeaderValue::from_static("cache.example; received-status=502"),
        );
        assert_eq!(of_response(502, &forwarded), None);
    }

    #[test]
    fn a_site_the_proxy_could_not_reach_is_not_held_against_the_proxy() {
        for (name, value) in [
            ("proxy-status", "cache.example; error=connection_refused"),
            (
                "proxy-status",
                "cache.example; error=dns_error; rcode=NXDOMAIN",
            ),
            (
                "proxy-status",
                "cache.example; error=\"destination_unavailable\"",
            ),
            ("x-squid-error", "ERR_CONNECT_FAIL 111"),
            ("x-squid-error", "ERR_DNS_FAIL 0"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static(value));
            assert_eq!(of_response(502, &headers), None, "{value}");
        }
    }
}
