//! Exports: JSON lines that parse, and a WARC 1.1 file that an independent reader
//! (Python's `warcio`) reads back with every digest verified and every payload equal
//! to what the fixture server sends.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use crawler_tests::{run, Crawled, FixtureServer, Run, Scenario, WebConfig, Workspace};
use serde_json::Value;

use crate::CRAWLER;

/// Special endpoints crawled besides the synthetic web.
const SPECIALS: [&str; 5] = [
    "/_fixture/status/404",
    "/_fixture/redirect/1",
    "/_fixture/binary",
    "/_fixture/gzip-big/30000",
    "/_fixture/big/200000",
];

pub(crate) fn crawled() -> Crawled {
    let scenario = Scenario::web(WebConfig {
        hosts: 2,
        pages: 8,
        page_bytes: 4_000,
        ..WebConfig::default()
    });
    let server = scenario.server();
    let mut seeds = server.seeds();
    seeds.extend(SPECIALS.iter().map(|p| server.url("h0.test", p)));
    scenario
        .seeds(seeds)
        .flags(&[
            "--per-host-rate",
            "0",
            "--max-body",
            "100K",
            "--retries",
            "0",
        ])
        .crawl()
}

/// What the server sends for `url`, fetched over a raw socket: the status, the
/// headers (names lowercased) and the body (gunzipped when it came gzipped).
pub(crate) fn fetch_raw(
    server: &FixtureServer,
    url: &str,
) -> (u16, BTreeMap<String, String>, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let host = authority.split(':').next().unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let mut body = response[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: BTreeMap<String, String> = lines
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    if headers.get("content-encoding").map(String::as_str) == Some("gzip") {
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut decoded)
            .unwrap();
        body = decoded;
    }
    (status, headers, body)
}

/// `crawler export --store STORE --format ARGS...`, which must succeed.
pub(crate) fn export(crawled: &Crawled, format_and_flags: &[&str]) -> Run {
    let mut args = vec!["--format"];
    args.extend_from_slice(format_and_flags);
    crawled.query("export", &args)
}

#[test]
fn jsonl_export_is_one_parseable_object_per_selected_page() {
    let c = crawled();
    let (server, ws) = (c.server(), c.workspace());
    let lines = export(&c, &["jsonl"]).json_lines();
    let urls: BTreeSet<&str> = lines.iter().map(|l| l["url"].as_str().unwrap()).collect();
    let logged: BTreeSet<String> = server
        .log()
        .iter()
        .filter(|r| r.path != "/robots.txt")
        .map(|r| server.url(&r.host, &r.path))
        .collect();
    assert_eq!(urls.len(), lines.len());
    assert_eq!(urls, logged.iter().map(String::as_str).collect());
    for line in &lines {
        assert!(line.get("body").is_none(), "no body without --with-body");
        if line["status"].is_u64() && line["error"].is_null() {
            assert_eq!(line["http"]["response"]["status"], line["status"]);
        }
    }
    let root = server.url("h1.test", "/");
    let root_line = lines.iter().find(|l| l["url"] == root.as_str()).unwrap();
    assert_eq!(root_line["title"], "Host 1 page 0");
    let links: Vec<&str> = root_line["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        links,
        crawler_fixtures::synthetic_outlinks(server.web(), 1, 0, server.port())
    );

    // To a file, filtered, with bodies exactly as served.
    let file = ws.path("h1.jsonl");
    let out = export(
        &c,
        &[
            "jsonl",
            "--with-body",
            "--host",
            "h1.test",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.stdout().is_empty());
    assert!(
        out.stderr().contains("exported 8 pages"),
        "{}",
        out.stderr()
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 8);
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        let url = value["url"].as_str().unwrap();
        let (_, _, body) = fetch_raw(server, url);
        assert_eq!(value["body"].as_str().unwrap().as_bytes(), body, "{url}");
    }
    let binary = export(
        &c,
        &[
            "jsonl",
            "--with-body",
            "--content-type",
            "application/octet-stream",
        ],
    )
    .json();
    let (_, _, body) = fetch_raw(server, &server.url("h0.test", "/_fixture/binary"));
    assert_eq!(
        STANDARD
            .decode(binary["body_base64"].as_str().unwrap())
            .unwrap(),
        body
    );
}

/// A Python with `warcio`: see [`python_with`].
fn warcio_python() -> Option<PathBuf> {
    python_with("warcio", "the WARC check by warcio")
}

/// A Python that imports `module`: `CRAWLER_TEST_PYTHON`, the venv `.ci/run` makes
/// under `target/`, or `python3`. `None` (with a notice that `check` is skipped) when
/// there is none, except on CI, where `.ci/run` installs it.
pub(crate) fn python_with(module: &str, check: &str) -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/warcio-venv/bin/python");
    let candidates = std::env::var_os("CRAWLER_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv, PathBuf::from("python3")]);
    for python in candidates {
        let works = Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if works {
            return Some(python);
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{module} is required on CI: .ci/run installs it into target/warcio-venv"
    );
    eprintln!(
        "NOTICE: skipping {check}: no Python with {module} found \
         (python3 -m venv target/warcio-venv && target/warcio-venv/bin/pip install {module})"
    );
    None
}

/// What [`READ_WARC`] says of `file`, which warcio must read; `None` without warcio
/// (see [`warcio_python`]).
pub(crate) fn read_warc(file: &Path) -> Option<Value> {
    let python = warcio_python()?;
    Some(python_json(&python, READ_WARC, &[file]))
}

/// Runs `script` with `args`, which must succeed and print JSON.
pub(crate) fn python_json(python: &Path, script: &str, args: &[&Path]) -> Value {
    let out = Command::new(python)
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Python check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Reads a WARC file with warcio, verifying every digest, and describes each record;
/// also counts the file's gzip members.
const READ_WARC: &str = r#"
import base64, json, sys, zlib
from warcio.archiveiterator import ArchiveIterator

data = open(sys.argv[1], 'rb').read()
members = 0
while data:
    d = zlib.decompressobj(31)
    d.decompress(data)
    assert d.eof, 'a gzip member is cut short'
    data = d.unused_data
    members += 1

records = []
with open(sys.argv[1], 'rb') as f:
    for record in ArchiveIterator(f, check_digests='raise'):
        h = record.rec_headers
        out = {name: h.get_header(name) for name in [
            'WARC-Type', 'WARC-Record-ID', 'WARC-Target-URI', 'WARC-Date',
            'WARC-Concurrent-To', 'WARC-Warcinfo-ID', 'WARC-Truncated',
            'WARC-Payload-Digest', 'WARC-Filename', 'WARC-Profile', 'WARC-Refers-To',
            'WARC-Refers-To-Target-URI', 'WARC-Refers-To-Date']}
        out['rec_type'] = record.rec_type
        out['version'] = h.protocol
        if record.http_headers is not None:
            out['statusline'] = record.http_headers.statusline
            out['protocol'] = record.http_headers.protocol
            out['headers'] = record.http_headers.headers
        payload = record.raw_stream.read()
        out['payload'] = base64.b64encode(payload).decode()
        out['digests'] = record.digest_checker.passed
        records.append(out)
print(json.dumps({'members': members, 'records': records}))
"#;

#[test]
fn warc_export_reads_back_in_warcio_with_the_payloads_the_server_sent() {
    let c = crawled();
    let (server, ws) = (c.server(), c.workspace());
    let file = ws.path("crawl.warc.gz");
    let out = export(&c, &["warc", "-o", file.to_str().unwrap()]);
    let pages = server
        .log()
        .iter()
        .filter(|r| r.path != "/robots.txt")
        .count();
    assert!(
        out.stderr().contains(&format!("exported {pages} pages")),
        "{}",
        out.stderr()
    );
    let Some(result) = read_warc(&file) else {
        return;
    };
    let records = result["records"].as_array().unwrap();
    assert_eq!(
        result["members"],
        records.len(),
        "one gzip member per record"
    );
    assert_eq!(records.len(), 1 + 2 * pages);

    let info = &records[0];
    assert_eq!(info["WARC-Type"], "warcinfo");
    assert_eq!(info["version"], "WARC/1.1");
    assert_eq!(info["WARC-Filename"], "crawl.warc.gz");
    let fields =
        String::from_utf8(STANDARD.decode(info["payload"].as_str().unwrap()).unwrap()).unwrap();
    assert!(fields.contains("software: crawler/"), "{fields}");
    assert!(
        fields.contains("http-header-user-agent: crawler/"),
        "{fields}"
    );

    let mut ids = BTreeSet::new();
    let mut responses = BTreeMap::new();
    for pair in records[1..].chunks(2) {
        let (response, request) = (&pair[0], &pair[1]);
        assert_eq!(response["WARC-Type"], "response");
        assert_eq!(request["WARC-Type"], "request");
        assert_eq!(response["digests"], true, "{response}");
        assert_eq!(request["digests"], true, "{request}");
        assert_eq!(request["WARC-Concurrent-To"], response["WARC-Record-ID"]);
        assert_eq!(request["WARC-Target-URI"], response["WARC-Target-URI"]);
        for record in pair {
            assert_eq!(record["WARC-Warcinfo-ID"], info["WARC-Record-ID"]);
            assert!(ids.insert(record["WARC-Record-ID"].as_str().unwrap().to_owned()));
        }
        let url = response["WARC-Target-URI"].as_str().unwrap().to_owned();
        responses.insert(url, (response.clone(), request.clone()));
    }

    for (url, (response, request)) in &responses {
        let (status, headers, body) = fetch_raw(server, url);
        let statusline = response["statusline"].as_str().unwrap();
        assert!(
            statusline.starts_with(&status.to_string()),
            "{url}: {statusline}"
        );
        let payload = STANDARD
            .decode(response["payload"].as_str().unwrap())
            .unwrap();
        let header = |name: &str| {
            response["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
                .map(|h| h[1].as_str().unwrap().to_owned())
        };
        assert_eq!(
            header("content-type"),
            headers.get("content-type").cloned(),
            "{url}"
        );
        if url.ends_with("/_fixture/big/200000") {
            assert!(payload.is_empty());
            assert_eq!(response["WARC-Truncated"], "length");
        } else {
            assert_eq!(payload, body, "{url}: the payload is what the server sent");
            assert!(response["WARC-Truncated"].is_null(), "{url}");
        }
        if url.contains("gzip-big") {
            assert_eq!(
                header("content-encoding"),
                None,
                "the payload is stored decoded"
            );
        }

        let authority_and_path = &url["http://".len()..];
        let (authority, path) = authority_and_path.split_at(authority_and_path.find('/').unwrap());
        assert_eq!(request["protocol"], "GET");
        assert_eq!(request["statusline"], format!("{path} HTTP/1.1"));
        let request_header = |name: &str| {
            request["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h[0] == name)
                .map(|h| h[1].as_str().unwrap().to_owned())
        };
        assert_eq!(request_header("host").as_deref(), Some(authority));
        assert!(request_header("user-agent")
            .unwrap()
            .starts_with("crawler/"));
    }
}

#[test]
fn a_warc_export_with_the_bodies_flag_is_refused() {
    let ws = Workspace::new();
    let store = ws.store();
    let out = run(
        CRAWLER,
        &[
            "export",
            "--store",
            store.to_str().unwrap(),
            "--format",
            "warc",
            "--with-body",
        ],
    );
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    assert!(out.stderr().contains("--with-body"), "{}", out.stderr());
}
