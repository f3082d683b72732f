//! JavaScript rendering (`--render always`, `auto`): links a script adds are found, and every
//! request a rendered page makes is one of the crawler's, in the server's log: once,
//! after robots.txt, spaced by the host's politeness. Needs Chromium (`.ci/run`
//! installs it): without one the tests fail in CI and are skipped elsewhere.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crawler_fixtures::{
    plain_stylesheet, ASSETS_HOST, BUSY_DISALLOWED, BUSY_HOST, BUSY_OTHER, BUSY_OWN, PLAIN_HOST,
    PLAIN_PAGES, SPA_HOST, SPA_LINKS,
};
use crawler_tests::{
    run_with_env, wait_until, Crawled, CrawlerBinary, RequestRecord, Scenario, WebConfig,
};

/// Whether a browser is on `PATH`; a test without one fails in CI and is skipped
/// elsewhere.
fn chromium_present() -> bool {
    let names = crawler_core::render::BROWSER_NAMES;
    if names
        .iter()
        .any(|name| crawler_core::render::find_program(name).is_ok())
    {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none_or(|ci| ci != "true"),
        "Chromium is needed for the --render tests in CI (apt-get install chromium)"
    );
    eprintln!("skipped: no Chromium on this machine (apt-get install chromium)");
    false
}

fn scripted(host: &str, path: &str) -> Scenario {
    Scenario::web(WebConfig {
        hosts: 1,
        pages: 1,
        ..WebConfig::default()
    })
    .seed_urls(&[(host, path)])
}

fn times_asked(log: &[RequestRecord], host: &str, path: &str) -> usize {
    log.iter()
        .filter(|r| r.host == host && r.path == path)
        .count()
}

fn position(log: &[RequestRecord], host: &str, path: &str) -> usize {
    log.iter()
        .position(|r| r.host == host && r.path == path)
        .unwrap_or_else(|| panic!("{host}{path} never asked: {log:?}"))
}

/// `crawler get URL --rendered`: the DOM as rendered.
fn rendered(crawled: &Crawled, host: &str, path: &str) -> String {
    let url = crawled.server().url(host, path);
    crawled.query("get", &[&url, "--rendered"]).stdout()
}

#[test]
fn a_single_page_apps_links_are_found_only_by_rendering_and_its_api_fetched_once_by_the_crawler() {
    if !chromium_present() {
        return;
    }
    let plain = scripted(SPA_HOST, "/")
        .flags(&["--per-host-rate", "0"])
        .crawl();
    let log = plain.server().log();
    for link in SPA_LINKS {
        assert_eq!(times_asked(&log, SPA_HOST, link), 0, "{link}: {log:?}");
    }

    let crawled = plain
        .then()
        .flags(&[
            "--per-host-rate",
            "0",
            "--render",
            "always",
            "--render-timeout",
            "120",
        ])
        .crawl();
    let log = crawled.server().log();
    for link in SPA_LINKS {
        assert_eq!(times_asked(&log, SPA_HOST, link), 1, "{link}: {log:?}");
    }
    // The script's request: fetched once, by the crawler, after robots.txt, and
    // stored as the page's (via render).
    assert_eq!(times_asked(&log, SPA_HOST, "/api/items.json"), 1, "{log:?}");
    assert!(position(&log, SPA_HOST, "/robots.txt") < position(&log, SPA_HOST, "/api/items.json"));
    let api = crawled.record(&crawled.server().url(SPA_HOST, "/api/items.json"));
    assert_eq!(api["via"], "render", "{api}");
    assert_eq!(api["status"], 200, "{api}");
    // The rendered DOM is kept, the fetched page too.
    let dom = rendered(&crawled, SPA_HOST, "/");
    for link in SPA_LINKS {
        assert!(dom.contains(&format!("href=\"{link}\"")), "{dom}");
    }
    let fetched = crawled.query("get", &[&crawled.server().url(SPA_HOST, "/")]);
    assert!(
        !fetched.stdout().contains("/item/1"),
        "{}",
        fetched.stdout()
    );
    // The rendering is a part of its page: the store, its listing and the summary
    // count each URL fetched once.
    let urls: BTreeSet<String> = (log.iter())
        .filter(|r| r.path != "/robots.txt")
        .map(|r| crawled.server().url(&r.host, &r.path))
        .collect();
    assert_eq!(crawled.stored_urls(), urls);
    let stats = crawled.query("stats", &["--json"]).json();
    assert_eq!(stats["urls"], urls.len(), "{stats}");
    let summary = crawled.summary();
    assert_eq!(summary["pages_fetched"], urls.len(), "{summary}");
    let rendered = &summary["rendering"]["pages"];
    assert_eq!(rendered["idle"], 1 + SPA_LINKS.len(), "{summary}");
    let root = crawled.record(&crawled.server().url(SPA_HOST, "/"));
    assert_eq!(root["rendered"], "idle", "{root}");
}

#[test]
fn urls_a_page_moves_to_with_push_state_are_followed() {
    if !chromium_present() {
        return;
    }
    let crawled = scripted(SPA_HOST, "/history")
        .flags(&[
            "--per-host-rate",
            "0",
            "--render",
            "always",
            "--render-timeout",
            "120",
            "--max-depth",
            "1",
        ])
        .crawl();
    let log = crawled.server().log();
    for moved in ["/pushed/one", "/pushed/two"] {
        assert_eq!(times_asked(&log, SPA_HOST, moved), 1, "{moved}: {log:?}");
    }
}

#[test]
fn a_page_that_never_settles_is_kept_as_rendered_by_the_timeout() {
    if !chromium_present() {
        return;
    }
    let crawled = scripted(SPA_HOST, "/poll")
        .flags(&[
            "--per-host-rate",
            "0",
            "--render",
            "always",
            // Polled every 100 ms: only a machine stalled for a second settles it.
            "--render-idle",
            "1",
            "--render-timeout",
            "3",
            "--max-depth",
            "1",
        ])
        .crawl();
    let url = crawled.server().url(SPA_HOST, "/poll");
    let record = crawled.query("get", &[&url, "--rendered", "--json"]).json();
    assert_eq!(record["error"], "render-timeout", "{record}");
    let summary = crawled.summary();
    assert_eq!(
        summary["rendering"]["pages"]["render-timeout"], 1,
        "{summary}"
    );
    assert!(rendered(&crawled, SPA_HOST, "/poll").contains("href=\"/polled\""));
    let log = crawled.server().log();
    assert_eq!(times_asked(&log, SPA_HOST, "/polled"), 1, "{log:?}");
    // Polled ten times a second, fetched once: the rest answered from the store.
    assert_eq!(times_asked(&log, SPA_HOST, "/api/tick"), 1, "{log:?}");
}

#[test]
fn every_request_of_a_rendered_page_is_robots_checked_and_spaced_by_its_hosts_rate() {
    if !chromium_present() {
        return;
    }
    let crawled = scripted(BUSY_HOST, "/")
        // Thirteen requests at two a second: settled long before this timeout.
        .flags(&[
            "--per-host-rate",
            "2",
            "--render",
            "always",
            "--render-timeout",
            "120",
        ])
        .crawl();
    let log = crawled.server().log();
    for (host, paths) in [(BUSY_HOST, &BUSY_OWN[..]), (ASSETS_HOST, &BUSY_OTHER[..])] {
        let robots = position(&log, host, "/robots.txt");
        for path in paths {
            assert_eq!(times_asked(&log, host, path), 1, "{host}{path}: {log:?}");
            assert!(robots < position(&log, host, path), "{log:?}");
        }
        let mut starts: Vec<Instant> = (log.iter())
            .filter(|r| r.host == host)
            .map(|r| r.start)
            .collect();
        starts.sort();
        for gap in starts.windows(2).map(|w| w[1] - w[0]) {
            // Two a second: one every 500 ms (the clock's grain allowed).
            assert!(
                gap >= Duration::from_millis(490),
                "{host}: {gap:?}: {log:?}"
            );
        }
    }
    assert_eq!(
        times_asked(&log, ASSETS_HOST, BUSY_DISALLOWED),
        0,
        "{log:?}"
    );
    let refused = crawled.record(&crawled.server().url(ASSETS_HOST, BUSY_DISALLOWED));
    assert_eq!(refused["error"], "robots-disallowed", "{refused}");
    let renders: BTreeSet<String> = crawled
        .query("ls", &["--via", "render", "--json"])
        .json_lines()
        .iter()
        .map(|page| page["url"].as_str().expect("a URL").to_owned())
        .collect();
    for path in BUSY_OWN {
        assert!(renders.contains(&crawled.server().url(BUSY_HOST, path)));
    }
}

#[test]
fn without_a_browser_render_is_refused_naming_what_to_install() {
    let scenario = scripted(SPA_HOST, "/");
    let missing = scenario.try_crawl(&["--render", "always", "--chrome", "/nonexistent/chrome"]);
    assert_eq!(missing.code(), Some(2), "{}", missing.stderr());
    assert!(
        missing.stderr().contains("/nonexistent/chrome"),
        "{}",
        missing.stderr()
    );

    let mut args = scenario.args();
    args.extend(["--render", "always"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let none = run_with_env(CrawlerBinary, &args, &[("PATH", "/nonexistent")]);
    assert_eq!(none.code(), Some(2), "{}", none.stderr());
    assert!(
        none.stderr().contains("apt-get install chromium"),
        "{}",
        none.stderr()
    );
    assert!(scenario.server().log().is_empty(), "nothing fetched");
}

/// The processes whose parent is `pid`, and theirs.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
            let after = stat.rsplit_once(')')?.1;
            let parent = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((child, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        next += 1;
    }
    found.remove(0);
    found
}

/// Whether `pid` runs (a zombie waiting for its reaper does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| Some(stat.rsplit_once(')')?.1.split_whitespace().next()? != "Z"))
        .unwrap_or(false)
}

#[test]
fn a_crawler_killed_with_sigkill_leaves_no_browser_behind() {
    if !chromium_present() {
        return;
    }
    let scenario = scripted(SPA_HOST, "/poll");
    let mut args = scenario.args();
    args.extend(["--render", "always", "--render-timeout", "120"].map(str::to_owned));
    let mut crawler = Command::new(CrawlerBinary.path())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the crawler starts");
    // The page polls: its browser is up and rendering.
    wait_until("the rendering page's first poll", || {
        times_asked(&scenario.server().log(), SPA_HOST, "/api/tick") > 0
    });
    let browser = descendants(crawler.id());
    assert!(!browser.is_empty(), "no browser under the crawler");
    crawler.kill().expect("SIGKILL");
    crawler.wait().expect("the crawler ends");
    wait_until("the browser to end with the crawler", || {
        browser.iter().all(|pid| !alive(*pid))
    });
}

#[test]
fn render_auto_keeps_rendering_the_single_page_app_and_stops_on_the_plain_site_after_its_trial() {
    if !chromium_present() {
        return;
    }
    let crawled = Scenario::web(WebConfig {
        hosts: 1,
        pages: 1,
        ..WebConfig::default()
    })
    .seed_urls(&[(SPA_HOST, "/"), (PLAIN_HOST, "/")])
    .flags(&[
        "--per-host-rate",
        "0",
        "--render",
        "auto",
        "--render-timeout",
        "120",
    ])
    .crawl();
    let log = crawled.server().log();
    // The app: rendered from its first page on, so the pages its script led to are
    // rendered too (a browser asks for their stylesheets).
    assert_eq!(times_asked(&log, SPA_HOST, "/app.js"), 1, "{log:?}");
    for link in SPA_LINKS {
        let stylesheet = plain_stylesheet(link);
        assert_eq!(times_asked(&log, SPA_HOST, &stylesheet), 1, "{log:?}");
    }
    // The plain site: every page fetched, its first three rendered, no more.
    let pages: Vec<&str> = ["/"].into_iter().chain(PLAIN_PAGES).collect();
    for page in &pages {
        assert_eq!(times_asked(&log, PLAIN_HOST, page), 1, "{page}: {log:?}");
    }
    let rendered: Vec<&&str> = (pages.iter())
        .filter(|page| times_asked(&log, PLAIN_HOST, &plain_stylesheet(page)) > 0)
        .collect();
    assert_eq!(rendered.len(), 3, "{rendered:?}: {log:?}");
    assert!(rendered.contains(&&"/"), "{rendered:?}");
    // The summary says which hosts were rendered, and why.
    let summary = crawled.summary();
    let hosts = summary["rendering"]["hosts"]
        .as_object()
        .expect("hosts tried");
    let decided = |name: &str| {
        let (_, decided) = (hosts.iter())
            .find(|(host, _)| host.contains(name))
            .unwrap_or_else(|| panic!("{name} not in {summary}"));
        (decided["rendered"].clone(), decided["why"].to_string())
    };
    let (spa, why) = decided(SPA_HOST);
    assert_eq!(spa, true, "{summary}");
    assert!(why.contains("3 links found only by rendering"), "{why}");
    let (plain, why) = decided(PLAIN_HOST);
    assert_eq!(plain, false, "{summary}");
    assert!(why.contains("first 3 pages"), "{why}");
    assert_eq!(summary["rendering"]["hosts_tried"], 2, "{summary}");
    assert_eq!(summary["rendering"]["hosts_rendered"], 1, "{summary}");
    assert_eq!(summary["rendering"]["pages"]["idle"], 4 + 3, "{summary}");
}
