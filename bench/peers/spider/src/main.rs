//! The `spider` crate crawling the fixtures web, for `bench/run`.
//!
//! ```text
//! spider-peer --seeds seeds.txt [--per-site 16] [--delay-ms 0] [--robots]
//! ```
//!
//! One `spider::website::Website` per seed (one per host: spider crawls a site's own
//! host and treats other hosts as external), all crawled concurrently on one tokio
//! runtime. Prints `pages: N` (the URLs spider reports visited) when every site is done.
//! Name resolution is the system's (`getaddrinfo`), so `bench/run` maps the fixture hosts
//! to 127.0.0.1 in a private /etc/hosts.

use spider::tokio;
use spider::website::Website;

struct Args {
    seeds: String,
    per_site: usize,
    delay_ms: u64,
    robots: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seeds: String::new(),
        per_site: 16,
        delay_ms: 0,
        robots: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--seeds" => args.seeds = value()?,
            "--per-site" => args.per_site = value()?.parse().map_err(|e| format!("{e}"))?,
            "--delay-ms" => args.delay_ms = value()?.parse().map_err(|e| format!("{e}"))?,
            "--robots" => args.robots = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.seeds.is_empty() {
        return Err("--seeds FILE is required".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("spider-peer: {e}");
            std::process::exit(2);
        }
    };
    let text = std::fs::read_to_string(&args.seeds).unwrap_or_else(|e| {
        eprintln!("spider-peer: cannot read {}: {e}", args.seeds);
        std::process::exit(2);
    });
    let mut tasks = Vec::new();
    for seed in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut website = Website::new(seed);
        website
            .with_respect_robots_txt(args.robots)
            .with_concurrency_limit(Some(args.per_site))
            .with_delay(args.delay_ms)
            .with_user_agent(Some("spider-peer"));
        tasks.push(tokio::spawn(async move {
            website.crawl().await;
            website.get_links().len()
        }));
    }
    let mut pages = 0;
    for task in tasks {
        pages += task.await.unwrap_or(0);
    }
    println!("pages: {pages}");
}
