//! Frontier memory: drive the frontier to millions of discovered URLs and print the
//! crawler's peak RSS, URLs inserted per second and the store's size on disk.
//!
//! The fixtures' fanout pages (`/_fixture/fanout/{n}/{id}`) each link to `n` URLs never
//! seen before, so a crawl limited to `--max-pages K` discovers about `K * n` URLs,
//! all of which go through the seen-set and into the store's frontier.
//!
//! ```text
//! cargo build --release
//! ./target/release/frontier_memory --urls 1000000,3000000,10000000
//! ```

use std::process::Command;

use clap::Parser;
use crawler_bench::{dir_size, measure, sibling_binary, FixtureProcess};

#[derive(Parser)]
struct Args {
    /// Discovered-URL targets, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000_000u64, 3_000_000, 10_000_000])]
    urls: Vec<u64>,
    /// Links per fanout page.
    #[arg(long, default_value_t = 500)]
    fanout: u64,
    /// Extra flags for `crawler crawl` (e.g. `-- --cache-mb 64`).
    #[arg(last = true)]
    extra: Vec<String>,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("frontier_memory: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = FixtureProcess::start(1, 1, dir.path())?;
    let seed = format!(
        "http://h0.test:{}/_fixture/fanout/{}/0",
        server.port, args.fanout
    );
    println!(
        "fanout {} per page, extra flags {:?}",
        args.fanout, args.extra
    );
    println!(
        "{:>12} {:>8} {:>8} {:>12} {:>9} {:>10}",
        "URLs", "pages", "wall s", "URLs/s", "RSS MiB", "store MiB"
    );
    for target in &args.urls {
        let pages = (target / args.fanout).max(1);
        let store = dir.path().join(format!("store-{target}"));
        let mut command = Command::new(sibling_binary("crawler"));
        command
            .args(["crawl", "--no-progress", "--json", "--per-host-rate", "0"])
            .args(["--max-pages", &pages.to_string()])
            .arg("--store")
            .arg(&store)
            .args(["--resolve", &server.resolve_arg()])
            .arg(&seed)
            .args(&args.extra);
        let measured = measure(&mut command)?;
        if !measured.success {
            return Err(format!("crawler failed at {target} URLs"));
        }
        let summary: serde_json::Value = serde_json::from_str(measured.stdout.trim())
            .map_err(|e| format!("summary is not JSON: {e}"))?;
        let fetched = summary["pages_fetched"].as_u64().unwrap_or(0);
        let queued = summary["queued_left"].as_u64().unwrap_or(0);
        let discovered = fetched + queued;
        println!(
            "{discovered:>12} {fetched:>8} {:>8.1} {:>12.0} {:>9.1} {:>10.1}",
            measured.wall.as_secs_f64(),
            discovered as f64 / measured.wall.as_secs_f64(),
            measured.peak_rss_kib as f64 / 1024.0,
            dir_size(&store) as f64 / 1048576.0
        );
        std::fs::remove_dir_all(&store).map_err(|e| e.to_string())?;
    }
    Ok(())
}
