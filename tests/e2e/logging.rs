//! Logs on stderr (`-v`, `-q`, `--log-format json`), data on stdout, and the
//! documentation made from the flag definitions (completions, man page, exit codes).

use crawler_tests::{run, Scenario, WebConfig, Workspace};

use crate::CRAWLER;

/// Two hosts of four pages.
fn small_web() -> Scenario {
    Scenario::web(WebConfig {
        hosts: 2,
        pages: 4,
        ..WebConfig::default()
    })
}

#[test]
fn verbose_logs_go_to_stderr_with_thread_names_and_stdout_stays_data() {
    let crawled = small_web().flags(&["-vv", "--per-host-rate", "0"]).crawl();
    let out = crawled.run();
    // stdout is exactly one JSON document, whatever the log level.
    let summary: serde_json::Value = serde_json::from_str(&out.stdout())
        .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", out.stdout()));
    assert_eq!(summary["pages_fetched"], 8);
    let stderr = out.stderr();
    let opened = stderr
        .lines()
        .find(|line| line.contains("store opened"))
        .unwrap_or_else(|| panic!("no 'store opened' line:\n{stderr}"));
    assert!(
        opened.contains("INFO") && opened.contains(" main "),
        "{opened}"
    );
    assert!(stderr.contains("crawl finished"), "{stderr}");

    // Without -v: warnings only, so a clean crawl is silent.
    let quiet = small_web().crawl();
    assert_eq!(
        quiet.run().stderr(),
        "",
        "default level shows no info lines"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let crawled = small_web()
        .text()
        .flags(&["--log-format", "json", "-v", "--max-pages", "2"])
        .crawl();
    let out = crawled.run();
    let lines: Vec<serde_json::Value> = out
        .stderr()
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
        })
        .collect();
    assert!(lines.len() >= 2, "{}", out.stderr());
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["threadName"].is_string()));
    assert!(lines
        .iter()
        .any(|l| l["fields"]["message"] == "store opened" && l["level"] == "INFO"));

    // A usage error is a JSON line too.
    let bad = run(
        CRAWLER,
        &[
            "--log-format",
            "json",
            "crawl",
            "--store",
            "x",
            "--workers",
            "0",
            "http://127.0.0.1:9/",
        ],
    );
    assert_eq!(bad.code(), Some(2));
    let line: serde_json::Value = serde_json::from_str(bad.stderr().trim()).unwrap();
    assert_eq!(line["level"], "ERROR");
    assert!(line["fields"]["message"]
        .as_str()
        .unwrap()
        .contains("--workers"));
}

#[test]
fn quiet_leaves_out_warnings() {
    let crawl = |flags: &[&str]| {
        let scenario = small_web().text();
        let seeds = format!("{}\nnot a url\n", scenario.server().seeds()[0]);
        let flags = [&["--skip-bad-seeds", "--per-host-rate", "0"], flags].concat();
        scenario.seed_file(&seeds).flags(&flags).crawl()
    };
    let loud = crawl(&[]);
    let loud = loud.run();
    assert!(loud.stderr().contains("skipped seed"), "{}", loud.stderr());
    let quiet = crawl(&["-q"]);
    let quiet = quiet.run();
    assert_eq!(quiet.stderr(), "");
    assert!(quiet.stdout().contains("Crawled"), "{}", quiet.stdout());
}

#[test]
fn completions_and_man_pages_come_from_the_flag_definitions() {
    let bash = run(CRAWLER, &["completions", "bash"]).success();
    assert!(
        bash.stdout().contains("--per-host-rate"),
        "{}",
        bash.stdout()
    );
    assert!(bash.stdout().contains("--config"));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(CRAWLER, &["completions", shell]).success();
        assert!(out.stdout().contains("per-host-rate"), "{shell}");
    }
    let bad = run(CRAWLER, &["completions", "tcsh"]);
    assert_eq!(bad.code(), Some(2));
    assert!(bad.stderr().contains("bash"), "{}", bad.stderr());

    let man = run(CRAWLER, &["man"]).success().stdout();
    assert!(man.contains(".TH crawler 1"), "{man}");
    assert!(
        man.contains(".SH \"EXIT STATUS\"") && man.contains("130"),
        "{man}"
    );
    let crawl_page = run(CRAWLER, &["man", "crawl"]).success().stdout();
    assert!(
        crawl_page.contains(".TH crawler\\-crawl 1") || crawl_page.contains(".TH crawler-crawl 1")
    );
    assert!(crawl_page.contains("per\\-host\\-rate"), "{crawl_page}");
    for section in [
        "EXAMPLES",
        "FILES",
        "ENVIRONMENT",
        "\"ERROR KINDS\"",
        "\"EXIT STATUS\"",
    ] {
        assert!(
            crawl_page.contains(&format!(".SH {section}")),
            "no {section}: {crawl_page}"
        );
    }
    assert!(crawl_page.contains("CRAWLER_LOG"), "{crawl_page}");
    assert!(crawl_page.contains("robots\\-unavailable"), "{crawl_page}");

    let ws = Workspace::new();
    let dir = ws.path("man");
    run(CRAWLER, &["man", "--out", dir.to_str().unwrap()]).success();
    for page in [
        "crawler.1",
        "crawler-crawl.1",
        "crawler-ls.1",
        "crawler-export.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }

    let help = run(CRAWLER, &["--help"]).success().stdout();
    for code in ["0 ", "1 ", "2 ", "130", "143"] {
        assert!(help.contains(code), "--help lists exit code {code}: {help}");
    }
}

/// A seed list of dead hosts: each host is closed (its robots.txt unreachable).
/// The default log names the first ten and counts the rest; `-v` names each.
#[test]
fn hosts_closed_at_breadth_are_counted_not_named_one_by_one() {
    const HOSTS: usize = 40;
    let ws = Workspace::new();
    let port = crawler_tests::closed_port();
    let seeds: Vec<String> = (0..HOSTS)
        .map(|i| format!("http://dead{i}.test:{port}/"))
        .collect();
    let seed_file = ws.path("seeds.txt");
    std::fs::write(&seed_file, seeds.join("\n")).unwrap();
    let crawl = |store: &str, extra: &[&str]| {
        let mut args = vec![
            "crawl".to_owned(),
            "--seeds".to_owned(),
            seed_file.to_string_lossy().into_owned(),
            "--store".to_owned(),
            ws.path(store).to_string_lossy().into_owned(),
            "--no-progress".to_owned(),
        ];
        for i in 0..HOSTS {
            args.extend([
                "--resolve".to_owned(),
                format!("dead{i}.test:{port}:127.0.0.1"),
            ]);
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(CRAWLER, &args)
    };
    let closed_lines = |stderr: &str| stderr.lines().filter(|l| l.contains("host closed")).count();

    let default = crawl("default", &[]);
    assert_eq!(
        default.code(),
        Some(4),
        "nothing answered: {}",
        default.stderr()
    );
    let stderr = default.stderr();
    assert_eq!(closed_lines(&stderr), 10, "{stderr}");
    let counted: u64 = stderr
        .lines()
        .filter_map(|l| {
            l.split(" more hosts closed (")
                .next()
                .filter(|_| l.contains("more hosts closed"))
        })
        .filter_map(|head| head.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(counted, (HOSTS - 10) as u64, "{stderr}");
    assert!(
        !stderr.contains("robots.txt unreachable"),
        "an attempt is not a warning: {stderr}"
    );
    assert!(default
        .stdout()
        .contains(&format!("robots-unavailable {HOSTS}")));

    let verbose = crawl("verbose", &["-v"]);
    assert_eq!(
        closed_lines(&verbose.stderr()),
        HOSTS,
        "{}",
        verbose.stderr()
    );
}
