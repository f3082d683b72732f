//! Cluster scaling and faults: `crawler crawl --cluster` nodes, each its own release
//! process, against one `redis-server` on a free loopback port and a fixtures web whose
//! every answer waits `--latency-ms` (`crawler-fixtures serve --latency-ms`).
//!
//! The machine has two cores, so a web that made the crawl CPU-bound would measure the
//! cores, not the cluster: each answer waits (100 ms by default, a distant server),
//! each node has few workers (4), and the web has many hosts (400 x 10 pages) so that
//! one request at a time per host is never what limits a node.
//!
//! - **scaling**: 1, 2 and 4 nodes (`--nodes`), alternated `--runs` times, each run on
//!   a fresh Redis and web. Pages per second from the server's request log (all pages
//!   over the span from the first request to the last answer, and the steady rate
//!   between the 10th and the 90th percentile of page answers), duplicate fetches,
//!   pages per node (Redis's acknowledged counts) and partitions per node (their leases
//!   sampled every half second, the sample in the middle of the crawl).
//! - **kill**: 3 nodes; once a third of the web is fetched, the node `n2` is killed
//!   with SIGKILL (its partitions read from their leases just before). Lost URLs (pages
//!   of the web never answered 200: must be 0), duplicate fetches, and the time from
//!   the kill (a marker request just after the process is reaped) to the first request
//!   to any host of a partition it owned, and to the last such partition's first
//!   request, from the server's log. Once per `--kill-leases` value and `--runs`.
//!
//! ```text
//! cargo build --release -p crawler-cli -p crawler-fixtures -p crawler-bench
//! ./target/release/cluster_scaling --nodes 1,2,4 --runs 2 --kill-leases 30,5
//! ```

use clap::Parser;
use crawler_bench::server_log::{self, Judgement};
use crawler_bench::{sibling_binary, FixtureProcess, Spread};
use crawler_cluster::{partition_of, ClusterConfig, Crawl, Session};
use crawler_fixtures::{page_path, synthetic_host, LogLine, RedisServer, WebConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Node counts of the scaling runs, alternated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    nodes: Vec<usize>,
    /// Runs of each node count, and of each kill lease.
    #[arg(long, default_value_t = 2)]
    runs: usize,
    /// `--lease` values of the kill runs (none: no kill runs).
    #[arg(long, value_delimiter = ',', default_value = "30,5")]
    kill_leases: Vec<u64>,
    /// Skip the scaling runs.
    #[arg(long)]
    no_scaling: bool,
    #[arg(long, default_value_t = 400)]
    hosts: usize,
    #[arg(long, default_value_t = 10)]
    pages: usize,
    /// The wait of every answer of the web.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// Workers of each node.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Scratch space (a temporary directory under target/ by default).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// A node that has not ended by then is killed and the run fails.
const RUN_LIMIT: Duration = Duration::from_secs(900);

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("cluster_scaling: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let scratch = match &args.work_dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => {
            std::fs::create_dir_all("target").map_err(|e| e.to_string())?;
            tempfile::tempdir_in("target")
        }
    }
    .map_err(|e| format!("no scratch directory: {e}"))?;
    println!(
        "web: {} hosts x {} pages, every answer {} ms late; {} workers a node, \
         --per-host-rate 0 (one request at a time per host); load average {}",
        args.hosts,
        args.pages,
        args.latency_ms,
        args.workers,
        load_average()
    );
    let mut serial = 0;
    if !args.no_scaling {
        let mut runs: BTreeMap<usize, Vec<Outcome>> = BTreeMap::new();
        for round in 0..args.runs {
            for &nodes in &args.nodes {
                serial += 1;
                let dir = scratch.path().join(format!("run{serial}"));
                let outcome = crawl(args, &dir, nodes, 30, None)?;
                println!("scaling, round {}: {}", round + 1, outcome.line());
                runs.entry(nodes).or_default().push(outcome);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        print_scaling(&runs);
    }
    for round in 0..args.runs {
        for &lease in &args.kill_leases {
            serial += 1;
            let dir = scratch.path().join(format!("run{serial}"));
            let outcome = crawl(args, &dir, 3, lease, Some(1.0 / 3.0))?;
            println!(
                "kill -9, --lease {lease}, round {}: {}",
                round + 1,
                outcome.line()
            );
            if let Some(kill) = &outcome.kill {
                println!("  {}", kill.line());
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    println!("load average at the end: {}", load_average());
    Ok(())
}

/// What one crawl by `nodes` nodes did.
struct Outcome {
    nodes: usize,
    judgement: Judgement,
    /// All pages over the log's span.
    pages_per_sec: f64,
    /// Page answers between the 10th and 90th percentile, over their time.
    steady_per_sec: f64,
    /// From the first node's start to the last node's exit.
    wall: Duration,
    /// Acknowledged pages per node (Redis's counts).
    pages_by_node: BTreeMap<String, u64>,
    /// Partitions per node in the lease sample in the middle of the crawl.
    partitions_by_node: BTreeMap<String, usize>,
    /// Hosts of the web in those partitions, per node.
    hosts_by_node: BTreeMap<String, usize>,
    exit_codes: Vec<Option<i32>>,
    kill: Option<KillOutcome>,
}

impl Outcome {
    fn line(&self) -> String {
        let j = &self.judgement;
        format!(
            "{} node(s): {} pages, {:.1} pages/s over the log ({:.1} steady), wall {:.1} s, \
             missing {}, duplicates {}, robots {}, extra {}, pages by node {:?}, \
             partitions by node {:?}, hosts by node {:?}, exits {:?}",
            self.nodes,
            j.pages,
            self.pages_per_sec,
            self.steady_per_sec,
            self.wall.as_secs_f64(),
            j.missing,
            j.duplicates,
            j.robots,
            j.extra,
            self.pages_by_node,
            self.partitions_by_node,
            self.hosts_by_node,
            self.exit_codes
        )
    }

    /// Most pages of one node over the fewest (1 for one node).
    fn skew(&self) -> f64 {
        let max = self.pages_by_node.values().max().copied().unwrap_or(0) as f64;
        let min = self.pages_by_node.values().min().copied().unwrap_or(0) as f64;
        if self.pages_by_node.len() < self.nodes || min == 0.0 {
            f64::INFINITY
        } else {
            max / min
        }
    }
}

/// What a kill of one node did.
struct KillOutcome {
    partitions: Vec<u32>,
    /// Pages answered before the kill.
    pages_before: usize,
    /// From the kill to the first request to a host of the dead node's partitions.
    first_resumed: Option<Duration>,
    /// From the kill to the first request of the last of its partitions to resume.
    all_resumed: Option<Duration>,
    /// Of its partitions, how many had requests after the kill.
    resumed_partitions: usize,
    /// From the kill to the first lease sample with all its partitions owned by others.
    taken_over: Option<Duration>,
}

impl KillOutcome {
    fn line(&self) -> String {
        let secs =
            |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.2} s", d.as_secs_f64()));
        format!(
            "killed n2 holding {} partitions after {} pages; all owned by others after {} \
             (leases sampled every 0.5 s); its hosts resumed after {} (first), {} (last of \
             the {} partitions with work left)",
            self.partitions.len(),
            self.pages_before,
            secs(self.taken_over),
            secs(self.first_resumed),
            secs(self.all_resumed),
            self.resumed_partitions
        )
    }
}

/// One crawl of the web by `nodes` nodes on a fresh Redis and web; with `kill_at`,
/// node `n2` is killed once that share of the web's pages is answered.
fn crawl(
    args: &Args,
    dir: &Path,
    nodes: usize,
    lease: u64,
    kill_at: Option<f64>,
) -> Result<Outcome, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let redis = RedisServer::start().map_err(|e| e.to_string())?;
    let web = WebConfig {
        hosts: args.hosts,
        pages: args.pages,
        ..WebConfig::default()
    };
    let log = dir.join("requests.log");
    let latency = Duration::from_millis(args.latency_ms);
    let server = FixtureProcess::start_distant(&web, latency, dir, Some(&log))?;
    let crawler = sibling_binary("crawler");
    let node_command = |name: &str, seeds: bool| {
        let mut command = Command::new(&crawler);
        command.args(["crawl", "--cluster", &redis.url(), "--crawl-id", "bench"]);
        command
            .args(["--node", name])
            .arg("--store")
            .arg(dir.join(name));
        command.args(["--resolve", &server.resolve_arg()]);
        command.args(["--allow-address", "127.0.0.0/8", "--per-host-rate", "0"]);
        command.args(["--workers", &args.workers.to_string()]);
        command.args(["--lease", &lease.to_string(), "--json", "--no-progress"]);
        if seeds {
            command.arg("--seeds").arg(&server.seeds_file);
        }
        let out = std::fs::File::create(dir.join(format!("{name}.out")));
        let err = std::fs::File::create(dir.join(format!("{name}.err")));
        match (out, err) {
            (Ok(out), Ok(err)) => {
                command.stdout(out).stderr(err);
                Ok(command)
            }
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        }
    };
    let started = Instant::now();
    // The seeded node creates the crawl; the others join it at once.
    let mut children: Vec<(String, Child)> = Vec::new();
    for i in 1..=nodes {
        let name = format!("n{i}");
        let child = node_command(&name, i == 1)?
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", crawler.display()))?;
        children.push((name, child));
    }
    let result = watch(args, &redis, &server, &log, &mut children, kill_at, started);
    for (_, child) in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let watched = result?;
    let wall = started.elapsed();
    // An answer the crawler has read may be logged a moment later.
    std::thread::sleep(Duration::from_millis(300));
    let lines = server_log::read(&log)?;
    let marker = lines.iter().find(|l| l.path == KILL_MARKER).cloned();
    let port = server.port;
    drop(server);
    let expected: BTreeSet<(String, String)> = (0..web.hosts)
        .flat_map(|i| (0..web.pages).map(move |j| (synthetic_host(i), page_path(j))))
        .collect();
    // The harness's own marker request is not the crawl's.
    let lines: Vec<LogLine> = lines
        .into_iter()
        .filter(|l| !l.path.starts_with("/_bench/"))
        .collect();
    let judgement = server_log::judge(&lines, &expected, 0);
    let mut ends: Vec<u64> = lines
        .iter()
        .filter(|l| l.status == 200 && expected.contains(&(l.host.clone(), l.path.clone())))
        .map(|l| l.end_us)
        .collect();
    ends.sort_unstable();
    let steady_per_sec = match (ends.get(ends.len() / 10), ends.get(ends.len() * 9 / 10)) {
        (Some(&a), Some(&b)) if b > a => (ends.len() * 8 / 10) as f64 / ((b - a) as f64 / 1e6),
        _ => 0.0,
    };
    let pages_per_sec = judgement.pages as f64 / (judgement.span_us.max(1) as f64 / 1e6);
    let middle = middle_sample(&watched.samples);
    // The engine's politeness key, which picks a host's partition: scheme, host, port.
    let mut hosts_in = vec![0; middle.len()];
    for i in (0..web.hosts).filter(|_| !middle.is_empty()) {
        let key = format!("http://{}:{port}", synthetic_host(i));
        hosts_in[partition_of(&key, middle.len() as u32) as usize] += 1;
    }
    let kill = match watched.killed {
        Some(killed) => {
            let marker = marker.ok_or("the kill marker is not in the server log")?;
            Some(killed_outcome(&lines, &killed, &marker, port))
        }
        None => None,
    };
    Ok(Outcome {
        nodes,
        judgement,
        pages_per_sec,
        steady_per_sec,
        wall,
        pages_by_node: watched.pages_by_node,
        partitions_by_node: count_by_owner(&middle, |_| 1),
        hosts_by_node: count_by_owner(&middle, |p| hosts_in[p as usize]),
        exit_codes: watched.exit_codes,
        kill,
    })
}

/// What [`watch`] saw of a run.
struct Watched {
    /// (seconds from the start, each partition's owner).
    samples: Vec<(f64, Vec<Option<String>>)>,
    pages_by_node: BTreeMap<String, u64>,
    exit_codes: Vec<Option<i32>>,
    killed: Option<Killed>,
}

/// What the killed node owned.
struct Killed {
    partitions: Vec<u32>,
    partition_count: u32,
    /// When it was killed.
    at: Instant,
    /// From the kill to the first sample with all its partitions owned by others.
    taken_over: Option<Duration>,
}

/// The request that dates a kill in the server's log: sent once the node is reaped.
const KILL_MARKER: &str = "/_bench/killed";

/// Samples the leases every half second until every node has exited (killing `n2` on
/// the way with `kill_at`), then reads the pages each node acknowledged.
fn watch(
    args: &Args,
    redis: &RedisServer,
    server: &FixtureProcess,
    log: &Path,
    children: &mut [(String, Child)],
    kill_at: Option<f64>,
    started: Instant,
) -> Result<Watched, String> {
    let mut session: Option<Session> = None;
    let mut samples = Vec::new();
    let mut exit_codes = vec![None; children.len()];
    let mut done = vec![false; children.len()];
    let mut killed = None;
    let total_pages = (args.hosts * args.pages) as f64;
    while done.iter().any(|d| !d) {
        if started.elapsed() > RUN_LIMIT {
            return Err(format!("the nodes did not end within {RUN_LIMIT:?}"));
        }
        for (i, (name, child)) in children.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                done[i] = true;
                exit_codes[i] = status.code();
                if killed.is_none() && status.code() != Some(0) {
                    return Err(format!("node {name} exited with {status}"));
                }
            }
        }
        if session.is_none() {
            session = open_reader(redis)?;
        }
        let owners = match session.as_mut() {
            Some(session) => session
                .leases()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|lease| lease.owner)
                .collect(),
            None => Vec::new(),
        };
        if let (Some(share), None) = (kill_at, &killed) {
            let partitions: Vec<u32> = (0u32..)
                .zip(&owners)
                .filter(|(_, owner)| owner.as_deref() == Some("n2"))
                .map(|(p, _)| p)
                .collect();
            // Killed once it holds its share, not while it is still joining.
            if !partitions.is_empty() && pages_answered(log) as f64 >= share * total_pages {
                let (_, victim) = &mut children[1];
                victim.kill().map_err(|e| e.to_string())?;
                let _ = victim.wait();
                done[1] = true;
                crawler_bench::http_get(
                    &format!("127.0.0.1:{}", server.port),
                    "h0.test",
                    KILL_MARKER,
                )
                .map_err(|e| format!("the kill marker: {e}"))?;
                killed = Some(Killed {
                    partitions,
                    partition_count: owners.len() as u32,
                    at: Instant::now(),
                    taken_over: None,
                });
            }
        }
        if let Some(k) = killed.as_mut().filter(|k| k.taken_over.is_none()) {
            let owned_by_others = |p: &u32| {
                owners
                    .get(*p as usize)
                    .is_some_and(|o| o.as_deref().is_some_and(|o| o != "n2"))
            };
            if k.partitions.iter().all(owned_by_others) {
                k.taken_over = Some(k.at.elapsed());
            }
        }
        samples.push((started.elapsed().as_secs_f64(), owners));
        std::thread::sleep(Duration::from_millis(500));
    }
    let pages_by_node = match session.as_mut() {
        Some(session) => session
            .totals()
            .map_err(|e| e.to_string())?
            .nodes
            .into_iter()
            .map(|node| (node.name, node.pages))
            .collect(),
        None => BTreeMap::new(),
    };
    Ok(Watched {
        samples,
        pages_by_node,
        exit_codes,
        killed,
    })
}

/// A reader of the crawl once a node has created it (it never takes a lease).
fn open_reader(redis: &RedisServer) -> Result<Option<Session>, String> {
    let mut config = ClusterConfig::new(&redis.url(), "bench").map_err(|e| e.to_string())?;
    config.node = "bench-reader".into();
    match Crawl::existing(config).map_err(|e| e.to_string())? {
        Some(crawl) => Session::open(&crawl).map(Some).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

/// Lines of the request log so far whose answer was a 200 (pages: robots.txt is a 404).
fn pages_answered(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|text| text.lines().filter(|l| l.contains("\t200\t")).count())
        .unwrap_or(0)
}

/// Each partition's owner in the sample halfway through the samples where every
/// partition had an owner (the whole run's middle when none had).
fn middle_sample(samples: &[(f64, Vec<Option<String>>)]) -> Vec<Option<String>> {
    let full: Vec<_> = samples
        .iter()
        .filter(|(_, owners)| !owners.is_empty() && owners.iter().all(Option::is_some))
        .collect();
    let pick = match full.get(full.len() / 2) {
        Some(sample) => Some(*sample),
        None => samples.get(samples.len() / 2),
    };
    pick.map(|(_, owners)| owners.clone()).unwrap_or_default()
}

/// `weight(partition)` summed per owner.
fn count_by_owner(
    owners: &[Option<String>],
    weight: impl Fn(u32) -> usize,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (p, owner) in (0u32..).zip(owners) {
        if let Some(owner) = owner {
            *counts.entry(owner.clone()).or_insert(0) += weight(p);
        }
    }
    counts
}

/// When the killed node's hosts were asked for again, from the log.
fn killed_outcome(lines: &[LogLine], killed: &Killed, marker: &LogLine, port: u16) -> KillOutcome {
    let dead: BTreeSet<u32> = killed.partitions.iter().copied().collect();
    // The engine's politeness key: scheme, host and port.
    let partition =
        |host: &str| partition_of(&format!("http://{host}:{port}"), killed.partition_count);
    let pages_before = lines
        .iter()
        .filter(|l| l.status == 200 && l.start_us < marker.start_us)
        .count();
    let mut first_by_partition: BTreeMap<u32, u64> = BTreeMap::new();
    for line in lines.iter().filter(|l| l.start_us > marker.start_us) {
        let p = partition(&line.host);
        if dead.contains(&p) {
            let first = first_by_partition.entry(p).or_insert(line.start_us);
            *first = (*first).min(line.start_us);
        }
    }
    let after = |us: u64| Duration::from_micros(us - marker.start_us);
    KillOutcome {
        partitions: killed.partitions.clone(),
        pages_before,
        first_resumed: first_by_partition.values().min().map(|&us| after(us)),
        all_resumed: first_by_partition.values().max().map(|&us| after(us)),
        resumed_partitions: first_by_partition.len(),
        taken_over: killed.taken_over,
    }
}

fn print_scaling(runs: &BTreeMap<usize, Vec<Outcome>>) {
    let base = runs
        .get(&1)
        .and_then(|r| Spread::of(r.iter().map(|o| o.pages_per_sec)))
        .map(|s| s.median);
    let base_steady = runs
        .get(&1)
        .and_then(|r| Spread::of(r.iter().map(|o| o.steady_per_sec)))
        .map(|s| s.median);
    println!();
    println!("| nodes | runs | pages/s (log span) | x one node | pages/s (steady, p10-p90) | x one node | wall s | duplicates | missing | pages per node max/min | partitions per node | hosts per node |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (nodes, outcomes) in runs {
        let spread = |f: &dyn Fn(&Outcome) -> f64| Spread::of(outcomes.iter().map(f));
        let (Some(rate), Some(steady), Some(wall), Some(skew)) = (
            spread(&|o| o.pages_per_sec),
            spread(&|o| o.steady_per_sec),
            spread(&|o| o.wall.as_secs_f64()),
            spread(&|o| o.skew()),
        ) else {
            continue;
        };
        let ratio =
            |base: Option<f64>, v: f64| base.map_or("-".into(), |b| format!("{:.2}", v / b));
        let partitions: Vec<String> = outcomes
            .iter()
            .map(|o| {
                let counts: Vec<String> = o
                    .partitions_by_node
                    .values()
                    .map(|c| c.to_string())
                    .collect();
                counts.join("/")
            })
            .collect();
        let hosts: Vec<String> = outcomes
            .iter()
            .map(|o| {
                let counts: Vec<String> = o.hosts_by_node.values().map(|c| c.to_string()).collect();
                counts.join("/")
            })
            .collect();
        println!(
            "| {nodes} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            outcomes.len(),
            rate.show(1),
            ratio(base, rate.median),
            steady.show(1),
            ratio(base_steady, steady.median),
            wall.show(1),
            outcomes
                .iter()
                .map(|o| o.judgement.duplicates)
                .sum::<usize>(),
            outcomes.iter().map(|o| o.judgement.missing).sum::<usize>(),
            skew.show(2),
            partitions.join(", "),
            hosts.join(", ")
        );
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
