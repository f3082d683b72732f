//! Input that used to hang, crash or mislead: a closed stderr or stdout during a
//! crawl, numbers out of range (flags and config keys alike), resume overrides,
//! misspelt query filters, and inputs whose message did not say what was wrong.
//! Each gets the crawl finished or a message naming the input and what is accepted.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};

use crawler_tests::{
    run, wait_until_holding, Run, Scenario, SummaryCheck, Watchdog, WebConfig, Workspace,
};

use crate::CRAWLER;

/// The stream of the crawl that its reader closes.
#[derive(Clone, Copy, Debug)]
enum Closed {
    /// After reading its first line.
    Stderr,
    /// Before anything was written to it (the summary is its only line).
    Stdout,
}

/// Runs the crawl of `scenario`; its server holds the crawl after its robots.txt
/// while the reader of `closed` goes away, then lets it go on. The crawl must not
/// hang: the watchdog kills it after the harness's patience, failing the test.
fn crawl_with_a_closed_stream(scenario: &Scenario, closed: Closed) -> Run {
    let args = scenario.args();
    let server = scenario.server();
    let check = SummaryCheck::before(CRAWLER, &args);
    server.hold_after(1);
    let mut child = Command::new(CRAWLER)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let watchdog = Watchdog::watch(child.id());
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    match closed {
        Closed::Stderr => {
            let mut first = String::new();
            BufReader::new(stderr).read_line(&mut first).unwrap();
            assert!(!first.is_empty(), "the crawl logged nothing");
            wait_until_holding(server);
            server.release();
            stdout.read_to_end(&mut out).unwrap();
        }
        Closed::Stdout => {
            drop(stdout);
            wait_until_holding(server);
            server.release();
            stderr.read_to_end(&mut err).unwrap();
        }
    }
    let status = child.wait().unwrap();
    assert!(
        !watchdog.fired(),
        "the crawl with a closed {closed:?} did not end within the patience and was killed"
    );
    let run = Run {
        output: Output {
            status,
            stdout: out,
            stderr: err,
        },
    };
    if let Some(check) = check {
        check.after(&run);
    }
    run
}

/// `crawler crawl -vv 2>&1 | head -3` used to hang: a worker panicked writing a log
/// line to the closed stderr, and so did the signal watcher.
#[test]
fn a_closed_stderr_or_stdout_neither_hangs_nor_stops_the_crawl() {
    let cases: [(&[&str], Closed); 4] = [
        (&["-vv"], Closed::Stderr),
        (&["-v", "--log-format", "json"], Closed::Stderr),
        (&["-v"], Closed::Stdout),
        (&["-v", "--json"], Closed::Stdout),
    ];
    for (flags, closed) in cases {
        let scenario = Scenario::web(WebConfig {
            hosts: 2,
            pages: 20,
            ..WebConfig::default()
        })
        .text()
        .flags(&["--per-host-rate", "0"])
        .flags(flags);
        let out = crawl_with_a_closed_stream(&scenario, closed);
        assert_eq!(
            out.code(),
            Some(0),
            "{flags:?} with a closed {closed:?}: {}{}",
            out.stdout(),
            out.stderr()
        );
        // The crawl went on to the end: the store holds the whole web, nothing queued.
        let store = scenario.workspace().store().display().to_string();
        let stats = run(CRAWLER, &["stats", "--store", &store, "--json"])
            .success()
            .json();
        assert_eq!(stats["queued"], 0, "{flags:?}: {stats}");
        let listed = run(CRAWLER, &["ls", "--store", &store, "--json"]).success();
        let urls: std::collections::BTreeSet<String> = listed
            .json_lines()
            .iter()
            .map(|page| page["url"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            urls,
            scenario.server().expected_urls(),
            "{flags:?} {closed:?}"
        );
    }
}

/// The first line of stderr of `crawler ARGS`, which must exit 2 (a usage error)
/// without a panic.
fn usage_error(args: &[&str]) -> String {
    let out = run(CRAWLER, args);
    let stderr = out.stderr();
    assert_eq!(out.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    stderr
}

#[test]
fn every_number_out_of_range_is_a_usage_error_naming_flag_or_config_line() {
    let ws = Workspace::new();
    let store = ws.store().display().to_string();
    let seed = "http://127.0.0.1:9/";
    // (flags, what the message must say)
    let cases: [(&[&str], &[&str]); 8] = [
        (
            &["--cache-mb", "0"],
            &["--cache-mb", "0 is not between 1 and"],
        ),
        (&["--workers", "-1"], &["--workers", "-1 is negative"]),
        (&["--max-depth", "-1"], &["--max-depth", "negative"]),
        (
            &["--max-redirects", "101"],
            &["--max-redirects", "101 is not between 0 and 100"],
        ),
        (
            &["--connect-timeout", "99999999999999999999"],
            &["--connect-timeout", "too long"],
        ),
        (
            &["--timeout", "9000h"],
            &["--timeout", "longer than a year"],
        ),
        (
            &["--max-backoff", "0"],
            &["--max-backoff:", "retry-backoff"],
        ),
        (
            &["--retry-backoff", "10m"],
            &["--retry-backoff:", "max-backoff"],
        ),
    ];
    for (flags, said) in cases {
        let mut args = vec!["crawl", "--store", &store, seed];
        args.extend_from_slice(flags);
        let stderr = usage_error(&args);
        for words in said {
            assert!(
                stderr.contains(words),
                "{flags:?} must say {words:?}: {stderr}"
            );
        }
        assert!(!stderr.contains("invalid digit"), "{stderr}");
    }
    // The same in a config file names the file and line.
    let config = ws.path("crawl.toml");
    std::fs::write(&config, "store = \"store\"\nworkers = 2\ncache-mb = 0\n").unwrap();
    let config = config.display().to_string();
    let stderr = usage_error(&["crawl", "--config", &config, seed]);
    assert!(
        stderr.contains("--cache-mb") && stderr.contains("crawl.toml:3"),
        "{stderr}"
    );
    assert!(!ws.store().exists(), "no store made for a refused crawl");
}

#[test]
fn sizes_and_lengths_of_time_take_fractions_and_units() {
    let crawled = Scenario::web(WebConfig {
        hosts: 1,
        pages: 3,
        ..WebConfig::default()
    })
    .flags(&[
        "--max-body",
        "1.5M",
        "--timeout",
        "1m30s",
        "--connect-timeout",
        "2.5",
        "--retry-backoff",
        "500ms",
        "--per-host-rate",
        "0",
    ])
    .crawl();
    assert_eq!(crawled.summary()["pages_fetched"], 3);
}

#[test]
fn resume_overrides_are_validated_first_and_shown_as_flags_take_them() {
    let crawled = Scenario::web(WebConfig {
        hosts: 1,
        pages: 20,
        ..WebConfig::default()
    })
    .flags(&["--max-pages", "2", "--per-host-rate", "0"])
    .crawl();
    // A bad override: refused naming the flag, before any override is reported.
    for (flags, flag) in [
        (
            &["--timeout", "1000000000", "--max-depth", "3"][..],
            "--timeout",
        ),
        (&["--per-host-rate", "inf"][..], "--per-host-rate"),
    ] {
        let out = crawled.resume(flags);
        let stderr = out.stderr();
        assert_eq!(out.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(flag), "{flags:?}: {stderr}");
        assert!(!stderr.contains("resuming with"), "{flags:?}: {stderr}");
        assert!(
            !stderr.contains("cannot be read back"),
            "{flags:?}: {stderr}"
        );
    }
    // Good overrides are shown as a flag would take them.
    let out = crawled
        .resume(&[
            "--timeout",
            "45",
            "--max-depth",
            "3",
            "--max-body",
            "1M",
            "--json",
        ])
        .success();
    let stderr = out.stderr();
    for shown in [
        "resuming with timeout = 45s (the store's crawl had 30s)",
        "resuming with max-depth = 3 (the store's crawl had unlimited)",
        "resuming with max-body = 1M (the store's crawl had 10M)",
    ] {
        assert!(stderr.contains(shown), "{shown:?}: {stderr}");
    }
    assert!(
        !stderr.contains("nanos") && !stderr.contains("null"),
        "{stderr}"
    );
}

#[test]
fn query_filters_take_what_ls_shows_and_refuse_what_matches_nothing_by_mistake() {
    let crawled = Scenario::web(WebConfig {
        hosts: 2,
        pages: 4,
        ..WebConfig::default()
    })
    .flags(&["--per-host-rate", "0"])
    .crawl();
    let urls = |args: &[&str]| -> Vec<String> {
        let mut all = args.to_vec();
        all.push("--json");
        crawled
            .query("ls", &all)
            .json_lines()
            .iter()
            .map(|page| page["url"].as_str().unwrap().to_owned())
            .collect()
    };
    // A bare subtype is any type with it: `html` is `text/html`.
    let html = urls(&["--content-type", "text/html"]);
    assert_eq!(html.len(), 8);
    assert_eq!(urls(&["--content-type", "html"]), html);
    // The host as the URLs show it, with its port.
    let port = crawled.server().port();
    let h0 = urls(&["--host", "h0.test"]);
    assert_eq!(h0.len(), 4);
    assert_eq!(urls(&["--host", &format!("h0.test:{port}")]), h0);
    assert!(urls(&["--host", &format!("h0.test:{}", port.wrapping_add(1))]).is_empty());
    let stats = crawled
        .query("stats", &["--host", &format!("h0.test:{port}"), "--json"])
        .json();
    assert_eq!(stats["urls"], 4, "{stats}");
    // Misspellings are usage errors that say what is accepted.
    let store = crawled.store();
    for (args, said) in [
        (&["--error", "timeot"][..], "timeout"),
        (&["--content-type", "text html"][..], "text/html"),
        (&["--host", "h0.test:http"][..], "h0.test:8080"),
    ] {
        let mut all = vec!["ls", "--store", store.as_str()];
        all.extend_from_slice(args);
        let stderr = usage_error(&all);
        assert!(
            stderr.contains(said),
            "{args:?} must suggest {said}: {stderr}"
        );
    }
}

#[test]
fn messages_name_the_input_and_what_would_be_accepted() {
    let ws = Workspace::new();
    let store = ws.store().display().to_string();
    let seed = "http://127.0.0.1:9/";
    let dir = ws.path("adir");
    std::fs::create_dir(&dir).unwrap();
    let dir = dir.display().to_string();
    let stderr = usage_error(&["crawl", "--store", &store, "--seeds", &dir]);
    assert!(
        stderr.contains(&format!("--seeds {dir}")) && !stderr.contains("that line"),
        "{stderr}"
    );
    let stderr = usage_error(&["crawl", "--store", &store, "mailto:a@b.c"]);
    assert!(
        stderr.contains("mailto") && !stderr.contains("https://mailto"),
        "{stderr}"
    );
    for (flag, value) in [("--pages", "0"), ("--hosts", "0"), ("--pages", "-1")] {
        let stderr = usage_error(&["demo", "--store", &store, flag, value]);
        assert!(
            stderr.contains(flag) && !stderr.contains("WebConfig"),
            "{stderr}"
        );
    }

    // A store path through a file names the path and the file, once.
    let file = ws.path("afile");
    std::fs::write(&file, "x").unwrap();
    let inside = file.join("sub").display().to_string();
    let out = run(CRAWLER, &["crawl", "--store", &inside, seed]);
    let stderr = out.stderr();
    assert_eq!(out.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&inside) && stderr.contains("afile is a file"),
        "{stderr}"
    );
    assert!(!stderr.contains("Not a directory"), "{stderr}");

    // A store directory that cannot be read says so. Root reads any directory, so
    // as root (in CI) there is nothing to see.
    if is_root() {
        eprintln!("skipped the unreadable store directory: root can read it");
        return;
    }
    let locked = ws.path("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("x"), "x").unwrap();
    let mut permissions = std::fs::metadata(&locked).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o000);
    std::fs::set_permissions(&locked, permissions.clone()).unwrap();
    let locked_store = locked.display().to_string();
    let out = run(CRAWLER, &["crawl", "--store", &locked_store, seed]);
    let stderr = out.stderr();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&locked, permissions).unwrap();
    assert!(
        stderr.contains(&locked_store) && stderr.contains("cannot be read"),
        "{stderr}"
    );
    assert!(!stderr.contains("not a crawl store"), "{stderr}");
}

fn is_root() -> bool {
    // SAFETY: `geteuid` only reads the process's effective user id.
    unsafe { libc::geteuid() == 0 }
}
