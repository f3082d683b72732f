//! `crawler get`: one stored URL, by any spelling of it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use crawler_core::render::RENDERED_FRAGMENT;
use crawler_core::CanonicalUrl;
use crawler_storage::{HttpExchange, PageRecord, Rendering, Store, StoreUnion};

use super::reading::{answer_from, fetched_at, outcome, store_flags};
use super::visits;
use crate::args::GetArgs;
use crate::escape::escaped;
use crate::screen::Output;
use crate::Failure;

/// A URL the stores know nothing of, with how to see what they do hold.
fn not_stored(url: &str, stores: &[PathBuf]) -> Failure {
    let flags = store_flags(stores);
    let (these, it) = match stores {
        [store] => (format!("the store {}", store.display()), "it holds"),
        _ => ("any of the stores".to_owned(), "they hold"),
    };
    if let Some(page) = url.strip_suffix(RENDERED_FRAGMENT) {
        return anyhow!("{page} has no rendering in {these} (crawl --render renders pages)").into();
    }
    anyhow!("{url} is not in {these} (crawler ls {flags} lists the URLs {it})").into()
}

pub fn run(args: GetArgs) -> Result<ExitCode, Failure> {
    // A bad URL is refused before the store is looked for.
    CanonicalUrl::parse(&args.url).map_err(|e| Failure::Usage(e.to_string()))?;
    answer_from(&args.store, |store, out| answer(&args, store, out))
}

/// `get` on open stores read as one crawl (this process's, or a running crawl's one
/// store asked for it): the URL's newest record and what its store holds with it.
pub fn answer(args: &GetArgs, crawl: &StoreUnion, output: &mut Output) -> Result<(), Failure> {
    let url = CanonicalUrl::parse(&args.url).map_err(|e| Failure::Usage(e.to_string()))?;
    let out = &mut output.out;
    // The rendering has a DOM, links and how it settled; the rest is the page's.
    let shows_rendering =
        !(args.inlinks || args.history || args.version.is_some() || args.headers || args.request);
    if args.rendered && shows_rendering {
        // The rendering is a part of the newest record's page.
        if let Some((store, _)) = crawl.page(url.as_str())? {
            if let Some(rendering) = store.rendering(url.as_str())? {
                return print_rendering(out, args, store, url.as_str(), &rendering);
            }
        }
    }
    // A store of format 12 or older kept a rendering as a record of its own.
    let old_rendering = format!("{}{RENDERED_FRAGMENT}", url.as_str());
    let url = if args.rendered && shows_rendering {
        old_rendering.as_str()
    } else {
        url.as_str()
    };
    if args.inlinks {
        // Also for a URL never fetched (out of scope, or still queued): who links to it.
        let mut found = crawl.page(url)?.is_some();
        for link in crawl.inlinks(url)? {
            writeln!(out, "{}", escaped(&link))?;
            found = true;
        }
        if !found {
            return Err(not_stored(url, &args.store));
        }
        return Ok(());
    }
    let Some((store, page)) = crawl.page(url)? else {
        return Err(not_stored(url, &args.store));
    };
    if args.history {
        visits::print_history(out, store, url, args.json)?;
    } else if let Some(time) = &args.version {
        out.write_all(&visits::version(store, url, time)?)?;
    } else if args.headers || args.request {
        let exchange = store.exchange(url)?.ok_or_else(|| no_headers(&page))?;
        if args.request {
            print_request(out, &exchange)?;
        }
        if args.headers {
            if args.request {
                writeln!(out)?;
            }
            print_response(out, &exchange)?;
        }
    } else if args.links {
        for link in store.outlinks(url)? {
            writeln!(out, "{}", escaped(&link))?;
        }
    } else if args.json {
        serde_json::to_writer(&mut *out, &record_json(crawl, store, &page)?)?;
        writeln!(out)?;
    } else if args.info {
        print_info(out, crawl, store, &page)?;
    } else {
        let body = store.body(url)?.ok_or_else(|| no_body(&page))?;
        out.write_all(&body)?;
    }
    Ok(())
}

/// A page's rendering (`crawl --render`): its DOM, or its links, or what it found.
fn print_rendering(
    out: &mut dyn Write,
    args: &GetArgs,
    store: &Store,
    url: &str,
    rendering: &Rendering,
) -> Result<(), Failure> {
    let error = rendering.settled.error();
    if args.links {
        for link in &rendering.links {
            writeln!(out, "{}", escaped(link))?;
        }
    } else if args.json {
        let value = serde_json::json!({
            "url": url,
            "settled": rendering.settled.as_str(),
            "error": error,
            "error_message": rendering.message,
            "rendered_at": crate::time::rfc3339_millis(rendering.rendered_at_ms),
            "title": rendering.title,
            "bytes": rendering.bytes,
            "links": rendering.links,
        });
        serde_json::to_writer(&mut *out, &value)?;
        writeln!(out)?;
    } else if args.info {
        let fields = [
            ("url", Some(url.to_owned())),
            ("settled", Some(rendering.settled.as_str().to_owned())),
            ("message", rendering.message.clone()),
            (
                "rendered at",
                Some(crate::time::rfc3339_millis(rendering.rendered_at_ms)),
            ),
            ("title", rendering.title.clone()),
            ("bytes", Some(rendering.bytes.to_string())),
            ("links", Some(rendering.links.len().to_string())),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                writeln!(out, "{name:<15} {}", escaped(&value))?;
            }
        }
    } else {
        let dom = store.rendered_body(url)?.unwrap_or_default();
        if dom.is_empty() && error.is_some() {
            let why = rendering.message.as_deref().unwrap_or("no reason given");
            return Err(
                anyhow!("{url} could not be rendered ({why}); --info shows the rest").into(),
            );
        }
        out.write_all(&dom)?;
    }
    Ok(())
}

/// The record, with `fetched_at`, the outlinks (`links`), the inlinks and the HTTP heads
/// (those of `store`, the one that holds the record).
fn record_json(
    crawl: &StoreUnion,
    store: &Store,
    page: &PageRecord,
) -> Result<serde_json::Value, Failure> {
    let mut value = serde_json::to_value(page)?;
    let inlinks = crawl.inlinks(&page.url)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("fetched_at".into(), fetched_at(page).into());
        object.insert("links".into(), store.outlinks(&page.url)?.into());
        object.insert("inlinks".into(), inlinks.into());
        object.insert(
            "http".into(),
            serde_json::to_value(store.exchange(&page.url)?)?,
        );
        if let Some(rendering) = store.rendering(&page.url)? {
            let settled = rendering.settled.as_str();
            object.insert("rendered".into(), settled.into());
        }
    }
    Ok(value)
}

fn print_response(out: &mut impl Write, exchange: &HttpExchange) -> io::Result<()> {
    let response = &exchange.response;
    let status = format!(
        "{} {} {}",
        response.version, response.status, response.reason
    );
    writeln!(out, "{}", escaped(status.trim_end()))?;
    print_headers(out, &response.headers)
}

/// `name: value` lines, each part escaped: a header is the server's text.
fn print_headers(out: &mut impl Write, headers: &[(String, String)]) -> io::Result<()> {
    for (name, value) in headers {
        writeln!(out, "{}: {}", escaped(name), escaped(value))?;
    }
    Ok(())
}

fn print_request(out: &mut impl Write, exchange: &HttpExchange) -> io::Result<()> {
    let request = &exchange.request;
    let line = format!("{} {} {}", request.method, request.target, request.version);
    writeln!(out, "{}", escaped(&line))?;
    print_headers(out, &request.headers)
}

fn print_info(
    out: &mut impl Write,
    crawl: &StoreUnion,
    store: &Store,
    page: &PageRecord,
) -> Result<(), Failure> {
    let inlinks = crawl.inlinks(&page.url)?.len();
    let rendered = store
        .rendering(&page.url)?
        .map(|r| r.settled.as_str().to_owned());
    let fields = [
        ("url", Some(page.url.clone())),
        ("status", page.status.map(|s| s.to_string())),
        ("error", page.error.clone()),
        ("error message", page.error_message.clone()),
        ("depth", Some(page.depth.to_string())),
        ("from", page.from.clone()),
        ("via", page.via.map(|via| via.as_str().to_owned())),
        ("title", page.title.clone()),
        ("content type", page.content_type.clone()),
        ("bytes", Some(page.bytes.to_string())),
        ("body stored", Some(page.body_stored.to_string())),
        ("location", page.location.clone()),
        ("last modified", page.last_modified.clone()),
        ("etag", page.etag.clone()),
        ("http version", page.http_version.clone()),
        (
            "tls",
            page.tls_unverified
                .then(|| "certificate not checked (--insecure)".to_owned()),
        ),
        ("fetched at", Some(fetched_at(page))),
        (
            "captured at",
            page.captured_ms.map(crate::time::rfc3339_millis),
        ),
        ("visits", Some(page.visit_count().to_string())),
        ("change", page.change.map(|c| c.as_str().to_owned())),
        ("digest", page.digest.clone()),
        ("fetch ms", Some(page.fetch_ms.to_string())),
        ("proxy", page.proxy.clone()),
        ("outlinks", Some(page.outlinks.to_string())),
        ("inlinks", Some(inlinks.to_string())),
        ("rendered", rendered),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            writeln!(out, "{name:<15} {}", escaped(&value))?;
        }
    }
    Ok(())
}

fn no_body(page: &PageRecord) -> Failure {
    let why = if page.status.is_none() || page.error.is_some() {
        format!("the fetch failed ({})", outcome(page))
    } else if page.bytes == 0 {
        format!("the response ({}) had an empty body", outcome(page))
    } else {
        format!(
            "the crawl did not keep it ({}, {} bytes; see crawl --bodies)",
            page.content_type.as_deref().unwrap_or("no content type"),
            page.bytes
        )
    };
    anyhow!(
        "no body stored for {}: {why}; --info or --json shows the record",
        page.url
    )
    .into()
}

fn no_headers(page: &PageRecord) -> Failure {
    match page.status {
        None => anyhow!(
            "no headers stored for {}: no response was received ({})",
            page.url,
            outcome(page)
        ),
        Some(_) => anyhow!("no headers stored for {}", page.url),
    }
    .into()
}
