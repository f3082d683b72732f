//! `crawler ls`: one line per stored URL that the filters select.

use std::io::Write;
use std::process::ExitCode;

use crawler_storage::{PageFilter, PageRecord, StoreUnion};

use super::reading::{answer_from, fetched_at, outcome, page_filter};
use crate::args::{Column, ListFormat, LsArgs, SortKey};
use crate::escape::escape;
use crate::report::human_bytes;
use crate::screen::{Output, Screen};
use crate::table::{self, Align, Cell};
use crate::time::rfc3339_millis;
use crate::Failure;
use anstyle::{AnsiColor, Style};

/// Columns of the JSON and CSV forms, in order.
const COLUMNS: [&str; 15] = [
    "url",
    "host",
    "status",
    "error",
    "depth",
    "content_type",
    "bytes",
    "title",
    "from",
    "fetched_at",
    "via",
    "visits",
    "change",
    "digest",
    "captured_at",
];

pub fn run(args: LsArgs) -> Result<ExitCode, Failure> {
    // Bad flags are refused before the store is looked for.
    listing(&args, Screen::of_stdout())?;
    answer_from(&args.store, |store, out| answer(&args, store, out))
}

/// What the flags ask for, shown on `screen`: the filter, and the format.
fn listing(args: &LsArgs, screen: Screen) -> Result<(PageFilter, ListFormat), Failure> {
    let mut filter = page_filter(&args.filter)?;
    // A gone URL is no longer on the site: listed only when asked for (--gone).
    filter.gone.get_or_insert(false);
    let format = match (args.format, args.json) {
        (Some(format), _) => format,
        (None, true) => ListFormat::Jsonl,
        (None, false) if screen.terminal => ListFormat::Table,
        (None, false) => ListFormat::Jsonl,
    };
    if !args.columns.is_empty() && format != ListFormat::Table {
        return Err(Failure::Usage(
            "--columns chooses the table's columns; --format jsonl and csv have every field".into(),
        ));
    }
    Ok((filter, format))
}

/// `ls` on open stores read as one crawl (this process's, or a running crawl's one
/// store asked for it).
pub fn answer(args: &LsArgs, crawl: &StoreUnion, output: &mut Output) -> Result<(), Failure> {
    let (filter, format) = listing(args, output.screen)?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let matches = crawl.query(&filter);
    // Sorting needs every match; the index's order streams.
    let pages: Box<dyn Iterator<Item = Result<PageRecord, Failure>>> = match args.sort {
        None => Box::new(matches.map(|page| page.map_err(Failure::from))),
        Some(key) => {
            let mut pages = matches.collect::<Result<Vec<_>, _>>()?;
            sort(&mut pages, key);
            Box::new(pages.into_iter().map(Ok))
        }
    };
    let pages = pages.skip(args.offset).take(limit);
    let out = &mut output.out;
    match format {
        ListFormat::Table => {
            let pages = pages.collect::<Result<Vec<_>, _>>()?;
            let columns = if args.columns.is_empty() {
                DEFAULT_COLUMNS.to_vec()
            } else {
                args.columns.clone()
            };
            for line in table_lines(&pages, &columns, TableStyle::of(output.screen)) {
                writeln!(out, "{line}")?;
            }
        }
        ListFormat::Jsonl => {
            for page in pages {
                serde_json::to_writer(&mut *out, &summary_json(&page?))?;
                writeln!(out)?;
            }
        }
        ListFormat::Csv => {
            writeln!(out, "{}", csv_header())?;
            for page in pages {
                writeln!(out, "{}", csv_line(&page?))?;
            }
        }
    }
    Ok(())
}

/// `--sort`: URL and status ascending (no response last), size and time descending;
/// ties in URL order.
fn sort(pages: &mut [PageRecord], key: SortKey) {
    match key {
        SortKey::Url => pages.sort_by(|a, b| a.url.cmp(&b.url)),
        SortKey::Status => pages.sort_by(|a, b| {
            let status = |p: &PageRecord| p.status.unwrap_or(u16::MAX);
            status(a).cmp(&status(b)).then_with(|| a.url.cmp(&b.url))
        }),
        SortKey::Size => {
            pages.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.url.cmp(&b.url)))
        }
        SortKey::Fetched => pages.sort_by(|a, b| {
            (b.fetched_at_ms.cmp(&a.fetched_at_ms)).then_with(|| a.url.cmp(&b.url))
        }),
    }
}

/// The table's columns without `--columns`.
const DEFAULT_COLUMNS: [Column; 5] = [
    Column::Status,
    Column::Depth,
    Column::Size,
    Column::Url,
    Column::Title,
];

/// Where the table goes: how wide it may be, and whether it may be coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TableStyle {
    width: Option<usize>,
    colour: bool,
}

impl TableStyle {
    /// A terminal: its width, and colours if they may be used. Anything else: neither.
    fn of(screen: Screen) -> TableStyle {
        TableStyle {
            width: screen.width.filter(|_| screen.terminal),
            colour: screen.colour && screen.terminal,
        }
    }
}

/// The table of `pages`: a header row, then a line per page, every cell escaped.
fn table_lines(pages: &[PageRecord], columns: &[Column], style: TableStyle) -> Vec<String> {
    let headers: Vec<(&str, Align)> = columns.iter().map(|c| header(*c)).collect();
    let rows: Vec<Vec<Cell>> = pages
        .iter()
        .map(|page| columns.iter().map(|c| cell(page, *c)).collect())
        .collect();
    table::render(&headers, &rows, style.width, style.colour)
}

fn header(column: Column) -> (&'static str, Align) {
    match column {
        Column::Status => ("status", Align::Left),
        Column::Error => ("error", Align::Left),
        Column::Depth => ("depth", Align::Right),
        Column::Size => ("size", Align::Right),
        Column::Type => ("type", Align::Left),
        Column::Host => ("host", Align::Left),
        Column::Url => ("url", Align::Text),
        Column::Title => ("title", Align::Text),
        Column::From => ("from", Align::Text),
        Column::Fetched => ("fetched", Align::Left),
        Column::Via => ("via", Align::Left),
        Column::Visits => ("visits", Align::Right),
        Column::Change => ("change", Align::Left),
    }
}

fn cell(page: &PageRecord, column: Column) -> Cell {
    let text = |value: &Option<String>| escape(value.as_deref().unwrap_or(""));
    match column {
        Column::Status => Cell {
            text: escape(&outcome(page)),
            style: status_style(page),
        },
        Column::Error => Cell::plain(text(&page.error)),
        Column::Depth => Cell::plain(page.depth.to_string()),
        Column::Size => Cell::plain(human_bytes(page.bytes)),
        Column::Type => Cell::plain(text(&page.content_type)),
        Column::Host => Cell::plain(escape(&page.host)),
        Column::Url => Cell::plain(escape(&page.url)),
        Column::Title => Cell::plain(text(&page.title)),
        Column::From => Cell::plain(text(&page.from)),
        Column::Fetched => Cell::plain(fetched_at(page)),
        Column::Via => Cell::plain(via(page).to_owned()),
        Column::Visits => Cell::plain(page.visit_count().to_string()),
        Column::Change => Cell::plain(page.change.map_or("", |c| c.as_str()).to_owned()),
    }
}

/// The colour of a status class: 2xx green, 3xx cyan, 4xx yellow, 5xx and no
/// response red; an answer with an error kind (a body cut short) yellow.
fn status_style(page: &PageRecord) -> Style {
    let colour = match (page.status, &page.error) {
        (None, _) | (Some(500..=599), _) => AnsiColor::Red,
        (Some(_), Some(_)) | (Some(400..=499), _) => AnsiColor::Yellow,
        (Some(300..=399), None) => AnsiColor::Cyan,
        (Some(200..=299), None) => AnsiColor::Green,
        (Some(_), None) => return Style::new(),
    };
    Style::new().fg_color(Some(colour.into()))
}

/// The fields of [`COLUMNS`] as one JSON object (absent values are `null`).
pub fn summary_json(page: &PageRecord) -> serde_json::Value {
    serde_json::json!({
        "url": page.url,
        "host": page.host,
        "status": page.status,
        "error": page.error,
        "depth": page.depth,
        "content_type": page.content_type,
        "bytes": page.bytes,
        "title": page.title,
        "from": page.from,
        "fetched_at": (page.fetched_at_ms > 0).then(|| fetched_at(page)),
        "via": page.via,
        "visits": page.visit_count(),
        "change": page.change,
        "digest": page.digest,
        "captured_at": (page.fetched_at_ms > 0).then(|| rfc3339_millis(page.captured_at_ms())),
    })
}

/// How the page was reached; empty for a record from before that was kept.
fn via(page: &PageRecord) -> &'static str {
    page.via.map_or("", |via| via.as_str())
}

/// The header line of the CSV form (shared with `export --format csv`).
pub fn csv_header() -> String {
    COLUMNS.join(",")
}

/// One page as a line of the CSV form (shared with `export --format csv`).
pub fn csv_line(page: &PageRecord) -> String {
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    let fields = [
        page.url.clone(),
        page.host.clone(),
        page.status.map(|s| s.to_string()).unwrap_or_default(),
        optional(&page.error),
        page.depth.to_string(),
        optional(&page.content_type),
        page.bytes.to_string(),
        optional(&page.title),
        optional(&page.from),
        if page.fetched_at_ms > 0 {
            fetched_at(page)
        } else {
            String::new()
        },
        via(page).to_owned(),
        page.visit_count().to_string(),
        page.change.map_or("", |c| c.as_str()).to_owned(),
        optional(&page.digest),
        if page.fetched_at_ms > 0 {
            rfc3339_millis(page.captured_at_ms())
        } else {
            String::new()
        },
    ];
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}

/// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
///
/// A cell a spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`,
/// a tab or a carriage return: a title of `=HYPERLINK(..)`, say) gets a leading `'`
/// and quotes, as OWASP's CSV injection advice has it, so it is shown as text.
fn csv_field(value: &str) -> String {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula {
        format!("\"'{}\"", value.replace('"', "\"\""))
    } else if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, status: Option<u16>, bytes: u64, title: &str) -> PageRecord {
        PageRecord {
            status,
            error: status.is_none().then(|| "connect".to_owned()),
            bytes,
            title: Some(title.to_owned()),
            ..PageRecord::new(url, "a.test", 1)
        }
    }

    #[test]
    fn the_table_has_a_header_human_sizes_and_escaped_cells() {
        let pages = [
            page("http://a.test/", Some(200), 11_000, "Home"),
            page("http://a.test/x", None, 0, "\u{1b}[2Jowned"),
        ];
        let plain = TableStyle {
            width: None,
            colour: false,
        };
        let lines = table_lines(&pages, &DEFAULT_COLUMNS, plain);
        assert_eq!(
            lines,
            [
                "STATUS   DEPTH      SIZE  URL              TITLE",
                "200          1  10.7 KiB  http://a.test/   Home",
                "connect      1       0 B  http://a.test/x  \\x1b[2Jowned",
            ]
        );
        let chosen = table_lines(&pages, &[Column::Url, Column::Status], plain);
        assert_eq!(chosen[0], "URL              STATUS");
        let coloured = TableStyle {
            width: None,
            colour: true,
        };
        let lines = table_lines(&pages, &DEFAULT_COLUMNS, coloured);
        let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
        assert!(
            lines[1].starts_with(&format!("{}200", green.render())),
            "{lines:?}"
        );
    }

    #[test]
    fn sorting_puts_the_largest_first_and_no_response_last() {
        let mut pages = vec![
            page("http://a.test/b", Some(404), 10, ""),
            page("http://a.test/a", None, 0, ""),
            page("http://a.test/c", Some(200), 99, ""),
        ];
        let urls =
            |pages: &[PageRecord]| -> Vec<String> { pages.iter().map(|p| p.url.clone()).collect() };
        sort(&mut pages, SortKey::Size);
        assert_eq!(
            urls(&pages),
            ["http://a.test/c", "http://a.test/b", "http://a.test/a"]
        );
        sort(&mut pages, SortKey::Status);
        assert_eq!(
            urls(&pages),
            ["http://a.test/c", "http://a.test/b", "http://a.test/a"]
        );
        sort(&mut pages, SortKey::Url);
        assert_eq!(
            urls(&pages),
            ["http://a.test/a", "http://a.test/b", "http://a.test/c"]
        );
    }

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_evaluate_are_text() {
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
        assert_eq!(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_field("+1"), "\"'+1\"");
        assert_eq!(csv_field("-2+3"), "\"'-2+3\"");
        assert_eq!(csv_field("\t=1"), "\"'\t=1\"");
        assert_eq!(csv_field("\r=1"), "\"'\r=1\"");
        assert_eq!(csv_field("=\"x\""), "\"'=\"\"x\"\"\"");
        assert_eq!(csv_field("a=b"), "a=b");
    }

    #[test]
    fn csv_lines_have_one_field_per_column() {
        let page = PageRecord {
            status: Some(200),
            title: Some("A, B".into()),
            via: Some(crawler_storage::Via::Embed),
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        let line = csv_line(&page);
        assert_eq!(
            line,
            "http://a.test/,a.test,200,,0,,0,\"A, B\",,,embed,1,,,"
        );
        let json = summary_json(&page);
        assert_eq!(json.as_object().map(|o| o.len()), Some(COLUMNS.len()));
    }
}
