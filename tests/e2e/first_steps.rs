//! What a newcomer meets in the first minutes: commands that work with what they
//! already know (a default user agent, a file name's extension), counts that read
//! right (`1 page`, robots.txt fetched only when it answered), figures that agree,
//! each line said once, completions that offer the values a flag takes.

use std::net::TcpListener;

use crawler_tests::{run, Crawled, Scenario, WebConfig, Workspace};

use crate::CRAWLER;

/// One host of one page, crawled with the text summary.
fn one_page() -> Crawled {
    Scenario::web(WebConfig {
        hosts: 1,
        pages: 1,
        ..WebConfig::default()
    })
    .text()
    .crawl()
}

/// One host of three pages, crawled with the JSON summary.
fn three_pages() -> Crawled {
    Scenario::web(WebConfig {
        hosts: 1,
        pages: 3,
        ..WebConfig::default()
    })
    .flags(&["--per-host-rate", "0"])
    .crawl()
}

#[test]
fn robots_judges_with_the_user_agent_a_crawl_uses_by_default() {
    let ws = Workspace::new();
    let file = ws.path("robots.txt");
    std::fs::write(&file, "User-agent: crawler\nDisallow: /private\n").unwrap();
    let file = file.to_string_lossy().into_owned();
    let out = run(CRAWLER, &["robots", "--file", &file, "/private", "/public"]).success();
    let lines: Vec<String> = out.stdout().lines().map(str::to_owned).collect();
    assert!(
        lines[0].starts_with("disallowed") && lines[0].contains("group crawler"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("allowed"), "{lines:?}");
}

#[test]
fn export_takes_its_format_from_the_file_name_and_writes_csv_as_ls_does() {
    let crawled = three_pages();
    let ws = crawled.workspace();
    let path = |name: &str| ws.path(name).to_string_lossy().into_owned();

    let csv = path("pages.csv");
    crawled.query("export", &["-o", &csv]);
    let listed = crawled.query("ls", &["--format", "csv"]).stdout();
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), listed);
    assert_eq!(listed.lines().count(), 4, "a header and three pages");

    let jsonl = path("pages.jsonl");
    crawled.query("export", &["-o", &jsonl]);
    let text = std::fs::read_to_string(&jsonl).unwrap();
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert_eq!(text.lines().count(), 3);

    let warc = path("pages.warc.gz");
    let out = crawled.query("export", &["-o", &warc]);
    assert!(std::fs::read(&warc).unwrap().starts_with(&[0x1f, 0x8b]));
    assert!(
        out.stderr().contains("exported 3 pages"),
        "{}",
        out.stderr()
    );

    let unknown = path("pages.txt");
    let refused = crawled.try_query("export", &["-o", &unknown]);
    assert_eq!(refused.code(), Some(2));
    assert!(
        refused.stderr().contains("pages.txt") && refused.stderr().contains("--format"),
        "{}",
        refused.stderr()
    );
}

#[test]
fn get_request_alone_prints_the_request_that_was_sent() {
    let crawled = three_pages();
    let seed = crawled.server().seeds()[0].clone();
    let out = crawled.query("get", &[&seed, "--request"]).stdout();
    let first = out.lines().next().unwrap_or_default();
    assert_eq!(first, "GET / HTTP/1.1", "{out}");
    assert!(out.contains("user-agent: crawler/"), "{out}");
    assert!(
        !out.contains(" 200 OK"),
        "the response is --headers': {out}"
    );
}

#[test]
fn stats_json_gives_one_elapsed_time_and_no_whole_crawl_figures_for_a_host() {
    let crawled = three_pages();
    let stats = crawled.stats();
    let ms = stats["elapsed_ms"].as_f64().unwrap();
    let secs = stats["elapsed_secs"].as_f64().unwrap();
    assert!((ms / 1000.0 - secs).abs() < 1e-9, "{stats}");
    assert_eq!(stats["runs"], 1);

    let host = crawled
        .query("stats", &["--json", "--host", "h0.test"])
        .json();
    let ms = host["elapsed_ms"].as_f64().unwrap();
    let secs = host["elapsed_secs"].as_f64().unwrap();
    assert!((ms / 1000.0 - secs).abs() < 1e-9, "{host}");
    assert!(host.get("runs").is_none(), "runs of a host: {host}");
    assert!(host.get("queued").is_none(), "queued of a host: {host}");
}

#[test]
fn a_count_of_one_is_singular() {
    let crawled = one_page();
    let out = crawled.run().stdout();
    assert!(out.starts_with("Crawled 1 page in "), "{out}");
    let stats = crawled.query("stats", &[]).stdout();
    assert!(stats.contains("(1 response, 0 queued)"), "{stats}");
}

#[test]
fn a_robots_txt_that_got_no_answer_is_not_counted_as_fetched() {
    // A port nothing listens on: every connection is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ws = Workspace::new();
    let store = ws.store().to_string_lossy().into_owned();
    let seed = format!("http://127.0.0.1:{port}/");
    let args = [
        "crawl",
        "--store",
        &store,
        "--no-progress",
        "--retry-backoff",
        "10ms",
    ];
    let text = run(CRAWLER, &[&args[..], &[seed.as_str()]].concat());
    assert_eq!(text.code(), Some(4), "{}", text.stderr());
    let out = text.stdout();
    assert!(out.contains("robots.txt: 0 fetched, "), "{out}");
    assert!(out.contains(" without a response"), "{out}");

    let json = run(
        CRAWLER,
        &[&args[..], &[seed.as_str(), "--fresh", "--force", "--json"]].concat(),
    );
    let summary = json.json();
    assert_eq!(summary["robots_fetched"], 0, "{summary}");
    assert!(summary["robots_failed"].as_u64() > Some(0), "{summary}");
}

#[test]
fn crawl_finished_is_logged_once() {
    let crawled = Scenario::web(WebConfig {
        hosts: 1,
        pages: 2,
        ..WebConfig::default()
    })
    .flags(&["-v"])
    .crawl();
    let stderr = crawled.run().stderr();
    assert_eq!(stderr.matches("crawl finished").count(), 1, "{stderr}");
}

#[test]
fn bash_completion_offers_a_flags_values_and_files_only_for_paths() {
    let script = run(CRAWLER, &["completions", "bash"]).success().stdout();
    // The case arm of a flag, inside the crawl command's function.
    let arm = |flag: &str| -> String {
        let crawl = script
            .find("crawler__subcmd__crawl)")
            .unwrap_or_else(|| panic!("no crawl section:\n{script}"));
        let rest = &script[crawl..];
        let start = rest
            .find(&format!(" {flag})"))
            .unwrap_or_else(|| panic!("{flag}"));
        let end = start + rest[start..].find(";;").unwrap();
        rest[start..end].to_owned()
    };
    assert!(
        arm("--scope").contains("compgen -W \"host hostname domain all\""),
        "{}",
        arm("--scope")
    );
    assert!(
        arm("--bodies").contains("compgen -W \"all html\""),
        "{}",
        arm("--bodies")
    );
    for text in ["--user-agent", "--workers", "--allow"] {
        assert!(!arm(text).contains("compgen -f"), "{text}: {}", arm(text));
    }
    assert!(arm("--seeds").contains("compgen -f"), "{}", arm("--seeds"));
}

#[test]
fn crawl_help_groups_its_flags_and_sets_the_global_ones_apart() {
    let help = run(CRAWLER, &["crawl", "--help"]).success().stdout();
    let headings: Vec<&str> = help
        .lines()
        .filter(|line| !line.starts_with(' ') && line.ends_with(':'))
        .collect();
    assert_eq!(
        headings,
        [
            "Arguments:",
            "Options:",
            "Scope:",
            "Politeness:",
            "Fetching:",
            "Order:",
            "Limits:",
            "Store:",
            "Recrawl:",
            "Rendering:",
            "Output:",
            "Cluster:",
            "Global options:",
            "Exit codes:"
        ],
        "{help}"
    );
    // The lines under `heading`, up to the next heading.
    let section = |heading: &str| -> String {
        let lines = help.lines().skip_while(|line| *line != heading).skip(1);
        let lines = lines.take_while(|line| line.is_empty() || line.starts_with(' '));
        lines.collect::<Vec<_>>().join("\n")
    };
    assert!(section("Scope:").contains("--scope <SCOPE>"));
    assert!(section("Politeness:").contains("--per-host-rate <R|auto>"));
    assert!(section("Global options:").contains("-v, --verbose"));
    assert!(!section("Options:").contains("--verbose"));
}

#[test]
fn ls_table_has_a_header_human_sizes_and_sorts_pages_and_picks_columns() {
    let crawled = Scenario::web(WebConfig {
        hosts: 1,
        pages: 3,
        ..WebConfig::default()
    })
    .seed_urls(&[("h0.test", "/"), ("h0.test", "/_fixture/big/200000")])
    .flags(&["--per-host-rate", "0"])
    .crawl();
    let table = crawled.query("ls", &["--format", "table"]).stdout();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("STATUS"), "{table}");
    for heading in ["DEPTH", "SIZE", "URL", "TITLE"] {
        assert!(lines[0].contains(heading), "{table}");
    }
    assert!(table.contains("195.3 KiB"), "{table}");
    assert!(
        !table.contains('\u{1b}'),
        "no colour off a terminal: {table:?}"
    );

    let largest = crawled.query(
        "ls",
        &["--format", "table", "--sort", "size", "--limit", "1"],
    );
    let largest = largest.stdout();
    assert_eq!(largest.lines().count(), 2, "{largest}");
    assert!(largest.contains("/_fixture/big/200000"), "{largest}");
    let second = crawled.query(
        "ls",
        &["--json", "--sort", "size", "--offset", "1", "--limit", "1"],
    );
    assert!(second.json()["bytes"].as_u64() < Some(200_000));

    let urls = crawled.query("ls", &["--format", "table", "--columns", "url,status"]);
    let urls = urls.stdout();
    let header = urls.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("URL") && header.ends_with("STATUS"),
        "{urls}"
    );
    let refused = crawled.try_query("ls", &["--json", "--columns", "url"]);
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr());
}
