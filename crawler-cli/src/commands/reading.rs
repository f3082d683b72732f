//! What the reading commands share: opening a store that must exist, and turning the
//! filter flags into a [`PageFilter`].

use std::path::Path;

use crawler_storage::{PageFilter, PageRecord, Store, StoreError, StoreOptions};

use crate::args::FilterArgs;
use crate::time::{now_ms, parse_time, rfc3339_millis};
use crate::Failure;

/// Opens an existing store for reading (nothing is written to it). Fails at once (not
/// after a wait) when a crawl holds it.
pub fn open(path: &Path) -> Result<Store, Failure> {
    Store::open(path, StoreOptions::read_only()).map_err(|error| match error {
        StoreError::Missing { .. } => Failure::Error(anyhow::anyhow!(
            "{error}: give the --store DIR a crawl wrote (crawler crawl --store DIR URL... makes one)"
        )),
        other => other.into(),
    })
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
    Ok(PageFilter {
        host: args.host.as_ref().map(|h| h.trim().to_ascii_lowercase()),
        status: args.status,
        error: args.error.map(|kind| kind.as_str().to_owned()),
        content_type: args.content_type.clone(),
        depth: args.depth.clone(),
        fetched_since_ms: time("--since", &args.since)?,
        fetched_before_ms: time("--until", &args.until)?,
    })
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
