//! Writing WARC 1.1 files (ISO 28500:2017), one gzip member per record.
//!
//! Each stored page with a response becomes a `response` record (status line,
//! headers and body, as the crawler received them when it fetched that body) followed
//! by a `request` record (what it sent) that names the response in
//! `WARC-Concurrent-To`; a `warcinfo` record opens the file. A later visit that found
//! the content unchanged (a `304 Not Modified`, or the same payload digest) becomes a
//! `revisit` record (WARC 1.1 section 6.7: that visit's response head, and the
//! response record it refers to) with its own `request` record. Each record is compressed as its own gzip member, so
//! readers can seek to any record, as `.warc.gz` tools expect.
//!
//! Written here rather than with the `warc` crate, whose gzip writer compresses a whole
//! file as one stream; the format is small (a header block, a body, two CRLFs) and
//! the output is checked by an independent reader (Python's `warcio`) in the
//! end-to-end tests.
//!
//! Record IDs are UUIDs derived from the record's type, URL and fetch time, so exporting
//! the same store twice writes the same records. They are version 8 (custom bytes: a
//! SHA-1 of the name) rather than version 5 (a SHA-1 of a namespace and the name), as
//! archives written by earlier versions have them; a test pins them.
//!
//! Bodies are stored decoded: the HTTP client undoes `Content-Encoding` (and drops
//! that header and `Content-Length`) and transfer codings. So a `Transfer-Encoding`
//! header is written as `X-Crawler-Transfer-Encoding`, and the record's payload is the
//! decoded body that the digests cover.

use std::io::{self, Write};

use crawler_storage::HttpExchange;
use flate2::write::GzEncoder;
use flate2::Compression;
use sha1::{Digest, Sha1};
use uuid::Uuid;

/// What the `warcinfo` record says about the file.
pub struct WarcInfo {
    /// `WARC-Filename`, when writing to a file.
    pub filename: Option<String>,
    /// When the export ran (ms since the Unix epoch).
    pub date_ms: u64,
    /// `application/warc-fields` lines: `software`, `isPartOf`, ...
    pub fields: Vec<(String, String)>,
}

/// Why a response record lacks (part of) its body: a `WARC-Truncated` reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truncated {
    /// The body was over the size limit.
    Length,
    /// The fetch ran out of time.
    Time,
    /// The connection broke.
    Disconnect,
    /// The body was not kept (a policy choice), or is missing.
    Unspecified,
}

impl Truncated {
    fn as_str(self) -> &'static str {
        match self {
            Truncated::Length => "length",
            Truncated::Time => "time",
            Truncated::Disconnect => "disconnect",
            Truncated::Unspecified => "unspecified",
        }
    }
}

/// One fetch to archive.
pub struct Capture<'a> {
    /// The canonical URL (`WARC-Target-URI`).
    pub url: &'a str,
    /// When the fetch that brought the body started (ms since the Unix epoch):
    /// `WARC-Date`.
    pub captured_at_ms: u64,
    /// The request and response heads.
    pub exchange: &'a HttpExchange,
    /// The (decoded) body; empty when none was kept.
    pub payload: &'a [u8],
    /// Set when `payload` is not the whole body.
    pub truncated: Option<Truncated>,
}

/// How a revisit found the content unchanged: its `WARC-Profile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The server answered `304 Not Modified` to a conditional request.
    ServerNotModified,
    /// A full response whose payload digest is the captured one.
    IdenticalPayloadDigest,
}

impl Profile {
    fn uri(self) -> &'static str {
        match self {
            Profile::ServerNotModified => {
                "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
            }
            Profile::IdenticalPayloadDigest => {
                "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
            }
        }
    }
}

/// A visit that kept an earlier capture's content.
pub struct Revisit<'a> {
    /// The canonical URL (`WARC-Target-URI` and `WARC-Refers-To-Target-URI`).
    pub url: &'a str,
    /// When this visit's fetch started: `WARC-Date`.
    pub fetched_at_ms: u64,
    /// When the capture it refers to was fetched (its response record's date).
    pub captured_at_ms: u64,
    pub profile: Profile,
    /// The payload's digest (`sha1:BASE32`), the same as the capture's.
    pub payload_digest: Option<&'a str>,
    /// This visit's own request and response heads.
    pub exchange: &'a HttpExchange,
}

/// Where a record's gzip member lies in the file: what a CDX index points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub length: u64,
}

/// Writes records to `out`; [`WarcWriter::new`] writes the `warcinfo` record.
pub struct WarcWriter<W: Write> {
    out: W,
    /// Bytes written so far: the next record's offset.
    written: u64,
    info_id: String,
    level: Compression,
}

impl<W: Write> WarcWriter<W> {
    /// Starts a file with its `warcinfo` record.
    pub fn new(out: W, info: &WarcInfo) -> io::Result<WarcWriter<W>> {
        let info_id = record_id(
            "warcinfo",
            info.filename.as_deref().unwrap_or(""),
            info.date_ms,
        );
        let mut writer = WarcWriter {
            out,
            written: 0,
            info_id: info_id.clone(),
            level: Compression::new(6),
        };
        let mut block = Vec::new();
        for (name, value) in &info.fields {
            push_line(&mut block, &format!("{}: {}", clean(name), clean(value)));
        }
        let mut fields = vec![
            ("WARC-Type", "warcinfo".to_owned()),
            ("WARC-Record-ID", info_id),
            ("WARC-Date", crate::time::rfc3339_millis(info.date_ms)),
        ];
        if let Some(name) = &info.filename {
            fields.push(("WARC-Filename", clean(name)));
        }
        fields.push(("Content-Type", "application/warc-fields".to_owned()));
        writer.write_record(&fields, &block)?;
        Ok(writer)
    }

    /// Writes the `response` and `request` records of one fetch; returns where the
    /// response record lies.
    pub fn write_capture(&mut self, capture: &Capture<'_>) -> io::Result<Span> {
        let date = crate::time::rfc3339_millis(capture.captured_at_ms);
        let url = clean(capture.url);
        let response_id = record_id("response", capture.url, capture.captured_at_ms);

        let mut block = response_head(capture.exchange);
        block.extend_from_slice(capture.payload);
        let mut fields = vec![
            ("WARC-Type", "response".to_owned()),
            ("WARC-Record-ID", response_id.clone()),
            ("WARC-Warcinfo-ID", self.info_id.clone()),
            ("WARC-Target-URI", url.clone()),
            ("WARC-Date", date.clone()),
            ("WARC-Block-Digest", sha1_digest(&block)),
            ("WARC-Payload-Digest", sha1_digest(capture.payload)),
        ];
        if let Some(reason) = capture.truncated {
            fields.push(("WARC-Truncated", reason.as_str().to_owned()));
        }
        fields.push((
            "Content-Type",
            "application/http;msgtype=response".to_owned(),
        ));
        let span = self.write_record(&fields, &block)?;
        self.write_request(
            capture.url,
            capture.captured_at_ms,
            response_id,
            capture.exchange,
        )?;
        Ok(span)
    }

    /// Writes the `revisit` and `request` records of a visit that kept the content
    /// of an earlier one (the block is the visit's response head: no payload); returns
    /// where the revisit record lies.
    pub fn write_revisit(&mut self, revisit: &Revisit<'_>) -> io::Result<Span> {
        let url = clean(revisit.url);
        let revisit_id = record_id("revisit", revisit.url, revisit.fetched_at_ms);
        let block = response_head(revisit.exchange);
        let mut fields = vec![
            ("WARC-Type", "revisit".to_owned()),
            ("WARC-Record-ID", revisit_id.clone()),
            ("WARC-Warcinfo-ID", self.info_id.clone()),
            ("WARC-Target-URI", url.clone()),
            (
                "WARC-Date",
                crate::time::rfc3339_millis(revisit.fetched_at_ms),
            ),
            ("WARC-Profile", revisit.profile.uri().to_owned()),
            ("WARC-Refers-To-Target-URI", url),
            (
                "WARC-Refers-To-Date",
                crate::time::rfc3339_millis(revisit.captured_at_ms),
            ),
            (
                "WARC-Refers-To",
                record_id("response", revisit.url, revisit.captured_at_ms),
            ),
            ("WARC-Block-Digest", sha1_digest(&block)),
        ];
        if let Some(digest) = revisit.payload_digest {
            fields.push(("WARC-Payload-Digest", clean(digest)));
        }
        fields.push((
            "Content-Type",
            "application/http;msgtype=response".to_owned(),
        ));
        let span = self.write_record(&fields, &block)?;
        self.write_request(
            revisit.url,
            revisit.fetched_at_ms,
            revisit_id,
            revisit.exchange,
        )?;
        Ok(span)
    }

    /// The `request` record of the fetch at `at_ms`, concurrent to the record
    /// `concurrent_to` names.
    fn write_request(
        &mut self,
        url: &str,
        at_ms: u64,
        concurrent_to: String,
        exchange: &HttpExchange,
    ) -> io::Result<()> {
        let block = request_head(exchange);
        let fields = [
            ("WARC-Type", "request".to_owned()),
            ("WARC-Record-ID", record_id("request", url, at_ms)),
            ("WARC-Warcinfo-ID", self.info_id.clone()),
            ("WARC-Concurrent-To", concurrent_to),
            ("WARC-Target-URI", clean(url)),
            ("WARC-Date", crate::time::rfc3339_millis(at_ms)),
            ("WARC-Block-Digest", sha1_digest(&block)),
            (
                "Content-Type",
                "application/http;msgtype=request".to_owned(),
            ),
        ];
        self.write_record(&fields, &block).map(|_| ())
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// One record as one gzip member: version line, fields, `Content-Length`, a blank
    /// line, the block, two CRLFs.
    fn write_record(&mut self, fields: &[(&str, String)], block: &[u8]) -> io::Result<Span> {
        let mut head = String::from("WARC/1.1\r\n");
        for (name, value) in fields {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", block.len()));
        let offset = self.written;
        let counted = Counted {
            out: &mut self.out,
            written: &mut self.written,
        };
        let mut gzip = GzEncoder::new(counted, self.level);
        gzip.write_all(head.as_bytes())?;
        gzip.write_all(block)?;
        gzip.write_all(b"\r\n\r\n")?;
        gzip.finish()?;
        Ok(Span {
            offset,
            length: self.written - offset,
        })
    }
}

/// A writer that counts what passes through it.
struct Counted<'a, W: Write> {
    out: &'a mut W,
    written: &'a mut u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        *self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The response's status line and headers, and the blank line before the body.
fn response_head(exchange: &HttpExchange) -> Vec<u8> {
    let response = &exchange.response;
    let mut head = Vec::with_capacity(512);
    let status_line = format!(
        "{} {} {}",
        clean(&response.version),
        response.status,
        clean(&response.reason)
    );
    push_line(&mut head, status_line.trim_end());
    for (name, value) in &response.headers {
        let name = if name.eq_ignore_ascii_case("transfer-encoding") {
            "X-Crawler-Transfer-Encoding"
        } else {
            name.as_str()
        };
        push_line(&mut head, &format!("{}: {}", clean(name), clean(value)));
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// The request line and headers, and the blank line that ends a bodiless request.
fn request_head(exchange: &HttpExchange) -> Vec<u8> {
    let request = &exchange.request;
    let mut head = Vec::with_capacity(256);
    push_line(
        &mut head,
        &format!(
            "{} {} {}",
            clean(&request.method),
            clean(&request.target),
            clean(&request.version)
        ),
    );
    for (name, value) in &request.headers {
        push_line(&mut head, &format!("{}: {}", clean(name), clean(value)));
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn push_line(out: &mut Vec<u8>, line: &str) {
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A value safe on one header line: CR and LF (which only a damaged store could hold)
/// become spaces.
fn clean(value: &str) -> String {
    value.replace(['\r', '\n'], " ")
}

/// `sha1:` and the base32 (RFC 4648) of the SHA-1 of `bytes`, as WARC tools write it.
pub fn sha1_digest(bytes: &[u8]) -> String {
    crawler_storage::payload_digest(bytes)
}

/// `<urn:uuid:...>`: a version-8 UUID (RFC 9562) made of the first 16 bytes of the
/// SHA-1 of what names the record.
fn record_id(kind: &str, url: &str, at_ms: u64) -> String {
    let hash = Sha1::digest(format!("{kind}\n{url}\n{at_ms}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    format!("<{}>", Uuid::new_v8(bytes).urn())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use crawler_storage::{RequestHead, ResponseHead};
    use flate2::bufread::GzDecoder;

    use super::*;

    #[test]
    fn digests_are_base32_sha1() {
        assert_eq!(sha1_digest(b""), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
        assert_eq!(
            sha1_digest(b"foobar"),
            "sha1:RBB5P6JECYQR32PLXFR76THCQESZGKDY"
        );
    }

    #[test]
    fn record_ids_are_stable_uuids() {
        let id = record_id("response", "http://a.test/", 5);
        assert_eq!(id, record_id("response", "http://a.test/", 5));
        assert_ne!(id, record_id("request", "http://a.test/", 5));
        assert_eq!(id.len(), "<urn:uuid:>".len() + 36);
        assert_eq!(&id[24..25], "8", "{id}");
    }

    /// The records written for a fixed input, pinned: record ids, digests, dates and
    /// layout stay byte for byte what earlier versions wrote, so that exporting the same
    /// store again writes the same archive.
    #[test]
    fn the_same_input_writes_the_same_records() {
        let records = members(&one_capture(1_700_000_000_999, Some(Truncated::Length))).concat();
        assert_eq!(
            record_id("response", "http://a.test/", 5),
            "<urn:uuid:0e092645-ad1e-80e0-b4df-c7a5b02c5491>"
        );
        assert_eq!(
            sha1_digest(records.as_bytes()),
            "sha1:XVK6XGDKTP26RFRXNEYYM27MGHTA2T4F",
            "{records}"
        );
    }

    fn exchange() -> HttpExchange {
        HttpExchange {
            request: RequestHead {
                method: "GET".into(),
                target: "/a?b".into(),
                version: "HTTP/1.1".into(),
                headers: vec![("host".into(), "a.test".into())],
            },
            response: ResponseHead {
                version: "HTTP/1.1".into(),
                status: 200,
                reason: "OK".into(),
                headers: vec![
                    ("content-type".into(), "text/plain".into()),
                    ("transfer-encoding".into(), "chunked".into()),
                    ("x-evil".into(), "a\r\nb".into()),
                ],
            },
        }
    }

    /// A file of the warcinfo record (written at `date_ms`) and one capture of
    /// `http://a.test/a?b` whose body is `hello`.
    fn one_capture(date_ms: u64, truncated: Option<Truncated>) -> Vec<u8> {
        let info = WarcInfo {
            filename: Some("x.warc.gz".into()),
            date_ms,
            fields: vec![("software".into(), "crawler".into())],
        };
        let mut writer = WarcWriter::new(Vec::new(), &info).unwrap();
        let exchange = exchange();
        writer
            .write_capture(&Capture {
                url: "http://a.test/a?b",
                captured_at_ms: 1_700_000_000_123,
                exchange: &exchange,
                payload: b"hello",
                truncated,
            })
            .unwrap();
        writer.finish().unwrap()
    }

    /// Splits a file into its gzip members, decompressed.
    fn members(mut bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let mut decoder = GzDecoder::new(bytes);
            let mut text = String::new();
            decoder.read_to_string(&mut text).unwrap();
            out.push(text);
            bytes = decoder.into_inner();
        }
        out
    }

    /// The span a capture returns is its response record's gzip member, whole.
    #[test]
    fn a_capture_returns_where_its_response_record_lies() {
        let info = WarcInfo {
            filename: None,
            date_ms: 0,
            fields: Vec::new(),
        };
        let mut writer = WarcWriter::new(Vec::new(), &info).unwrap();
        let exchange = exchange();
        let capture = |url| Capture {
            url,
            captured_at_ms: 1,
            exchange: &exchange,
            payload: b"hello",
            truncated: None,
        };
        let first = writer.write_capture(&capture("http://a.test/1")).unwrap();
        let second = writer.write_capture(&capture("http://a.test/2")).unwrap();
        let file = writer.finish().unwrap();
        assert!(first.offset > 0 && second.offset > first.offset + first.length);
        for (span, url) in [(first, "http://a.test/1"), (second, "http://a.test/2")] {
            let start = usize::try_from(span.offset).unwrap();
            let end = start + usize::try_from(span.length).unwrap();
            let records = members(&file[start..end]);
            assert_eq!(records.len(), 1);
            assert!(records[0].contains("WARC-Type: response\r\n"));
            assert!(records[0].contains(&format!("WARC-Target-URI: {url}\r\n")));
        }
    }

    #[test]
    fn writes_one_gzip_member_per_record_with_exact_lengths() {
        let file = one_capture(0, None);
        let records = members(&file);
        assert_eq!(records.len(), 3);
        assert!(records[0].contains("WARC-Type: warcinfo\r\n"));
        assert!(records[0].ends_with("software: crawler\r\n\r\n\r\n"));

        let response = &records[1];
        let (head, block) = response.split_once("\r\n\r\n").unwrap();
        let block = block.strip_suffix("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, block.len());
        assert!(head.starts_with("WARC/1.1\r\nWARC-Type: response\r\n"));
        assert!(head.contains("WARC-Date: 2023-11-14T22:13:20.123Z\r\n"));
        assert!(head.contains(&format!("WARC-Payload-Digest: {}", sha1_digest(b"hello"))));
        assert!(head.contains(&format!(
            "WARC-Block-Digest: {}",
            sha1_digest(block.as_bytes())
        )));
        assert_eq!(
            block,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nX-Crawler-Transfer-Encoding: chunked\r\nx-evil: a  b\r\n\r\nhello"
        );

        let request = &records[2];
        assert!(request.contains("WARC-Type: request\r\n"));
        let response_id = record_id("response", "http://a.test/a?b", 1_700_000_000_123);
        assert!(request.contains(&format!("WARC-Concurrent-To: {response_id}\r\n")));
        assert!(request.ends_with("\r\n\r\nGET /a?b HTTP/1.1\r\nhost: a.test\r\n\r\n\r\n\r\n"));
    }

    #[test]
    fn a_revisit_refers_to_its_capture_and_holds_the_visits_head() {
        let info = WarcInfo {
            filename: None,
            date_ms: 0,
            fields: Vec::new(),
        };
        let mut writer = WarcWriter::new(Vec::new(), &info).unwrap();
        let mut heads = exchange();
        heads.response.status = 304;
        heads.response.reason = "Not Modified".into();
        heads.response.headers = vec![("etag".into(), "\"v1\"".into())];
        let digest = sha1_digest(b"hello");
        let (url, captured, visited) = ("http://a.test/a?b", 1_700_000_000_123, 1_700_000_100_000);
        writer
            .write_revisit(&Revisit {
                url,
                fetched_at_ms: visited,
                captured_at_ms: captured,
                profile: Profile::ServerNotModified,
                payload_digest: Some(&digest),
                exchange: &heads,
            })
            .unwrap();
        let records = members(&writer.finish().unwrap());
        assert_eq!(records.len(), 3);
        let (head, block) = records[1].split_once("\r\n\r\n").unwrap();
        let revisit_id = record_id("revisit", url, visited);
        for field in [
            "WARC-Type: revisit".to_owned(),
            format!("WARC-Record-ID: {revisit_id}"),
            "WARC-Date: 2023-11-14T22:15:00.000Z".to_owned(),
            "WARC-Profile: http://netpreserve.org/warc/1.1/revisit/server-not-modified".to_owned(),
            format!("WARC-Refers-To-Target-URI: {url}"),
            "WARC-Refers-To-Date: 2023-11-14T22:13:20.123Z".to_owned(),
            format!("WARC-Refers-To: {}", record_id("response", url, captured)),
            format!("WARC-Payload-Digest: {digest}"),
            "Content-Type: application/http;msgtype=response".to_owned(),
            "Content-Length: 41".to_owned(),
        ] {
            assert!(head.lines().any(|line| line == field), "{field}: {head}");
        }
        assert_eq!(
            block,
            "HTTP/1.1 304 Not Modified\r\netag: \"v1\"\r\n\r\n\r\n\r\n"
        );
        assert!(records[2].contains("WARC-Type: request\r\n"));
        assert!(records[2].contains(&format!("WARC-Concurrent-To: {revisit_id}\r\n")));
        assert!(records[2].contains("WARC-Date: 2023-11-14T22:15:00.000Z\r\n"));
    }
}
