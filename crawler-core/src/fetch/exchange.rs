//! What the store keeps of an HTTP exchange: the request head as sent and the response
//! head as received, for WARC archives and `crawler get --headers`.
//!
//! The client adds its own defaults to a request when they are missing, so the headers
//! here are set explicitly on every request: what is recorded is what is sent. Only
//! `Host` is left to the client, which derives it from the URL exactly as recorded.

use crawler_storage::{HttpExchange, RequestHead, ResponseHead};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, USER_AGENT};
use url::{Position, Url};

/// The codings the client decodes (its `gzip`, `deflate` and `brotli` features).
const ACCEPTED_ENCODINGS: &str = "gzip, deflate, br";

/// The headers every request carries besides `Host`.
#[derive(Clone, Debug)]
pub(crate) struct RequestHeaders {
    map: HeaderMap,
}

impl RequestHeaders {
    /// `User-Agent` (skipped if it is not a valid header value, as the client
    /// builder would have refused it), `Accept` and `Accept-Encoding`.
    pub(crate) fn new(user_agent: &str) -> RequestHeaders {
        let mut map = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(user_agent) {
            map.insert(USER_AGENT, value);
        }
        map.insert(ACCEPT, HeaderValue::from_static("*/*"));
        map.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_static(ACCEPTED_ENCODINGS),
        );
        RequestHeaders { map }
    }

    /// The headers to set on a request.
    pub(crate) fn map(&self) -> HeaderMap {
        self.map.clone()
    }
}

/// The exchange of a request for `url` with `sent` headers, once `response` arrived.
pub(crate) fn record(
    url: &Url,
    sent: &RequestHeaders,
    response: &reqwest::blocking::Response,
) -> HttpExchange {
    let version = format!("{:?}", response.version());
    let mut request_headers = vec![("host".to_owned(), host_header(url))];
    request_headers.extend(pairs(&sent.map));
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
        let sent = RequestHeaders::new("crawler/1.0");
        let names: Vec<(String, String)> = pairs(&sent.map());
        assert_eq!(
            names,
            [
                ("user-agent".to_owned(), "crawler/1.0".to_owned()),
                ("accept".to_owned(), "*/*".to_owned()),
                ("accept-encoding".to_owned(), ACCEPTED_ENCODINGS.to_owned()),
            ]
        );
    }
}
