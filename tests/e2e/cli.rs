//! The command line: bad input gets a clear message and exit code; queries answer.

use std::collections::BTreeSet;
use std::path::Path;

use crawler_core::ErrorKind;
use crawler_tests::{run, FixtureServer, Scenario, WebConfig, Workspace};

use crate::CRAWLER;

#[test]
fn a_bad_seed_line_names_file_and_line_and_nothing_is_crawled() {
    let scenario = Scenario::web(WebConfig::default());
    let seeds = format!("# seeds\n{}\n\nnot a url\n", scenario.server().seeds()[0]);
    let crawled = scenario.seed_file(&seeds).attempt();
    let (server, out) = (crawled.server(), crawled.run());
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    assert!(out.stderr().contains("seeds.txt:4:"), "{}", out.stderr());
    assert!(!out.stderr().contains("panicked"), "{}", out.stderr());
    assert!(
        server.log().is_empty(),
        "nothing may be fetched when a seed is bad"
    );
}

#[test]
fn seeds_come_from_a_file_with_comments_blank_lines_and_crlf() {
    let scenario = Scenario::web(WebConfig {
        hosts: 2,
        pages: 3,
        ..WebConfig::default()
    });
    let text: String = scenario
        .server()
        .seeds()
        .iter()
        .map(|s| format!("{s}\r\n# c\r\n\r\n"))
        .collect();
    let crawled = scenario
        .seed_file(&format!("\u{feff}{text}"))
        .flags(&["--per-host-rate", "0"])
        .crawl();
    assert_eq!(crawled.summary()["pages_fetched"], 6);
}

#[test]
fn nonsense_flag_values_are_usage_errors_naming_the_flag() {
    let ws = Workspace::new();
    let store = ws.store();
    let store = store.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--workers", "0"], "workers"),
        (&["--per-host-rate", "-1"], "per-host-rate"),
        (&["--per-host-rate", "fast"], "--per-host-rate"),
        (&["--deny", "("], "deny"),
        (&["--resolve", "nonsense"], "resolve"),
        (&["--max-body", "ten"], "--max-body"),
    ];
    for (flags, named) in cases {
        let mut args = vec!["crawl", "--store", store, "http://127.0.0.1:9/"];
        args.extend_from_slice(flags);
        let out = run(CRAWLER, &args);
        assert_eq!(out.code(), Some(2), "{flags:?}: {}", out.stderr());
        assert!(
            out.stderr().contains(named),
            "{flags:?} should name {named}: {}",
            out.stderr()
        );
        assert!(!out.stderr().contains("panicked"), "{}", out.stderr());
    }
}

#[test]
fn a_store_path_that_is_a_file_or_not_a_store_is_refused_clearly() {
    let ws = Workspace::new();
    let file = ws.path("file");
    std::fs::write(&file, "x").unwrap();
    let out = run(
        CRAWLER,
        &[
            "crawl",
            "--store",
            file.to_str().unwrap(),
            "http://127.0.0.1:9/",
        ],
    );
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr().contains("not a directory"), "{}", out.stderr());

    let foreign = ws.path("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "x").unwrap();
    let out = run(CRAWLER, &["stats", "--store", foreign.to_str().unwrap()]);
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr().contains("not a crawl store"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        std::fs::read_dir(&foreign).unwrap().count(),
        1,
        "a foreign directory must be left alone"
    );

    let out = run(
        CRAWLER,
        &["ls", "--store", ws.path("missing").to_str().unwrap()],
    );
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr().contains("does not exist"), "{}", out.stderr());
}

#[test]
fn a_second_run_on_the_same_store_fetches_nothing_again() {
    let c = Scenario::web(WebConfig {
        hosts: 2,
        pages: 10,
        ..WebConfig::default()
    })
    .flags(&["--per-host-rate", "0"])
    .crawl();
    assert_eq!(c.page_requests().len(), 20);
    c.server().clear_log();
    let again = c.crawl_again(&["--per-host-rate", "0", "--json"]).success();
    assert_eq!(again.json()["pages_fetched"], 0);
    assert!(c.server().log().is_empty());
}

#[test]
fn seeds_can_come_from_standard_input() {
    use std::io::Write;
    let server = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 4,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    let mut child = std::process::Command::new(CRAWLER)
        .args([
            "crawl",
            "--seeds",
            "-",
            "--json",
            "--no-progress",
            "--per-host-rate",
            "0",
        ])
        .args([
            "--store",
            store.to_str().unwrap(),
            "--resolve",
            &server.resolve_arg(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "# from a pipe\n{}", server.seeds()[0]).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["pages_fetched"], 4);
}

#[test]
fn bodies_html_keeps_other_bodies_out_of_the_store() {
    let scenario = Scenario::web(WebConfig::default());
    let binary = scenario.server().url("h0.test", "/_fixture/binary");
    let html = scenario.server().url("h1.test", "/_fixture/status/200");
    let c = scenario
        .seeds([binary.clone(), html.clone()])
        .flags(&["--bodies", "html"])
        .crawl();
    let record = c.record(&binary);
    assert_eq!(record["body_stored"], false);
    assert_eq!(
        record["bytes"], 2048,
        "the body is measured even when not kept"
    );
    let no_body = c.try_query("get", &[&binary, "--body"]);
    assert_eq!(no_body.code(), Some(1));
    assert!(
        no_body.stderr().contains("no body stored"),
        "{}",
        no_body.stderr()
    );
    assert_eq!(c.record(&html)["body_stored"], true);
}

#[test]
fn demo_crawls_its_own_web_and_shows_how_to_query_it() {
    let ws = Workspace::new();
    let store = ws.store();
    let out = run(
        CRAWLER,
        &[
            "demo",
            "--store",
            store.to_str().unwrap(),
            "--hosts",
            "2",
            "--pages",
            "6",
            "--per-host-rate",
            "50",
        ],
    )
    .success();
    let text = out.stdout();
    assert!(text.contains("Crawled 12 pages"), "{text}");
    assert!(text.contains("crawler stats --store"), "{text}");
    let stats = run(
        CRAWLER,
        &["stats", "--store", store.to_str().unwrap(), "--json"],
    )
    .success()
    .json();
    assert_eq!(stats["by_status_class"]["2xx"], 12);

    // A second demo into the same store would mix two webs (each on a port of its
    // own) into one crawl: refused, and the store is left as it was.
    let again = run(
        CRAWLER,
        &["demo", "--store", store.to_str().unwrap(), "--hosts", "1"],
    );
    assert_eq!(again.code(), Some(2), "{}", again.stderr());
    assert!(
        again.stderr().contains("the demo crawls into a new store"),
        "{}",
        again.stderr()
    );
    let unchanged = run(
        CRAWLER,
        &["stats", "--store", store.to_str().unwrap(), "--json"],
    )
    .success()
    .json();
    assert_eq!(unchanged["by_status_class"], stats["by_status_class"]);
}

#[test]
fn errors_a_new_user_meets_say_what_to_do() {
    let ws = Workspace::new();
    let store = ws.store();
    let store = store.to_str().unwrap();
    let bad_seeds = ws.path("bad.txt");
    std::fs::write(&bad_seeds, "http://127.0.0.1:9/\nftp://x/\n").unwrap();
    let missing = ws.path("missing.txt");
    let no_store = ws.path("no-store");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["crawl", "--store", store, "--seeds", missing.to_str().unwrap()],
            2,
            "give a file of seed URLs, one per line, or - to read them from standard input",
        ),
        (
            vec!["crawl", "--store", store, "--seeds", bad_seeds.to_str().unwrap()],
            2,
            "bad.txt:2: unsupported scheme `ftp` in URL `ftp://x/`: only http and https are crawled (fix or remove that line, or add --skip-bad-seeds",
        ),
        (
            vec!["crawl", "--store", store, "example.test"],
            2,
            "did you mean https://example.test/ ?",
        ),
        (
            vec!["crawl", "--store", store],
            2,
            "holds no crawl to resume; give seed URLs as arguments or --seeds FILE",
        ),
        (
            vec!["crawl", "--store", store, "--per-host-rte", "2"],
            2,
            "a similar argument exists: '--per-host-rate'",
        ),
        (
            vec!["ls", "--store", no_store.to_str().unwrap()],
            1,
            "does not exist: give the --store DIR a crawl wrote",
        ),
    ];
    for (args, code, says) in cases {
        let out = run(CRAWLER, &args);
        assert_eq!(out.code(), Some(code), "{args:?}: {}", out.stderr());
        assert!(
            out.stderr().contains(says),
            "{args:?} should say {says:?}: {}",
            out.stderr()
        );
        assert!(
            !Path::new(store).exists(),
            "{args:?} failed before crawling and left a store behind"
        );
    }
}

/// The README's table of error kinds names exactly the kinds a crawl records, each
/// once, and `crawler ls --help` offers exactly them to `--error`.
#[test]
fn the_readme_and_the_help_list_exactly_the_error_kinds() {
    let kinds: BTreeSet<&str> = ErrorKind::ALL.iter().map(|kind| kind.as_str()).collect();

    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(readme).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|line| !line.starts_with("| error | what happened |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|row| {
            row.split('|')
                .nth(1)
                .unwrap_or_default()
                .trim()
                .trim_matches('`')
        })
        .collect();
    assert_eq!(
        table.len(),
        kinds.len(),
        "the README's table lists a kind twice, or misses one: {table:?}"
    );
    assert_eq!(table.into_iter().collect::<BTreeSet<_>>(), kinds);

    let help = run(CRAWLER, &["ls", "--help"]).success().stdout();
    let error_flag = help
        .split("--error <KIND>")
        .nth(1)
        .and_then(|rest| rest.split("[possible values:").nth(1))
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no possible values for --error in:\n{help}"));
    let offered: Vec<&str> = error_flag.split(',').map(str::trim).collect();
    assert_eq!(offered.len(), kinds.len(), "{offered:?}");
    assert_eq!(offered.into_iter().collect::<BTreeSet<_>>(), kinds);
}
