//! `crawler crawl --config FILE`: settings from TOML, command-line flags winning, and
//! errors that name the key and its line.

use crawler_tests::{page_requests, run, FixtureServer, Scenario, WebConfig, Workspace};

use crate::CRAWLER;

fn web(pages: usize) -> FixtureServer {
    FixtureServer::start(WebConfig {
        hosts: 1,
        pages,
        ..WebConfig::default()
    })
    .unwrap()
}

#[test]
fn a_config_file_sets_the_crawl_and_flags_override_it() {
    let server = web(20);
    let ws = Workspace::new();
    let config = ws.path("crawl.toml");
    std::fs::write(
        &config,
        format!(
            "# a relative store is relative to this file\nstore = \"store\"\nseeds = [\"{}\"]\nresolve = [\"{}\"]\nper-host-rate = 0\nmax-pages = 4\nno-progress = true\njson = true\n",
            server.seeds()[0],
            server.resolve_arg()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = run(CRAWLER, &["crawl", "--config", config]).success();
    assert_eq!(out.json()["pages_fetched"], 4, "{}", out.stderr());
    assert_eq!(page_requests(&server.log()).len(), 4);
    assert!(ws.store().join("db").exists() || ws.store().is_dir());

    // The flag beats the key; the stored crawl's other settings still apply. The
    // budget is the crawl's: the 4 pages fetched count.
    let out = run(CRAWLER, &["crawl", "--config", config, "--max-pages", "6"]).success();
    assert_eq!(out.json()["pages_fetched"], 2, "{}", out.stderr());
    assert_eq!(
        out.json()["settings_overridden"],
        serde_json::json!(["max-pages: 4 -> 6"])
    );
    assert_eq!(page_requests(&server.log()).len(), 6);
}

#[test]
fn config_keys_override_a_resumed_crawl_and_a_flag_at_its_default_does_too() {
    let crawled = Scenario::web(WebConfig {
        hosts: 1,
        pages: 30,
        ..WebConfig::default()
    })
    .flags(&["--max-pages", "3", "--per-host-rate", "0"])
    .crawl();
    assert_eq!(crawled.summary()["pages_fetched"], 3);

    let config = crawled.workspace().path("more.toml");
    std::fs::write(&config, "max-pages = 5\n").unwrap();
    let config = config.to_str().unwrap();
    let second = crawled.resume(&["--json", "--config", config]).success();
    assert_eq!(
        second.json()["pages_fetched"],
        2,
        "3 of the crawl's 5 were fetched"
    );
    assert_eq!(
        second.json()["settings_overridden"],
        serde_json::json!(["max-pages: 3 -> 5"])
    );

    // --per-host-rate 2 is the default, but it was given: it overrides the stored 0.
    let third = crawled
        .resume(&["--json", "--config", config, "--per-host-rate", "2"])
        .success();
    assert_eq!(
        third.json()["settings_overridden"],
        serde_json::json!(["max-pages: 3 -> 5", "per-host-rate: 0.0 -> 2.0"])
    );
    assert!(
        third
            .stderr()
            .contains("resuming with per-host-rate = 2.0 (the store's crawl had 0.0)"),
        "{}",
        third.stderr()
    );
}

#[test]
fn bad_config_files_name_the_key_and_line_and_say_what_is_expected() {
    let server = web(3);
    let ws = Workspace::new();
    let store = ws.store();
    let cases: [(&str, &[&str]); 7] = [
        (
            "workers = 4\n\nper-host-rat = 2\n",
            &[
                "crawl.toml:3:",
                "\"per-host-rat\"",
                "did you mean per-host-rate?",
            ],
        ),
        (
            "per-host-rate = \"fast\"\n",
            &[
                "crawl.toml:1: per-host-rate:",
                "fast",
                "expected R|auto (Requests per second",
            ],
        ),
        (
            "\nscope = \"hosts\"\n",
            &["crawl.toml:2: scope:", "host, hostname, domain, all"],
        ),
        ("max-depth = -1\n", &["crawl.toml:1: max-depth:", "-1"]),
        (
            "workers = 0\n",
            &["--workers:", "between 1 and 4096", "crawl.toml:1"],
        ),
        (
            "fresh = true\n",
            &["crawl.toml:1:", "give --fresh on the command line"],
        ),
        (
            "[politeness]\nretries = 1\n",
            &["crawl.toml:1:", "unknown key \"politeness\""],
        ),
    ];
    for (text, expected) in cases {
        let config = ws.path("crawl.toml");
        std::fs::write(&config, text).unwrap();
        let out = run(
            CRAWLER,
            &[
                "crawl",
                "--config",
                config.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
                &server.seeds()[0],
            ],
        );
        assert_eq!(out.code(), Some(2), "{text:?}: {}", out.stderr());
        for part in expected {
            assert!(
                out.stderr().contains(part),
                "{text:?}: stderr should contain {part:?}: {}",
                out.stderr()
            );
        }
        assert!(!out.stderr().contains("panicked"), "{}", out.stderr());
    }
    assert!(server.log().is_empty(), "a bad config file fetches nothing");

    let missing = run(
        CRAWLER,
        &[
            "crawl",
            "--config",
            ws.path("absent.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(missing.code(), Some(2));
    assert!(
        missing.stderr().contains("absent.toml") && missing.stderr().contains("TOML file"),
        "{}",
        missing.stderr()
    );
}

#[test]
fn without_a_store_the_error_says_how_to_give_one() {
    let out = run(CRAWLER, &["crawl", "http://127.0.0.1:9/"]);
    assert_eq!(out.code(), Some(2));
    assert!(
        out.stderr().contains("give --store DIR"),
        "{}",
        out.stderr()
    );
}
