//! Shared pieces of the benchmarks: start the fixtures server as its own process,
//! run a child to completion while recording its wall time, CPU time and peak RSS.
//!
//! The benchmarks run the release binaries built next to them (`cargo build --release`
//! first), so what is measured is exactly what users run. All traffic stays on
//! 127.0.0.1.
//!
//! `throughput` measures our crawler alone; `compare` (driven by `bench/run`) runs it
//! and the peers side by side ([`tools`]) and judges every run from the server's
//! request log ([`server_log`]).

pub mod server_log;
pub mod tools;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawler_fixtures::WebConfig;

/// A binary built beside the running benchmark (same profile directory).
pub fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .map(|dir| dir.join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// `crawler-fixtures serve` running in its own process.
pub struct FixtureProcess {
    child: Child,
    pub port: u16,
    pub seeds_file: PathBuf,
    _stdout: BufReader<ChildStdout>,
}

impl FixtureProcess {
    pub fn start(hosts: usize, pages: usize, dir: &Path) -> Result<FixtureProcess, String> {
        FixtureProcess::start_logged(hosts, pages, dir, None)
    }

    /// [`FixtureProcess::start`], streaming the request log to `log` when given.
    pub fn start_logged(
        hosts: usize,
        pages: usize,
        dir: &Path,
        log: Option<&Path>,
    ) -> Result<FixtureProcess, String> {
        let web = WebConfig {
            hosts,
            pages,
            ..WebConfig::default()
        };
        FixtureProcess::start_web(&web, dir, log)
    }

    /// [`FixtureProcess::start_logged`] with every number of the web chosen.
    pub fn start_web(
        web: &WebConfig,
        dir: &Path,
        log: Option<&Path>,
    ) -> Result<FixtureProcess, String> {
        FixtureProcess::start_distant(web, Duration::ZERO, dir, log)
    }

    /// [`FixtureProcess::start_web`] whose every answer waits `latency` first
    /// (`serve --latency-ms`): a web whose crawl is bound by latency, not CPU.
    pub fn start_distant(
        web: &WebConfig,
        latency: Duration,
        dir: &Path,
        log: Option<&Path>,
    ) -> Result<FixtureProcess, String> {
        let seeds_file = dir.join("seeds.txt");
        let binary = sibling_binary("crawler-fixtures");
        let mut command = Command::new(&binary);
        let numbers = [
            ("--hosts", web.hosts),
            ("--pages", web.pages),
            ("--page-bytes", web.page_bytes),
            ("--links-per-page", web.links_per_page),
        ];
        command.arg("serve");
        for (flag, n) in numbers {
            command.args([flag, &n.to_string()]);
        }
        command.arg("--seeds-out").arg(&seeds_file);
        if !latency.is_zero() {
            command.args(["--latency-ms", &latency.as_millis().to_string()]);
        }
        if let Some(log) = log {
            command.arg("--log").arg(log);
        }
        let mut child = command.stdout(Stdio::piped()).spawn().map_err(|e| {
            format!(
                "cannot start {}: {e} (run `cargo build --release` first)",
                binary.display()
            )
        })?;
        let stdout = child
            .stdout
            .take()
            .ok_or("no stdout from crawler-fixtures")?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        while stdout.read_line(&mut line).map_err(|e| e.to_string())? > 0 {
            if let Some(port) = line.trim().strip_prefix("port: ") {
                let port = port
                    .parse()
                    .map_err(|_| format!("bad port line {line:?}"))?;
                return Ok(FixtureProcess {
                    child,
                    port,
                    seeds_file,
                    _stdout: stdout,
                });
            }
            line.clear();
        }
        Err("crawler-fixtures exited before printing its port".into())
    }

    pub fn resolve_arg(&self) -> String {
        format!("*.test:{}:127.0.0.1", self.port)
    }
}

impl Drop for FixtureProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one child process cost.
#[derive(Clone, Debug)]
pub struct Measured {
    pub wall: Duration,
    pub user: Duration,
    pub system: Duration,
    pub peak_rss_kib: u64,
    pub success: bool,
    /// The exit status, `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
}

/// `GET path` with `Host: host` from a server on loopback at `address`
/// ([`crawler_fixtures::http_exchange`]): the status and the body as text. For a
/// benchmark's own requests (fixture controls, log markers, the crawler's endpoint),
/// never for what it measures.
pub fn http_get(address: &str, host: &str, path: &str) -> std::io::Result<(u16, String)> {
    let (status, body) =
        crawler_fixtures::http_exchange(address, "GET", host, path, Duration::from_secs(60))?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

impl Measured {
    /// CPU time, user and system, in seconds.
    pub fn cpu_secs(&self) -> f64 {
        (self.user + self.system).as_secs_f64()
    }
}

/// Runs `command` to completion, measuring it with `wait4` (the kernel's own figures).
pub fn measure(command: &mut Command) -> Result<Measured, String> {
    measure_capped(command, None).map(|(measured, _)| measured)
}

/// [`measure`], killing the child (SIGKILL) if its resident memory passes `max_rss_kib`,
/// so that a benchmark of a crawler whose memory grows without bound ends instead of
/// starving the machine. Returns whether it was killed for that.
pub fn measure_capped(
    command: &mut Command,
    max_rss_kib: Option<u64>,
) -> Result<(Measured, bool), String> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let done = Arc::new(AtomicBool::new(false));
    let capped = Arc::new(AtomicBool::new(false));
    let watchdog = max_rss_kib.map(|max| {
        let (done, capped) = (Arc::clone(&done), Arc::clone(&capped));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if rss_kib(pid).is_some_and(|rss| rss > max) {
                    capped.store(true, Ordering::Relaxed);
                    // SAFETY: `pid` is our child and is not reaped before `done` is set.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    });
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        std::io::Read::read_to_string(&mut out, &mut stdout).map_err(|e| e.to_string())?;
    }
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // Wait for the exit without reaping, so the watchdog never signals a reused pid.
    // SAFETY: an all-zero `siginfo_t` is a valid value of this plain C struct.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let id = libc::id_t::try_from(pid).map_err(|e| e.to_string())?;
    // SAFETY: `pid` is our own unreaped child and `info` a live, writable local.
    unsafe { libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT) };
    done.store(true, Ordering::Relaxed);
    if let Some(watchdog) = watchdog {
        let _ = watchdog.join();
    }
    // SAFETY: `pid` is our own unreaped child (std's `Child` has not waited on it and
    // is never waited on after this), and both pointers are to live, writable locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    let wall = started.elapsed();
    let seconds = |tv: libc::timeval| {
        Duration::from_secs(u64::try_from(tv.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(tv.tv_usec).unwrap_or(0))
    };
    let measured = Measured {
        wall,
        user: seconds(usage.ru_utime),
        system: seconds(usage.ru_stime),
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout,
    };
    Ok((measured, capped.load(Ordering::Relaxed)))
}

/// The resident set of a live process, from /proc (`None` once it is gone).
fn rss_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The median of some figures (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The median and the range of some figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for no figures.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut values: Vec<f64> = values.into_iter().collect();
        if values.is_empty() {
            return None;
        }
        let median = median(&mut values);
        Some(Spread {
            median,
            min: values[0],
            max: values[values.len() - 1],
        })
    }

    /// `12.3 (11.9–13.0)`, or just the figure when there is one.
    pub fn show(&self, decimals: usize) -> String {
        if self.min == self.max {
            format!("{:.*}", decimals, self.median)
        } else {
            format!(
                "{:.*} ({:.*}–{:.*})",
                decimals, self.median, decimals, self.min, decimals, self.max
            )
        }
    }
}

/// `1000000` as `1,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The bytes of the files under `path`.
pub fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// CPU seconds (user and system) this process has used so far, all its threads included.
pub fn cpu_seconds() -> std::io::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((ticks(11) + ticks(12)) / clock_ticks())
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a constant of the system; it has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_over_its_memory_cap_is_killed() {
        // 200 MiB of touched memory against a 50 MiB cap.
        let mut command = Command::new("python3");
        command.args(["-c", "import time; b = bytearray(200 << 20); time.sleep(5)"]);
        let (measured, capped) = measure_capped(&mut command, Some(50 * 1024)).unwrap();
        assert!(capped && !measured.success);
        assert!(
            measured.wall < Duration::from_secs(4),
            "{:?}",
            measured.wall
        );
        let (measured, capped) =
            measure_capped(&mut Command::new("true"), Some(50 * 1024)).unwrap();
        assert!(!capped && measured.success);
    }

    #[test]
    fn spread_shows_median_and_range() {
        let spread = Spread::of([3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!(
            spread,
            Spread {
                median: 2.5,
                min: 1.0,
                max: 10.0
            }
        );
        assert_eq!(spread.show(1), "2.5 (1.0–10.0)");
        assert_eq!(Spread::of([4.0]).unwrap().show(0), "4");
        assert_eq!(Spread::of([]), None);
    }
}
