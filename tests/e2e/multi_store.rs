//! Several stores read as one crawl (a cluster crawl's nodes' stores), and `crawler
//! merge` folding them into one: two crawls of one fixture web whose seeds overlap on
//! one host, so that host's pages are in both stores, the second crawl's newer.

use std::collections::{BTreeMap, BTreeSet};

use crawler_fixtures::synthetic_host;
use crawler_tests::{run, Crawled, Run, Scenario, WebConfig, Workspace};

use crate::CRAWLER;

/// Two stores in one workspace: `n1.store` crawled from hosts 0 and 1, then
/// `n2.store` from hosts 1 and 2 (so host 1's pages are in both, newest in n2).
struct Nodes {
    workspace: Workspace,
    /// The second crawl (its server serves all three hosts).
    second: Crawled,
}

const FLAGS: [&str; 2] = ["--per-host-rate", "0"];

fn nodes() -> Nodes {
    let workspace = Workspace::new();
    let scenario = Scenario::web(WebConfig {
        hosts: 3,
        pages: 8,
        ..WebConfig::default()
    });
    let root = |i| scenario.server().url(&synthetic_host(i), "/");
    let (h0, h1, h2) = (root(0), root(1), root(2));
    let first = scenario
        .seeds([h0, h1.clone()])
        .store(workspace.path("n1.store"))
        .flags(&FLAGS)
        .crawl();
    let second = first
        .then()
        .seeds([h1, h2])
        .store(workspace.path("n2.store"))
        .flags(&FLAGS)
        .crawl();
    Nodes { workspace, second }
}

impl Nodes {
    fn store(&self, name: &str) -> String {
        self.workspace.path(name).to_string_lossy().into_owned()
    }

    /// `crawler SUBCOMMAND --store S...` for each store named, then `args`.
    fn on(&self, subcommand: &str, stores: &[&str], args: &[&str]) -> Run {
        let paths: Vec<String> = stores.iter().map(|s| self.store(s)).collect();
        let mut all = vec![subcommand];
        for path in &paths {
            all.extend(["--store", path.as_str()]);
        }
        all.extend_from_slice(args);
        run(CRAWLER, &all)
    }

    /// `ls --json` of these stores read as one: URL -> record.
    fn ls(&self, stores: &[&str]) -> BTreeMap<String, serde_json::Value> {
        let lines = self.on("ls", stores, &["--json"]).success().json_lines();
        let listed: BTreeMap<String, serde_json::Value> = lines
            .iter()
            .map(|page| {
                (
                    page["url"].as_str().expect("a URL").to_owned(),
                    page.clone(),
                )
            })
            .collect();
        assert_eq!(listed.len(), lines.len(), "a URL listed twice: {lines:?}");
        listed
    }
}

const BOTH: [&str; 2] = ["n1.store", "n2.store"];

fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn node_stores_read_as_one_crawl_each_url_once_the_newest_winning() {
    let nodes = nodes();
    let (one, two) = (nodes.ls(&["n1.store"]), nodes.ls(&["n2.store"]));
    let union = nodes.ls(&BOTH);
    let all: BTreeSet<&String> = one.keys().chain(two.keys()).collect();
    assert_eq!(union.keys().collect::<BTreeSet<_>>(), all);
    let shared: Vec<&String> = one.keys().filter(|url| two.contains_key(*url)).collect();
    assert!(!shared.is_empty(), "the crawls overlap on host 1");
    assert!(shared.iter().all(|url| host_of(url) == synthetic_host(1)));
    for (url, page) in &union {
        // The second crawl's record where both have one: it was fetched later.
        let newest = two.get(url).or(one.get(url)).expect("from a store");
        assert_eq!(page, newest, "{url}");
    }
    for url in &shared {
        assert!(two[*url]["fetched_at"].as_str() > one[*url]["fetched_at"].as_str());
    }

    // The statistics count each URL once.
    let stats = nodes.on("stats", &BOTH, &["--json"]).success().json();
    assert_eq!(stats["urls"], union.len());
    let host1 = union
        .keys()
        .filter(|u| host_of(u) == synthetic_host(1))
        .count();
    assert_eq!(stats["pages_per_host"][synthetic_host(1)], host1);
    assert_eq!(stats["runs"], 2);

    // A page of either store, by any spelling.
    let only_first = one.keys().find(|u| !two.contains_key(*u)).expect("host 0");
    let only_second = two.keys().find(|u| !one.contains_key(*u)).expect("host 2");
    for url in [only_first, only_second, shared[0]] {
        let single = if one.contains_key(url) && !two.contains_key(url) {
            "n1.store"
        } else {
            "n2.store"
        };
        let body = nodes.on("get", &BOTH, &[url]).success().stdout();
        assert!(!body.is_empty());
        assert_eq!(body, nodes.on("get", &[single], &[url]).success().stdout());
    }
    let missing = nodes.on("get", &BOTH, &["http://absent.test/"]);
    assert_eq!(missing.code(), Some(1));
    assert!(
        missing.stderr().contains("not in any of the stores"),
        "{}",
        missing.stderr()
    );

    // An export has each page once.
    let exported = nodes
        .on("export", &BOTH, &["--format", "jsonl"])
        .success()
        .json_lines();
    let urls: BTreeSet<&str> = exported.iter().filter_map(|p| p["url"].as_str()).collect();
    assert_eq!(urls.len(), exported.len());
    assert_eq!(urls.len(), union.len());

    // The link graph is the newest pages' links: host 0's from the first store, the
    // rest from the second.
    let edges = |stores: &[&str]| -> Vec<String> {
        let out = nodes.on("links", stores, &[]).success().stdout();
        out.lines().map(str::to_owned).collect()
    };
    let mut expected: Vec<String> = edges(&["n1.store"])
        .into_iter()
        .filter(|edge| !two.contains_key(edge.split('\t').next().unwrap_or_default()))
        .chain(edges(&["n2.store"]))
        .collect();
    expected.sort();
    let mut linked = edges(&BOTH);
    linked.sort();
    assert_eq!(linked, expected);
}

#[test]
fn merge_folds_node_stores_into_one_store_that_check_passes() {
    let nodes = nodes();
    let merged = nodes.on("merge", &BOTH, &["--into", &nodes.store("all.store")]);
    let merged = merged.success();
    assert!(
        merged.stdout().contains("merged 2 stores"),
        "{}",
        merged.stdout()
    );
    let check = nodes.on("check", &["all.store"], &[]).success();
    assert!(check.stdout().contains("is sound"), "{}", check.stdout());
    let union = nodes.ls(&BOTH);
    assert_eq!(nodes.ls(&["all.store"]), union);
    let stats = |stores: &[&str]| nodes.on("stats", stores, &["--json"]).success().json();
    let (one, all) = (stats(&BOTH), stats(&["all.store"]));
    for field in [
        "urls",
        "responses",
        "bytes",
        "pages_per_host",
        "by_status",
        "runs",
    ] {
        assert_eq!(one[field], all[field], "{field}");
    }
    let url = union.keys().next().expect("a page");
    let get = |stores: &[&str]| nodes.on("get", stores, &[url, "--json"]).success().json();
    assert_eq!(get(&BOTH), get(&["all.store"]));

    // The merged store is written once: a second merge into it is refused.
    let again = nodes.on("merge", &BOTH, &["--into", &nodes.store("all.store")]);
    assert_eq!(again.code(), Some(2), "{}", again.stderr());
    assert!(again.stderr().contains("all.store"), "{}", again.stderr());
    assert!(again.stderr().contains("not empty"), "{}", again.stderr());
    // It is an ordinary store: a crawl resumes it (the first store's settings and
    // the seeds of both), with nothing left to fetch.
    let store = nodes.store("all.store");
    let mut args = vec!["crawl", "--store", &store, "--no-progress", "--json"];
    let rules = nodes.second.server().resolve_args();
    for rule in &rules {
        args.extend(["--resolve", rule.as_str()]);
    }
    let resumed = run(CRAWLER, &args).success();
    assert_eq!(resumed.json()["pages_fetched"], 0, "{}", resumed.stdout());
}

#[test]
fn store_lists_with_a_missing_foreign_or_repeated_store_are_refused_naming_it() {
    let workspace = Workspace::new();
    let here = workspace.path("here");
    std::fs::create_dir_all(&here).expect("a directory");
    let foreign = workspace.path("foreign");
    std::fs::create_dir_all(&foreign).expect("a directory");
    std::fs::write(foreign.join("notes.txt"), "not a store").expect("a file");
    let (here, foreign) = (here.to_string_lossy(), foreign.to_string_lossy());
    let missing = workspace.path("missing");
    let missing = missing.to_string_lossy();
    let again = format!("{here}/.");
    let cases: [(&[&str], &str); 4] = [
        (&["ls", "--store", &here, "--store", &missing], &missing),
        (&["stats", "--store", &foreign, "--store", &here], &foreign),
        (&["ls", "--store", &here, "--store", &again], "given before"),
        (&["merge", "--into", &here, "--store", &missing], &missing),
    ];
    for (args, named) in cases {
        let refused = run(CRAWLER, args);
        assert_eq!(refused.code(), Some(2), "{args:?}: {}", refused.stderr());
        assert!(
            refused.stderr().contains(named),
            "{args:?}: {}",
            refused.stderr()
        );
    }
}
