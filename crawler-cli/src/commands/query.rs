//! `crawler stats`, `ls` and `get`: reading a stored crawl.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use crawler_core::CanonicalUrl;
use crawler_storage::{PageRecord, Store, StoreOptions};

use crate::args::{GetArgs, LsArgs, StatsArgs};
use crate::report::human_bytes;
use crate::Failure;

fn open(path: &Path) -> Result<Store, Failure> {
    Ok(Store::open(
        path,
        StoreOptions {
            create: false,
            ..StoreOptions::default()
        },
    )?)
}

pub fn stats(args: StatsArgs) -> Result<ExitCode, Failure> {
    let store = open(&args.store)?;
    let stats = store.stats()?;
    let elapsed_secs = stats.elapsed_ms as f64 / 1000.0;
    let fetched = stats.responses + stats.errors.values().sum::<u64>();
    let pages_per_sec = if elapsed_secs > 0.0 {
        fetched as f64 / elapsed_secs
    } else {
        0.0
    };
    let mut out = io::stdout().lock();
    if args.json {
        let mut value = serde_json::to_value(&stats)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("elapsed_secs".into(), elapsed_secs.into());
            object.insert("pages_per_sec".into(), pages_per_sec.into());
        }
        serde_json::to_writer(&mut out, &value)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "urls:      {} ({} responses, {} queued)",
        stats.urls, stats.responses, stats.queued
    )?;
    writeln!(out, "bytes:     {}", human_bytes(stats.bytes))?;
    writeln!(
        out,
        "elapsed:   {elapsed_secs:.1} s ({pages_per_sec:.0} pages/s)"
    )?;
    for (class, n) in &stats.by_status_class {
        writeln!(out, "status {class}: {n}")?;
    }
    for (kind, n) in &stats.errors {
        writeln!(out, "error {kind}: {n}")?;
    }
    let mut hosts: Vec<(&String, &u64)> = stats.pages_per_host.iter().collect();
    hosts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    writeln!(out, "hosts:     {}", hosts.len())?;
    for (host, n) in hosts.iter().take(args.top) {
        writeln!(out, "  {n:>8}  {host}")?;
    }
    if hosts.len() > args.top {
        writeln!(out, "  ... {} more (--top N)", hosts.len() - args.top)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ls(args: LsArgs) -> Result<ExitCode, Failure> {
    let store = open(&args.store)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    for page in store.pages() {
        let page = page?;
        let written = if args.json {
            serde_json::to_writer(&mut out, &ls_json(&page))
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        } else {
            writeln!(
                out,
                "{:<18} {:>3} {:>9}  {}  {}",
                outcome(&page),
                page.depth,
                page.bytes,
                page.url,
                page.title.as_deref().unwrap_or("")
            )
        };
        if let Err(e) = written {
            // A closed pipe (`crawler ls | head`) is a normal way to stop reading.
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn outcome(page: &PageRecord) -> String {
    match (&page.status, &page.error) {
        (Some(status), None) => status.to_string(),
        (Some(status), Some(kind)) => format!("{status} {kind}"),
        (None, Some(kind)) => kind.clone(),
        (None, None) => "-".into(),
    }
}

fn ls_json(page: &PageRecord) -> serde_json::Value {
    serde_json::json!({
        "url": page.url,
        "status": page.status,
        "error": page.error,
        "depth": page.depth,
        "content_type": page.content_type,
        "bytes": page.bytes,
        "title": page.title,
        "from": page.from,
    })
}

pub fn get(args: GetArgs) -> Result<ExitCode, Failure> {
    let url = CanonicalUrl::parse(&args.url).map_err(|e| Failure::Usage(e.to_string()))?;
    let store = open(&args.store)?;
    let Some(page) = store.page(url.as_str())? else {
        return Err(Failure::Error(anyhow::anyhow!(
            "{} is not in the store {}",
            url,
            args.store.display()
        )));
    };
    let mut out = io::stdout().lock();
    if args.body {
        let body = store
            .body(url.as_str())?
            .with_context(|| format!("no body stored for {url}"))?;
        out.write_all(&body)?;
        return Ok(ExitCode::SUCCESS);
    }
    let links = store.outlinks(url.as_str())?;
    if args.links {
        for link in links {
            writeln!(out, "{link}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        let mut value = serde_json::to_value(&page)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("links".into(), links.into());
        }
        serde_json::to_writer(&mut out, &value)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let field = |name: &str, value: Option<String>| {
        value
            .map(|v| format!("{name:<15} {v}\n"))
            .unwrap_or_default()
    };
    let text = [
        field("url", Some(page.url.clone())),
        field("status", page.status.map(|s| s.to_string())),
        field("error", page.error.clone()),
        field("error message", page.error_message.clone()),
        field("depth", Some(page.depth.to_string())),
        field("from", page.from.clone()),
        field("title", page.title.clone()),
        field("content type", page.content_type.clone()),
        field("bytes", Some(page.bytes.to_string())),
        field("body stored", Some(page.body_stored.to_string())),
        field("location", page.location.clone()),
        field("last modified", page.last_modified.clone()),
        field("etag", page.etag.clone()),
        field("fetch ms", Some(page.fetch_ms.to_string())),
        field("outlinks", Some(links.len().to_string())),
    ]
    .concat();
    out.write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
