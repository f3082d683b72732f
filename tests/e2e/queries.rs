//! Querying a stored crawl: every `ls` filter, inlinks, outlinks, the link graph and
//! the statistics, each checked against what the fixture web is known to hold and
//! what its server logged.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use crawler_fixtures::{page_path, synthetic_host, synthetic_outlinks};
use crawler_storage::{PageFilter, Store, StoreOptions};
use crawler_tests::{run, Crawled, RequestRecord, Scenario, WebConfig, Workspace};

use crate::CRAWLER;

/// Special endpoints crawled besides the synthetic web, one per kind of outcome.
const SPECIALS: [&str; 6] = [
    "/_fixture/status/404",
    "/_fixture/status/503",
    "/_fixture/redirect/2",
    "/_fixture/binary",
    "/_fixture/silent",
    "/_fixture/big/200000",
];

/// The columns of `ls`: the CSV header, and the fields of each JSON line.
const LS_COLUMNS: &str =
    "url,host,status,error,depth,content_type,bytes,title,from,fetched_at,via,visits,change,digest,captured_at";

/// A finished crawl of 3 hosts x 12 pages plus [`SPECIALS`] on `h0.test`.
fn crawled() -> Crawled {
    let scenario = Scenario::web(WebConfig {
        hosts: 3,
        pages: 12,
        page_bytes: 3_000,
        ..WebConfig::default()
    });
    let server = scenario.server();
    let mut seeds = server.seeds();
    seeds.extend(SPECIALS.iter().map(|path| server.url("h0.test", path)));
    let crawled = scenario
        .seeds(seeds)
        .flags(&[
            "--per-host-rate",
            "0",
            "--timeout",
            "1",
            "--max-body",
            "100K",
            "--retries",
            "0",
            "--retry-backoff",
            "0.01",
        ])
        .crawl();
    // The server logs the silent request once it sees the client leave.
    let silent = crawled.url("/_fixture/silent");
    crawler_tests::wait_until("the silent request in the server log", || {
        crawled.logged().contains_key(&silent)
    });
    crawled
}

/// What these tests ask of a crawl besides [`Crawled`]'s own queries.
trait Queries {
    /// The URLs `ls` prints as JSON lines for these filter flags.
    fn ls(&self, filters: &[&str]) -> BTreeSet<String>;
    /// What the server answered, robots.txt aside: URL -> status (0: no answer).
    fn logged(&self) -> BTreeMap<String, u16>;
    /// `path` on `h0.test`.
    fn url(&self, path: &str) -> String;
    /// The synthetic page a URL names, if it names one.
    fn locate(&self, url: &str) -> Option<(usize, usize)>;
}

impl Queries for Crawled {
    fn ls(&self, filters: &[&str]) -> BTreeSet<String> {
        let mut args = vec!["--format", "jsonl"];
        args.extend_from_slice(filters);
        self.query("ls", &args)
            .json_lines()
            .iter()
            .map(|line| line["url"].as_str().unwrap().to_owned())
            .collect()
    }

    fn logged(&self) -> BTreeMap<String, u16> {
        let server = self.server();
        server
            .log()
            .iter()
            .filter(|r| r.path != "/robots.txt")
            .map(|r: &RequestRecord| (server.url(&r.host, &r.path), r.status))
            .collect()
    }

    fn url(&self, path: &str) -> String {
        self.server().url("h0.test", path)
    }

    fn locate(&self, url: &str) -> Option<(usize, usize)> {
        let server = self.server();
        let web = server.web();
        (0..web.hosts)
            .flat_map(|h| (0..web.pages).map(move |p| (h, p)))
            .find(|&(h, p)| server.url(&synthetic_host(h), &page_path(p)) == url)
    }
}

fn logged_with(logged: &BTreeMap<String, u16>, keep: impl Fn(u16) -> bool) -> BTreeSet<String> {
    logged
        .iter()
        .filter(|(_, status)| keep(**status))
        .map(|(url, _)| url.clone())
        .collect()
}

#[test]
fn every_ls_filter_selects_exactly_the_matching_pages() {
    let c = crawled();
    let logged = c.logged();
    let all = c.ls(&[]);
    assert_eq!(
        all,
        logged.keys().cloned().collect(),
        "the store holds what the server answered"
    );

    // Statuses and classes, judged by the server's log.
    assert_eq!(
        c.ls(&["--status", "2xx"]),
        logged_with(&logged, |s| (200..300).contains(&s))
    );
    assert_eq!(
        c.ls(&["--status", "3xx"]),
        logged_with(&logged, |s| (300..400).contains(&s))
    );
    assert_eq!(
        c.ls(&["--status", "404"]),
        [c.url("/_fixture/status/404")].into()
    );
    assert_eq!(
        c.ls(&["--status", "5xx"]),
        [c.url("/_fixture/status/503")].into()
    );
    assert_eq!(
        c.ls(&["--status", "error"]),
        logged_with(&logged, |s| s == 0)
    );
    assert_eq!(
        c.ls(&["--status", "error"]),
        [c.url("/_fixture/silent")].into()
    );

    // Error kinds: a timeout has no response, a body over the limit has one.
    assert_eq!(
        c.ls(&["--error", "timeout"]),
        [c.url("/_fixture/silent")].into()
    );
    let too_big = c.url("/_fixture/big/200000");
    assert_eq!(
        c.ls(&["--error", "body-too-large"]),
        [too_big.clone()].into()
    );
    assert_eq!(logged[&too_big], 200);

    // Hosts, alone and with a status.
    for host in 0..3 {
        let name = synthetic_host(host);
        let on_host: BTreeSet<String> = logged
            .keys()
            .filter(|url| url.contains(&format!("//{name}:")))
            .cloned()
            .collect();
        assert_eq!(c.ls(&["--host", &name.to_uppercase()]), on_host, "{name}");
        let synthetic = c
            .server()
            .expected_urls()
            .into_iter()
            .filter(|u| u.contains(&format!("//{name}:")));
        assert_eq!(synthetic.filter(|u| on_host.contains(u)).count(), 12);
    }
    assert_eq!(
        c.ls(&["--host", "h0.test", "--status", "3xx"]),
        [c.url("/_fixture/redirect/2"), c.url("/_fixture/redirect/1")].into()
    );

    // Content types.
    assert_eq!(
        c.ls(&["--content-type", "application/octet-stream"]),
        [c.url("/_fixture/binary")].into()
    );
    let html = c.ls(&["--content-type", "text/html"]);
    assert_eq!(html, c.ls(&["--content-type", "TEXT/*"]));
    assert!(c.server().expected_urls().is_subset(&html));
    assert!(!html.contains(&c.url("/_fixture/binary")));

    // Depths: the seeds are depth 0 (and so are the targets of their redirects), and
    // ranges agree with the records.
    let seeds: BTreeSet<String> = c
        .server()
        .seeds()
        .into_iter()
        .chain(SPECIALS.iter().map(|p| c.url(p)))
        .chain(["/_fixture/redirect/1", "/_fixture/redirect/0"].map(|p| c.url(p)))
        .collect();
    assert_eq!(c.ls(&["--depth", "0"]), seeds);
    let records = c.query("export", &["--format", "jsonl"]).json_lines();
    let depth_of = |url: &str| {
        records
            .iter()
            .find(|r| r["url"] == url)
            .and_then(|r| r["depth"].as_u64())
            .unwrap()
    };
    let one_to_two = c.ls(&["--depth", "1..2"]);
    assert!(!one_to_two.is_empty());
    for url in &all {
        assert_eq!(
            one_to_two.contains(url),
            (1..=2).contains(&depth_of(url)),
            "{url}"
        );
    }

    // Fetch times: ranges split the crawl where the records say.
    let mut times: Vec<(u64, String)> = records
        .iter()
        .map(|r| {
            (
                r["fetched_at_ms"].as_u64().unwrap(),
                r["fetched_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    times.sort();
    let (middle_ms, middle) = times[times.len() / 2].clone();
    let since = c.ls(&["--since", &middle]);
    let until = c.ls(&["--until", &middle]);
    for record in &records {
        let url = record["url"].as_str().unwrap();
        let late = record["fetched_at_ms"].as_u64().unwrap() >= middle_ms;
        assert_eq!(since.contains(url), late, "{url}");
        assert_eq!(until.contains(url), !late, "{url}");
    }
    assert_eq!(c.ls(&["--since", "1h"]), all);
    assert!(c.ls(&["--since", "2999-01-01"]).is_empty());

    // JSON lines: every column of every page, null when it has no value.
    let pages = c.query("ls", &["--json"]).json_lines();
    assert_eq!(pages.len(), all.len());
    for page in &pages {
        for field in LS_COLUMNS.split(',') {
            assert!(page.get(field).is_some(), "ls --json lacks {field}: {page}");
        }
    }

    // --limit, and the other formats.
    assert_eq!(
        c.query("ls", &["--limit", "5", "--json"])
            .json_lines()
            .len(),
        5
    );
    let csv = c
        .query("ls", &["--format", "csv", "--host", "h2.test"])
        .stdout();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(LS_COLUMNS));
    assert_eq!(lines.count(), 12);
    let table = c
        .query(
            "ls",
            &["--format", "table", "--host", "h1.test", "--depth", "0"],
        )
        .stdout();
    let root = c.server().url("h1.test", "/");
    assert!(
        table.contains(&root) && table.contains("Host 1 page 0"),
        "{table}"
    );
    // Not a terminal: JSON lines.
    assert_eq!(c.query("ls", &["--host", "h1.test"]).json_lines().len(), 12);
}

#[test]
fn bad_filter_values_are_usage_errors_naming_the_flag() {
    let ws = Workspace::new();
    let store = ws.store();
    let store = store.to_str().unwrap();
    for (flag, value) in [
        ("--status", "6xx"),
        ("--depth", "3..1"),
        ("--since", "yesterday"),
        ("--until", "2026-13-01"),
    ] {
        let out = run(CRAWLER, &["ls", "--store", store, flag, value]);
        assert_eq!(out.code(), Some(2), "{flag} {value}: {}", out.stderr());
        assert!(out.stderr().contains(flag), "{flag}: {}", out.stderr());
    }
    // An unknown error kind: the kinds are listed, and the close one suggested.
    let out = run(CRAWLER, &["ls", "--store", store, "--error", "timout"]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    let said = out.stderr();
    assert!(said.contains("--error"), "{said}");
    for kind in crawler_core::ErrorKind::ALL {
        assert!(said.contains(kind.as_str()), "{kind} not listed: {said}");
    }
    assert!(said.contains("similar value exists: 'timeout'"), "{said}");
    let out = run(
        CRAWLER,
        &["ls", "--store", store, "--error", "Sitemap-Invalid"],
    );
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
}

#[test]
fn inlinks_outlinks_and_the_graph_match_the_fixture_web() {
    let c = crawled();
    let web = c.server().web().clone();
    let port = c.server().port();

    // The graph the fixture generated, restricted to the stored pages.
    let mut outlinks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for url in c.server().expected_urls() {
        let (host, page) = c.locate(&url).unwrap();
        outlinks.insert(url, synthetic_outlinks(&web, host, page, port));
    }
    outlinks.insert(
        c.url("/_fixture/redirect/2"),
        vec![c.url("/_fixture/redirect/1")],
    );
    outlinks.insert(
        c.url("/_fixture/redirect/1"),
        vec![c.url("/_fixture/redirect/0")],
    );
    let mut inlinks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &outlinks {
        for to in targets {
            inlinks.entry(to.clone()).or_default().insert(from.clone());
        }
    }

    // Every page, through the library: outlinks in document order, inlinks as a set.
    {
        let store = Store::open(&c.workspace().store(), StoreOptions::existing()).unwrap();
        for page in store.query(&PageFilter::default()) {
            let url = page.unwrap().url;
            let expected_out = outlinks.get(&url).cloned().unwrap_or_default();
            assert_eq!(
                store.outlinks(&url).unwrap(),
                expected_out,
                "outlinks of {url}"
            );
            let stored_in: BTreeSet<String> = store.inlinks(&url).map(Result::unwrap).collect();
            assert_eq!(
                stored_in,
                inlinks.get(&url).cloned().unwrap_or_default(),
                "inlinks of {url}"
            );
        }
        // An out-of-scope target was never fetched but has inlinks.
        let outside = format!("http://outside.test:{port}/");
        assert_eq!(store.page(&outside).unwrap(), None);
        assert_eq!(store.inlinks(&outside).count(), inlinks[&outside].len());
    }

    // The same through the command line, for one page, any spelling.
    let target = c.server().url("h1.test", "/page/3");
    let spelled = format!("HTTP://H1.TEST:{port}/x/../page/%33#frag");
    let printed: BTreeSet<String> = c
        .query("get", &[&spelled, "--inlinks"])
        .stdout()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(printed, inlinks[&target]);
    let printed = c.query("get", &[&spelled, "--links"]).stdout();
    assert_eq!(printed.lines().collect::<Vec<_>>(), outlinks[&target]);
    let outside = format!("http://outside.test:{port}/");
    let printed: BTreeSet<String> = c
        .query("get", &[&outside, "--inlinks"])
        .stdout()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        printed, inlinks[&outside],
        "a URL never fetched has inlinks too"
    );

    // The graph of one host: every edge from its pages, in both formats.
    let edges: BTreeSet<(String, String)> = c
        .query("links", &["--host", "h2.test"])
        .stdout()
        .lines()
        .map(|l| {
            let (from, to) = l.split_once('\t').unwrap();
            (from.to_owned(), to.to_owned())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = outlinks
        .iter()
        .filter(|(from, _)| from.contains("//h2.test:"))
        .flat_map(|(from, targets)| targets.iter().map(move |to| (from.clone(), to.clone())))
        .collect();
    assert_eq!(edges, expected);
    let dot = c
        .query("links", &["--host", "h2.test", "--format", "dot"])
        .stdout();
    assert!(
        dot.starts_with("digraph crawl {\n") && dot.ends_with("}\n"),
        "{dot}"
    );
    assert_eq!(dot.matches(" -> ").count(), expected.len());
}

#[test]
fn get_and_stats_answer_from_the_store() {
    let c = crawled();
    get_prints_the_body_headers_and_record(&c);
    stats_totals_agree_with_the_server_log(&c);
}

fn get_prints_the_body_headers_and_record(c: &Crawled) {
    let root = c.server().url("h0.test", "/");
    let body = c.query("get", &[&root]).stdout();
    assert!(body.contains("<title>Host 0 page 0</title>"));
    let body = c.query("get", &[&root, "--body"]).stdout();
    assert!(body.contains("<title>Host 0 page 0</title>"));

    // Any spelling of the URL names the page.
    let spelled = format!("HTTP://H0.TEST:{}/x/../#top", c.server().port());
    let page = c.record(&spelled);
    assert_eq!(page["url"], root);
    assert_eq!(page["title"], "Host 0 page 0");

    let headers = c.query("get", &[&root, "--headers"]).stdout();
    let mut lines = headers.lines();
    assert_eq!(lines.next(), Some("HTTP/1.1 200 OK"));
    assert!(
        headers.contains("content-type: text/html; charset=utf-8"),
        "{headers}"
    );
    let both = c.query("get", &[&root, "--headers", "--request"]).stdout();
    assert!(both.starts_with("GET / HTTP/1.1\nhost: h0.test:"), "{both}");
    assert!(both.contains("\nuser-agent: crawler/"), "{both}");

    let record = c.query("get", &[&root, "--json"]).json();
    assert_eq!(record["status"], 200);
    assert_eq!(
        record["links"].as_array().unwrap().len(),
        record["outlinks"].as_u64().unwrap() as usize
    );
    assert!(!record["inlinks"].as_array().unwrap().is_empty());
    assert_eq!(record["http"]["response"]["status"], 200);
    let info = c.query("get", &[&root, "--info"]).stdout();
    assert!(info.contains("title           Host 0 page 0"), "{info}");

    // No body to print: a clear error, exit 1.
    let store = c.store();
    for (path, says) in [
        ("/_fixture/silent", "the fetch failed (timeout)"),
        (
            "/_fixture/big/200000",
            "the fetch failed (200 body-too-large)",
        ),
    ] {
        let out = run(CRAWLER, &["get", "--store", &store, &c.url(path)]);
        assert_eq!(out.code(), Some(1));
        assert!(out.stderr().contains(says), "{}", out.stderr());
    }
    let out = run(
        CRAWLER,
        &[
            "get",
            "--store",
            &store,
            &c.url("/_fixture/silent"),
            "--headers",
        ],
    );
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr().contains("no response was received"),
        "{}",
        out.stderr()
    );

    let missing = c.try_query("get", &["http://h0.test/nope"]);
    assert_eq!(missing.code(), Some(1));
    assert!(missing.stderr().contains("not in the store"));
}

fn stats_totals_agree_with_the_server_log(c: &Crawled) {
    let logged = c.logged();
    let stats = c.query("stats", &["--json"]).json();
    assert_eq!(stats["urls"], logged.len());
    assert_eq!(
        stats["responses"],
        logged.values().filter(|s| **s != 0).count()
    );
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for status in logged.values().filter(|s| **s != 0) {
        *by_status.entry(status.to_string()).or_default() += 1;
    }
    let stored: BTreeMap<String, usize> = stats["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize))
        .collect();
    assert_eq!(stored, by_status);
    assert_eq!(
        stats["by_status_class"]["2xx"],
        logged.values().filter(|s| (200..300).contains(*s)).count()
    );
    assert_eq!(stats["errors"]["timeout"], 1);
    assert_eq!(stats["errors"]["body-too-large"], 1);
    assert_eq!(stats["pages_per_host"]["h1.test"], 12);
    assert_eq!(stats["pages_per_host"]["h0.test"], 12 + SPECIALS.len() + 2);
    assert_eq!(stats["queued"], 0);
    assert_eq!(stats["runs"], 1);
    assert!(stats["pages_per_sec"].as_f64().unwrap() > 0.0);
    // Bytes: every stored body, plus what was received of the one over the limit.
    let records = c
        .query("export", &["--format", "jsonl", "--with-body"])
        .json_lines();
    let body_bytes: usize = records
        .iter()
        .map(|r| match (r["body"].as_str(), r["body_base64"].as_str()) {
            (Some(text), _) => text.len(),
            (None, Some(encoded)) => STANDARD.decode(encoded).unwrap().len(),
            (None, None) => 0,
        })
        .sum();
    let too_big = records
        .iter()
        .find(|r| r["error"] == "body-too-large")
        .unwrap();
    assert_eq!(
        stats["bytes"],
        body_bytes as u64 + too_big["bytes"].as_u64().unwrap()
    );

    let host = c.query("stats", &["--json", "--host", "h2.test"]).json();
    assert_eq!(host["urls"], 12);
    assert_eq!(host["by_status_class"]["2xx"], 12);
    assert_eq!(host["pages_per_host"].as_object().unwrap().len(), 1);

    let text = c.query("stats", &[]).stdout();
    assert!(text.contains("h2.test"), "{text}");
    let text = c.query("stats", &["--top", "1"]).stdout();
    assert!(text.contains("status 4xx: 1 (404: 1)"), "{text}");
    assert!(text.contains("error timeout: 1"), "{text}");
    assert!(text.contains("... 2 more (--top N)"), "{text}");
}
