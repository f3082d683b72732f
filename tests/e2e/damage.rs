//! A damaged store is found and named, never served as if whole: a damaged body is an
//! error naming its file, offset and URL; `crawler check` names every damaged file;
//! `crawler repair` rebuilds what is derived from the records and says what was lost.

use std::path::{Path, PathBuf};

use crawler_tests::{Crawled, Run, Scenario, WebConfig};

/// A web of `hosts` synthetic hosts of `pages` small pages each.
fn web(hosts: usize, pages: usize) -> Scenario {
    Scenario::web(WebConfig {
        hosts,
        pages,
        page_bytes: 2_000,
        ..WebConfig::default()
    })
}

/// A finished crawl of `hosts` synthetic hosts of 10 small pages each.
fn crawled(hosts: usize) -> Crawled {
    web(hosts, 10).flags(&["--per-host-rate", "0"]).crawl()
}

/// Flips one bit of the byte at `offset` of `path`.
fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

/// The files of `dir` (a folder of the store) whose names end with `suffix`.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

/// `crawler check`, which must exit 1 naming `file` (a path inside the store).
fn check_finds(crawled: &Crawled, file: &str) -> Run {
    let check = crawled.try_query("check", &[]);
    let said = format!("{}{}", check.stdout(), check.stderr());
    assert_eq!(check.code(), Some(1), "check must fail: {said}");
    assert!(said.contains(file), "check must name {file}: {said}");
    check
}

/// `crawler repair`, then `crawler check`, which must find the store sound.
fn repair(crawled: &Crawled) -> Run {
    let repaired = crawled.query("repair", &[]);
    let check = crawled.query("check", &[]);
    assert!(check.stdout().contains("sound"), "{}", check.stdout());
    repaired
}

/// The URLs `ls --host HOST` lists.
fn listed(crawled: &Crawled, host: &str) -> usize {
    crawled
        .query("ls", &["--host", host, "--json"])
        .json_lines()
        .len()
}

#[test]
fn a_sound_store_is_sound() {
    let crawled = crawled(1);
    let check = crawled.query("check", &[]);
    assert!(check.stdout().contains("sound"), "{}", check.stdout());
    let json = crawled.query("check", &["--json"]).json();
    assert_eq!(json["sound"], true, "{json}");
}

#[test]
fn a_damaged_body_is_an_error_naming_file_offset_and_url_and_export_can_skip_it() {
    let crawled = web(1, 10).first_host_only().crawl();
    // The root is written first: its body is the first frame of the first segment.
    let root = crawled.server().url("h0.test", "/");
    let segment = Path::new(&crawled.store()).join("bodies/00000000.body");
    flip(&segment, 12);

    let get = crawled.try_query("get", &[&root, "--body"]);
    assert_eq!(get.code(), Some(1), "{}", get.stderr());
    assert!(
        get.stdout().is_empty(),
        "no body is served: {}",
        get.stdout()
    );
    let message = get.stderr();
    for named in ["bodies/00000000.body", "byte 0", &root, "crawler check"] {
        assert!(message.contains(named), "must name {named}: {message}");
    }

    let out = crawled.workspace().path("pages.jsonl");
    let out = out.to_str().unwrap();
    let export = ["--format", "jsonl", "--with-body", "-o", out];
    let stopped = crawled.try_query("export", &export);
    assert_eq!(stopped.code(), Some(1), "{}", stopped.stderr());
    assert!(stopped.stderr().contains(&root), "{}", stopped.stderr());

    let skipped = crawled.query("export", &[&export[..], &["--skip-damaged"]].concat());
    assert!(
        skipped.stderr().contains("skipped 1 damaged page"),
        "the summary counts it: {}",
        skipped.stderr()
    );
    let exported = std::fs::read_to_string(out).unwrap();
    assert_eq!(exported.lines().count(), 9, "{exported}");
    assert!(!exported.contains(&format!("\"url\":\"{root}\"")));

    check_finds(&crawled, "bodies/00000000.body");
    let repaired = repair(&crawled);
    assert!(
        repaired.stdout().contains(&root),
        "repair names the page that lost its body: {}",
        repaired.stdout()
    );
    let quarantine = Path::new(&crawled.store()).join("quarantine");
    assert!(quarantine.is_dir(), "what was moved aside is kept");
}

#[test]
fn a_damaged_record_is_an_error_found_by_check_and_repair_drops_its_page() {
    let crawled = web(1, 10).first_host_only().crawl();
    let root = crawled.server().url("h0.test", "/");
    // The root is written first: its body is the first frame of the first segment
    // and its record the second (a frame is a 4-byte length, a checksum, the payload).
    let segment = Path::new(&crawled.store()).join("bodies/00000000.body");
    let bytes = std::fs::read(&segment).unwrap();
    let record_at = 8 + u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    flip(&segment, record_at + 10);

    let get = crawled.try_query("get", &[&root]);
    assert_eq!(get.code(), Some(1), "{}", get.stdout());
    let message = get.stderr();
    let byte = format!("byte {record_at}");
    for named in ["bodies/00000000.body", &byte, &root, "crawler check"] {
        assert!(message.contains(named), "must name {named}: {message}");
    }
    let check = check_finds(&crawled, "bodies/00000000.body");
    assert!(check.stdout().contains(&root), "{}", check.stdout());

    let repaired = repair(&crawled);
    let said = repaired.stdout();
    assert!(
        said.contains(&root) && said.contains("record could not be read back"),
        "repair names the page it dropped: {said}"
    );
    assert_eq!(listed(&crawled, "h0.test"), 9);
    let gone = crawled.try_query("get", &[&root]);
    assert!(
        gone.stderr().contains("is not in the store"),
        "{}",
        gone.stderr()
    );
    assert!(said.contains("1 dropped pages queued again"), "{said}");

    // The dropped page stays seen; its entry is what gets it fetched again.
    let root_fetches = || {
        let log = crawled.server().log();
        log.iter()
            .filter(|r| r.host == "h0.test" && r.path == "/")
            .count()
    };
    let before = root_fetches();
    crawled.resume(&[]).success();
    assert_eq!(root_fetches(), before + 1, "fetched again, once");
    assert_eq!(listed(&crawled, "h0.test"), 10);
    crawled.query("get", &[&root]);
    crawled.query("check", &[]);
}

#[test]
fn a_flipped_bit_in_the_page_index_is_found_by_check_and_repaired() {
    let crawled = crawled(3);
    let log = Path::new(&crawled.store()).join("index/log");
    let len = std::fs::metadata(&log).unwrap().len() as usize;
    flip(&log, len / 4);

    let ls = crawled.try_query("ls", &["--host", "h0.test"]);
    assert!(
        ls.code() != Some(0) || ls.stdout().lines().count() == 10,
        "a damaged index is never a short answer with exit 0: {}",
        ls.stdout()
    );
    check_finds(&crawled, "index/log");
    repair(&crawled);
    for host in ["h0.test", "h1.test", "h2.test"] {
        assert_eq!(listed(&crawled, host), 10, "{host}");
    }
    assert_eq!(crawled.stats()["urls"], 30);
}

#[test]
fn a_deleted_page_index_and_seen_set_are_found_and_rebuilt() {
    let crawled = crawled(2);
    let store = PathBuf::from(crawled.store());
    std::fs::remove_file(store.join("index/log")).unwrap();
    std::fs::remove_dir_all(store.join("seen")).unwrap();

    let check = check_finds(&crawled, "index");
    let said = format!("{}{}", check.stdout(), check.stderr());
    assert!(said.contains("seen"), "check names the seen-set: {said}");
    repair(&crawled);
    assert_eq!(listed(&crawled, "h0.test"), 10);
    assert_eq!(listed(&crawled, "h1.test"), 10);

    // The rebuilt seen-set keeps the next crawl from fetching anything again.
    let before = crawled.page_requests().len();
    let again = crawled.crawl_again(&["--per-host-rate", "0"]);
    assert_eq!(again.code(), Some(0), "{}", again.stderr());
    let fetched_twice = crawled.page_requests().len() - before;
    assert_eq!(fetched_twice, 0, "{}", again.stderr());
}

#[test]
fn a_truncated_run_is_named_and_repair_makes_the_store_readable_again() {
    let crawled = crawled(2);
    let run = files(&Path::new(&crawled.store()).join("inlinks"), ".run")
        .pop()
        .expect("a finished crawl folds its inlinks into a run");
    let len = std::fs::metadata(&run).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&run)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let ls = crawled.try_query("ls", &[]);
    assert_eq!(ls.code(), Some(1));
    let message = ls.stderr();
    assert!(message.contains("crawler repair"), "{message}");
    assert_eq!(message.lines().count(), 1, "said once: {message}");

    check_finds(&crawled, "inlinks/");
    repair(&crawled);
    assert_eq!(crawled.stored_urls().len(), 20);
    let page = crawled.server().url("h0.test", "/page/1");
    let inlinks = crawled.query("get", &[&page, "--inlinks"]);
    assert!(!inlinks.stdout().is_empty(), "inlinks are rebuilt");
}

#[test]
fn a_damaged_queue_file_is_warned_about_and_repair_says_what_was_lost() {
    let crawled = web(1, 60)
        .flags(&["--per-host-rate", "0", "--max-pages", "5"])
        .crawl();
    // A small host's queue is in a shared file (a bucket), a big one's in its own.
    let frontier = Path::new(&crawled.store()).join("frontier");
    let shared = frontier.join("shared");
    let queue = (shared.is_dir().then(|| files(&shared, ".qb").pop()))
        .flatten()
        .or_else(|| files(&frontier, ".q").pop())
        .expect("a crawl stopped by its budget keeps its frontier");
    let len = std::fs::metadata(&queue).unwrap().len() as usize;
    flip(&queue, len / 2);
    let name = queue.file_name().unwrap().to_string_lossy().into_owned();

    check_finds(&crawled, &name);
    let resumed = crawled.resume(&["--max-pages", "6"]);
    let log = resumed.stderr();
    assert!(
        log.contains("WARN") && log.contains(&name) && log.contains("h0.test"),
        "the crawl warns naming the host and the file: {log}"
    );
    assert!(log.contains("1 queued URL"), "and what was lost: {log}");

    let repaired = repair(&crawled);
    assert!(
        repaired.stdout().contains("1 queued URL") && repaired.stdout().contains("h0.test"),
        "{}",
        repaired.stdout()
    );
}

/// sled's snapshot only spares it from reading its whole log: when it reads as
/// corrupt, every command fails, and repair sets it aside so sled rebuilds from its log.
#[test]
fn a_corrupt_sled_snapshot_is_set_aside_by_repair_and_nothing_is_lost() {
    let crawled = crawled(2);
    let store = PathBuf::from(crawled.store());
    let snapshot = files(&store, "")
        .into_iter()
        .find(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("snap."))
        })
        .expect("a closed store has a sled snapshot");
    let len = std::fs::metadata(&snapshot).unwrap().len() as usize;
    flip(&snapshot, len / 2);

    let ls = crawled.try_query("ls", &[]);
    assert_eq!(ls.code(), Some(1), "{}", ls.stderr());
    assert!(ls.stderr().contains("crawler repair"), "{}", ls.stderr());

    let repaired = repair(&crawled);
    assert!(
        repaired.stdout().contains("snapshot"),
        "repair says what it set aside: {}",
        repaired.stdout()
    );
    assert_eq!(crawled.stored_urls().len(), 20);
}
