//! Crash safety and resume: SIGKILL at arbitrary points, a graceful SIGINT, and
//! continuing a crawl from its store.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crawler_tests::{
    run, wait_until_holding, FixtureServer, RequestRecord, Run, Scenario, SummaryCheck, WebConfig,
    Workspace, PATIENCE,
};

use crate::CRAWLER;

pub(crate) fn crawl_args(
    server: &FixtureServer,
    store: &Path,
    seeds: &[String],
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = ["crawl", "--no-progress", "--json", "--store"]
        .map(String::from)
        .into();
    args.push(store.display().to_string());
    args.extend(["--resolve".to_owned(), server.resolve_arg()]);
    args.extend(seeds.iter().cloned());
    args.extend(extra.iter().map(|flag| flag.to_string()));
    args
}

pub(crate) fn spawn_crawl(
    server: &FixtureServer,
    store: &Path,
    seeds: &[String],
    extra: &[&str],
) -> Child {
    Command::new(CRAWLER)
        .args(crawl_args(server, store, seeds, extra))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start crawler")
}

/// Runs one round of a crash test: a crawl (with the seeds on the first round only)
/// killed with SIGKILL once the server has answered `requests` more requests and
/// holds the next one back, so the crawl is certainly mid-way when it dies.
fn crawl_killed_after(
    server: &FixtureServer,
    store: &Path,
    round: usize,
    flags: &[&str],
    requests: usize,
) {
    let seeds = if round == 0 {
        server.seeds()
    } else {
        Vec::new()
    };
    server.hold_after(requests);
    let mut child = spawn_crawl(server, store, &seeds, flags);
    wait_until_holding(server);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    server.release();
}

/// Sends each line `from` gives on a channel, from a thread of its own.
fn read_lines(from: impl std::io::Read + Send + 'static) -> crossbeam_channel::Receiver<String> {
    let (send, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// Resumes the crawl without seeds, lets it finish and returns what it printed. Its
/// summary must count what it added to the store ([`SummaryCheck`]).
fn crawl_to_the_end(server: &FixtureServer, store: &Path, flags: &[&str]) -> Output {
    let check = SummaryCheck::before(CRAWLER, &crawl_args(server, store, &[], flags));
    let output = spawn_crawl(server, store, &[], flags)
        .wait_with_output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run = Run { output };
    if let Some(check) = check {
        check.after(&run);
    }
    run.output
}

/// Every URL the store has a record for.
fn stored_urls(store: &Path) -> BTreeSet<String> {
    run(
        CRAWLER,
        &["ls", "--store", store.to_str().unwrap(), "--json"],
    )
    .success()
    .json_lines()
    .iter()
    .filter_map(|page| Some(page["url"].as_str()?.to_owned()))
    .collect()
}

/// The number of records `crawler stats` reports.
fn stats_urls(store: &Path) -> usize {
    let stats = run(
        CRAWLER,
        &["stats", "--store", store.to_str().unwrap(), "--json"],
    )
    .success()
    .json();
    stats["urls"].as_u64().unwrap_or(u64::MAX) as usize
}

/// Requests per page URL (robots.txt, fetched again by every run, left out).
fn page_requests(log: &[RequestRecord], port: u16) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in log.iter().filter(|r| r.path != "/robots.txt") {
        let url = format!("http://{}:{port}{}", record.host, record.path);
        *counts.entry(url).or_insert(0) += 1;
    }
    counts
}

#[test]
fn crawls_killed_at_random_points_resume_to_the_same_pages_and_lose_nothing() {
    let server = FixtureServer::start(WebConfig {
        hosts: 3,
        pages: 80,
        page_bytes: 2_000,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    let workers = 4;
    let flags = ["--workers", "4", "--per-host-rate", "40"];
    // Pseudo-random but repeatable kill points, in requests answered after each
    // start: 4 rounds of at most 50 cannot fetch all 240 pages, so every round is
    // killed mid-way.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let kills = 4;
    let mut stored_before = BTreeSet::new();
    for round in 0..kills {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let requests = 10 + (state % 41) as usize;
        crawl_killed_after(&server, &store, round, &flags, requests);
        let stored_now = stored_urls(&store);
        assert_eq!(
            stats_urls(&store),
            stored_now.len(),
            "the totals `stats` keeps are those of the records, after kill {kills}"
        );
        let lost: Vec<_> = stored_before.difference(&stored_now).collect();
        assert!(
            lost.is_empty(),
            "pages stored before kill {kills} were lost: {lost:?}"
        );
        stored_before = stored_now;
    }

    crawl_to_the_end(&server, &store, &flags);

    assert_eq!(
        stored_urls(&store),
        server.expected_urls(),
        "same pages as an uninterrupted crawl"
    );
    let requests = page_requests(&server.log(), server.port());
    let twice: usize = requests.values().map(|n| n - 1).sum();
    assert!(
        twice <= workers * kills,
        "{twice} refetches for {kills} kills with {workers} workers: {:?}",
        requests.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
}

#[test]
fn sigint_stops_gracefully_and_resuming_finishes_with_the_right_totals() {
    let server = FixtureServer::start(WebConfig {
        hosts: 2,
        pages: 60,
        page_bytes: 2_000,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    let flags = ["--per-host-rate", "20"];
    // Hold the crawl mid-way, signal it, and let the held fetches finish only once
    // it has taken the signal in: it stops mid-way whatever the machine's speed.
    server.hold_after(30);
    let mut child = spawn_crawl(&server, &store, &server.seeds(), &flags);
    let stderr_lines = read_lines(child.stderr.take().unwrap());
    wait_until_holding(&server);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut stderr = String::new();
    while !stderr.contains("stopping: no new fetches") {
        let line = stderr_lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no stopping notice after SIGINT: {stderr}"));
        stderr.push_str(&line);
        stderr.push('\n');
    }
    server.release();
    let output = child.wait_with_output().unwrap();
    stderr.extend(stderr_lines.iter().map(|line| line + "\n"));
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("resume with: crawler crawl --store"),
        "{stderr}"
    );
    let first: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(first["stopped"], true);
    let first_pages = first["pages_fetched"].as_u64().unwrap();
    assert!(first_pages > 0 && first_pages < 120, "{first}");
    assert_eq!(
        stored_urls(&store).len() as u64,
        first_pages,
        "in-flight fetches were stored"
    );

    let resumed = crawl_to_the_end(&server, &store, &flags);
    let second: serde_json::Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(second["stopped"], false);
    assert_eq!(first_pages + second["pages_fetched"].as_u64().unwrap(), 120);

    let stats = run(
        CRAWLER,
        &["stats", "--store", store.to_str().unwrap(), "--json"],
    )
    .success()
    .json();
    assert_eq!(stats["urls"], 120);
    assert_eq!(stats["queued"], 0);
    let requests = page_requests(&server.log(), server.port());
    assert_eq!(requests.len(), 120);
    assert!(
        requests.values().all(|n| *n == 1),
        "a graceful stop refetches nothing"
    );
}

#[test]
fn a_resumed_crawl_keeps_its_settings_unless_a_flag_overrides_them() {
    let first = Scenario::web(WebConfig {
        hosts: 1,
        pages: 40,
        page_bytes: 1_000,
        ..WebConfig::default()
    })
    .flags(&["--max-pages", "5", "--per-host-rate", "0"])
    .crawl();
    assert_eq!(first.summary()["pages_fetched"], 5);
    let seed = first.server().seeds()[0].clone();
    let crawl = |extra: &[&str]| first.resume(&[extra, &["--json"]].concat());

    // No flags: the stored --max-pages 5 applies again, and it is spent.
    let second = crawl(&[]).success();
    assert_eq!(second.json()["pages_fetched"], 0);
    assert!(
        !second.stderr().contains("resuming with")
            && second.stderr().contains("page budget is spent"),
        "{}",
        second.stderr()
    );

    let third = crawl(&["--max-pages", "7"]).success();
    assert_eq!(third.json()["pages_fetched"], 2);
    assert_eq!(
        third.json()["settings_overridden"],
        serde_json::json!(["max-pages: 5 -> 7"])
    );
    assert!(
        third
            .stderr()
            .contains("resuming with max-pages = 7 (the store's crawl had 5)"),
        "{}",
        third.stderr()
    );
    assert_eq!(first.stats()["urls"], 7);

    // Without seeds, --fresh --force would leave nothing to crawl: refused before
    // anything is deleted.
    let no_seeds = crawl(&["--fresh", "--force"]);
    assert_eq!(no_seeds.code(), Some(2));
    assert!(
        no_seeds.stderr().contains("needs seeds")
            && no_seeds.stderr().contains("nothing was deleted"),
        "{}",
        no_seeds.stderr()
    );
    assert_eq!(first.stats()["urls"], 7, "the crawl is still there");

    let refused = crawl(&[&seed, "--fresh"]);
    assert_eq!(refused.code(), Some(2));
    assert!(
        refused.stderr().contains("add --force"),
        "{}",
        refused.stderr()
    );
    let fresh = crawl(&[
        &seed,
        "--fresh",
        "--force",
        "--max-pages",
        "3",
        "--per-host-rate",
        "0",
    ])
    .success();
    assert_eq!(fresh.json()["pages_fetched"], 3);
    assert_eq!(first.stats()["urls"], 3, "--fresh --force starts over");
}

/// A host with more URLs queued than the frontier keeps in memory reads them back from
/// its queue file a bufferful at a time. Killed while it does, the crawl resumes from
/// the file: nothing is lost, and only what was in flight is fetched twice.
#[test]
fn a_host_whose_queue_spilled_to_disk_survives_kills_and_resumes_without_refetching() {
    let server = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 1_500,
        page_bytes: 1_000,
        links_per_page: 30,
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    let store_arg = store.to_str().unwrap();
    let workers = 4;
    let flags = ["--workers", "4", "--per-host-rate", "0"];
    // 900 requests in three rounds cannot fetch the 1,500 pages: each round is
    // killed mid-way.
    let requests = [400, 200, 300];
    let kills = requests.len();
    let mut most_queued = 0;
    for (round, requests) in requests.into_iter().enumerate() {
        crawl_killed_after(&server, &store, round, &flags, requests);
        let stats = run(CRAWLER, &["stats", "--store", store_arg, "--json"])
            .success()
            .json();
        most_queued = most_queued.max(stats["queued"].as_u64().unwrap());
    }
    assert!(
        most_queued > 256,
        "the host's queue must outgrow its 256-URL buffer ({most_queued} queued at most)"
    );

    crawl_to_the_end(&server, &store, &flags);
    assert_eq!(stored_urls(&store), server.expected_urls());
    let requests = page_requests(&server.log(), server.port());
    let twice: usize = requests.values().map(|n| n - 1).sum();
    assert!(
        twice <= workers * kills,
        "{twice} refetches for {kills} kills with {workers} workers: {:?}",
        requests.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let stats = run(CRAWLER, &["stats", "--store", store_arg, "--json"])
        .success()
        .json();
    assert_eq!(stats["queued"], 0, "a finished crawl leaves nothing queued");
}

/// Resuming a finished crawl is not a mistake: a script that resumes until done may
/// run once more, and is told the crawl is complete and how to go on.
#[test]
fn resuming_a_finished_crawl_says_it_is_complete_and_exits_0() {
    let server = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: 5,
        page_bytes: 500,
        ..WebConfig::default()
    })
    .unwrap();
    let ws = Workspace::new();
    let store = ws.store();
    let store_arg = store.to_str().unwrap();
    let flags = ["--per-host-rate", "0"];
    let first = spawn_crawl(&server, &store, &server.seeds(), &flags)
        .wait_with_output()
        .unwrap();
    assert!(first.status.success());
    let requests_before = server.log().len();

    let again = crawl_to_the_end(&server, &store, &flags);
    let said: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(said["complete"], true, "{said}");
    assert_eq!(said["stored_urls"], 5, "{said}");
    assert_eq!(said["queued_left"], 0, "{said}");
    assert!(said["ended_at"]
        .as_str()
        .is_some_and(|at| at.ends_with('Z')));

    let human = run(CRAWLER, &["crawl", "--store", store_arg, "--no-progress"]).success();
    let text = human.stdout();
    assert!(
        text.contains("is complete: 5 URLs stored, last run ended 20"),
        "{text}"
    );
    assert!(text.contains("--fresh --force"), "{text}");
    assert!(text.contains("--seeds FILE"), "{text}");
    assert_eq!(server.log().len(), requests_before, "nothing fetched again");
    let stats = run(CRAWLER, &["stats", "--store", store_arg, "--json"])
        .success()
        .json();
    assert_eq!(stats["runs"], 1, "a resumed finished crawl adds no run");
}

/// An outage ends URLs with an error, and an error settles a URL: resuming does not
/// fetch it again. `--retry-errors` does, and a seed given again says it is stored.
#[test]
fn urls_that_failed_in_an_outage_are_fetched_again_with_retry_errors() {
    let ws = Workspace::new();
    let store = ws.store();
    let store = store.to_str().unwrap();
    // The host is down: nothing listens on its port yet.
    let port = crawler_tests::closed_port();
    let seed = format!("http://h0.test:{port}/");
    let resolve = format!("h0.test:{port}:127.0.0.1");
    let crawl = |extra: &[&str]| {
        let mut args = vec!["crawl", "--store", store, "--no-progress", "--json"];
        args.extend(["--resolve", &resolve, "--retry-backoff", "0.05"]);
        args.extend(extra);
        run(CRAWLER, &args)
    };
    let down = crawl(&[&seed]);
    assert_eq!(down.code(), Some(4), "{}", down.stderr());

    let server = FixtureServer::start_on(
        WebConfig {
            hosts: 1,
            pages: 5,
            ..WebConfig::default()
        },
        port,
    )
    .unwrap();
    let resumed = crawl(&[]).success();
    assert_eq!(resumed.json()["complete"], true, "an error settles its URL");
    assert!(server.log().is_empty());

    let seed_again = crawl(&[&seed]).success();
    assert_eq!(seed_again.json()["pages_fetched"], 0);
    assert!(
        seed_again.stderr().contains("the seed is already stored"),
        "{}",
        seed_again.stderr()
    );

    let retried = crawl(&["--retry-errors", "robots-unavailable"]).success();
    assert!(
        retried.stderr().contains("1 stored URL queued again"),
        "{}",
        retried.stderr()
    );
    assert_eq!(retried.json()["pages_fetched"], 5);
    let stats = run(CRAWLER, &["stats", "--store", store, "--json"])
        .success()
        .json();
    assert_eq!(stats["by_status_class"]["2xx"], 5, "{stats}");
    assert_eq!(stats["errors"], serde_json::json!({}), "{stats}");

    let misspelt = crawl(&["--retry-errors", "timeot"]);
    assert_eq!(misspelt.code(), Some(2));
    assert!(
        misspelt.stderr().contains("--retry-errors"),
        "{}",
        misspelt.stderr()
    );
}

/// A resumed crawl reads only a buffer of each host's queue back into memory; what
/// it says is queued still counts the whole queue the store holds.
#[test]
fn a_resumed_crawl_counts_its_whole_queue_not_the_buffer_it_read_back() {
    let crawled = Scenario::web(WebConfig {
        hosts: 1,
        pages: 1500,
        page_bytes: 2_000,
        links_per_page: 40,
    })
    .flags(&["--per-host-rate", "0", "--max-pages", "30"])
    .crawl();
    let queued_before = crawled.stats()["queued"]
        .as_u64()
        .expect("stats has queued");
    assert!(
        queued_before > 300,
        "the queue outgrows one buffer: {queued_before}"
    );

    let resumed = crawled
        .resume(&["--max-pages", "31", "--json"])
        .success()
        .json();
    let said = resumed["queued_left"]
        .as_u64()
        .expect("the summary has queued_left");
    let stored = crawled.stats()["queued"]
        .as_u64()
        .expect("stats has queued");
    // The count read without a lookup per entry may include the few entries of the
    // buffer that were fetched (at most one buffer, 256).
    assert!(
        (stored..=stored + 256).contains(&said),
        "the summary says {said} queued, the store holds {stored}"
    );
}
