//! [`Store::repair`]: what is derived from the records rebuilt from them, what cannot
//! be trusted moved aside, and what was lost said (`crawler repair`).
//!
//! The records (sled's page keys and the record parts they point to in the body log)
//! are the primary data. Derived from them, and rebuilt whole: the page index, the
//! inlink index, the running totals, and the seen marks of every recorded or queued
//! URL. The rest of the body log and the queue files are primary too; a damaged part of
//! a page is dropped from its record (the record itself is kept, and written as it was
//! to `quarantine/`), a page whose record cannot be read back is dropped (its sled
//! value moved to `quarantine/`) and its URL queued again, so that a resumed crawl
//! fetches it again (it stays seen: without the entry, nothing would), and a queue file
//! with damage is moved to `quarantine/` and written again from the entries that read
//! back whole. Nothing is deleted: the old indexes are moved to `quarantine/` as well.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::check::{damaged_parts, Fingerprint, Requeue, INDEXES};
use super::{check_format, check_path, open_sled, Store, StoreOptions};
use crate::codec::keys::{self, url_key};
use crate::codec::page_value::{self, Parts, RecordAt};
use crate::files::frame;
use crate::index::page_keys::page_keys;
use crate::record::{now_ms, PageRecord, QueueEntry};
use crate::writer::totals::Recount;
use crate::StoreError;

/// Index keys appended to the rebuilt page index at a time.
const ROUND: usize = 4096;

/// What [`Store::repair`] did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RepairReport {
    /// What was rebuilt, one line each.
    pub rebuilt: Vec<String>,
    /// What was lost, one line each: what could not be read back.
    pub lost: Vec<String>,
    /// Where what was moved aside is.
    pub quarantine: PathBuf,
}

impl Store {
    /// Repairs the store at `path`: takes its lock (fails when it is in use), moves the
    /// page index and the inlink index to `quarantine/`, rebuilds them, the running
    /// totals and the seen marks from the records, drops damaged parts from their
    /// records, queues again (with `requeue`) the URLs of pages it drops, and rewrites
    /// damaged queue files from what reads back whole. Afterwards [`Store::check`] finds
    /// nothing wrong, unless sled itself cannot be read.
    pub fn repair(
        path: &Path,
        fingerprint: Fingerprint<'_>,
        requeue: Requeue<'_>,
    ) -> Result<RepairReport, StoreError> {
        check_path(path, false)?;
        let quarantine = path.join("quarantine").join(now_ms().to_string());
        let mut report = RepairReport {
            quarantine: quarantine.clone(),
            ..RepairReport::default()
        };
        set_aside_unreadable_snapshots(path, &quarantine, &mut report)?;
        forget_indexes(path)?;
        for (folder, _) in INDEXES {
            let from = path.join(folder);
            if from.exists() {
                move_aside(&from, &quarantine.join(folder))?;
            }
        }
        report
            .rebuilt
            .push("the page index and the inlink index, from the records".into());
        for n in 0..2 {
            keep_damaged_write_log(path, n, &quarantine, &mut report)?;
        }
        let store = Store::open(
            path,
            StoreOptions {
                durable_writes: true,
                min_free_space: Some(0),
                ..StoreOptions::existing()
            },
        )?;
        let mut restored = 0u64;
        let mut mark = |url: &str| -> Result<(), StoreError> {
            if let Some(fp) = fingerprint(url) {
                if !store.seen.contains(fp)? {
                    store.seen.insert(fp)?;
                    restored += 1;
                }
            }
            Ok(())
        };
        let (recount, dropped) = store.rebuild_from_records(&quarantine, &mut report, &mut mark)?;
        store.queue_again(&dropped, fingerprint, requeue, &mut report)?;
        store.rewrite_damaged_queues(&quarantine, fingerprint, &mut report, &mut mark)?;
        recount.store(store.tree())?;
        report.rebuilt.push("the running totals (stats)".into());
        report.rebuilt.push(format!(
            "{restored} missing seen marks of recorded or queued URLs"
        ));
        store.flush()?;
        Ok(report)
    }

    /// Appends every record's index entries and postings again, marks its URL seen,
    /// counts it, and drops the parts of it that cannot be read back. Returns the
    /// counts and the URLs of the pages dropped whole.
    fn rebuild_from_records(
        &self,
        quarantine: &Path,
        report: &mut RepairReport,
        mark: &mut dyn FnMut(&str) -> Result<(), StoreError>,
    ) -> Result<(Recount, Vec<String>), StoreError> {
        let mut recount = Recount::default();
        let mut dropped = Vec::new();
        let mut round = Vec::new();
        let tree = self.tree().clone();
        for entry in tree.scan_prefix([keys::PAGE]) {
            let (key, value) = entry?;
            let read = page_value::decode(&key, &value).and_then(|(parts, at)| {
                let page = page_value::read_record(&key, at, &self.bodies)?;
                Ok((page, parts, at))
            });
            let (page, parts, at) = match read {
                Ok(found) => found,
                Err(error) => {
                    let kept = quarantine.join(format!("record-{:08}", report.lost.len()));
                    write_new(&kept, &value)?;
                    tree.remove(&key)?;
                    dropped.push(keys::url_of(&key));
                    report.lost.push(format!(
                        "{error}: the page's record could not be read back and the page is dropped (its value in sled was moved to {})",
                        kept.display()
                    ));
                    continue;
                }
            };
            let parts = self.drop_damaged_parts(&key, &page, (parts, at), quarantine, report)?;
            recount.add(&page);
            round.extend(page_keys(&page));
            if round.len() >= ROUND {
                self.page_index.append(std::mem::take(&mut round), false)?;
            }
            if parts.outlinks.is_some() {
                let outlinks = self.outlinks_at(&page.url, parts.outlinks)?;
                self.inlinks.append(&page.url, &outlinks)?;
            }
            if let Some(rendering) = self.rendering_at(&page.url, parts)? {
                self.inlinks.append(&page.url, &rendering.links)?;
            }
            mark(&page.url)?;
        }
        self.page_index.append(round, true)?;
        Ok((recount, dropped))
    }

    /// Queues the URLs of dropped pages again: they stay seen, so only an entry gets
    /// them fetched by a resumed crawl. Their depth and referrer were in the lost
    /// record: they are queued as seeds.
    fn queue_again(
        &self,
        urls: &[String],
        fingerprint: Fingerprint<'_>,
        requeue: Requeue<'_>,
        report: &mut RepairReport,
    ) -> Result<(), StoreError> {
        let entries: Vec<(u128, QueueEntry)> = urls
            .iter()
            .filter_map(|url| Some((fingerprint(url)?, requeue(url)?)))
            .collect();
        if entries.is_empty() {
            return Ok(());
        }
        self.enqueue(&entries)?;
        report.rebuilt.push(format!(
            "{} dropped pages queued again: a resumed crawl fetches them again",
            entries.len()
        ));
        Ok(())
    }

    /// `parts` without those that cannot be read back; when there are any, the record
    /// is written to `quarantine` as it was and stored again without them.
    fn drop_damaged_parts(
        &self,
        key: &[u8],
        page: &PageRecord,
        (parts, at): (Parts, RecordAt<'_>),
        quarantine: &Path,
        report: &mut RepairReport,
    ) -> Result<Parts, StoreError> {
        let damaged = damaged_parts(&self.bodies, page, &parts);
        if damaged.is_empty() {
            return Ok(parts);
        }
        let readable = |part: Option<_>| {
            part.filter(|pointer| {
                self.bodies
                    .read(*pointer)
                    .and_then(|payload| crate::codec::part::decode(&page.url, &payload))
                    .is_ok()
            })
        };
        let kept = Parts {
            body: readable(parts.body),
            outlinks: readable(parts.outlinks),
            exchange: readable(parts.exchange),
            history: readable(parts.history),
            visit: readable(parts.visit),
            // Both parts or neither.
            rendering: (parts.rendering)
                .filter(|(found, dom)| readable(Some(*found)).and(readable(Some(*dom))).is_some()),
        };
        #[derive(Serialize)]
        struct Quarantined<'a> {
            page: &'a PageRecord,
            damage: Vec<String>,
        }
        let line = Quarantined {
            page,
            damage: damaged.iter().map(ToString::to_string).collect(),
        };
        append_line(&quarantine.join("pages.jsonl"), &line)?;
        self.tree().insert(key, page_value::encode(&kept, at))?;
        let names: Vec<&str> = [
            (parts.body, kept.body, "body"),
            (parts.outlinks, kept.outlinks, "outlinks"),
            (parts.exchange, kept.exchange, "HTTP heads"),
            (parts.history, kept.history, "history"),
            (parts.visit, kept.visit, "last visit's HTTP heads"),
            (
                parts.rendering.map(|(found, _)| found),
                kept.rendering.map(|(found, _)| found),
                "rendering",
            ),
        ]
        .into_iter()
        .filter(|(had, has, _)| had.is_some() && has.is_none())
        .map(|(_, _, name)| name)
        .collect();
        report.lost.push(format!(
            "page {}: its {} could not be read back ({}); the record is kept without them, as it was in {}",
            page.url,
            names.join(" and "),
            where_damaged(&damaged[0]),
            quarantine.join("pages.jsonl").display()
        ));
        Ok(kept)
    }

    /// Marks every queued URL seen; a queue file with damage is moved to `quarantine`
    /// and its readable entries not yet settled are queued again in a new file.
    fn rewrite_damaged_queues(
        &self,
        quarantine: &Path,
        fingerprint: Fingerprint<'_>,
        report: &mut RepairReport,
        mark: &mut dyn FnMut(&str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for host in self.queues.own_hosts()? {
            let path = self.queues.path(&host);
            let mut reader = self.queues.own_reader(&host, 0)?;
            reader.warn = false;
            let mut entries: Vec<QueueEntry> = Vec::new();
            let mut unreadable = None;
            loop {
                match reader.next_entry() {
                    Ok(Some(entry)) => {
                        mark(&entry.url)?;
                        entries.push(entry);
                    }
                    Ok(None) => break,
                    Err(error) => {
                        unreadable = Some(error);
                        break;
                    }
                }
            }
            let lost = reader.damaged.len();
            if lost == 0 && unreadable.is_none() {
                continue;
            }
            let moved = quarantine
                .join("frontier")
                .join(path.file_name().unwrap_or_default());
            move_aside(&path, &moved)?;
            self.queues.forget(&host);
            self.tree().remove(url_key(keys::CURSOR, &host))?;
            let mut pending = Vec::new();
            for entry in entries {
                if !self.is_settled(&entry)? {
                    if let Some(fp) = fingerprint(&entry.url) {
                        pending.push((fp, entry));
                    }
                }
            }
            self.enqueue(&pending)?;
            let mut line = format!(
                "host {host}: {lost} queued URL{} unreadable in {}",
                if lost == 1 { "" } else { "s" },
                path.display()
            );
            if let Some(error) = unreadable {
                line.push_str(&format!(" ({error}; what follows it too)"));
            }
            line.push_str(&format!(
                "; its {} readable queued URLs are in a new queue file, the old one is {}",
                pending.len(),
                moved.display()
            ));
            report.lost.push(line);
        }
        for bucket in self.queues.bucket_contents()? {
            for entry in &bucket.entries {
                mark(&entry.url)?;
            }
            let lost = bucket.damaged.len() + bucket.undecodable;
            if lost == 0 {
                continue;
            }
            let moved = quarantine
                .join("frontier")
                .join(bucket.path.file_name().unwrap_or_default());
            self.queues
                .move_bucket(&bucket.path, |path| move_aside(path, &moved))?;
            let mut hosts: Vec<&str> = bucket.entries.iter().map(|e| e.host.as_str()).collect();
            hosts.sort_unstable();
            hosts.dedup();
            let named = match hosts.len() {
                0 => String::new(),
                1..=3 => format!(" (hosts {})", hosts.join(", ")),
                more => format!(" (hosts {} and {} more)", hosts[..3].join(", "), more - 3),
            };
            let mut pending = Vec::new();
            for entry in bucket.entries {
                if !self.is_settled(&entry)? {
                    if let Some(fp) = fingerprint(&entry.url) {
                        pending.push((fp, entry));
                    }
                }
            }
            self.enqueue(&pending)?;
            report.lost.push(format!(
                "{lost} queued URL{} unreadable in the shared queue file {}{named}; its {} readable queued URLs are queued again, the old file is {}",
                if lost == 1 { "" } else { "s" },
                bucket.path.display(),
                pending.len(),
                moved.display()
            ));
        }
        Ok(())
    }
}

/// Where damage is, in a few words: `FILE at byte N: WHAT`.
fn where_damaged(error: &StoreError) -> String {
    match error {
        StoreError::Damaged {
            file, offset, what, ..
        } => format!("{} at byte {offset}: {what}", file.display()),
        other => other.to_string(),
    }
}

/// When sled reads its files as corrupt, moves its snapshots (`snap.*`) to
/// `quarantine`: a snapshot only spares sled from reading its whole log at open, and
/// sled rebuilds its page table from the log without one. When sled still cannot open,
/// the snapshots go back where they were and its error is the repair's.
fn set_aside_unreadable_snapshots(
    path: &Path,
    quarantine: &Path,
    report: &mut RepairReport,
) -> Result<(), StoreError> {
    match super::open_sled_in(path, path, 64) {
        Err(sled::Error::Corruption { .. }) => {}
        Err(source) => return Err(super::open_error(path, source)),
        Ok(_) => return Ok(()),
    }
    let entries = std::fs::read_dir(path).map_err(|e| StoreError::io(path, e))?;
    let mut moved = Vec::new();
    for entry in entries {
        let from = entry.map_err(|e| StoreError::io(path, e))?.path();
        let is_snapshot = from
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("snap."));
        if is_snapshot {
            let to = quarantine.join(from.file_name().unwrap_or_default());
            move_aside(&from, &to)?;
            moved.push((from, to));
        }
    }
    match super::open_sled_in(path, path, 64) {
        Ok(_) => {
            report.rebuilt.push(format!(
                "sled's page table, from its log ({} unreadable snapshot file(s) set aside)",
                moved.len()
            ));
            Ok(())
        }
        Err(source) => {
            for (from, to) in &moved {
                std::fs::rename(to, from).map_err(|e| StoreError::io(to, e))?;
            }
            Err(super::open_error(path, source))
        }
    }
}

/// Removes the manifests of the page index and the inlink index, so that the store
/// opens them empty.
fn forget_indexes(path: &Path) -> Result<(), StoreError> {
    let db = open_sled(path, 64)?;
    let tree = db
        .open_tree("crawl")
        .map_err(|e| StoreError::from(e).in_store(path))?;
    check_format(path, &db, &tree, false, true)?;
    for (_, name) in INDEXES {
        tree.remove(keys::meta_key(name))?;
    }
    db.flush()?;
    Ok(())
}

/// A copy in `quarantine` of write log `n` when it holds damage: the store's open
/// replays what reads back before it, and empties the log.
fn keep_damaged_write_log(
    path: &Path,
    n: usize,
    quarantine: &Path,
    report: &mut RepairReport,
) -> Result<(), StoreError> {
    let log = path.join(format!("writer-{n}.log"));
    let Ok(bytes) = std::fs::read(&log) else {
        return Ok(());
    };
    let (scanned, _) = frame::scan(&bytes, u32::MAX);
    let Some(at) = scanned.iter().find_map(|s| match s {
        frame::Scanned::Damaged { at, .. } => Some(*at),
        frame::Scanned::Frame { .. } => None,
    }) else {
        return Ok(());
    };
    let kept = quarantine.join(format!("writer-{n}.log"));
    create_parent(&kept)?;
    std::fs::copy(&log, &kept).map_err(|e| StoreError::io(&kept, e))?;
    report.lost.push(format!(
        "{} is damaged at byte {at}: the writes after it were not replayed (the log is kept as {})",
        log.display(),
        kept.display()
    ));
    Ok(())
}

fn create_parent(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e)),
        None => Ok(()),
    }
}

/// Moves `from` to `to` (in the same store, so a rename).
fn move_aside(from: &Path, to: &Path) -> Result<(), StoreError> {
    create_parent(to)?;
    std::fs::rename(from, to).map_err(|e| StoreError::io(from, e))
}

/// Writes `bytes` to a new file `path`.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    create_parent(path)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| StoreError::io(path, e))
}

/// Appends `value` as a JSON line to `path`.
fn append_line(path: &Path, value: &impl Serialize) -> Result<(), StoreError> {
    create_parent(path)?;
    let mut line = crate::codec::json::to_json(value);
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut file| file.write_all(&line))
        .map_err(|e| StoreError::io(path, e))
}
