//! What the hostile-web tests share: a crawl whose peak memory is measured by the
//! kernel (`wait4`), and short ways to read a URL's record.

use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};

use crawler_tests::{Crawled, FixtureServer, Run, Scenario, SummaryCheck, Watchdog, PATIENCE};

use crate::CRAWLER;

/// The small synthetic web beside the hostile hosts: two hosts of six pages.
pub fn small_web() -> Scenario {
    Scenario::web(crawler_tests::WebConfig {
        hosts: 2,
        pages: 6,
        ..crawler_tests::WebConfig::default()
    })
}

/// Every synthetic page of the small web was fetched with a 200: the hostile hosts
/// did not disturb the others.
pub fn assert_normal_hosts_unaffected(crawled: &Crawled) {
    for url in crawled.server().expected_urls() {
        assert_eq!(crawled.record(&url)["status"], 200, "{url}");
    }
}

/// A finished run of the binary and its peak resident set size.
pub struct Measured {
    pub run: Run,
    pub peak_rss_kib: u64,
}

/// Runs the binary with `args` to completion; `wait4` reports its peak RSS. A crawl's
/// `--json` summary is checked against its store, as [`crawler_tests::run`] does.
// The child is reaped by `wait4`, which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn run_measured(args: &[String]) -> Measured {
    let check = SummaryCheck::before(CRAWLER, args);
    let mut child = Command::new(CRAWLER)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {CRAWLER}: {e}"));
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let watchdog = Watchdog::watch(child.id());
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child (`child` is never waited on after this),
    // and both pointers are to live, writable locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        !watchdog.fired(),
        "{args:?} did not end within {PATIENCE:?} and was killed"
    );
    let output = Output {
        status: <ExitStatus as std::os::unix::process::ExitStatusExt>::from_raw(status),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    let run = Run { output };
    if let Some(check) = check {
        check.after(&run);
    }
    Measured {
        run,
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    }
}

/// The scenario's crawl, run by [`run_measured`]: it must exit 0. Also its peak RSS
/// in KiB.
pub fn crawl_measured(scenario: Scenario) -> (Crawled, u64) {
    let mut peak_rss_kib = 0;
    let crawled = scenario.crawl_with(|args| {
        let measured = run_measured(args);
        peak_rss_kib = measured.peak_rss_kib;
        measured.run
    });
    (crawled, peak_rss_kib)
}

/// The stored record of `url` (`crawler get --json`).
pub fn record(store: &Path, url: &str) -> serde_json::Value {
    crawler_tests::stored(CRAWLER, store, url)
}

/// The error kind stored for `url` (`""` when none).
pub fn error_of(crawled: &Crawled, url: &str) -> String {
    crawled.record(url)["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Requests the server answered for `host` (robots.txt included).
pub fn requests_to(server: &FixtureServer, host: &str) -> Vec<String> {
    server
        .log()
        .into_iter()
        .filter(|r| r.host == host)
        .map(|r| r.path)
        .collect()
}
