//! What the reading commands share: opening the stores they read as one crawl (or
//! asking the crawl that holds the one store), where their output goes, and turning
//! the filter flags into a [`PageFilter`].

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crawler_storage::{PageFilter, PageRecord, Store, StoreError, StoreOptions, StoreUnion};

use crate::args::FilterArgs;
use crate::screen::{Output, Screen};
use crate::time::{now_ms, parse_time, rfc3339_millis};
use crate::Failure;

/// Opens an existing store for reading (nothing is written to it). Fails at once (not
/// after a wait) when a crawl holds it.
pub fn open(path: &Path) -> Result<Store, Failure> {
    Store::open(path, StoreOptions::read_only()).map_err(opening_failure)
}

fn opening_failure(error: StoreError) -> Failure {
    match error {
        StoreError::Missing { .. } => Failure::Error(anyhow::anyhow!(
            "{error}: give the --store DIR a crawl wrote (crawler crawl --store DIR URL... makes one)"
        )),
        other => other.into(),
    }
}

/// Opens the stores `--store` named, to read as one crawl: one as [`open`] does,
/// several as [`open_each`] does.
pub fn open_all(paths: &[PathBuf]) -> Result<Vec<Store>, Failure> {
    match paths {
        [path] => Ok(vec![open(path)?]),
        _ => open_each(paths),
    }
}

/// Opens every store of `paths` for reading. A path that is not a store, or a store
/// named twice, is bad usage naming the path; a store a crawl holds is refused too
/// (only a single store is asked through its crawl).
pub fn open_each(paths: &[PathBuf]) -> Result<Vec<Store>, Failure> {
    let mut named: Vec<(PathBuf, &Path)> = Vec::with_capacity(paths.len());
    for path in paths {
        let real = std::fs::canonicalize(path)
            .map_err(|e| Failure::Usage(format!("--store {}: {e}", path.display())))?;
        if let Some((_, first)) = named.iter().find(|(seen, _)| *seen == real) {
            return Err(Failure::Usage(format!(
                "--store {} is the store {} given before: give each store once",
                path.display(),
                first.display()
            )));
        }
        named.push((real, path));
    }
    paths.iter().map(|path| open_one_of(path)).collect()
}

/// One store of several: what makes it unreadable is named with its path.
fn open_one_of(path: &Path) -> Result<Store, Failure> {
    let shown = path.display();
    Store::open(path, StoreOptions::read_only()).map_err(|error| match error {
        StoreError::InUse { .. } => Failure::Error(anyhow::anyhow!(
            "{error}; ask it alone (--store {shown}) or when it has finished"
        )),
        StoreError::Missing { .. }
        | StoreError::NotAStore { .. }
        | StoreError::NotADirectory { .. }
        | StoreError::Unusable { .. }
        | StoreError::UnsupportedFormat { .. } => Failure::Usage(format!(
            "--store {shown}: {error}: give stores a crawl wrote"
        )),
        other => Failure::Error(other.in_store(path).into()),
    })
}

/// The `--store` flags that name these stores again, for a hint.
pub fn store_flags(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| format!("--store {}", path.display()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `answer` on the stores at `paths`, opened for reading and read as one crawl,
/// onto stdout. When a running crawl holds the one store given, that crawl is asked
/// to run the same command on its open store (`crate::query_socket`), and what it
/// writes is printed instead.
pub fn answer_from(
    paths: &[PathBuf],
    answer: impl FnOnce(&StoreUnion, &mut Output) -> Result<(), Failure>,
) -> Result<ExitCode, Failure> {
    let stores = match paths {
        [path] => {
            let opened = Store::open(path, StoreOptions::read_only());
            #[cfg(unix)]
            if let Err(StoreError::InUse { .. }) = &opened {
                if let Some(answered) = crate::query_socket::client::ask(path) {
                    return answered;
                }
            }
            vec![opened.map_err(opening_failure)?]
        }
        _ => open_each(paths)?,
    };
    let crawl = StoreUnion::new(stores.iter().collect());
    let mut out = io::BufWriter::new(io::stdout().lock());
    answer(
        &crawl,
        &mut Output {
            out: &mut out,
            screen: Screen::of_stdout(),
        },
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The filter the flags describe; a bad time is a usage error naming its flag.
pub fn page_filter(args: &FilterArgs) -> Result<PageFilter, Failure> {
    let now = now_ms();
    let time = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|text| parse_time(text, now).map_err(|e| Failure::Usage(format!("{flag}: {e}"))))
            .transpose()
    };
    let (host, port) = match &args.host {
        Some(text) => {
            let (host, port) = host_and_port(text).map_err(Failure::Usage)?;
            (Some(host), port)
        }
        None => (None, None),
    };
    Ok(PageFilter {
        host,
        port,
        status: args.status,
        error: args.error.map(|kind| kind.as_str().to_owned()),
        content_type: args
            .content_type
            .as_deref()
            .map(media_type)
            .transpose()
            .map_err(Failure::Usage)?,
        depth: args.depth.clone(),
        fetched_since_ms: time("--since", &args.since)?,
        fetched_before_ms: time("--until", &args.until)?,
        via: args.via,
        due_since_ms: None,
        due_before_ms: None,
        changed_since_ms: time("--changed-since", &args.changed_since)?,
        // Without --gone, either: `ls` hides gone URLs itself (see `ls::run`).
        gone: args.gone.then_some(true),
    })
}

/// `--host`: a host as stored (`a.test`) or with the port a URL shows
/// (`a.test:8080`, `[::1]:8080`), lowercased.
pub fn host_and_port(text: &str) -> Result<(String, Option<u16>), String> {
    let text = text.trim().to_ascii_lowercase();
    let bad = || {
        format!("--host {text:?}: give a host (h0.test) or a host and port as URLs show them (h0.test:8080)")
    };
    if text.is_empty() || text.contains(['/', '@', ' ']) {
        return Err(bad());
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !port.ends_with(']') => {
            let port = port.parse::<u16>().map_err(|_| bad())?;
            Ok((host.to_owned(), Some(port)))
        }
        _ => Ok((text, None)),
    }
}

/// `--content-type`: `type/subtype`, `type/*`, or a bare subtype (`html`), which
/// stands for any type with it (`*/html`: `text/html`, and `application/html` if a
/// server said so).
fn media_type(text: &str) -> Result<String, String> {
    let text = text.trim().to_ascii_lowercase();
    let token = |part: &str| {
        part == "*"
            || (!part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b)))
    };
    match text.split_once('/') {
        None if token(&text) && text != "*" => Ok(format!("*/{text}")),
        Some((kind, sub)) if token(kind) && token(sub) => Ok(text),
        _ => Err(format!(
            "--content-type {text:?} is not a media type: give text/html, a family like image/*, or a subtype like html"
        )),
    }
}

/// `200`, `404`, `timeout`, `200 body-too-large`, or `-`.
pub fn outcome(page: &PageRecord) -> String {
    match (&page.status, &page.error) {
        (Some(status), None) => status.to_string(),
        (Some(status), Some(kind)) => format!("{status} {kind}"),
        (None, Some(kind)) => kind.clone(),
        (None, None) => "-".into(),
    }
}

/// The fetch time of a page (RFC 3339, milliseconds), or `-` when it was never fetched.
pub fn fetched_at(page: &PageRecord) -> String {
    if page.fetched_at_ms == 0 {
        "-".into()
    } else {
        rfc3339_millis(page.fetched_at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_taken_with_or_without_the_port_urls_show() {
        assert_eq!(host_and_port("H0.test"), Ok(("h0.test".into(), None)));
        assert_eq!(
            host_and_port("h0.test:42803"),
            Ok(("h0.test".into(), Some(42803)))
        );
        assert_eq!(host_and_port("[::1]:81"), Ok(("[::1]".into(), Some(81))));
        assert_eq!(host_and_port("[::1]"), Ok(("[::1]".into(), None)));
        for bad in ["", "h0.test:http", "h0.test:99999", "http://h0.test/"] {
            assert!(host_and_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bare_subtype_stands_for_any_type_with_it() {
        assert_eq!(media_type("html"), Ok("*/html".into()));
        assert_eq!(media_type("Text/HTML"), Ok("text/html".into()));
        assert_eq!(media_type("image/*"), Ok("image/*".into()));
        for bad in ["", "*", "text/", "a b", "text/html/x", "/html"] {
            assert!(media_type(bad).is_err(), "{bad}");
        }
    }
}
