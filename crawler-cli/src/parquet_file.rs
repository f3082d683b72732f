//! `export --format parquet`: one row per page, in the columns of Common Crawl's flat
//! index table (`url_surtkey`, `fetch_status`, `content_digest`, ...) that a store can
//! fill, and our own (`depth`, `from`, `title`, ...).
//!
//! Written with the `parquet` crate's low-level column writers (no Arrow, whose build
//! is several times larger): rows are buffered one row group at a time
//! ([`ROW_GROUP_ROWS`]), so memory stays bounded whatever the store's size. Pages are
//! zstd-compressed.

use std::io::Write;
use std::sync::Arc;

use crawler_storage::PageRecord;
use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::parser::parse_message_type;

use crate::cdxj::{digest, mime_type};
use crate::surt::{public_suffix, registered_domain, surt};
use crate::warc::Span;

/// Rows per row group: about 10-20 MB of column data for typical pages, big enough
/// for scans to read whole zstd pages, small enough to buffer.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// One page's row: its record, and where its response record lies when the export
/// also wrote a WARC.
pub struct Row<'a> {
    pub page: &'a PageRecord,
    pub warc: Option<(&'a str, Span)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// Milliseconds since the Unix epoch, UTC.
    Time,
    Int16,
    Int32,
    Int64,
}

enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

/// A column: its name, type, and how a row fills it.
type Column = (&'static str, Kind, fn(&Row) -> Cell);

fn text(value: Option<&str>) -> Cell {
    Cell::Text(value.map(str::to_owned))
}

fn int(value: Option<impl TryInto<i64>>) -> Cell {
    Cell::Int(value.and_then(|v| v.try_into().ok()))
}

/// The columns, in file order; the first twenty are Common Crawl's names and meanings.
const COLUMNS: &[Column] = &[
    ("url_surtkey", Kind::Text, |r| Cell::Text(surt(&r.page.url))),
    ("url", Kind::Text, |r| text(Some(&r.page.url))),
    ("url_host_name", Kind::Text, |r| text(Some(host(r.page)))),
    ("url_host_tld", Kind::Text, |r| {
        text(host(r.page).rsplit('.').next().filter(|_| !is_address(r)))
    }),
    ("url_host_registered_domain", Kind::Text, |r| {
        text(registered_domain(host(r.page)))
    }),
    ("url_host_public_suffix", Kind::Text, |r| {
        text(public_suffix(host(r.page)))
    }),
    ("url_protocol", Kind::Text, |r| {
        text(r.page.url.split_once("://").map(|(scheme, _)| scheme))
    }),
    ("url_port", Kind::Int32, |r| int(port(r.page))),
    ("url_path", Kind::Text, |r| {
        text(Some(path_and_query(r.page).0))
    }),
    ("url_query", Kind::Text, |r| text(path_and_query(r.page).1)),
    ("fetch_time", Kind::Time, |r| {
        int((r.page.fetched_at_ms > 0).then_some(r.page.fetched_at_ms))
    }),
    ("fetch_status", Kind::Int16, |r| int(r.page.status)),
    ("fetch_redirect", Kind::Text, |r| {
        text(r.page.location.as_deref())
    }),
    ("content_digest", Kind::Text, |r| text(digest(r.page))),
    ("content_mime_type", Kind::Text, |r| {
        Cell::Text(mime_type(r.page).map(str::to_ascii_lowercase))
    }),
    ("content_charset", Kind::Text, |r| {
        Cell::Text(charset(r.page).map(|c| c.to_ascii_uppercase()))
    }),
    ("content_truncated", Kind::Text, |r| text(truncated(r.page))),
    ("warc_filename", Kind::Text, |r| {
        text(r.warc.map(|(name, _)| name))
    }),
    ("warc_record_offset", Kind::Int64, |r| {
        int(r.warc.map(|(_, span)| span.offset))
    }),
    ("warc_record_length", Kind::Int64, |r| {
        int(r.warc.map(|(_, span)| span.length))
    }),
    ("depth", Kind::Int32, |r| int(Some(r.page.depth))),
    ("from", Kind::Text, |r| text(r.page.from.as_deref())),
    ("error", Kind::Text, |r| text(r.page.error.as_deref())),
    ("title", Kind::Text, |r| text(r.page.title.as_deref())),
    ("outlinks", Kind::Int32, |r| int(Some(r.page.outlinks))),
    ("bytes", Kind::Int64, |r| int(Some(r.page.bytes))),
    ("fetch_ms", Kind::Int64, |r| int(Some(r.page.fetch_ms))),
    ("visits", Kind::Int32, |r| int(Some(r.page.visit_count()))),
];

/// The host without the port (`PageRecord::host` keeps a non-default one).
fn host(page: &PageRecord) -> &str {
    match page.host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => page.host.split(':').next().unwrap_or(&page.host),
    }
}

fn is_address(row: &Row) -> bool {
    host(row.page).parse::<std::net::IpAddr>().is_ok()
}

fn port(page: &PageRecord) -> Option<u16> {
    url::Url::parse(&page.url).ok()?.port_or_known_default()
}

/// The path, and the query without its `?`.
fn path_and_query(page: &PageRecord) -> (&str, Option<&str>) {
    let rest = page.url.split_once("://").map_or("", |(_, rest)| rest);
    let rest = rest.split('#').next().unwrap_or(rest);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    }
}

/// The `charset` parameter of `Content-Type`.
fn charset(page: &PageRecord) -> Option<&str> {
    let value = page.content_type.as_deref()?;
    value.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// Why the body is not whole: the error that cut it short, as `content_truncated`.
fn truncated(page: &PageRecord) -> Option<&str> {
    match page.error.as_deref()? {
        "body-too-large" => Some("length"),
        "timeout" => Some("time"),
        "read" => Some("disconnect"),
        _ => None,
    }
}

/// The message type of [`COLUMNS`].
fn schema() -> String {
    let mut schema = String::from("message crawl {\n");
    for (name, kind, _) in COLUMNS {
        let field = match kind {
            Kind::Text => "binary {} (STRING)",
            Kind::Time => "int64 {} (TIMESTAMP(MILLIS,true))",
            Kind::Int16 => "int32 {} (INTEGER(16,true))",
            Kind::Int32 => "int32 {}",
            Kind::Int64 => "int64 {}",
        };
        schema.push_str("  optional ");
        schema.push_str(&field.replace("{}", name));
        schema.push_str(";\n");
    }
    schema.push('}');
    schema
}

/// One column's values for the row group being filled; `defs` is 1 for a value, 0
/// for a null.
enum Buffer {
    Text(Vec<ByteArray>, Vec<i16>),
    Int32(Vec<i32>, Vec<i16>),
    Int64(Vec<i64>, Vec<i16>),
}

/// Writes rows to a Parquet file; [`TableWriter::finish`] writes the footer.
pub struct TableWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    buffers: Vec<Buffer>,
    rows: usize,
}

impl<W: Write + Send> TableWriter<W> {
    pub fn new(out: W) -> Result<TableWriter<W>, ParquetError> {
        let schema = Arc::new(parse_message_type(&schema())?);
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_created_by(format!("crawler {}", env!("CARGO_PKG_VERSION")))
            .build();
        let buffers = COLUMNS
            .iter()
            .map(|(_, kind, _)| match kind {
                Kind::Text => Buffer::Text(Vec::new(), Vec::new()),
                Kind::Int16 | Kind::Int32 => Buffer::Int32(Vec::new(), Vec::new()),
                Kind::Time | Kind::Int64 => Buffer::Int64(Vec::new(), Vec::new()),
            })
            .collect();
        Ok(TableWriter {
            file: SerializedFileWriter::new(out, schema, Arc::new(properties))?,
            buffers,
            rows: 0,
        })
    }

    pub fn push(&mut self, row: &Row) -> Result<(), ParquetError> {
        for ((_, _, fill), buffer) in COLUMNS.iter().zip(&mut self.buffers) {
            match (fill(row), buffer) {
                (Cell::Text(value), Buffer::Text(values, defs)) => {
                    defs.push(i16::from(value.is_some()));
                    values.extend(value.map(|v| ByteArray::from(v.into_bytes())));
                }
                (Cell::Int(value), Buffer::Int32(values, defs)) => {
                    let value = value.and_then(|v| i32::try_from(v).ok());
                    defs.push(i16::from(value.is_some()));
                    values.extend(value);
                }
                (Cell::Int(value), Buffer::Int64(values, defs)) => {
                    defs.push(i16::from(value.is_some()));
                    values.extend(value);
                }
                _ => {
                    return Err(ParquetError::General(
                        "a column's cell has the wrong type".into(),
                    ))
                }
            }
        }
        self.rows += 1;
        if self.rows == ROW_GROUP_ROWS {
            self.flush_row_group()?;
        }
        Ok(())
    }

    fn flush_row_group(&mut self) -> Result<(), ParquetError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.file.next_row_group()?;
        for buffer in &mut self.buffers {
            let Some(mut column) = group.next_column()? else {
                return Err(ParquetError::General(
                    "fewer columns than the schema".into(),
                ));
            };
            match buffer {
                Buffer::Text(values, defs) => write::<ByteArrayType>(&mut column, values, defs)?,
                Buffer::Int32(values, defs) => write::<Int32Type>(&mut column, values, defs)?,
                Buffer::Int64(values, defs) => write::<Int64Type>(&mut column, values, defs)?,
            }
            column.close()?;
        }
        group.close()?;
        self.rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the output.
    pub fn finish(mut self) -> Result<W, ParquetError> {
        self.flush_row_group()?;
        self.file.into_inner()
    }
}

/// Writes a column's buffered values and empties the buffers.
fn write<T: DataType>(
    column: &mut SerializedColumnWriter<'_>,
    values: &mut Vec<T::T>,
    defs: &mut Vec<i16>,
) -> Result<(), ParquetError> {
    column.typed::<T>().write_batch(values, Some(defs), None)?;
    values.clear();
    defs.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parses() {
        parse_message_type(&schema()).unwrap();
    }

    #[test]
    fn urls_split_into_columns() {
        let page = PageRecord {
            content_type: Some("text/html; Charset=\"utf-8\"".into()),
            digest: Some("sha1:ABC".into()),
            ..PageRecord::new("http://h0.test:8080/a/b?x=1#f", "h0.test:8080", 0)
        };
        assert_eq!(host(&page), "h0.test");
        assert_eq!(port(&page), Some(8080));
        assert_eq!(path_and_query(&page), ("/a/b", Some("x=1")));
        assert_eq!(mime_type(&page), Some("text/html"));
        assert_eq!(charset(&page), Some("utf-8"));
        assert_eq!(digest(&page), Some("ABC"));
        let page = PageRecord::new("http://[::1]:81", "[::1]:81", 0);
        assert_eq!(host(&page), "::1");
        assert_eq!(path_and_query(&page), ("/", None));
    }

    #[test]
    fn row_groups_are_bounded() {
        let mut writer = TableWriter::new(Vec::new()).unwrap();
        let page = PageRecord::new("http://a.test/", "a.test", 0);
        for _ in 0..ROW_GROUP_ROWS + 1 {
            writer
                .push(&Row {
                    page: &page,
                    warc: None,
                })
                .unwrap();
        }
        let file = writer.finish().unwrap();
        let file = tempfile::tempfile_in(std::env::temp_dir()).and_then(|mut f| {
            f.write_all(&file)?;
            Ok(f)
        });
        use parquet::file::reader::FileReader;
        let reader =
            parquet::file::serialized_reader::SerializedFileReader::new(file.unwrap()).unwrap();
        let metadata = reader.metadata();
        assert_eq!(metadata.num_row_groups(), 2);
        assert_eq!(
            metadata.file_metadata().num_rows(),
            ROW_GROUP_ROWS as i64 + 1
        );
    }
}
