//! What the query commands show of a recrawl: `ls --changed-since` and `--gone`,
//! `get --history` and `--version`, `stats`' revisit figures, the revisit fields of
//! the JSON and CSV exports, and WARC `revisit` records that an independent reader
//! (warcio) reads back.
//!
//! The store is written through the storage library as a recrawl writes it (a first
//! visit of each page, then a second one that found it unchanged, changed or gone), so
//! that each command is judged on visits whose times and outcomes are known.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use crawler_storage::{
    payload_digest, Change, HttpExchange, PageRecord, PageWrite, RequestHead, ResponseHead,
    Revisit, Store, StoreOptions,
};
use crawler_tests::{run, Run, Scenario, WebConfig, Workspace};
use serde_json::Value;

use crawler_fixtures::news::{self, NEWS_PAGES};
use crawler_fixtures::NEWS_HOST;

use crate::exports::read_warc;
use crate::recrawl::news_site_crawled_then_edited;
use crate::CRAWLER;

/// The first visit of every page: 2027-01-15T08:00:00Z.
const FIRST: u64 = 1_800_000_000_000;
/// The second visit: an hour and 250 ms later.
const SECOND: u64 = FIRST + 3_600_250;

/// The pages and what their second visit found (`None`: visited once).
const PAGES: [(&str, Option<Change>); 5] = [
    ("http://a.test/kept", Some(Change::NotModified)),
    ("http://a.test/same", Some(Change::Unchanged)),
    ("http://a.test/changed", Some(Change::Changed)),
    ("http://a.test/gone", Some(Change::Gone)),
    ("http://a.test/once", None),
];

fn url(path: &str) -> String {
    format!("http://a.test/{path}")
}

fn heads(path: &str, status: u16, reason: &str, etag: &str) -> HttpExchange {
    HttpExchange {
        request: RequestHead {
            method: "GET".into(),
            target: format!("/{path}"),
            version: "HTTP/1.1".into(),
            headers: vec![("host".into(), "a.test".into())],
        },
        response: ResponseHead {
            version: "HTTP/1.1".into(),
            status,
            reason: reason.into(),
            headers: vec![
                ("content-type".into(), "text/html".into()),
                ("etag".into(), etag.into()),
            ],
        },
    }
}

/// Writes one visit of `url` as a recrawl would (keeping 2 bodies per URL), applied
/// before the next one replaces it.
fn visit(store: &Store, page: &PageRecord, body: &[u8], exchange: &HttpExchange) {
    store
        .write_page(&PageWrite {
            page: Some(page),
            body: Some(body),
            exchange: Some(exchange),
            revisit: Some(Revisit {
                versions: 2,
                replaces: None,
            }),
            ..PageWrite::default()
        })
        .unwrap();
    store.flush().unwrap();
}

/// A store of [`PAGES`]: each fetched at [`FIRST`] (body `v1 of URL`), and all but the
/// last again at [`SECOND`].
pub(crate) fn revisited(ws: &Workspace) -> String {
    let store = Store::open(&ws.store(), StoreOptions::default()).unwrap();
    for (url, second) in PAGES {
        let path = url.trim_start_matches("http://a.test/");
        let body = format!("v1 of {url}");
        let first = PageRecord {
            status: Some(200),
            content_type: Some("text/html".into()),
            bytes: body.len() as u64,
            body_stored: true,
            fetched_at_ms: FIRST,
            digest: Some(payload_digest(body.as_bytes())),
            visits: 1,
            ..PageRecord::new(url, "a.test", 0)
        };
        visit(
            &store,
            &first,
            body.as_bytes(),
            &heads(path, 200, "OK", "\"1\""),
        );
        let Some(change) = second else { continue };
        let mut again = PageRecord {
            fetched_at_ms: SECOND,
            visits: 2,
            change: Some(change),
            ..first.clone()
        };
        let (body, exchange) = match change {
            Change::NotModified => {
                again.status = Some(304);
                again.captured_ms = Some(FIRST);
                (Vec::new(), heads(path, 304, "Not Modified", "\"1\""))
            }
            Change::Unchanged => {
                again.captured_ms = Some(FIRST);
                (body.into_bytes(), heads(path, 200, "OK", "\"1\""))
            }
            Change::Changed => {
                let body = format!("v2 of {url}");
                again.digest = Some(payload_digest(body.as_bytes()));
                (body.into_bytes(), heads(path, 200, "OK", "\"2\""))
            }
            Change::Gone => {
                again.status = Some(404);
                again.digest = None;
                (b"not here".to_vec(), heads(path, 404, "Not Found", "\"0\""))
            }
        };
        visit(&store, &again, &body, &exchange);
    }
    store.flush().unwrap();
    ws.store().to_str().unwrap().to_owned()
}

fn crawler(args: &[&str]) -> Run {
    run(CRAWLER, args)
}

fn urls_listed(store: &str, flags: &[&str]) -> Vec<String> {
    let mut args = vec!["ls", "--store", store, "--json", "--sort", "url"];
    args.extend_from_slice(flags);
    crawler(&args)
        .success()
        .json_lines()
        .iter()
        .map(|line| line["url"].as_str().unwrap().to_owned())
        .collect()
}

fn rfc3339(ms: u64) -> String {
    let ms = ms % 86_400_000;
    // Both visits fall on 2027-01-15.
    format!(
        "2027-01-15T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[test]
fn ls_lists_what_changed_since_a_time_and_leaves_gone_urls_to_gone() {
    let ws = Workspace::new();
    let store = revisited(&ws);
    let second = rfc3339(SECOND);
    // Changed since the second visit: the one new capture (the gone one is listed by
    // --gone only); every one revisited then has a fetch since.
    assert_eq!(
        urls_listed(&store, &["--changed-since", &second]),
        [url("changed")]
    );
    assert_eq!(
        urls_listed(&store, &["--since", &second]),
        [url("changed"), url("kept"), url("same")]
    );
    assert_eq!(urls_listed(&store, &["--gone"]), [url("gone")]);
    assert_eq!(urls_listed(&store, &[]).len(), 4);
    // A bad time names its flag.
    let out = crawler(&["ls", "--store", &store, "--changed-since", "lately"]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    assert!(out.stderr().contains("--changed-since"), "{}", out.stderr());

    // The JSON lines carry the revisit fields; the CSV ends with them.
    let lines = crawler(&["ls", "--store", &store, "--json"])
        .success()
        .json_lines();
    let by_url: BTreeMap<&str, &Value> = lines
        .iter()
        .map(|line| (line["url"].as_str().unwrap(), line))
        .collect();
    let kept = by_url[url("kept").as_str()];
    assert_eq!(kept["visits"], 2);
    assert_eq!(kept["change"], "not-modified");
    assert_eq!(kept["status"], 304);
    assert_eq!(kept["captured_at"], rfc3339(FIRST));
    assert_eq!(kept["fetched_at"], second);
    let digest = payload_digest(format!("v1 of {}", url("kept")).as_bytes());
    assert_eq!(kept["digest"], digest.as_str());
    let once = by_url[url("once").as_str()];
    assert_eq!(
        (&once["visits"], &once["change"]),
        (&Value::from(1), &Value::Null)
    );
    let csv = crawler(&["ls", "--store", &store, "--format", "csv", "--gone"])
        .success()
        .stdout();
    let mut csv = csv.lines();
    assert!(
        csv.next()
            .unwrap()
            .ends_with(",via,visits,change,digest,captured_at"),
        "the CSV header"
    );
    assert!(csv.next().unwrap().ends_with(&format!(",2,gone,,{second}")));
}

#[test]
fn get_shows_a_urls_visits_and_the_body_each_one_saw() {
    let ws = Workspace::new();
    let store = revisited(&ws);
    let get = |args: &[&str]| {
        let mut all = vec!["get", "--store", store.as_str()];
        all.extend_from_slice(args);
        crawler(&all)
    };
    let changed = url("changed");
    let visits = get(&[&changed, "--history", "--json"])
        .success()
        .json_lines();
    let seen: Vec<(&Value, &Value, &Value)> = visits
        .iter()
        .map(|v| (&v["fetched_at_ms"], &v["change"], &v["body_kept"]))
        .collect();
    let (first, second) = (Value::from(FIRST), Value::from(SECOND));
    let (yes, changed_, new) = (
        Value::from(true),
        Value::from("changed"),
        Value::from("new"),
    );
    assert_eq!(seen, [(&second, &changed_, &yes), (&first, &new, &yes)]);
    assert_eq!(visits[0]["fetched_at"], rfc3339(SECOND));
    assert_eq!(
        visits[0]["digest"],
        payload_digest(format!("v2 of {changed}").as_bytes()).as_str()
    );

    // For people: a header, then a line per visit, newest first.
    let text = get(&[&url("kept"), "--history"]).success().stdout();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["FETCHED", "STATUS", "CHANGE", "DIGEST", "BODY"]);
    assert_eq!(
        lines[1][..3],
        [rfc3339(SECOND).as_str(), "304", "not-modified"]
    );
    assert_eq!(lines[1][4], "-");
    assert_eq!(lines[2][..3], [rfc3339(FIRST).as_str(), "200", "new"]);
    assert_eq!(lines[2][4], "kept");

    // Each body as a visit saw it, by the time --history shows (either form).
    let body = |args: &[&str]| get(args).success().stdout();
    assert_eq!(
        body(&[&changed, "--version", &FIRST.to_string()]),
        format!("v1 of {changed}")
    );
    assert_eq!(
        body(&[&changed, "--version", &rfc3339(SECOND)]),
        format!("v2 of {changed}")
    );
    // A 304 saw the capture it kept; a time to the second finds the one visit in it.
    let kept = url("kept");
    assert_eq!(
        body(&[&kept, "--version", &rfc3339(SECOND)]),
        format!("v1 of {kept}")
    );
    assert_eq!(
        body(&[&kept, "--version", &rfc3339(SECOND)[..19]]),
        format!("v1 of {kept}")
    );

    // No visit at that time: an error naming the URL and the time.
    let out = get(&[&kept, "--version", "2027-01-15T09:30:00Z"]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr());
    assert!(out.stderr().contains(&kept), "{}", out.stderr());
    assert!(
        out.stderr().contains("2027-01-15T09:30:00Z"),
        "{}",
        out.stderr()
    );
    // Not a time at all: a usage error naming the flag.
    let out = get(&[&kept, "--version", "soon"]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    assert!(out.stderr().contains("--version"), "{}", out.stderr());
}

#[test]
fn stats_count_revisits_by_what_they_found() {
    let ws = Workspace::new();
    let store = revisited(&ws);
    let text = crawler(&["stats", "--store", &store]).success().stdout();
    assert!(
        text.contains("revisits:  4 URLs (not-modified: 1, unchanged: 1, changed: 1, gone: 1)"),
        "{text}"
    );
    let json = crawler(&["stats", "--store", &store, "--json"])
        .success()
        .json();
    assert_eq!(json["revisited"], 4);
    for kind in ["not-modified", "unchanged", "changed", "gone"] {
        assert_eq!(json["by_change"][kind], 1, "{json}");
    }

    // A crawl never revisited says nothing of revisits to people, and 0 of each in JSON.
    let fresh = Workspace::new();
    {
        let store = Store::open(&fresh.store(), StoreOptions::default()).unwrap();
        let page = PageRecord {
            status: Some(200),
            fetched_at_ms: FIRST,
            ..PageRecord::new(&url("once"), "a.test", 0)
        };
        visit(&store, &page, b"x", &heads("once", 200, "OK", "\"1\""));
        store.flush().unwrap();
    }
    let fresh = fresh.store().to_str().unwrap().to_owned();
    let text = crawler(&["stats", "--store", &fresh]).success().stdout();
    assert!(!text.contains("revisit"), "{text}");
    let json = crawler(&["stats", "--store", &fresh, "--json"])
        .success()
        .json();
    assert_eq!(json["by_change"]["not-modified"], 0, "{json}");
}

#[test]
fn json_and_csv_exports_carry_the_revisit_fields() {
    let ws = Workspace::new();
    let store = revisited(&ws);
    let lines = crawler(&["export", "--store", &store, "--format", "jsonl"])
        .success()
        .json_lines();
    // An export has every record, the gone URL's too.
    assert_eq!(lines.len(), PAGES.len());
    for line in &lines {
        for field in ["visits", "change", "digest"] {
            assert!(line.get(field).is_some(), "{field} missing: {line}");
        }
        let text = serde_json::to_string(line).unwrap();
        assert_eq!(text.matches("\"visits\"").count(), 1, "{text}");
    }
    let of = |path: &str| {
        lines
            .iter()
            .find(|l| l["url"] == url(path).as_str())
            .unwrap()
    };
    assert_eq!(
        (&of("once")["visits"], &of("once")["change"]),
        (&Value::from(1), &Value::Null)
    );
    assert_eq!(of("gone")["change"], "gone");
    assert_eq!(of("gone")["digest"], Value::Null);
    assert_eq!(of("same")["visits"], 2);
    let csv = crawler(&["export", "--store", &store, "--format", "csv"])
        .success()
        .stdout();
    assert_eq!(csv.lines().count(), 1 + PAGES.len());
    assert!(
        csv.lines().any(|line| line.contains(",2,unchanged,sha1:")),
        "{csv}"
    );
}

/// The records of a `.warc.gz` file, each as its header fields (name -> value) and
/// block, read by hand: each gzip member holds one record.
fn warc_records(file: &Path) -> Vec<(BTreeMap<String, String>, String)> {
    let bytes = std::fs::read(file).unwrap();
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    text.split("WARC/1.1\r\n")
        .skip(1)
        .map(|record| {
            let (head, block) = record.split_once("\r\n\r\n").unwrap();
            let fields = head
                .lines()
                .filter_map(|line| line.split_once(": "))
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
            let block = block.strip_suffix("\r\n\r\n").unwrap_or(block).to_owned();
            (fields, block)
        })
        .collect()
}

#[test]
fn warc_export_writes_revisit_records_that_refer_to_their_capture() {
    let ws = Workspace::new();
    let store = revisited(&ws);
    let file = ws.path("all.warc.gz");
    let out = crawler(&["export", "--store", &store, "-o", file.to_str().unwrap()]).success();
    assert!(
        out.stderr().contains("2 revisit records"),
        "{}",
        out.stderr()
    );
    let records = warc_records(&file);
    let of = |kind: &str, path: &str| -> Vec<&BTreeMap<String, String>> {
        records
            .iter()
            .map(|(fields, _)| fields)
            .filter(|f| f["WARC-Type"] == kind && f["WARC-Target-URI"] == url(path))
            .collect()
    };
    for (path, profile) in [
        ("kept", "server-not-modified"),
        ("same", "identical-payload-digest"),
    ] {
        let [response] = of("response", path)[..] else {
            panic!("one response record of {path}")
        };
        let [revisit] = of("revisit", path)[..] else {
            panic!("one revisit record of {path}")
        };
        // The response is the capture: the first visit's date and heads.
        assert_eq!(response["WARC-Date"], rfc3339(FIRST));
        assert_eq!(
            revisit["WARC-Profile"],
            format!("http://netpreserve.org/warc/1.1/revisit/{profile}")
        );
        assert_eq!(revisit["WARC-Date"], rfc3339(SECOND));
        assert_eq!(revisit["WARC-Refers-To"], response["WARC-Record-ID"]);
        assert_eq!(revisit["WARC-Refers-To-Target-URI"], url(path));
        assert_eq!(revisit["WARC-Refers-To-Date"], rfc3339(FIRST));
        assert_eq!(
            revisit["WARC-Payload-Digest"],
            response["WARC-Payload-Digest"]
        );
        // Each has its request record.
        assert_eq!(of("request", path).len(), 2);
    }
    let kept_revisit = records
        .iter()
        .find(|(f, _)| f["WARC-Type"] == "revisit" && f["WARC-Target-URI"] == url("kept"))
        .unwrap();
    assert!(
        kept_revisit.1.starts_with("HTTP/1.1 304 Not Modified\r\n"),
        "{}",
        kept_revisit.1
    );
    // The changed page: its new capture only.
    let [changed] = of("response", "changed")[..] else {
        panic!("one response record of the changed page")
    };
    assert_eq!(changed["WARC-Date"], rfc3339(SECOND));
    assert!(of("revisit", "changed").is_empty());

    // Since the second visit: the revisits, without the captures they refer to.
    let since = ws.path("since.warc.gz");
    crawler(&[
        "export",
        "--store",
        &store,
        "--since",
        &rfc3339(SECOND),
        "-o",
        since.to_str().unwrap(),
    ])
    .success();
    let mut types: Vec<(String, String)> = warc_records(&since)
        .into_iter()
        .filter(|(f, _)| f["WARC-Type"] != "request" && f["WARC-Type"] != "warcinfo")
        .map(|(f, _)| (f["WARC-Type"].clone(), f["WARC-Target-URI"].clone()))
        .collect();
    types.sort();
    let pair = |kind: &str, path: &str| (kind.to_owned(), url(path));
    assert_eq!(
        types,
        [
            pair("response", "changed"),
            pair("response", "gone"),
            pair("revisit", "kept"),
            pair("revisit", "same")
        ]
    );

    // An independent reader takes both, digests verified.
    for file in [&file, &since] {
        let Some(read) = read_warc(file) else { return };
        let records = read["records"].as_array().unwrap();
        assert!(records.iter().all(|r| r["digests"] != false), "{read}");
        let revisits: Vec<&Value> = records
            .iter()
            .filter(|r| r["rec_type"] == "revisit")
            .collect();
        assert_eq!(revisits.len(), 2, "{read}");
        for revisit in revisits {
            assert!(revisit["WARC-Profile"]
                .as_str()
                .unwrap()
                .starts_with("http://netpreserve.org/warc/1.1/revisit/"));
            assert!(revisit["WARC-Refers-To"].is_string(), "{revisit}");
            assert!(revisit["statusline"].is_string(), "{revisit}");
        }
    }
}

/// The real thing: a crawl, a change on the server, a recrawl with conditional
/// requests, and the archive of the recrawl: the changed pages as responses, the rest
/// as revisit records, which warcio reads.
#[test]
fn the_archive_of_a_recrawl_holds_the_changed_pages_and_revisits_of_the_rest() {
    let crawled = Scenario::web(WebConfig {
        hosts: 1,
        pages: 12,
        ..WebConfig::default()
    })
    .flags(&["--per-host-rate", "0"])
    .crawl();
    let server = crawled.server();
    server.set_generation(1, 400);
    let changed = server.changed_urls();
    let all = crawled.stored_urls();
    assert!(
        !changed.is_empty() && changed.len() < all.len(),
        "{changed:?}"
    );
    crawled
        .resume(&["--json", "--revisit-after", "0", "--per-host-rate", "0"])
        .success();

    // Every record is a recrawl visit now: the earliest of them is when it began.
    let lines = crawled
        .query("ls", &["--json", "--sort", "fetched"])
        .json_lines();
    let began = lines.last().unwrap()["fetched_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = |flags: &[&str]| -> BTreeSet<String> {
        crawled
            .query("ls", flags)
            .json_lines()
            .iter()
            .map(|line| line["url"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed(&["--json", "--changed-since", &began]), changed);

    let ws = crawled.workspace();
    let file = ws.path("recrawl.warc.gz");
    crawled.query("export", &["--since", &began, "-o", file.to_str().unwrap()]);
    let records = warc_records(&file);
    let of = |kind: &str| -> BTreeSet<String> {
        records
            .iter()
            .filter(|(f, _)| f["WARC-Type"] == kind)
            .map(|(f, _)| f["WARC-Target-URI"].clone())
            .collect()
    };
    assert_eq!(of("response"), changed);
    let unchanged: BTreeSet<String> = all.difference(&changed).cloned().collect();
    assert_eq!(of("revisit"), unchanged);
    for (fields, block) in records.iter().filter(|(f, _)| f["WARC-Type"] == "revisit") {
        // The fixture answers a conditional request for an unchanged page with a 304.
        assert_eq!(
            fields["WARC-Profile"],
            "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
        );
        assert!(block.starts_with("HTTP/1.1 304"), "{block}");
    }

    // The whole store's archive: each revisit refers to a response record in it.
    let whole = ws.path("all.warc.gz");
    crawled.query("export", &["-o", whole.to_str().unwrap()]);
    let records = warc_records(&whole);
    let ids: BTreeSet<(&str, &str)> = records
        .iter()
        .filter(|(f, _)| f["WARC-Type"] == "response")
        .map(|(f, _)| (f["WARC-Record-ID"].as_str(), f["WARC-Target-URI"].as_str()))
        .collect();
    let revisits: Vec<_> = records
        .iter()
        .filter(|(f, _)| f["WARC-Type"] == "revisit")
        .collect();
    assert_eq!(revisits.len(), unchanged.len());
    for (fields, _) in revisits {
        let target = (
            fields["WARC-Refers-To"].as_str(),
            fields["WARC-Target-URI"].as_str(),
        );
        assert!(
            ids.contains(&target),
            "{fields:?} refers to no response record"
        );
    }
    for file in [&file, &whole] {
        let Some(read) = read_warc(file) else { return };
        let records = read["records"].as_array().unwrap();
        assert!(records.iter().all(|r| r["digests"] != false), "{read}");
        let revisits = records
            .iter()
            .filter(|r| r["rec_type"] == "revisit")
            .count();
        assert_eq!(revisits, unchanged.len());
    }
}

/// The news site recrawled after an edit (two pages changed, one new, one gone, three
/// answering 304, two the same payload): what `ls` lists and what the archive of the
/// recrawl holds, each kind of visit as WARC 1.1 has it.
#[test]
fn a_news_recrawl_lists_what_is_gone_and_archives_each_kind_of_visit() {
    let crawled = news_site_crawled_then_edited();
    let url = |path: &str| crawled.server().url(NEWS_HOST, path);
    crawled
        .resume(&["--json", "--revisit-after", "0", "--per-host-rate", "0"])
        .success();
    let listed = |flags: &[&str]| -> BTreeSet<String> {
        let mut args = vec!["--json"];
        args.extend_from_slice(flags);
        crawled
            .query("ls", &args)
            .json_lines()
            .iter()
            .map(|line| line["url"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed(&["--gone"]), BTreeSet::from([url("/sports")]));
    let shown = listed(&[]);
    assert_eq!(shown.len(), NEWS_PAGES.len(), "{shown:?}");
    assert!(!shown.contains(&url("/sports")));
    let exported = crawled.query("export", &["--format", "jsonl"]).json_lines();
    assert_eq!(exported.len(), NEWS_PAGES.len() + 1, "the gone page too");

    // The recrawl began with its earliest visit: all the records are its visits now.
    let earliest = exported
        .iter()
        .min_by_key(|line| line["fetched_at_ms"].as_u64())
        .unwrap();
    let began = earliest["fetched_at"].as_str().unwrap().to_owned();
    let fresh = BTreeSet::from([url(news::FRONT), url("/world"), url("/new/1")]);
    assert_eq!(listed(&["--changed-since", &began]), fresh);

    let file = crawled.workspace().path("news.warc.gz");
    crawled.query("export", &["--since", &began, "-o", file.to_str().unwrap()]);
    let records = warc_records(&file);
    let of = |kind: &str| -> BTreeMap<String, String> {
        records
            .iter()
            .filter(|(f, _)| f["WARC-Type"] == kind)
            .map(|(f, _)| {
                let profile = f.get("WARC-Profile").cloned().unwrap_or_default();
                (f["WARC-Target-URI"].clone(), profile)
            })
            .collect()
    };
    let responses: BTreeSet<String> = of("response").into_keys().collect();
    let mut expected = fresh.clone();
    expected.insert(url("/sports"));
    assert_eq!(
        responses, expected,
        "the new captures, the gone page's 410 too"
    );
    let profile = |name: &str| format!("http://netpreserve.org/warc/1.1/revisit/{name}");
    let revisits = of("revisit");
    let expected: BTreeMap<String, String> = [
        ("/science", "server-not-modified"),
        (news::ETAG_ONLY, "server-not-modified"),
        (news::LAST_MODIFIED_ONLY, "server-not-modified"),
        (news::NO_VALIDATORS, "identical-payload-digest"),
        (news::IGNORES_CONDITIONALS, "identical-payload-digest"),
    ]
    .into_iter()
    .map(|(path, name)| (url(path), profile(name)))
    .collect();
    assert_eq!(revisits, expected);
    let Some(read) = read_warc(&file) else { return };
    let records = read["records"].as_array().unwrap();
    assert!(records.iter().all(|r| r["digests"] != false), "{read}");
    for record in records.iter().filter(|r| r["rec_type"] == "revisit") {
        let status = record["statusline"].as_str().unwrap();
        let same = record["WARC-Profile"] == profile("identical-payload-digest");
        assert_eq!(status.starts_with("200"), same, "{record}");
        assert_eq!(status.starts_with("304"), !same, "{record}");
    }
}
