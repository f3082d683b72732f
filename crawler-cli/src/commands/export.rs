//! `crawler export`: the stored pages the filters select, as JSON lines or as a WARC
//! 1.1 archive.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context;
use base64::Engine;
use crawler_core::ErrorKind;
use crawler_storage::{
    Change, HttpExchange, PageContent, PageFilter, PageRecord, Store, StoreError,
};
use serde::Serialize;

use super::ls::{csv_header, csv_line};
use super::reading::{fetched_at, open, page_filter};
use crate::args::{ExportArgs, ExportFormat};
use crate::report::plural;
use crate::terminal::notice;
use crate::time::now_ms;
use crate::warc::{Capture, Profile, Revisit, Truncated, WarcInfo, WarcWriter};
use crate::Failure;

pub fn run(args: ExportArgs) -> Result<ExitCode, Failure> {
    let filter = page_filter(&args.filter)?;
    let format = format(&args)?;
    if args.with_body && format != ExportFormat::Jsonl {
        return Err(Failure::Usage(
            "--with-body is for --format jsonl (WARC records always carry the body; CSV has none)"
                .into(),
        ));
    }
    if args.output.is_none() && format == ExportFormat::Warc && io::stdout().is_terminal() {
        return Err(Failure::Usage(
            "a WARC export is gzip data: give -o FILE or redirect standard output".into(),
        ));
    }
    let store = open(&args.store)?;
    let mut output = Output::create(args.output.as_deref())?;
    let reading = Reading {
        store: &store,
        filter: &filter,
        skip_damaged: args.skip_damaged,
    };
    let written = match format {
        ExportFormat::Jsonl => export_jsonl(&reading, args.with_body, &mut output),
        ExportFormat::Warc => export_warc(&reading, args.output.as_deref(), &mut output),
        ExportFormat::Csv => export_csv(&reading, &mut output),
    };
    let counts = match written {
        Ok(counts) => counts,
        Err(error) => {
            output.abandon();
            return Err(error);
        }
    };
    output.commit()?;
    match &args.output {
        Some(path) => notice(&counts.describe(path)),
        None if counts.damaged > 0 => notice(&counts.damaged_text(&args.store)),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// What an export reads: the pages `filter` selects in `store`, past damaged ones
/// when `skip_damaged`.
struct Reading<'a> {
    store: &'a Store,
    filter: &'a PageFilter,
    skip_damaged: bool,
}

/// `--format`, or the format `-o`'s extension names.
fn format(args: &ExportArgs) -> Result<ExportFormat, Failure> {
    if let Some(format) = args.format {
        return Ok(format);
    }
    let Some(path) = &args.output else {
        return Err(Failure::Usage(
            "give --format jsonl|warc|csv (or -o FILE ending in .jsonl, .warc.gz or .csv)".into(),
        ));
    };
    ExportFormat::of_file(path).ok_or_else(|| {
        Failure::Usage(format!(
            "-o {}: cannot tell the format from the file name; give --format jsonl|warc|csv \
             (or name the file .jsonl, .warc.gz or .csv)",
            path.display()
        ))
    })
}

/// What an export wrote and left out.
#[derive(Default)]
struct Counts {
    pages: u64,
    /// WARC `revisit` records written (one per page at most: its last visit's).
    revisits: u64,
    /// Pages with no response: nothing to archive in a WARC.
    no_response: u64,
    /// Pages with a response but no stored HTTP heads.
    no_headers: u64,
    /// Pages left out because a stored part of theirs is damaged (`--skip-damaged`).
    damaged: u64,
    /// The store, to name in what to do about damage.
    store: PathBuf,
}

impl Counts {
    fn describe(&self, path: &Path) -> String {
        let mut text = format!(
            "exported {} to {}",
            plural(self.pages, "page"),
            path.display()
        );
        if self.revisits > 0 {
            text.push_str(&format!(
                "; {} (visits that found the content unchanged)",
                plural(self.revisits, "revisit record")
            ));
        }
        if self.no_response > 0 {
            text.push_str(&format!(
                "; left out {} without a response",
                plural(self.no_response, "URL")
            ));
        }
        if self.no_headers > 0 {
            text.push_str(&format!(
                "; left out {} stored without HTTP headers",
                plural(self.no_headers, "page")
            ));
        }
        if self.damaged > 0 {
            text.push_str(&format!("; {}", self.damaged_text(&self.store)));
        }
        text
    }

    fn damaged_text(&self, store: &Path) -> String {
        format!(
            "skipped {} damaged page{} (`crawler check --store {}` lists the damage)",
            self.damaged,
            if self.damaged == 1 { "" } else { "s" },
            store.display()
        )
    }
}

/// One JSON line of `export --format jsonl`: the record and what goes with it.
#[derive(Serialize)]
struct ExportedPage<'a> {
    #[serde(flatten)]
    page: &'a PageRecord,
    /// The revisit fields the record leaves out at a first visit's values (one visit,
    /// no change, no digest), written here then, so that every line has them.
    #[serde(rename = "visits", skip_serializing_if = "Option::is_none")]
    one_visit: Option<u32>,
    #[serde(rename = "change", skip_serializing_if = "Option::is_none")]
    no_change: Option<()>,
    #[serde(rename = "digest", skip_serializing_if = "Option::is_none")]
    no_digest: Option<()>,
    fetched_at: String,
    links: Vec<String>,
    http: Option<HttpExchange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

fn export_jsonl(reading: &Reading, with_body: bool, out: &mut Output) -> Result<Counts, Failure> {
    let mut pages = 0;
    let damaged = each_page_with_content(reading, with_body, |page, content| {
        let mut line = ExportedPage {
            page: &page,
            one_visit: (page.visits <= 1).then_some(1),
            no_change: page.change.is_none().then_some(()),
            no_digest: page.digest.is_none().then_some(()),
            fetched_at: fetched_at(&page),
            links: content.outlinks,
            http: content.exchange,
            body: None,
            body_base64: None,
        };
        match content.body.map(String::from_utf8) {
            Some(Ok(text)) => line.body = Some(text),
            Some(Err(bytes)) => {
                line.body_base64 =
                    Some(base64::engine::general_purpose::STANDARD.encode(bytes.as_bytes()))
            }
            None => {}
        }
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
        pages += 1;
        Ok(())
    })?;
    Ok(Counts {
        pages,
        damaged,
        store: reading.store.path().to_path_buf(),
        ..Counts::default()
    })
}

/// The columns of `ls --format csv`, one line per page (records only: no stored
/// part is read, so there is nothing damaged to skip).
fn export_csv(reading: &Reading, out: &mut Output) -> Result<Counts, Failure> {
    let mut counts = Counts {
        store: reading.store.path().to_path_buf(),
        ..Counts::default()
    };
    writeln!(out, "{}", csv_header())?;
    for page in reading.store.query(reading.filter) {
        writeln!(out, "{}", csv_line(&page?))?;
        counts.pages += 1;
    }
    Ok(counts)
}

fn export_warc(
    reading: &Reading,
    path: Option<&Path>,
    out: &mut Output,
) -> Result<Counts, Failure> {
    let info = warc_info(reading.store, path)?;
    let mut warc = WarcWriter::new(out, &info)?;
    let mut counts = Counts {
        store: reading.store.path().to_path_buf(),
        ..Counts::default()
    };
    // With --since, the visits since then: a capture before it is left out (a revisit
    // since then refers to it).
    let since = reading.filter.fetched_since_ms.unwrap_or(0);
    let damaged = each_page_with_content(reading, true, |page, content| {
        if page.status.is_none() {
            counts.no_response += 1;
            return Ok(());
        }
        if page.captured_at_ms() >= since {
            let Some(exchange) = content.exchange else {
                counts.no_headers += 1;
                return Ok(());
            };
            let payload = content.body.unwrap_or_default();
            warc.write_capture(&Capture {
                url: &page.url,
                captured_at_ms: page.captured_at_ms(),
                exchange: &exchange,
                payload: &payload,
                truncated: truncation(&page, payload.len()),
            })?;
        }
        let profile = match page.change {
            Some(Change::NotModified) => Some(Profile::ServerNotModified),
            Some(Change::Unchanged) => Some(Profile::IdenticalPayloadDigest),
            _ => None,
        };
        if let Some(profile) = profile {
            // The last visit's own heads; a store without them has no revisit to write.
            if let Some(exchange) = reading.store.visit_exchange(&page.url)? {
                warc.write_revisit(&Revisit {
                    url: &page.url,
                    fetched_at_ms: page.fetched_at_ms,
                    captured_at_ms: page.captured_at_ms(),
                    profile,
                    payload_digest: page.digest.as_deref(),
                    exchange: &exchange,
                })?;
                counts.revisits += 1;
            }
        }
        counts.pages += 1;
        Ok(())
    })?;
    counts.damaged = damaged;
    warc.finish()?;
    Ok(counts)
}

/// Pages travel from the reading thread to the writing one in chunks of this many.
const CHUNK: usize = 256;

/// Calls `each` with every page the filter selects and its content, in query order. A
/// thread of its own reads them (sled, the body log, decompression) while the calling
/// thread formats and writes (JSON, or WARC and gzip): each is about half of an
/// export's work. At most a few chunks are read ahead. Returns how many damaged pages
/// were skipped (each named in a notice); without `skip_damaged` damage is an error.
fn each_page_with_content(
    reading: &Reading,
    with_bodies: bool,
    mut each: impl FnMut(PageRecord, PageContent) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    type Chunk = Vec<Result<(PageRecord, PageContent), StoreError>>;
    let (sender, receiver) = mpsc::sync_channel::<Chunk>(4);
    let skips = |error: &StoreError| reading.skip_damaged && is_page_damage(error);
    let (store, filter) = (reading.store, reading.filter);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            for item in store.query(filter).with_content(with_bodies) {
                let failed = item.as_ref().is_err_and(|error| !skips(error));
                chunk.push(item);
                if chunk.len() == CHUNK || failed {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    // A closed channel: the writer stopped (it failed); so do we.
                    if sender.send(full).is_err() || failed {
                        return;
                    }
                }
            }
            let _ = sender.send(chunk);
        });
        // Returning early drops the receiver, which stops the reader at its next send.
        let mut skipped = 0;
        for chunk in receiver {
            for item in chunk {
                match item {
                    Ok((page, content)) => each(page, content)?,
                    Err(error) if skips(&error) => {
                        notice(&format!("skipped: {error}"));
                        skipped += 1;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Ok(skipped)
    })
}

/// Damage to one page's stored parts, which an export can leave that page out for.
fn is_page_damage(error: &StoreError) -> bool {
    matches!(error, StoreError::Damaged { url: Some(_), .. })
}

/// Why a response record's payload is not the whole body, if it is not.
fn truncation(page: &PageRecord, payload_len: usize) -> Option<Truncated> {
    match page.error.as_deref().map(str::parse::<ErrorKind>) {
        Some(Ok(ErrorKind::BodyTooLarge)) => Some(Truncated::Length),
        Some(Ok(ErrorKind::Timeout)) => Some(Truncated::Time),
        Some(Ok(ErrorKind::Read)) => Some(Truncated::Disconnect),
        Some(_) => Some(Truncated::Unspecified),
        None if (payload_len as u64) < page.bytes => Some(Truncated::Unspecified),
        None => None,
    }
}

fn warc_info(store: &Store, path: Option<&Path>) -> Result<WarcInfo, Failure> {
    let runs = store.runs()?;
    let mut fields = vec![
        (
            "software".to_owned(),
            format!("crawler/{}", env!("CARGO_PKG_VERSION")),
        ),
        ("format".to_owned(), "WARC File Format 1.1".to_owned()),
        (
            "conformsTo".to_owned(),
            "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
                .to_owned(),
        ),
        (
            "isPartOf".to_owned(),
            store
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| store.path().display().to_string()),
        ),
    ];
    let user_agent = runs
        .iter()
        .rev()
        .find_map(|run| run.config.get("user_agent")?.as_str().map(str::to_owned));
    if let Some(agent) = user_agent {
        fields.push(("http-header-user-agent".to_owned(), agent));
    }
    Ok(WarcInfo {
        filename: path
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned()),
        date_ms: now_ms(),
        fields,
    })
}

/// Standard output, or a file written under a temporary name and renamed into place
/// when complete, so that a failed export never leaves a file that looks whole.
///
/// The temporary file is new (created exclusively, so a link planted where it goes is
/// never followed) and has a name of its own (`.NAME.XXXXXX.partial`) in the target's
/// directory; it is deleted when the export fails.
enum Output {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File {
        writer: BufWriter<tempfile::NamedTempFile>,
        path: PathBuf,
    },
}

impl Output {
    fn create(path: Option<&Path>) -> Result<Output, Failure> {
        let Some(path) = path else {
            return Ok(Output::Stdout(BufWriter::with_capacity(
                1 << 16,
                io::stdout().lock(),
            )));
        };
        let file = temporary_beside(path)
            .with_context(|| format!("cannot create a temporary file for {}", path.display()))?;
        Ok(Output::File {
            writer: BufWriter::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
        })
    }

    /// Flushes, and moves a file into place.
    fn commit(self) -> Result<(), Failure> {
        match self {
            Output::Stdout(mut out) => out.flush()?,
            Output::File { writer, path } => {
                let file = writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                file.as_file()
                    .sync_all()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                let partial = file.path().to_path_buf();
                file.persist(&path).with_context(|| {
                    format!("cannot rename {} to {}", partial.display(), path.display())
                })?;
            }
        }
        Ok(())
    }

    /// Removes a partial file after a failure.
    fn abandon(self) {
        if let Output::File { writer, .. } = self {
            // Dropping the temporary file deletes it; what was buffered is not wanted.
            let (file, _) = writer.into_parts();
            let _ = file.close();
        }
    }
}

/// A new file in `path`'s directory, readable as a file created there plainly would
/// be (the umask applies), for writing `path` whole.
fn temporary_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(buf),
            Output::File { writer, .. } => writer.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.write_all(buf),
            Output::File { writer, .. } => writer.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::File { writer, .. } => writer.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_follows_the_error_or_a_missing_body() {
        let page = |error: Option<&str>, bytes| PageRecord {
            status: Some(200),
            error: error.map(str::to_owned),
            bytes,
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        assert_eq!(truncation(&page(None, 10), 10), None);
        assert_eq!(truncation(&page(None, 10), 0), Some(Truncated::Unspecified));
        assert_eq!(
            truncation(&page(Some("body-too-large"), 10), 0),
            Some(Truncated::Length)
        );
        assert_eq!(
            truncation(&page(Some("timeout"), 0), 0),
            Some(Truncated::Time)
        );
    }

    #[test]
    fn a_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let mut output = Output::create(Some(&path)).ok().unwrap();
        output.write_all(b"x\n").unwrap();
        assert!(!path.exists());
        output.commit().ok().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x\n");

        let other = dir.path().join("failed.jsonl");
        let mut output = Output::create(Some(&other)).ok().unwrap();
        output.write_all(b"x").unwrap();
        output.abandon();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
