//! `crawler top`: driven in a real terminal (a tmux pane of 80x24) on a crawl running
//! with `--listen`, found through its store; its screen is read back with tmux.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crawler_tests::{closed_port, run, wait_until, FixtureServer, WebConfig, Workspace};

use crate::CRAWLER;

/// A tmux server of this test's own (`-L`), so that nothing else's is touched.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// `None` when tmux is missing: a skip on a developer's machine, a failure in CI
    /// (`.ci/run` installs it).
    fn start(name: &str, width: u16, height: u16, command: &str) -> Option<Tmux> {
        let present = Command::new("tmux")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            assert!(
                std::env::var_os("CI").is_none_or(|ci| ci != "true"),
                "tmux is needed for this test in CI"
            );
            eprintln!("skipped: no tmux on this machine");
            return None;
        }
        let tmux = Tmux {
            socket: format!("crawler-test-{name}-{}", std::process::id()),
        };
        let (width, height) = (width.to_string(), height.to_string());
        let started = tmux
            .command(&["new-session", "-d", "-x", &width, "-y", &height, command])
            .status()
            .unwrap();
        assert!(started.success());
        Some(tmux)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]).args(args);
        command
    }

    /// The pane's text, or "" once the pane is gone.
    fn screen(&self) -> String {
        let out = self.command(&["capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        assert!(self
            .command(&["send-keys", keys])
            .status()
            .unwrap()
            .success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command(&["kill-server"])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn top_shows_the_slow_and_failing_hosts_and_its_keys_pause_and_stop_the_crawl() {
    let server = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 2,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    // slow-first answers slowly (its adaptive delay grows), busy answers 503 a few times.
    let seeds = [
        server.url("slow-first.latency.test", "/"),
        server.url("busy.latency.test", "/"),
        server.url("steady.latency.test", "/"),
    ];
    let mut crawl = Command::new(CRAWLER.path())
        .args(["crawl", "--no-progress", "--store"])
        .arg(&store)
        .args(["--per-host-rate", "auto", "--retry-backoff", "0.05"])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--resolve",
            &server.resolve_arg(),
        ])
        .args(seeds)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut address = None;
    wait_until("the crawl to advertise its --listen address", || {
        address = crawler_storage::advertised(&store, "listen");
        address.is_some()
    });
    let top = format!(
        "{} top --store {}",
        CRAWLER.path().display(),
        store.display()
    );
    let Some(tmux) = Tmux::start("top", 80, 24, &top) else {
        let _ = crawl.kill();
        let _ = crawl.wait();
        return;
    };

    wait_until("top to show the slow host and the failing one", || {
        let screen = tmux.screen();
        screen.contains("slow-first.latency.test") && screen.contains("busy.latency.test")
    });
    let screen = tmux.screen();
    assert!(screen.contains("slowest hosts") && screen.contains("most failing hosts"));
    assert!(
        screen.lines().all(|line| line.chars().count() <= 80),
        "{screen}"
    );

    // Not a terminal: a plain line a second, read as it comes.
    let mut plain = Command::new(CRAWLER.path())
        .args(["top", "--connect", address.as_deref().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let (stdout, lines) = (plain.stdout.take().unwrap(), Arc::clone(&lines));
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                lines.lock().unwrap().push(line.unwrap());
            }
        })
    };

    tmux.keys("p");
    wait_until("the crawl to be paused, and top to say so", || {
        tmux.screen().contains("PAUSED")
    });
    wait_until("the plain lines to say so too", || {
        let lines = lines.lock().unwrap();
        lines
            .iter()
            .any(|l| l.starts_with("pages ") && l.ends_with("paused yes"))
    });
    tmux.keys("s");
    wait_until("top to ask before stopping", || {
        tmux.screen().contains("stop the crawl? y/n")
    });
    tmux.keys("y");
    assert!(
        crawl.wait().unwrap().success(),
        "stopped as Ctrl-C stops it"
    );

    // The endpoint is gone: the plain top ends too, saying why.
    let mut said = String::new();
    plain
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert!(plain.wait().unwrap().success(), "{said}");
    assert!(said.contains("has ended"), "{said}");
    reader.join().unwrap();
}

#[test]
fn top_without_a_running_crawl_says_how_to_start_one() {
    let ws = Workspace::new();
    let store = ws.store();
    let out = run(CRAWLER, &["top", "--store", store.to_str().unwrap()]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr());
    assert!(
        out.stderr().contains(store.to_str().unwrap()) && out.stderr().contains("--listen"),
        "{}",
        out.stderr()
    );
    let closed = format!("127.0.0.1:{}", closed_port());
    let out = run(CRAWLER, &["top", "--connect", &closed]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr());
    assert!(out.stderr().contains(&closed), "{}", out.stderr());
    let out = run(CRAWLER, &["top"]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
}
