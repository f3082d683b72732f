//! CDXJ, the index pywb and the Wayback Machine replay from: one line per WARC
//! record, `SURT-KEY TIMESTAMP {JSON}`, sorted bytewise, so that a reader finds a
//! URL's captures by binary search.
//!
//! Records come in the store's order, not the key's, so lines are sorted here in
//! bounded memory: up to [`RUN_BYTES`] of lines are sorted in memory, larger indexes
//! go to temporary files as sorted runs that are merged at the end.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};

use crawler_storage::PageRecord;
use serde::Serialize;

use crate::surt::surt;

/// Bytes of lines sorted in memory before a run is written to a temporary file.
pub const RUN_BYTES: usize = 64 << 20;

/// One WARC record's entry.
pub struct Entry<'a> {
    /// The record's `WARC-Target-URI`.
    pub url: &'a str,
    /// Its `WARC-Date` (ms since the Unix epoch).
    pub date_ms: u64,
    /// The response's media type; `warc/revisit` for a revisit record.
    pub mime: Option<&'a str>,
    pub status: Option<u16>,
    /// The payload digest, base32 SHA-1 (without `sha1:`).
    pub digest: Option<&'a str>,
    /// The record's gzip member: where it starts in the file, and its length.
    pub offset: u64,
    pub length: u64,
    /// The WARC file's name.
    pub filename: &'a str,
}

#[derive(Serialize)]
struct Fields<'a> {
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mime: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<&'a str>,
    length: String,
    offset: String,
    filename: &'a str,
}

/// The entry's line, without its newline. Numbers are JSON strings, as pywb and
/// Common Crawl write them.
pub fn line(entry: &Entry<'_>) -> String {
    let key = surt(entry.url).unwrap_or_else(|| entry.url.to_owned());
    let fields = Fields {
        url: entry.url,
        mime: entry.mime,
        status: entry.status.map(|s| s.to_string()),
        digest: entry.digest,
        length: entry.length.to_string(),
        offset: entry.offset.to_string(),
        filename: entry.filename,
    };
    // Serializing strings and a struct of them cannot fail.
    let json = serde_json::to_string(&fields).unwrap_or_default();
    format!("{key} {} {json}", timestamp14(entry.date_ms))
}

/// The payload digest as Common Crawl writes it: base32 SHA-1, no `sha1:`.
pub fn digest(page: &PageRecord) -> Option<&str> {
    let digest = page.digest.as_deref()?;
    Some(digest.strip_prefix("sha1:").unwrap_or(digest))
}

/// The media type of `Content-Type`, without parameters.
pub fn mime_type(page: &PageRecord) -> Option<&str> {
    let value = page.content_type.as_deref()?;
    let mime = value.split(';').next().unwrap_or(value).trim();
    (!mime.is_empty()).then_some(mime)
}

/// `YYYYMMDDhhmmss` in UTC, the CDX timestamp.
pub fn timestamp14(ms: u64) -> String {
    crate::time::rfc3339_secs(ms)
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect()
}

/// Collects lines and writes them sorted; memory stays under about [`RUN_BYTES`]
/// (the lines of one run) whatever the count.
pub struct Sorter {
    lines: Vec<String>,
    bytes: usize,
    run_bytes: usize,
    runs: Vec<File>,
}

impl Sorter {
    pub fn new(run_bytes: usize) -> Sorter {
        Sorter {
            lines: Vec::new(),
            bytes: 0,
            run_bytes,
            runs: Vec::new(),
        }
    }

    pub fn push(&mut self, line: String) -> io::Result<()> {
        self.bytes += line.len() + 1;
        self.lines.push(line);
        if self.bytes >= self.run_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the lines held as a sorted run to a temporary file (deleted on close).
    fn spill(&mut self) -> io::Result<()> {
        self.lines.sort_unstable();
        let mut run = BufWriter::new(tempfile::tempfile()?);
        for line in self.lines.drain(..) {
            run.write_all(line.as_bytes())?;
            run.write_all(b"\n")?;
        }
        let mut file = run.into_inner().map_err(|e| e.into_error())?;
        io::Seek::rewind(&mut file)?;
        self.runs.push(file);
        self.bytes = 0;
        Ok(())
    }

    /// Writes every line pushed, sorted, each ending in a newline.
    pub fn finish(mut self, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
        if self.runs.is_empty() {
            self.lines.sort_unstable();
            for line in &self.lines {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            return Ok(());
        }
        if !self.lines.is_empty() {
            self.spill()?;
        }
        let mut readers: Vec<_> = self.runs.into_iter().map(BufReader::new).collect();
        let mut heads = BinaryHeap::new();
        for (i, reader) in readers.iter_mut().enumerate() {
            if let Some(line) = next_line(reader)? {
                heads.push(Reverse((line, i)));
            }
        }
        while let Some(Reverse((line, i))) = heads.pop() {
            out.write_all(line.as_bytes())?;
            if let Some(next) = next_line(&mut readers[i])? {
                heads.push(Reverse((next, i)));
            }
        }
        Ok(())
    }
}

/// A run's next line, its newline kept.
fn next_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = String::new();
    Ok((reader.read_line(&mut line)? > 0).then_some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_keyed_by_surt_and_timestamp() {
        let entry = Entry {
            url: "http://www.a.test/x?b=1&a=2",
            date_ms: 1_700_000_000_999,
            mime: Some("text/html"),
            status: Some(200),
            digest: Some("ABC"),
            offset: 10,
            length: 20,
            filename: "crawl.warc.gz",
        };
        assert_eq!(
            line(&entry),
            "test,a)/x?a=2&b=1 20231114221320 {\"url\":\"http://www.a.test/x?b=1&a=2\",\
             \"mime\":\"text/html\",\"status\":\"200\",\"digest\":\"ABC\",\"length\":\"20\",\
             \"offset\":\"10\",\"filename\":\"crawl.warc.gz\"}"
        );
    }

    /// Many runs merge to the order one in-memory sort gives.
    #[test]
    fn runs_merge_in_order() {
        let lines: Vec<String> = (0..1000u32)
            .map(|i| format!("k{:04} {}", (i * 7919) % 1000, i))
            .collect();
        for run_bytes in [64, 1000, 1 << 20] {
            let mut sorter = Sorter::new(run_bytes);
            for line in &lines {
                sorter.push(line.clone()).unwrap();
            }
            let mut out = Vec::new();
            sorter.finish(&mut out).unwrap();
            let mut expected = lines.clone();
            expected.sort();
            let expected: String = expected.iter().map(|l| format!("{l}\n")).collect();
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{run_bytes}");
        }
    }
}
