//! `crawler ls`: one line per stored URL that the filters select.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use crawler_storage::PageRecord;

use super::reading::{fetched_at, open, outcome, page_filter};
use crate::args::{ListFormat, LsArgs};
use crate::escape::{escape, escaped};
use crate::Failure;

/// Columns of the JSON and CSV forms, in order.
const COLUMNS: [&str; 10] = [
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
];

pub fn run(args: LsArgs) -> Result<ExitCode, Failure> {
    let filter = page_filter(&args.filter)?;
    let format = match (args.format, args.json) {
        (Some(format), _) => format,
        (None, true) => ListFormat::Jsonl,
        (None, false) if io::stdout().is_terminal() => ListFormat::Table,
        (None, false) => ListFormat::Jsonl,
    };
    let store = open(&args.store)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    if format == ListFormat::Csv {
        writeln!(out, "{}", csv_header())?;
    }
    for page in store.query(&filter).take(args.limit.unwrap_or(usize::MAX)) {
        let page = page?;
        match format {
            ListFormat::Table => writeln!(
                out,
                "{:<18} {:>3} {:>9}  {}  {}",
                escape(&outcome(&page)),
                page.depth,
                page.bytes,
                escaped(&page.url),
                escaped(page.title.as_deref().unwrap_or(""))
            )?,
            ListFormat::Jsonl => {
                serde_json::to_writer(&mut out, &summary_json(&page))?;
                writeln!(out)?;
            }
            ListFormat::Csv => writeln!(out, "{}", csv_line(&page))?,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
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
    })
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
            ..PageRecord::new("http://a.test/", "a.test", 0)
        };
        let line = csv_line(&page);
        assert_eq!(line, "http://a.test/,a.test,200,,0,,0,\"A, B\",,");
        let json = summary_json(&page);
        assert_eq!(json.as_object().map(|o| o.len()), Some(COLUMNS.len()));
    }
}
