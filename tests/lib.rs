//! The end-to-end test harness.
//!
//! The tests themselves live in `tests/e2e/`, this package's integration test `e2e`
//! (`cargo test -p crawler-tests`); this library holds what they share: the real
//! `crawler` binary ([`CrawlerBinary`]), running it against a [`FixtureServer`], and
//! judging politeness from the server's request log, never from the crawler's own
//! account.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

pub use crawler_fixtures::{FixtureServer, RequestRecord, WebConfig};

/// How long a test waits for a state before it calls the wait a failure: long, so
/// that only a state never reached fails a test, never a slow or loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// Polls `ready` until it holds; panics naming `what` after [`PATIENCE`].
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `server` holds a request back (see [`FixtureServer::hold_after`]):
/// the crawl sending it is certainly still running and cannot finish.
pub fn wait_until_holding(server: &FixtureServer) {
    assert!(
        server.wait_until_holding(PATIENCE),
        "the crawl never sent a request past the hold: it ended (or never started) early"
    );
}

/// The workspace's `crawler` binary, as the e2e tests run it: built by Cargo from
/// `crawler-cli` on first use, in the target directory this test runs from.
///
/// The tests are this package's (so `cargo test -p crawler-tests` runs them), but
/// Cargo builds a binary only for its own package's tests; asking Cargo for it here
/// costs a no-op check when `cargo test --workspace` built it already.
#[derive(Clone, Copy, Debug)]
pub struct CrawlerBinary;

impl CrawlerBinary {
    pub fn path(self) -> &'static Path {
        static PATH: OnceLock<PathBuf> = OnceLock::new();
        PATH.get_or_init(build_crawler)
    }
}

impl AsRef<OsStr> for CrawlerBinary {
    fn as_ref(&self) -> &OsStr {
        self.path().as_os_str()
    }
}

impl fmt::Display for CrawlerBinary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path().display().fmt(f)
    }
}

/// `cargo build -p crawler-cli --bin crawler` in the profile and target directory of
/// the running test (`TARGET/PROFILE/deps/e2e-HASH`).
fn build_crawler() -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    let profile_dir = test
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from TARGET/PROFILE/deps");
    let target_dir = profile_dir.parent().expect("a target directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", "crawler-cli", "--bin", "crawler"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name() == Some(OsStr::new("release")) {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "cargo could not build the crawler binary");
    profile_dir.join("crawler")
}

/// A temporary directory holding one store, removed when dropped.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Default for Workspace {
    fn default() -> Workspace {
        Workspace::new()
    }
}

/// The output of one run of the binary.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Panics with both streams when the run did not exit 0.
    pub fn success(self) -> Run {
        assert!(
            self.output.status.success(),
            "crawler failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self
    }

    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
            })
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        let lines = self.json_lines();
        assert_eq!(
            lines.len(),
            1,
            "expected one JSON line, got:\n{}",
            self.stdout()
        );
        lines.into_iter().next().unwrap_or_default()
    }
}

/// Runs `binary` with `args` and returns its output. A run that outlives
/// [`PATIENCE`] is killed and fails the test, so a crawl that never ends shows as a
/// failure, not a hung suite.
pub fn run(binary: impl AsRef<OsStr>, args: &[&str]) -> Run {
    let binary = Path::new(binary.as_ref());
    let child = Command::new(binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let watchdog = Watchdog::watch(child.id());
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot wait for {}: {e}", binary.display()));
    assert!(
        !watchdog.fired(),
        "{} {args:?} did not end within {PATIENCE:?} and was killed",
        binary.display()
    );
    Run { output }
}

/// Kills a child process that outlives [`PATIENCE`].
pub struct Watchdog {
    cancel: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<bool>,
}

impl Watchdog {
    pub fn watch(pid: u32) -> Watchdog {
        let (cancel, cancelled) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if cancelled.recv_timeout(PATIENCE) != Err(mpsc::RecvTimeoutError::Timeout) {
                return false;
            }
            let Ok(pid) = libc::pid_t::try_from(pid) else {
                return false;
            };
            // SAFETY: kill only sends a signal to a process of ours; no memory is involved.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        });
        Watchdog { cancel, thread }
    }

    /// Stops watching (call it once the child is reaped); true if it had to kill.
    pub fn fired(self) -> bool {
        let _ = self.cancel.send(());
        self.thread.join().unwrap_or(true)
    }
}

/// `crawler crawl` over `seeds` into `store`, resolving the fixture hosts to loopback.
pub fn crawl(
    binary: impl AsRef<OsStr>,
    server: &FixtureServer,
    store: &Path,
    seeds: &[String],
    extra: &[&str],
) -> Run {
    let store = store.to_string_lossy().into_owned();
    let resolve = server.resolve_args();
    let mut args = vec!["crawl", "--store", &store, "--no-progress"];
    for rule in &resolve {
        args.extend(["--resolve", rule.as_str()]);
    }
    args.extend(seeds.iter().map(String::as_str));
    args.extend_from_slice(extra);
    run(binary, &args)
}

/// The log without the `/robots.txt` requests: every host's first request is its
/// robots.txt, and tests that count pages count the rest.
pub fn page_requests(log: &[RequestRecord]) -> Vec<RequestRecord> {
    log.iter()
        .filter(|r| r.path != "/robots.txt")
        .cloned()
        .collect()
}

/// A loopback port nothing listens on (bound, then released): a dead host.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// `crawler get --json` of one URL in `store`: its record and links.
pub fn stored(binary: impl AsRef<OsStr>, store: &Path, url: &str) -> serde_json::Value {
    let store = store.to_string_lossy();
    run(binary, &["get", "--store", &store, url, "--json"])
        .success()
        .json()
}

/// Requests per (host, path), to check that each URL was fetched exactly once.
pub fn request_counts(log: &[RequestRecord]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for record in log {
        *counts
            .entry((record.host.clone(), record.path.clone()))
            .or_insert(0) += 1;
    }
    counts
}

/// `http://HOST:PORT/PATH` for every request in the log.
pub fn requested_urls(log: &[RequestRecord], port: u16) -> BTreeSet<String> {
    log.iter()
        .map(|r| format!("http://{}:{}{}", r.host, port, r.path))
        .collect()
}

/// The largest number of requests one host had open at once, per host.
pub fn max_open_per_host(log: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut by_host: BTreeMap<String, Vec<&RequestRecord>> = BTreeMap::new();
    for record in log {
        by_host.entry(record.host.clone()).or_default().push(record);
    }
    by_host
        .into_iter()
        .map(|(host, records)| {
            let mut events: Vec<(std::time::Instant, i32)> = Vec::new();
            for r in records {
                events.push((r.start, 1));
                events.push((r.end, -1));
            }
            // At equal instants, count the end first: touching is not overlapping.
            events.sort();
            let (mut open, mut most) = (0i32, 0i32);
            for (_, delta) in events {
                open += delta;
                most = most.max(open);
            }
            (host, usize::try_from(most).unwrap_or(0))
        })
        .collect()
}

/// The shortest gap between the starts of two consecutive requests to one host.
pub fn min_gap_per_host(log: &[RequestRecord]) -> BTreeMap<String, Duration> {
    let mut by_host: BTreeMap<String, Vec<std::time::Instant>> = BTreeMap::new();
    for record in log {
        by_host
            .entry(record.host.clone())
            .or_default()
            .push(record.start);
    }
    by_host
        .into_iter()
        .filter_map(|(host, mut starts)| {
            starts.sort();
            let gap = starts.windows(2).map(|w| w[1] - w[0]).min()?;
            Some((host, gap))
        })
        .collect()
}
