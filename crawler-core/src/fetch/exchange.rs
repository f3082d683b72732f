//! What the store keeps of an HTTP exchange: the request head as sent and the response
//! head as received, for WARC archives and `crawler get --headers`.
//!
//! The client adds its own defaults to a request when they are missing, so the headers
//! here are set explicitly on every request: what is recorded is what is sent. Only
//! `Host` is left to the client, which derives it from the URL exactly as recorded.
//! An `Authorization` header is recorded with its value `[redacted]`.

use crawler_storage::{HttpExchange, RequestHead, ResponseHead};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, USER_AGENT};
use url::{Position, Url};

use super::headers::{self, HeaderRule, PerHost};

/// What a recorded request shows for a credential's value.
pub(crate) const REDACTED: &str = "[redacted]";

/// The codings the client decodes (its `gzip`, `deflate` and `brotli` features).
const ACCEPTED_ENCODINGS: &str = "gzip, deflate, br";

/// The headers requests carry besides `Host`: the defaults with the user's headers
/// applied, and for some hosts their own headers applied after those.
#[derive(Clone, Debug)]
pub(crate) struct RequestHeaders {
    every: HeaderMap,
    by_host: PerHost<HeaderMap>,
}

impl RequestHeaders {
    /// `User-Agent` (skipped if it is not a valid header value, as the client
    /// builder would have refused it), `Accept` and `Accept-Encoding`, then `every`
    /// (`-H`), then a host's own rules for that host.
    pub(crate) fn new(
        user_agent: &str,
        every: &[HeaderRule],
        by_host: &PerHost<Vec<HeaderRule>>,
    ) -> RequestHeaders {
        let mut map = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(user_agent) {
            map.insert(USER_AGENT, value);
        }
        map.insert(ACCEPT, HeaderValue::from_static("*/*"));
        map.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_static(ACCEPTED_ENCODINGS),
        );
        headers::apply(&mut map, every);
        let by_host = by_host.map(|rules| {
            let mut host_map = map.clone();
            headers::apply(&mut host_map, rules);
            host_map
        });
        RequestHeaders {
            every: map,
            by_host,
        }
    }

    /// The headers to set on a request for `url`.
    pub(crate) fn for_url(&self, url: &Url) -> &HeaderMap {
        self.by_host.get(url).unwrap_or(&self.every)
    }
}

/// The exchange of a request for `url` with `sent` headers (and an `Authorization`
/// header if `authorized`), once `response` arrived.
pub(crate) fn record(
    url: &Url,
    sent: &HeaderMap,
    authorized: bool,
    response: &reqwest::blocking::Response,
) -> HttpExchange {
    let version = format!("{:?}", response.version());
    let mut request_headers = vec![("host".to_owned(), host_header(url))];
    request_headers.extend(pairs(sent));
    if authorized {
        request_headers.push(("authorization".to_owned(), REDACTED.to_owned()));
    }
    HttpExchange {
        request: RequestHead {
            method: "GET".to_owned(),
            target: url[Position::BeforePath..Position::AfterQuery].to_owned(),
            version: version.clone(),
            headers: request_headers,
        },
        response: ResponseHead {
            version,
            status: response.status().as_u16(),
            reason: response
                .status()
                .canonical_reason()
                .unwrap_or_default()
                .to_owned(),
            headers: pairs(response.headers()),
        },
    }
}

/// `host` or `host:port` when the port is not the scheme's default, as the client sends it.
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_carries_only_a_non_default_port() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(host_header(&url("http://a.test/")), "a.test");
        assert_eq!(host_header(&url("http://a.test:80/")), "a.test");
        assert_eq!(host_header(&url("https://a.test:8443/x")), "a.test:8443");
        assert_eq!(host_header(&url("http://[::1]:81/")), "[::1]:81");
    }

    #[test]
    fn request_headers_are_the_ones_the_client_would_add() {
        let sent = RequestHeaders::new("crawler/1.0", &[], &PerHost::default());
        let names: Vec<(String, String)> =
            pairs(sent.for_url(&Url::parse("http://a.test/").unwrap()));
        assert_eq!(
            names,
            [
                ("user-agent".to_owned(), "crawler/1.0".to_owned()),
                ("accept".to_owned(), "*/*".to_owned()),
                ("accept-encoding".to_owned(), ACCEPTED_ENCODINGS.to_owned()),
            ]
        );
    }

    #[test]
    fn a_hosts_headers_apply_after_every_requests_ones() {
        let rule = |r: &str| r.parse::<HeaderRule>().unwrap();
        let mut by_host = PerHost::default();
        by_host
            .insert(
                "a.test",
                vec![rule("X-Team: crawl"), rule("Accept-Language: fr")],
            )
            .unwrap();
        let sent = RequestHeaders::new(
            "crawler/1.0",
            &[rule("Accept: text/html"), rule("Accept-Language: de")],
            &by_host,
        );
        let at = |url: &str| pairs(sent.for_url(&Url::parse(url).unwrap()));
        let a = at("http://a.test/");
        assert!(a.contains(&("x-team".into(), "crawl".into())));
        assert!(a.contains(&("accept-language".into(), "fr".into())));
        assert!(a.contains(&("accept".into(), "text/html".into())));
        let b = at("http://b.test/");
        assert!(b.contains(&("accept-language".into(), "de".into())));
        assert!(!b.iter().any(|(name, _)| name == "x-team"));
    }
}
