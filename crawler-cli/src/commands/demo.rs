//! `crawler demo`: a first crawl with no internet, against the fixtures' synthetic web.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crawler_core::{CanonicalUrl, CrawlConfig};
use crawler_fixtures::{FixtureServer, WebConfig};

use crate::args::DemoArgs;
use crate::report::plural;
use crate::Failure;

pub fn run(args: DemoArgs) -> Result<ExitCode, Failure> {
    let store = args.store.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("crawler-demo-{}", std::process::id()))
    });
    refuse_a_used_store(&store)?;
    let server = FixtureServer::start(WebConfig {
        hosts: args.hosts as usize,
        pages: args.pages as usize,
        ..WebConfig::default()
    })?;
    say(&format!(
        "Serving a synthetic web of {} x {} on 127.0.0.1:{} (h0.test .. h{}.test).",
        plural(args.hosts.into(), "host"),
        plural(args.pages.into(), "page"),
        server.port(),
        args.hosts.saturating_sub(1)
    ));
    let seeds = server
        .seeds()
        .iter()
        .map(|s| CanonicalUrl::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let config = CrawlConfig {
        store: store.clone(),
        per_host_rate: args.per_host_rate.into(),
        resolve: vec![server.resolve_arg()],
        ..CrawlConfig::default()
    };
    let run = super::crawl::Run {
        json: false,
        show_progress: true,
        overrides: &[],
        retry: &[],
        revisit: false,
        listener: None,
        cluster: None,
    };
    let code = super::crawl::crawl(config, super::crawl::Seeds::urls(seeds), &run)?;
    let first = server.seeds().into_iter().next().unwrap_or_default();
    let store = store.display();
    say(&format!(
        "\nQuery what was stored:\n  crawler stats --store {store}\n  crawler ls --store {store} | head\n  crawler get --store {store} {first}\n  crawler get --store {store} {first} --links"
    ));
    server.shutdown();
    Ok(code)
}

/// The demo's web lives on a port of its own each time: crawling it into a store that
/// holds another crawl (a previous demo's included) would mix two crawls.
fn refuse_a_used_store(store: &Path) -> Result<(), Failure> {
    let used = match std::fs::read_dir(store) {
        Ok(mut entries) => entries.next().is_some(),
        Err(error) => error.kind() != std::io::ErrorKind::NotFound,
    };
    if used {
        return Err(Failure::Usage(format!(
            "--store {}: the demo crawls into a new store, and this path already exists \
             (it may hold another crawl); give a path that does not exist yet, or leave \
             --store out for a temporary one",
            store.display()
        )));
    }
    Ok(())
}

/// A line of the demo's guide on stdout; when nobody reads it the demo goes on.
fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}
