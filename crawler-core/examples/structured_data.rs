//! Collect structured data with a page handler.
//!
//! Starts a fixture web on 127.0.0.1 (two hosts, 10 pages each) and crawls it with a
//! page handler that reads each page with CSS selectors (`scraper`) and keeps one
//! record per page: URL, title, number of `<p>` paragraphs, links found, and the
//! `Content-Type` header. Prints the records as JSON lines. The handler also keeps
//! the crawl away from `/page/9` with a veto, to show how. Exits non-zero if a
//! record disagrees with what the fixture web serves.
//!
//! ```sh
//! cargo run -p crawler-core --example structured_data
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crawler_core::hooks::{HookError, Page, PageActions};
use crawler_core::scraper::Selector;
use crawler_core::Crawler;
use crawler_fixtures::{page_path, synthetic_host, synthetic_outlinks, FixtureServer, WebConfig};
use serde::Serialize;

const HOSTS: usize = 2;
const PAGES: usize = 10;

/// What the handler extracts from one page.
#[derive(Debug, Serialize)]
struct PageData {
    url: String,
    title: String,
    paragraphs: usize,
    links: usize,
    content_type: Option<String>,
}

fn extract(page: &Page<'_>) -> Result<PageData, HookError> {
    let title = Selector::parse("title").map_err(|e| e.to_string())?;
    let paragraph = Selector::parse("p").map_err(|e| e.to_string())?;
    let document = page.html();
    Ok(PageData {
        url: page.url().as_str().to_owned(),
        title: document.select(&title).flat_map(|t| t.text()).collect(),
        paragraphs: document.select(&paragraph).count(),
        links: page.links().len(),
        content_type: page.header("content-type").map(str::to_owned),
    })
}

/// Crawls the fixture web; returns the records, checked.
fn collect() -> Result<Vec<PageData>, Box<dyn Error>> {
    let web = FixtureServer::start(WebConfig {
        hosts: HOSTS,
        pages: PAGES,
        ..WebConfig::default()
    })?;
    let dir = tempfile::tempdir()?;
    let records = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&records);
    let handler = move |page: &Page<'_>, actions: &mut PageActions| -> Result<(), HookError> {
        for link in page.links() {
            if link.url.as_url().path() == "/page/9" {
                actions.veto_outlink(&link.url);
            }
        }
        let data = extract(page)?;
        sink.lock().map_err(|_| "poisoned")?.push(data);
        Ok(())
    };
    Crawler::builder()
        .seeds(web.seeds())
        .resolve(web.resolve_arg())
        .store(dir.path().join("data.store"))
        .per_host_rate(0.0)
        .page_handler(handler)
        .build()?
        .run()?;

    let mut records = std::mem::take(&mut *records.lock().map_err(|_| "poisoned")?);
    records.sort_by(|a, b| a.url.cmp(&b.url));
    let mut expected = Vec::new();
    for host in 0..HOSTS {
        for page in (0..PAGES).filter(|&page| page != 9) {
            expected.push((host, page, web.url(&synthetic_host(host), &page_path(page))));
        }
    }
    expected.sort_by(|a, b| a.2.cmp(&b.2));
    if records.len() != expected.len() {
        return Err(format!("{} records, expected {}", records.len(), expected.len()).into());
    }
    for (record, (host, page, url)) in records.iter().zip(&expected) {
        let links = synthetic_outlinks(web.web(), *host, *page, web.port()).len();
        let ok = record.url == *url
            && record.title == format!("Host {host} page {page}")
            && record.links == links
            && record.paragraphs > 0
            && record
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("text/html"));
        if !ok {
            return Err(format!("unexpected record for {url}: {record:?}").into());
        }
    }
    Ok(records)
}

fn main() -> ExitCode {
    match collect() {
        Ok(records) => {
            for record in records {
                match serde_json::to_string(&record) {
                    Ok(line) => println!("{line}"),
                    Err(error) => {
                        eprintln!("structured_data: {error}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("structured_data: {error}");
            ExitCode::FAILURE
        }
    }
}

#[test]
fn collects_a_record_per_page() {
    assert_eq!(collect().unwrap().len(), HOSTS * (PAGES - 1));
}
