//! Hostile input: nonsense flag values, bad seed files (invalid URLs, other schemes,
//! binary junk, endless lines, a million lines) and store paths that cannot be used.
//! Each gets a clear message and a non-zero exit before anything is fetched, except
//! bad seed lines under `--skip-bad-seeds`, which are warned about and skipped.

use std::process::{Command, Stdio};
use std::time::Instant;

use crawler_tests::{wait_until_holding, Scenario, WebConfig};

use crate::hostile_support::{crawl_measured, record};
use crate::CRAWLER;

/// Peak RSS allowed for reading a seed file of a million lines (250,000 of them
/// URLs, 10 distinct; 250,000 bad lines skipped): measured near 90 MiB.
const MILLION_LINES_RSS_KIB: u64 = 256 * 1024;

fn tiny_web() -> Scenario {
    Scenario::web(WebConfig {
        hosts: 1,
        pages: 10,
        ..WebConfig::default()
    })
}

#[test]
fn every_crawl_flag_given_nonsense_is_refused_before_crawling() {
    let scenario = tiny_web().first_host_only();
    let ws = scenario.workspace();
    let seeds_dir = ws.path("a-directory");
    std::fs::create_dir(&seeds_dir).unwrap();
    let seeds_dir = seeds_dir.display().to_string();
    let missing = ws.path("missing.txt").display().to_string();
    // (flags, what the message must name)
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--workers", "0"], "workers"),
        (vec!["--workers", "-3"], "workers"),
        (vec!["--workers", "many"], "workers"),
        (vec!["--workers", "99999"], "workers"),
        (vec!["--per-host-concurrency", "0"], "per-host-concurrency"),
        (
            vec!["--per-host-concurrency", "100000"],
            "per-host-concurrency",
        ),
        (vec!["--per-host-rate", "nan"], "per-host-rate"),
        (vec!["--per-host-rate", "inf"], "per-host-rate"),
        (vec!["--per-host-rate", "1e300"], "per-host-rate"),
        (vec!["--scope", "galaxy"], "scope"),
        (vec!["--allow", "(unclosed"], "allow"),
        (vec!["--deny", "[z-a]"], "deny"),
        (vec!["--max-depth", "-1"], "max-depth"),
        (vec!["--max-depth", "deep"], "max-depth"),
        (vec!["--max-pages", "0"], "max-pages"),
        (vec!["--max-pages-per-host", "0"], "max-pages-per-host"),
        (vec!["--max-pages-per-run", "0"], "max-pages-per-run"),
        (vec!["--max-queued-per-host", "0"], "max-queued-per-host"),
        (vec!["--max-sitemap-urls", "-1"], "max-sitemap-urls"),
        (vec!["--user-agent", ""], "user-agent"),
        (vec!["--user-agent", "bad\u{7}agent"], "user-agent"),
        (vec!["--timeout", "0"], "timeout"),
        (vec!["--timeout", "-5"], "timeout"),
        (vec!["--timeout", "NaN"], "timeout"),
        (vec!["--timeout", "1e300"], "timeout"),
        (vec!["--timeout", "99999999999"], "timeout"),
        (vec!["--connect-timeout", "0"], "connect-timeout"),
        (vec!["--max-body", "0"], "max-body"),
        (vec!["--max-body", "5X"], "max-body"),
        (vec!["--max-body", "2G"], "max-body"),
        (vec!["--max-body", "99999999999999G"], "max-body"),
        (vec!["--bodies", "some"], "bodies"),
        (vec!["--max-redirects", "300"], "max-redirects"),
        (vec!["--resolve", "a.test:80"], "resolve"),
        (vec!["--resolve", "a.test:http:127.0.0.1"], "resolve"),
        (vec!["--allow-address", "10.0.0.0/33"], "allow-address"),
        (vec!["--deny-address", "intranet"], "deny-address"),
        (vec!["--cache-mb", "-1"], "cache-mb"),
        (vec!["--cache-mb", "99999999999999"], "cache-mb"),
        (vec!["--robots-agent", "bot/1.0"], "robots-agent"),
        (vec!["--max-crawl-delay", "-1"], "max-crawl-delay"),
        (vec!["--max-crawl-delay", "1e300"], "max-crawl-delay"),
        (vec!["--retries", "-1"], "retries"),
        (vec!["--retries", "1000"], "retries"),
        (vec!["--retry-backoff", "1e30"], "retry-backoff"),
        (vec!["--max-backoff", "nan"], "max-backoff"),
        (vec!["--park-after", "0"], "park-after"),
        (vec!["--sitemap", "ftp://a.test/sitemap.xml"], "sitemap"),
        (vec!["--max-url-len", "10"], "max-url-len"),
        (vec!["--max-url-len", "100000"], "max-url-len"),
        (
            vec!["--max-repeated-segments", "-2"],
            "max-repeated-segments",
        ),
        (vec!["--seeds", &missing], "--seeds"),
        (vec!["--seeds", &seeds_dir], "a-directory"),
        (vec!["--frobnicate", "1"], "--frobnicate"),
    ];
    for (flags, named) in &cases {
        let out = scenario.try_crawl(flags);
        let stderr = out.stderr();
        assert_eq!(out.code(), Some(2), "{flags:?}: {stderr}");
        assert!(
            stderr.contains(named),
            "{flags:?} must name {named}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{flags:?}: {stderr}");
        assert!(
            stderr.lines().count() <= 8,
            "{flags:?}: a short message: {stderr}"
        );
    }
    assert!(scenario.server().log().is_empty(), "nothing fetched");
    assert!(!ws.store().exists(), "no store created");
}

#[test]
fn bad_seed_lines_stop_the_crawl_or_are_skipped_with_a_warning() {
    let scenario = tiny_web();
    let server = scenario.server();
    let good = server.url("h0.test", "/page/1");
    let also_good = server.url("h0.test", "/page/2");
    let mut text = Vec::new();
    text.extend_from_slice(b"\xef\xbb\xbf"); // a BOM
    text.extend_from_slice(format!("{good}\r\n\r\n# a comment\r\n").as_bytes()); // lines 1-3
    text.extend_from_slice(b"not a url\n"); // 4
    text.extend_from_slice(b"ftp://files.test/x\n"); // 5
    text.extend_from_slice(b"http://bin\xff\xfe.test/\n"); // 6: not UTF-8
    text.extend_from_slice(format!("http://h0.test/{}\n", "x".repeat(20_000)).as_bytes()); // 7
    text.extend_from_slice(b"javascript:alert(1)\n"); // 8
    text.extend_from_slice(format!("   {also_good}   ").as_bytes()); // 9, no newline
    let scenario = scenario.seed_file_bytes(&text).text();

    let out = scenario.try_crawl(&[]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    assert!(out.stderr().contains("seeds.txt:4: "), "{}", out.stderr());
    assert!(scenario.server().log().is_empty(), "nothing fetched");

    let crawled = scenario
        .flags(&["--skip-bad-seeds", "--per-host-rate", "0"])
        .crawl();
    let stderr = crawled.run().stderr();
    for (line, says) in [
        (4, "invalid URL"),
        (5, "unsupported scheme"),
        (6, "not UTF-8"),
        (7, "longer than"),
        (8, "unsupported scheme"),
    ] {
        let warning = format!("seeds.txt:{line}: {says}");
        assert!(stderr.contains(&warning), "{warning:?} in {stderr}");
    }
    assert_eq!(
        stderr.matches("warning: skipped seed").count(),
        5,
        "{stderr}"
    );
    for url in [&good, &also_good] {
        assert_eq!(crawled.record(url)["status"], 200, "{url}");
    }
}

#[test]
fn a_bad_seed_line_far_down_a_long_list_stops_the_crawl_before_anything_is_fetched() {
    // The crawl reads a seed file as it goes, a batch at a time; a bad line past the
    // first batches must still be found before the first request.
    let scenario = tiny_web();
    let good = scenario.server().url("h0.test", "/page/0");
    let mut text = String::new();
    for i in 0..30_000 {
        text.push_str(&format!("{good}?n={i}\n"));
    }
    text.push_str("ftp://files.test/x\n"); // line 30,001
    text.push_str(&format!("{good}\n"));
    let scenario = scenario.seed_file(&text);
    let out = scenario.try_crawl(&[]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    assert!(
        out.stderr().contains("seeds.txt:30001: "),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("--skip-bad-seeds"),
        "{}",
        out.stderr()
    );
    assert!(scenario.server().log().is_empty(), "nothing fetched");

    // And with --fresh, which checks the whole list before it deletes anything.
    let fresh = scenario.try_crawl(&["--fresh", "--force"]);
    assert_eq!(fresh.code(), Some(2), "{}", fresh.stderr());
    assert!(
        fresh.stderr().contains("seeds.txt:30001: "),
        "{}",
        fresh.stderr()
    );
    assert!(scenario.server().log().is_empty(), "nothing fetched");
}

#[test]
fn a_million_seed_lines_are_read_in_bounded_time_and_memory() {
    let scenario = tiny_web();
    let urls: Vec<String> = (0..10)
        .map(|i| scenario.server().url("h0.test", &format!("/page/{i}")))
        .collect();
    let mut text = String::with_capacity(40 << 20);
    for i in 0..1_000_000 {
        match i % 4 {
            0 => text.push_str(&urls[(i / 4) % urls.len()]),
            1 => {}
            2 => text.push_str("# a comment\r"),
            _ => text.push_str("not a url"),
        }
        text.push('\n');
    }
    let scenario = scenario
        .seed_file(&text)
        .flags(&["--skip-bad-seeds", "--per-host-rate", "0"]);
    let started = Instant::now();
    let (crawled, peak_rss_kib) = crawl_measured(scenario);
    let elapsed = started.elapsed();
    let stderr = crawled.run().stderr();
    // 250,000 bad lines: the first 20 in full, then a count.
    assert_eq!(
        stderr.matches("warning: skipped seed").count(),
        20,
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped 250000 bad seed lines in all"),
        "{stderr}"
    );
    // 250,000 URL lines, 10 distinct URLs: each fetched once.
    let pages = crawled
        .server()
        .log()
        .iter()
        .filter(|r| r.path.starts_with("/page/"))
        .count();
    assert_eq!(pages, 10);
    assert!(
        peak_rss_kib < MILLION_LINES_RSS_KIB,
        "peak RSS {peak_rss_kib} KiB, bound {MILLION_LINES_RSS_KIB} KiB"
    );
    eprintln!("a million seed lines: {elapsed:?}, peak RSS {peak_rss_kib} KiB");
}

#[test]
fn store_paths_that_cannot_be_used_are_refused_before_crawling() {
    let mut scenario = tiny_web().first_host_only();
    let ws_store = scenario.workspace().store();
    let seed = scenario.server().seeds()[0].clone();
    let file = scenario.workspace().path("a-file");
    std::fs::write(&file, "x").unwrap();
    // A store inside a file, a store that is a file, a store where nothing may be
    // created (root may write anywhere but /proc).
    let unwritable = if is_root() {
        "/proc/crawler-test-store".to_string()
    } else {
        let dir = scenario.workspace().path("read-only");
        std::fs::create_dir(&dir).unwrap();
        let mut permissions = std::fs::metadata(&dir).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o555);
        std::fs::set_permissions(&dir, permissions).unwrap();
        dir.join("store").display().to_string()
    };
    for store in [
        file.join("store").display().to_string(),
        file.display().to_string(),
        unwritable,
    ] {
        scenario = scenario.store(&store);
        let out = scenario.try_crawl(&[]);
        assert_eq!(out.code(), Some(1), "{store}: {}", out.stderr());
        assert!(out.stderr().contains(&store), "{}", out.stderr());
        assert!(!out.stderr().contains("panicked"), "{}", out.stderr());
    }
    assert!(scenario.server().log().is_empty(), "nothing fetched");

    // In use: a crawl held mid-way by the server holds the store; a second crawl of
    // it is refused while the first still runs, and the first then finishes as if
    // nothing happened.
    let scenario = scenario.store(&ws_store);
    let server = scenario.server();
    server.hold_after(1); // robots.txt; the seed page waits.
    let mut first = Command::new(CRAWLER)
        .args(scenario.args())
        .args(["--max-pages", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_holding(server);
    let second = scenario.try_crawl(&[]);
    assert_eq!(second.code(), Some(1), "{}", second.stderr());
    assert!(second.stderr().contains("in use"), "{}", second.stderr());
    assert!(
        first.try_wait().unwrap().is_none(),
        "refused at once, not after waiting for the first crawl"
    );
    server.release();
    assert!(first.wait().unwrap().success());
    assert_eq!(record(&ws_store, &seed)["status"], 200);
}

fn is_root() -> bool {
    // SAFETY: `geteuid` only reads the process's effective user id.
    unsafe { libc::geteuid() == 0 }
}
