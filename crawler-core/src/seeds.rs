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
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::SystemTime;

use crawler_storage::{QueueEntry, Store, StoreError};

use crate::fetch::Credentials;
use crate::hooks::Hooks;
use crate::messages::{JobKind, Queued};
use crate::priority::ScoredUrl;
use crate::progress::Progress;
use crate::runs::ListedHosts;
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
    // Userinfo needs an `@`: most seeds are parsed once.
    if !input.contains('@') {
        return Ok(seed);
    }
    if let Ok(mut url) = url::Url::parse(input.trim()) {
        credentials.take_from(&mut url);
    }
    Ok(seed)
}

/// [`read_seeds_with`], each seed's userinfo taken into `credentials` ([`parse_seed`]).
pub fn read_seeds_and_credentials(
    reader: impl BufRead,
    source_name: &str,
    mut bad_line: impl FnMut(SeedError) -> Result<(), SeedError>,
    credentials: &mut Credentials,
) -> Result<Vec<CanonicalUrl>, SeedError> {
    let mut seeds = Vec::new();
    let mut listed = HashSet::new();
    let mut lines = SeedLines::new(reader, source_name);
    while let Some(line) = lines.next_seed(credentials) {
        match line {
            Ok(seed) if listed.insert(seed.fingerprint()) => seeds.push(seed),
            Ok(_) => {}
            Err(error @ SeedError::Read { .. }) => return Err(error),
            Err(error) => bad_line(error)?,
        }
    }
    Ok(seeds)
}

/// A seed list read a line at a time: only the line being read is in memory.
pub struct SeedLines<R> {
    reader: R,
    source_name: String,
    bytes: Vec<u8>,
    number: usize,
    ended: bool,
}

impl<R: BufRead> SeedLines<R> {
    /// The seeds of `reader`, named `source_name` in errors.
    pub fn new(reader: R, source_name: &str) -> SeedLines<R> {
        SeedLines {
            reader,
            source_name: source_name.to_owned(),
            bytes: Vec::new(),
            number: 0,
            ended: false,
        }
    }

    /// The next seed (its userinfo taken into `credentials`), or the error of the next
    /// bad line; `None` at the end. After an error reading the input, `None`.
    pub fn next_seed(
        &mut self,
        credentials: &mut Credentials,
    ) -> Option<Result<CanonicalUrl, SeedError>> {
        while !self.ended {
            self.number += 1;
            self.bytes.clear();
            let complete = match read_line(&mut self.reader, &mut self.bytes) {
                Ok(Some(complete)) => complete,
                Ok(None) => break,
                Err(error) => {
                    self.ended = true;
                    return Some(Err(SeedError::Read {
                        source_name: self.source_name.clone(),
                        error,
                    }));
                }
            };
            let line = self.number;
            let source_name = || self.source_name.clone();
            return Some(match parse_line(&self.bytes, complete, line == 1) {
                Ok(Some(text)) => {
                    parse_seed(text, credentials).map_err(|error| SeedError::BadLine {
                        source_name: source_name(),
                        line,
                        error,
                    })
                }
                Ok(None) => continue,
                Err(LineProblem::NotUtf8) => Err(SeedError::NotUtf8 {
                    source_name: source_name(),
                    line,
                }),
                Err(LineProblem::TooLong) => Err(SeedError::LineTooLong {
                    source_name: source_name(),
                    line,
                }),
            });
        }
        self.ended = true;
        None
    }

    /// The next seed, bad lines passed over (reported before, or not wanted); an
    /// error reading the input still ends it. Userinfo is dropped.
    fn next_good_seed(&mut self) -> Option<Result<CanonicalUrl, SeedError>> {
        loop {
            match self.next_seed(&mut Credentials::default())? {
                Ok(seed) => return Some(Ok(seed)),
                Err(error @ SeedError::Read { .. }) => return Some(Err(error)),
                Err(_) => {}
            }
        }
    }
}

/// Decides about a bad line of a [`SeedFile`]: `Ok` skips it, `Err` stops the crawl
/// with that error (before anything is fetched).
pub type BadSeedLine = Box<dyn FnMut(SeedError) -> Result<(), SeedError> + Send>;

/// A seed list in a file, read as the crawl needs it instead of held in memory (a
/// broad crawl's list of a million sites took 120 MB as URLs). It is read twice:
/// whole before the crawl starts, for the scope, the address rules, the credentials
/// of its userinfo and its bad lines, so a bad line stops the crawl before anything
/// is fetched; and again by the seed intake, which queues it in batches while the
/// crawl runs. A file that changes in between is warned about (its size and time).
pub struct SeedFile {
    path: PathBuf,
    name: String,
    on_bad_line: Option<BadSeedLine>,
    /// Size and modification time when it was read before the crawl.
    read_as: Option<(u64, Option<SystemTime>)>,
}

impl SeedFile {
    /// The seed list at `path`; its first bad line stops the crawl unless
    /// [`SeedFile::on_bad_line`] says otherwise.
    pub fn new(path: impl Into<PathBuf>) -> SeedFile {
        let path = path.into();
        SeedFile {
            name: path.display().to_string(),
            path,
            on_bad_line: None,
            read_as: None,
        }
    }

    /// Names the list `name` in errors instead of its path (`-` for a copy of
    /// standard input).
    pub fn named(mut self, name: impl Into<String>) -> SeedFile {
        self.name = name.into();
        self
    }

    /// Hands each bad line's error to `handler`, which skips the line with `Ok`.
    pub fn on_bad_line(
        mut self,
        handler: impl FnMut(SeedError) -> Result<(), SeedError> + Send + 'static,
    ) -> SeedFile {
        self.on_bad_line = Some(Box::new(handler));
        self
    }

    /// The name errors give the list.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first `n` seeds, bad lines passed over: a look at the list before a crawl.
    pub fn first_seeds(&self, n: usize) -> Result<Vec<CanonicalUrl>, SeedError> {
        let mut lines = self.lines()?;
        std::iter::from_fn(|| lines.next_good_seed())
            .take(n)
            .collect()
    }

    /// The first bad line's error, if the list has one: a check before anything is
    /// deleted.
    pub fn first_bad_line(&self) -> Result<Option<SeedError>, SeedError> {
        let mut lines = self.lines()?;
        while let Some(line) = lines.next_seed(&mut Credentials::default()) {
            match line {
                Ok(_) => {}
                Err(error @ SeedError::Read { .. }) => return Err(error),
                Err(error) => return Ok(Some(error)),
            }
        }
        Ok(None)
    }

    /// Reads the whole list before the crawl: each seed to `each`, its userinfo into
    /// `credentials`, each bad line to the handler (or the error, without one).
    pub(crate) fn scan(
        &mut self,
        credentials: &mut Credentials,
        mut each: impl FnMut(&CanonicalUrl),
    ) -> Result<(), SeedError> {
        self.read_as = self.stamp();
        let mut lines = self.lines()?;
        while let Some(line) = lines.next_seed(credentials) {
            match (line, &mut self.on_bad_line) {
                (Ok(seed), _) => each(&seed),
                (Err(error @ SeedError::Read { .. }), _) | (Err(error), None) => return Err(error),
                (Err(error), Some(handler)) => handler(error)?,
            }
        }
        Ok(())
    }

    fn lines(&self) -> Result<SeedLines<BufReader<File>>, SeedError> {
        let file = File::open(&self.path).map_err(|error| SeedError::Read {
            source_name: self.name.clone(),
            error,
        })?;
        Ok(SeedLines::new(BufReader::new(file), &self.name))
    }

    fn stamp(&self) -> Option<(u64, Option<SystemTime>)> {
        let meta = std::fs::metadata(&self.path).ok()?;
        Some((meta.len(), meta.modified().ok()))
    }
}

/// The seeds as the intake takes them: the given URLs, then each seed file read
/// again (its bad lines, reported before the crawl, passed over), then the sitemaps.
pub(crate) struct SeedStream {
    given: std::vec::IntoIter<CanonicalUrl>,
    files: std::vec::IntoIter<SeedFile>,
    reading: Option<(SeedFile, SeedLines<BufReader<File>>)>,
    sitemaps: std::vec::IntoIter<CanonicalUrl>,
    /// Why a file could not be read to its end.
    pub(crate) failure: Option<SeedError>,
}

impl SeedStream {
    pub(crate) fn new(
        given: Vec<CanonicalUrl>,
        files: Vec<SeedFile>,
        sitemaps: Vec<CanonicalUrl>,
    ) -> SeedStream {
        SeedStream {
            given: given.into_iter(),
            files: files.into_iter(),
            reading: None,
            sitemaps: sitemaps.into_iter(),
            failure: None,
        }
    }

    fn next_from_files(&mut self) -> Option<CanonicalUrl> {
        loop {
            if self.reading.is_none() {
                let file = self.files.next()?;
                match file.lines() {
                    Ok(lines) => self.reading = Some((file, lines)),
                    Err(error) => {
                        self.failure = Some(error);
                        return None;
                    }
                }
            }
            let (file, lines) = self.reading.as_mut()?;
            match lines.next_good_seed() {
                Some(Ok(seed)) => return Some(seed),
                Some(Err(error)) => {
                    self.failure = Some(error);
                    return None;
                }
                None => {
                    if file.stamp() != file.read_as {
                        tracing::warn!(
                            seeds = file.name(),
                            "the seed list changed while the crawl started: seeds added since were queued without widening the scope"
                        );
                    }
                    self.reading = None;
                }
            }
        }
    }
}

impl Iterator for SeedStream {
    type Item = (CanonicalUrl, JobKind);

    fn next(&mut self) -> Option<(CanonicalUrl, JobKind)> {
        if let Some(seed) = self.given.next() {
            return Some((seed, JobKind::Page));
        }
        if self.failure.is_none() {
            if let Some(seed) = self.next_from_files() {
                return Some((seed, JobKind::Page));
            }
        }
        if self.failure.is_some() {
            return None;
        }
        let sitemap = self.sitemaps.next()?;
        Some((sitemap, JobKind::Sitemap { level: 0 }))
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
/// it is stored. Seeds of hosts no seed of the store was on go to the store's seed
/// list first (`listed` knows those hosts). `deliver` returns false to stop (the crawl
/// is stopping). A hook failure skips its seed. Returns how many seeds were handed
/// over.
pub(crate) fn enqueue_seeds(
    seeds: &mut impl Iterator<Item = (CanonicalUrl, JobKind)>,
    listed: &mut ListedHosts,
    hooks: &Hooks,
    progress: &Progress,
    seen: &SeenSet,
    store: &Store,
    mut deliver: impl FnMut(Vec<Queued>) -> bool,
) -> Result<u64, StoreError> {
    let mut seeds = seeds.peekable();
    let mut handed_over = 0;
    while seeds.peek().is_some() {
        let mut entries = Vec::new();
        let mut batch = Vec::new();
        let mut new_hosts = Vec::new();
        // Released when dropped: after the batch is written, or on an error before it.
        let mut claims = seen.claims();
        for (seed, kind) in seeds.by_ref() {
            // Every seed sets the scope, queued or not, so every seed's host is listed.
            if kind == JobKind::Page && listed.is_new(&seed) {
                new_hosts.push(seed.as_str().to_owned());
            }
            match hooks.admits(&seed) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(failure) => {
                    tracing::warn!(url = seed.as_str(), failure, "hook failed on a seed");
                    progress.record_hook_failure();
                    continue;
                }
            }
            if claims.claim(seed.fingerprint())? {
                let priority = hooks.priority(&ScoredUrl {
                    url: &seed,
                    depth: 0,
                    anchor_text: None,
                    source: None,
                });
                let entry = QueueEntry {
                    kind: kind.store_name(),
                    priority,
                    ..QueueEntry::seed(seed.as_str(), seed.host_key().as_str())
                };
                entries.push((seed.fingerprint(), entry));
                batch.push(Queued {
                    kind,
                    priority,
                    ..Queued::page(seed, 0, None, 0)
                });
            }
            if batch.len() >= SEED_BATCH || new_hosts.len() >= SEED_BATCH {
                break;
            }
        }
        // Listed before queued: no queued seed's host is missing from the list.
        store.add_seeds(new_hosts.iter().map(String::as_str))?;
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

    fn seed_file(text: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seeds.txt");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_seed_file_is_read_whole_before_the_crawl_and_streamed_again_without_its_bad_lines() {
        let (_dir, path) =
            seed_file(b"http://u:pw@a.test/\nnot a url\nhttp://b.test/x\n# c\nhttp://c.test/\n");
        let skipped = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let noted = std::sync::Arc::clone(&skipped);
        let mut file = SeedFile::new(&path).named("list").on_bad_line(move |e| {
            noted.lock().unwrap().push(e.to_string());
            Ok(())
        });
        let (mut scanned, mut credentials) = (Vec::new(), Credentials::default());
        file.scan(&mut credentials, |seed| {
            scanned.push(seed.as_str().to_owned())
        })
        .unwrap();
        assert_eq!(
            scanned,
            ["http://a.test/", "http://b.test/x", "http://c.test/"]
        );
        assert_eq!(credentials.origins().count(), 1);
        assert_eq!(skipped.lock().unwrap().len(), 1);
        assert!(skipped.lock().unwrap()[0].starts_with("list:2: "));

        let given = vec![CanonicalUrl::parse("http://given.test/").unwrap()];
        let sitemap = vec![CanonicalUrl::parse("http://a.test/sitemap.xml").unwrap()];
        let stream = SeedStream::new(given, vec![file], sitemap);
        let streamed: Vec<(String, JobKind)> = stream
            .map(|(url, kind)| (url.as_str().to_owned(), kind))
            .collect();
        let pages = |urls: &[&str]| {
            urls.iter()
                .map(|u| (u.to_string(), JobKind::Page))
                .collect::<Vec<_>>()
        };
        let mut expected = pages(&[
            "http://given.test/",
            "http://a.test/",
            "http://b.test/x",
            "http://c.test/",
        ]);
        expected.push((
            "http://a.test/sitemap.xml".into(),
            JobKind::Sitemap { level: 0 },
        ));
        assert_eq!(streamed, expected);
        // Bad lines were reported once, before the crawl.
        assert_eq!(skipped.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_bad_line_without_a_handler_stops_the_scan_and_names_file_and_line() {
        let (_dir, path) = seed_file(b"http://a.test/\nftp://b.test/\n");
        let mut file = SeedFile::new(&path);
        let error = file.scan(&mut Credentials::default(), |_| {}).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}:2: ", path.display())),
            "{error}"
        );
        assert_eq!(
            file.first_bad_line().unwrap().map(|e| e.to_string()),
            Some(error.to_string())
        );
        assert_eq!(file.first_seeds(5).unwrap().len(), 1);
    }

    #[test]
    fn a_missing_seed_file_is_a_read_error_naming_it() {
        let mut file = SeedFile::new("/nonexistent/seeds.txt");
        let error = file.scan(&mut Credentials::default(), |_| {}).unwrap_err();
        assert!(matches!(error, SeedError::Read { .. }));
        assert!(
            error.to_string().starts_with("/nonexistent/seeds.txt: "),
            "{error}"
        );
    }

    #[test]
    fn empty_and_blank_inputs_have_no_seeds() {
        assert!(read_seeds(&b""[..], "-").unwrap().is_empty());
        assert!(read_seeds(&b"\n\r\n  \n#x"[..], "-").unwrap().is_empty());
        assert!(read_seeds(&b"\xef\xbb\xbf"[..], "-").unwrap().is_empty());
    }
}
