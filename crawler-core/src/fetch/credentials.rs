//! Basic credentials by origin: what the userinfo of a seed URL
//! (`http://user:pw@host/`) becomes.
//!
//! A canonical URL never holds userinfo, so a URL that is stored, logged, queued or
//! written to a WARC holds no secret. The userinfo of a seed is taken out before it is
//! canonicalized and kept here, in memory only: every request to that origin (scheme,
//! host and port) carries it as `Authorization: Basic`, and no request to another
//! origin does, links and redirects included. It is never serialized, and `Debug`
//! shows the origins only.

use std::collections::BTreeMap;
use std::fmt;

use url::Url;

/// Basic credentials by origin (`http://host:port`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    by_origin: BTreeMap<String, Secret>,
}

#[derive(Clone, PartialEq, Eq)]
struct Secret {
    user: String,
    password: Option<String>,
}

impl Credentials {
    /// Takes `url`'s userinfo out of it and keeps it for the URL's origin (a later
    /// seed of the same origin replaces it). Returns whether there was any.
    pub fn take_from(&mut self, url: &mut Url) -> bool {
        if url.username().is_empty() && url.password().is_none() {
            return false;
        }
        let secret = Secret {
            user: decode(url.username()),
            password: url.password().map(decode),
        };
        // Only http(s) URLs get here with userinfo, and both setters succeed on them.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        self.by_origin.insert(origin(url), secret);
        true
    }

    /// The user name and password to send with a request for `url`, if its origin
    /// has any.
    pub fn for_url(&self, url: &Url) -> Option<(&str, Option<&str>)> {
        let secret = self.by_origin.get(&origin(url))?;
        Some((&secret.user, secret.password.as_deref()))
    }

    /// Whether no origin has credentials.
    pub fn is_empty(&self) -> bool {
        self.by_origin.is_empty()
    }

    /// The origins that have credentials.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.by_origin.keys().map(String::as_str)
    }
}

/// `%XX` escapes decoded (the URL parser encodes userinfo it is given).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("origins", &self.by_origin.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_taken_out_and_kept_for_its_origin_only() {
        let mut credentials = Credentials::default();
        let mut url = Url::parse("http://us%40er:p%3Aw@a.test:8080/x").unwrap();
        assert!(credentials.take_from(&mut url));
        assert_eq!(url.as_str(), "http://a.test:8080/x");
        let same_origin = Url::parse("http://a.test:8080/other?q").unwrap();
        assert_eq!(
            credentials.for_url(&same_origin),
            Some(("us@er", Some("p:w")))
        );
        for other in [
            "http://a.test/x",
            "https://a.test:8080/x",
            "http://b.test:8080/x",
        ] {
            assert_eq!(credentials.for_url(&Url::parse(other).unwrap()), None);
        }
        let debug = format!("{credentials:?}");
        assert!(debug.contains("http://a.test:8080") && !debug.contains("p:w"));
    }

    #[test]
    fn a_url_without_userinfo_is_left_alone() {
        let mut credentials = Credentials::default();
        let mut url = Url::parse("http://a.test/").unwrap();
        assert!(!credentials.take_from(&mut url));
        assert!(credentials.is_empty());
        let mut user_only = Url::parse("http://me@a.test/").unwrap();
        assert!(credentials.take_from(&mut user_only));
        assert_eq!(credentials.for_url(&user_only), Some(("me", None)));
    }
}
