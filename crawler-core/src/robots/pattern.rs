//! Path patterns of `Allow` and `Disallow` rules, and matching a URL against them
//! (RFC 9309 §2.2.2 and §2.2.3).
//!
//! Both sides are brought to one spelling before they are compared octet by octet,
//! because the RFC compares octets and the same path can be written several ways:
//!
//! - A percent-escape of an unreserved character (`A-Z a-z 0-9 - . _ ~`) is decoded:
//!   `Disallow: /foo/bar/%62%61%7A` matches `/foo/bar/baz` (RFC 9309 §2.2.2, Figure 4).
//! - Every other escape keeps its byte, with uppercase hex digits: `%e3%83%84` and
//!   `%E3%83%84` are one spelling. A `%` that starts no escape becomes `%25`.
//! - Octets outside ASCII, and the characters the URL Standard percent-encodes where they
//!   stand (space, `"`, `<`, `>`, controls; `` ` ``, `{`, `}` before the query; `'` in
//!   the query), are percent-encoded: `Disallow: /foo/bar/ツ` matches
//!   `/foo/bar/%E3%83%84`.
//! - In a URL, a literal `*` or `$` compares as `%2A` or `%24`: in a pattern those two
//!   characters are operators, so the RFC spells a literal one with its escape
//!   (Figure 6: `/path/file-with-a-%2A.html` matches `/path/file-with-a-*.html`).
//!
//! The URL side is a [`CanonicalUrl`](crate::url::CanonicalUrl), which has the first three
//! rules applied already; [`match_target`] adds the fourth.
//!
//! In a pattern, `*` matches any run of octets (`/` included) and a `$` at the very end
//! anchors the pattern at the end of the path. A `$` anywhere else is a literal `$`.

use std::fmt;

/// One rule's path pattern, normalized.
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The normalized pattern, `*`s and a final `$` included.
    text: String,
}

impl Pattern {
    /// Normalizes the pattern as written in robots.txt (comment and surrounding
    /// whitespace already removed). Never fails: any octets make some pattern.
    pub fn new(raw: &[u8]) -> Pattern {
        let (body, anchored) = match raw.split_last() {
            Some((b'$', body)) => (body, true),
            _ => (raw, false),
        };
        let mut text = String::with_capacity(raw.len() + 8);
        let mut in_query = false;
        let mut i = 0;
        while i < body.len() {
            let byte = body[i];
            match byte {
                b'%' => match escape_at(&body[i..]) {
                    Some(decoded) if is_unreserved(decoded) => {
                        text.push(char::from(decoded));
                        i += 3;
                        continue;
                    }
                    Some(decoded) => {
                        push_encoded(&mut text, decoded);
                        i += 3;
                        continue;
                    }
                    None => text.push_str("%25"),
                },
                b'*' => text.push('*'),
                b'$' => text.push_str("%24"),
                b'?' if !in_query => {
                    in_query = true;
                    text.push('?');
                }
                _ if needs_encoding(byte, in_query) => push_encoded(&mut text, byte),
                _ => text.push(char::from(byte)),
            }
            i += 1;
        }
        if anchored {
            text.push('$');
        }
        Pattern { text }
    }

    /// The normalized pattern.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How specific the pattern is: its length in octets (RFC 9309 §2.2.2, "the most
    /// specific match ... is the match that has the most octets").
    pub fn specificity(&self) -> usize {
        self.text.len()
    }

    /// Whether `target` (from [`match_target`]) matches: the pattern is anchored at the
    /// start of the path, and at its end too when it ends in `$`.
    pub fn matches(&self, target: &str) -> bool {
        let (body, anchored) = match self.text.strip_suffix('$') {
            Some(body) => (body, true),
            None => (self.text.as_str(), false),
        };
        let Some((head, last)) = body.rsplit_once('*') else {
            return if anchored {
                target == body
            } else {
                target.starts_with(body)
            };
        };
        // Every piece before the last `*` is placed as early as it fits: an earlier
        // place never leaves less room for the pieces after it, so this is exact.
        let mut pieces = head.split('*');
        let first = pieces.next().unwrap_or_default();
        if !target.starts_with(first) {
            return false;
        }
        let mut pos = first.len();
        for piece in pieces {
            match target[pos..].find(piece) {
                Some(at) => pos += at + piece.len(),
                None => return false,
            }
        }
        if anchored {
            target.len() >= pos + last.len() && target.ends_with(last)
        } else {
            target[pos..].contains(last)
        }
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.text)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The text a URL is matched as: its path and query (canonical spelling), with `*`
/// and `$` written `%2A` and `%24`. The path always starts with `/`.
pub fn match_target(path_and_query: &str) -> std::borrow::Cow<'_, str> {
    if path_and_query.contains(['*', '$']) {
        path_and_query
            .replace('*', "%2A")
            .replace('$', "%24")
            .into()
    } else {
        path_and_query.into()
    }
}

/// The text a URL path and query written by hand is matched as: the spelling
/// [`Pattern::new`] gives a pattern, with `*` and `$` escaped first so they stay
/// literal (a URL has no operators).
pub fn normalize_target(path_and_query: &str) -> String {
    Pattern::new(match_target(path_and_query).as_bytes()).text
}

/// The byte of a `%XY` escape at the start of `bytes`.
fn escape_at(bytes: &[u8]) -> Option<u8> {
    let hi = hex_value(*bytes.get(1)?)?;
    let lo = hex_value(*bytes.get(2)?)?;
    Some(hi << 4 | lo)
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// What the URL Standard percent-encodes in a path (or, once past `?`, a query) of an
/// http(s) URL, so that a pattern is spelled as a canonical URL is.
fn needs_encoding(byte: u8, in_query: bool) -> bool {
    if byte >= 0x7f || byte <= b' ' || matches!(byte, b'"' | b'<' | b'>' | b'#') {
        return true;
    }
    if in_query {
        byte == b'\''
    } else {
        matches!(byte, b'`' | b'{' | b'}')
    }
}

fn push_encoded(text: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    text.push('%');
    text.push(char::from(HEX[usize::from(byte >> 4)]));
    text.push(char::from(HEX[usize::from(byte & 0xf)]));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern.as_bytes()).matches(&match_target(path))
    }

    #[test]
    fn plain_patterns_are_prefixes_and_case_sensitive() {
        assert!(matches("/fish", "/fish"));
        assert!(matches("/fish", "/fish.html"));
        assert!(matches("/fish", "/fishheads/yummy.html"));
        assert!(!matches("/fish", "/Fish.asp"));
        assert!(!matches("/fish", "/catfish"));
        assert!(matches("/", "/anything?at=all"));
    }

    #[test]
    fn star_and_dollar_as_in_rfc_figure_5() {
        assert!(matches("/this/*/exactly", "/this/path/exactly"));
        assert!(matches("/this/*/exactly", "/this/a/b/exactly/more"));
        assert!(!matches("/this/*/exactly", "/this/exactly"));
        assert!(matches("/this/path/exactly$", "/this/path/exactly"));
        assert!(!matches("/this/path/exactly$", "/this/path/exactly/"));
        assert!(!matches("/this/path/exactly$", "/this/path/exactly?x=1"));
        assert!(matches("*.gif$", "/a/b/c.gif"));
        assert!(!matches("*.gif$", "/a/b/c.gif?size=2"));
        assert!(matches("/*.php", "/a/b.php?x=1"));
        assert!(!matches("/*.php$", "/a/b.php?x=1"));
        assert!(matches("/a*b*c$", "/a-b-b-c"));
        assert!(!matches("/a*b*c$", "/a-c-b"));
        assert!(matches("/**x", "/yyx"));
        assert!(matches("/a*", "/a"));
    }

    #[test]
    fn a_dollar_inside_a_pattern_is_literal() {
        assert!(matches("/a$b", "/a$b/c"));
        assert!(!matches("/a$b", "/a"));
    }

    #[test]
    fn percent_encoding_as_in_rfc_figures_4_and_6() {
        // Figure 4.
        assert!(matches("/foo/bar?baz=quz", "/foo/bar?baz=quz"));
        assert!(matches("/foo/bar/ツ", "/foo/bar/%E3%83%84"));
        assert!(matches("/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"));
        assert!(matches("/foo/bar/%e3%83%84", "/foo/bar/%E3%83%84"));
        assert!(matches("/foo/bar/%62%61%7A", "/foo/bar/baz"));
        // Figure 6: escapes match the literal operator characters in the URL.
        assert!(matches(
            "/path/file-with-a-%2A.html",
            "/path/file-with-a-*.html"
        ));
        assert!(matches("/path/foo-%24", "/path/foo-$"));
        assert!(!matches("/path/foo-%24", "/path/foo-"));
        // Reserved characters keep their escapes: %2F is not a slash.
        assert!(!matches("/a%2Fb", "/a/b"));
        assert!(matches("/a%2fb", "/a%2Fb"));
    }

    #[test]
    fn patterns_are_spelled_as_canonical_urls_are() {
        assert_eq!(Pattern::new(b"/a b{c}").as_str(), "/a%20b%7Bc%7D");
        assert_eq!(Pattern::new(b"/q?x={y}'").as_str(), "/q?x={y}%27");
        assert_eq!(Pattern::new(b"/100%").as_str(), "/100%25");
        assert_eq!(Pattern::new(b"/\xff").as_str(), "/%FF");
        assert_eq!(Pattern::new(b"/x$").as_str(), "/x$");
        assert_eq!(Pattern::new(b"/x$y").as_str(), "/x%24y");
    }

    #[test]
    fn specificity_counts_normalized_octets() {
        assert_eq!(Pattern::new(b"/example/page/").specificity(), 14);
        assert_eq!(Pattern::new(b"/%62").specificity(), 2);
    }
}
