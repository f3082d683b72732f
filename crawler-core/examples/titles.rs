//! Crawl a site and print the title of every page.
//!
//! Starts a small fixture web on 127.0.0.1 (one host, 12 pages), crawls it with a
//! page handler that collects `<title>`s, and prints `URL<TAB>title` sorted by URL.
//! Exits non-zero if any page is missing or has the wrong title.
//!
//! ```sh
//! cargo run -p crawler-core --example titles
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crawler_core::hooks::{HookError, Page, PageActions};
use crawler_core::Crawler;
use crawler_fixtures::{page_path, synthetic_host, FixtureServer, WebConfig};

const PAGES: usize = 12;

/// Crawls the fixture web; returns the lines to print, checked.
fn titles() -> Result<Vec<String>, Box<dyn Error>> {
    let web = FixtureServer::start(WebConfig {
        hosts: 1,
        pages: PAGES,
        ..WebConfig::default()
    })?;
    let dir = tempfile::tempdir()?;
    let found = Arc::new(Mutex::new(BTreeMap::new()));
    let collect = Arc::clone(&found);
    let handler = move |page: &Page<'_>, _: &mut PageActions| -> Result<(), HookError> {
        let title = page.title().unwrap_or("(no title)").to_owned();
        collect
            .lock()
            .map_err(|_| "poisoned")?
            .insert(page.url().as_str().to_owned(), title);
        Ok(())
    };
    let summary = Crawler::builder()
        .seed(web.url("h0.test", "/"))
        .resolve(web.resolve_arg())
        .store(dir.path().join("titles.store"))
        .per_host_rate(0.0)
        .page_handler(handler)
        .build()?
        .run()?;

    let found = found.lock().map_err(|_| "poisoned")?;
    for page in 0..PAGES {
        let url = web.url(&synthetic_host(0), &page_path(page));
        let expected = format!("Host 0 page {page}");
        if found.get(&url) != Some(&expected) {
            return Err(format!(
                "{url}: expected the title {expected:?}, got {:?}",
                found.get(&url)
            )
            .into());
        }
    }
    if summary.pages_fetched != PAGES as u64 || found.len() != PAGES {
        return Err(format!(
            "{} pages fetched, {} titles",
            summary.pages_fetched,
            found.len()
        )
        .into());
    }
    Ok(found
        .iter()
        .map(|(url, title)| format!("{url}\t{title}"))
        .collect())
}

fn main() -> ExitCode {
    match titles() {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("titles: {error}");
            ExitCode::FAILURE
        }
    }
}

#[test]
fn prints_every_title() {
    let lines = titles().unwrap();
    assert_eq!(lines.len(), PAGES);
}
