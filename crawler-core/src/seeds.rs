//! Seed lists: one URL per line, `#` comments and blank lines skipped.
//!
//! Lines may end in LF or CRLF; a byte order mark at the start is ignored. Lines
//! are read as bytes with a length cap, so a file of one endless line (or binary
//! junk) costs bounded memory and is reported by line number like any bad line.
//! A URL listed again (in any spelling) is kept once: seed lists built by scripts
//! repeat themselves, and each seed costs the crawl a frontier entry.
//!
//! Also here: how a crawl takes its seeds in ([`enqueue_seeds`]): through the URL
//! filter and the seen-set, into the store's frontier and the in-memory one.

use std::collections::HashSet;
use std::io::BufRead;

use crawler_storage::{QueueEntry, Store, StoreError};

use crate::fetch::Credentials;
use crate::hooks::Hooks;
use crate::messages::{JobKind, Queued};
use crate::progress::Progress;
use crate::seen::SeenSet;
use crate::url::{CanonicalUrl, UrlError, MAX_URL_LEN};

/// The longest seed line read; past it the line is an error (and its rest skipped).
const MAX_SEED_LINE: usize = MAX_URL_LEN + 1024;

/// A seed line that is not a crawlable URL, located by source and line number.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{source_name}:{line}: {error}")]
    /// A line that is not a crawlable URL.
    BadLine {
        /// The file name, or `-` for stdin.
        source_name: String,
        /// 1-based.
        line: usize,
        /// Why the URL is refused.
        error: UrlError,
    },
    #[error("{source_name}:{line}: not UTF-8 text")]
    /// A line that is not UTF-8.
    NotUtf8 {
        /// The file name, or `-` for stdin.
        source_name: String,
        /// 1-based.
        line: usize,
    },
    #[error("{source_name}:{line}: longer than {MAX_SEED_LINE} bytes")]
    /// A line longer than any URL that could be crawled.
    LineTooLong {
        /// The file name, or `-` for stdin.
        source_name: String,
        /// 1-based.
        line: usize,
    },
    #[error("{source_name}: {error}")]
    /// The source could not be read.
    Read {
        /// The file name, or `-` for stdin.
        source_name: String,
        /// What the reader said.
        error: std::io::Error,
    },
}

impl SeedError {
    /// Whether the error is about one line (which may be skipped) rather than the
    /// input as a whole.
    pub fn is_bad_line(&self) -> bool {
        !matches!(self, SeedError::Read { .. })
    }
}

/// Reads a seed list. `source_name` (a file name, or `-` for standard input) names
/// the input in errors. The first bad line is an error; nothing is half-read.
pub fn read_seeds(reader: impl BufRead, source_name: &str) -> Result<Vec<CanonicalUrl>, SeedError> {
    read_seeds_with(reader, source_name, Err)
}

/// Reads a seed list, handing each bad line's error to `bad_line`: return `Ok` to
/// skip the line and go on, `Err` to stop with that error. An error reading the
/// input itself always stops. The seeds' userinfo is dropped; see
/// [`read_seeds_and_credentials`] to keep it.
pub fn read_seeds_with(
    reader: impl BufRead,
    source_name: &str,
    bad_line: impl FnMut(SeedError) -> Result<(), SeedError>,
) -> Result<Vec<CanonicalUrl>, SeedError> {
    read_seeds_and_credentials(reader, source_name, bad_line, &mut Credentials::default())
}

/// A seed URL, its userinfo (`user:pw@`) taken into `credentials` as its origin's
/// Basic credentials: the canonical URL holds none.
pub fn parse_seed(input: &str, credentials: &mut Credentials) -> Result<CanonicalUrl, UrlError> {
    let seed = CanonicalUrl::parse(input)?;
    if let Ok(mut url) = url::Url::parse(input.trim()) {
        credentials.take_from(&mut url);
    }
    Ok(seed)
}

/// [`read_seeds_with`], each seed's userinfo taken into `credentials` ([`parse_seed`]).
pub fn read_seeds_and_credentials(
    mut reader: impl BufRead,
    source_name: &str,
    mut bad_line: impl FnMut(SeedError) -> Result<(), SeedError>,
    credentials: &mut Credentials,
) -> Result<Vec<CanonicalUrl>, SeedError> {
    let mut seeds = Vec::new();
    let mut listed = HashSet::new();
    let mut bytes = Vec::new();
    let mut number = 0;
    loop {
        number += 1;
        bytes.clear();
        let read = read_line(&mut reader, &mut bytes).map_err(|error| SeedError::Read {
            source_name: source_name.to_owned(),
            error,
        })?;
        let Some(complete) = read else {
            return Ok(seeds);
        };
        let line = match parse_line(&bytes, complete, number == 1) {
            Ok(Some(text)) => parse_seed(text, credentials).map_err(|error| SeedError::BadLine {
                source_name: source_name.to_owned(),
                line: number,
                error,
            }),
            Ok(None) => continue,
            Err(LineProblem::NotUtf8) => Err(SeedError::NotUtf8 {
                source_name: source_name.to_owned(),
                line: number,
            }),
            Err(LineProblem::TooLong) => Err(SeedError::LineTooLong {
                source_name: source_name.to_owned(),
                line: number,
            }),
        };
        match line {
            Ok(seed) if listed.insert(seed.fingerprint()) => seeds.push(seed),
            Ok(_) => {}
            Err(error) => bad_line(error)?,
        }
    }
}

enum LineProblem {
    NotUtf8,
    TooLong,
}

/// The URL on a line, `None` for a blank or comment line.
fn parse_line(bytes: &[u8], complete: bool, first: bool) -> Result<Option<&str>, LineProblem> {
    if !complete {
        return Err(LineProblem::TooLong);
    }
    let bytes = match first {
        true => bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes),
        false => bytes,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| LineProblem::NotUtf8)?;
    let text = text.trim();
    Ok((!text.is_empty() && !text.starts_with('#')).then_some(text))
}

/// Reads one line (without its `\n`) into `line`, at most [`MAX_SEED_LINE`] bytes
/// of it. `None` at the end of the input; `Some(false)` when the line was longer
/// (the rest of it is read and dropped).
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    let mut any = false;
    let mut complete = true;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(complete));
        }
        any = true;
        let (chunk, end) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], Some(at + 1)),
            None => (available, None),
        };
        let room = MAX_SEED_LINE.saturating_sub(line.len());
        if chunk.len() > room {
            complete = false;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = end.unwrap_or(available.len());
        reader.consume(used);
        if end.is_some() {
            return Ok(Some(complete));
        }
    }
}

/// Seeds written to the store's frontier and handed over at once: a million queue
/// entries in one batch held 150 MB, and the crawl starts after the first batch.
const SEED_BATCH: usize = 10_000;

/// Takes a crawl's seeds in: the pages and sitemaps (named by `--sitemap`) the URL
/// filter admits and the seen-set does not hold yet are written to the store's
/// frontier, a batch at a time, and each batch is handed to `deliver` at depth 0 once
/// it is stored. `deliver` returns false to stop (the crawl is stopping). A hook
/// failure skips its seed. Returns how many seeds were handed over.
pub(crate) fn enqueue_seeds(
    pages: &[CanonicalUrl],
    sitemaps: &[CanonicalUrl],
    hooks: &Hooks,
    progress: &Progress,
    seen: &SeenSet,
    store: &Store,
    mut deliver: impl FnMut(Vec<Queued>) -> bool,
) -> Result<u64, StoreError> {
    let pages = pages.iter().map(|url| (url, JobKind::Page));
    let sitemaps = sitemaps
        .iter()
        .map(|url| (url, JobKind::Sitemap { level: 0 }));
    let mut seeds = pages.chain(sitemaps).peekable();
    let mut handed_over = 0;
    while seeds.peek().is_some() {
        let mut entries = Vec::new();
        let mut batch = Vec::new();
        // Released when dropped: after the batch is written, or on an error before it.
        let mut claims = seen.claims();
        for (seed, kind) in seeds.by_ref() {
            match hooks.admits(seed) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(failure) => {
                    tracing::warn!(url = seed.as_str(), failure, "hook failed on a seed");
                    progress.record_hook_failure();
                    continue;
                }
            }
            if claims.claim(seed.fingerprint())? {
                let entry = QueueEntry {
                    kind: kind.store_name(),
                    ..QueueEntry::seed(seed.as_str(), seed.host_key().as_str())
                };
                entries.push((seed.fingerprint(), entry));
                batch.push(Queued {
                    kind,
                    ..Queued::page(seed.clone(), 0, None, 0)
                });
                if batch.len() >= SEED_BATCH {
                    break;
                }
            }
        }
        store.enqueue(&entries)?;
        drop(claims);
        handed_over += batch.len() as u64;
        if !deliver(batch) {
            break;
        }
    }
    Ok(handed_over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_comments_blank_lines_bom_and_crlf() {
        let input = "\u{feff}http://a.test/\r\n# comment\r\n\r\n  HTTP://B.test  \n";
        let seeds = read_seeds(input.as_bytes(), "seeds.txt").unwrap();
        let seeds: Vec<&str> = seeds.iter().map(CanonicalUrl::as_str).collect();
        assert_eq!(seeds, ["http://a.test/", "http://b.test/"]);
    }

    #[test]
    fn a_bad_line_names_file_and_line() {
        let input = "http://a.test/\nftp://b.test/\n";
        let err = read_seeds(input.as_bytes(), "seeds.txt").unwrap_err();
        assert!(err.to_string().starts_with("seeds.txt:2: "), "{err}");
    }

    #[test]
    fn bad_lines_can_be_skipped_and_are_all_reported() {
        let long = "x".repeat(MAX_SEED_LINE + 10);
        let mut input = b"http://a.test/\nnot a url\n\xff\xfe\n".to_vec();
        input.extend_from_slice(long.as_bytes());
        input.extend_from_slice(b"\nhttp://b.test/\nmailto:x@y.test\nhttp://c.test/");
        let mut skipped = Vec::new();
        let seeds = read_seeds_with(&input[..], "s.txt", |e| {
            skipped.push(e.to_string());
            Ok(())
        })
        .unwrap();
        let seeds: Vec<&str> = seeds.iter().map(CanonicalUrl::as_str).collect();
        assert_eq!(
            seeds,
            ["http://a.test/", "http://b.test/", "http://c.test/"]
        );
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(
            skipped[0].starts_with("s.txt:2: invalid URL"),
            "{}",
            skipped[0]
        );
        assert_eq!(skipped[1], "s.txt:3: not UTF-8 text");
        assert!(
            skipped[2].starts_with("s.txt:4: longer than"),
            "{}",
            skipped[2]
        );
        assert!(
            skipped[3].starts_with("s.txt:6: unsupported scheme"),
            "{}",
            skipped[3]
        );
    }

    #[test]
    fn a_url_listed_twice_in_any_spelling_is_kept_once() {
        let input = "http://a.test/x\nHTTP://A.test:80/x#top\nhttp://b.test/\nhttp://a.test/x\n";
        let seeds = read_seeds(input.as_bytes(), "-").unwrap();
        let seeds: Vec<&str> = seeds.iter().map(CanonicalUrl::as_str).collect();
        assert_eq!(seeds, ["http://a.test/x", "http://b.test/"]);
    }

    #[test]
    fn empty_and_blank_inputs_have_no_seeds() {
        assert!(read_seeds(&b""[..], "-").unwrap().is_empty());
        assert!(read_seeds(&b"\n\r\n  \n#x"[..], "-").unwrap().is_empty());
        assert!(read_seeds(&b"\xef\xbb\xbf"[..], "-").unwrap().is_empty());
    }
}
