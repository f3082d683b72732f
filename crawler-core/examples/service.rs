//! Run a crawl inside a service: spawn it, watch live stats and events from other
//! threads, and stop it from the outside.
//!
//! Starts a fixture web on 127.0.0.1 (two hosts of 50 pages, crawled politely at 20
//! requests per second per host), spawns the crawl, and plays a service around it:
//! a thread reports `stats()` every 100 ms (as a metrics endpoint would), another
//! consumes the events, and once 30 pages are stored a "shutdown request" stops the
//! crawl through its stop handle. The pages in flight finish; the summary is
//! printed. Exits non-zero if the stop did not end the crawl early, or if the store
//! disagrees with the events.
//!
//! ```sh
//! cargo run -p crawler-core --example service
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use crawler_core::{CrawlEvent, Crawler};
use crawler_fixtures::{FixtureServer, WebConfig};

const STOP_AFTER: usize = 30;

/// Runs the service; returns the lines it reports, checked.
fn serve() -> Result<Vec<String>, Box<dyn Error>> {
    let web = FixtureServer::start(WebConfig {
        hosts: 2,
        pages: 50,
        ..WebConfig::default()
    })?;
    let dir = tempfile::tempdir()?;
    let handle = Crawler::builder()
        .seeds(web.seeds())
        .resolve(web.resolve_arg())
        .store(dir.path().join("service.store"))
        .per_host_rate(20.0)
        .build()?
        .spawn()?;

    let mut report = Vec::new();
    // The metrics thread: reads the counters every 100 ms until the crawl is over.
    let progress = handle.progress();
    let (crawl_over, over) = crossbeam_channel::bounded::<()>(0);
    let metrics = thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            let mut lines = Vec::new();
            loop {
                let stats = progress.snapshot();
                lines.push(format!(
                    "stats: {} fetched, {} queued, {} in flight, {} hosts active",
                    stats.fetched, stats.queued, stats.in_flight, stats.hosts_active
                ));
                match over.recv_timeout(Duration::from_millis(100)) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                    _ => return lines, // the crawl is over
                }
            }
        })?;
    // The event consumer: counts stored pages and asks for a shutdown at 30.
    let events = handle.events().clone();
    let stop = handle.stop_handle();
    let consumer = thread::Builder::new()
        .name("events".into())
        .spawn(move || {
            let mut stored = Vec::new();
            for event in events.iter() {
                match event {
                    CrawlEvent::PageStored { url, .. } => {
                        stored.push(url);
                        if stored.len() == STOP_AFTER {
                            stop.stop(); // the shutdown request
                        }
                    }
                    CrawlEvent::CrawlFinished { .. } => break,
                    _ => {}
                }
            }
            stored
        })?;

    let store = std::sync::Arc::clone(handle.store());
    let summary = handle.join()?;
    drop(crawl_over);
    let stored = consumer.join().map_err(|_| "the event thread panicked")?;
    report.extend(metrics.join().map_err(|_| "the metrics thread panicked")?);
    report.push(format!(
        "stopped: {}, {} pages fetched, {} left queued, {} events of stored pages",
        summary.stopped,
        summary.pages_fetched,
        summary.queued_left,
        stored.len()
    ));

    if !summary.stopped || summary.queued_left == 0 {
        return Err(format!("the stop did not end the crawl early: {summary:?}").into());
    }
    if stored.len() < STOP_AFTER || stored.len() as u64 != summary.pages_fetched {
        return Err(format!(
            "{} pages stored by the events, {} fetched",
            stored.len(),
            summary.pages_fetched
        )
        .into());
    }
    for url in &stored {
        if store.page(url)?.is_none() {
            return Err(format!("{url} announced as stored, not in the store").into());
        }
    }
    Ok(report)
}

fn main() -> ExitCode {
    match serve() {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("service: {error}");
            ExitCode::FAILURE
        }
    }
}

#[test]
fn stops_on_request_with_the_pages_in_flight_stored() {
    let lines = serve().unwrap();
    assert!(lines.last().unwrap().starts_with("stopped: true"));
}
