//! Our crawler and its peers side by side, in one run, judged from the server's log.
//!
//! ```text
//! bench/run                       # installs the peers, builds, runs this with their paths
//! target/release/compare --scenarios throughput,politeness --runs 3 --markdown out.md
//! ```
//!
//! Scenarios (BENCHMARKS.md has the figures and what differs between the tools):
//!
//! 1. `throughput`: 200 hosts x 250 pages, no per-host delay. Wall, pages/s, CPU, peak RSS.
//! 2. `politeness`: 500 hosts x 40 pages at 2 requests/s per host (ideal 20 s). Wall over
//!    ideal, and pairs of requests to one host that started closer than 0.5 s.
//! 3. `memory`: our crawler on the fanout pages until 1, 3 and 10 million URLs are
//!    discovered. Peak RSS.
//! 4. `resume`: our crawler restarted on a store with 1 million queued URLs. Time from
//!    the restart to its first request.
//! 5. `breadth`: our crawler on seed lists of 100,000 hosts (and, with
//!    `--breadth-hosts 100000,1000000`, a million): every host refused (port 9), then every
//!    host live with one page. Wall, peak RSS, store size, log lines.
//! 6. `dispatch`: dispatch at breadth, our crawler on 20,000 hosts x 5 pages and on
//!    200 x 500 (the same 100,000 pages), alternated. Pages/s of each, and their ratio.
//! 7. `recrawl` (only when named): see `compare/recrawl.rs`.
//! 8. `watched` (only when named): scenario 1's web with and without `--listen` and a
//!    poller, alternated (`compare/watched.rs`).
//!
//! Runs alternate between tools (A B C A B C ...) so drift in the machine's speed
//! spreads over all of them. Every tool run gets a fresh server, so its log holds that
//! run alone, and a fresh scratch directory. Every figure of a child process (ours and
//! the peers alike) comes from `wait4`. Slow peers (Scrapy in scenario 1, Scrapy and
//! wget2 in scenario 2: minutes to tens of minutes each) run only with `--slow`, once.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use crawler_bench::server_log::{self, Judgement};
use crawler_bench::tools::{self, Pace, Paths, RunSetup, Tool};
use crawler_bench::{
    dir_size, http_get, measure, measure_capped, sibling_binary, thousands, FixtureProcess,
    Measured, Spread,
};
use crawler_fixtures::{fanout_path, page_path, plain_host, synthetic_host};

#[derive(Parser)]
struct Args {
    /// Scenarios to run: throughput, politeness, memory, resume, breadth, dispatch;
    /// recrawl and watched (not by default).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "throughput,politeness,memory,resume,breadth,dispatch"
    )]
    scenarios: Vec<String>,
    /// Tools for scenarios 1 and 2: crawler, wget2, spider, scrapy.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "crawler,wget2,spider,scrapy"
    )]
    tools: Vec<String>,
    /// Also run the slow peers (once each): Scrapy in scenario 1 (about 10 minutes on
    /// 2 cores), Scrapy and wget2 in scenario 2 (about 4 and 22 minutes).
    #[arg(long)]
    slow: bool,
    /// Runs of each tool (alternated) in scenarios 1 and 2, and restarts in scenario 4.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Our crawler's worker threads.
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Scenario 1's web.
    #[arg(long, default_value_t = 200)]
    throughput_hosts: usize,
    #[arg(long, default_value_t = 250)]
    throughput_pages: usize,
    /// Scenario 2's web and rate.
    #[arg(long, default_value_t = 500)]
    politeness_hosts: usize,
    #[arg(long, default_value_t = 40)]
    politeness_pages: usize,
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Scenario 3's targets, in millions of discovered URLs.
    #[arg(long, value_delimiter = ',', default_value = "1,3,10")]
    memory_millions: Vec<f64>,
    /// Scenario 4's queue, in millions of URLs.
    #[arg(long, default_value_t = 1.0)]
    resume_millions: f64,
    /// Links per fanout page (scenarios 3 and 4).
    #[arg(long, default_value_t = 500)]
    fanout: u64,
    /// Hosts the fanout crawl starts on (scenarios 3 and 4).
    #[arg(long, default_value_t = 100)]
    fanout_hosts: usize,
    /// Scenario 5's seed lists, in hosts: each is crawled refused, then live.
    /// `100000,1000000` adds the million-host runs: about 55 minutes more on 2 cores.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    breadth_hosts: Vec<usize>,
    /// Pages per host of scenario 5's live web.
    #[arg(long, default_value_t = 1)]
    breadth_pages: usize,
    /// Bytes per page of scenario 5's live web (small, so a million pages fit on disk).
    #[arg(long, default_value_t = 2_000)]
    breadth_page_bytes: usize,
    /// Scenario 6, dispatch at breadth: a broad and a narrow web of the same pages,
    /// HOSTSxPAGES each, crawled alternately `--runs` times.
    #[arg(long, value_delimiter = ',', default_value = "20000x5,200x500", value_parser = parse_web)]
    dispatch_webs: Vec<(usize, usize)>,
    /// Scenario 7: unchanged recrawls after the one with changes (the store's growth
    /// per visit).
    #[arg(long, default_value_t = 3)]
    recrawl_more: usize,
    /// Our crawler is killed if its resident memory passes this, in scenarios 3 to 6
    /// (and larger memory targets are skipped), so the machine is never starved.
    #[arg(long, default_value_t = 12 * 1024)]
    max_rss_mib: u64,
    /// Our crawler binary [default: `crawler` beside this program].
    #[arg(long)]
    crawler: Option<PathBuf>,
    #[arg(long, default_value = "wget2")]
    wget2: PathBuf,
    #[arg(long, default_value = "target/bench-peers/release/spider-peer")]
    spider: PathBuf,
    /// The Python of a virtualenv with Scrapy.
    #[arg(long, default_value = "target/bench-venv/bin/python")]
    python: PathBuf,
    #[arg(long, default_value = "bench/peers/scrapy/fixture_spider.py")]
    scrapy_spider: PathBuf,
    /// Scratch space (stores, downloaded files, logs); a temporary directory under
    /// target/ by default, removed at the end.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Append the tables to this Markdown file as well.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Extra flags for our `crawler crawl`, in every scenario (e.g. `-- --cache-mb 64`).
    #[arg(last = true)]
    crawl_flags: Vec<String>,
}

#[path = "compare/recrawl.rs"]
mod recrawl;
#[path = "compare/watched.rs"]
mod watched;

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("compare: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let tools: Vec<Tool> = args
        .tools
        .iter()
        .map(|name| Tool::parse(name).ok_or(format!("unknown tool {name:?}")))
        .collect::<Result<_, _>>()?;
    let paths = Paths {
        crawler: args
            .crawler
            .as_deref()
            .map_or_else(|| sibling_binary("crawler"), absolute),
        wget2: args.wget2.clone(),
        spider: absolute(&args.spider),
        python: absolute(&args.python),
        scrapy_spider: absolute(&args.scrapy_spider),
    };
    check_programs(args, &tools, &paths)?;
    let base = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => PathBuf::from("target"),
    };
    std::fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    check_space(args, &tools, &base)?;
    let work = tempfile::Builder::new()
        .prefix("bench-compare-")
        .tempdir_in(&base)
        .map_err(|e| e.to_string())?;
    let mut report = Report::new(args.markdown.clone());
    for scenario in &args.scenarios {
        match scenario.as_str() {
            "throughput" => throughput(args, &tools, &paths, work.path(), &mut report)?,
            "politeness" => politeness(args, &tools, &paths, work.path(), &mut report)?,
            "memory" => memory(args, &paths, work.path(), &mut report)?,
            "resume" => resume(args, &paths, work.path(), &mut report)?,
            "breadth" => breadth(args, &paths, work.path(), &mut report)?,
            "dispatch" => dispatch_at_breadth(args, &paths, work.path(), &mut report)?,
            "recrawl" => {
                let setup = recrawl::Setup {
                    crawler: &paths.crawler,
                    hosts: args.throughput_hosts,
                    pages: args.throughput_pages,
                    workers: args.workers,
                    more: args.recrawl_more,
                    extra: &args.crawl_flags,
                };
                report.table(&recrawl::run(&setup, work.path())?)?
            }
            "watched" => {
                let setup = watched::Setup {
                    crawler: &paths.crawler,
                    hosts: args.throughput_hosts,
                    pages: args.throughput_pages,
                    workers: args.workers,
                    runs: args.runs,
                    extra: &args.crawl_flags,
                };
                report.table(&watched::run(&setup, work.path())?)?
            }
            other => return Err(format!("unknown scenario {other:?}")),
        }
    }
    Ok(())
}

/// Bytes one page costs on disk, as measured (BENCHMARKS.md): our store (bodies, records,
/// indexes, inlinks) and wget2's files (a 4 KiB-block file per page). spider and Scrapy
/// keep nothing.
const STORE_BYTES_PER_PAGE: u64 = 9_500;
const WGET2_BYTES_PER_PAGE: u64 = 12_500;
/// Our store's size per discovered URL in scenarios 3 and 4.
const STORE_BYTES_PER_URL: u64 = 210;
/// Our store's size per host of scenario 5 at its largest, before the queue files are
/// deleted at the end: a queue file (a 4 KiB block), a record, the indexes' keys. A live
/// host's page comes on top.
const STORE_BYTES_PER_HOST: u64 = 8_000;

/// Fails before any run when the work directory's filesystem has less room than the
/// chosen scenarios write at their largest (each scenario's files are removed when it
/// ends): a full disk made runs fail half-way with nothing said.
fn check_space(args: &Args, tools: &[Tool], base: &Path) -> Result<(), String> {
    let needed = space_needed(args, tools);
    let stat = rustix::fs::statvfs(base).map_err(|e| format!("{}: {e}", base.display()))?;
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    if free < needed {
        return Err(format!(
            "{} has {:.1} GB free, and these scenarios write up to about {:.1} GB: free some space, choose another place with --work-dir, or ask for fewer --runs",
            base.display(),
            free as f64 / 1e9,
            needed as f64 / 1e9
        ));
    }
    Ok(())
}

/// About the most the chosen scenarios have on disk at once, with a fifth to spare.
fn space_needed(args: &Args, tools: &[Tool]) -> u64 {
    let pages_of = |web: (usize, usize), plan: &[(Tool, usize)]| -> u64 {
        let pages = (web.0 * web.1) as u64;
        plan.iter()
            .map(|&(tool, runs)| {
                let per_page = match tool {
                    Tool::Ours => STORE_BYTES_PER_PAGE,
                    Tool::Wget2 => WGET2_BYTES_PER_PAGE,
                    Tool::Spider | Tool::Scrapy => 0,
                };
                per_page * pages * runs as u64
            })
            .sum()
    };
    let fanout = |millions: f64| (millions * 1e6) as u64 * STORE_BYTES_PER_URL;
    let largest = args
        .scenarios
        .iter()
        .map(|scenario| match scenario.as_str() {
            "throughput" => pages_of(
                (args.throughput_hosts, args.throughput_pages),
                &plan(tools, &[Tool::Scrapy], args),
            ),
            "politeness" => pages_of(
                (args.politeness_hosts, args.politeness_pages),
                &plan(tools, &[Tool::Scrapy, Tool::Wget2], args),
            ),
            "memory" => args
                .memory_millions
                .iter()
                .copied()
                .map(fanout)
                .max()
                .unwrap_or(0),
            "resume" => fanout(args.resume_millions),
            "breadth" => {
                let hosts = args.breadth_hosts.iter().copied().max().unwrap_or(0) as u64;
                hosts * (STORE_BYTES_PER_HOST + args.breadth_page_bytes as u64)
            }
            "dispatch" => {
                let pages = args.dispatch_webs.iter().map(|&(h, p)| (h * p) as u64);
                pages.max().unwrap_or(0) * STORE_BYTES_PER_PAGE
            }
            "recrawl" => {
                (args.throughput_hosts * args.throughput_pages) as u64 * STORE_BYTES_PER_PAGE * 2
            }
            "watched" => {
                (args.throughput_hosts * args.throughput_pages) as u64 * STORE_BYTES_PER_PAGE
            }
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    largest + largest / 5
}

fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|dir| dir.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Prints tables and keeps them for the Markdown file.
struct Report {
    markdown: Option<PathBuf>,
}

impl Report {
    fn new(markdown: Option<PathBuf>) -> Report {
        Report { markdown }
    }

    fn table(&mut self, text: &str) -> Result<(), String> {
        println!("\n{text}");
        if let Some(path) = &self.markdown {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            writeln!(file, "{text}").map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Fails before any run when a program the chosen scenarios and tools need is missing,
/// naming the flag that sets it: a peer that cannot start would otherwise show up as a
/// run of 0 pages in the tables.
fn check_programs(args: &Args, tools: &[Tool], paths: &Paths) -> Result<(), String> {
    let missing = |path: &Path, flag: &str, how: &str| {
        format!("{} (--{flag}) does not exist: {how}", path.display())
    };
    if !paths.crawler.is_file() {
        return Err(missing(
            &paths.crawler,
            "crawler",
            "run `cargo build --release` first",
        ));
    }
    let peers_run = args
        .scenarios
        .iter()
        .any(|s| s == "throughput" || s == "politeness");
    for tool in tools.iter().filter(|_| peers_run) {
        let (path, flag, how) = match tool {
            Tool::Ours => continue,
            Tool::Wget2 => {
                let found = if paths.wget2.components().count() > 1 {
                    paths.wget2.is_file()
                } else {
                    std::env::var_os("PATH").is_some_and(|dirs| {
                        std::env::split_paths(&dirs).any(|dir| dir.join(&paths.wget2).is_file())
                    })
                };
                if found {
                    continue;
                }
                (&paths.wget2, "wget2", "install Debian's wget2 (bench/run does)")
            }
            Tool::Spider => (
                &paths.spider,
                "spider",
                "bench/run builds it (run compare from the workspace root, or pass --spider)",
            ),
            Tool::Scrapy if args.slow => (
                &paths.python,
                "python",
                "bench/run makes the virtualenv (run compare from the workspace root, or pass --python)",
            ),
            Tool::Scrapy => continue,
        };
        if !path.is_file() {
            return Err(missing(path, flag, how));
        }
    }
    Ok(())
}

/// One tool run of scenario 1 or 2.
struct ToolRun {
    tool: Tool,
    measured: Measured,
    judgement: Judgement,
}

impl ToolRun {
    /// Whether the run did the whole job: every page of the web, and a clean exit.
    fn complete(&self) -> bool {
        self.judgement.missing == 0 && self.measured.success
    }
}

/// The runs of `tool` that did the whole job, which are what the figures are made of
/// (a run that fetched less is not faster), and a line on the runs left out, if any.
fn complete_runs(results: &[ToolRun], tool: Tool) -> (Vec<&ToolRun>, Option<String>) {
    let (complete, partial): (Vec<&ToolRun>, Vec<&ToolRun>) = results
        .iter()
        .filter(|r| r.tool == tool)
        .partition(|r| r.complete());
    if partial.is_empty() {
        return (complete, None);
    }
    let each: Vec<String> = partial
        .iter()
        .map(|r| {
            let wall = r.measured.wall.as_secs_f64();
            let exit = exit_note(&r.measured);
            format!("{} pages missing in {wall:.2} s{exit}", r.judgement.missing)
        })
        .collect();
    let note = format!(
        "{}: {} of {} runs left out of the figures, as incomplete: {}.",
        tool.name(),
        partial.len(),
        partial.len() + complete.len(),
        each.join("; ")
    );
    (complete, Some(note))
}

/// What a run's line says of its exit: nothing when clean.
fn exit_note(measured: &Measured) -> &'static str {
    if measured.success {
        ""
    } else {
        ", exit status not 0"
    }
}

/// The table, then the notes on runs left out.
fn with_notes(mut table: String, notes: &[String]) -> String {
    if !notes.is_empty() {
        table.push('\n');
        for note in notes {
            let _ = writeln!(table, "{note}");
        }
    }
    table
}

/// The slow peers of a scenario run once, and only with `--slow`.
fn runs_of(tool: Tool, slow_here: &[Tool], args: &Args) -> usize {
    match (slow_here.contains(&tool), args.slow) {
        (false, _) => args.runs,
        (true, true) => 1,
        (true, false) => 0,
    }
}

/// Runs every tool `runs_of` times, alternating, each against a fresh server.
fn alternate(
    args: &Args,
    plan: &[(Tool, usize)],
    web: (usize, usize),
    pace: Pace,
    paths: &Paths,
    work: &Path,
) -> Result<Vec<ToolRun>, String> {
    let (hosts, pages) = web;
    let expected: BTreeSet<(String, String)> = (0..hosts)
        .flat_map(|i| (0..pages).map(move |j| (plain_host(i), page_path(j))))
        .collect();
    let interval_us = match pace {
        Pace::Unlimited => 0,
        Pace::PerHost(rate) => (1e6 / rate) as u64,
    };
    let rounds = plan.iter().map(|&(_, n)| n).max().unwrap_or(0);
    wait_after_mass_deletion();
    let mut results = Vec::new();
    let mut written = Vec::new();
    for round in 0..rounds {
        for &(tool, _) in plan.iter().filter(|&&(_, n)| round < n) {
            let dir = work.join(format!("{}-{}", tool.name(), round + 1));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let log = dir.join("requests.log");
            let server = FixtureProcess::start_logged(hosts, pages, &dir, Some(&log))?;
            let seeds = dir.join("plain-seeds.txt");
            let seed_text: String = (0..hosts)
                .map(|i| format!("http://{}:{}/\n", plain_host(i), server.port))
                .collect();
            let hosts_file = dir.join("hosts");
            write(&seeds, &seed_text)?;
            write(&hosts_file, &tools::hosts_file_text(hosts))?;
            let setup = RunSetup {
                seeds: &seeds,
                port: server.port,
                scratch: &dir,
                hosts_file: &hosts_file,
                pace,
                workers: args.workers,
                extra: &args.crawl_flags,
            };
            let mut command = tools::command(tool, paths, &setup);
            let stderr =
                std::fs::File::create(dir.join("stderr.txt")).map_err(|e| e.to_string())?;
            command.stderr(stderr);
            let measured = measure(&mut command)?;
            // A response the tool has read may be logged a moment later.
            std::thread::sleep(Duration::from_millis(300));
            drop(server);
            let judgement = server_log::judge(&server_log::read(&log)?, &expected, interval_us);
            println!(
                "{:<8} run {}: {:>7.2} s wall, {:>6.1} CPU s, {:>7.1} MiB, {} of {} pages, {} requests ({} robots, {} extra, {} repeats), {} violations{}",
                tool.name(),
                round + 1,
                measured.wall.as_secs_f64(),
                measured.cpu_secs(),
                mib(&measured),
                judgement.pages,
                expected.len(),
                judgement.requests,
                judgement.robots,
                judgement.extra,
                judgement.duplicates,
                judgement.violations,
                exit_note(&measured)
            );
            if tool == Tool::Ours && !measured.success {
                return Err(format!(
                    "our crawler failed; see {}",
                    dir.join("stderr.txt").display()
                ));
            }
            results.push(ToolRun {
                tool,
                measured,
                judgement,
            });
            written.push(dir);
        }
    }
    // Not between runs: ext4 skips inodes freed in the last minute or more when it
    // allocates new ones, so a run that follows the deletion of 50,000 files spends
    // most of its time looking for free inodes (wget2 took 25-34 s instead of 8).
    for dir in &written {
        remove_heavy(dir);
    }
    if plan.iter().any(|&(tool, _)| tool == Tool::Wget2) {
        note_mass_deletion(work);
    }
    Ok(results)
}

/// How long after a mass deletion ext4 keeps skipping the freed inodes: 60 s once the
/// inode table is written back (5 minutes more while it is dirty, hence the sync).
const INODES_SKIPPED_FOR: Duration = Duration::from_secs(65);

/// Where the time of the last mass deletion is kept, for this invocation's next
/// scenario and for the next invocation (whatever its work directory).
fn deletion_marker() -> PathBuf {
    std::env::temp_dir().join("crawler-compare-mass-deletion")
}

/// Records that many files were just deleted, after syncing the filesystem so that
/// ext4 forgets them after [`INODES_SKIPPED_FOR`], not five minutes more.
fn note_mass_deletion(work: &Path) {
    if let Ok(dir) = std::fs::File::open(work) {
        let _ = rustix::fs::syncfs(&dir);
    }
    let _ = std::fs::write(deletion_marker(), unix_secs(SystemTime::now()).to_string());
}

/// Waits until ext4 reuses the inodes of the last mass deletion, if it was recent: a
/// tool that creates many files (wget2) otherwise runs slower for reasons not its own.
fn wait_after_mass_deletion() {
    let Some(deleted) = std::fs::read_to_string(deletion_marker())
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
    else {
        return;
    };
    let wait = still_to_wait(deleted, unix_secs(SystemTime::now()));
    if !wait.is_zero() {
        println!(
            "waiting {} s: files were deleted {} s ago, and ext4 is slow to create files until it reuses their inodes",
            wait.as_secs(),
            INODES_SKIPPED_FOR.saturating_sub(wait).as_secs()
        );
        std::thread::sleep(wait);
    }
}

/// What is left of [`INODES_SKIPPED_FOR`] since `deleted` (Unix seconds) at `now`.
fn still_to_wait(deleted: u64, now: u64) -> Duration {
    INODES_SKIPPED_FOR.saturating_sub(Duration::from_secs(now.saturating_sub(deleted)))
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Removes what a run wrote (stores, downloaded pages), keeping logs.
fn remove_heavy(dir: &Path) {
    for name in ["store", "files"] {
        let _ = std::fs::remove_dir_all(dir.join(name));
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn mib(m: &Measured) -> f64 {
    m.peak_rss_kib as f64 / 1024.0
}

fn plan(tools: &[Tool], slow_here: &[Tool], args: &Args) -> Vec<(Tool, usize)> {
    tools
        .iter()
        .map(|&tool| (tool, runs_of(tool, slow_here, args)))
        .filter(|&(_, n)| n > 0)
        .collect()
}

fn spread_of(runs: &[&ToolRun], f: impl Fn(&ToolRun) -> f64) -> Spread {
    Spread::of(runs.iter().map(|r| f(r))).unwrap_or(Spread {
        median: 0.0,
        min: 0.0,
        max: 0.0,
    })
}

fn throughput(
    args: &Args,
    tools: &[Tool],
    paths: &Paths,
    work: &Path,
    report: &mut Report,
) -> Result<(), String> {
    let web = (args.throughput_hosts, args.throughput_pages);
    let plan = plan(tools, &[Tool::Scrapy], args);
    println!(
        "scenario 1: {} hosts x {} pages, no per-host delay; {:?}",
        web.0, web.1, plan
    );
    let results = alternate(
        args,
        &plan,
        web,
        Pace::Unlimited,
        paths,
        &work.join("throughput"),
    )?;
    let expected = web.0 * web.1;
    let mut table = format!(
        "Scenario 1: throughput, {} hosts x {} pages ({expected} pages), no per-host delay. \
         Median (min–max) of the complete runs (every page, clean exit).\n\n\
         | tool | runs | wall s | pages/s | CPU s | peak RSS MiB | pages fetched | requests | robots | extra | repeats |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        web.0, web.1
    );
    let mut notes = Vec::new();
    for &(tool, _) in &plan {
        let (runs, note) = complete_runs(&results, tool);
        notes.extend(note);
        let pages = |r: &ToolRun| r.judgement.pages as f64;
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            tool.name(),
            runs.len(),
            spread_of(&runs, |r| r.measured.wall.as_secs_f64()).show(2),
            spread_of(&runs, |r| pages(r) / r.measured.wall.as_secs_f64()).show(0),
            spread_of(&runs, |r| r.measured.cpu_secs()).show(1),
            spread_of(&runs, |r| mib(&r.measured)).show(0),
            spread_of(&runs, pages).show(0),
            spread_of(&runs, |r| r.judgement.requests as f64).show(0),
            spread_of(&runs, |r| r.judgement.robots as f64).show(0),
            spread_of(&runs, |r| r.judgement.extra as f64).show(0),
            spread_of(&runs, |r| r.judgement.duplicates as f64).show(0),
        );
    }
    report.table(&with_notes(table, &notes))
}

fn politeness(
    args: &Args,
    tools: &[Tool],
    paths: &Paths,
    work: &Path,
    report: &mut Report,
) -> Result<(), String> {
    let web = (args.politeness_hosts, args.politeness_pages);
    // Ideal: a host's robots.txt and its pages, one interval apart.
    let ideal = web.1 as f64 / args.rate;
    let plan = plan(tools, &[Tool::Scrapy, Tool::Wget2], args);
    println!(
        "scenario 2: {} hosts x {} pages at {} requests/s per host (ideal {ideal} s); {:?}",
        web.0, web.1, args.rate, plan
    );
    let results = alternate(
        args,
        &plan,
        web,
        Pace::PerHost(args.rate),
        paths,
        &work.join("politeness"),
    )?;
    let mut table = format!(
        "Scenario 2: politeness, {} hosts x {} pages at {} requests/s per host: ideal {ideal:.0} s \
         (each host's robots.txt and pages one interval apart). Violations: requests to one host \
         that started less than {:.0} ms after the previous one, in the server's log. \
         Median (min–max) of the complete runs (every page, clean exit).\n\n\
         | tool | runs | wall s | actual / ideal | violations | shortest gap ms | most open on one host | pages fetched | requests | CPU s | peak RSS MiB |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        web.0,
        web.1,
        args.rate,
        1000.0 / args.rate
    );
    let mut notes = Vec::new();
    for &(tool, _) in &plan {
        let (runs, note) = complete_runs(&results, tool);
        notes.extend(note);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            tool.name(),
            runs.len(),
            spread_of(&runs, |r| r.measured.wall.as_secs_f64()).show(1),
            spread_of(&runs, |r| r.measured.wall.as_secs_f64() / ideal).show(2),
            spread_of(&runs, |r| r.judgement.violations as f64).show(0),
            spread_of(&runs, |r| r.judgement.min_gap_us.unwrap_or(0) as f64
                / 1000.0)
            .show(1),
            spread_of(&runs, |r| r.judgement.max_open_per_host as f64).show(0),
            spread_of(&runs, |r| r.judgement.pages as f64).show(0),
            spread_of(&runs, |r| r.judgement.requests as f64).show(0),
            spread_of(&runs, |r| r.measured.cpu_secs()).show(1),
            spread_of(&runs, |r| mib(&r.measured)).show(0),
        );
    }
    report.table(&with_notes(table, &notes))
}

/// A fanout web served for our crawler alone: the server, its seed file (one fanout
/// root per host) and its log.
struct FanoutWeb {
    server: FixtureProcess,
    seeds: PathBuf,
    log: PathBuf,
}

fn fanout_web(args: &Args, dir: &Path) -> Result<FanoutWeb, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let log = dir.join("requests.log");
    let server = FixtureProcess::start_logged(args.fanout_hosts, 1, dir, Some(&log))?;
    let seeds = dir.join("fanout-seeds.txt");
    let text: String = (0..args.fanout_hosts)
        .map(|i| {
            format!(
                "http://h{i}.test:{}{}\n",
                server.port,
                fanout_path(args.fanout, 0)
            )
        })
        .collect();
    write(&seeds, &text)?;
    Ok(FanoutWeb { server, seeds, log })
}

/// A fanout crawl: what it cost, its JSON summary, and whether it was killed for
/// passing `--max-rss-mib` (then the summary is `null`).
struct FanoutRun {
    measured: Measured,
    summary: serde_json::Value,
    capped: bool,
}

/// `--max-pages K`: the crawl's page budget.
fn pages_budget(max_pages: u64) -> [String; 2] {
    ["--max-pages".to_owned(), max_pages.to_string()]
}

/// `crawler crawl` of the fanout seeds into `store`, with the `budget` flags
/// (`--max-pages K`, or for a restart a per-run limit).
fn fanout_crawl(
    args: &Args,
    paths: &Paths,
    web: &FanoutWeb,
    store: &Path,
    budget: &[String],
) -> Result<FanoutRun, String> {
    let mut command = std::process::Command::new(&paths.crawler);
    command
        .args(["crawl", "--no-progress", "--json", "--per-host-rate", "0"])
        .args(["--workers", &args.workers.to_string()])
        .args(budget)
        .arg("--seeds")
        .arg(&web.seeds)
        .arg("--store")
        .arg(store)
        .args(["--resolve", &web.server.resolve_arg()])
        .args(&args.crawl_flags);
    let (measured, capped) = measure_capped(&mut command, Some(args.max_rss_mib * 1024))?;
    if capped {
        return Ok(FanoutRun {
            measured,
            summary: serde_json::Value::Null,
            capped,
        });
    }
    if !measured.success {
        return Err(format!(
            "crawler failed on the fanout web (store {})",
            store.display()
        ));
    }
    let summary = serde_json::from_str(measured.stdout.trim())
        .map_err(|e| format!("summary is not JSON: {e}"))?;
    Ok(FanoutRun {
        measured,
        summary,
        capped,
    })
}

fn figure(summary: &serde_json::Value, key: &str) -> u64 {
    summary[key].as_u64().unwrap_or(0)
}

fn memory(args: &Args, paths: &Paths, work: &Path, report: &mut Report) -> Result<(), String> {
    let dir = work.join("memory");
    let web = fanout_web(args, &dir)?;
    let seeds = args.fanout_hosts as u64;
    let mut table = format!(
        "Scenario 3: memory, our crawler on fanout pages ({} links each, every one a new URL) \
         from {} hosts, `--max-pages K` so that about K x {} URLs are discovered; \
         no per-host delay, {} workers. One run each.\n\n\
         | target | K | discovered | fetched | queued at exit | wall s | CPU s | peak RSS MiB | store MiB |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        args.fanout, args.fanout_hosts, args.fanout, args.workers
    );
    for &millions in &args.memory_millions {
        let target = (millions * 1e6) as u64;
        // Discovered = seeds + K * fanout.
        let max_pages = target.saturating_sub(seeds).div_ceil(args.fanout).max(1);
        let store = dir.join(format!("store-{millions}m"));
        println!("scenario 3: {millions} million URLs: --max-pages {max_pages}");
        let run = fanout_crawl(args, paths, &web, &store, &pages_budget(max_pages))?;
        let (fetched, queued) = (
            figure(&run.summary, "pages_fetched"),
            figure(&run.summary, "queued_left"),
        );
        let measured = &run.measured;
        let store_mib = dir_size(&store) as f64 / 1048576.0;
        let line = if run.capped {
            format!(
                "| {millions} M | {max_pages} | killed at {} MiB | | | {:.1} | {:.1} | > {} | {store_mib:.0} |",
                args.max_rss_mib,
                measured.wall.as_secs_f64(),
                measured.cpu_secs(),
                args.max_rss_mib,
            )
        } else {
            format!(
                "| {millions} M | {max_pages} | {} | {fetched} | {queued} | {:.1} | {:.1} | {:.0} | {store_mib:.0} |",
                fetched + queued,
                measured.wall.as_secs_f64(),
                measured.cpu_secs(),
                mib(measured),
            )
        };
        println!("{line}");
        table.push_str(&line);
        table.push('\n');
        let _ = std::fs::remove_dir_all(&store);
        if run.capped {
            table.push_str("\nLarger targets skipped: they would pass the cap too.\n");
            break;
        }
    }
    report.table(&table)
}

fn resume(args: &Args, paths: &Paths, work: &Path, report: &mut Report) -> Result<(), String> {
    let dir = work.join("resume");
    let web = fanout_web(args, &dir)?;
    let seeds = args.fanout_hosts as u64;
    let target = (args.resume_millions * 1e6) as u64;
    // Queued at exit = seeds + K * (fanout - 1).
    let max_pages = target
        .saturating_sub(seeds)
        .div_ceil(args.fanout.saturating_sub(1).max(1))
        .max(1);
    let store = dir.join("store");
    println!(
        "scenario 4: filling a store with about {target} queued URLs (--max-pages {max_pages})"
    );
    let fill = fanout_crawl(args, paths, &web, &store, &pages_budget(max_pages))?;
    if fill.capped {
        return report.table(&format!(
            "Scenario 4: resume: filling the store was killed at {} MiB (--max-rss-mib).\n",
            args.max_rss_mib
        ));
    }
    let queued = figure(&fill.summary, "queued_left");
    let fill = fill.measured;
    println!(
        "filled in {:.1} s: {queued} queued",
        fill.wall.as_secs_f64()
    );
    let mut to_first = Vec::new();
    let mut to_page = Vec::new();
    let mut rss = Vec::new();
    for restart in 1..=args.runs {
        let marker = format!("/_bench/restart-{restart}");
        // The marker's answer is written, then read here, then the crawler starts: the
        // times below include those few microseconds and the process's own start.
        request_marker(web.server.port, &marker)?;
        // The fill spent the crawl's --max-pages: each restart lifts it and fetches 20.
        let restart_budget = [
            "--max-pages",
            &u64::MAX.to_string(),
            "--max-pages-per-run",
            "20",
        ]
        .map(str::to_owned);
        let measured = fanout_crawl(args, paths, &web, &store, &restart_budget)?.measured;
        std::thread::sleep(Duration::from_millis(300));
        let lines = server_log::read(&web.log)?;
        let at = lines
            .iter()
            .position(|l| l.path == marker)
            .ok_or("the restart marker is not in the server log")?;
        let origin = lines[at].end_us;
        let after: Vec<_> = lines[at + 1..]
            .iter()
            .filter(|l| l.start_us >= origin)
            .collect();
        let first = after.iter().map(|l| l.start_us).min();
        let first_page = after
            .iter()
            .filter(|l| l.path != "/robots.txt")
            .map(|l| l.start_us)
            .min();
        let ms = |at: Option<u64>| at.map(|at| (at - origin) as f64 / 1000.0);
        let (first, first_page) = (ms(first), ms(first_page));
        println!(
            "restart {restart}: first request after {first:?} ms, first page after {first_page:?} ms, {:.0} MiB peak, {:.1} s to fetch 20 pages and exit",
            mib(&measured),
            measured.wall.as_secs_f64()
        );
        to_first.extend(first);
        to_page.extend(first_page);
        rss.push(mib(&measured));
    }
    let show = |values: &[f64], decimals| {
        Spread::of(values.iter().copied()).map_or("none".to_string(), |s| s.show(decimals))
    };
    let table = format!(
        "Scenario 4: resume, our crawler restarted {} times on a store with {queued} queued URLs \
         (filled by a fanout crawl of {max_pages} pages in {:.0} s). Times from the restart \
         (the server's answer to a marker request just before the process was started) to the \
         server seeing the first request. Median (min–max).\n\n\
         | queued | to first request ms | to first page request ms | peak RSS MiB of the restart | store MiB |\n\
         |---|---|---|---|---|\n\
         | {queued} | {} | {} | {} | {:.0} |\n",
        args.runs,
        fill.wall.as_secs_f64(),
        show(&to_first, 0),
        show(&to_page, 0),
        show(&rss, 0),
        dir_size(&store) as f64 / 1048576.0
    );
    report.table(&table)
}

/// `20000x5`: a web of 20,000 hosts of 5 pages.
fn parse_web(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("{text:?} is not HOSTSxPAGES (such as 20000x5)");
    let (hosts, pages) = text.split_once('x').ok_or_else(bad)?;
    match (hosts.parse(), pages.parse()) {
        (Ok(hosts), Ok(pages)) if hosts > 0 && pages > 0 => Ok((hosts, pages)),
        _ => Err(bad()),
    }
}

/// One crawl of ours in scenario 5: what it cost, its summary, the lines it logged at
/// the default level, its store's size, and the server's judgement (live webs only).
struct BreadthRun {
    measured: Measured,
    summary: serde_json::Value,
    log_lines: usize,
    store_bytes: u64,
    judgement: Option<Judgement>,
}

/// `crawler crawl` of `seeds` into a fresh store under `dir`, with `--resolve resolve`
/// and `flags`; its stderr is kept in `dir/stderr.txt` and its store removed after.
fn breadth_crawl(
    args: &Args,
    paths: &Paths,
    dir: &Path,
    seeds: &Path,
    resolve: &str,
    flags: &[&str],
) -> Result<BreadthRun, String> {
    let store = dir.join("store");
    let stderr_path = dir.join("stderr.txt");
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
    let mut command = std::process::Command::new(&paths.crawler);
    command
        .args(["crawl", "--no-progress", "--json", "--per-host-rate", "0"])
        .args(["--workers", &args.workers.to_string()])
        .arg("--seeds")
        .arg(seeds)
        .arg("--store")
        .arg(&store)
        .args(["--resolve", resolve])
        .args(flags)
        .args(&args.crawl_flags)
        .stderr(stderr);
    let (measured, capped) = measure_capped(&mut command, Some(args.max_rss_mib * 1024))?;
    if capped {
        return Err(format!(
            "our crawler passed --max-rss-mib {} (see {})",
            args.max_rss_mib,
            stderr_path.display()
        ));
    }
    // 0: done; 4: no server answered (every host refused).
    if !matches!(measured.code, Some(0 | 4)) {
        return Err(format!(
            "our crawler failed (exit {:?}); see {}",
            measured.code,
            stderr_path.display()
        ));
    }
    let summary = serde_json::from_str(measured.stdout.trim())
        .map_err(|e| format!("summary is not JSON: {e}"))?;
    let log_lines = std::fs::read_to_string(&stderr_path)
        .map_err(|e| format!("{}: {e}", stderr_path.display()))?
        .lines()
        .count();
    let store_bytes = dir_size(&store);
    let _ = std::fs::remove_dir_all(&store);
    Ok(BreadthRun {
        measured,
        summary,
        log_lines,
        store_bytes,
        judgement: None,
    })
}

/// A crawl of every host of `web` served live, judged from the server's log.
fn breadth_live(
    args: &Args,
    paths: &Paths,
    dir: &Path,
    web: &crawler_fixtures::WebConfig,
) -> Result<BreadthRun, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let log = dir.join("requests.log");
    let server = FixtureProcess::start_web(web, dir, Some(&log))?;
    let resolve = server.resolve_arg();
    let seeds = server.seeds_file.clone();
    let mut run = breadth_crawl(args, paths, dir, &seeds, &resolve, &[])?;
    // A response the crawler has read may be logged a moment later.
    std::thread::sleep(Duration::from_millis(300));
    drop(server);
    let expected: BTreeSet<(String, String)> = (0..web.hosts)
        .flat_map(|i| (0..web.pages).map(move |j| (synthetic_host(i), page_path(j))))
        .collect();
    run.judgement = Some(server_log::judge(&server_log::read(&log)?, &expected, 0));
    let _ = std::fs::remove_file(&log);
    Ok(run)
}

/// A crawl of `hosts` seeds on port 9 of 127.0.0.1, where nothing listens: every
/// connection is refused.
fn breadth_refused(
    args: &Args,
    paths: &Paths,
    dir: &Path,
    hosts: usize,
) -> Result<BreadthRun, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let seeds = dir.join("seeds.txt");
    let mut text = String::with_capacity(hosts * 24);
    for i in 0..hosts {
        let _ = writeln!(text, "http://{}:9/", synthetic_host(i));
    }
    write(&seeds, &text)?;
    breadth_crawl(
        args,
        paths,
        dir,
        &seeds,
        "*.test:9:127.0.0.1",
        &["--allow-address", "127.0.0.0/8"],
    )
}

/// The summary's error kinds: `connection-refused 100000, ...`.
fn error_kinds(summary: &serde_json::Value) -> String {
    let Some(errors) = summary["errors"].as_object() else {
        return String::new();
    };
    let kinds: Vec<String> = errors
        .iter()
        .map(|(kind, n)| format!("{kind} {}", thousands(n.as_u64().unwrap_or(0))))
        .collect();
    kinds.join(", ")
}

fn breadth(args: &Args, paths: &Paths, work: &Path, report: &mut Report) -> Result<(), String> {
    let dir = work.join("breadth");
    let mut table = format!(
        "Scenario 5: breadth, our crawler on one seed per host, no per-host delay, {} workers. \
         Refused: `http://h{{i}}.test:9/` resolved to 127.0.0.1, where nothing listens. Live: the \
         fixtures web, {} page(s) of about {} bytes per host. Log lines: stderr at the default \
         level. One run each.\n\n\
         | seeds | web | wall s | CPU s | peak RSS MiB | store MiB | log lines | pages | requests | exit | errors |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        args.workers, args.breadth_pages, args.breadth_page_bytes
    );
    for &hosts in &args.breadth_hosts {
        println!("scenario 5: {hosts} hosts, refused");
        let refused = breadth_refused(args, paths, &dir.join(format!("refused-{hosts}")), hosts)?;
        let line = breadth_line(hosts, "refused", &refused);
        println!("{line}");
        table.push_str(&line);
        println!("scenario 5: {hosts} hosts, live");
        let web = crawler_fixtures::WebConfig {
            hosts,
            pages: args.breadth_pages,
            page_bytes: args.breadth_page_bytes,
            ..crawler_fixtures::WebConfig::default()
        };
        let live = breadth_live(args, paths, &dir.join(format!("live-{hosts}")), &web)?;
        let line = breadth_line(hosts, "live", &live);
        println!("{line}");
        table.push_str(&line);
    }
    report.table(&table)
}

/// A row of scenario 5's first table.
fn breadth_line(hosts: usize, web: &str, run: &BreadthRun) -> String {
    let (pages, requests) = match &run.judgement {
        Some(j) => (thousands(j.pages as u64), thousands(j.requests as u64)),
        None => ("0".to_owned(), "0".to_owned()),
    };
    let code = run
        .measured
        .code
        .map_or("signal".to_owned(), |c| c.to_string());
    format!(
        "| {} | {web} | {:.1} | {:.1} | {:.0} | {:.0} | {} | {pages} | {requests} | {code} | {} |\n",
        thousands(hosts as u64),
        run.measured.wall.as_secs_f64(),
        run.measured.cpu_secs(),
        mib(&run.measured),
        run.store_bytes as f64 / 1048576.0,
        thousands(run.log_lines as u64),
        error_kinds(&run.summary),
    )
}

/// Throughput on the broad web against the narrow one (the same pages), alternated.
fn dispatch_at_breadth(
    args: &Args,
    paths: &Paths,
    work: &Path,
    report: &mut Report,
) -> Result<(), String> {
    let dir = work.join("dispatch");
    let webs: Vec<crawler_fixtures::WebConfig> = args
        .dispatch_webs
        .iter()
        .map(|&(hosts, pages)| crawler_fixtures::WebConfig {
            hosts,
            pages,
            ..crawler_fixtures::WebConfig::default()
        })
        .collect();
    let mut runs: Vec<Vec<BreadthRun>> = webs.iter().map(|_| Vec::new()).collect();
    for round in 1..=args.runs {
        for (web, runs) in webs.iter().zip(&mut runs) {
            let name = format!("{}x{}", web.hosts, web.pages);
            let run = breadth_live(args, paths, &dir.join(format!("{name}-{round}")), web)?;
            let judgement = run.judgement.clone().unwrap_or_default();
            println!(
                "dispatch {name} run {round}: {:.2} s wall, {:.1} CPU s, {:.0} MiB, {} of {} pages, {} requests",
                run.measured.wall.as_secs_f64(),
                run.measured.cpu_secs(),
                mib(&run.measured),
                judgement.pages,
                web.hosts * web.pages,
                judgement.requests,
            );
            runs.push(run);
        }
    }
    let mut table = format!(
        "Scenario 6: dispatch at breadth, the same pages (about 11 KB, 18 links) on a broad and \
         a narrow web, alternated, {} runs each, no per-host delay, {} workers. Median (min–max).\n\n\
         | web | pages | runs | wall s | pages/s | CPU s | peak RSS MiB | requests | missing | store MiB | log lines |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        args.runs, args.workers
    );
    let mut rates = Vec::new();
    for (web, runs) in webs.iter().zip(&runs) {
        let spread = |f: &dyn Fn(&BreadthRun) -> f64| {
            Spread::of(runs.iter().map(f)).unwrap_or(Spread {
                median: 0.0,
                min: 0.0,
                max: 0.0,
            })
        };
        let pages = |r: &BreadthRun| r.judgement.as_ref().map_or(0.0, |j| j.pages as f64);
        let rate = spread(&|r| pages(r) / r.measured.wall.as_secs_f64());
        rates.push(rate.median);
        let _ = writeln!(
            table,
            "| {}x{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            web.hosts,
            web.pages,
            thousands((web.hosts * web.pages) as u64),
            runs.len(),
            spread(&|r| r.measured.wall.as_secs_f64()).show(2),
            rate.show(0),
            spread(&|r| r.measured.cpu_secs()).show(1),
            spread(&|r| mib(&r.measured)).show(0),
            spread(&|r| r.judgement.as_ref().map_or(0.0, |j| j.requests as f64)).show(0),
            spread(&|r| r.judgement.as_ref().map_or(0.0, |j| j.missing as f64)).show(0),
            spread(&|r| r.store_bytes as f64 / 1048576.0).show(0),
            spread(&|r| r.log_lines as f64).show(0),
        );
    }
    if let [broad, narrow, ..] = rates[..] {
        let _ = writeln!(
            table,
            "\nBroad over narrow, pages/s (medians): {:.2} (the aim: at least 0.80).",
            broad / narrow
        );
    }
    report.table(&table)
}

/// A request the harness makes itself, to mark an instant in the server's log.
fn request_marker(port: u16, path: &str) -> Result<(), String> {
    http_get(&format!("127.0.0.1:{port}"), "h0.test", path)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tool: Tool, secs: u64, missing: usize, success: bool) -> ToolRun {
        ToolRun {
            tool,
            measured: Measured {
                wall: Duration::from_secs(secs),
                user: Duration::ZERO,
                system: Duration::ZERO,
                peak_rss_kib: 0,
                success,
                code: Some(if success { 0 } else { 1 }),
                stdout: String::new(),
            },
            judgement: Judgement {
                pages: 10 - missing,
                missing,
                ..Judgement::default()
            },
        }
    }

    #[test]
    fn runs_wait_out_the_minute_after_a_mass_deletion_and_no_longer() {
        assert_eq!(still_to_wait(1_000, 1_000), INODES_SKIPPED_FOR);
        assert_eq!(still_to_wait(1_000, 1_060), Duration::from_secs(5));
        assert_eq!(still_to_wait(1_000, 1_065), Duration::ZERO);
        assert_eq!(still_to_wait(1_000, 5_000), Duration::ZERO);
        // A clock that went back waits the whole time, never longer.
        assert_eq!(still_to_wait(2_000, 1_000), INODES_SKIPPED_FOR);
    }

    #[test]
    fn the_space_asked_for_is_the_largest_scenario_with_a_fifth_to_spare() {
        let args = Args::parse_from([
            "compare",
            "--scenarios",
            "throughput,memory",
            "--runs",
            "5",
            "--memory-millions",
            "1,10",
        ]);
        // Scenario 1: 50,000 pages, 5 runs each of ours and wget2, none of spider's.
        let tools = [Tool::Ours, Tool::Wget2, Tool::Spider];
        let throughput = 50_000 * 5 * (STORE_BYTES_PER_PAGE + WGET2_BYTES_PER_PAGE);
        assert_eq!(space_needed(&args, &tools), throughput + throughput / 5);
        // Scenario 3's largest store, 10 million URLs, is smaller than that.
        assert!(10_000_000 * STORE_BYTES_PER_URL < throughput);
        let only_memory = Args::parse_from(["compare", "--scenarios", "memory"]);
        let ten_million = 10_000_000 * STORE_BYTES_PER_URL;
        assert_eq!(
            space_needed(&only_memory, &tools),
            ten_million + ten_million / 5
        );
    }

    #[test]
    fn dispatch_webs_are_hosts_x_pages() {
        assert_eq!(parse_web("20000x5"), Ok((20_000, 5)));
        for bad in ["20000", "0x5", "20000x", "x5", "20kx5"] {
            let message = parse_web(bad).unwrap_err();
            assert!(
                message.contains(bad) && message.contains("HOSTSxPAGES"),
                "{message}"
            );
        }
        let args = Args::parse_from(["compare", "--scenarios", "dispatch"]);
        assert_eq!(args.dispatch_webs, [(20_000, 5), (200, 500)]);
    }

    #[test]
    fn runs_that_fetched_less_or_failed_are_left_out_of_the_figures_and_named() {
        let results = [
            run(Tool::Wget2, 8, 0, true),
            run(Tool::Wget2, 5, 4, false),
            run(Tool::Wget2, 6, 1, true),
            run(Tool::Ours, 9, 0, true),
        ];
        let (runs, note) = complete_runs(&results, Tool::Wget2);
        assert_eq!(runs.len(), 1);
        assert_eq!(
            spread_of(&runs, |r| r.measured.wall.as_secs_f64()).median,
            8.0
        );
        let note = note.unwrap();
        assert!(note.starts_with("wget2: 2 of 3 runs left out"), "{note}");
        assert!(
            note.contains("4 pages missing in 5.00 s, exit status not 0"),
            "{note}"
        );
        let (ours, none) = complete_runs(&results, Tool::Ours);
        assert_eq!((ours.len(), none), (1, None));
    }
}
