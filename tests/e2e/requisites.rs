//! Page requisites (`--requisites`): what a stored page embeds is fetched too, on any
//! host but one embed hop outside the scope, politely, and each record says how it was
//! reached (`via`). Judged by the fixture server's log and by `ls --via`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use crawler_fixtures::{CDN_HOST, REQUISITES, REQUISITES_NEVER, STYLED_HOST};
use crawler_tests::{http_exchange, wait_until, Crawled, RequestRecord, Scenario, WebConfig};

use crate::exports::{fetch_raw, read_warc};

fn styled() -> Scenario {
    Scenario::web(WebConfig {
        hosts: 1,
        pages: 1,
        ..WebConfig::default()
    })
    .seed_urls(&[(STYLED_HOST, "/")])
}

fn asked(log: &[RequestRecord], host: &str, path: &str) -> bool {
    log.iter().any(|r| r.host == host && r.path == path)
}

/// The requisites' URLs as the store spells them.
fn requisite_urls(crawled: &Crawled) -> BTreeSet<String> {
    let server = crawled.server();
    REQUISITES
        .iter()
        .map(|(host, path)| server.url(host, path))
        .collect()
}

/// Every requisite was fetched and stored as an embed; nothing the out-of-scope
/// widget leads to was asked for.
fn assert_requisites_fetched(crawled: &Crawled) {
    let log = crawled.server().log();
    for (host, path) in REQUISITES {
        assert!(asked(&log, host, path), "{host}{path} not fetched: {log:?}");
    }
    for (host, path) in REQUISITES_NEVER {
        assert!(!asked(&log, host, path), "{host}{path} was fetched");
    }
    for url in requisite_urls(crawled) {
        let record = crawled.record(&url);
        assert_eq!(record["via"], "embed", "{record}");
        assert_eq!(record["status"], 200, "{record}");
    }
}

#[test]
fn requisites_are_fetched_on_any_host_as_embeds_and_nothing_outside_leads_further() {
    let crawled = styled()
        .flags(&["--requisites", "--per-host-rate", "0"])
        .crawl();
    assert_requisites_fetched(&crawled);
    let server = crawled.server();
    let log = server.log();

    // Polite on the other host: its robots.txt was asked before its image.
    let position = |path: &str| {
        log.iter()
            .position(|r| r.host == CDN_HOST && r.path == path)
            .unwrap_or_else(|| panic!("{CDN_HOST}{path} not asked: {log:?}"))
    };
    assert!(position("/robots.txt") < position("/photo.png"), "{log:?}");

    // `ls --via embed` lists exactly the requisites; the seed and the link say so.
    let embeds: BTreeSet<String> = crawled
        .query("ls", &["--via", "embed", "--json"])
        .json_lines()
        .iter()
        .map(|page| page["url"].as_str().expect("a URL").to_owned())
        .collect();
    assert_eq!(embeds, requisite_urls(&crawled));
    let seed = crawled.record(&server.url(STYLED_HOST, "/"));
    assert_eq!(seed["via"], "seed");
    let about = crawled.query("get", &[&server.url(STYLED_HOST, "/about"), "--info"]);
    assert!(
        about.stdout().contains("via") && about.stdout().contains("link"),
        "{}",
        about.stdout()
    );

    // A requisite's body is kept whatever its type, for an archive to show the page.
    let photo = crawled
        .query("get", &[&server.url(CDN_HOST, "/photo.png")])
        .stdout();
    assert!(photo.starts_with("\u{fffd}PNG"), "{photo:?}");
}

#[test]
fn without_the_flag_no_requisite_is_fetched() {
    let crawled = styled().flags(&["--per-host-rate", "0"]).crawl();
    let log = crawled.server().log();
    for (host, path) in REQUISITES {
        assert!(!asked(&log, host, path), "{host}{path} was fetched");
    }
    assert!(asked(&log, STYLED_HOST, "/about"), "{log:?}");
    let embeds = crawled.query("ls", &["--via", "embed", "--json"]).stdout();
    assert!(embeds.trim().is_empty(), "{embeds}");
}

#[test]
fn the_last_level_of_max_depth_still_gets_its_requisites() {
    let crawled = styled()
        .flags(&["--requisites", "--per-host-rate", "0", "--max-depth", "0"])
        .crawl();
    assert_requisites_fetched(&crawled);
    let log = crawled.server().log();
    assert!(
        !asked(&log, STYLED_HOST, "/about"),
        "a link past the depth: {log:?}"
    );
}

#[test]
fn a_resumed_crawl_keeps_the_flag_and_how_each_queued_url_was_reached() {
    // The first run stops after the seed: every requisite waits in the store's frontier.
    let crawled = styled()
        .flags(&[
            "--requisites",
            "--per-host-rate",
            "0",
            "--max-pages-per-run",
            "1",
        ])
        .crawl();
    let log = crawled.server().log();
    assert!(!asked(&log, CDN_HOST, "/widget.html"), "{log:?}");
    crawled.resume(&["--max-pages-per-run", "100"]).success();
    // The widget is still known to be outside the scope, reached by an embed: its
    // links (one back into the scope) are not followed.
    assert_requisites_fetched(&crawled);
}

#[test]
fn the_warc_export_holds_the_page_and_each_requisite_as_the_server_sent_it() {
    let crawled = styled()
        .flags(&["--requisites", "--per-host-rate", "0"])
        .crawl();
    let file = crawled.workspace().path("site.warc.gz");
    let path = file.to_str().expect("a UTF-8 path");
    crawled.query("export", &["-o", path]);
    let Some(result) = read_warc(&file) else {
        return;
    };
    let records = result["records"].as_array().expect("records");
    let payloads: BTreeMap<&str, Vec<u8>> = records
        .iter()
        .filter(|record| record["WARC-Type"] == "response")
        .map(|record| {
            let payload = record["payload"].as_str().unwrap_or_default();
            let url = record["WARC-Target-URI"].as_str().unwrap_or_default();
            (url, STANDARD.decode(payload).expect("base64"))
        })
        .collect();
    let server = crawled.server();
    let mut urls = requisite_urls(&crawled);
    urls.insert(server.url(STYLED_HOST, "/"));
    for url in urls {
        let (_, _, body) = fetch_raw(server, &url);
        assert_eq!(payloads.get(url.as_str()), Some(&body), "{url}");
    }
}

#[test]
fn each_record_says_how_it_was_reached() {
    let crawled = styled()
        .seed_urls(&[
            ("robots-sitemap.test", "/"),
            (STYLED_HOST, "/_fixture/redirect/1"),
        ])
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let server = crawled.server();
    let via = |host: &str, path: &str| crawled.record(&server.url(host, path))["via"].clone();
    assert_eq!(via("robots-sitemap.test", "/"), "seed");
    assert_eq!(via("robots-sitemap.test", "/sitemaps/index.xml"), "sitemap");
    assert_eq!(via("robots-sitemap.test", "/from-xml-1"), "sitemap");
    assert_eq!(via(STYLED_HOST, "/_fixture/redirect/1"), "seed");
    assert_eq!(via(STYLED_HOST, "/_fixture/redirect/0"), "redirect");
    let sitemap_urls = crawled
        .query("ls", &["--via", "sitemap", "--json"])
        .json_lines();
    assert!(
        sitemap_urls
            .iter()
            .all(|page| page["via"] == "sitemap" && page["host"] == "robots-sitemap.test"),
        "{sitemap_urls:?}"
    );
}

/// pywb's `wayback` and `wb-manager`: beside the Python the WARC tests use, or in the
/// venv `.ci/run` makes. Required on CI; elsewhere the replay test says it skips.
fn pywb() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/warcio-venv/bin");
    let beside_python = std::env::var_os("CRAWLER_TEST_PYTHON")
        .and_then(|python| Path::new(&python).parent().map(Path::to_path_buf));
    let found = beside_python
        .into_iter()
        .chain([venv])
        .find(|bin| bin.join("wayback").is_file() && bin.join("wb-manager").is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "pywb is required on CI: .ci/run installs it into target/warcio-venv"
        );
        eprintln!(
            "NOTICE: skipping the replay in pywb: no pywb found \
             (target/warcio-venv/bin/pip install pywb)"
        );
    }
    found
}

/// A pywb server, stopped when dropped.
struct Wayback(Child);

impl Drop for Wayback {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET target` from a server on loopback `port`: the status and the body.
fn http_get(port: u16, target: &str) -> Option<(u16, Vec<u8>)> {
    http_exchange(&format!("127.0.0.1:{port}"), "GET", target).ok()
}

#[test]
fn the_warc_export_of_a_page_and_its_requisites_replays_in_pywb() {
    let crawled = styled()
        .flags(&["--requisites", "--per-host-rate", "0"])
        .crawl();
    let Some(bin) = pywb() else {
        return;
    };
    let dir = crawled.workspace().path("pywb");
    std::fs::create_dir_all(&dir).unwrap();
    let warc = dir.join("site.warc.gz");
    let warc = warc.to_str().expect("a UTF-8 path");
    let cdxj = dir.join("site.cdxj");
    crawled.query("export", &["-o", warc, "--cdxj", cdxj.to_str().unwrap()]);
    let manage = |args: &[&str]| {
        let run = Command::new(bin.join("wb-manager"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "wb-manager {args:?}: {stderr}");
    };
    manage(&["init", "crawl"]);
    manage(&["add", "crawl", warc]);
    // A second collection replays from our CDXJ index, not one pywb makes.
    manage(&["init", "ours"]);
    let ours = dir.join("collections/ours");
    std::fs::copy(warc, ours.join("archive/site.warc.gz")).unwrap();
    std::fs::copy(&cdxj, ours.join("indexes/index.cdxj")).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("wayback.log")).unwrap();
    let _wayback = Wayback(
        Command::new(bin.join("wayback"))
            .args(["-p", &port.to_string(), "-b", "127.0.0.1"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_until("pywb serves the collection", || {
        http_get(port, "/crawl/").is_some_and(|(status, _)| status == 200)
    });

    // Each of them, as archived: what the server sent.
    let server = crawled.server();
    let page = server.url(STYLED_HOST, "/");
    let mut urls = requisite_urls(&crawled);
    urls.insert(page.clone());
    for url in &urls {
        let (_, _, sent) = fetch_raw(server, url);
        for collection in ["crawl", "ours"] {
            let replayed = http_get(port, &format!("/{collection}/id_/{url}"));
            assert!(
                replayed.as_ref() == Some(&(200, sent.clone())),
                "{url} is not replayed as sent from {collection}"
            );
        }
    }
    // The page as a browser replays it: its stylesheet, script and images are taken
    // from the archive.
    let (status, html) = http_get(port, &format!("/crawl/mp_/{page}")).unwrap();
    assert_eq!(status, 200);
    let html = String::from_utf8_lossy(&html);
    for (kind, host, path) in [
        ("cs_", STYLED_HOST, "/css/site.css"),
        ("js_", STYLED_HOST, "/js/app.js"),
        ("im_", CDN_HOST, "/photo.png"),
    ] {
        let archived = format!("{kind}/{}", server.url(host, path));
        assert!(html.contains(&archived), "{archived} not in {html}");
    }
}
