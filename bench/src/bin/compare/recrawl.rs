//! Scenario 7, recrawl: scenario 1's web crawled once, then recrawled with
//! `--revisit-after 0` with nothing changed, then with a tenth of the pages changed,
//! then unchanged a few times more, all into one store, one after another against one
//! server. Each recrawl is set against the first crawl measured in the same
//! invocation: its CPU time, the body bytes it received, and what the store grew by.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crawler_bench::{dir_size, http_get, measure, FixtureProcess, Measured};

/// One crawl of the scenario: what it cost, its summary, the store's size after.
struct Step {
    name: String,
    measured: Measured,
    summary: serde_json::Value,
    store_bytes: u64,
}

/// What the scenario needs of `compare`'s arguments.
pub struct Setup<'a> {
    pub crawler: &'a Path,
    pub hosts: usize,
    pub pages: usize,
    pub workers: usize,
    /// Unchanged recrawls after the one with changes, to show the store's growth.
    pub more: usize,
    pub extra: &'a [String],
}

/// Runs the scenario under `work`; returns its Markdown table.
pub fn run(setup: &Setup, work: &Path) -> Result<String, String> {
    let dir = work.join("recrawl");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let server = FixtureProcess::start(setup.hosts, setup.pages, &dir)?;
    let store = dir.join("store");
    let crawl = |name: &str, flags: &[&str]| -> Result<Step, String> {
        let mut command = Command::new(setup.crawler);
        command
            .args(["crawl", "--no-progress", "--json", "--per-host-rate", "0"])
            .args(["--workers", &setup.workers.to_string()])
            .arg("--store")
            .arg(&store)
            .args(["--resolve", &server.resolve_arg()])
            .args(flags)
            .args(setup.extra);
        let stderr = std::fs::File::create(dir.join(format!("{name}.stderr.txt")))
            .map_err(|e| e.to_string())?;
        command.stderr(stderr);
        let measured = measure(&mut command)?;
        if !measured.success {
            return Err(format!(
                "our crawler failed in the recrawl scenario's {name}"
            ));
        }
        let summary = serde_json::from_str(measured.stdout.trim())
            .map_err(|e| format!("{name}: summary is not JSON: {e}"))?;
        let step = Step {
            name: name.to_owned(),
            measured,
            summary,
            store_bytes: dir_size(&store),
        };
        println!(
            "recrawl {:<22} {:>6.2} s wall, {:>5.1} CPU s, {:>7.1} MB received, store {:.1} MB, revisits {}",
            step.name,
            step.measured.wall.as_secs_f64(),
            step.measured.cpu_secs(),
            bytes(&step) as f64 / 1e6,
            step.store_bytes as f64 / 1e6,
            step.summary["revisits"]
        );
        Ok(step)
    };
    let seeds = server.seeds_file.display().to_string();
    let mut steps = vec![crawl("first crawl", &["--seeds", &seeds])?];
    steps.push(crawl("recrawl, unchanged", &["--revisit-after", "0"])?);
    let changed = set_generation(server.port, 1, 100)?;
    println!("recrawl: the server changed {changed} pages (100 per mille)");
    steps.push(crawl("recrawl, 10% changed", &["--revisit-after", "0"])?);
    for n in 0..setup.more {
        steps.push(crawl(
            &format!("recrawl, unchanged {}", n + 2),
            &["--revisit-after", "0"],
        )?);
    }
    let _ = std::fs::remove_dir_all(&store);
    Ok(table(setup, &steps))
}

/// Body bytes the crawl received (decompressed), from its summary.
fn bytes(step: &Step) -> u64 {
    step.summary["bytes"].as_u64().unwrap_or(0)
}

fn table(setup: &Setup, steps: &[Step]) -> String {
    let first = &steps[0];
    let mut text = format!(
        "Scenario 7: recrawl, {} hosts x {} pages, no per-host delay, one store: a first crawl, \
         then `--revisit-after 0` with nothing changed, with a tenth of the pages changed, and \
         unchanged again. CPU and bytes received are against the first crawl's.\n\n\
         | run | wall s | CPU s | CPU vs first | MB received | received vs first | \
         304 | same digest | changed | new | store MB | store grew MB |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        setup.hosts, setup.pages
    );
    let mut before = 0;
    for step in steps {
        let revisits = &step.summary["revisits"];
        let count = |name: &str| revisits[name].as_u64().unwrap_or(0);
        let _ = writeln!(
            text,
            "| {} | {:.2} | {:.1} | {:.0}% | {:.1} | {:.1}% | {} | {} | {} | {} | {:.1} | {:.1} |",
            step.name,
            step.measured.wall.as_secs_f64(),
            step.measured.cpu_secs(),
            100.0 * step.measured.cpu_secs() / first.measured.cpu_secs().max(1e-9),
            bytes(step) as f64 / 1e6,
            100.0 * bytes(step) as f64 / bytes(first).max(1) as f64,
            count("not_modified"),
            count("unchanged"),
            count("changed"),
            count("new"),
            step.store_bytes as f64 / 1e6,
            step.store_bytes.saturating_sub(before) as f64 / 1e6,
        );
        before = step.store_bytes;
    }
    text
}

/// Asks the fixture server to change `per_mille` of its pages (generation
/// `generation`); returns what it answered.
fn set_generation(port: u16, generation: u32, per_mille: u32) -> Result<String, String> {
    let path = format!("/_fixture/generation?set={generation}&per-mille={per_mille}");
    let (status, body) = http_get(&format!("127.0.0.1:{port}"), "h0.test", &path)
        .map_err(|e| format!("fixture server: {e}"))?;
    if status != 200 {
        return Err(format!(
            "the fixture server refused the generation ({status}): {body}"
        ));
    }
    Ok(body.trim().to_owned())
}
