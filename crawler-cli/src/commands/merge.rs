//! `crawler merge`: several stores (a cluster crawl's nodes') folded into one new,
//! ordinary store, which every command reads and `crawl` can resume.
//!
//! The merged store is written through the store's own write path, not by copying
//! files, so its indexes, totals and seen-set are built as a crawl builds them. It
//! holds what the stores read as one crawl hold (`crawler_storage::StoreUnion`): each
//! URL once, its newest record with that record's body, outlinks and HTTP heads. The
//! runs of every store are kept in the order given, so the first store's first run
//! gives the merged crawl its settings; the seeds of all, once each; the URLs still
//! queued in any store and recorded in none, and the retries of the failed records it
//! keeps. Left out: the visits before each record (`get --history`), a revisit's own
//! heads, the saved host delays, and every cookie jar but the first store's.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use crawler_storage::{
    PageFilter, PageWrite, QueueEntry, Store, StoreError, StoreOptions, StoreUnion,
};

use super::maintenance::fingerprint;
use super::reading::open_each;
use crate::args::MergeArgs;
use crate::escape::escaped;
use crate::report::plural;
use crate::Failure;

/// Seen marks and queue entries are written this many at a time.
const BATCH: usize = 1000;

/// What a merge wrote.
#[derive(Debug, Default, PartialEq, Eq)]
struct Merged {
    pages: u64,
    /// Records left out because another store held a newer one of their URL.
    older: u64,
    queued: u64,
    runs: u64,
}

pub fn run(args: MergeArgs) -> Result<ExitCode, Failure> {
    refuse_unless_new(&args.into)?;
    let stores = open_each(&args.store)?;
    let merged = Store::open(&args.into, StoreOptions::default())?;
    let crawl = StoreUnion::new(stores.iter().collect());
    let written = merge(&crawl, &merged)?;
    merged.flush()?;
    drop(merged);
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "merged {} into {}: {} ({} older record{} of a URL another store holds left out), {} queued, {}",
        plural(stores.len() as u64, "store"),
        escaped(&args.into.display().to_string()),
        plural(written.pages, "page"),
        written.older,
        if written.older == 1 { "" } else { "s" },
        plural(written.queued, "URL"),
        plural(written.runs, "run"),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The merge must make a new store: an absent or empty directory.
fn refuse_unless_new(into: &Path) -> Result<(), Failure> {
    let shown = into.display();
    match std::fs::read_dir(into).map(|mut entries| entries.next().is_none()) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::Usage(format!(
            "--into {shown}: the directory is not empty; merge writes a new store: give an absent or empty directory"
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Failure::Usage(format!(
            "--into {shown}: {e}; merge writes a new store: give an absent or empty directory"
        ))),
    }
}

/// Writes what `crawl` holds into the new store `merged`: runs, seeds, pages, then
/// the frontier (after the pages, whose seen marks settle what they recorded).
fn merge(crawl: &StoreUnion, merged: &Store) -> Result<Merged, Failure> {
    let mut written = Merged::default();
    let mut seeds = HashSet::new();
    let mut records = 0;
    for store in crawl.stores() {
        for run in store.runs()? {
            merged.start_run(&run)?;
            written.runs += 1;
        }
        let mut new_seeds = Vec::new();
        for seed in store.seeds()? {
            let seed = seed?;
            if seeds.insert(hash(&seed)) {
                new_seeds.push(seed);
            }
        }
        merged.add_seeds(new_seeds.iter().map(String::as_str))?;
        records += store.record_stats()?.urls;
    }
    // One jar: the first store's that has one.
    for store in crawl.stores() {
        if let Some(jar) = store.cookie_jar()? {
            merged.save_cookie_jar(&jar)?;
            break;
        }
    }
    let mut marks = Vec::with_capacity(BATCH);
    for item in crawl.query(&PageFilter::default()).with_content(true) {
        let (page, content) = item?;
        merged.write_page(&PageWrite {
            page: Some(&page),
            body: content.body.as_deref(),
            outlinks: &content.outlinks,
            exchange: content.exchange.as_ref(),
            ..PageWrite::default()
        })?;
        written.pages += 1;
        marks.extend(fingerprint(&page.url));
        if marks.len() >= BATCH {
            merged.mark_seen(&marks)?;
            marks.clear();
        }
    }
    merged.mark_seen(&marks)?;
    // A retry is queued only once the record it retries is applied.
    merged.flush()?;
    written.older = records.saturating_sub(written.pages);
    written.queued = merge_frontiers(crawl, merged)?;
    Ok(written)
}

/// Queues in `merged` every URL queued in a store that it has not seen (recorded or
/// queued already), and every retry of a failed record it kept; returns how many.
fn merge_frontiers(crawl: &StoreUnion, merged: &Store) -> Result<u64, StoreError> {
    let mut queued = 0;
    let mut batch: Vec<(u128, QueueEntry)> = Vec::with_capacity(BATCH);
    let mut in_batch = HashSet::new();
    for store in crawl.stores() {
        for entry in store.queued() {
            let entry = entry?;
            let Some(mark) = fingerprint(&entry.url) else {
                continue;
            };
            let wanted = match entry.retry_of {
                // A retry of the failed record the merge kept (not of one it left out).
                Some(failed_at) => merged
                    .page(&entry.url)?
                    .is_some_and(|page| page.fetched_at_ms == failed_at),
                None => !merged.is_seen(mark)?,
            };
            if !wanted || in_batch.contains(&mark) {
                continue;
            }
            in_batch.insert(mark);
            batch.push((mark, entry));
            if batch.len() >= BATCH {
                queued += batch.len() as u64;
                merged.enqueue(&batch)?;
                batch.clear();
                in_batch.clear();
            }
        }
    }
    queued += batch.len() as u64;
    merged.enqueue(&batch)?;
    Ok(queued)
}

/// A seed's short hash, to take each seed once without holding them all.
fn hash(seed: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    seed.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use crawler_storage::PageRecord;

    use super::*;

    fn store(dir: &Path) -> Store {
        Store::open(dir, StoreOptions::default()).unwrap()
    }

    fn queued(store: &Store) -> Vec<String> {
        let mut urls: Vec<String> = store.queued().map(|e| e.unwrap().url).collect();
        urls.sort();
        urls
    }

    #[test]
    fn what_is_still_queued_is_queued_once_with_the_retries_of_the_kept_records() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (store(&dir.path().join("1")), store(&dir.path().join("2")));
        let entry = |url: &str| QueueEntry::seed(url, "http://a.test:80");
        let failed = |at| PageRecord {
            error: Some("timeout".into()),
            fetched_at_ms: at,
            attempts: 1,
            ..PageRecord::new("http://a.test/f", "a.test", 0)
        };
        let (newer, older) = ("http://a.test/f", "http://a.test/g");
        for (store, at) in [(&one, 20), (&two, 10)] {
            store
                .write_page(&PageWrite {
                    page: Some(&failed(at)),
                    ..PageWrite::default()
                })
                .unwrap();
            let other = PageRecord {
                url: older.into(),
                ..failed(30 - at)
            };
            store
                .write_page(&PageWrite {
                    page: Some(&other),
                    ..PageWrite::default()
                })
                .unwrap();
            store.flush().unwrap();
            let retry = |url: &str, at| QueueEntry {
                retry_of: Some(at),
                ..entry(url)
            };
            let queue = [
                retry(newer, at),
                retry(older, 30 - at),
                entry("http://a.test/q"),
            ];
            let marked: Vec<(u128, QueueEntry)> = queue
                .into_iter()
                .map(|e| (fingerprint(&e.url).unwrap(), e))
                .collect();
            store.enqueue(&marked).unwrap();
            store.flush().unwrap();
        }
        // f's newest record is store 1's (20): its retry is kept, store 2's (of 10) is
        // not; g's is store 2's (20); q was queued in both and is queued once.
        let merged = store(&dir.path().join("merged"));
        let Ok(written) = merge(&StoreUnion::new(vec![&one, &two]), &merged) else {
            panic!("the merge failed");
        };
        assert_eq!((written.pages, written.older, written.queued), (2, 2, 3));
        assert_eq!(queued(&merged), [newer, older, "http://a.test/q"]);
    }

    #[test]
    fn only_an_absent_or_empty_directory_is_merged_into() {
        let dir = tempfile::tempdir().unwrap();
        assert!(refuse_unless_new(&dir.path().join("absent")).is_ok());
        assert!(refuse_unless_new(dir.path()).is_ok());
        std::fs::write(dir.path().join("x"), b"x").unwrap();
        let refused = refuse_unless_new(dir.path());
        assert!(matches!(&refused, Err(Failure::Usage(m)) if m.contains("not empty")));
    }
}
