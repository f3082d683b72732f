//! The crawlers compared, and how each is told to do the same work.
//!
//! Every tool crawls the `h{i}.plain` seeds (the synthetic web with canonical
//! hrefs, see `crawler_fixtures::plain_host`) to completion, stays on the seeds'
//! hosts, fetches and obeys robots.txt, and fetches pages only (no images,
//! scripts or stylesheets: the synthetic pages have none). What still differs is
//! listed in BENCHMARKS.md. The peers resolve names through the system, so they
//! run in a private mount namespace whose /etc/hosts maps the fixture hosts to
//! 127.0.0.1 ([`in_private_hosts`]); ours gets `--resolve`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A crawler under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    Ours,
    Wget2,
    Spider,
    Scrapy,
}

impl Tool {
    pub const ALL: [Tool; 4] = [Tool::Ours, Tool::Wget2, Tool::Spider, Tool::Scrapy];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Ours => "crawler",
            Tool::Wget2 => "wget2",
            Tool::Spider => "spider",
            Tool::Scrapy => "scrapy",
        }
    }

    pub fn parse(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }
}

/// Where the tools are.
#[derive(Clone, Debug)]
pub struct Paths {
    pub crawler: PathBuf,
    pub wget2: PathBuf,
    pub spider: PathBuf,
    /// The Python of the virtualenv that has Scrapy.
    pub python: PathBuf,
    /// `bench/peers/scrapy/fixture_spider.py`.
    pub scrapy_spider: PathBuf,
}

/// How the crawl is paced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as the tool goes (scenario 1).
    Unlimited,
    /// At most this many requests per second per host, one at a time (scenario 2).
    PerHost(f64),
}

/// One run: the seeds, the server's port, a scratch directory for what the tool writes.
pub struct RunSetup<'a> {
    pub seeds: &'a Path,
    pub port: u16,
    pub scratch: &'a Path,
    /// The hosts file for the peers' private /etc/hosts.
    pub hosts_file: &'a Path,
    pub pace: Pace,
    /// Our crawler's worker threads.
    pub workers: usize,
    /// More flags for our crawler.
    pub extra: &'a [String],
}

/// The command that runs `tool` for `setup` (stdout carries the tool's summary).
pub fn command(tool: Tool, paths: &Paths, setup: &RunSetup) -> Command {
    match tool {
        Tool::Ours => ours(paths, setup),
        Tool::Wget2 => in_private_hosts(setup.hosts_file, &wget2_args(paths, setup)),
        Tool::Spider => in_private_hosts(setup.hosts_file, &spider_args(paths, setup)),
        Tool::Scrapy => in_private_hosts(setup.hosts_file, &scrapy_args(paths, setup)),
    }
}

fn ours(paths: &Paths, setup: &RunSetup) -> Command {
    let rate = match setup.pace {
        Pace::Unlimited => "0".to_string(),
        Pace::PerHost(rate) => rate.to_string(),
    };
    let mut command = Command::new(&paths.crawler);
    command
        .args(["crawl", "--no-progress", "--json", "--per-host-rate", &rate])
        .args(["--workers", &setup.workers.to_string()])
        .arg("--seeds")
        .arg(setup.seeds)
        .arg("--store")
        .arg(setup.scratch.join("store"))
        .args(["--resolve", &format!("*.plain:{}:127.0.0.1", setup.port)])
        .args(setup.extra);
    command
}

/// `wget2 -r` without `-H` stays on the hosts of its start URLs, as our `--scope host`;
/// `-l inf` because wget's default depth is 5; 8 threads was its fastest when the peers
/// were first surveyed on this machine.
/// It writes every page to a file under the scratch directory.
fn wget2_args(paths: &Paths, setup: &RunSetup) -> Vec<String> {
    let mut args = vec![
        paths.wget2.display().to_string(),
        "--quiet".into(),
        "--recursive".into(),
        "--level=inf".into(),
        "--robots=on".into(),
        "--max-threads=8".into(),
        "--tries=1".into(),
        "--user-agent=wget2-peer".into(),
        format!(
            "--directory-prefix={}",
            setup.scratch.join("files").display()
        ),
        format!("--input-file={}", setup.seeds.display()),
    ];
    if let Pace::PerHost(rate) = setup.pace {
        // wget2 waits between the requests of one thread, not of one host.
        args.push(format!("--wait={}", 1.0 / rate));
    }
    args
}

/// One `spider::website::Website` per seed, 16 requests at once per site (the setting of
/// the first survey of the peers on this machine);
/// with a pace, one at a time and the delay between requests.
fn spider_args(paths: &Paths, setup: &RunSetup) -> Vec<String> {
    let mut args = vec![
        paths.spider.display().to_string(),
        "--seeds".into(),
        setup.seeds.display().to_string(),
        "--robots".into(),
    ];
    match setup.pace {
        Pace::Unlimited => args.extend(["--per-site".into(), "16".into()]),
        Pace::PerHost(rate) => args.extend([
            "--per-site".into(),
            "1".into(),
            "--delay-ms".into(),
            format!("{}", (1000.0 / rate).round()),
        ]),
    }
    args
}

/// Scrapy's CrawlSpider with 64 requests at once (the setting of the first survey of the
/// peers on this machine), 8 per domain; with a pace,
/// `DOWNLOAD_DELAY` (per domain, without jitter) and one request per domain.
fn scrapy_args(paths: &Paths, setup: &RunSetup) -> Vec<String> {
    let mut args = vec![
        paths.python.display().to_string(),
        "-m".into(),
        "scrapy".into(),
        "runspider".into(),
        paths.scrapy_spider.display().to_string(),
        "-a".into(),
        format!("seeds={}", setup.seeds.display()),
        "-s".into(),
        "CONCURRENT_REQUESTS=64".into(),
    ];
    // Without a pace, Scrapy's default of 8 requests at once per domain.
    if let Pace::PerHost(rate) = setup.pace {
        args.extend([
            "-s".into(),
            "CONCURRENT_REQUESTS_PER_DOMAIN=1".into(),
            "-s".into(),
            format!("DOWNLOAD_DELAY={}", 1.0 / rate),
        ]);
    }
    args
}

/// Runs `argv` with a private /etc/hosts: a new mount namespace (`unshare -m`,
/// root only) in which `hosts_file` is bind-mounted over /etc/hosts. The machine's
/// own /etc/hosts is never changed, and `exec` keeps one process, so `wait4` measures
/// the tool itself.
pub fn in_private_hosts(hosts_file: &Path, argv: &[String]) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
        .arg(hosts_file)
        .args(argv);
    command
}

/// The text of a hosts file mapping every name a crawl of the fixtures web can
/// meet to 127.0.0.1: the plain and synthetic hosts and the out-of-scope ones,
/// so that even a tool that strays never asks a real DNS server.
pub fn hosts_file_text(hosts: usize) -> String {
    let mut text = String::from("127.0.0.1 localhost\n127.0.0.1 outside.test cases.test\n");
    for i in 0..hosts {
        text.push_str(&format!(
            "127.0.0.1 {} h{i}.test h{i}.other\n",
            crawler_fixtures::plain_host(i)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_hosts_cover_every_family() {
        for tool in Tool::ALL {
            assert_eq!(Tool::parse(tool.name()), Some(tool));
        }
        let text = hosts_file_text(2);
        for name in ["h1.plain", "h1.test", "h1.other", "outside.test"] {
            assert!(text.contains(&format!(" {name}")), "{name}");
        }
    }

    #[test]
    fn private_hosts_wraps_the_command() {
        let command = in_private_hosts(Path::new("/tmp/h"), &["wget2".into(), "-r".into()]);
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(command.get_program(), "unshare");
        assert_eq!(&args[args.len() - 3..], ["/tmp/h", "wget2", "-r"]);
    }
}
