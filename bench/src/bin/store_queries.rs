//! Querying a stored crawl: build a store of a million synthetic pages through
//! `Store::write_page` (the same call a crawl makes, so the same keys and indexes),
//! then time the release `crawler` binary as a user runs it (`ls --host`, `get`,
//! `stats`, `export --format jsonl` and `--format parquet`, run in turns) and the same
//! lookups in-process, where neither process start nor the opening of the store is
//! counted.
//!
//! The store is measured at each size of `--sizes` as it grows, so the cost of a host
//! query can be compared across store sizes.
//!
//! ```text
//! cargo build --release -p crawler-cli -p crawler-bench
//! ./target/release/store_queries --sizes 100000,1000000
//! ```

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use crawler_bench::{dir_size, measure, median, sibling_binary, thousands};
use crawler_storage::{
    CrawlRun, Footprint, HttpExchange, PageFilter, PageRecord, PageWrite, QueueEntry, RequestHead,
    ResponseHead, StatusFilter, Store, StoreOptions,
};

#[derive(Parser)]
struct Args {
    /// Store sizes (pages) at which to measure, ascending; the store grows to the last.
    #[arg(long, value_delimiter = ',', default_values_t = [100_000u64, 1_000_000])]
    sizes: Vec<u64>,
    /// Hosts the pages are spread over.
    #[arg(long, default_value_t = 1000)]
    hosts: u64,
    /// Writer threads while building the store.
    #[arg(long, default_value_t = 2)]
    threads: u64,
    /// Runs of each `crawler` command (the median is printed).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Runs of the full export (each reads the whole store).
    #[arg(long, default_value_t = 3)]
    export_runs: usize,
    /// In-process lookups of each kind (over different hosts and URLs).
    #[arg(long, default_value_t = 200)]
    lookups: usize,
    /// Where to build the store [default: a temporary directory, removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the size on disk and live data of the existing store at this path (read
    /// only), and nothing else: for a store built by an older build.
    #[arg(long)]
    footprint_of: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("store_queries: {e}");
        std::process::exit(1);
    }
}

/// Crawl time of the synthetic pages: one page every 300 microseconds from here.
const CRAWL_START_MS: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn run(args: Args) -> Result<(), String> {
    if let Some(store) = &args.footprint_of {
        let reader = Store::open(store, StoreOptions::read_only()).map_err(|e| e.to_string())?;
        let footprint = reader.footprint().map_err(|e| e.to_string())?;
        print_footprint(&footprint, dir_size(store));
        return Ok(());
    }
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store_dir = dir.join("store");
    if store_dir.exists() {
        return Err(format!("{} exists; give a new --dir", store_dir.display()));
    }
    let crawler = sibling_binary("crawler");
    let synth = Synthetic {
        hosts: args.hosts,
        total: *args.sizes.last().ok_or("no --sizes")?,
    };
    println!(
        "{} hosts, {} writer threads, sizes {:?}; crawler binary {}",
        args.hosts,
        args.threads,
        args.sizes,
        crawler.display()
    );
    let mut written = 0u64;
    let mut reports = Vec::new();
    for &size in &args.sizes {
        let started = Instant::now();
        build(&store_dir, &synth, written, size, args.threads)?;
        let took = started.elapsed();
        println!(
            "built {written}..{size} in {:.1} s ({:.0} pages/s); store {:.0} MiB",
            took.as_secs_f64(),
            (size - written) as f64 / took.as_secs_f64(),
            dir_size(&store_dir) as f64 / 1048576.0
        );
        written = size;
        let report = measure_size(&args, &crawler, &store_dir, &dir, &synth, size)?;
        report.print();
        reports.push(report);
    }
    println!();
    println!("summary (medians; ms unless stated)");
    Report::header();
    for report in &reports {
        report.row();
    }
    Ok(())
}

/// The synthetic web: page `i` is page `i / hosts` of host `i % hosts`.
struct Synthetic {
    hosts: u64,
    /// Pages in the finished store (outlinks point among them).
    total: u64,
}

impl Synthetic {
    fn host(&self, h: u64) -> String {
        format!("www.site{h:04}.test")
    }

    fn url_of(&self, i: u64) -> String {
        let h = i % self.hosts;
        let n = i / self.hosts;
        if n == 0 {
            format!("http://{}/", self.host(h))
        } else {
            format!("http://{}/section{}/article-{n}.html", self.host(h), n % 7)
        }
    }

    /// Record, body, outlinks and HTTP exchange of page `i`, as a crawl stores them.
    fn page(
        &self,
        i: u64,
    ) -> (
        PageRecord,
        Option<String>,
        Vec<String>,
        Option<HttpExchange>,
    ) {
        let h = i % self.hosts;
        let n = i / self.hosts;
        let url = self.url_of(i);
        let host = self.host(h);
        let roll = mix(i) % 1000;
        let mut page = PageRecord::new(&url, &host, if n == 0 { 0 } else { 1 + (n % 5) as u32 });
        if n > 0 {
            page.from = Some(self.url_of(i.saturating_sub(self.hosts * (1 + mix(i + 1) % 8))));
        }
        page.fetched_at_ms = CRAWL_START_MS + i * 3 / 10;
        page.fetch_ms = 20 + mix(i + 2) % 400;
        let status = match roll {
            0..=879 => Some(200),
            880..=919 => Some(301),
            920..=969 => Some(404),
            970..=979 => Some(500),
            980..=989 => Some(503),
            _ => None,
        };
        let Some(status) = status else {
            let kind = if roll.is_multiple_of(2) {
                "timeout"
            } else {
                "connect"
            };
            page.error = Some(kind.to_owned());
            page.error_message = Some(match roll % 2 {
                0 => "no response within 30 s".to_owned(),
                _ => "connection refused (os error 111)".to_owned(),
            });
            return (page, None, Vec::new(), None);
        };
        page.status = Some(status);
        let mut outlinks = Vec::new();
        let mut body = String::new();
        match status {
            200 => {
                let links = 10 + mix(i + 3) % 11;
                for k in 0..links {
                    let r = mix(i * 31 + k);
                    // Mostly links within the host, one in eight to another host.
                    let target_host = if r.is_multiple_of(8) {
                        (r >> 8) % self.hosts
                    } else {
                        h
                    };
                    let pages_per_host = self.total.div_ceil(self.hosts).max(1);
                    let target = (r >> 20) % pages_per_host * self.hosts + target_host;
                    let link = self.url_of(target.min(self.total.saturating_sub(1)));
                    if link != url && !outlinks.contains(&link) {
                        outlinks.push(link);
                    }
                }
                outlinks.sort();
                let title = format!(
                    "Article {n} of site {h:04}: notes on crawling, part {}",
                    n % 13
                );
                body = format!(
                    "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
                     <body><h1>{title}</h1><p>Page {n} of a synthetic site used to benchmark \
                     queries over a stored crawl. It has a few paragraphs of text and links.</p><ul>"
                );
                for link in &outlinks {
                    body.push_str(&format!("<li><a href=\"{link}\">{link}</a></li>"));
                }
                body.push_str("</ul></body></html>\n");
                page.title = Some(title);
                page.content_type = Some("text/html; charset=utf-8".to_owned());
                page.etag = Some(format!("\"{:016x}\"", mix(i + 4)));
                page.last_modified = Some("Wed, 31 Dec 2025 12:00:00 GMT".to_owned());
            }
            301 => {
                page.location = Some(format!("{url}?moved=1"));
                page.content_type = Some("text/html".to_owned());
            }
            _ => {
                body = format!("<html><body><h1>Error {status}</h1></body></html>\n");
                page.content_type = Some("text/html".to_owned());
            }
        }
        page.bytes = body.len() as u64;
        page.content_length = Some(page.bytes);
        page.body_stored = !body.is_empty();
        page.outlinks = outlinks.len() as u32;
        let mut response_headers = vec![
            (
                "date".to_owned(),
                "Thu, 01 Jan 2026 00:00:00 GMT".to_owned(),
            ),
            ("server".to_owned(), "nginx/1.26.0".to_owned()),
        ];
        if let Some(t) = &page.content_type {
            response_headers.push(("content-type".to_owned(), t.clone()));
        }
        response_headers.push(("content-length".to_owned(), body.len().to_string()));
        if let Some(location) = &page.location {
            response_headers.push(("location".to_owned(), location.clone()));
        }
        if let Some(etag) = &page.etag {
            response_headers.push(("etag".to_owned(), etag.clone()));
        }
        let path = url.split_once(".test").map_or("/", |(_, p)| p).to_owned();
        let exchange = HttpExchange {
            request: RequestHead {
                method: "GET".to_owned(),
                target: path,
                version: "HTTP/1.1".to_owned(),
                headers: vec![
                    ("host".to_owned(), host),
                    ("user-agent".to_owned(), "crawler/0.1".to_owned()),
                    ("accept".to_owned(), "text/html,*/*;q=0.8".to_owned()),
                    ("accept-encoding".to_owned(), "gzip, br, zstd".to_owned()),
                ],
            },
            response: ResponseHead {
                version: "HTTP/1.1".to_owned(),
                status,
                reason: match status {
                    200 => "OK",
                    301 => "Moved Permanently",
                    404 => "Not Found",
                    500 => "Internal Server Error",
                    _ => "Service Unavailable",
                }
                .to_owned(),
                headers: response_headers,
            },
        };
        let body = (!body.is_empty()).then_some(body);
        (page, body, outlinks, Some(exchange))
    }
}

/// A deterministic scramble of `x` (splitmix64).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 128-bit fingerprint of a URL, for the seen-set.
fn fingerprint(url: &str) -> u128 {
    let hash = |seed: u64| {
        let mut hasher =
            std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().build_hasher();
        hasher.write_u64(seed);
        hasher.write(url.as_bytes());
        hasher.finish()
    };
    (u128::from(hash(1)) << 64) | u128::from(hash(2))
}

/// Writes pages `from..to` with `threads` writers, one `write_page` per page. Each
/// write also marks the page seen and queues and releases its frontier entry in the
/// same batch, so the store ends as a finished crawl leaves it.
fn build(dir: &Path, synth: &Synthetic, from: u64, to: u64, threads: u64) -> Result<(), String> {
    let store = Store::open(
        dir,
        StoreOptions {
            cache_mb: 512,
            create: true,
            durable_writes: false,
            read_only: false,
            min_free_space: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let run = store
        .start_run(&CrawlRun {
            started_at_ms: CRAWL_START_MS + from * 3 / 10,
            ..CrawlRun::default()
        })
        .map_err(|e| e.to_string())?;
    let next = AtomicU64::new(from);
    let started = Instant::now();
    let result: Result<(), String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| -> Result<(), String> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= to {
                            return Ok(());
                        }
                        let (page, body, outlinks, exchange) = synth.page(i);
                        let host_key = format!("http://{}:80", page.host);
                        let entry = QueueEntry {
                            depth: page.depth,
                            from: page.from.clone(),
                            ..QueueEntry::seed(&page.url, &host_key)
                        };
                        let discovered = [(fingerprint(&page.url), entry.clone())];
                        store
                            .write_page(&PageWrite {
                                page: Some(&page),
                                body: body.as_deref().map(str::as_bytes),
                                outlinks: &outlinks,
                                exchange: exchange.as_ref(),
                                discovered: &discovered,
                                settled: &[],
                                released: &[entry.slot()],
                                revisit: None,
                                rendering: None,
                            })
                            .map_err(|e| format!("writing {}: {e}", page.url))?;
                        if i % 100_000 == 99_999 {
                            eprintln!(
                                "  {} pages, {:.0} s",
                                i + 1,
                                started.elapsed().as_secs_f64()
                            );
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|_| Err("a writer panicked".into())))
    });
    result?;
    // Every entry is settled: what a crawl that drains its frontier does then.
    store
        .clear_frontier()
        .map_err(|e| format!("clearing the frontier: {e}"))?;
    store
        .finish_run(
            run,
            &CrawlRun {
                started_at_ms: CRAWL_START_MS + from * 3 / 10,
                finished_at_ms: Some(CRAWL_START_MS + to * 3 / 10),
                fetched: to - from,
                interrupted: false,
                config: serde_json::json!({"synthetic": true}),
                proxies: Vec::new(),
            },
        )
        .map_err(|e| e.to_string())?;
    store.flush().map_err(|e| e.to_string())?;
    Ok(())
}

/// Figures at one store size.
struct Report {
    size: u64,
    store_mib: f64,
    /// `crawler --version`: process start alone.
    cli_start: f64,
    cli_ls: f64,
    cli_get: f64,
    cli_stats: f64,
    cli_export_s: f64,
    exported: u64,
    /// `export --format parquet`: median wall time, and the largest peak RSS (KiB) and
    /// file size of both exports.
    cli_parquet_s: f64,
    parquet_rss_kib: u64,
    jsonl_rss_kib: u64,
    parquet_bytes: u64,
    jsonl_bytes: u64,
    open: f64,
    ls: Stat,
    get: Stat,
    inlinks: Stat,
    /// Inlinks found per lookup, on average (a lookup that finds none times little).
    inlinks_found: f64,
    status_query: Stat,
    stats_host: Stat,
    stats_all: f64,
    read_all_s: f64,
    footprint: Footprint,
    /// Bytes of the store's directory.
    dir_bytes: u64,
}

/// Median and worst of several in-process timings, in ms.
struct Stat {
    median: f64,
    max: f64,
}

impl Stat {
    fn of(mut ms: Vec<f64>) -> Stat {
        let max = ms.iter().copied().fold(0.0, f64::max);
        Stat {
            median: median(&mut ms),
            max,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Report {
    fn print(&self) {
        println!();
        println!(
            "store of {} pages ({:.0} MiB): `crawler` (median, ms)",
            self.size, self.store_mib
        );
        println!(
            "  crawler --version (process start)      {:>9.1}",
            self.cli_start
        );
        println!(
            "  ls --host H --limit 100                {:>9.1}",
            self.cli_ls
        );
        println!(
            "  get URL                                {:>9.1}",
            self.cli_get
        );
        println!(
            "  stats                                  {:>9.1}",
            self.cli_stats
        );
        println!(
            "  export --format jsonl -o FILE          {:>9.1}  ({} pages, {:.0} pages/s)",
            self.cli_export_s * 1000.0,
            self.exported,
            self.exported as f64 / self.cli_export_s
        );
        println!(
            "  export --format parquet -o FILE        {:>9.1}  ({:.0} pages/s)",
            self.cli_parquet_s * 1000.0,
            self.exported as f64 / self.cli_parquet_s
        );
        println!(
            "  (peak RSS jsonl {} MiB, parquet {} MiB; files {} MiB and {} MiB)",
            self.jsonl_rss_kib / 1024,
            self.parquet_rss_kib / 1024,
            self.jsonl_bytes >> 20,
            self.parquet_bytes >> 20
        );
        println!("in-process (Store::open once), ms: median / max");
        println!(
            "  Store::open                            {:>9.1}",
            self.open
        );
        for (name, stat) in [
            ("query host, first 100 records", &self.ls),
            ("page + body by URL", &self.get),
            ("inlinks of a page", &self.inlinks),
            ("query status 404, first 100", &self.status_query),
            ("stats_for one host", &self.stats_host),
        ] {
            println!("  {name:<38} {:>9.3} / {:.3}", stat.median, stat.max);
        }
        println!(
            "  (inlinks found per lookup, on average  {:>9.1})",
            self.inlinks_found
        );
        println!(
            "  stats (whole store)                    {:>9.1}",
            self.stats_all
        );
        println!(
            "  every record + outlinks + HTTP heads   {:>9.1}  ({:.0} pages/s)",
            self.read_all_s * 1000.0,
            self.size as f64 / self.read_all_s
        );
        print_footprint(&self.footprint, self.dir_bytes);
    }

    fn header() {
        println!(
            "{:>9} {:>8} | {:>6} {:>7} {:>7} {:>8} {:>10} {:>10} | {:>6} {:>7} {:>7} {:>8} {:>8}",
            "pages",
            "MiB",
            "start",
            "ls",
            "get",
            "stats",
            "export/s",
            "parquet/s",
            "open",
            "ls",
            "get",
            "inlinks",
            "stats"
        );
    }

    fn row(&self) {
        println!(
            "{:>9} {:>8.0} | {:>6.1} {:>7.1} {:>7.1} {:>8.0} {:>10.0} {:>10.0} | {:>6.1} {:>7.3} {:>7.3} {:>8.3} {:>8.0}",
            self.size,
            self.store_mib,
            self.cli_start,
            self.cli_ls,
            self.cli_get,
            self.cli_stats,
            self.exported as f64 / self.cli_export_s,
            self.exported as f64 / self.cli_parquet_s,
            self.open,
            self.ls.median,
            self.get.median,
            self.inlinks.median,
            self.stats_all
        );
    }
}

/// Median wall time (ms) of `runs` runs of `crawler args`, checking each succeeds and
/// printed what `check` expects.
fn time_cli(
    crawler: &Path,
    args: &[&str],
    runs: usize,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<f64, String> {
    let mut walls = Vec::new();
    for _ in 0..runs.max(1) {
        let measured = measure(Command::new(crawler).args(args))?;
        if !measured.success {
            return Err(format!("crawler {args:?} failed"));
        }
        check(&measured.stdout)?;
        walls.push(ms(measured.wall));
    }
    Ok(median(&mut walls))
}

/// The whole-store exports, JSON lines and Parquet in turns.
struct Exports {
    jsonl_s: f64,
    parquet_s: f64,
    jsonl_rss_kib: u64,
    parquet_rss_kib: u64,
    jsonl_bytes: u64,
    parquet_bytes: u64,
}

fn time_exports(
    args: &Args,
    crawler: &Path,
    store: &str,
    dir: &Path,
    size: u64,
) -> Result<Exports, String> {
    let mut figures = Exports {
        jsonl_s: 0.0,
        parquet_s: 0.0,
        jsonl_rss_kib: 0,
        parquet_rss_kib: 0,
        jsonl_bytes: 0,
        parquet_bytes: 0,
    };
    let (mut jsonl, mut parquet) = (Vec::new(), Vec::new());
    for _ in 0..args.export_runs.max(1) {
        for format in ["jsonl", "parquet"] {
            let file = dir.join(format!("export.{format}"));
            let path = file.to_str().ok_or("export path is not UTF-8")?;
            let measured = measure(
                Command::new(crawler)
                    .args(["export", "--store", store, "--format", format, "-o", path]),
            )?;
            if !measured.success {
                return Err(format!("crawler export --format {format} failed"));
            }
            let bytes = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
            if format == "jsonl" {
                let exported = count_lines(&file)?;
                if exported != size {
                    return Err(format!("export wrote {exported} lines for {size} pages"));
                }
                jsonl.push(measured.wall.as_secs_f64());
                figures.jsonl_rss_kib = figures.jsonl_rss_kib.max(measured.peak_rss_kib);
                figures.jsonl_bytes = bytes;
            } else {
                parquet.push(measured.wall.as_secs_f64());
                figures.parquet_rss_kib = figures.parquet_rss_kib.max(measured.peak_rss_kib);
                figures.parquet_bytes = bytes;
            }
            let _ = std::fs::remove_file(&file);
        }
    }
    figures.jsonl_s = median(&mut jsonl);
    figures.parquet_s = median(&mut parquet);
    Ok(figures)
}

fn measure_size(
    args: &Args,
    crawler: &Path,
    store_dir: &Path,
    dir: &Path,
    synth: &Synthetic,
    size: u64,
) -> Result<Report, String> {
    let store = store_dir.to_str().ok_or("store path is not UTF-8")?;
    // A host in the middle and a page on it that exists at this size.
    let host_no = synth.hosts / 2;
    let host = synth.host(host_no);
    let url = synth.url_of((size / synth.hosts / 2) * synth.hosts + host_no);

    let cli_start = time_cli(crawler, &["--version"], args.runs, |_| Ok(()))?;
    let cli_ls = time_cli(
        crawler,
        &["ls", "--store", store, "--host", &host, "--limit", "100"],
        args.runs,
        |out| match out.lines().count() {
            100 => Ok(()),
            n => Err(format!("ls --host {host} --limit 100 printed {n} lines")),
        },
    )?;
    let cli_get = time_cli(
        crawler,
        &["get", "--store", store, &url],
        args.runs,
        |out| match out.contains("<html") {
            true => Ok(()),
            false => Err(format!("get {url} printed no HTML: {out:.200}")),
        },
    )?;
    let cli_stats = time_cli(
        crawler,
        &["stats", "--store", store],
        args.runs,
        |out| match out.contains(&size.to_string()) || out.contains(&thousands(size)) {
            true => Ok(()),
            false => Err(format!("stats does not show {size} pages:\n{out}")),
        },
    )?;
    let exports = time_exports(args, crawler, store, dir, size)?;

    // In-process: open once, then many lookups over different hosts and pages.
    let opened = Instant::now();
    let reader = Store::open(store_dir, StoreOptions::existing()).map_err(|e| e.to_string())?;
    let open = ms(opened.elapsed());
    let e = |e: crawler_storage::StoreError| e.to_string();
    let mut ls = Vec::new();
    let mut get = Vec::new();
    let mut inlinks = Vec::new();
    let mut inlinks_found = 0usize;
    let mut status_query = Vec::new();
    let mut stats_host = Vec::new();
    let per_host = size / synth.hosts;
    for k in 0..args.lookups as u64 {
        let h = mix(k) % synth.hosts;
        let filter = PageFilter {
            host: Some(synth.host(h)),
            ..PageFilter::default()
        };
        let t = Instant::now();
        let found = reader
            .query(&filter)
            .take(100)
            .collect::<Result<Vec<_>, _>>();
        ls.push(ms(t.elapsed()));
        if found.map_err(e)?.len() != 100.min(per_host as usize) {
            return Err(format!("host {h}: fewer than 100 pages"));
        }
        let page_url = synth.url_of((mix(k + 7) % per_host.max(1)) * synth.hosts + h);
        let t = Instant::now();
        let page = reader.page(&page_url).map_err(e)?;
        let body = reader.body(&page_url).map_err(e)?;
        get.push(ms(t.elapsed()));
        if page.is_none() {
            return Err(format!("{page_url} is not in the store"));
        }
        std::hint::black_box(body);
        let t = Instant::now();
        let found = reader
            .inlinks(&page_url)
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        inlinks.push(ms(t.elapsed()));
        inlinks_found += found.len();
        let t = Instant::now();
        let n = reader
            .query(&PageFilter {
                status: Some(StatusFilter::Code(404)),
                ..PageFilter::default()
            })
            .skip((k as usize) % 50)
            .take(100)
            .count();
        status_query.push(ms(t.elapsed()));
        std::hint::black_box(n);
        if k < 20 {
            let t = Instant::now();
            let stats = reader.stats_for(&filter).map_err(e)?;
            stats_host.push(ms(t.elapsed()));
            std::hint::black_box(stats);
        }
    }
    let t = Instant::now();
    let stats = reader.stats().map_err(e)?;
    let stats_all = ms(t.elapsed());
    if stats.urls != size {
        return Err(format!("stats counted {} of {size} pages", stats.urls));
    }
    let t = Instant::now();
    let mut read = 0u64;
    for page in reader.query(&PageFilter::default()) {
        let page = page.map_err(e)?;
        let links = reader.outlinks(&page.url).map_err(e)?;
        let heads = reader.exchange(&page.url).map_err(e)?;
        std::hint::black_box((links, heads));
        read += 1;
    }
    let read_all_s = t.elapsed().as_secs_f64();
    if read != size {
        return Err(format!("read {read} of {size} pages"));
    }
    let footprint = reader.footprint().map_err(e)?;
    drop(reader);
    Ok(Report {
        size,
        store_mib: dir_size(store_dir) as f64 / 1048576.0,
        cli_start,
        cli_ls,
        cli_get,
        cli_stats,
        cli_export_s: exports.jsonl_s,
        exported: size,
        cli_parquet_s: exports.parquet_s,
        parquet_rss_kib: exports.parquet_rss_kib,
        jsonl_rss_kib: exports.jsonl_rss_kib,
        parquet_bytes: exports.parquet_bytes,
        jsonl_bytes: exports.jsonl_bytes,
        open,
        ls: Stat::of(ls),
        get: Stat::of(get),
        inlinks_found: inlinks_found as f64 / args.lookups.max(1) as f64,
        inlinks: Stat::of(inlinks),
        status_query: Stat::of(status_query),
        stats_host: Stat::of(stats_host),
        stats_all,
        read_all_s,
        footprint,
        dir_bytes: dir_size(store_dir),
    })
}

/// The store's size on disk beside the live data it holds, part by part (live data as
/// BENCHMARKS.md defines it: `Store::footprint`).
fn print_footprint(footprint: &Footprint, dir_bytes: u64) {
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    let (disk, live) = (&footprint.on_disk, &footprint.live);
    println!("size on disk / live data, MiB (ratio)");
    for (name, disk, live) in [
        ("sled db", disk.sled, live.sled),
        ("bodies (every part)", disk.bodies, live.bodies),
        ("page index", disk.index, live.index),
        ("inlinks", disk.inlinks, live.inlinks),
        ("seen", disk.seen, live.seen),
        ("total of these", disk.total(), live.total()),
    ] {
        println!(
            "  {name:<20} {:>9.1} / {:>9.1}  ({:.2}x)",
            mib(disk),
            mib(live),
            disk as f64 / live.max(1) as f64
        );
    }
    println!(
        "  whole directory      {:>9.1}  ({:.2}x the live data)",
        mib(dir_bytes),
        dir_bytes as f64 / live.total().max(1) as f64
    );
}

fn count_lines(path: &Path) -> Result<u64, String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}
