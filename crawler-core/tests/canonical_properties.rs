//! Properties of URL canonicalization, checked on generated URLs (a short run of
//! each is part of `cargo test`; the fuzz targets in `fuzz/` go further):
//!
//! - canonicalization is idempotent;
//! - every spelling of one resource maps to one canonical URL and one seen-set key:
//!   scheme and host case, an explicit default port, escaped unreserved characters,
//!   lowercase hex in escapes, `.` and `x/..` segments, a fragment, an empty query.

use crawler_core::url::CanonicalUrl;
use proptest::prelude::*;

/// One path segment: letters, digits, unreserved marks, and bytes that must stay
/// escaped (written here in their canonical `%XX` form).
fn segment() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a", "Z", "0", "9", "-", ".x", "_", "~", "%2F", "%3F", "%23", "%25", "%C3%A9", "%20", "b",
        "ab",
    ]);
    prop::collection::vec(piece, 1..5).prop_map(|pieces| pieces.concat())
}

/// A URL in canonical spelling, as parts.
#[derive(Clone, Debug)]
struct Parts {
    https: bool,
    host: String,
    port: Option<u16>,
    segments: Vec<String>,
    query: Option<String>,
}

impl Parts {
    fn canonical(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let path = self.segments.join("/");
        let query = self
            .query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        format!("{scheme}://{}{port}/{path}{query}", self.host)
    }
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        any::<bool>(),
        "[a-z]{1,6}(\\.[a-z0-9]{1,4}){0,2}\\.test",
        prop::option::of(prop::sample::select(vec![8080u16, 8443, 81])),
        prop::collection::vec(segment(), 0..5),
        prop::option::of("[a-z0-9=&]{1,8}"),
    )
        .prop_map(|(https, host, port, segments, query)| Parts {
            https,
            host,
            port,
            segments,
            query,
        })
}

/// Ways of spelling the same URL differently; each flag turns one on.
#[derive(Clone, Debug)]
struct Respelling {
    upper_scheme: bool,
    upper_host: bool,
    default_port: bool,
    escape_unreserved: bool,
    lower_hex: bool,
    dot_segments: bool,
    fragment: bool,
    empty_query: bool,
}

fn respelling() -> impl Strategy<Value = Respelling> {
    prop::array::uniform8(any::<bool>()).prop_map(|f| Respelling {
        upper_scheme: f[0],
        upper_host: f[1],
        default_port: f[2],
        escape_unreserved: f[3],
        lower_hex: f[4],
        dot_segments: f[5],
        fragment: f[6],
        empty_query: f[7],
    })
}

/// `%41` for `A` and so on: escapes of unreserved characters mean the character.
fn escape_unreserved(segment: &str) -> String {
    let mut out = String::new();
    let mut rest = segment;
    while let Some(c) = rest.chars().next() {
        if c == '%' {
            out.push_str(&rest[..3]);
            rest = &rest[3..];
            continue;
        }
        if c.is_ascii_alphanumeric() || "-._~".contains(c) {
            out.push_str(&format!("%{:02X}", c as u8));
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn lower_hex(segment: &str) -> String {
    let mut out = String::new();
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = chars.next() {
                    out.push(h.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

fn respell(parts: &Parts, how: &Respelling) -> String {
    let scheme = match (parts.https, how.upper_scheme) {
        (true, true) => "HTTPS",
        (true, false) => "https",
        (false, true) => "HTTP",
        (false, false) => "http",
    };
    let host = if how.upper_host {
        parts.host.to_ascii_uppercase()
    } else {
        parts.host.clone()
    };
    let port = match (parts.port, how.default_port) {
        (Some(port), _) => format!(":{port}"),
        (None, true) => (if parts.https { ":443" } else { ":80" }).to_string(),
        (None, false) => String::new(),
    };
    let mut path = String::new();
    for segment in &parts.segments {
        let mut segment = segment.clone();
        if how.escape_unreserved {
            segment = escape_unreserved(&segment);
        }
        if how.lower_hex {
            segment = lower_hex(&segment);
        }
        if how.dot_segments {
            path.push_str("/./x/..");
        }
        path.push('/');
        path.push_str(&segment);
    }
    if path.is_empty() {
        path.push('/');
    }
    let query = match (&parts.query, how.empty_query) {
        (Some(query), _) => format!("?{query}"),
        (None, true) => "?".to_string(),
        (None, false) => String::new(),
    };
    let fragment = if how.fragment { "#Section-2" } else { "" };
    format!("{scheme}://{host}{port}{path}{query}{fragment}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn equivalent_spellings_map_to_one_canonical_url_and_key(
        parts in parts(),
        how in respelling(),
    ) {
        let canonical = parts.canonical();
        let expected = CanonicalUrl::parse(&canonical);
        prop_assert!(expected.is_ok(), "{} {:?}", canonical, expected);
        let expected = expected.unwrap_or_else(|_| unreachable!());
        // A path segment of only dots is resolved away by any spelling; the
        // generator keeps to segments that are names.
        prop_assert_eq!(expected.as_str(), canonical.as_str());
        let spelled = respell(&parts, &how);
        let got = CanonicalUrl::parse(&spelled);
        prop_assert_eq!(got.as_ref(), Ok(&expected), "{} from {:?}", spelled, how);
        let got = got.unwrap_or_else(|_| unreachable!());
        prop_assert_eq!(got.fingerprint(), expected.fingerprint());
    }

    #[test]
    fn canonicalization_is_idempotent(parts in parts(), how in respelling()) {
        let spelled = respell(&parts, &how);
        if let Ok(once) = CanonicalUrl::parse(&spelled) {
            let twice = CanonicalUrl::parse(once.as_str());
            prop_assert_eq!(twice.as_ref(), Ok(&once));
        }
    }
}
