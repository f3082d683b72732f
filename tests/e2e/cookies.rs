//! Cookies: one jar per crawl, by RFC 6265's rules, kept in the store; `--cookies
//! FILE` and `--no-cookies`. Judged by the `Cookie` headers the fixture server saw.

use std::process::{Command, Stdio};

use crawler_fixtures::cookies::{MEMBER_PAGES, NOSY_HOST, SESSION_COOKIE, SESSION_HOST};
use crawler_tests::{
    run, wait_until, wait_until_holding, FixtureServer, RequestRecord, Scenario, WebConfig,
};

use crate::CRAWLER;

fn web() -> Scenario {
    Scenario::web(WebConfig {
        hosts: 1,
        pages: 2,
        ..WebConfig::default()
    })
}

/// The session cookie as a `Cookie` header carries it.
fn session() -> String {
    format!("sid={SESSION_COOKIE}")
}

/// The paths of the pages that need the session.
fn member_paths() -> Vec<String> {
    let mut paths = vec!["/members/".to_owned()];
    paths.extend((0..MEMBER_PAGES).map(|n| format!("/members/{n}")));
    paths
}

/// The last request of `host` and `path` the server saw.
fn request(server: &FixtureServer, host: &str, path: &str) -> RequestRecord {
    let log = server.log();
    let found = log.iter().rev().find(|r| r.host == host && r.path == path);
    found
        .cloned()
        .unwrap_or_else(|| panic!("no request of {host}{path}: {log:?}"))
}

/// Every member page was answered 200, the session cookie having gone with it.
fn assert_members_got_the_session(server: &FixtureServer) {
    for path in member_paths() {
        let seen = request(server, SESSION_HOST, &path);
        assert_eq!(seen.status, 200, "{path}: {seen:?}");
        let cookie = seen.cookie.unwrap_or_default();
        assert!(
            cookie.split("; ").any(|c| c == session()),
            "{path}: {cookie}"
        );
    }
}

#[test]
fn the_session_a_login_sets_goes_with_every_later_request_and_its_value_shows_nowhere() {
    let crawled = web()
        .seed_urls(&[(SESSION_HOST, "/")])
        .flags(&["--per-host-rate", "0", "-vvv"])
        .crawl();
    let server = crawled.server();
    assert_members_got_the_session(server);
    // The robots.txt response set a cookie too, sent with the first page.
    assert_eq!(
        request(server, SESSION_HOST, "/").cookie.as_deref(),
        Some("seen=robots")
    );

    let log = crawled.run().stderr();
    assert!(
        log.contains("cookie stored"),
        "-vvv shows the jar at work: {log}"
    );
    assert!(
        !log.contains(SESSION_COOKIE),
        "the log shows a cookie value: {log}"
    );
    let members = server.url(SESSION_HOST, "/members/");
    let sent = crawled
        .query("get", &[&members, "--headers", "--request"])
        .stdout();
    assert!(sent.to_lowercase().contains("sid=[redacted]"), "{sent}");
    let login = server.url(SESSION_HOST, "/login");
    let answered = crawled.query("get", &[&login, "--headers"]).stdout();
    assert!(
        answered
            .to_lowercase()
            .contains("set-cookie: sid=[redacted]; path=/; httponly"),
        "{answered}"
    );
    for args in [
        &["get", &members, "--json"][..],
        &["export", "--format", "jsonl"],
        &["ls", "--json"],
    ] {
        let out = crawled.query(args[0], &args[1..]).stdout();
        assert!(
            !out.contains(SESSION_COOKIE),
            "{args:?} shows the cookie: {out}"
        );
    }
}

#[test]
fn a_cookie_goes_to_no_other_host_and_none_is_taken_for_a_public_suffix() {
    // nosy.test sets cookies for the public suffix `test`, for session.test, and a
    // Secure one over http: none of them is ever sent.
    let crawled = web()
        .seed_urls(&[(NOSY_HOST, "/")])
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let server = crawled.server();
    let again = request(server, NOSY_HOST, "/again");
    assert_eq!((again.status, again.cookie), (200, None));

    // The same crawl (its jar kept in the store) logs in on session.test...
    let session_root = server.url(SESSION_HOST, "/");
    crawled
        .resume(&[&session_root, "--per-host-rate", "0"])
        .success();
    assert_members_got_the_session(server);
    for seen in server.log().iter().filter(|r| r.host == SESSION_HOST) {
        let cookie = seen.cookie.clone().unwrap_or_default();
        for foreign in ["wide=", "steal=", "sec="] {
            assert!(!cookie.contains(foreign), "{}: {cookie}", seen.path);
        }
    }
    // ... and nosy.test, asked again, gets nothing of session.test's.
    let later = server.url(NOSY_HOST, "/later");
    crawled.resume(&[&later, "--per-host-rate", "0"]).success();
    assert_eq!(request(server, NOSY_HOST, "/later").cookie, None);
}

#[test]
fn without_cookies_the_pages_that_need_the_session_are_refused() {
    let crawled = web()
        .seed_urls(&[(SESSION_HOST, "/")])
        .flags(&["--per-host-rate", "0", "--no-cookies"])
        .crawl();
    let server = crawled.server();
    assert_eq!(request(server, SESSION_HOST, "/members/").status, 403);
    assert!(
        server.log().iter().all(|r| r.cookie.is_none()),
        "{:?}",
        server.log()
    );
    let members = server.url(SESSION_HOST, "/members/");
    assert_eq!(crawled.record(&members)["status"], 403);
}

#[test]
fn a_crawl_killed_after_its_login_resumes_with_its_session() {
    let scenario = web();
    let server = scenario.server();
    let store = scenario.workspace().store();
    let store_arg = store.to_str().unwrap();
    let crawl = |seeds: &[String]| {
        Command::new(CRAWLER)
            .args(["crawl", "--store", store_arg, "--no-progress"])
            .args(["--resolve", &server.resolve_arg(), "--per-host-rate", "0"])
            .args(seeds)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // robots.txt, / and /login answered; /members/ held back.
    server.hold_after(3);
    let mut first = crawl(&[server.url(SESSION_HOST, "/")]);
    wait_until_holding(server);
    assert_eq!(request(server, SESSION_HOST, "/login").status, 302);
    wait_until("the session cookie saved with the crawl", || {
        std::fs::read(store.join("cookies.jar"))
            .is_ok_and(|jar| String::from_utf8_lossy(&jar).contains(SESSION_COOKIE))
    });
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    server.release();
    server.clear_log();

    let resumed = crawl(&[]).wait_with_output().unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_members_got_the_session(server);
    assert!(
        server.log().iter().all(|r| r.path != "/login"),
        "logged in again: {:?}",
        server.log()
    );
}

#[test]
fn a_cookies_file_is_loaded_and_its_cookies_go_to_their_domain_only() {
    let scenario = web();
    let ws = scenario.workspace();
    let dir = ws.path("conf");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("cookies.txt"),
        format!(
            "# Netscape HTTP Cookie File\n\n\
             #HttpOnly_{SESSION_HOST}\tFALSE\t/\tFALSE\t0\tsid\t{SESSION_COOKIE}\n\
             .{NOSY_HOST}\tTRUE\t/\tFALSE\t0\tnosy\tonly-nosy\n"
        ),
    )
    .unwrap();
    // A relative path in a config file is the file's directory's.
    let config = dir.join("crawl.toml");
    std::fs::write(&config, "cookies = \"cookies.txt\"\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    let crawled = scenario
        .seed_urls(&[(SESSION_HOST, "/members/")])
        .flags(&["--per-host-rate", "0", "--config", &config])
        .crawl();
    let server = crawled.server();
    assert_members_got_the_session(server);
    assert!(
        server
            .log()
            .iter()
            .all(|r| !r.cookie.clone().unwrap_or_default().contains("nosy=")),
        "{:?}",
        server.log()
    );
}

#[test]
fn a_bad_cookies_file_line_stops_the_crawl_before_anything_is_fetched() {
    let scenario = web().seed_urls(&[(SESSION_HOST, "/")]);
    let file = scenario.workspace().path("cookies.txt");
    std::fs::write(
        &file,
        "# Netscape HTTP Cookie File\nsession.test\tFALSE\t/\tFALSE\t0\tsid\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let refused = scenario.try_crawl(&["--cookies", file]);
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr());
    let said = refused.stderr();
    assert!(
        said.contains(&format!("{file}:2: expected 7 fields")),
        "{said}"
    );
    let both = scenario.try_crawl(&["--cookies", file, "--no-cookies"]);
    assert_eq!(both.code(), Some(2), "{}", both.stderr());
    assert!(both.stderr().contains("--no-cookies"), "{}", both.stderr());
    assert!(
        scenario.server().log().is_empty(),
        "{:?}",
        scenario.server().log()
    );
    // Nor does --fresh delete a crawl before the file is read.
    scenario.try_crawl(&["--per-host-rate", "0"]).success();
    let fresh = scenario.try_crawl(&["--cookies", file, "--fresh", "--force"]);
    assert_eq!(fresh.code(), Some(2), "{}", fresh.stderr());
    let store = scenario.workspace().store();
    let kept = run(
        CRAWLER,
        &["ls", "--store", store.to_str().unwrap(), "--json"],
    );
    assert!(
        !kept.success().json_lines().is_empty(),
        "--fresh deleted the crawl"
    );
    let missing = run(
        CRAWLER,
        &[
            "crawl",
            "--store",
            "/nonexistent/store",
            "--cookies",
            "/nonexistent/c.txt",
            "http://a.test/",
        ],
    );
    assert_eq!(missing.code(), Some(2), "{}", missing.stderr());
    assert!(
        missing.stderr().contains("/nonexistent/c.txt: cannot read"),
        "{}",
        missing.stderr()
    );
}
