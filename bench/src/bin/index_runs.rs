//! The store's two indexes beside sled, the page index and the inlinks, built and
//! read through the public `Store` API with as little else as a page can carry: a
//! small record, no body, no HTTP heads, `--links` outlinks per page. Building folds
//! the indexes' tails into sorted runs and merges them (the closing `flush` waits for
//! the merges); the lookups then read those runs: a host's first 100 pages, every 404
//! (a range across every run), and the inlinks of a page.
//!
//! ```text
//! cargo build --release -p crawler-bench --bin index_runs
//! ./target/release/index_runs --pages 300000 --links 16
//! ```

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Parser;
use crawler_bench::{dir_size, Spread};
use crawler_storage::{PageFilter, PageRecord, PageWrite, StatusFilter, Store, StoreOptions};

#[derive(Parser)]
struct Args {
    /// Pages written.
    #[arg(long, default_value_t = 300_000)]
    pages: u64,
    /// Outlinks per page (each an inlink posting).
    #[arg(long, default_value_t = 16)]
    links: u64,
    /// Hosts the pages are spread over.
    #[arg(long, default_value_t = 500)]
    hosts: u64,
    /// Writer threads.
    #[arg(long, default_value_t = 2)]
    threads: u64,
    /// Lookups of each kind.
    #[arg(long, default_value_t = 500)]
    lookups: u64,
}

fn main() {
    if let Err(e) = run(&Args::parse()) {
        eprintln!("index_runs: {e}");
        std::process::exit(1);
    }
}

/// A deterministic scramble of `x` (splitmix64's finaliser).
fn scramble(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn host(args: &Args, i: u64) -> String {
    format!("h{:04}.test", i % args.hosts)
}

fn url(args: &Args, i: u64) -> String {
    format!("http://{}/p/{}", host(args, i), i / args.hosts)
}

fn page(args: &Args, i: u64) -> (PageRecord, Vec<String>) {
    let mut page = PageRecord::new(&url(args, i), &host(args, i), 1);
    page.fetched_at_ms = 1_767_225_600_000 + i;
    page.status = Some(if scramble(i).is_multiple_of(20) {
        404
    } else {
        200
    });
    let mut links: Vec<String> = (0..args.links)
        .map(|k| url(args, scramble(i * 64 + k) % args.pages))
        .collect();
    links.sort();
    links.dedup();
    page.outlinks = links.len() as u32;
    (page, links)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn run(args: &Args) -> Result<(), String> {
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = temp.path().join("store");
    let e = |e: crawler_storage::StoreError| e.to_string();
    let options = StoreOptions {
        create: true,
        ..StoreOptions::default()
    };
    let started = Instant::now();
    {
        let store = Store::open(&dir, options).map_err(e)?;
        let next = AtomicU64::new(0);
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..args.threads.max(1))
                .map(|_| {
                    scope.spawn(|| -> Result<(), String> {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= args.pages {
                                return Ok(());
                            }
                            let (page, links) = page(args, i);
                            store
                                .write_page(&PageWrite {
                                    page: Some(&page),
                                    outlinks: &links,
                                    ..PageWrite::default()
                                })
                                .map_err(e)?;
                        }
                    })
                })
                .collect();
            writers
                .into_iter()
                .try_for_each(|w| w.join().unwrap_or_else(|_| Err("a writer panicked".into())))
        })?;
        store.flush().map_err(e)?;
    }
    let build_s = started.elapsed().as_secs_f64();
    let opened = Instant::now();
    let store = Store::open(&dir, StoreOptions::read_only()).map_err(e)?;
    let open_ms = ms(opened);
    let (mut by_host, mut by_status, mut inlinks) = (Vec::new(), Vec::new(), Vec::new());
    let (mut found_404, mut found_inlinks) = (0, 0);
    for k in 0..args.lookups {
        let t = Instant::now();
        let first = store
            .query(&PageFilter {
                host: Some(host(args, scramble(k))),
                ..PageFilter::default()
            })
            .take(100)
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        by_host.push(ms(t));
        if first.len() != 100.min((args.pages / args.hosts) as usize) {
            return Err(format!("a host query found {} pages", first.len()));
        }
        let t = Instant::now();
        let found = store
            .inlinks(&url(args, scramble(k + 1) % args.pages))
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        inlinks.push(ms(t));
        found_inlinks += found.len();
        if k < 10 {
            let t = Instant::now();
            found_404 = store
                .query(&PageFilter {
                    status: Some(StatusFilter::Code(404)),
                    ..PageFilter::default()
                })
                .count();
            by_status.push(ms(t));
        }
    }
    let show = |v: Vec<f64>| Spread::of(v).map_or_else(String::new, |s| s.show(3));
    let size = |name: &str| dir_size(&dir.join(name)) as f64 / 1048576.0;
    println!(
        "{} pages x {} links over {} hosts, {} writer threads",
        args.pages, args.links, args.hosts, args.threads
    );
    println!(
        "build + flush (folds and merges): {build_s:.2} s ({:.0} pages/s)",
        args.pages as f64 / build_s
    );
    println!(
        "on disk: page index {:.1} MiB, inlinks {:.1} MiB",
        size("index"),
        size("inlinks")
    );
    println!("read-only open: {open_ms:.1} ms");
    println!(
        "host query, first 100 (ms, median (min-max)): {}",
        show(by_host)
    );
    println!(
        "inlinks of a page, {:.1} found (ms): {}",
        found_inlinks as f64 / args.lookups.max(1) as f64,
        show(inlinks)
    );
    println!(
        "every 404, {found_404} pages, across all runs (ms): {}",
        show(by_status)
    );
    check_layout(&dir)
}

/// The benchmark reads the indexes where the store keeps them.
fn check_layout(dir: &Path) -> Result<(), String> {
    for name in ["index", "inlinks"] {
        if !dir.join(name).is_dir() {
            return Err(format!("{} has no {name}/", dir.display()));
        }
    }
    Ok(())
}
