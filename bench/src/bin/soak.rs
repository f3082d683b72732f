//! Soak: one crawl of about 50,000 pages mixing the normal synthetic web with every
//! hostile scenario of the fixtures (broken servers, bombs, bad redirects, traps,
//! hostile pages) on hundreds of hosts; prints errors by kind, pages/s and the
//! crawler's peak RSS.
//!
//! ```text
//! cargo build --release
//! cargo run --release -p crawler-bench --bin soak
//! ```

use std::fmt::Write as _;
use std::process::Command;

use clap::Parser;
use crawler_bench::{measure, sibling_binary, FixtureProcess};

#[derive(Parser)]
struct Args {
    /// Synthetic hosts of the normal web.
    #[arg(long, default_value_t = 100)]
    hosts: usize,
    /// Pages per synthetic host.
    #[arg(long, default_value_t = 400)]
    pages: usize,
    /// Hosts serving the hostile scenarios (each gets the whole set of them).
    #[arg(long, default_value_t = 150)]
    hostile_hosts: usize,
    /// Hosts serving the endless traps (a calendar and session IDs), each crawled
    /// until the per-host budget (`--pages`) is spent.
    #[arg(long, default_value_t = 10)]
    trap_hosts: usize,
    #[arg(long, default_value_t = 16)]
    workers: usize,
}

/// Paths every hostile host is seeded with: each broken server, bomb, bad redirect,
/// finite trap and hostile page of `crawler_fixtures::hostile`.
const SCENARIOS: &[&str] = &[
    "/_fixture/trickle",
    "/_fixture/silent",
    "/endless-chunked",
    "/reset-headers",
    "/reset-body",
    "/short-body",
    "/keepalive/0",
    "/http10",
    "/bad-status/0",
    "/bad-status/2",
    "/bad-status/4",
    "/bad-header/0",
    "/bad-header/3",
    "/bad-header/5",
    "/big-header",
    "/many-headers",
    "/gzip-bomb",
    "/brotli-bomb",
    "/huge",
    "/loop/a",
    "/_fixture/redirect/30",
    "/to-outside",
    "/to-private",
    "/bad-location/0",
    "/bad-location/1",
    "/deep/",
    "/long/",
    "/content/invalid-utf8",
    "/content/windows-1252",
    "/content/shift-jis",
    "/content/meta-contradicts",
    "/content/many-links",
    "/content/deep-nesting",
    "/content/hidden-links",
    "/content/binary",
    "/content/empty",
];

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("soak: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = FixtureProcess::start(args.hosts, args.pages, dir.path())?;
    let mut seeds =
        std::fs::read_to_string(&server.seeds_file).map_err(|e| format!("seeds: {e}"))?;
    for host in 0..args.hostile_hosts {
        for path in SCENARIOS {
            let _ = writeln!(seeds, "http://s{host}.hostile.test:{}{path}", server.port);
        }
    }
    for host in 0..args.trap_hosts {
        for path in ["/calendar/2024/01", "/session"] {
            let _ = writeln!(seeds, "http://t{host}.hostile.test:{}{path}", server.port);
        }
    }
    let seeds_file = dir.path().join("soak-seeds.txt");
    std::fs::write(&seeds_file, seeds).map_err(|e| e.to_string())?;
    let store = dir.path().join("store");
    println!(
        "soak: {} hosts x {} pages of the normal web, {} hostile hosts x {} scenarios, \
         {} trap hosts, {} workers",
        args.hosts,
        args.pages,
        args.hostile_hosts,
        SCENARIOS.len(),
        args.trap_hosts,
        args.workers
    );
    // Traps end at the per-host budget, set to what a normal host has.
    let mut command = Command::new(sibling_binary("crawler"));
    command
        .args(["crawl", "--no-progress", "--json", "--per-host-rate", "0"])
        .args(["--workers", &args.workers.to_string()])
        .args(["--timeout", "2", "--retries", "0"])
        .args(["--max-pages-per-host", &args.pages.to_string()])
        .arg("--seeds")
        .arg(&seeds_file)
        .arg("--store")
        .arg(&store)
        .args(["--resolve", &server.resolve_arg()]);
    let measured = measure(&mut command)?;
    if !measured.success {
        return Err("the crawler failed".into());
    }
    let summary: serde_json::Value = serde_json::from_str(measured.stdout.trim())
        .map_err(|e| format!("summary is not JSON: {e}"))?;
    let fetched = summary["pages_fetched"].as_u64().unwrap_or(0);
    let wall = measured.wall.as_secs_f64();
    println!(
        "{fetched} pages in {wall:.1} s: {:.0} pages/s, {:.1} CPU s, peak RSS {:.1} MiB",
        fetched as f64 / wall,
        (measured.user + measured.system).as_secs_f64(),
        measured.peak_rss_kib as f64 / 1024.0
    );
    println!("responses: {}", summary["by_status_class"]);
    println!("errors by kind:");
    if let Some(errors) = summary["errors"].as_object() {
        for (kind, count) in errors {
            println!("  {kind:<20} {count}");
        }
    }
    Ok(())
}
