//! The machine's limits: a broad crawl under a small open-file limit, a crawl
//! whose disk fills up, and a store read from read-only media.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crawler_tests::{run, Crawled, Run, Scenario, SummaryCheck, Watchdog, WebConfig, PATIENCE};

use crate::CRAWLER;

/// Runs the crawler with `args` as [`crawler_tests::run`] does (watchdog, summary
/// check), under an open-file limit of `limit`, soft and hard: the crawler raises
/// its soft limit to the hard one, so both are lowered.
pub(crate) fn run_with_open_files(limit: u64, args: &[String]) -> Run {
    let check = SummaryCheck::before(CRAWLER, args);
    let mut command = Command::new(CRAWLER);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: the closure runs in the child between fork and exec, and calls only
    // `setrlimit` (async-signal-safe) on a copy of a plain struct; it allocates nothing
    // and takes no lock.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let child = command.spawn().expect("the crawler starts");
    let watchdog = Watchdog::watch(child.id());
    let output = child.wait_with_output().expect("the crawler is waited for");
    assert!(
        !watchdog.fired(),
        "the crawl did not end within {PATIENCE:?}"
    );
    let run = Run { output };
    if let Some(check) = check {
        check.after(&run);
    }
    run
}

/// A crawl of `hosts` synthetic hosts of `pages` pages of 1,000 bytes, with no per-host
/// delay, under an open-file limit of `limit`. Four links a page: none across hosts,
/// so each host's pages are found on it.
pub(crate) fn crawl_small_hosts(hosts: usize, pages: usize, limit: u64) -> Crawled {
    let web = WebConfig {
        hosts,
        pages,
        page_bytes: 1_000,
        links_per_page: 4,
    };
    Scenario::web(web)
        .flags(&["--per-host-rate", "0"])
        .crawl_with(|args| run_with_open_files(limit, args))
}

#[test]
fn a_crawl_of_2000_hosts_stores_every_page_under_a_limit_of_256_open_files() {
    let crawled = crawl_small_hosts(2000, 2, 256);
    assert_eq!(crawled.stored_urls(), crawled.server().expected_urls());
    let summary = crawled.summary();
    assert_eq!(summary["pages_fetched"], 4000, "{summary}");
    assert_eq!(summary["errors"], serde_json::json!({}), "{summary}");
}

/// A broad crawl stopped early keeps its small hosts' queues in shared files: 3,000 hosts
/// with one URL each left queued take at most 2,048 files, not a file (a 4 KiB block and
/// an inode) per host.
#[test]
fn a_crawl_stopped_with_3000_hosts_queued_keeps_them_in_a_bounded_number_of_files() {
    let web = WebConfig {
        hosts: 3000,
        pages: 1,
        page_bytes: 500,
        links_per_page: 0,
    };
    let crawled = Scenario::web(web)
        .flags(&["--per-host-rate", "0", "--max-pages", "1"])
        .crawl();
    let summary = crawled.summary();
    let queued = summary["queued_left"].as_u64().unwrap_or_default();
    assert!(queued > 2_900, "the budget stopped it early: {summary}");
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut dirs = vec![Path::new(&crawled.store()).join("frontier")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                dirs.push(path);
            } else {
                files += 1;
                bytes += std::os::unix::fs::MetadataExt::blocks(&meta) * 512;
            }
        }
    }
    assert!(
        files <= 2_048,
        "{files} queue files for {queued} queued hosts"
    );
    assert!(
        bytes / queued < 4_096,
        "{bytes} bytes of queue files for {queued} queued hosts"
    );
}

/// A filesystem mounted on a directory until dropped: a small tmpfs, or a read-only
/// view of another directory.
struct Mount {
    dir: PathBuf,
}

impl Mount {
    /// Whether this process may mount; `false` (the test is skipped) when this is not
    /// root outside CI. In CI (`CI=true`, as root) a mount that fails fails the test.
    fn allowed() -> bool {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        // SAFETY: geteuid has no preconditions and touches no memory.
        let root = unsafe { libc::geteuid() } == 0;
        if !root && !in_ci {
            eprintln!("skipped: mounting a filesystem needs root (run as root, or in CI)");
        }
        root || in_ci
    }

    /// Mounts a tmpfs of `size` (`mount`'s syntax: `20m`) on `dir`.
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        Mount::run(
            dir,
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
        )
    }

    /// Mounts a read-only view of `source` on `dir`: nothing written through it lands.
    fn read_only_view(source: &Path, dir: &Path) -> Option<Mount> {
        let mount = Mount::run(dir, &["--bind", &source.to_string_lossy()])?;
        let status = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "cannot make the view read-only"
        );
        Some(mount)
    }

    fn run(dir: &Path, args: &[&str]) -> Option<Mount> {
        if !Mount::allowed() {
            return None;
        }
        std::fs::create_dir_all(dir).expect("the mount point is made");
        let status = Command::new("mount").args(args).arg(dir).status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "cannot mount on {} ({status:?}): this test needs root and mount(8)",
            dir.display()
        );
        Some(Mount {
            dir: dir.to_path_buf(),
        })
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status();
        assert!(status.is_ok_and(|s| s.success()), "cannot grow the tmpfs");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fills the filesystem of `dir` with `dir/filler` until `leave` bytes are free.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let free = free_space(dir);
    assert!(free > leave, "{free} bytes free, fewer than {leave}");
    let filler = dir.join("filler");
    std::fs::write(&filler, vec![1u8; (free - leave) as usize]).expect("the filler is written");
    filler
}

fn free_space(dir: &Path) -> u64 {
    let output = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .expect("df runs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df prints the space available")
}

fn assert_stopped_for_space(run: &Run, store: &str, words: &str) {
    assert_eq!(run.code(), Some(1), "stderr:\n{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains(store) && stderr.contains(words) && stderr.contains("resume"),
        "the message names the store, says how much was free, and that it resumes:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `crawler crawl` resuming `store` (with `--resolve` to `crawled`'s server), without
/// the summary check of [`crawler_tests::run`]: see the test below.
fn resume_unchecked(crawled: &Crawled, flags: &[&str]) -> Run {
    let store = crawled.store();
    let resolve = crawled.server().resolve_arg();
    let child = Command::new(CRAWLER)
        .args(["crawl", "--store", &store, "--no-progress", "--json"])
        .args(["--resolve", &resolve])
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the crawler starts");
    let watchdog = Watchdog::watch(child.id());
    let output = child.wait_with_output().expect("the crawler is waited for");
    assert!(
        !watchdog.fired(),
        "the crawl did not end within {PATIENCE:?}"
    );
    Run { output }
}

#[test]
fn a_crawl_that_fills_its_disk_stops_cleanly_and_resumes_with_nothing_lost() {
    let web = WebConfig {
        hosts: 2,
        pages: 150,
        page_bytes: 30_000,
        links_per_page: 8,
    };
    let scenario = Scenario::web(web).flags(&["--max-pages", "10", "--per-host-rate", "0"]);
    let store_dir = scenario.workspace().store();
    let Some(disk) = Mount::tmpfs(&store_dir, "20m") else {
        return;
    };
    let crawled: Crawled = scenario.crawl();
    let store = crawled.store();
    let everything = ["--max-pages", "100000"];

    // Less free than asked for: the crawl stops before the disk is full (with room
    // left for closing the store: the indexes fold what they hold in memory).
    let filler = fill(&store_dir, 10 << 20);
    let low = crawled.resume(&["--min-free-space", "8M", "--max-pages", "100000"]);
    assert_stopped_for_space(&low, &store, "free on its filesystem");
    crawled.query("stats", &["--json"]);

    // No minimum: the disk fills up, and the crawl still stops cleanly.
    std::fs::remove_file(&filler).expect("the filler is removed");
    fill(&store_dir, 256 << 10);
    let full = crawled.resume(&["--min-free-space", "0", "--max-pages", "100000"]);
    assert_stopped_for_space(&full, &store, "the disk is full");
    crawled.query("stats", &["--json"]);

    // Space freed: the crawl resumes and nothing is lost. Not checked against its
    // summary: a write cut by the full disk after its links were queued and before
    // they were marked seen leaves URLs that this run may fetch twice (each stored once).
    std::fs::remove_file(store_dir.join("filler")).expect("the filler is removed");
    disk.resize("200m");
    resume_unchecked(&crawled, &everything).success();
    assert_eq!(crawled.stored_urls(), crawled.server().expected_urls());
    let stats = crawled.stats();
    assert_eq!(stats["responses"], 300, "{stats}");
    assert_eq!(stats["errors"], serde_json::json!({}), "{stats}");
    drop(disk);
}

#[test]
fn every_query_reads_a_store_on_read_only_media() {
    let crawled = Scenario::web(WebConfig {
        hosts: 2,
        pages: 6,
        ..WebConfig::default()
    })
    .crawl();
    let view = crawled.workspace().path("read-only-view");
    let Some(_mount) = Mount::read_only_view(Path::new(&crawled.store()), &view) else {
        return;
    };
    let files_before = file_names(&view);
    let store = view.to_string_lossy().to_string();
    let query = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--store", &store]);
        run(CRAWLER, &all).success()
    };

    let listed = query(&["ls", "--json"]).json_lines();
    assert_eq!(listed.len(), 12, "{listed:?}");
    assert_eq!(query(&["stats", "--json"]).json()["urls"], 12);
    let url = listed[0]["url"].as_str().expect("a listed url").to_string();
    assert!(query(&["get", &url]).stdout().contains("<html"));
    let out = crawled.workspace().path("out.jsonl");
    query(&["export", "--format", "jsonl", "-o", &out.to_string_lossy()]);
    let exported = std::fs::read_to_string(&out).expect("the export is written");
    assert_eq!(exported.lines().count(), 12);

    assert_eq!(
        file_names(&view),
        files_before,
        "a reader changed the store"
    );
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the store is listed")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .collect();
    names.sort();
    names
}
