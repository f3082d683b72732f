//! Credentials: Basic ones by origin, what the userinfo of a seed URL
//! (`http://user:pw@host/`) becomes, and Basic or bearer ones of a host (or host and
//! port) from the config's `[hosts."HOST"]` tables, whose secrets come from
//! environment variables.
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

use super::headers::{HostKeyError, PerHost};

/// Basic credentials by origin (`http://host:port`), and credentials by host.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    by_origin: BTreeMap<String, Secret>,
    by_host: PerHost<HostCredential>,
}

/// The credential of one host, its secret read already.
#[derive(Clone, PartialEq, Eq)]
pub enum HostCredential {
    /// `Authorization: Basic`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `Authorization: Bearer`.
    Bearer(String),
}

/// What a request carries as its `Authorization` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// User name and maybe a password.
    Basic(&'a str, Option<&'a str>),
    /// A bearer token.
    Bearer(&'a str),
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

    /// These credentials with `other`'s host credentials added.
    pub fn with_hosts_of(mut self, other: &Credentials) -> Credentials {
        if !other.by_host.is_empty() {
            self.by_host = other.by_host.clone();
        }
        self
    }

    /// Sets the credential of `host` (`host` or `host:port`).
    pub fn add_host(&mut self, host: &str, credential: HostCredential) -> Result<(), HostKeyError> {
        self.by_host.insert(host, credential)
    }

    /// The credential to send with a request for `url`: its origin's from a seed, or
    /// else its host's.
    pub fn for_url(&self, url: &Url) -> Option<Credential<'_>> {
        if self.is_empty() {
            return None;
        }
        if let Some(secret) = self.by_origin.get(&origin(url)) {
            return Some(Credential::Basic(&secret.user, secret.password.as_deref()));
        }
        Some(match self.by_host.get(url)? {
            HostCredential::Basic { user, password } => Credential::Basic(user, Some(password)),
            HostCredential::Bearer(token) => Credential::Bearer(token),
        })
    }

    /// Whether no origin or host has credentials.
    pub fn is_empty(&self) -> bool {
        self.by_origin.is_empty() && self.by_host.is_empty()
    }

    /// The hosts that have credentials from the config.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.by_host.keys().collect();
        hosts.sort();
        hosts
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
            .field("hosts", &self.hosts())
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
            Some(Credential::Basic("us@er", Some("p:w")))
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
        assert_eq!(
            credentials.for_url(&user_only),
            Some(Credential::Basic("me", None))
        );
    }

    #[test]
    fn a_hosts_credential_goes_to_that_host_and_port_only() {
        let mut credentials = Credentials::default();
        credentials
            .add_host("a.test:8080", HostCredential::Bearer("t0ken".into()))
            .unwrap();
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            credentials.for_url(&url("https://a.test:8080/x")),
            Some(Credential::Bearer("t0ken"))
        );
        for other in [
            "http://a.test/",
            "http://b.test:8080/",
            "http://x.a.test:8080/",
        ] {
            assert_eq!(credentials.for_url(&url(other)), None, "{other}");
        }
        let debug = format!("{credentials:?}");
        assert!(debug.contains("a.test:8080") && !debug.contains("t0ken"));
    }
}
