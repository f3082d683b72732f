//! What a hostile page, server or environment can make the crawler do to its user:
//! drive the terminal, plant a formula in a spreadsheet, leak a seed's password,
//! divert `--resolve`d hosts through a proxy, or make an export write through a link.

use std::process::{Command, Stdio};

use crawler_fixtures::hostile::{FORMULA_TITLE, TERMINAL_ESCAPES_HEADER, TERMINAL_ESCAPES_TITLE};
use crawler_fixtures::{BASIC_AUTH_PASSWORD, BASIC_AUTH_USER};
use crawler_tests::{
    closed_port, run, run_with_env, status_served, wait_until_holding, Run, WebConfig,
};

use crate::hostile_support::small_web;
use crate::CRAWLER;

/// The characters a terminal acts on instead of showing: C0 but line feed, DEL, C1.
fn terminal_controls(text: &str) -> String {
    text.chars()
        .filter(|&c| c != '\n' && c.is_control())
        .collect()
}

fn assert_shown_not_obeyed(what: &str, run: &Run) {
    let out = run.stdout();
    assert_eq!(
        terminal_controls(&out),
        "",
        "{what} passes controls through:\n{out:?}"
    );
    let err = run.stderr();
    assert_eq!(
        terminal_controls(&err),
        "",
        "{what} passes controls to stderr:\n{err:?}"
    );
}

#[test]
fn titles_and_headers_reach_the_terminal_escaped() {
    let scenario = small_web();
    let page = scenario
        .server()
        .url("esc.hostile.test", "/content/terminal-escapes");
    let crawled = scenario
        .seeds([page.clone()])
        .flags(&["--max-depth", "0"])
        .crawl();
    // The store holds the title as the page had it; JSON escapes it by its own rules.
    assert_eq!(crawled.record(&page)["title"], TERMINAL_ESCAPES_TITLE);

    let table = crawled.query("ls", &["--format", "table"]);
    assert_shown_not_obeyed("ls", &table);
    assert!(
        table
            .stdout()
            .contains("\\x1b]0;owned\\x07\\x1b[2JCleared\\u{9b}31mred"),
        "the title is shown, escaped: {}",
        table.stdout()
    );
    let headers = crawled.query("get", &[&page, "--headers", "--request"]);
    assert_shown_not_obeyed("get --headers", &headers);
    assert!(
        headers.stdout().contains("x-note: before\\u{9b}2Jafter"),
        "{}",
        headers.stdout()
    );
    assert!(TERMINAL_ESCAPES_HEADER.contains('\u{9b}'));
    for args in [
        &["get", &page, "--info"][..],
        &["get", &page, "--links"],
        &["stats"],
        &["links"],
    ] {
        assert_shown_not_obeyed(args[0], &crawled.query(args[0], &args[1..]));
    }
    // The body is the page's bytes, unchanged: data for a file or a pipe.
    let body = crawled.query("get", &[&page]);
    assert!(body.stdout().contains(TERMINAL_ESCAPES_TITLE));
}

/// A usage error quotes the value given. On a terminal clap writes it as it is
/// (`CLICOLOR_FORCE=1` makes it write as it would to a terminal).
#[test]
fn usage_errors_quote_bad_values_escaped() {
    for args in [
        &["crawl", "--store", "s", "--scope", "a\u{1b}]0;owned\u{7}"][..],
        &["crawl", "--no-such-flag\u{1b}[2J"],
        &["ls", "--store", "s", "--error", "x\u{9b}2J"],
    ] {
        let refused = run_with_env(CRAWLER, args, &[("CLICOLOR_FORCE", "1")]);
        assert_eq!(refused.code(), Some(2), "{}", refused.stderr());
        let err = refused.stderr();
        assert!(
            err.contains("\\x1b") || err.contains("\\u{9b}"),
            "the value is quoted: {err:?}"
        );
        assert_eq!(terminal_controls(&err), "", "{err:?}");
    }
}

#[test]
fn error_messages_escape_the_input_they_echo() {
    let ws = crawler_tests::Workspace::new();
    let store = ws.store();
    let store = store.to_str().unwrap();
    let seed = "http://\u{1b}]0;owned\u{7}\u{1b}[2J.test/";
    let run = run(CRAWLER, &["crawl", "--store", store, "--no-progress", seed]);
    assert_eq!(run.code(), Some(2), "{}", run.stderr());
    assert_shown_not_obeyed("a bad seed's error", &run);
    assert!(
        run.stderr().contains("\\x1b]0;owned\\x07"),
        "{}",
        run.stderr()
    );
}

#[test]
fn csv_cells_a_spreadsheet_would_evaluate_are_quoted_text() {
    let scenario = small_web();
    let page = scenario
        .server()
        .url("csv.hostile.test", "/content/formula");
    let crawled = scenario
        .seeds([page.clone()])
        .flags(&["--max-depth", "0"])
        .crawl();
    assert_eq!(crawled.record(&page)["title"], FORMULA_TITLE);
    let csv = crawled.query("ls", &["--format", "csv"]).stdout();
    let row = csv
        .lines()
        .find(|line| line.contains("/content/formula"))
        .unwrap_or_else(|| panic!("no row for {page}: {csv}"));
    assert!(
        row.contains(",\"'=cmd|' /C calc'!A0\","),
        "the title cell starts with a quote mark: {row}"
    );
}

#[test]
fn seed_credentials_go_to_their_origin_only_and_are_stored_nowhere() {
    let scenario = crawler_tests::Scenario::web(WebConfig {
        hosts: 2,
        pages: 3,
        ..WebConfig::default()
    });
    let server = scenario.server();
    let seed = server.url("h0.test", "/_fixture/basic-auth").replace(
        "://",
        &format!("://{BASIC_AUTH_USER}:{BASIC_AUTH_PASSWORD}@"),
    );
    let secret = BASIC_AUTH_PASSWORD;
    // Held after robots.txt: the crawl has the store open, its lock file written.
    server.hold_after(1);
    let store = scenario.workspace().store();
    let store_arg = store.to_str().unwrap();
    let crawl = Command::new(CRAWLER)
        .args(["crawl", "--store", store_arg, "--no-progress", "-v"])
        .args(["--resolve", &server.resolve_arg(), "--scope", "all"])
        .args(["--max-depth", "1", &seed])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_holding(server);
    let lock = std::fs::read_to_string(store.join("lock-holder")).unwrap();
    assert!(
        !lock.contains(secret),
        "the lock file holds the password: {lock}"
    );
    let refused = run(CRAWLER, &["ls", "--store", store_arg]);
    assert!(!refused.stderr().contains(secret), "{}", refused.stderr());
    server.release();
    let output = crawl.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(!log.contains(secret), "the log shows the password: {log}");

    let served = |host: &str, path: &str| status_served(&server.log(), host, path);
    // Every request to the seed's origin carried the credentials; none elsewhere.
    assert_eq!(served("h0.test", "/_fixture/basic-auth"), Some(200));
    assert_eq!(served("h0.test", "/_fixture/basic-auth/inner"), Some(200));
    assert_eq!(
        served("h1.test", "/_fixture/basic-auth/elsewhere"),
        Some(401)
    );

    let stored = server.url("h0.test", "/_fixture/basic-auth");
    for args in [
        &["ls", "--store", store_arg, "--format", "table"][..],
        &["ls", "--store", store_arg, "--json"],
        &["get", "--store", store_arg, &stored, "--json"],
        &["export", "--store", store_arg, "--format", "jsonl"],
    ] {
        let out = run(CRAWLER, args).success().stdout();
        assert!(!out.contains(secret), "{args:?} shows the password: {out}");
        assert!(
            !out.contains(&format!("{BASIC_AUTH_USER}:")),
            "{args:?}: {out}"
        );
    }
    let record = run(CRAWLER, &["get", "--store", store_arg, &stored, "--json"])
        .success()
        .json();
    assert_eq!(record["status"], 200, "stored without userinfo: {record}");
    for entry in crawler_tests::files_under(&store) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the password",
            entry.display()
        );
    }
}

#[test]
fn an_environment_proxy_does_not_take_resolved_hosts() {
    let proxy = format!("http://user:proxy-secret@127.0.0.1:{}", closed_port());
    let scenario = crawler_tests::Scenario::web(WebConfig {
        hosts: 1,
        pages: 3,
        ..WebConfig::default()
    })
    .flags(&["-v"]);
    let expected = scenario.server().expected_urls();
    let crawled = scenario.crawl_with(|args| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_with_env(CRAWLER, &args, &[("HTTP_PROXY", &proxy), ("NO_PROXY", "")])
    });
    assert_eq!(crawled.stored_urls(), expected);
    let log = crawled.run().stderr();
    assert!(
        log.contains("HTTP_PROXY") && log.contains("***@127.0.0.1"),
        "the proxy in use is logged: {log}"
    );
    assert!(!log.contains("proxy-secret"), "{log}");
}

#[cfg(unix)]
#[test]
fn export_never_writes_through_a_link_planted_at_its_temporary_file() {
    let crawled = small_web().first_host_only().crawl();
    let ws = crawled.workspace();
    let victim = ws.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    let out = ws.path("out.jsonl");
    let mut partial = out.clone().into_os_string();
    partial.push(".partial");
    std::os::unix::fs::symlink(&victim, &partial).unwrap();
    crawled.query(
        "export",
        &["--format", "jsonl", "-o", out.to_str().unwrap()],
    );
    let victim = std::fs::read_to_string(&victim).unwrap();
    assert!(
        victim == "precious",
        "the export wrote through the link: {victim:.80}"
    );
    let exported = std::fs::read_to_string(&out).unwrap();
    assert!(exported.lines().count() > 1, "{exported}");
    assert!(!std::fs::symlink_metadata(&out).unwrap().is_symlink());
}
