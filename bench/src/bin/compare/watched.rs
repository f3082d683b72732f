//! Scenario 8, watched: what a monitor costs a crawl. Scenario 1's web crawled with
//! and without `--listen`, alternated; while listening, a poller asks for
//! `/status.json` and `/metrics` every 100 ms (ten times what `crawler top` asks) and
//! times each answer. The crawl's CPU and wall time are set side by side, and the
//! slowest answer shows whether the endpoint ever waited on the crawl.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crawler_bench::{http_get, measure, FixtureProcess, Measured, Spread};

/// What the scenario needs of `compare`'s arguments.
pub struct Setup<'a> {
    pub crawler: &'a Path,
    pub hosts: usize,
    pub pages: usize,
    pub workers: usize,
    pub runs: usize,
    pub extra: &'a [String],
}

/// The poller's findings over one crawl.
#[derive(Default)]
struct Polled {
    answers: usize,
    failures: usize,
    /// Seconds each answer took, request to last byte.
    took: Vec<f64>,
}

/// Runs the scenario under `work`; returns its Markdown table.
pub fn run(setup: &Setup, work: &Path) -> Result<String, String> {
    let dir = work.join("watched");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let server = FixtureProcess::start(setup.hosts, setup.pages, &dir)?;
    let seeds = server.seeds_file.display().to_string();
    let (mut plain, mut watched) = (Vec::new(), Vec::new());
    let mut polled = Polled::default();
    for run in 0..setup.runs {
        for listen in [false, true] {
            let store = dir.join(format!("store-{run}-{listen}"));
            let mut command = Command::new(setup.crawler);
            command
                .args(["crawl", "--no-progress", "--json", "--per-host-rate", "0"])
                .args(["--workers", &setup.workers.to_string(), "--seeds", &seeds])
                .arg("--store")
                .arg(&store)
                .args(["--resolve", &server.resolve_arg()])
                .args(setup.extra)
                .stderr(std::process::Stdio::null());
            if listen {
                command.args(["--listen", "127.0.0.1:0"]);
            }
            let done = Arc::new(AtomicBool::new(false));
            let poller = listen.then(|| {
                let (store, done) = (store.clone(), Arc::clone(&done));
                thread::spawn(move || poll(&store, &done))
            });
            let measured = measure(&mut command);
            done.store(true, Ordering::SeqCst);
            if let Some(poller) = poller {
                let found = poller.join().map_err(|_| "the poller panicked")?;
                polled.answers += found.answers;
                polled.failures += found.failures;
                polled.took.extend(found.took);
            }
            let measured = measured?;
            if !measured.success {
                return Err("our crawler failed in the watched scenario".into());
            }
            println!(
                "watched {:<9} run {}: {:>6.2} s wall, {:>5.1} CPU s",
                if listen { "polled" } else { "plain" },
                run + 1,
                measured.wall.as_secs_f64(),
                measured.cpu_secs()
            );
            let _ = std::fs::remove_dir_all(&store);
            if listen { &mut watched } else { &mut plain }.push(measured);
        }
    }
    Ok(table(setup, &plain, &watched, &polled))
}

/// Polls the crawl's endpoint, once its holder file names it, until `done`.
fn poll(store: &Path, done: &AtomicBool) -> Polled {
    let mut polled = Polled::default();
    let mut address = None;
    while !done.load(Ordering::SeqCst) {
        let Some(at) = address
            .clone()
            .or_else(|| crawler_storage::advertised(store, "listen"))
        else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        address = Some(at.clone());
        for path in ["/status.json", "/metrics"] {
            let started = Instant::now();
            match get(&at, path) {
                Ok(()) => {
                    polled.answers += 1;
                    polled.took.push(started.elapsed().as_secs_f64());
                }
                Err(_) => polled.failures += 1,
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    polled
}

fn get(address: &str, path: &str) -> std::io::Result<()> {
    match http_get(address, address, path)? {
        (200, _) => Ok(()),
        (status, _) => Err(std::io::Error::other(format!("answered {status}"))),
    }
}

fn table(setup: &Setup, plain: &[Measured], watched: &[Measured], polled: &Polled) -> String {
    let spread = |runs: &[Measured], of: fn(&Measured) -> f64| {
        Spread::of(runs.iter().map(of)).map_or("-".to_owned(), |s| {
            format!("{:.2} ({:.2}-{:.2})", s.median, s.min, s.max)
        })
    };
    let wall = |m: &Measured| m.wall.as_secs_f64();
    let median = |runs: &[Measured], of: fn(&Measured) -> f64| {
        Spread::of(runs.iter().map(of)).map_or(0.0, |s| s.median)
    };
    let mut text = format!(
        "Scenario 8: watched, {} hosts x {} pages, no per-host delay, {} alternated pairs: \
         without `--listen`, and with it while a poller asks for /status.json and /metrics \
         every 100 ms.\n\n\
         | crawl | wall s, median (range) | CPU s, median (range) |\n|---|---|---|\n",
        setup.hosts, setup.pages, setup.runs
    );
    let _ = writeln!(
        text,
        "| plain | {} | {} |",
        spread(plain, wall),
        spread(plain, Measured::cpu_secs)
    );
    let _ = writeln!(
        text,
        "| polled | {} | {} |",
        spread(watched, wall),
        spread(watched, Measured::cpu_secs)
    );
    let took = Spread::of(polled.took.iter().copied());
    let _ = writeln!(
        text,
        "\nPolled over plain: wall {:.3}, CPU {:.3}. Answers: {} ({} failed), each in {} ms \
         median, {} ms at most.",
        median(watched, wall) / median(plain, wall).max(1e-9),
        median(watched, Measured::cpu_secs) / median(plain, Measured::cpu_secs).max(1e-9),
        polled.answers,
        polled.failures,
        took.as_ref()
            .map_or("-".to_owned(), |s| format!("{:.2}", s.median * 1e3)),
        took.as_ref()
            .map_or("-".to_owned(), |s| format!("{:.2}", s.max * 1e3)),
    );
    text
}
