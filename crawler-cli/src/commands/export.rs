//! `crawler export`: the stored pages the filters select, as JSON lines, CSV, a WARC
//! 1.1 archive (with its CDXJ index and Parquet table beside it, on request), a
//! Parquet table, or a WACZ package.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context;
use base64::Engine;
use crawler_core::ErrorKind;
use crawler_storage::{
    Change, HttpExchange, PageContent, PageFilter, PageRecord, StoreError, StoreUnion,
};
use serde::Serialize;

use super::ls::{csv_header, csv_line};
use super::reading::{fetched_at, open_all, page_filter};
use crate::args::{ExportArgs, ExportFormat};
use crate::cdxj;
#[cfg(feature = "parquet")]
use crate::parquet_file::{Row, TableWriter};
use crate::report::plural;
use crate::terminal::notice;
use crate::time::now_ms;
#[cfg(feature = "wacz")]
use crate::wacz;
use crate::warc::{Capture, Profile, Revisit, Span, Truncated, WarcInfo, WarcWriter};
use crate::Failure;

pub fn run(args: ExportArgs) -> Result<ExitCode, Failure> {
    let filter = page_filter(&args.filter)?;
    let format = format(&args)?;
    check_usage(&args, format)?;
    let stores = open_all(&args.store)?;
    let mut output = Output::create(args.output.as_deref())?;
    let reading = Reading {
        crawl: &StoreUnion::new(stores.iter().collect()),
        paths: &args.store,
        filter: &filter,
        skip_damaged: args.skip_damaged,
    };
    let written = match format {
        ExportFormat::Jsonl => export_jsonl(&reading, args.with_body, &mut output),
        ExportFormat::Warc => export_warc_and_indexes(&reading, &args, &mut output),
        ExportFormat::Csv => export_csv(&reading, &mut output),
        ExportFormat::Parquet => export_parquet(&reading, &mut output),
        ExportFormat::Wacz => export_wacz(&reading, args.output.as_deref(), &mut output),
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

/// Flags that do not go together, and formats this build left out.
fn check_usage(args: &ExportArgs, format: ExportFormat) -> Result<(), Failure> {
    if args.with_body && format != ExportFormat::Jsonl {
        return Err(Failure::Usage(
            "--with-body is for --format jsonl (WARC records always carry the body; CSV has none)"
                .into(),
        ));
    }
    for (flag, given) in [("--cdxj", &args.cdxj), ("--parquet", &args.parquet)] {
        if given.is_some() && (format != ExportFormat::Warc || args.output.is_none()) {
            return Err(Failure::Usage(format!(
                "{flag} indexes a WARC file: give it with --format warc and -o FILE.warc.gz"
            )));
        }
    }
    let left_out = match format {
        ExportFormat::Parquet => (!cfg!(feature = "parquet")).then_some("parquet"),
        ExportFormat::Wacz => (!cfg!(feature = "wacz")).then_some("wacz"),
        _ => None,
    };
    let left_out =
        left_out.or((args.parquet.is_some() && !cfg!(feature = "parquet")).then_some("parquet"));
    if let Some(feature) = left_out {
        return Err(Failure::Usage(format!(
            "this crawler was built without {feature} export (cargo feature `{feature}`, \
             on by default); build it with `--features {feature}`"
        )));
    }
    if args.output.is_none() {
        let binary = match format {
            ExportFormat::Parquet => {
                Some("a Parquet file is written whole, footer last: give -o FILE")
            }
            ExportFormat::Wacz => Some("a WACZ is a zip archive: give -o FILE"),
            ExportFormat::Warc if io::stdout().is_terminal() => {
                Some("a WARC export is gzip data: give -o FILE or redirect standard output")
            }
            _ => None,
        };
        if let Some(message) = binary {
            return Err(Failure::Usage(message.into()));
        }
    }
    Ok(())
}

/// What an export reads: the pages `filter` selects in the stores at `paths` read as
/// one crawl, past damaged ones when `skip_damaged`.
struct Reading<'a> {
    crawl: &'a StoreUnion<'a>,
    paths: &'a [PathBuf],
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
            "give --format jsonl|warc|csv|parquet|wacz (or -o FILE ending in .jsonl, .warc.gz, \
             .csv, .parquet or .wacz)"
                .into(),
        ));
    };
    ExportFormat::of_file(path).ok_or_else(|| {
        Failure::Usage(format!(
            "-o {}: cannot tell the format from the file name; give --format \
             jsonl|warc|csv|parquet|wacz (or name the file .jsonl, .warc.gz, .csv, .parquet or \
             .wacz)",
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
    /// The stores, to name in what to do about damage.
    stores: Vec<PathBuf>,
    /// Files written beside a WARC that index it (`--cdxj`, `--parquet`).
    indexes: Vec<PathBuf>,
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
            text.push_str(&format!("; {}", self.damaged_text(&self.stores)));
        }
        for index in &self.indexes {
            text.push_str(&format!("; indexed in {}", index.display()));
        }
        text
    }

    fn damaged_text(&self, stores: &[PathBuf]) -> String {
        let check = match stores {
            [store] => format!("`crawler check --store {}`", store.display()),
            _ => "`crawler check --store DIR` of each store".to_owned(),
        };
        format!(
            "skipped {} damaged page{} ({check} lists the damage)",
            self.damaged,
            if self.damaged == 1 { "" } else { "s" },
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
        stores: reading.paths.to_vec(),
        ..Counts::default()
    })
}

/// The columns of `ls --format csv`, one line per page (records only: no stored
/// part is read, so there is nothing damaged to skip).
fn export_csv(reading: &Reading, out: &mut Output) -> Result<Counts, Failure> {
    let mut counts = Counts {
        stores: reading.paths.to_vec(),
        ..Counts::default()
    };
    writeln!(out, "{}", csv_header())?;
    for page in reading.crawl.query(reading.filter) {
        writeln!(out, "{}", csv_line(&page?))?;
        counts.pages += 1;
    }
    Ok(counts)
}

/// `--format parquet`: one row per page the filter selects (records only, as CSV).
#[cfg(feature = "parquet")]
fn export_parquet(reading: &Reading, out: &mut Output) -> Result<Counts, Failure> {
    let mut table = TableWriter::new(out.file_writer()?)?;
    let mut counts = Counts {
        stores: reading.paths.to_vec(),
        ..Counts::default()
    };
    for page in reading.crawl.query(reading.filter) {
        table.push(&Row {
            page: &page?,
            warc: None,
        })?;
        counts.pages += 1;
    }
    table.finish()?;
    Ok(counts)
}

#[cfg(not(feature = "parquet"))]
fn export_parquet(_: &Reading, _: &mut Output) -> Result<Counts, Failure> {
    Err(Failure::Usage(
        "this crawler was built without parquet export".into(),
    ))
}

/// `--format warc`, and the indexes `--cdxj` and `--parquet` ask for beside it.
fn export_warc_and_indexes(
    reading: &Reading,
    args: &ExportArgs,
    out: &mut Output,
) -> Result<Counts, Failure> {
    let mut cdxj_out = args
        .cdxj
        .as_deref()
        .map(|path| Output::create(Some(path)))
        .transpose()?;
    let mut table_out = args
        .parquet
        .as_deref()
        .map(|path| Output::create(Some(path)))
        .transpose()?;
    let mut written = write_warc_and_indexes(reading, args, out, &mut cdxj_out, &mut table_out);
    for beside in [cdxj_out, table_out].into_iter().flatten() {
        match written {
            Ok(_) => beside.commit()?,
            Err(_) => beside.abandon(),
        }
    }
    if let Ok(counts) = &mut written {
        counts.indexes = [&args.cdxj, &args.parquet]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
    }
    written
}

fn write_warc_and_indexes(
    reading: &Reading,
    args: &ExportArgs,
    out: &mut Output,
    cdxj_out: &mut Option<Output>,
    table_out: &mut Option<Output>,
) -> Result<Counts, Failure> {
    let filename = args
        .output
        .as_deref()
        .and_then(Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut beside = Beside {
        filename,
        cdxj: cdxj_out
            .as_ref()
            .map(|_| cdxj::Sorter::new(cdxj::RUN_BYTES)),
        #[cfg(feature = "parquet")]
        table: match table_out {
            Some(output) => Some(TableWriter::new(output.file_writer()?)?),
            None => None,
        },
        pages: None,
    };
    #[cfg(not(feature = "parquet"))]
    let _ = table_out;
    let counts = export_warc(reading, args.output.as_deref(), out, &mut beside)?;
    beside.finish(cdxj_out.as_mut())?;
    Ok(counts)
}

/// `--format wacz`: the WARC, its index and the pages, each written to a temporary
/// file beside the output, then zipped into it.
#[cfg(feature = "wacz")]
fn export_wacz(
    reading: &Reading,
    path: Option<&Path>,
    out: &mut Output,
) -> Result<Counts, Failure> {
    let dir = match path.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let temporary = || {
        tempfile::tempfile_in(dir)
            .map(|file| BufWriter::with_capacity(1 << 16, file))
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))
    };
    let (mut warc, mut pages, mut index) = (temporary()?, temporary()?, temporary()?);
    writeln!(
        pages,
        r#"{{"format":"json-pages-1.0","id":"pages","title":"All Pages"}}"#
    )?;
    let mut beside = Beside {
        filename: "data.warc.gz".to_owned(),
        cdxj: Some(cdxj::Sorter::new(cdxj::RUN_BYTES)),
        #[cfg(feature = "parquet")]
        table: None,
        pages: Some(&mut pages),
    };
    let counts = export_warc(
        reading,
        Some(Path::new("data.warc.gz")),
        &mut warc,
        &mut beside,
    )?;
    beside.finish(Some(&mut index))?;
    let mut parts = Vec::new();
    for (path, writer) in [
        ("archive/data.warc.gz", warc),
        ("indexes/index.cdx", index),
        ("pages/pages.jsonl", pages),
    ] {
        let mut file = writer.into_inner().map_err(|e| e.into_error())?;
        io::Seek::rewind(&mut file)?;
        parts.push(wacz::Part {
            path: path.to_owned(),
            file,
        });
    }
    let title = reading
        .paths
        .first()
        .and_then(|path| path.file_name())
        .map(|name| name.to_string_lossy().into_owned());
    let created = crate::time::rfc3339_secs(now_ms());
    wacz::write(out.file_writer()?, parts, title.as_deref(), &created)?;
    Ok(counts)
}

#[cfg(not(feature = "wacz"))]
fn export_wacz(_: &Reading, _: Option<&Path>, _: &mut Output) -> Result<Counts, Failure> {
    Err(Failure::Usage(
        "this crawler was built without wacz export".into(),
    ))
}

/// What a WARC export writes beside the archive as it writes each record: the CDXJ
/// index, the Parquet table, WACZ's list of pages.
struct Beside<'a> {
    /// The WARC file's name, as the indexes name it.
    filename: String,
    cdxj: Option<cdxj::Sorter>,
    #[cfg(feature = "parquet")]
    table: Option<TableWriter<&'a mut BufWriter<tempfile::NamedTempFile>>>,
    /// `pages.jsonl`: a line per HTML page captured.
    pages: Option<&'a mut dyn Write>,
}

/// A line of WACZ's `pages.jsonl`.
#[derive(Serialize)]
struct PageLine<'a> {
    id: String,
    url: &'a str,
    ts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
}

impl Beside<'_> {
    /// A response or revisit record was written at `span`.
    fn record(
        &mut self,
        page: &PageRecord,
        span: Span,
        date_ms: u64,
        status: u16,
        revisit: bool,
    ) -> Result<(), Failure> {
        if let Some(sorter) = &mut self.cdxj {
            sorter.push(cdxj::line(&cdxj::Entry {
                url: &page.url,
                date_ms,
                mime: if revisit {
                    Some("warc/revisit")
                } else {
                    cdxj::mime_type(page)
                },
                status: Some(status),
                digest: cdxj::digest(page),
                offset: span.offset,
                length: span.length,
                filename: &self.filename,
            }))?;
        }
        let html = cdxj::mime_type(page).is_some_and(|mime| mime.contains("html"));
        if let Some(pages) = self.pages.as_mut().filter(|_| html && !revisit) {
            let line = PageLine {
                id: format!("{:x}", span.offset),
                url: &page.url,
                ts: crate::time::rfc3339_millis(date_ms),
                title: page.title.as_deref(),
            };
            serde_json::to_writer(&mut **pages, &line)?;
            pages.write_all(b"\n")?;
        }
        Ok(())
    }

    /// The page's row, with its response (or revisit) record's place.
    fn row(&mut self, page: &PageRecord, span: Option<Span>) -> Result<(), Failure> {
        #[cfg(feature = "parquet")]
        if let Some(table) = &mut self.table {
            table.push(&Row {
                page,
                warc: span.map(|span| (self.filename.as_str(), span)),
            })?;
        }
        #[cfg(not(feature = "parquet"))]
        let _ = (page, span);
        Ok(())
    }

    /// Writes the sorted index to `cdxj_out`, and the table's last row group and footer.
    fn finish(self, cdxj_out: Option<&mut (impl Write + ?Sized)>) -> Result<(), Failure> {
        if let (Some(sorter), Some(out)) = (self.cdxj, cdxj_out) {
            sorter.finish(out)?;
        }
        #[cfg(feature = "parquet")]
        if let Some(table) = self.table {
            table.finish()?;
        }
        Ok(())
    }
}

fn export_warc(
    reading: &Reading,
    path: Option<&Path>,
    out: &mut impl Write,
    beside: &mut Beside,
) -> Result<Counts, Failure> {
    let info = warc_info(reading.crawl, path)?;
    let mut warc = WarcWriter::new(out, &info)?;
    let mut counts = Counts {
        stores: reading.paths.to_vec(),
        ..Counts::default()
    };
    // With --since, the visits since then: a capture before it is left out (a revisit
    // since then refers to it).
    let since = reading.filter.fetched_since_ms.unwrap_or(0);
    let damaged = each_page_with_content(reading, true, |page, content| {
        if page.status.is_none() {
            counts.no_response += 1;
            return beside.row(&page, None);
        }
        let mut span = None;
        if page.captured_at_ms() >= since {
            let Some(exchange) = content.exchange else {
                counts.no_headers += 1;
                return beside.row(&page, None);
            };
            let payload = content.body.unwrap_or_default();
            let written = warc.write_capture(&Capture {
                url: &page.url,
                captured_at_ms: page.captured_at_ms(),
                exchange: &exchange,
                payload: &payload,
                truncated: truncation(&page, payload.len()),
            })?;
            let status = exchange.response.status;
            beside.record(&page, written, page.captured_at_ms(), status, false)?;
            span = Some(written);
        }
        let profile = match page.change {
            Some(Change::NotModified) => Some(Profile::ServerNotModified),
            Some(Change::Unchanged) => Some(Profile::IdenticalPayloadDigest),
            _ => None,
        };
        if let Some(profile) = profile {
            // The last visit's own heads; a store without them has no revisit to write.
            if let Some(exchange) = reading.crawl.visit_exchange(&page.url)? {
                let written = warc.write_revisit(&Revisit {
                    url: &page.url,
                    fetched_at_ms: page.fetched_at_ms,
                    captured_at_ms: page.captured_at_ms(),
                    profile,
                    payload_digest: page.digest.as_deref(),
                    exchange: &exchange,
                })?;
                let status = exchange.response.status;
                beside.record(&page, written, page.fetched_at_ms, status, true)?;
                span = span.or(Some(written));
                counts.revisits += 1;
            }
        }
        counts.pages += 1;
        beside.row(&page, span)
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
    let (crawl, filter) = (reading.crawl, reading.filter);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            for item in crawl.query(filter).with_content(with_bodies) {
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

/// The `warcinfo` record: the software, and the first store's name and crawl's User-Agent.
fn warc_info(crawl: &StoreUnion, path: Option<&Path>) -> Result<WarcInfo, Failure> {
    let Some(store) = crawl.stores().first() else {
        return Err(Failure::Usage("give the --store to export".into()));
    };
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

    /// The file being written, for formats that cannot go to standard output (`run`
    /// refuses them without -o).
    #[cfg(any(feature = "parquet", feature = "wacz"))]
    fn file_writer(&mut self) -> Result<&mut BufWriter<tempfile::NamedTempFile>, Failure> {
        match self {
            Output::File { writer, .. } => Ok(writer),
            Output::Stdout(_) => Err(Failure::Usage("this format needs -o FILE".into())),
        }
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
