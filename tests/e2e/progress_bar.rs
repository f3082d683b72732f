//! The progress bar, seen on a real terminal (a pseudo-terminal): what it shows, and
//! log lines written above it rather than into it.

use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crawler_tests::{wait_until, wait_until_holding, FixtureServer, WebConfig, Workspace};

use crate::CRAWLER;

/// A pseudo-terminal of 120 x 30: (the side the test reads, the side stderr gets).
fn pseudo_terminal() -> (File, File) {
    let (mut reader, mut terminal) = (0, 0);
    let size = libc::winsize {
        ws_row: 30,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the integers we pass and reads the
    // window size; the name buffer and termios may be null (then they are not used).
    let made = unsafe {
        libc::openpty(
            &mut reader,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(made, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nothing
    // else; each File closes its own.
    unsafe { (File::from_raw_fd(reader), File::from_raw_fd(terminal)) }
}

/// What the test does to a crawl the server holds mid-way, once its bar is on screen.
#[derive(Clone, Copy, PartialEq)]
enum Signals {
    /// SIGTERM, then the held fetches are let go once it says it is stopping.
    One,
    /// SIGTERM, and once it says it is stopping, SIGTERM again (fetches still held).
    Two,
}

/// Runs the crawler with stderr on a pseudo-terminal. With `held`, the server holding
/// the crawl mid-way, signalled as `Signals` says. Returns its output (stdout piped)
/// and everything it drew on the terminal.
fn run_on_terminal<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    held: Option<(&FixtureServer, Signals)>,
) -> (std::process::Output, String) {
    let (mut screen, terminal) = pseudo_terminal();
    let child = Command::new(CRAWLER)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(terminal))
        .spawn()
        .unwrap();
    let drawn = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let drawn = Arc::clone(&drawn);
        std::thread::spawn(move || {
            let mut chunk = [0; 4096];
            // Reading ends with EIO once the crawler, the terminal's last user, exits.
            while let Ok(n @ 1..) = screen.read(&mut chunk) {
                drawn.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    let shows = |text: &str| {
        let drawn = drawn.lock().unwrap();
        String::from_utf8_lossy(&drawn).contains(text)
    };
    if let Some((server, signals)) = held {
        wait_until_holding(server);
        wait_until("the progress bar", || shows(" in flight, "));
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: kill sends a signal to our own child; no memory is involved.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        wait_until("the stopping notice", || shows("stopping: no new fetches"));
        match signals {
            Signals::One => server.release(),
            // SAFETY: as above.
            Signals::Two => unsafe {
                libc::kill(pid, libc::SIGTERM);
            },
        }
    }
    let output = child.wait_with_output().unwrap();
    reader.join().unwrap();
    let drawn = String::from_utf8_lossy(&drawn.lock().unwrap()).into_owned();
    (output, drawn)
}

/// What the terminal shows of a stretch of output: per line, the text after the
/// last carriage return, with escape sequences (colours, clears) removed. (The
/// terminal turns each `\n` into `\r\n`: that `\r` ends the line, it clears nothing.)
fn screen_lines(raw: &str) -> Vec<String> {
    raw.split('\n')
        .map(|line| {
            let mut text = String::new();
            let mut chars = line.trim_end_matches('\r').chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\u{1b}' => {
                        // CSI: ESC [ parameters final-byte.
                        if chars.next_if_eq(&'[').is_some() {
                            for c in chars.by_ref() {
                                if c.is_ascii_alphabetic() {
                                    break;
                                }
                            }
                        }
                    }
                    '\r' => text.clear(),
                    c => text.push(c),
                }
            }
            text
        })
        .collect()
}

#[test]
fn the_bar_shows_the_counters_and_log_lines_never_land_in_it() {
    let server = FixtureServer::start(WebConfig {
        hosts: 2,
        pages: 30,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    let mut args = vec![
        "-v".to_owned(),
        "crawl".into(),
        "--store".into(),
        store.to_string_lossy().into_owned(),
        "--resolve".into(),
        server.resolve_arg(),
        "--per-host-rate".into(),
        "5".into(),
        "--json".into(),
    ];
    args.extend(server.seeds());
    // Held after 10 of its 62 requests, the crawl is mid-way when it is signalled.
    server.hold_after(10);
    let (output, raw) = run_on_terminal(&args, Some((&server, Signals::One)));
    assert_eq!(output.status.code(), Some(143));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["stopped"], true);

    let bar = raw
        .split(['\r', '\n'])
        .find(|part| part.contains(" pages, ") && part.contains(" in flight, "))
        .unwrap_or_else(|| panic!("no progress line in:\n{raw:?}"));
    for counter in [
        "/s, ",
        " queued, ",
        " hosts active, ",
        " parked, ",
        " errors",
    ] {
        assert!(bar.contains(counter), "{bar:?} lacks {counter:?}");
    }
    let lines = screen_lines(&raw);
    let logged: Vec<&String> = lines.iter().filter(|l| l.contains(" INFO ")).collect();
    assert!(
        logged.iter().any(|l| l.contains("stopping on signal")),
        "the signal is logged while the bar is up:\n{lines:#?}"
    );
    for line in logged {
        assert!(
            line.starts_with("20") && !line.contains(" pages, "),
            "a log line shares its line with the bar: {line:?}"
        );
    }
    assert!(
        lines.last().is_some_and(|l| !l.contains(" pages, ")),
        "the bar is cleared at the end: {lines:#?}"
    );
}

#[test]
fn quiet_draws_no_bar_even_on_a_terminal() {
    let server = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 5,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    let resolve = server.resolve_arg();
    let store = store.to_string_lossy();
    let mut args = vec!["-q", "crawl", "--store", &store, "--resolve", &resolve];
    let seeds = server.seeds();
    args.extend(seeds.iter().map(String::as_str));
    let (output, drawn) = run_on_terminal(&args, None);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("Crawled 5 pages"));
    assert!(drawn.is_empty(), "{drawn:?}");
}

#[test]
fn a_second_signal_says_so_once_and_leaves_no_bar_behind() {
    let server = FixtureServer::start(WebConfig {
        hosts: 2,
        pages: 30,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store().to_string_lossy().into_owned();
    let resolve = server.resolve_arg();
    let mut args = vec!["crawl", "--store", &store, "--resolve", &resolve];
    let seeds = server.seeds();
    args.extend(seeds.iter().map(String::as_str));
    server.hold_after(10);
    let (output, raw) = run_on_terminal(&args, Some((&server, Signals::Two)));
    server.release();
    assert_eq!(output.status.code(), Some(143));
    assert_eq!(raw.matches("exiting now").count(), 1, "{raw:?}");
    let after = &raw[raw.find("exiting now").unwrap()..];
    assert!(
        !after.contains(" in flight, "),
        "the bar is drawn again after the last line: {after:?}"
    );
}

#[test]
fn with_a_page_budget_the_bar_shows_how_far_and_says_when_politeness_sets_the_pace() {
    let server = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 30,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store().to_string_lossy().into_owned();
    let resolve = server.resolve_arg();
    let mut args = vec!["crawl", "--store", &store, "--resolve", &resolve];
    args.extend(["--max-pages", "6", "--per-host-rate", "2"]);
    let seeds = server.seeds();
    args.extend(seeds.iter().map(String::as_str));
    let (output, drawn) = run_on_terminal(&args, None);
    assert!(output.status.success(), "{drawn}");
    let lines: Vec<&str> = drawn.split(['\r', '\n']).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/6 ETA ") && l.contains(" pages, ")),
        "no bar with the budget: {drawn:?}"
    );
    // One host at two requests a second keeps 15 of 16 workers idle.
    assert!(
        drawn.contains("limited by politeness"),
        "the bar never says what limits the pace: {drawn:?}"
    );
}
