//! What an HTTP client costs per request, by how it does its I/O: the experiment that
//! sizes the fetch stack's share of scenario 1 (BENCHMARKS.md).
//!
//! Sixteen threads GET every page of the fixtures web (200 hosts x 250 pages by default,
//! the hosts interleaved as a crawl interleaves them) and read each body to the end,
//! over keep-alive connections to a `crawler-fixtures serve` process. Each client is
//! timed by wall clock and by the CPU time of this process (every thread of the client
//! included, the server's excluded), runs alternated.
//!
//! Two ways to address the hosts:
//! - by default every request goes to `127.0.0.1:PORT` and names its virtual host in
//!   `Host`, so a client's pool holds connections to one address however many hosts:
//!   the client's cost per request, not a crawl's connection count;
//! - `--by-name`: every request names its host in the URL (`h7.test`), resolved to the
//!   server by the client's resolver, so each pool holds a connection per host, as in
//!   a crawl. Only `*.test` names resolve; nothing leaves loopback.
//!
//! The clients:
//! - `reqwest-blocking`: one shared `reqwest::blocking::Client`, set up as the engine's
//!   `Fetcher` sets it up. Its requests run on the client's own runtime thread; a worker
//!   hands each request over and waits for the response and for each piece of body.
//! - `reqwest-per-thread`: reqwest's async client with a current-thread tokio runtime
//!   per worker thread, so each worker does its own I/O (its own connections, too).
//! - `reqwest-shared-runtime`: one async client on one runtime with one I/O thread;
//!   each thread polls its own request and body on its own stack (`block_on`).
//! - `ureq`: one shared `ureq::Agent` (blocking I/O on the calling thread, no runtime),
//!   with timeouts per phase as a crawler needs them.
//!
//! ```text
//! cargo build --release -p crawler-bench -p crawler-fixtures
//! ./target/release/http_clients --runs 3
//! ./target/release/http_clients --runs 3 --by-name --clients reqwest-blocking,ureq
//! ```

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
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
    /// Name each host in the URL (a connection per host) instead of in `Host`.
    #[arg(long)]
    by_name: bool,
    #[arg(long, value_delimiter = ',', default_values_t = ["reqwest-blocking".to_owned(), "reqwest-per-thread".to_owned()])]
    clients: Vec<String>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One thread's way to fetch a target; returns the body's length.
type Fetch = Box<dyn FnMut(&Target) -> Result<u64, Error>>;

/// One request: its URL and, when the URL names the server's address, the `Host`.
struct Target {
    url: String,
    host: Option<String>,
}

fn main() -> Result<(), Error> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir()?;
    let web = FixtureProcess::start(args.hosts, args.pages, dir.path())?;
    let server = ToTheServer(SocketAddr::from((Ipv4Addr::LOCALHOST, web.port)));
    // Page-major order: consecutive requests go to different hosts, as in a crawl.
    let targets: Arc<Vec<Target>> = Arc::new(
        (0..args.pages)
            .flat_map(|page| (0..args.hosts).map(move |host| (host, page)))
            .map(|(host, page)| {
                let name = format!("h{host}.test:{}", web.port);
                let path = match page {
                    0 => "/".to_owned(),
                    _ => format!("/page/{page}"),
                };
                match args.by_name {
                    true => Target {
                        url: format!("http://{name}{path}"),
                        host: None,
                    },
                    false => Target {
                        url: format!("http://127.0.0.1:{}{path}", web.port),
                        host: Some(name),
                    },
                }
            })
            .collect(),
    );
    println!("| client | run | requests | wall s | CPU s | CPU us/request |");
    println!("|---|---|---|---|---|---|");
    for run in 1..=args.runs {
        for client in &args.clients {
            let (cpu, started) = (cpu_seconds()?, Instant::now());
            let bytes = fetch_all(client, &targets, args.threads, server)?;
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
fn fetch_all(
    client: &str,
    targets: &Arc<Vec<Target>>,
    threads: usize,
    server: ToTheServer,
) -> Result<u64, Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let fetcher: Arc<dyn Fn() -> Result<Fetch, Error> + Send + Sync> = match client {
        "reqwest-blocking" => {
            let shared = build_like_the_fetcher!(reqwest::blocking::Client::builder(), server)?;
            Arc::new(move || {
                let client = shared.clone();
                Ok(Box::new(move |target: &Target| {
                    let mut request = client.get(&target.url);
                    if let Some(host) = &target.host {
                        request = request.header("host", host);
                    }
                    let mut body = Vec::with_capacity(16 * 1024);
                    request.send()?.read_to_end(&mut body)?;
                    Ok(body.len() as u64)
                }))
            })
        }
        "reqwest-per-thread" => Arc::new(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let client = build_like_the_fetcher!(reqwest::Client::builder(), server)?;
            Ok(Box::new(move |target: &Target| {
                runtime.block_on(get_async(&client, target))
            }))
        }),
        "reqwest-shared-runtime" => {
            let runtime = Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()?,
            );
            let client = build_like_the_fetcher!(reqwest::Client::builder(), server)?;
            Arc::new(move || {
                let (runtime, client) = (Arc::clone(&runtime), client.clone());
                Ok(Box::new(move |target: &Target| {
                    runtime.block_on(get_async(&client, target))
                }))
            })
        }
        "ureq" => {
            // ureq's `timeout_global` instead costs 130-170 µs per request here.
            let config = ureq::Agent::config_builder()
                .max_redirects(0)
                .http_status_as_error(false)
                .max_idle_connections(4096)
                .max_idle_connections_per_host(64)
                .timeout_connect(Some(Duration::from_secs(10)))
                .timeout_recv_response(Some(Duration::from_secs(30)))
                .timeout_recv_body(Some(Duration::from_secs(30)))
                .build();
            let agent = ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                server,
            );
            Arc::new(move || {
                let agent = agent.clone();
                Ok(Box::new(move |target: &Target| {
                    let mut request = agent.get(&target.url);
                    if let Some(host) = &target.host {
                        request = request.header("host", host);
                    }
                    let mut body = Vec::with_capacity(16 * 1024);
                    let mut response = request.call()?;
                    response.body_mut().as_reader().read_to_end(&mut body)?;
                    Ok(body.len() as u64)
                }))
            })
        }
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

/// A GET with reqwest's async client, the body read whole.
async fn get_async(client: &reqwest::Client, target: &Target) -> Result<u64, Error> {
    let mut request = client.get(&target.url);
    if let Some(host) = &target.host {
        request = request.header("host", host);
    }
    Ok(request.send().await?.bytes().await?.len() as u64)
}

/// A client builder (blocking or async) set up as `crawler_core::fetch::Fetcher` sets
/// up its client, with room in the pool for every thread's connection, resolving
/// through `$server`.
macro_rules! build_like_the_fetcher {
    ($builder:expr, $server:expr) => {
        $builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .dns_resolver(Arc::new($server))
            .build()
    };
}
use build_like_the_fetcher;

/// Resolves every `*.test` name to the fixtures server, and nothing else.
#[derive(Clone, Copy, Debug)]
struct ToTheServer(SocketAddr);

impl ToTheServer {
    fn lookup(&self, name: &str) -> Option<SocketAddr> {
        name.ends_with(".test").then_some(self.0)
    }
}

impl reqwest::dns::Resolve for ToTheServer {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let found = self.lookup(name.as_str());
        Box::pin(async move {
            let addr = found.ok_or("only *.test names resolve here")?;
            Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs)
        })
    }
}

impl ureq::unversioned::resolver::Resolver for ToTheServer {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        let mut addrs = self.empty();
        match (host.parse::<std::net::IpAddr>(), self.lookup(host)) {
            (Ok(ip), _) if ip.is_loopback() => {
                addrs.push(SocketAddr::new(ip, uri.port_u16().unwrap_or(80)))
            }
            (_, Some(addr)) => addrs.push(addr),
            _ => return Err(ureq::Error::HostNotFound),
        }
        Ok(addrs)
    }
}
