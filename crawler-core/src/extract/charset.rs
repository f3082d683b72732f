//! Choosing a page's character encoding and decoding it.
//!
//! Links and titles in a `windows-1251` or `Shift_JIS` page are garbage if the
//! bytes are read as UTF-8, so the crawler picks the encoding a browser would,
//! in the order of the HTML Standard ("determining the character encoding"):
//!
//! 1. a byte order mark, which is definitive;
//! 2. the `charset=` parameter of the HTTP `Content-Type` header;
//! 3. a `<meta charset>` or `<meta http-equiv="Content-Type" content="...">`
//!    found by the Standard's prescan of the first 1024 bytes;
//! 4. otherwise UTF-8.
//!
//! Labels go through [`Encoding::for_label`], so aliases behave as in
//! browsers: `iso-8859-1` and `ascii` mean `windows-1252`, and a label such as
//! `iso-2022-kr` means the "replacement" encoding (the page decodes to a single
//! U+FFFD, closing a known cross-site scripting hole). A `<meta>` that claims
//! UTF-16 means UTF-8, since a page that the prescan could read as ASCII is not
//! UTF-16. Decoding replaces malformed sequences with U+FFFD and never fails.
//!
//! Not done: sniffing the encoding from byte frequencies when nothing declares
//! one. UTF-8 is the right guess for most of today's web, and a wrong guess
//! costs only the non-ASCII parts of titles and URLs.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED};

/// How much of the body the `<meta>` prescan reads, as in the HTML Standard.
const PRESCAN_LEN: usize = 1024;

/// Decodes an HTML body, choosing its encoding as described in the module docs.
///
/// Returns the text (borrowed from `body` when it is valid UTF-8 without a
/// BOM) and the encoding used. `content_type` is the raw `Content-Type` header
/// value, if the response had one.
pub fn decode_html<'b>(
    body: &'b [u8],
    content_type: Option<&str>,
) -> (Cow<'b, str>, &'static Encoding) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(body) {
        let rest = body.get(bom_len..).unwrap_or_default();
        return (encoding.decode_without_bom_handling(rest).0, encoding);
    }
    let encoding = content_type
        .and_then(charset_from_content_type)
        .or_else(|| prescan(body))
        .unwrap_or(UTF_8);
    (encoding.decode_without_bom_handling(body).0, encoding)
}

/// The encoding named by the `charset` parameter of a `Content-Type` value.
///
/// `None` when there is no such parameter or its label is unknown, so that the
/// next source of information gets its turn.
fn charset_from_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        Encoding::for_label(value.as_bytes())
    })
}

/// The HTML Standard's "prescan a byte stream to determine its encoding",
/// over the first [`PRESCAN_LEN`] bytes.
///
/// Tolerant like the Standard: tag and attribute names in any case, quotes
/// optional, comments and other tags skipped. Gives up (returns `None`) where
/// the Standard does, e.g. when a tag runs past the prescan window.
fn prescan(body: &[u8]) -> Option<&'static Encoding> {
    let bytes = body.get(..PRESCAN_LEN).unwrap_or(body);
    let mut cursor = Cursor { bytes, pos: 0 };
    while cursor.pos < bytes.len() {
        let rest = cursor.rest();
        if rest.starts_with(b"<!--") {
            // `<!-->` is a whole comment: its `--` may close it too.
            cursor.pos += 2;
            cursor.skip_past(b"-->")?;
            continue;
        } else if starts_with_ignore_case(rest, b"<meta")
            && rest.get(5).is_some_and(|&b| is_space(b) || b == b'/')
        {
            cursor.pos += 5;
            if let Some(encoding) = meta_encoding(&mut cursor)? {
                return Some(for_meta(encoding));
            }
        } else if is_tag_start(rest) {
            cursor.skip_while(|b| !is_space(b) && b != b'>');
            while cursor.attribute()?.is_some() {}
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") || rest.starts_with(b"<?") {
            cursor.skip_past(b">")?;
            continue;
        }
        cursor.pos += 1;
    }
    None
}

/// An encoding found in a `<meta>`, adjusted as the Standard prescribes.
fn for_meta(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == UTF_16BE || encoding == UTF_16LE {
        UTF_8
    } else if encoding == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        encoding
    }
}

/// Reads the attributes of a `<meta>` (cursor just after `<meta`).
///
/// `Some(Some(_))`: it declares an encoding; `Some(None)`: it does not (the
/// prescan goes on); `None`: the prescan window ended inside the tag.
fn meta_encoding(cursor: &mut Cursor<'_>) -> Option<Option<&'static Encoding>> {
    let mut seen = [false; 3]; // http-equiv, content, charset: first one counts
    let mut got_pragma = false;
    let mut need_pragma = None;
    // `None`: no declaration yet; `Some(None)`: one with an unknown label.
    let mut charset: Option<Option<&'static Encoding>> = None;
    while let Some((name, value)) = cursor.attribute()? {
        let Some(slot) = [&b"http-equiv"[..], b"content", b"charset"]
            .iter()
            .position(|known| name.eq_ignore_ascii_case(known))
        else {
            continue;
        };
        if std::mem::replace(&mut seen[slot], true) {
            continue;
        }
        match slot {
            0 => got_pragma = value.eq_ignore_ascii_case(b"content-type"),
            1 if charset.is_none() => {
                if let Some(encoding) = charset_from_meta_content(value) {
                    charset = Some(Some(encoding));
                    need_pragma = Some(true);
                }
            }
            2 => {
                charset = Some(label_in_meta_charset(value));
                need_pragma = Some(false);
            }
            _ => {}
        }
    }
    let declared = match need_pragma {
        Some(true) if !got_pragma => None,
        Some(_) => charset.flatten(),
        None => None,
    };
    Some(declared)
}

/// The encoding a `<meta charset>` value names.
///
/// One tolerance beyond the Standard: `<meta charset=utf-8/>` reads the value
/// `utf-8/`, an unknown label; the trailing `/` is dropped and the label tried
/// again, since that is what the author meant.
fn label_in_meta_charset(value: &[u8]) -> Option<&'static Encoding> {
    let label = trim_space(value);
    Encoding::for_label(label).or_else(|| Encoding::for_label(label.strip_suffix(b"/")?))
}

/// The HTML Standard's "extracting a character encoding from a meta element",
/// applied to a `content` attribute such as `text/html; charset=koi8-r`.
fn charset_from_meta_content(content: &[u8]) -> Option<&'static Encoding> {
    let mut cursor = Cursor {
        bytes: content,
        pos: 0,
    };
    loop {
        cursor.skip_past_ignore_case(b"charset")?;
        cursor.skip_while(is_space);
        if cursor.peek() != Some(b'=') {
            continue;
        }
        cursor.pos += 1;
        cursor.skip_while(is_space);
        let value = match cursor.peek()? {
            quote @ (b'"' | b'\'') => {
                cursor.pos += 1;
                let rest = cursor.rest();
                let end = rest.iter().position(|&b| b == quote)?;
                &rest[..end]
            }
            _ => {
                let rest = cursor.rest();
                let end = rest
                    .iter()
                    .position(|&b| is_space(b) || b == b';')
                    .unwrap_or(rest.len());
                &rest[..end]
            }
        };
        return Encoding::for_label(value);
    }
}

/// An attribute's name and value, as raw bytes from the page.
type Attribute<'a> = (&'a [u8], &'a [u8]);

/// A position in the bytes being prescanned.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_while(&mut self, keep_going: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&keep_going) {
            self.pos += 1;
        }
    }

    /// Moves just past the next `needle`; `None` if there is none.
    fn skip_past(&mut self, needle: &[u8]) -> Option<()> {
        let offset = self
            .rest()
            .windows(needle.len())
            .position(|w| w == needle)?;
        self.pos += offset + needle.len();
        Some(())
    }

    fn skip_past_ignore_case(&mut self, needle: &[u8]) -> Option<()> {
        let offset = self
            .rest()
            .windows(needle.len())
            .position(|w| w.eq_ignore_ascii_case(needle))?;
        self.pos += offset + needle.len();
        Some(())
    }

    /// The HTML Standard's "get an attribute" during the prescan.
    ///
    /// `Some(Some((name, value)))`: an attribute (raw bytes; compare them
    /// ignoring ASCII case); `Some(None)`: the tag ended (cursor on `>`);
    /// `None`: the bytes ended first.
    fn attribute(&mut self) -> Option<Option<Attribute<'a>>> {
        self.skip_while(|b| is_space(b) || b == b'/');
        if self.peek()? == b'>' {
            return Some(None);
        }
        let name = self.attribute_name()?;
        self.skip_while(is_space);
        if self.peek()? != b'=' {
            return Some(Some((name, b"")));
        }
        self.pos += 1;
        self.skip_while(is_space);
        let value = self.attribute_value()?;
        Some(Some((name, value)))
    }

    /// An attribute name: up to `=` (not as its first byte), space, `/` or `>`.
    fn attribute_name(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        loop {
            match self.peek()? {
                b'=' if self.pos > start => break,
                b'/' | b'>' => break,
                b if is_space(b) => break,
                _ => self.pos += 1,
            }
        }
        self.bytes.get(start..self.pos)
    }

    /// A quoted or unquoted value; the cursor ends after it.
    fn attribute_value(&mut self) -> Option<&'a [u8]> {
        match self.peek()? {
            quote @ (b'"' | b'\'') => {
                self.pos += 1;
                let start = self.pos;
                self.skip_while(|b| b != quote);
                self.peek()?;
                let value = self.bytes.get(start..self.pos);
                self.pos += 1;
                value
            }
            b'>' => Some(b""),
            _ => {
                let start = self.pos;
                self.skip_while(|b| !is_space(b) && b != b'>');
                self.peek()?;
                self.bytes.get(start..self.pos)
            }
        }
    }
}

/// `<` followed by a letter, or `</` followed by a letter.
fn is_tag_start(rest: &[u8]) -> bool {
    let after = if rest.starts_with(b"</") { 2 } else { 1 };
    rest.first() == Some(&b'<') && rest.get(after).is_some_and(u8::is_ascii_alphabetic)
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The prescan's whitespace: tab, LF, FF, CR, space.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

fn trim_space(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{ISO_8859_2, KOI8_R, REPLACEMENT, SHIFT_JIS, WINDOWS_1251};
    use proptest::prelude::*;

    fn encoding_of(body: &[u8], content_type: Option<&str>) -> &'static Encoding {
        decode_html(body, content_type).1
    }

    #[test]
    fn utf8_is_the_default_and_borrows() {
        let (text, encoding) = decode_html("<p>héllo</p>".as_bytes(), None);
        assert_eq!(encoding, UTF_8);
        assert_eq!(text, "<p>héllo</p>");
        assert!(matches!(text, Cow::Borrowed(_)));
    }

    #[test]
    fn malformed_bytes_become_replacement_characters() {
        let (text, encoding) = decode_html(b"a\xffb", Some("text/html; charset=utf-8"));
        assert_eq!((text.as_ref(), encoding), ("a\u{FFFD}b", UTF_8));
    }

    #[test]
    fn bom_wins_over_header_and_meta() {
        let body = b"\xEF\xBB\xBF<meta charset=koi8-r>\xC3\xA9";
        let (text, encoding) = decode_html(body, Some("text/html; charset=windows-1251"));
        assert_eq!(encoding, UTF_8);
        assert_eq!(text, "<meta charset=koi8-r>é");

        let utf16 = [0xFF, 0xFE, b'h', 0, b'i', 0];
        let (text, encoding) = decode_html(&utf16, Some("text/html; charset=utf-8"));
        assert_eq!((text.as_ref(), encoding), ("hi", UTF_16LE));
        assert_eq!(encoding_of(&[0xFE, 0xFF, 0, b'h'], None), UTF_16BE);
    }

    #[test]
    fn header_charset_wins_over_meta() {
        let body = b"<meta charset=koi8-r><p>\xE9</p>";
        let (text, encoding) = decode_html(body, Some("text/html; charset=ISO-8859-1"));
        assert_eq!(encoding, WINDOWS_1252, "iso-8859-1 means windows-1252");
        assert_eq!(text, "<meta charset=koi8-r><p>é</p>");
    }

    #[test]
    fn header_parameter_forms() {
        let cases = [
            ("text/html;charset=windows-1251", WINDOWS_1251),
            ("text/html; CHARSET=\"Shift_JIS\"", SHIFT_JIS),
            ("text/html; foo=bar; charset='koi8-r' ", KOI8_R),
            ("text/html; charset = latin2", ISO_8859_2),
        ];
        for (header, expected) in cases {
            assert_eq!(encoding_of(b"x", Some(header)), expected, "{header}");
        }
    }

    #[test]
    fn unknown_or_missing_header_charset_falls_through_to_meta() {
        let body = b"<meta charset=koi8-r>";
        assert_eq!(
            encoding_of(body, Some("text/html; charset=no-such-thing")),
            KOI8_R
        );
        assert_eq!(encoding_of(body, Some("text/html")), KOI8_R);
        assert_eq!(
            encoding_of(body, Some("charset=utf-8")),
            KOI8_R,
            "not a parameter"
        );
    }

    #[test]
    fn meta_charset_forms() {
        let cases: [(&[u8], &Encoding); 7] = [
            (b"<meta charset=\"windows-1251\">", WINDOWS_1251),
            (b"<META CHARSET='KOI8-R'>", KOI8_R),
            (b"<meta charset=shift_jis />", SHIFT_JIS),
            (b"<meta\ncharset = koi8-r >", KOI8_R),
            (b"<meta/charset=koi8-r>", KOI8_R),
            (
                b"<html><head><title>x</title><meta name=x charset=latin2>",
                ISO_8859_2,
            ),
            (b"<meta charset=utf-16le>", UTF_8),
        ];
        for (body, expected) in cases {
            assert_eq!(
                encoding_of(body, None),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn meta_http_equiv_forms() {
        let cases: [(&[u8], &Encoding); 5] = [
            (
                b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">",
                WINDOWS_1251,
            ),
            (
                b"<meta content='text/html;charset=koi8-r' http-equiv='content-type'>",
                KOI8_R,
            ),
            (
                b"<meta http-equiv=content-type content=\"text/html; charset = 'shift_jis'\">",
                SHIFT_JIS,
            ),
            (
                b"<meta http-equiv=Content-Type content=text/html;charset=latin2>",
                ISO_8859_2,
            ),
            (
                b"<meta http-equiv=\"content-type\" content=\"text/html; charset=x-user-defined\">",
                WINDOWS_1252,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                encoding_of(body, None),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn meta_charset_tolerates_a_self_closing_slash() {
        assert_eq!(encoding_of(b"<meta charset=shift_jis/>", None), SHIFT_JIS);
        assert_eq!(encoding_of(b"<meta charset=/>", None), UTF_8);
    }

    #[test]
    fn meta_without_pragma_or_with_bad_label_is_ignored() {
        // `content` without `http-equiv=content-type` declares nothing.
        assert_eq!(
            encoding_of(b"<meta content='text/html; charset=koi8-r'>", None),
            UTF_8
        );
        // An unknown label declares nothing; a later meta may still.
        assert_eq!(
            encoding_of(b"<meta charset=bogus><meta charset=koi8-r>", None),
            KOI8_R
        );
        // `charset` first, even unknown, means `content` is not consulted.
        let body = b"<meta charset=bogus http-equiv=content-type content='charset=koi8-r'>";
        assert_eq!(encoding_of(body, None), UTF_8);
    }

    #[test]
    fn the_first_meta_declaration_wins() {
        assert_eq!(
            encoding_of(b"<meta charset=koi8-r><meta charset=latin2>", None),
            KOI8_R
        );
    }

    #[test]
    fn prescan_skips_comments_and_other_markup() {
        assert_eq!(
            encoding_of(b"<!-- <meta charset=koi8-r> --><meta charset=latin2>", None),
            ISO_8859_2
        );
        assert_eq!(encoding_of(b"<!--><meta charset=koi8-r>", None), KOI8_R);
        assert_eq!(
            encoding_of(b"<!DOCTYPE html><?xml x?></p><meta charset=koi8-r>", None),
            KOI8_R
        );
        // An attribute value that merely looks like a meta tag is skipped.
        assert_eq!(
            encoding_of(
                b"<div title='<meta charset=koi8-r>'><meta charset=latin2>",
                None
            ),
            ISO_8859_2
        );
        // `<metadata>` is not `<meta>`.
        assert_eq!(encoding_of(b"<metadata charset=koi8-r>", None), UTF_8);
    }

    #[test]
    fn prescan_reads_only_the_first_1024_bytes() {
        let mut body = vec![b' '; 1024];
        body.extend_from_slice(b"<meta charset=koi8-r>");
        assert_eq!(encoding_of(&body, None), UTF_8);
        let mut body = vec![b' '; 1000];
        body.extend_from_slice(b"<meta charset=koi8-r>");
        assert_eq!(encoding_of(&body, None), KOI8_R);
        // A tag cut by the window declares nothing.
        let mut body = vec![b' '; 1010];
        body.extend_from_slice(b"<meta charset=koi8-r>");
        assert_eq!(encoding_of(&body, None), UTF_8);
    }

    #[test]
    fn replacement_labels_are_honoured_like_browsers() {
        let (text, encoding) = decode_html(b"<p>x</p>", Some("text/html; charset=iso-2022-kr"));
        assert_eq!((text.as_ref(), encoding), ("\u{FFFD}", REPLACEMENT));
    }

    #[test]
    fn decodes_legacy_text() {
        let body = b"<meta charset=windows-1251><title>\xCF\xF0\xE8\xE2\xE5\xF2</title>";
        let (text, _) = decode_html(body, None);
        assert!(text.contains("Привет"), "{text}");
    }

    proptest! {
        #[test]
        fn never_panics(body in prop::collection::vec(any::<u8>(), 0..2048), header in prop::option::of(".*")) {
            let _ = decode_html(&body, header.as_deref());
        }

        #[test]
        fn never_panics_on_tag_soup(parts in prop::collection::vec(prop::sample::select(vec![
            "<meta", " ", "charset", "=", "'", "\"", "koi8-r", ">", "<!--", "-->", "/", "<", "</",
            "http-equiv", "content-type", "content", ";", "<!", "<?", "a",
        ]), 0..60)) {
            let body = parts.concat();
            let _ = decode_html(body.as_bytes(), None);
        }
    }
}
