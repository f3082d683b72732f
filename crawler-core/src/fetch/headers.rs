//! Request headers the user adds: `-H 'Name: value'` on every request (curl's syntax;
//! `Name:` leaves out a header an earlier `-H` added), and headers of one host from
//! the config's `[hosts."HOST"]` tables.
//!
//! Of the default headers, `Accept` may be given another value but not left out: the
//! HTTP client puts `Accept: */*` back into any request without one, and what is
//! recorded must be what was sent.
//!
//! Some headers are refused, with the reason: those the client derives from the URL
//! or the connection (`Host`, `Content-Length`, `Connection`, ...), those that would
//! make the crawl lie about itself or store something else than a page (`User-Agent`
//! is what robots.txt rules are matched against; a conditional or ranged request
//! stores a 304 or a fragment; `Accept-Encoding` names the codings the client
//! decodes), and those that carry a secret to every host (`Authorization`, `Cookie`,
//! `Proxy-Authorization`), which have their own, host-bound settings.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

/// One `-H` value: a header to send (replacing a default of that name), or a default
/// header to leave out (`value` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderRule {
    /// The header's name, lowercased.
    pub name: HeaderName,
    /// Its value, or `None` to send no such header.
    pub value: Option<HeaderValue>,
}

/// A header the crawl cannot send as given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    /// Not `Name: value`, `Name:` or `Name;`.
    #[error(
        "{0:?} is not 'Name: value' (curl's syntax; 'Name:' drops an earlier -H of that name)"
    )]
    Syntax(String),
    /// The name has characters a header name cannot have.
    #[error("{0:?} is not a valid header name")]
    BadName(String),
    /// The value has characters a header value cannot have (line breaks, controls).
    #[error("the value of {0} is not a valid header value (line breaks or control characters)")]
    BadValue(String),
    /// A header the crawler sets itself, or one that must not go to every host.
    #[error("{name} cannot be set: {why}")]
    Refused {
        /// The header's name as given.
        name: String,
        /// Why, and what to use instead.
        why: &'static str,
    },
}

/// Headers refused, with why. Matched on lowercased names.
const REFUSED: [(&str, &str); 18] = [
    ("host", "it is derived from each URL"),
    ("content-length", "a GET request has no body"),
    ("transfer-encoding", "a GET request has no body"),
    ("connection", "the crawler manages its connections"),
    ("keep-alive", "the crawler manages its connections"),
    ("proxy-connection", "the crawler manages its connections"),
    ("te", "the crawler manages its connections"),
    ("upgrade", "the crawler manages its connections"),
    (
        "user-agent",
        "give --user-agent: robots.txt rules are matched against it",
    ),
    (
        "accept-encoding",
        "the crawler asks for the codings it decodes (gzip, deflate, br)",
    ),
    (
        "authorization",
        "it would go to every host; give basic-auth or bearer-env under [hosts.\"HOST\"] in the --config file, or user:password@ in a seed URL",
    ),
    (
        "proxy-authorization",
        "give the proxy's credentials in its --proxy URL",
    ),
    ("cookie", "cookies come from the crawl's cookie jar"),
    (
        "if-modified-since",
        "the store keeps whole responses, not 304s",
    ),
    ("if-none-match", "the store keeps whole responses, not 304s"),
    ("if-match", "the store keeps whole responses"),
    ("if-unmodified-since", "the store keeps whole responses"),
    ("range", "the store keeps whole responses, not parts"),
];

impl std::str::FromStr for HeaderRule {
    type Err = HeaderError;

    /// `Name: value` sends the header, `Name:` drops an earlier one, `Name;` sends it
    /// empty (as curl reads them).
    fn from_str(input: &str) -> Result<HeaderRule, HeaderError> {
        let (name, value) = match input.split_once(':') {
            Some((name, value)) => {
                let value = value.trim();
                (name, (!value.is_empty()).then_some(value))
            }
            None => match input.trim_end().strip_suffix(';') {
                Some(name) => (name, Some("")),
                None => return Err(HeaderError::Syntax(input.to_owned())),
            },
        };
        header(name, value)
    }
}

/// A header `name` with `value` (`None`: left out), checked.
pub fn header(name: &str, value: Option<&str>) -> Result<HeaderRule, HeaderError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(HeaderError::Syntax(format!("{name}:")));
    }
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| HeaderError::BadName(name.to_owned()))?;
    if let Some((_, why)) = REFUSED.iter().find(|(refused, _)| parsed == *refused) {
        return Err(HeaderError::Refused {
            name: name.to_owned(),
            why,
        });
    }
    if value.is_none() && parsed == reqwest::header::ACCEPT {
        return Err(HeaderError::Refused {
            name: name.to_owned(),
            why: "the HTTP client sends Accept: */* when a request has none; give another value instead ('Accept: text/html')",
        });
    }
    let value = value
        .map(|value| {
            HeaderValue::from_str(value).map_err(|_| HeaderError::BadValue(name.to_owned()))
        })
        .transpose()?;
    Ok(HeaderRule {
        name: parsed,
        value,
    })
}

/// Applies `rules` to `map`, in order: a later rule for a name replaces an earlier one.
pub(crate) fn apply(map: &mut HeaderMap, rules: &[HeaderRule]) {
    for rule in rules {
        match &rule.value {
            Some(value) => {
                map.insert(rule.name.clone(), value.clone());
            }
            None => {
                map.remove(&rule.name);
            }
        }
    }
}

/// Settings of single hosts, looked up by a URL: an entry for `host:port` wins over
/// one for `host` (every port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerHost<T> {
    entries: HashMap<(String, Option<u16>), T>,
}

impl<T> Default for PerHost<T> {
    fn default() -> PerHost<T> {
        PerHost {
            entries: HashMap::new(),
        }
    }
}

/// A `[hosts]` key that is not `host` or `host:port`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a host or host:port")]
pub struct HostKeyError(pub String);

impl<T> PerHost<T> {
    /// Sets the entry for `key` (`host`, `host:port`, `[v6]:port`).
    pub fn insert(&mut self, key: &str, value: T) -> Result<(), HostKeyError> {
        let bad = || HostKeyError(key.to_owned());
        // A URL parser normalizes the host as it will be in the URLs looked up.
        let url = Url::parse(&format!("http://{key}/")).map_err(|_| bad())?;
        let shape_ok = url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        let host = url.host_str().filter(|_| shape_ok).ok_or_else(bad)?;
        // `Url` hides a port that is http's default: whether one was written is read
        // from the key.
        let port = match key.rsplit_once(':') {
            Some((_, port)) if !port.ends_with(']') => Some(port.parse().map_err(|_| bad())?),
            _ => None,
        };
        self.entries.insert((host.to_owned(), port), value);
        Ok(())
    }

    /// The entry for `url`'s host and port, or for its host.
    pub fn get(&self, url: &Url) -> Option<&T> {
        if self.entries.is_empty() {
            return None;
        }
        let host = url.host_str()?.to_owned();
        let port = url.port_or_known_default();
        self.entries
            .get(&(host, port))
            .or_else(|| self.entries.get(&(url.host_str()?.to_owned(), None)))
    }

    /// The same keys with each value mapped by `f`.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> PerHost<U> {
        PerHost {
            entries: self
                .entries
                .iter()
                .map(|(key, value)| (key.clone(), f(value)))
                .collect(),
        }
    }

    /// Whether no host has an entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys, as `host` or `host:port`.
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.keys().map(|(host, port)| match port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_syntax_adds_drops_and_empties() {
        let add: HeaderRule = "Accept-Language:  de ".parse().unwrap();
        assert_eq!(add.name, "accept-language");
        assert_eq!(add.value, Some(HeaderValue::from_static("de")));
        let drop: HeaderRule = "X-Added:".parse().unwrap();
        assert_eq!(drop.value, None);
        assert!(matches!(
            "Accept:".parse::<HeaderRule>(),
            Err(HeaderError::Refused { .. })
        ));
        let empty: HeaderRule = "X-Empty;".parse().unwrap();
        assert_eq!(empty.value, Some(HeaderValue::from_static("")));
        assert_eq!(
            "no colon".parse::<HeaderRule>(),
            Err(HeaderError::Syntax("no colon".into()))
        );
        assert_eq!(
            "Bad Name: x".parse::<HeaderRule>(),
            Err(HeaderError::BadName("Bad Name".into()))
        );
        assert!(matches!(
            "X-A: b\u{1}c".parse::<HeaderRule>(),
            Err(HeaderError::BadValue(_))
        ));
    }

    #[test]
    fn headers_the_crawler_owns_are_refused_with_a_reason() {
        for name in ["Host", "user-agent", "Authorization", "Cookie", "Range"] {
            for input in [format!("{name}: x"), format!("{name}:")] {
                let error = input.parse::<HeaderRule>().unwrap_err();
                assert!(
                    matches!(&error, HeaderError::Refused { name: n, .. } if n == name),
                    "{input}: {error:?}"
                );
            }
        }
        let why = "Authorization: Bearer x"
            .parse::<HeaderRule>()
            .unwrap_err()
            .to_string();
        assert!(why.contains("bearer-env"), "{why}");
    }

    #[test]
    fn a_port_entry_wins_over_a_host_entry() {
        let mut hosts = PerHost::default();
        hosts.insert("A.test", "any port").unwrap();
        hosts.insert("a.test:8080", "8080").unwrap();
        hosts.insert("[::1]:81", "v6").unwrap();
        let at = |url: &str| hosts.get(&Url::parse(url).unwrap()).copied();
        assert_eq!(at("http://a.test/"), Some("any port"));
        assert_eq!(at("https://a.test:8080/x"), Some("8080"));
        assert_eq!(at("http://[::1]:81/"), Some("v6"));
        assert_eq!(at("http://[::1]:82/"), None);
        assert_eq!(at("http://b.test/"), None);
        for bad in ["", "a.test:x", "a.test/path", "u@a.test", "a.test:99999"] {
            assert!(hosts.insert(bad, "x").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rules_apply_in_order() {
        let mut map = HeaderMap::new();
        map.insert("accept", HeaderValue::from_static("*/*"));
        let rules: Vec<HeaderRule> = ["Accept: text/html", "X-A: 1", "X-A: 2", "X-B: 1", "X-B:"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        apply(&mut map, &rules);
        assert_eq!(map.get("accept").unwrap(), "text/html");
        assert_eq!(map.get("x-a").unwrap(), "2");
        assert!(map.get("x-b").is_none());
    }
}
