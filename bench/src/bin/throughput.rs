//! Throughput: crawl the synthetic web with no per-host rate limit and print pages/s,
//! CPU time and the crawler's peak RSS.
//!
//! ```text
//! cargo build --release
//! cargo run --release -p crawler-bench --bin throughput -- --hosts 200 --pages 250 --runs 3
//! ```

use std::process::Command;

use clap::Parser;
use crawler_bench::{dir_size, measure, median, sibling_binary, FixtureProcess};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 200)]
    hosts: usize,
    #[arg(long, default_value_t = 250)]
    pages: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Extra flags for `crawler crawl`.
    #[arg(last = true)]
    extra: Vec<String>,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("throughput: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = FixtureProcess::start(args.hosts, args.pages, dir.path())?;
    let expected = (args.hosts * args.pages) as u64;
    println!(
        "crawl of {} hosts x {} pages ({expected} pages), {} workers, no rate limit, bodies stored",
        args.hosts, args.pages, args.workers
    );
    println!(
        "{:>4} {:>8} {:>9} {:>8} {:>8} {:>9} {:>10}",
        "run", "wall s", "pages/s", "user s", "sys s", "RSS MiB", "store MiB"
    );
    let (mut rates, mut rss, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=args.runs {
        let store = dir.path().join(format!("store-{run}"));
        let mut command = Command::new(sibling_binary("crawler"));
        command
            .args(["crawl", "--no-progress", "--json", "--per-host-rate", "0"])
            .args(["--workers", &args.workers.to_string()])
            .arg("--seeds")
            .arg(&server.seeds_file)
            .arg("--store")
            .arg(&store)
            .args(["--resolve", &server.resolve_arg()])
            .args(&args.extra);
        let measured = measure(&mut command)?;
        if !measured.success {
            return Err(format!("crawler failed on run {run}"));
        }
        let summary: serde_json::Value = serde_json::from_str(measured.stdout.trim())
            .map_err(|e| format!("summary is not JSON: {e}"))?;
        let fetched = summary["pages_fetched"].as_u64().unwrap_or(0);
        if fetched != expected {
            return Err(format!("run {run} fetched {fetched} pages, not {expected}"));
        }
        let rate = fetched as f64 / measured.wall.as_secs_f64();
        let store_mib = dir_size(&store) as f64 / 1048576.0;
        println!(
            "{run:>4} {:>8.2} {rate:>9.0} {:>8.2} {:>8.2} {:>9.1} {store_mib:>10.1}",
            measured.wall.as_secs_f64(),
            measured.user.as_secs_f64(),
            measured.system.as_secs_f64(),
            measured.peak_rss_kib as f64 / 1024.0
        );
        rates.push(rate);
        rss.push(measured.peak_rss_kib as f64 / 1024.0);
        cpu.push((measured.user + measured.system).as_secs_f64());
        std::fs::remove_dir_all(&store).map_err(|e| e.to_string())?;
    }
    println!(
        "median: {:.0} pages/s, {:.1} CPU s, peak RSS {:.1} MiB",
        median(&mut rates),
        median(&mut cpu),
        median(&mut rss)
    );
    Ok(())
}
