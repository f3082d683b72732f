//! What sled charges for a crawl's page writes, by how they are batched: the experiment
//! behind the store's writer thread (`storage/src/record_writer.rs`).
//!
//! Each "page" is the six keys a page write puts in sled: its record (about 280 bytes),
//! three index entries (host, status, fetch time), its host's count and the crawl's
//! totals. 50,000 pages over 200 hosts, keys in crawl order, each mode on a fresh
//! database, timed by wall clock, CPU time of this process (sled's I/O threads included)
//! and bytes written to disk (`/proc/self/io`).
//!
//! ```text
//! cargo build --release -p crawler-bench
//! ./target/release/sled_batches
//! ```

use std::time::Instant;

use clap::Parser;
use crawler_bench::cpu_seconds;

#[derive(Parser)]
struct Args {
    /// Pages to write in each mode.
    #[arg(long, default_value_t = 50_000)]
    pages: u64,
    /// Modes: `threadsN` (N threads, one batch per page, no flush), `threadsN-flush` (a
    /// flush after each batch), `mergedK` (one thread, K pages per batch, a flush after
    /// each batch).
    #[arg(long, value_delimiter = ',', default_values_t = ["threads16".to_owned(), "threads16-flush".to_owned(), "merged4".to_owned(), "merged16".to_owned(), "merged64".to_owned(), "merged256".to_owned()])]
    modes: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    println!("| mode | pages | wall s | CPU s | MB written |");
    println!("|---|---|---|---|---|");
    for mode in &args.modes {
        let dir = tempfile::tempdir()?;
        let db = sled::Config::new()
            .path(dir.path())
            .cache_capacity(256 << 20)
            .open()?;
        let tree = db.open_tree("crawl")?;
        let (cpu, written, started) = (cpu_seconds()?, bytes_written()?, Instant::now());
        run(mode, args.pages, &db, &tree)?;
        db.flush()?;
        println!(
            "| {mode} | {} | {:.2} | {:.2} | {} |",
            args.pages,
            started.elapsed().as_secs_f64(),
            cpu_seconds()? - cpu,
            (bytes_written()? - written) >> 20
        );
    }
    Ok(())
}

fn run(mode: &str, pages: u64, db: &sled::Db, tree: &sled::Tree) -> Result<(), sled::Error> {
    if let Some(threads) = mode.strip_prefix("threads") {
        let (threads, flush) = match threads.strip_suffix("-flush") {
            Some(threads) => (threads, true),
            None => (threads, false),
        };
        let threads: u64 = threads.parse().unwrap_or(16).max(1);
        return std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|first| {
                    scope.spawn(move || -> Result<(), sled::Error> {
                        for page in (first..pages).step_by(threads as usize) {
                            let mut batch = sled::Batch::default();
                            add_page(&mut batch, page);
                            // A page write first looks for the record it replaces.
                            tree.get(page_key(page))?;
                            tree.apply_batch(batch)?;
                            if flush {
                                db.flush()?;
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|worker| worker.join().unwrap_or(Ok(())))
        });
    }
    let per_batch: u64 = mode
        .strip_prefix("merged")
        .and_then(|k| k.parse().ok())
        .unwrap_or(64)
        .max(1);
    let mut first = 0;
    while first < pages {
        let mut batch = sled::Batch::default();
        for page in first..(first + per_batch).min(pages) {
            add_page(&mut batch, page);
        }
        tree.apply_batch(batch)?;
        db.flush()?;
        first += per_batch;
    }
    Ok(())
}

fn url(page: u64) -> String {
    format!("http://h{}.plain:18080/page/{}", page % 200, page / 200)
}

fn page_key(page: u64) -> Vec<u8> {
    [b"p", url(page).as_bytes()].concat()
}

fn add_page(batch: &mut sled::Batch, page: u64) {
    let url = url(page);
    let host = format!("h{}.plain", page % 200);
    batch.insert(page_key(page), vec![b'r'; 280]);
    batch.insert([b"h", host.as_bytes(), url.as_bytes()].concat(), &[][..]);
    batch.insert([b"c\x00\xc8", url.as_bytes()].concat(), &[][..]);
    let time = 1_763_800_000_000u64 + page;
    batch.insert(
        [&b"t"[..], &time.to_be_bytes(), url.as_bytes()].concat(),
        &[][..],
    );
    batch.insert([b"y", host.as_bytes()].concat(), &page.to_be_bytes()[..]);
    batch.insert(&b"z"[..], vec![b'z'; 150]);
}

fn bytes_written() -> Result<u64, Box<dyn std::error::Error>> {
    let io = std::fs::read_to_string("/proc/self/io")?;
    Ok(io
        .lines()
        .find_map(|line| line.strip_prefix("write_bytes:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0))
}
