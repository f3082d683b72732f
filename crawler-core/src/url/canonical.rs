//! [`CanonicalUrl`]: a `url::Url` that is known to be in canonical form.
//!
//! # The canonical form
//!
//! Parsing with the `url` crate (WHATWG URL Standard) already gives us, for
//! `http` and `https`: lowercase scheme and host, IDNs as punycode, IPv4 forms
//! such as `0x7f.1` normalized, the default port dropped, dot segments removed
//! (including their percent-encoded spellings `%2e` / `%2E`), an empty path
//! turned into `/`, and non-ASCII, spaces and other unsafe characters
//! percent-encoded. On top of that, canonicalization:
//!
//! * rejects every scheme other than `http` and `https`
//!   ([`UrlError::UnsupportedScheme`]): a crawler fetches nothing else;
//! * drops the fragment: it never reaches the server;
//! * drops an empty query (`http://a.test/?` becomes `http://a.test/`): the
//!   trailing `?` is almost always an artifact of link-building code, and
//!   keeping it would split one page into two seen-set entries;
//! * keeps a non-empty query byte for byte in its order: parameter order can
//!   matter to the server, so sorting would merge distinct resources;
//! * normalizes percent-escapes in the path and query (RFC 3986 §6.2.2.1-2):
//!   an escape of an unreserved character (`A-Z a-z 0-9 - . _ ~`) is decoded,
//!   every other escape keeps its byte with uppercase hex digits (`%2f` becomes
//!   `%2F`, never `/`), and a `%` that does not start a valid escape becomes
//!   `%25`. The last rule is what makes the form idempotent: without it
//!   `%%41` would become `%A`, which a second pass could read as a new escape.
//!   After this step every `%` in the path and query starts an uppercase escape
//!   of a byte that must stay encoded;
//! * drops userinfo (`user:pass@`): a canonical URL is stored, logged and
//!   exported, so it must hold no secret. A seed's userinfo becomes its origin's
//!   Basic credentials instead (`crate::fetch::Credentials`), and error messages
//!   show an input's userinfo as `***`;
//! * keeps the host exactly as the `url` crate gives it: no `www.` stripping
//!   and no removal of a trailing dot, since both can name different servers;
//! * refuses URLs longer than [`MAX_URL_LEN`] bytes, before and after
//!   canonicalization, so hostile pages cannot fill the frontier with
//!   megabyte-long keys.
//!
//! Dot segments and percent-decoding: the RFC decodes unreserved escapes and
//! then removes dot segments. Here the `url` crate removes dot segments first,
//! and it already treats `%2e` as `.` when it does, so a segment that is still
//! there after parsing is never made only of dots and escaped dots. Decoding
//! `%2E` afterwards therefore cannot create a new `.` or `..` segment, and the
//! two orders give the same result.
//!
//! # Cost
//!
//! This runs for every extracted link. The common case (no escape needs
//! changing) costs one scan of the path and query and no extra allocation; only
//! when an escape changes is the URL serialized again and re-parsed once.

use std::fmt;

use url::{Position, Url};

/// Longest canonical URL, in bytes, that the crawler accepts.
///
/// Real sites stay far below this (browsers and search engines start to
/// truncate around 2,000 characters); the bound exists so that a hostile page
/// cannot make seen-set keys and stored rows arbitrarily large.
pub const MAX_URL_LEN: usize = 8192;

/// How many bytes of an offending input an error message repeats.
const ERROR_EXCERPT_LEN: usize = 200;

/// Why a string or `Url` could not become a [`CanonicalUrl`].
///
/// Every message names the offending input (cut to 200 bytes) so that a log
/// line says which link was dropped.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// The text is not a URL, or not one that resolves against the base.
    #[error("invalid URL `{input}`: {reason}")]
    Invalid {
        /// The input, possibly cut short.
        input: String,
        /// What the URL parser objected to.
        reason: String,
    },
    /// A well-formed URL whose scheme the crawler does not fetch.
    #[error("unsupported scheme `{scheme}` in URL `{input}`: only http and https are crawled")]
    UnsupportedScheme {
        /// The input, possibly cut short.
        input: String,
        /// The scheme, as the parser lowercased it.
        scheme: String,
    },
    /// An http(s) URL without a host; there is nothing to connect to.
    #[error("URL `{input}` has no host")]
    NoHost {
        /// The input, possibly cut short.
        input: String,
    },
    /// The URL is longer than [`MAX_URL_LEN`] (before or after canonicalization).
    #[error("URL `{input}...` is {len} bytes long; the limit is {max}")]
    TooLong {
        /// The start of the input.
        input: String,
        /// Its length in bytes.
        len: usize,
        /// The limit, [`MAX_URL_LEN`].
        max: usize,
    },
}

/// An absolute `http`/`https` URL in canonical form (see the module docs).
///
/// The only ways to build one canonicalize, so holding a `CanonicalUrl` proves
/// the canonicalization happened. Equality, ordering and hashing are those of
/// the canonical string, so two spellings of one resource compare equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalUrl(Url);

/// The politeness key of a URL: scheme, host and port, the port always
/// explicit (`http://a.test:80`).
///
/// Requests that share a `HostKey` go to the same server endpoint, so they
/// share one host queue and one rate limit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostKey(String);

impl HostKey {
    /// The key as text, e.g. `https://a.test:443`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl CanonicalUrl {
    /// Parses an absolute URL and canonicalizes it.
    ///
    /// Relative references are [`UrlError::Invalid`]; use [`CanonicalUrl::join`]
    /// for links found in a page.
    pub fn parse(input: &str) -> Result<CanonicalUrl, UrlError> {
        check_len(input)?;
        let url = Url::parse(input).map_err(|e| invalid(input, &e))?;
        canonicalize(url, Some(input))
    }

    /// Resolves `href` against `base` (as a browser resolves a link), then
    /// canonicalizes the result.
    ///
    /// Leading and trailing whitespace and control characters, and tabs and
    /// newlines anywhere, are ignored, as the URL Standard prescribes.
    pub fn join(base: &Url, href: &str) -> Result<CanonicalUrl, UrlError> {
        check_len(href)?;
        let url = base.join(href).map_err(|e| invalid(href, &e))?;
        canonicalize(url, Some(href))
    }

    /// Canonicalizes an already parsed URL.
    pub fn from_url(url: Url) -> Result<CanonicalUrl, UrlError> {
        check_len(url.as_str())?;
        canonicalize(url, None)
    }

    /// The canonical URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The canonical URL as a `url::Url`, for resolving relative links against
    /// it or handing it to an HTTP client.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The politeness key: scheme, host and explicit port.
    pub fn host_key(&self) -> HostKey {
        let port = self.0.port_or_known_default().unwrap_or_default();
        HostKey(format!("{}://{}:{}", self.0.scheme(), self.host(), port))
    }

    /// The host: lowercase, punycode for IDNs, IPv6 addresses in brackets.
    pub fn host(&self) -> &str {
        // Every constructor checked that the host is present and non-empty.
        self.0.host_str().unwrap_or_default()
    }

    /// The seen-set key: xxh3-128 of the canonical string.
    ///
    /// 128 bits make an accidental collision negligible even across billions
    /// of URLs, at a fraction of the cost and size of storing the string.
    pub fn fingerprint(&self) -> u128 {
        xxhash_rust::xxh3::xxh3_128(self.as_str().as_bytes())
    }
}

impl fmt::Display for CanonicalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Turns a parsed URL into its canonical form.
///
/// `input` is the text the URL came from, named in errors; `None` names the
/// URL itself (for [`CanonicalUrl::from_url`], without copying it up front).
fn canonicalize(mut url: Url, input: Option<&str>) -> Result<CanonicalUrl, UrlError> {
    let named = input.unwrap_or(url.as_str());
    check_scheme(&url, named)?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost {
            input: excerpt(named),
        });
    }
    if url.fragment().is_some() {
        url.set_fragment(None);
    }
    if !url.username().is_empty() || url.password().is_some() {
        // An http(s) URL with a host can always lose its userinfo.
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let url = normalize_escapes(url, input)?;
    check_len(url.as_str())?;
    Ok(CanonicalUrl(url))
}

fn check_scheme(url: &Url, input: &str) -> Result<(), UrlError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(UrlError::UnsupportedScheme {
            input: excerpt(input),
            scheme: other.to_owned(),
        }),
    }
}

/// Rewrites the path and query with normalized percent-escapes, or returns
/// `url` untouched (the fast path) when none needs changing.
fn normalize_escapes(url: Url, input: Option<&str>) -> Result<Url, UrlError> {
    let path_and_query = &url[Position::BeforePath..Position::AfterQuery];
    let Some(normalized) = normalize_percent(path_and_query) else {
        return Ok(url);
    };
    let mut text = String::with_capacity(url.as_str().len() + 8);
    text.push_str(&url[..Position::BeforePath]);
    text.push_str(&normalized);
    // Cannot fail in practice: only escapes changed, into spellings the parser
    // accepts anywhere in a path or query.
    Url::parse(&text).map_err(|e| invalid(input.unwrap_or(&text), &e))
}

/// What to do with one `%` found in a path or query.
#[derive(Debug, PartialEq, Eq)]
enum Escape {
    /// `%XY` with uppercase hex for a byte that must stay encoded.
    Keep,
    /// `%xy` of an unreserved character: write the character.
    Decode(u8),
    /// `%xy` of a reserved or non-ASCII byte with some lowercase hex digit.
    Uppercase(u8),
    /// A `%` not followed by two hex digits: write `%25`.
    Stray,
}

impl Escape {
    /// Classifies the escape at the start of `bytes` (which starts with `%`).
    fn classify(bytes: &[u8]) -> Escape {
        let (Some(&hi), Some(&lo)) = (bytes.get(1), bytes.get(2)) else {
            return Escape::Stray;
        };
        let (Some(h), Some(l)) = (hex_value(hi), hex_value(lo)) else {
            return Escape::Stray;
        };
        let byte = h << 4 | l;
        if is_unreserved(byte) {
            Escape::Decode(byte)
        } else if hi.is_ascii_lowercase() || lo.is_ascii_lowercase() {
            Escape::Uppercase(byte)
        } else {
            Escape::Keep
        }
    }

    /// How many input bytes the escape spans.
    fn len(&self) -> usize {
        match self {
            Escape::Stray => 1,
            _ => 3,
        }
    }
}

/// Normalizes the percent-escapes of `s`; `None` when `s` is already normal.
///
/// Allocates only once the first escape that needs changing is found.
fn normalize_percent(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'%'))
    {
        i += offset;
        let escape = Escape::classify(&bytes[i..]);
        let step = escape.len();
        if escape != Escape::Keep {
            let buf = out.get_or_insert_with(|| String::with_capacity(s.len() + 8));
            // `copied` and `i` sit on ASCII bytes, so both are char boundaries.
            buf.push_str(&s[copied..i]);
            push_escape(buf, &escape);
            copied = i + step;
        }
        i += step;
    }
    out.map(|mut buf| {
        buf.push_str(&s[copied..]);
        buf
    })
}

fn push_escape(buf: &mut String, escape: &Escape) {
    match *escape {
        Escape::Keep => {}
        Escape::Decode(byte) => buf.push(char::from(byte)),
        Escape::Uppercase(byte) => push_encoded(buf, byte),
        Escape::Stray => buf.push_str("%25"),
    }
}

fn push_encoded(buf: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    buf.push('%');
    buf.push(char::from(HEX[usize::from(byte >> 4)]));
    buf.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~".
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn check_len(input: &str) -> Result<(), UrlError> {
    if input.len() <= MAX_URL_LEN {
        return Ok(());
    }
    Err(UrlError::TooLong {
        input: excerpt(input),
        len: input.len(),
        max: MAX_URL_LEN,
    })
}

fn invalid(input: &str, error: &url::ParseError) -> UrlError {
    UrlError::Invalid {
        input: excerpt(input),
        reason: error.to_string(),
    }
}

/// The first [`ERROR_EXCERPT_LEN`] bytes of `input`, cut on a char boundary, with
/// any userinfo shown as `***`.
fn excerpt(input: &str) -> String {
    let end = (0..=ERROR_EXCERPT_LEN.min(input.len()))
        .rev()
        .find(|&i| input.is_char_boundary(i))
        .unwrap_or(0);
    crawler_storage::without_userinfo(&input[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn canon(input: &str) -> String {
        match CanonicalUrl::parse(input) {
            Ok(url) => url.as_str().to_owned(),
            Err(e) => panic!("{input} should be valid: {e}"),
        }
    }

    #[test]
    fn equivalent_spellings_give_one_url() {
        assert_eq!(canon("http://A.test:80/x/../y#f"), "http://a.test/y");
        assert_eq!(canon("HTTP://a.test/%7Euser"), "http://a.test/~user");
        assert_eq!(canon("http://a.test"), "http://a.test/");
        assert_eq!(canon("https://a.test:443/"), "https://a.test/");
        assert_eq!(canon("HTTPS://WWW.A.TEST/"), "https://www.a.test/");
    }

    #[test]
    fn non_default_port_is_kept() {
        assert_eq!(canon("http://a.test:8080/"), "http://a.test:8080/");
        assert_eq!(canon("https://a.test:80/"), "https://a.test:80/");
        assert_eq!(canon("http://a.test:443/"), "http://a.test:443/");
    }

    #[test]
    fn reserved_escapes_stay_encoded_with_uppercase_hex() {
        assert_eq!(canon("http://a.test/a%2fb"), "http://a.test/a%2Fb");
        assert_eq!(canon("http://a.test/a%2Fb"), "http://a.test/a%2Fb");
        assert_eq!(canon("http://a.test/?a=%3d%26"), "http://a.test/?a=%3D%26");
        assert_eq!(canon("http://a.test/%e2%82%ac"), "http://a.test/%E2%82%AC");
    }

    #[test]
    fn unreserved_escapes_are_decoded_in_path_and_query() {
        assert_eq!(
            canon("http://a.test/%41%62%2D%2e%5F%7e%30"),
            "http://a.test/Ab-._~0"
        );
        assert_eq!(canon("http://a.test/p?q=%41%7E"), "http://a.test/p?q=A~");
    }

    #[test]
    fn stray_percent_becomes_25() {
        assert_eq!(canon("http://a.test/%zz"), "http://a.test/%25zz");
        assert_eq!(canon("http://a.test/100%"), "http://a.test/100%25");
        assert_eq!(canon("http://a.test/?p=5%"), "http://a.test/?p=5%25");
        // Without the `%25` rule this would become `%A` and then change again.
        assert_eq!(canon("http://a.test/%%41b"), "http://a.test/%25Ab");
        assert_eq!(canon("http://a.test/%4%31"), "http://a.test/%2541");
    }

    #[test]
    fn escaped_dot_segments_are_resolved_not_created() {
        assert_eq!(canon("http://a.test/a/%2e%2E/b"), "http://a.test/b");
        assert_eq!(canon("http://a.test/a/%2E/b"), "http://a.test/a/b");
        // Not a dot segment: decoding gives an ordinary name.
        assert_eq!(canon("http://a.test/a/%2E%2Ex/b"), "http://a.test/a/..x/b");
    }

    #[test]
    fn fragment_and_empty_query_are_dropped() {
        assert_eq!(canon("http://a.test/p?#f"), "http://a.test/p");
        assert_eq!(canon("http://a.test/p?"), "http://a.test/p");
        assert_eq!(canon("http://a.test/p#"), "http://a.test/p");
        assert_eq!(canon("http://a.test/p?x#f"), "http://a.test/p?x");
    }

    #[test]
    fn query_order_is_kept() {
        assert_eq!(canon("http://a.test/?b=2&a=1"), "http://a.test/?b=2&a=1");
        assert_eq!(canon("http://a.test/?a=1&&"), "http://a.test/?a=1&&");
    }

    #[test]
    fn non_ascii_and_spaces_are_encoded() {
        assert_eq!(canon("http://a.test/a b/é"), "http://a.test/a%20b/%C3%A9");
        assert_eq!(canon("http://bücher.test/"), "http://xn--bcher-kva.test/");
    }

    #[test]
    fn userinfo_is_dropped_and_never_echoed() {
        assert_eq!(canon("http://u:p@a.test/"), "http://a.test/");
        assert_eq!(canon("https://u@a.test:8443/x"), "https://a.test:8443/x");
        let err = CanonicalUrl::parse("ftp://user:secret@a.test/").unwrap_err();
        assert!(err.to_string().contains("ftp://***@a.test/"), "{err}");
        let err = CanonicalUrl::parse("http://user:secret@/x").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn other_schemes_are_rejected() {
        for input in [
            "ftp://a.test/",
            "mailto:a@b.test",
            "javascript:alert(1)",
            "data:,x",
        ] {
            let err = CanonicalUrl::parse(input).unwrap_err();
            assert!(
                matches!(err, UrlError::UnsupportedScheme { .. }),
                "{input}: {err:?}"
            );
            assert!(
                err.to_string().contains(input),
                "message names the input: {err}"
            );
        }
    }

    #[test]
    fn invalid_and_relative_inputs_are_errors_naming_the_input() {
        for input in [
            "",
            "/relative",
            "http://",
            "http://[::1",
            "http://a b.test/",
        ] {
            let err = CanonicalUrl::parse(input).unwrap_err();
            assert!(matches!(err, UrlError::Invalid { .. }), "{input}: {err:?}");
            assert!(err.to_string().contains(input), "{err}");
        }
    }

    #[test]
    fn too_long_is_rejected_before_and_after_canonicalization() {
        let long = format!("http://a.test/{}", "x".repeat(MAX_URL_LEN));
        let err = CanonicalUrl::parse(&long).unwrap_err();
        assert!(matches!(
            err,
            UrlError::TooLong {
                max: MAX_URL_LEN,
                ..
            }
        ));
        // Fits as input, but each `é` becomes six bytes when encoded.
        let grows = format!("http://a.test/{}", "é".repeat(MAX_URL_LEN / 4));
        assert!(grows.len() <= MAX_URL_LEN);
        assert!(matches!(
            CanonicalUrl::parse(&grows),
            Err(UrlError::TooLong { .. })
        ));
    }

    #[test]
    fn error_messages_cut_long_inputs_on_char_boundaries() {
        let input = format!("ftp://a.test/{}", "é".repeat(300));
        let Err(UrlError::UnsupportedScheme { input: named, .. }) = CanonicalUrl::parse(&input)
        else {
            panic!("expected UnsupportedScheme");
        };
        assert!(named.len() <= ERROR_EXCERPT_LEN && input.starts_with(&named));
    }

    #[test]
    fn join_resolves_then_canonicalizes() -> Result<(), UrlError> {
        let base = Url::parse("http://a.test/dir/page.html").map_err(|e| invalid("", &e))?;
        let join = |href| CanonicalUrl::join(&base, href).map(|u| u.as_str().to_owned());
        assert_eq!(join("other")?, "http://a.test/dir/other");
        assert_eq!(join("../x%7e#f")?, "http://a.test/x~");
        assert_eq!(join("//B.test")?, "http://b.test/");
        assert_eq!(join(" \t/a\n/b ")?, "http://a.test/a/b");
        assert_eq!(join("HTTPS://c.test:443")?, "https://c.test/");
        assert!(matches!(
            join("mailto:x@a.test"),
            Err(UrlError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            join("http://[zz]/"),
            Err(UrlError::Invalid { .. })
        ));
        Ok(())
    }

    #[test]
    fn from_url_canonicalizes_and_checks_scheme() -> Result<(), UrlError> {
        let url = Url::parse("http://a.test/%7e?#x").map_err(|e| invalid("", &e))?;
        assert_eq!(CanonicalUrl::from_url(url)?.as_str(), "http://a.test/~");
        let file = Url::parse("file:///etc/passwd").map_err(|e| invalid("", &e))?;
        assert!(matches!(
            CanonicalUrl::from_url(file),
            Err(UrlError::UnsupportedScheme { .. })
        ));
        Ok(())
    }

    #[test]
    fn host_and_host_key() -> Result<(), UrlError> {
        let url = CanonicalUrl::parse("HTTP://A.Test/x")?;
        assert_eq!(url.host(), "a.test");
        assert_eq!(url.host_key().as_str(), "http://a.test:80");
        let url = CanonicalUrl::parse("https://a.test:8443/")?;
        assert_eq!(url.host_key().to_string(), "https://a.test:8443");
        let url = CanonicalUrl::parse("https://[::1]/")?;
        assert_eq!(url.host(), "[::1]");
        assert_eq!(url.host_key().as_str(), "https://[::1]:443");
        Ok(())
    }

    #[test]
    fn fingerprint_follows_the_canonical_string() -> Result<(), UrlError> {
        let a = CanonicalUrl::parse("http://A.test:80/%7e")?;
        let b = CanonicalUrl::parse("http://a.test/~#x")?;
        let c = CanonicalUrl::parse("http://a.test/~/")?;
        assert_eq!(a, b);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_eq!(a.to_string(), a.as_str());
        Ok(())
    }

    #[test]
    fn fast_path_leaves_normal_text_alone() {
        assert_eq!(normalize_percent("/a/b?c=d"), None);
        assert_eq!(normalize_percent("/a%2Fb%C3%A9"), None);
        assert_eq!(normalize_percent("/a%2fb").as_deref(), Some("/a%2Fb"));
        assert_eq!(normalize_percent("%").as_deref(), Some("%25"));
        assert_eq!(normalize_percent("%4").as_deref(), Some("%254"));
    }

    fn url_ish() -> impl Strategy<Value = String> {
        let scheme = prop::sample::select(vec!["http", "HTTP", "https", "HtTpS"]);
        let host = "[a-cA-C]{1,3}(\\.[a-cA-C0-9]{1,3}){0,2}";
        let port = prop::option::of(prop::sample::select(vec![80u16, 443, 8080, 0]));
        let atom = prop::sample::select(vec![
            "a", "B", ".", "..", "%41", "%7e", "%7E", "%2f", "%2e", "%2E", "%zz", "%", "%4", " ",
            "é", "~", "?", "#", "=", "&", "%25", "\\", "\t",
        ]);
        let segment = prop::collection::vec(atom, 0..4).prop_map(|atoms| atoms.concat());
        let path = prop::collection::vec(segment, 0..5).prop_map(|segs| segs.join("/"));
        (scheme, host, port, path).prop_map(|(scheme, host, port, path)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{scheme}://{host}{port}/{path}")
        })
    }

    proptest! {
        #[test]
        fn canonicalization_is_idempotent(input in url_ish()) {
            if let Ok(once) = CanonicalUrl::parse(&input) {
                let twice = CanonicalUrl::parse(once.as_str());
                prop_assert_eq!(twice.as_ref(), Ok(&once), "input {}", input);
                let via_url = CanonicalUrl::from_url(once.as_url().clone());
                prop_assert_eq!(via_url.as_ref(), Ok(&once));
            }
        }

        #[test]
        fn canonical_escapes_are_uppercase_and_reserved(input in url_ish()) {
            if let Ok(url) = CanonicalUrl::parse(&input) {
                let tail = &url.as_url()[Position::BeforePath..];
                prop_assert_eq!(normalize_percent(tail), None, "{}", url);
                prop_assert!(url.as_url().fragment().is_none());
            }
        }

        #[test]
        fn join_never_panics(base in url_ish(), href in any::<String>()) {
            if let Ok(base) = Url::parse(&base) {
                if let Ok(url) = CanonicalUrl::join(&base, &href) {
                    prop_assert_eq!(CanonicalUrl::parse(url.as_str()), Ok(url));
                }
            }
        }

        #[test]
        fn parse_never_panics(input in any::<String>()) {
            if let Ok(url) = CanonicalUrl::parse(&input) {
                prop_assert_eq!(CanonicalUrl::parse(url.as_str()), Ok(url));
            }
        }
    }
}
