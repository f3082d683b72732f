//! Cluster memory: Redis bytes per seen, queued and in-flight URL at a million URLs,
//! and the enqueue script's latency.
//!
//! Starts `redis-server` (the fixtures' [`RedisServer`]: loopback, AOF on, everysec),
//! opens a crawl of 64 partitions, and enqueues `--urls` URLs of realistic length
//! (`https://www.site01234.example/section/7/page-123456.html`, 100 per host) in
//! script calls of `--batch` URLs of one host each, as a page's links to one host
//! would go. The payload of each entry is its URL. Then it takes every entry into
//! flight. Bytes come from `MEMORY USAGE key SAMPLES 0` summed over each kind of
//! key (the seen-set's buckets and state, the queues, the in-flight sets), and from
//! `INFO memory`'s `used_memory` before and after each step; latency is client-side
//! per call (loopback round trip included), and Redis's own `usec_per_call` and
//! percentiles (`INFO latencystats`); redis-server's CPU time (`INFO cpu`, user and
//! system) over the enqueues and over the takes.
//!
//! ```text
//! cargo build --release -p crawler-bench --bin cluster_memory
//! ./target/release/cluster_memory --urls 1000000
//! ```

use clap::Parser;
use crawler_cluster::{Claim, ClusterConfig, Crawl, Entry, Session};
use crawler_fixtures::RedisServer;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// URLs to enqueue.
    #[arg(long, default_value_t = 1_000_000)]
    urls: u64,
    /// URLs per enqueue call (all of one host).
    #[arg(long, default_value_t = 20)]
    batch: u64,
    /// URLs per host.
    #[arg(long, default_value_t = 100)]
    per_host: u64,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("cluster_memory: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    let server = RedisServer::start().map_err(|e| e.to_string())?;
    let mut redis = redis::Client::open(server.url())
        .and_then(|c| c.get_connection())
        .map_err(|e| e.to_string())?;
    let version = info_field(&mut redis, "server", "redis_version")?;
    let mut config = ClusterConfig::new(&server.url(), "bench").map_err(|e| e.to_string())?;
    config.node = "bench".into();
    let crawl = Crawl::open(config, &BTreeMap::new(), &[]).map_err(|e| e.to_string())?;
    let mut session = Session::open(&crawl).map_err(|e| e.to_string())?;
    println!(
        "redis {version}, {} partitions, {} URLs, {} per host, {} per enqueue call",
        crawl.partitions(),
        args.urls,
        args.per_host,
        args.batch
    );

    let base = used_memory(&mut redis)?;
    // Server-side percentiles of each command (Redis 7), counted from here.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("latency-tracking")
        .arg("yes")
        .query::<()>(&mut redis)
        .map_err(|e| e.to_string())?;
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query::<()>(&mut redis)
        .map_err(|e| e.to_string())?;
    let cpu_before = redis_cpu(&mut redis)?;
    let mut latencies = Vec::new();
    let mut payload_bytes = 0u64;
    let started = Instant::now();
    let mut i = 0;
    while i < args.urls {
        let host = i / args.per_host;
        let hostname = format!("www.site{host:05}.example");
        let end = (i + args.batch)
            .min(args.urls)
            .min((host + 1) * args.per_host);
        let entries: Vec<Entry> = (i..end)
            .map(|j| {
                let url = format!("https://{hostname}/section/{}/page-{j:06}.html", j % 10);
                payload_bytes += url.len() as u64;
                Entry::new(&url, url.as_bytes())
            })
            .collect();
        let p = crawl.partition_of(&hostname);
        let call = Instant::now();
        let new = session.enqueue(p, &entries).map_err(|e| e.to_string())?;
        latencies.push(call.elapsed());
        if new.iter().any(|n| !n) {
            return Err(format!("a new URL was taken for seen at {i}"));
        }
        i = end;
    }
    let enqueue_secs = started.elapsed().as_secs_f64();
    let cpu_enqueue = redis_cpu(&mut redis)? - cpu_before;
    let after_enqueue = used_memory(&mut redis)?;
    let n = args.urls as f64;
    let seen = keys_memory(&mut redis, "crawl:bench:*:seen*")?;
    let queues = keys_memory(&mut redis, "crawl:bench:*:queue")?;
    println!(
        "enqueue: {} calls in {enqueue_secs:.1} s ({:.0} URLs/s); per call p50 {} p99 {} max {}",
        latencies.len(),
        n / enqueue_secs,
        micros(&mut latencies, 0.50),
        micros(&mut latencies, 0.99),
        micros(&mut latencies, 1.0)
    );
    println!(
        "redis usec_per_call for evalsha: {}",
        info_field(&mut redis, "commandstats", "cmdstat_evalsha")?
    );
    println!(
        "redis latencystats for evalsha: {}",
        info_field(
            &mut redis,
            "latencystats",
            "latency_percentiles_usec_evalsha"
        )
        .unwrap_or_else(|e| e)
    );
    println!(
        "redis-server CPU (INFO cpu, user + sys) during the enqueues: {cpu_enqueue:.2} s \
         = {:.1} µs per URL, {:.0}% of one core over {enqueue_secs:.1} s",
        cpu_enqueue * 1e6 / n,
        100.0 * cpu_enqueue / enqueue_secs
    );
    println!(
        "mean payload (the URL): {:.1} bytes",
        payload_bytes as f64 / n
    );
    println!(
        "seen-set: {seen} bytes in {} keys = {:.1} bytes per seen URL",
        count_keys(&mut redis, "crawl:bench:*:seen*")?,
        seen as f64 / n
    );
    println!(
        "queues: {queues} bytes = {:.1} bytes per queued URL ({:.1} beyond its payload)",
        queues as f64 / n,
        (queues as f64 - payload_bytes as f64) / n
    );
    println!(
        "used_memory: {base} before, {after_enqueue} after enqueue = {:.1} bytes per URL (seen + queued)",
        (after_enqueue - base) as f64 / n
    );

    // The same URLs again: the dedupe path alone.
    let mut again = Vec::new();
    let mut i = 0;
    while i < args.urls.min(200_000) {
        let host = i / args.per_host;
        let hostname = format!("www.site{host:05}.example");
        let end = (i + args.batch).min((host + 1) * args.per_host);
        let entries: Vec<Entry> = (i..end)
            .map(|j| {
                let url = format!("https://{hostname}/section/{}/page-{j:06}.html", j % 10);
                Entry::new(&url, url.as_bytes())
            })
            .collect();
        let call = Instant::now();
        let new = session
            .enqueue(crawl.partition_of(&hostname), &entries)
            .map_err(|e| e.to_string())?;
        again.push(call.elapsed());
        if new.iter().any(|&n| n) {
            return Err(format!("a seen URL was queued again at {i}"));
        }
        i = end;
    }
    println!(
        "enqueue of URLs all seen before ({} calls): p50 {} p99 {}",
        again.len(),
        micros(&mut again, 0.50),
        micros(&mut again, 0.99)
    );

    // Everything into flight.
    let cpu_before_take = redis_cpu(&mut redis)?;
    let take_started = Instant::now();
    let mut taken = 0u64;
    for p in 0..crawl.partitions() {
        let Claim::Won { lease, .. } = session.claim(p).map_err(|e| e.to_string())? else {
            return Err(format!("partition {p} held"));
        };
        loop {
            let batch = session
                .take(&lease, 1000, Duration::from_secs(3600))
                .map_err(|e| e.to_string())?;
            if batch.deliveries.is_empty() {
                break;
            }
            taken += batch.deliveries.len() as u64;
        }
    }
    let cpu_take = redis_cpu(&mut redis)? - cpu_before_take;
    println!(
        "take: {taken} entries in {:.1} s, 1,000 a call; redis-server CPU {cpu_take:.2} s = {:.1} µs per URL",
        take_started.elapsed().as_secs_f64(),
        cpu_take * 1e6 / taken.max(1) as f64
    );
    let after_take = used_memory(&mut redis)?;
    let inflight = keys_memory(&mut redis, "crawl:bench:*:inflight")?;
    println!(
        "in flight: {taken} entries, {inflight} bytes = {:.1} bytes per in-flight URL ({:.1} beyond its payload)",
        inflight as f64 / taken.max(1) as f64,
        (inflight as f64 - payload_bytes as f64) / taken.max(1) as f64
    );
    println!(
        "used_memory after taking all: {after_take} = {:.1} bytes per URL (seen + in flight)",
        (after_take - base) as f64 / n
    );
    Ok(())
}

fn used_memory(redis: &mut redis::Connection) -> Result<u64, String> {
    info_field(redis, "memory", "used_memory")?
        .parse()
        .map_err(|e| format!("used_memory: {e}"))
}

/// redis-server's CPU seconds so far, user and system, all its threads (`INFO cpu`).
fn redis_cpu(redis: &mut redis::Connection) -> Result<f64, String> {
    let mut total = 0.0;
    for field in ["used_cpu_user", "used_cpu_sys"] {
        total += info_field(redis, "cpu", field)?
            .parse::<f64>()
            .map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(total)
}

fn info_field(redis: &mut redis::Connection, section: &str, field: &str) -> Result<String, String> {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query(redis)
        .map_err(|e| e.to_string())?;
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| format!("INFO {section} has no {field}"))
}

fn matching(redis: &mut redis::Connection, pattern: &str) -> Result<Vec<String>, String> {
    redis::cmd("KEYS")
        .arg(pattern)
        .query(redis)
        .map_err(|e| e.to_string())
}

fn count_keys(redis: &mut redis::Connection, pattern: &str) -> Result<usize, String> {
    Ok(matching(redis, pattern)?.len())
}

/// `MEMORY USAGE` (exact: every element counted) summed over the matching keys.
fn keys_memory(redis: &mut redis::Connection, pattern: &str) -> Result<u64, String> {
    let mut total = 0;
    for key in matching(redis, pattern)? {
        let bytes: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&key)
            .arg("SAMPLES")
            .arg(0)
            .query(redis)
            .map_err(|e| e.to_string())?;
        total += bytes.unwrap_or(0);
    }
    Ok(total)
}

/// The `q` quantile of the durations, in µs.
fn micros(durations: &mut [Duration], q: f64) -> String {
    if durations.is_empty() {
        return "-".into();
    }
    durations.sort_unstable();
    let index = ((durations.len() as f64 - 1.0) * q).round() as usize;
    format!("{} µs", durations[index].as_micros())
}
