//! Exports for data tools: a Parquet table that pyarrow reads back, a CDXJ index whose
//! every line frames exactly one WARC record (checked with warcio and the `surt`
//! package pywb uses), and a WACZ that the `wacz` package's validator accepts.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crawler_tests::{run, Crawled, Workspace};
use serde_json::Value;

use crate::exports::{crawled, export, python_json, python_with};
use crate::revisits::revisited;
use crate::CRAWLER;

/// The rows of a Parquet file as pyarrow reads them, its column types and row
/// groups; `None` without pyarrow.
fn read_parquet(file: &Path) -> Option<Value> {
    let python = python_with("pyarrow", "the Parquet check by pyarrow")?;
    Some(python_json(&python, READ_PARQUET, &[file]))
}

const READ_PARQUET: &str = r#"
import json, sys
import pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
table = f.read()
meta = f.metadata
print(json.dumps({
    'row_groups': meta.num_row_groups,
    'compression': meta.row_group(0).column(0).compression if meta.num_row_groups else None,
    'types': {field.name: str(field.type) for field in table.schema},
    'rows': table.to_pylist(),
}, default=str))
"#;

/// The rows of `ls --json`, by URL.
fn ls_rows(c: &Crawled, filter: &[&str]) -> BTreeMap<String, Value> {
    c.query("ls", &[&["--json"], filter].concat())
        .json_lines()
        .into_iter()
        .map(|page| (page["url"].as_str().unwrap().to_owned(), page))
        .collect()
}

fn rows_by_url(table: &Value) -> BTreeMap<String, Value> {
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["url"].as_str().unwrap().to_owned(), row.clone()))
        .collect()
}

#[test]
fn parquet_export_reads_back_in_pyarrow_with_what_ls_and_get_show() {
    let c = crawled();
    let (server, ws) = (c.server(), c.workspace());
    let file = ws.path("crawl.parquet");
    let out = export(&c, &["parquet", "-o", file.to_str().unwrap()]);
    let listed = ls_rows(&c, &[]);
    assert!(
        out.stderr()
            .contains(&format!("exported {} pages", listed.len())),
        "{}",
        out.stderr()
    );
    let Some(table) = read_parquet(&file) else {
        return;
    };
    assert_eq!(table["compression"], "ZSTD");
    assert_eq!(table["row_groups"], 1);
    let types = &table["types"];
    assert_eq!(types["url_surtkey"], "string");
    assert_eq!(types["fetch_time"], "timestamp[ms, tz=UTC]");
    assert_eq!(types["fetch_status"], "int16");
    assert_eq!(types["bytes"], "int64");
    let rows = rows_by_url(&table);
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        listed.keys().collect::<Vec<_>>()
    );

    let root = server.url("h1.test", "/");
    let row = &rows[&root];
    let record = c.record(&root);
    assert_eq!(row["fetch_status"], record["status"]);
    assert_eq!(row["title"], record["title"]);
    assert_eq!(row["title"], "Host 1 page 0");
    assert_eq!(
        format!("sha1:{}", row["content_digest"].as_str().unwrap()),
        record["digest"].as_str().unwrap()
    );
    let content_type = record["content_type"].as_str().unwrap();
    assert!(
        content_type.starts_with(row["content_mime_type"].as_str().unwrap()),
        "{content_type} {row}"
    );
    assert_eq!(row["content_mime_type"], "text/html");
    assert_eq!(row["url_host_name"], "h1.test");
    assert_eq!(row["url_host_registered_domain"], "h1.test");
    assert_eq!(row["url_port"], server.port());
    assert_eq!(
        row["url_surtkey"],
        format!("test,h1:{})/", server.port()).as_str()
    );
    assert_eq!(row["outlinks"], record["outlinks"]);
    assert_eq!(row["depth"], record["depth"]);
    assert!(row["warc_filename"].is_null(), "{row}");
    let big = &rows[&server.url("h0.test", "/_fixture/big/200000")];
    assert_eq!(big["error"], "body-too-large");
    assert_eq!(big["content_truncated"], "length");

    // The filters of `ls` select the rows.
    for filter in [&["--host", "h1.test"][..], &["--status", "404"]] {
        let file = ws.path("filtered.parquet");
        let flags = [&["parquet", "-o", file.to_str().unwrap()], filter].concat();
        export(&c, &flags);
        let rows = rows_by_url(&read_parquet(&file).unwrap());
        let listed = ls_rows(&c, filter);
        assert!(!listed.is_empty() && listed.len() < 20, "{filter:?}");
        assert_eq!(
            rows.keys().collect::<Vec<_>>(),
            listed.keys().collect::<Vec<_>>(),
            "{filter:?}"
        );
    }
}

/// Checks every line of a CDXJ index against the WARC it indexes: the lines are
/// sorted, each key is what the `surt` package makes of the URL, and each offset and
/// length frame exactly one gzip member holding one record for that URL.
const CHECK_CDXJ: &str = r#"
import io, json, sys, zlib
from surt import surt
from warcio.archiveiterator import ArchiveIterator
data = open(sys.argv[1], 'rb').read()
lines = open(sys.argv[2], encoding='utf-8').read().splitlines()
assert lines == sorted(lines), 'the lines are not sorted'
out = []
for line in lines:
    key, ts, fields = line.split(' ', 2)
    fields = json.loads(fields)
    offset, length = int(fields['offset']), int(fields['length'])
    member = data[offset:offset + length]
    d = zlib.decompressobj(31)
    d.decompress(member)
    assert d.eof and not d.unused_data, 'not exactly one gzip member: ' + line
    records = list(ArchiveIterator(io.BytesIO(member), check_digests='raise'))
    assert len(records) == 1, line
    h = records[0].rec_headers
    out.append({'key': key, 'surt': surt(fields['url']), 'timestamp': ts, 'fields': fields,
                'type': records[0].rec_type, 'uri': h.get_header('WARC-Target-URI'),
                'date': h.get_header('WARC-Date')})
print(json.dumps(out))
"#;

#[test]
fn cdxj_beside_a_warc_export_frames_each_record_and_parquet_points_at_it() {
    let c = crawled();
    let ws = c.workspace();
    let (warc, cdxj, parquet) = (
        ws.path("crawl.warc.gz"),
        ws.path("crawl.cdxj"),
        ws.path("crawl.parquet"),
    );
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let out = export(
        &c,
        &[
            "warc",
            "-o",
            &path(&warc),
            "--cdxj",
            &path(&cdxj),
            "--parquet",
            &path(&parquet),
        ],
    );
    let said = format!(
        "; indexed in {}; indexed in {}",
        cdxj.display(),
        parquet.display()
    );
    assert!(out.stderr().contains(&said), "{}", out.stderr());
    let Some(python) = python_with("surt", "the CDXJ check by warcio and surt") else {
        return;
    };
    let lines = python_json(&python, CHECK_CDXJ, &[&warc, &cdxj]);
    let lines = lines.as_array().unwrap();
    let with_response = ls_rows(&c, &[])
        .values()
        .filter(|page| page["status"].is_u64())
        .count();
    assert_eq!(lines.len(), with_response);
    for line in lines {
        assert_eq!(line["key"], line["surt"], "{line}");
        assert_eq!(line["type"], "response", "{line}");
        assert_eq!(line["uri"], line["fields"]["url"], "{line}");
        assert_eq!(line["fields"]["filename"], "crawl.warc.gz");
        let date: String = line["date"]
            .as_str()
            .unwrap()
            .chars()
            .filter(char::is_ascii_digit)
            .take(14)
            .collect();
        assert_eq!(line["timestamp"], date.as_str(), "{line}");
    }

    let rows = rows_by_url(&read_parquet(&parquet).unwrap());
    for line in lines {
        let row = &rows[line["fields"]["url"].as_str().unwrap()];
        assert_eq!(row["warc_filename"], "crawl.warc.gz");
        assert_eq!(
            row["warc_record_offset"].to_string(),
            line["fields"]["offset"].as_str().unwrap()
        );
        assert_eq!(
            row["warc_record_length"].to_string(),
            line["fields"]["length"].as_str().unwrap()
        );
        assert_eq!(row["url_surtkey"], line["key"]);
    }
}

/// A recrawl's revisit records are indexed too, after the capture they refer to.
#[test]
fn cdxj_indexes_revisit_records_after_their_captures() {
    let ws = Workspace::new();
    let store = revisited(&ws);
    let (warc, cdxj) = (ws.path("recrawl.warc.gz"), ws.path("recrawl.cdxj"));
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let args = [
        "export",
        "--store",
        &store,
        "-o",
        &path(&warc),
        "--cdxj",
        &path(&cdxj),
    ];
    run(CRAWLER, &args).success();
    let Some(python) = python_with("surt", "the CDXJ check by warcio and surt") else {
        return;
    };
    let lines = python_json(&python, CHECK_CDXJ, &[&warc, &cdxj]);
    let described: Vec<String> = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            assert_eq!(line["key"], line["surt"], "{line}");
            assert_eq!(line["uri"], line["fields"]["url"], "{line}");
            let fields = &line["fields"];
            format!(
                "{} {} {} {} {}",
                line["key"].as_str().unwrap(),
                line["timestamp"].as_str().unwrap(),
                line["type"].as_str().unwrap(),
                fields["mime"].as_str().unwrap(),
                fields["status"].as_str().unwrap()
            )
        })
        .collect();
    // The first visit at 2027-01-15T08:00:00Z, the second an hour later.
    assert_eq!(
        described,
        [
            "test,a)/changed 20270115090000 response text/html 200",
            "test,a)/gone 20270115090000 response text/html 404",
            "test,a)/kept 20270115080000 response text/html 200",
            "test,a)/kept 20270115090000 revisit warc/revisit 304",
            "test,a)/once 20270115080000 response text/html 200",
            "test,a)/same 20270115080000 response text/html 200",
            "test,a)/same 20270115090000 revisit warc/revisit 200",
        ]
    );
}

/// What a WACZ holds: each entry's compression, the index's lines, the pages.
const READ_WACZ: &str = r#"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({
    'entries': {i.filename: i.compress_type for i in z.infolist()},
    'index': z.read('indexes/index.cdx').decode().splitlines(),
    'pages': [json.loads(l) for l in z.read('pages/pages.jsonl').decode().splitlines()],
    'package': json.loads(z.read('datapackage.json')),
}))
"#;

#[test]
fn wacz_export_passes_the_wacz_validator() {
    let c = crawled();
    let (server, ws) = (c.server(), c.workspace());
    let file = ws.path("crawl.wacz");
    export(&c, &["wacz", "-o", file.to_str().unwrap()]);
    let Some(python) = python_with("wacz", "the WACZ check by `wacz validate`") else {
        return;
    };
    let validate = Command::new(&python)
        .args(["-m", "wacz", "validate", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&validate.stdout);
    assert!(
        validate.status.success() && said.contains("Validation succeeded"),
        "{said}\n{}",
        String::from_utf8_lossy(&validate.stderr)
    );

    let wacz = python_json(&python, READ_WACZ, &[&file]);
    assert_eq!(wacz["package"]["wacz_version"], "1.1.1");
    let entries = wacz["entries"].as_object().unwrap();
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        [
            "archive/data.warc.gz",
            "datapackage-digest.json",
            "datapackage.json",
            "indexes/index.cdx",
            "pages/pages.jsonl"
        ]
    );
    assert!(entries.values().all(|method| method == 0), "all stored");
    let with_response = ls_rows(&c, &[])
        .values()
        .filter(|page| page["status"].is_u64())
        .count();
    assert_eq!(wacz["index"].as_array().unwrap().len(), with_response);
    let pages = wacz["pages"].as_array().unwrap();
    assert_eq!(pages[0]["format"], "json-pages-1.0");
    let root = server.url("h1.test", "/");
    let page = pages.iter().find(|p| p["url"] == root.as_str()).unwrap();
    assert_eq!(page["title"], "Host 1 page 0");
}

#[test]
fn data_formats_that_cannot_stream_or_index_nothing_are_usage_errors() {
    let c = crawled();
    for (flags, says) in [
        (&["--format", "parquet"][..], "give -o FILE"),
        (&["--format", "wacz"], "give -o FILE"),
        (
            &["--format", "jsonl", "--cdxj", "x.cdxj"],
            "--cdxj indexes a WARC",
        ),
        (
            &["--format", "warc", "--parquet", "x.parquet"],
            "--parquet indexes a WARC",
        ),
    ] {
        let out = c.try_query("export", flags);
        assert_eq!(out.code(), Some(2), "{flags:?}: {}", out.stderr());
        assert!(out.stderr().contains(says), "{flags:?}: {}", out.stderr());
    }
}
