//! Sitemaps (the sitemaps.org protocol): the URLs a site lists for crawlers.
//!
//! [`parse`] reads one sitemap file, whichever of its forms it takes: an XML `<urlset>`
//! (page URLs), an XML `<sitemapindex>` (more sitemaps), or plain text (one URL per
//! line), each possibly gzip-compressed. It only reads: scope, dedup, politeness and the
//! nesting limit are the crawl's business.
//!
//! ```
//! use crawler_core::sitemap::{parse, SitemapKind};
//! let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
//! <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
//!   <url><loc>http://a.test/?p=1&amp;q=2</loc><lastmod>2024-01-01</lastmod></url>
//! </urlset>"#;
//! let sitemap = parse(xml)?;
//! assert_eq!(sitemap.kind, SitemapKind::UrlSet);
//! assert_eq!(sitemap.locs, ["http://a.test/?p=1&q=2"]);
//! # Ok::<(), crawler_core::sitemap::SitemapError>(())
//! ```
//!
//! The protocol's limits are enforced: at most [`MAX_SITEMAP_URLS`] URLs are read from
//! one file (the rest are counted in [`Sitemap::dropped`]) and a file larger than
//! [`MAX_SITEMAP_BYTES`] once decompressed is refused. A document that declares entities
//! in a DTD is refused outright: that is how XML bombs ("billion laughs") work, and no
//! sitemap needs one. quick-xml never expands entities itself; the five predefined ones
//! and character references are the only ones resolved here.

use std::borrow::Cow;
use std::io::Read;
use std::time::Duration;

use quick_xml::events::Event;
use quick_xml::Reader;

/// URLs read from one sitemap file (the protocol's limit).
pub const MAX_SITEMAP_URLS: usize = 50_000;

/// The largest sitemap accepted, uncompressed (the protocol's 50 MB).
pub const MAX_SITEMAP_BYTES: u64 = 50 * 1024 * 1024;

/// How deep sitemap indexes may nest below the first sitemap.
pub const MAX_SITEMAP_NESTING: u8 = 3;

/// Which form a sitemap file took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SitemapKind {
    /// `<urlset>`: page URLs.
    UrlSet,
    /// `<sitemapindex>`: sitemap URLs.
    Index,
    /// Plain text: page URLs, one per line.
    Text,
}

/// What one sitemap file lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sitemap {
    /// A URL set, an index of sitemaps, or a text list.
    pub kind: SitemapKind,
    /// The `<loc>` values (or lines), trimmed, in file order.
    pub locs: Vec<String>,
    /// URLs past [`MAX_SITEMAP_URLS`], not read.
    pub dropped: usize,
    /// Each URL's `<lastmod>` (ms since the Unix epoch), in the order of `locs`;
    /// `None` when it has none, or one that is not a W3C date.
    pub lastmods: Vec<Option<u64>>,
    /// Each URL's `<changefreq>` as an interval, in the order of `locs` (see
    /// [`changefreq_interval`]).
    pub changefreqs: Vec<Option<Duration>>,
}

/// A `<changefreq>` as an interval: `hourly` an hour, `daily` a day, `weekly` 7 days,
/// `monthly` 30, `yearly` 365; `always` none at all (as often as allowed) and `never`
/// the longest there is (the policy's bounds clamp both). `None` for anything else.
pub fn changefreq_interval(text: &str) -> Option<Duration> {
    let hours = match text.trim().to_ascii_lowercase().as_str() {
        "always" => 0,
        "hourly" => 1,
        "daily" => 24,
        "weekly" => 7 * 24,
        "monthly" => 30 * 24,
        "yearly" => 365 * 24,
        "never" => return Some(Duration::MAX),
        _ => return None,
    };
    Some(Duration::from_secs(hours * 3600))
}

/// Why a sitemap file was not read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SitemapError {
    #[error("larger than {MAX_SITEMAP_BYTES} bytes uncompressed")]
    /// Over the protocol's size limit.
    TooLarge,
    #[error("bad gzip data: {0}")]
    /// The gzip stream is broken.
    Gzip(String),
    #[error("refused: the document declares entities (an XML bomb, or of no use in a sitemap)")]
    /// The document declares entities.
    EntityDeclaration,
    #[error("refused: undefined entity &{0};")]
    /// An entity reference that XML does not predefine.
    UndefinedEntity(String),
    #[error("bad XML: {0}")]
    /// Not well-formed XML.
    Xml(String),
    #[error("not a sitemap: the root element is <{0}>")]
    /// The root element is neither `urlset` nor `sitemapindex`.
    UnknownRoot(String),
}

/// Reads a sitemap body (gzip-compressed or not).
pub fn parse(body: &[u8]) -> Result<Sitemap, SitemapError> {
    let body = gunzip_if_compressed(body)?;
    if body.len() as u64 > MAX_SITEMAP_BYTES {
        return Err(SitemapError::TooLarge);
    }
    let text = String::from_utf8_lossy(&body);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('<') {
        parse_xml(text)
    } else {
        Ok(parse_text(text))
    }
}

/// Decompresses a gzip body (recognized by its magic bytes, whatever the headers say:
/// `.xml.gz` files are usually served as `application/gzip` without `Content-Encoding`).
fn gunzip_if_compressed(body: &[u8]) -> Result<Cow<'_, [u8]>, SitemapError> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(body));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(MAX_SITEMAP_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| SitemapError::Gzip(e.to_string()))?;
    if out.len() as u64 > MAX_SITEMAP_BYTES {
        return Err(SitemapError::TooLarge);
    }
    Ok(Cow::Owned(out))
}

fn parse_text(text: &str) -> Sitemap {
    let mut sitemap = empty(SitemapKind::Text);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        push_loc(&mut sitemap, line.to_owned(), Hints::default());
    }
    sitemap
}

/// Adds a URL with its `<lastmod>` and `<changefreq>`; whether it was kept (not past
/// the limit).
fn push_loc(sitemap: &mut Sitemap, loc: String, hints: Hints) -> bool {
    if sitemap.locs.len() < MAX_SITEMAP_URLS {
        sitemap.locs.push(loc);
        sitemap.lastmods.push(hints.lastmod);
        sitemap.changefreqs.push(hints.changefreq);
        true
    } else {
        sitemap.dropped += 1;
        false
    }
}

fn parse_xml(text: &str) -> Result<Sitemap, SitemapError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let xml_error = |e: quick_xml::Error| SitemapError::Xml(e.to_string());
    let mut sitemap: Option<Sitemap> = None;
    // The text of the `<loc>`, `<lastmod>` or `<changefreq>` being read, when inside one.
    let mut loc: Option<String> = None;
    let mut reading: &str = "";
    // The current `<url>`'s hints read before its `<loc>`, and where its `<loc>` went,
    // once read.
    let mut hints = Hints::default();
    let mut entry: Option<usize> = None;
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::DocType(doctype) if doctype.borrow().into_inner().contains("<!ENTITY") => {
                return Err(SitemapError::EntityDeclaration);
            }
            Event::Start(start) => {
                let name = start.local_name();
                let name: &str = name.as_ref();
                match (&sitemap, name) {
                    (None, "urlset") => sitemap = Some(empty(SitemapKind::UrlSet)),
                    (None, "sitemapindex") => sitemap = Some(empty(SitemapKind::Index)),
                    (None, other) => return Err(SitemapError::UnknownRoot(other.to_owned())),
                    (Some(_), "loc") => (loc, reading) = (Some(String::new()), "loc"),
                    (Some(_), "lastmod") => (loc, reading) = (Some(String::new()), "lastmod"),
                    (Some(_), "changefreq") => {
                        (loc, reading) = (Some(String::new()), "changefreq");
                    }
                    (Some(_), "url" | "sitemap") => (hints, entry) = (Hints::default(), None),
                    _ => {}
                }
            }
            Event::Empty(start) if sitemap.is_none() => {
                let name = start.local_name();
                let name: &str = name.as_ref();
                return match name {
                    "urlset" => Ok(empty(SitemapKind::UrlSet)),
                    "sitemapindex" => Ok(empty(SitemapKind::Index)),
                    other => Err(SitemapError::UnknownRoot(other.to_owned())),
                };
            }
            Event::Text(text) => {
                if let Some(loc) = loc.as_mut() {
                    loc.push_str(&text.xml10_content());
                }
            }
            Event::CData(data) => {
                if let Some(loc) = loc.as_mut() {
                    loc.push_str(&data.into_inner());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                if let Some(loc) = loc.as_mut() {
                    loc.push(resolved);
                }
            }
            Event::End(end) => {
                let name = end.local_name();
                let name: &str = name.as_ref();
                match (name, reading) {
                    ("loc", "loc") => {
                        if let (Some(text), Some(sitemap)) = (loc.take(), sitemap.as_mut()) {
                            let text = text.trim();
                            if !text.is_empty() && push_loc(sitemap, text.to_owned(), hints) {
                                entry = Some(sitemap.locs.len() - 1);
                            }
                        }
                    }
                    ("lastmod", "lastmod") => {
                        hints.lastmod = loc.take().and_then(|text| w3c_datetime_ms(text.trim()));
                        if let (Some(at), Some(sitemap)) = (entry, sitemap.as_mut()) {
                            sitemap.lastmods[at] = hints.lastmod;
                        }
                    }
                    ("changefreq", "changefreq") => {
                        hints.changefreq = loc.take().and_then(|text| changefreq_interval(&text));
                        if let (Some(at), Some(sitemap)) = (entry, sitemap.as_mut()) {
                            sitemap.changefreqs[at] = hints.changefreq;
                        }
                    }
                    _ => {}
                }
                if name == reading {
                    reading = "";
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    sitemap.ok_or_else(|| SitemapError::Xml("no root element".to_owned()))
}

fn empty(kind: SitemapKind) -> Sitemap {
    Sitemap {
        kind,
        locs: Vec::new(),
        dropped: 0,
        lastmods: Vec::new(),
        changefreqs: Vec::new(),
    }
}

/// What a `<url>` says of how its page changes, beside its `<loc>`.
#[derive(Clone, Copy, Default)]
struct Hints {
    lastmod: Option<u64>,
    changefreq: Option<Duration>,
}

/// A W3C datetime, the form `<lastmod>` takes (`2024-05-01`,
/// `2024-05-01T10:30:00+02:00`, `2024-05-01T10:30:00.5Z`, `2024-05`, `2024`), as ms
/// since the Unix epoch; `None` for anything else, or a time before 1970.
pub fn w3c_datetime_ms(text: &str) -> Option<u64> {
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year: i64 = number(parts.next()?, 4)?;
    let month: i64 = parts.next().map_or(Some(1), |m| number(m, 2))?;
    let day: i64 = parts.next().map_or(Some(1), |d| number(d, 2))?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let mut millis = 0;
    if let Some(time) = time {
        let zone_at = time.find(['Z', '+', '-'])?;
        let (clock, zone) = time.split_at(zone_at);
        let mut clock = clock.split(':');
        let hour: i64 = number(clock.next()?, 2)?;
        let minute: i64 = number(clock.next()?, 2)?;
        let (second, fraction) = match clock.next() {
            Some(s) => match s.split_once('.') {
                Some((s, f)) => (number(s, 2)?, f),
                None => (number(s, 2)?, ""),
            },
            None => (0, ""),
        };
        if clock.next().is_some() || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        millis = format!("{fraction:0<3}").get(..3)?.parse::<i64>().ok()?;
        let offset = match zone {
            "Z" => 0,
            _ => {
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                let (h, m) = zone.get(1..)?.split_once(':')?;
                sign * (number::<i64>(h, 2)? * 3600 + number::<i64>(m, 2)? * 60)
            }
        };
        seconds += hour * 3600 + minute * 60 + second - offset;
    }
    u64::try_from(seconds * 1000 + millis).ok()
}

/// A number of exactly `digits` ASCII digits.
fn number<T: std::str::FromStr>(text: &str, digits: usize) -> Option<T> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A character reference or one of XML's five predefined entities; anything else
/// would need a DTD, which is refused.
fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<char, SitemapError> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Ok(c);
    }
    let name = reference.xml10_content();
    match name.as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(SitemapError::UndefinedEntity(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lastmod_is_read_as_a_w3c_datetime_beside_its_loc() {
        let xml = br#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <url><lastmod>2024-05-01T10:30:00+02:00</lastmod><loc>http://a.test/1</loc></url>
          <url><loc>http://a.test/2</loc><lastmod>2024-05-01</lastmod></url>
          <url><loc>http://a.test/3</loc></url>
          <url><loc>http://a.test/4</loc><lastmod>yesterday</lastmod></url>
        </urlset>"#;
        let sitemap = parse(xml).unwrap();
        assert_eq!(sitemap.changefreqs, [None; 4]);
        let day = 1_714_521_600_000;
        assert_eq!(
            sitemap.lastmods,
            [
                Some(day + 8 * 3_600_000 + 30 * 60_000),
                Some(day),
                None,
                None
            ]
        );
    }

    #[test]
    fn changefreq_is_read_as_an_interval() {
        let xml = br#"<urlset><url><changefreq>daily</changefreq><loc>http://a.test/1</loc></url>
          <url><loc>http://a.test/2</loc><changefreq> Weekly </changefreq></url>
          <url><loc>http://a.test/3</loc><changefreq>sometimes</changefreq></url></urlset>"#;
        let day = Duration::from_secs(86_400);
        assert_eq!(
            parse(xml).unwrap().changefreqs,
            [Some(day), Some(7 * day), None]
        );
        assert_eq!(changefreq_interval("never"), Some(Duration::MAX));
        assert_eq!(changefreq_interval("always"), Some(Duration::ZERO));
    }

    #[test]
    fn w3c_datetimes_take_every_precision_and_zone() {
        let at = w3c_datetime_ms;
        assert_eq!(at("1970-01-01"), Some(0));
        assert_eq!(at("1970"), Some(0));
        assert_eq!(at("1970-02"), Some(31 * 86_400_000));
        assert_eq!(at("2000-03-01T00:00Z"), Some(951_868_800_000));
        assert_eq!(at("2000-03-01T00:00:01.25Z"), Some(951_868_801_250));
        assert_eq!(at("2000-03-01T01:00:00+01:00"), Some(951_868_800_000));
        assert_eq!(at("2000-02-29T23:00:00-01:00"), Some(951_868_800_000));
        for bad in [
            "",
            "24-01-01",
            "2024-13-01",
            "2024-01-01T25:00Z",
            "2024-01-01T10:00",
            "1969-12-31",
            "2024-01-01T10:00:00.x1Z",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
    use std::io::Write;

    #[test]
    fn a_sitemap_index_lists_sitemaps() {
        let xml = b"<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n\
            <sitemap><loc> http://a.test/s1.xml </loc></sitemap>\n\
            <sitemap><loc><![CDATA[http://a.test/s2.xml.gz]]></loc><lastmod>2024</lastmod></sitemap>\n\
            </sitemapindex>";
        let sitemap = parse(xml).unwrap();
        assert_eq!(sitemap.kind, SitemapKind::Index);
        assert_eq!(
            sitemap.locs,
            ["http://a.test/s1.xml", "http://a.test/s2.xml.gz"]
        );
    }

    #[test]
    fn plain_text_and_gzip_are_read() {
        let text = "\u{feff}http://a.test/1\r\n\r\n  http://a.test/2  \n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let sitemap = parse(&gz.finish().unwrap()).unwrap();
        assert_eq!(sitemap.kind, SitemapKind::Text);
        assert_eq!(sitemap.locs, ["http://a.test/1", "http://a.test/2"]);
    }

    #[test]
    fn entity_declarations_are_refused() {
        let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<urlset><url><loc>http://a.test/&lol3;</loc></url></urlset>"#;
        assert_eq!(parse(bomb), Err(SitemapError::EntityDeclaration));
        let undefined = b"<urlset><url><loc>http://a.test/&lol;</loc></url></urlset>";
        assert_eq!(
            parse(undefined),
            Err(SitemapError::UndefinedEntity("lol".into()))
        );
    }

    #[test]
    fn limits_hold() {
        let mut text = String::new();
        for i in 0..MAX_SITEMAP_URLS + 3 {
            text.push_str(&format!("http://a.test/{i}\n"));
        }
        let sitemap = parse(text.as_bytes()).unwrap();
        assert_eq!((sitemap.locs.len(), sitemap.dropped), (MAX_SITEMAP_URLS, 3));

        // A gzip bomb: 60 MB of zeros in a few dozen kilobytes.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..60 {
            gz.write_all(&zeros).unwrap();
        }
        assert_eq!(parse(&gz.finish().unwrap()), Err(SitemapError::TooLarge));
    }

    #[test]
    fn other_xml_is_not_a_sitemap() {
        assert_eq!(
            parse(b"<html><body>hi</body></html>"),
            Err(SitemapError::UnknownRoot("html".into()))
        );
        assert!(matches!(parse(b"<urlset><url>"), Ok(s) if s.locs.is_empty()));
    }
}
