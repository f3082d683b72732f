//! What an HTTP client costs per request, by how it does its I/O: the experiment that
//! sizes the fetch stack's share of scenario 1 (BENCHMARKS.md).
//!
//! Sixteen threads GET every page of the fixtures web (200 hosts x 250 pages by default,
//! the hosts interleaved as a crawl interleaves them) and read each body to the end,
//! over keep-alive connections to a `crawler-fixtures serve` process. Every request goes
//! to `127.0.0.1:PORT` and names its virtual host in `Host`, so a client's pool holds
//! connections to one address, however many hosts: the figures are the client's cost
//! per request, not a crawl's connection count. Each client is
//! timed by wall clock and by the CPU time of this process (every thread of the client
//! included, the server's excluded), runs alternated:
//!
//! - `reqwest-blocking`: one shared `reqwest::blocking::Client`, set up as the engine's
//!   `Fetcher` sets it up. Its requests run on the client's own runtime thread; a worker
//!   hands each request over and waits for the response and for each piece of body.
//! - `reqwest-per-thread`: reqwest's async client with a current-thread tokio runtime
//!   per worker thread, so each worker does its own I/O (its own connections, too).
//!
//! ```text
//! cargo build --release -p crawler-bench -p crawler-fixtures
//! ./target/release/http_clients --runs 3
//! ```

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use crawler_bench::{cpu_seconds, FixtureProcess};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 200)]
    hosts: usize,
    #[arg(long, default_value_t = 250)]
    pages: usize,
    #[arg(long, default_value_t = 16)]
    threads: usize,
    /// Runs of each client, alternated.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long, value_delimiter = ',', default_values_t = ["reqwest-blocking".to_owned(), "reqwest-per-thread".to_owned()])]
    clients: Vec<String>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One thread's way to fetch a target; returns the body's length.
type Fetch = Box<dyn FnMut(&Target) -> Result<u64, Error>>;

/// One request: the server's address, the `Host` it serves and the path.
struct Target {
    url: String,
    host: String,
}

fn main() -> Result<(), Error> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir()?;
    let web = FixtureProcess::start(args.hosts, args.pages, dir.path())?;
    // Page-major order: consecutive requests go to different hosts, as in a crawl.
    let targets: Arc<Vec<Target>> = Arc::new(
        (0..args.pages)
            .flat_map(|page| (0..args.hosts).map(move |host| (host, page)))
            .map(|(host, page)| Target {
                url: match page {
                    0 => format!("http://127.0.0.1:{}/", web.port),
                    _ => format!("http://127.0.0.1:{}/page/{page}", web.port),
                },
                host: format!("h{host}.test:{}", web.port),
            })
            .collect(),
    );
    println!("| client | run | requests | wall s | CPU s | CPU us/request |");
    println!("|---|---|---|---|---|---|");
    for run in 1..=args.runs {
        for client in &args.clients {
            let (cpu, started) = (cpu_seconds()?, Instant::now());
            let bytes = fetch_all(client, &targets, args.threads)?;
            let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds()? - cpu);
            if bytes == 0 {
                return Err(format!("{client}: no body bytes received").into());
            }
            println!(
                "| {client} | {run} | {} | {wall:.2} | {cpu:.2} | {:.0} |",
                targets.len(),
                cpu * 1e6 / targets.len() as f64
            );
        }
    }
    Ok(())
}

/// Fetches every target with `client` from `threads` threads; returns the body bytes.
fn fetch_all(client: &str, targets: &Arc<Vec<Target>>, threads: usize) -> Result<u64, Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let fetcher: Arc<dyn Fn() -> Result<Fetch, Error> + Send + Sync> = match client {
        "reqwest-blocking" => {
            let shared = reqwest_blocking()?;
            Arc::new(move || {
                let client = shared.clone();
                Ok(Box::new(move |target: &Target| {
                    let mut response = client
                        .get(&target.url)
                        .header("host", &target.host)
                        .send()?;
                    read_body(&mut response)
                }))
            })
        }
        "reqwest-per-thread" => Arc::new(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let client = reqwest_async()?;
            Ok(Box::new(move |target: &Target| {
                runtime.block_on(async {
                    let response = client
                        .get(&target.url)
                        .header("host", &target.host)
                        .send()
                        .await?;
                    Ok(response.bytes().await?.len() as u64)
                })
            }))
        }),
        other => return Err(format!("unknown client {other:?}").into()),
    };
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (targets, next, fetcher) =
                (Arc::clone(targets), Arc::clone(&next), Arc::clone(&fetcher));
            std::thread::spawn(move || -> Result<u64, Error> {
                let mut fetch = fetcher()?;
                let mut bytes = 0;
                while let Some(target) = targets.get(next.fetch_add(1, Ordering::Relaxed)) {
                    bytes += fetch(target)?;
                }
                Ok(bytes)
            })
        })
        .collect();
    let mut bytes = 0;
    for worker in workers {
        bytes += worker.join().map_err(|_| "a client thread panicked")??;
    }
    Ok(bytes)
}

/// A client builder (blocking or async) set up as `crawler_core::fetch::Fetcher` sets
/// up its client, with room in the pool for every thread's connection.
macro_rules! build_like_the_fetcher {
    ($builder:expr) => {
        $builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
    };
}

fn reqwest_blocking() -> Result<reqwest::blocking::Client, Error> {
    Ok(build_like_the_fetcher!(
        reqwest::blocking::Client::builder()
    )?)
}

fn reqwest_async() -> Result<reqwest::Client, Error> {
    Ok(build_like_the_fetcher!(reqwest::Client::builder())?)
}

fn read_body(response: &mut reqwest::blocking::Response) -> Result<u64, Error> {
    let mut body = Vec::with_capacity(16 * 1024);
    response.read_to_end(&mut body)?;
    Ok(body.len() as u64)
}
