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

/// One request to a service a test started on loopback (the crawler's `--listen`
/// endpoint, a replay server): its status and body
/// ([`crawler_fixtures::http_exchange`]). An answer slower than [`PATIENCE`] is an error.
pub fn http_exchange(address: &str, method: &str, target: &str) -> std::io::Result<(u16, Vec<u8>)> {
    crawler_fixtures::http_exchange(address, method, address, target, PATIENCE)
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
///
/// A `crawl` that prints its summary and exits 0 is checked against its
/// store (see [`SummaryCheck`]).
pub fn run(binary: impl AsRef<OsStr>, args: &[&str]) -> Run {
    run_with_env(binary, args, &[])
}

/// [`run`], with these environment variables set for the binary.
pub fn run_with_env(binary: impl AsRef<OsStr>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let binary = Path::new(binary.as_ref());
    let check = SummaryCheck::before(binary, args);
    let child = Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
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
    let run = Run { output };
    if let Some(check) = check {
        check.after(&run);
    }
    run
}

/// The agreement of a crawl's live counts with its store: the summary a `crawler
/// crawl` that exited 0 printed (`--json` or text) must count, error kind by error
/// kind and status class by status class, what `crawler stats --json` on its store
/// counts.
///
/// A crawl into a fresh store (or with `--fresh`) must count exactly what the whole
/// store counts. A crawl that resumes a store may count no more than the store
/// gained (its counts after the run less those before), but not exactly as much: a
/// crawl that was killed leaves its last writes in the store's write log, which a
/// read-only `stats` does not read and the resuming crawl replays, so the store may
/// gain more than the resumed run did; and a revisit replaces its URL's record, so
/// each revisit the summary counts is one the store need not have gained. No check is made when the store is not named
/// by `--store` (a config file names it), when it could not be read before the run
/// (in use, not a store), or when the run printed no summary.
pub struct SummaryCheck {
    binary: PathBuf,
    args: Vec<String>,
    store: String,
    /// `crawler stats --json` of the store before the run; `None` when it was fresh.
    before: Option<serde_json::Value>,
}

impl SummaryCheck {
    /// Called before running `binary args`: `None` when they are not a crawl whose
    /// summary can be checked.
    pub fn before(binary: impl AsRef<OsStr>, args: &[impl AsRef<str>]) -> Option<SummaryCheck> {
        let binary = Path::new(binary.as_ref());
        let args: Vec<String> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        if args
            .iter()
            .find(|a| !a.starts_with('-'))
            .map(String::as_str)
            != Some("crawl")
        {
            return None;
        }
        let store =
            args.iter()
                .enumerate()
                .find_map(|(i, arg)| match arg.strip_prefix("--store") {
                    Some("") => args.get(i + 1).cloned(),
                    Some(value) => value.strip_prefix('=').map(str::to_owned),
                    None => None,
                })?;
        // `--fresh` starts the store over: what it held before does not count.
        let fresh = args.iter().any(|a| a == "--fresh");
        let before = if Path::new(&store).exists() && !fresh {
            Some(store_stats(binary, &store)?)
        } else {
            None
        };
        Some(SummaryCheck {
            binary: binary.to_path_buf(),
            args,
            store,
            before,
        })
    }

    /// Called after the run: asserts the agreement if it ended its crawl (exit 0, or
    /// 4: no server answered) with a summary.
    pub fn after(self, run: &Run) {
        if !(run.output.status.success() || run.code() == Some(4)) {
            return;
        }
        let Some(summary) = printed_summary(&run.stdout()) else {
            return;
        };
        let after = store_stats(&self.binary, &self.store).unwrap_or_else(|| {
            panic!(
                "crawler stats failed on {} after {:?}",
                self.store, self.args
            )
        });
        let command = self.args.join(" ");
        // A revisit replaces its URL's record: the store gains nothing for it.
        let revisited = summary["revisits"]["revisited"].as_i64().unwrap_or(0);
        for counts in ["errors", "by_status_class"] {
            let stored = added(&after[counts], self.before.as_ref().map(|b| &b[counts]));
            let live = added(&summary[counts], None);
            if self.before.is_none() {
                assert_eq!(
                    live, stored,
                    "the summary of `crawler {command}` counts {counts} differently \
                     from `crawler stats` on its fresh store: summary {live:?}, store {stored:?}"
                );
                continue;
            }
            for (name, n) in &live {
                assert!(
                    stored.get(name).copied().unwrap_or(0) + revisited >= *n,
                    "the summary of `crawler {command}` counts {counts} {name}: {n}, more than \
                     the store gained: summary {live:?}, store gained {stored:?}"
                );
            }
        }
    }
}

/// The counts of the summary a crawl printed: its `--json` object, or the
/// `responses:` and `errors:` lines of the text form, as the same JSON; `None` when
/// it printed no summary.
fn printed_summary(stdout: &str) -> Option<serde_json::Value> {
    if let Ok(summary) = serde_json::from_str::<serde_json::Value>(stdout) {
        return summary.get("pages_fetched").is_some().then_some(summary);
    }
    let lines: Vec<&str> = stdout.lines().collect();
    if !lines
        .iter()
        .any(|l| l.starts_with("Crawled ") || l.starts_with("Stopped after "))
    {
        return None;
    }
    // `  errors: timeout 2, sitemap-invalid 1`
    let counts = |label: &str| {
        let listed = lines.iter().find_map(|l| l.strip_prefix(label));
        let pairs = listed.into_iter().flat_map(|list| list.split(", "));
        pairs
            .filter_map(|pair| {
                let (name, n) = pair.trim().rsplit_once(' ')?;
                Some((
                    name.to_owned(),
                    serde_json::Value::from(n.parse::<u64>().ok()?),
                ))
            })
            .collect::<serde_json::Map<String, serde_json::Value>>()
    };
    // `  revisited: 30 (not modified 30, ...); new pages 0`
    let revisited = lines
        .iter()
        .find_map(|l| l.strip_prefix("  revisited: "))
        .and_then(|rest| rest.split(' ').next()?.parse::<u64>().ok())
        .unwrap_or(0);
    Some(serde_json::json!({
        "errors": counts("  errors: "),
        "by_status_class": counts("  responses: "),
        "revisits": {"revisited": revisited},
    }))
}

/// `crawler stats --json` of `store`; `None` when it fails.
fn store_stats(binary: &Path, store: &str) -> Option<serde_json::Value> {
    let output = Command::new(binary)
        .args(["stats", "--store", store, "--json"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

/// The non-zero counts of a `{name: count}` object, less those of `before`.
fn added(counts: &serde_json::Value, before: Option<&serde_json::Value>) -> BTreeMap<String, i64> {
    let count = |object: Option<&serde_json::Value>, name: &str| {
        object
            .and_then(|o| o.get(name))
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0)
    };
    let names = [Some(counts), before].into_iter().flatten();
    names
        .filter_map(serde_json::Value::as_object)
        .flat_map(|object| object.keys().cloned())
        .collect::<BTreeSet<String>>()
        .into_iter()
        .map(|name| {
            let n = count(Some(counts), &name) - count(before, &name);
            (name, n)
        })
        .filter(|(_, n)| *n != 0)
        .collect()
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

/// A test as the user lives it: a fixture web is served, a crawl is run over it
/// into a fresh store, and what the user would see (the summary, the store's
/// answers to queries, the server's log) is at hand in the [`Crawled`] it returns.
///
/// ```no_run
/// # use crawler_tests::{Scenario, WebConfig};
/// let crawled = Scenario::web(WebConfig { hosts: 2, pages: 30, ..WebConfig::default() })
///     .flags(&["--per-host-rate", "10"])
///     .crawl();
/// assert_eq!(crawled.summary()["pages_fetched"], 60);
/// assert_eq!(crawled.stored_urls(), crawled.server().expected_urls());
/// ```
///
/// The crawl goes through [`run`], so it has the watchdog and the summary-vs-store
/// agreement check ([`SummaryCheck`]) of every other run.
pub struct Scenario {
    server: FixtureServer,
    workspace: Workspace,
    store: PathBuf,
    seeds: Option<Vec<String>>,
    flags: Vec<String>,
    json: bool,
}

impl Scenario {
    /// The fixture web `config` served on loopback, an empty workspace, and as seeds
    /// the root of every synthetic host ([`FixtureServer::seeds`]).
    pub fn web(config: WebConfig) -> Scenario {
        let workspace = Workspace::new();
        Scenario {
            server: FixtureServer::start(config).expect("the fixture server starts"),
            store: workspace.store(),
            workspace,
            seeds: None,
            flags: Vec::new(),
            json: true,
        }
    }

    /// The server, to name seed URLs before the crawl.
    pub fn server(&self) -> &FixtureServer {
        &self.server
    }

    /// The workspace, to write files (seed lists, configs) before the crawl.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// Crawls these seeds instead of the synthetic hosts' roots (none: a resumed
    /// crawl, or seeds from a flag).
    pub fn seeds<S: Into<String>>(mut self, seeds: impl IntoIterator<Item = S>) -> Scenario {
        self.seeds = Some(seeds.into_iter().map(Into::into).collect());
        self
    }

    /// Crawls from the first synthetic host's root only.
    pub fn first_host_only(self) -> Scenario {
        let seed = self.server.seeds()[0].clone();
        self.seeds([seed])
    }

    /// Crawls `path` on `host` for each `(host, path)`, instead of the synthetic
    /// hosts' roots.
    pub fn seed_urls(self, urls: &[(&str, &str)]) -> Scenario {
        let seeds: Vec<String> = urls
            .iter()
            .map(|(host, path)| self.server.url(host, path))
            .collect();
        self.seeds(seeds)
    }

    /// Crawls the seeds of a file `seeds.txt` in the workspace holding `contents`
    /// (`--seeds FILE`), and no others.
    pub fn seed_file(self, contents: &str) -> Scenario {
        self.seed_file_bytes(contents.as_bytes())
    }

    /// [`Scenario::seed_file`] with any bytes, not only UTF-8.
    pub fn seed_file_bytes(mut self, contents: &[u8]) -> Scenario {
        let path = self.workspace.path("seeds.txt");
        std::fs::write(&path, contents).expect("the seed file is written");
        self.seeds = Some(Vec::new());
        let path = path.to_string_lossy().into_owned();
        self.flags.extend(["--seeds".to_owned(), path]);
        self
    }

    /// Adds flags to the crawl's command line (after the seeds).
    pub fn flags(mut self, flags: &[&str]) -> Scenario {
        self.flags.extend(flags.iter().map(|f| (*f).to_owned()));
        self
    }

    /// Crawls into `store` instead of the workspace's store (a path that cannot be
    /// used, for one).
    pub fn store(mut self, store: impl Into<PathBuf>) -> Scenario {
        self.store = store.into();
        self
    }

    /// Runs the crawl without `--json`: it prints the text summary, and
    /// [`Crawled::summary`] is not available.
    pub fn text(mut self) -> Scenario {
        self.json = false;
        self
    }

    /// The crawl's arguments: `crawl --store STORE --no-progress --resolve ...
    /// SEEDS FLAGS [--json]`.
    pub fn args(&self) -> Vec<String> {
        let store = self.store.to_string_lossy().into_owned();
        let flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        let mut args = crawl_args(&self.server, &store, self.seeds.as_deref(), &flags);
        if self.json {
            args.push("--json".to_owned());
        }
        args
    }

    /// Runs the crawl, which must exit 0.
    pub fn crawl(self) -> Crawled {
        let crawled = self.attempt();
        let run = crawled.run.success();
        Crawled { run, ..crawled }
    }

    /// Runs the crawl, whatever its exit status (see [`Crawled::run`]).
    pub fn attempt(self) -> Crawled {
        self.attempt_with(|args| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(CrawlerBinary, &args)
        })
    }

    /// Runs the crawl with `flags` added, whatever its exit status, and keeps the
    /// scenario: for crawls refused before they start, tried one after another
    /// against the same server and workspace.
    pub fn try_crawl(&self, flags: &[&str]) -> Run {
        let mut args = self.args();
        args.extend(flags.iter().map(|f| (*f).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(CrawlerBinary, &args)
    }

    /// Runs the crawl with `runner` (given [`Scenario::args`]) instead of [`run`]; it
    /// must exit 0. A runner must keep what [`run`] does: a watchdog, and the
    /// [`SummaryCheck`].
    pub fn crawl_with(self, runner: impl FnOnce(&[String]) -> Run) -> Crawled {
        let crawled = self.attempt_with(runner);
        let run = crawled.run.success();
        Crawled { run, ..crawled }
    }

    fn attempt_with(self, runner: impl FnOnce(&[String]) -> Run) -> Crawled {
        let run = runner(&self.args());
        Crawled {
            server: self.server,
            workspace: self.workspace,
            store: self.store,
            seeds: self.seeds,
            json: self.json,
            run,
        }
    }
}

/// A [`Scenario`] after its crawl: the server (and its log), the store, the run.
pub struct Crawled {
    server: FixtureServer,
    workspace: Workspace,
    store: PathBuf,
    seeds: Option<Vec<String>>,
    json: bool,
    run: Run,
}

impl Crawled {
    pub fn server(&self) -> &FixtureServer {
        &self.server
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The store's path, as an argument.
    pub fn store(&self) -> String {
        self.store.to_string_lossy().into_owned()
    }

    /// The crawl's run: its exit code, stdout and stderr.
    pub fn run(&self) -> &Run {
        &self.run
    }

    /// The crawl's `--json` summary.
    pub fn summary(&self) -> serde_json::Value {
        assert!(self.json, "a text() crawl prints no JSON summary");
        self.run.json()
    }

    /// `crawler SUBCOMMAND --store STORE ARGS...`, which must succeed.
    pub fn query(&self, subcommand: &str, args: &[&str]) -> Run {
        self.try_query(subcommand, args).success()
    }

    /// `crawler SUBCOMMAND --store STORE ARGS...`, whatever its exit status.
    pub fn try_query(&self, subcommand: &str, args: &[&str]) -> Run {
        let store = self.store();
        let mut all = vec![subcommand, "--store", store.as_str()];
        all.extend_from_slice(args);
        run(CrawlerBinary, &all)
    }

    /// The stored record of `url` (`crawler get URL --json`).
    pub fn record(&self, url: &str) -> serde_json::Value {
        self.query("get", &[url, "--json"]).json()
    }

    /// The URLs of every stored page (`crawler ls --json`).
    pub fn stored_urls(&self) -> BTreeSet<String> {
        self.query("ls", &["--json"])
            .json_lines()
            .iter()
            .map(|page| page["url"].as_str().expect("a URL").to_owned())
            .collect()
    }

    /// `crawler stats --json` of the store.
    pub fn stats(&self) -> serde_json::Value {
        self.query("stats", &["--json"]).json()
    }

    /// The server's log without the `/robots.txt` requests.
    pub fn page_requests(&self) -> Vec<RequestRecord> {
        page_requests(&self.server.log())
    }

    /// Another scenario on the same server, its log cleared: the same seeds, no
    /// flags, a fresh store.
    pub fn then(self) -> Scenario {
        self.server.clear_log();
        let workspace = Workspace::new();
        Scenario {
            server: self.server,
            store: workspace.store(),
            workspace,
            seeds: self.seeds,
            flags: Vec::new(),
            json: true,
        }
    }

    /// `crawler crawl` on the same store without seeds (they are `flags`, if any):
    /// the stored crawl resumes; whatever its exit status.
    pub fn resume(&self, flags: &[&str]) -> Run {
        let args = crawl_args(&self.server, &self.store(), Some(&[]), flags);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(CrawlerBinary, &args)
    }

    /// Crawls again into the same store, with the same seeds and these `flags`
    /// (the first crawl's flags are not repeated), whatever its exit status.
    pub fn crawl_again(&self, flags: &[&str]) -> Run {
        let args = crawl_args(&self.server, &self.store(), self.seeds.as_deref(), flags);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(CrawlerBinary, &args)
    }
}

/// `crawl --store STORE --no-progress --resolve ... SEEDS FLAGS`: `seeds` are the
/// synthetic hosts' roots when `None`.
fn crawl_args(
    server: &FixtureServer,
    store: &str,
    seeds: Option<&[String]>,
    flags: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = ["crawl", "--store", store, "--no-progress"]
        .map(str::to_owned)
        .into();
    for rule in server.resolve_args() {
        args.extend(["--resolve".to_owned(), rule]);
    }
    match seeds {
        Some(seeds) => args.extend(seeds.iter().cloned()),
        None => args.extend(server.seeds()),
    }
    args.extend(flags.iter().map(|f| (*f).to_owned()));
    args
}

/// The status `host` answered for `path` the first time it was asked, if it was.
pub fn status_served(log: &[RequestRecord], host: &str, path: &str) -> Option<u16> {
    let record = log.iter().find(|r| r.host == host && r.path == path);
    record.map(|r| r.status)
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

/// Every file under `dir`, at any depth: to look for what must not be stored.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
