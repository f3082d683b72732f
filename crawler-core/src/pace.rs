//! Each host's politeness state (its delay and backoff level) kept in the store, so
//! that a resumed crawl starts from how each host was treated, not from defaults.
//!
//! A broad crawl knows a million hosts, so the state is not a store key per host: it
//! is a snapshot naming only the hosts whose state is not a new host's, taken by the
//! scheduler at most every [`SAVE_EVERY`] while it changes (less often the more hosts
//! there are, like every walk over all hosts) and once more when the run ends, and
//! written whole (temporary file, sync, rename) by a thread of its own. A `kill -9` loses what changed since the
//! last snapshot: those hosts start again from the state it holds.
//!
//! The snapshot is text: a header line, the time it was saved, then one line per host,
//! `KEY<TAB>DELAY-NANOS<TAB>BACKOFF-LEVEL`. A line that does not read is skipped.

use std::io::Write;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crawler_storage::{Store, StoreError};

use crate::frontier::Frontier;
pub use crate::slowed::{HostPace, SlowedHosts, NAMED_SLOWEST};

/// How often a changing state is saved at least apart, for each 10,000 hosts known
/// (at least once a [`SAVE_EVERY`], at most once a [`SAVE_AT_MOST_EVERY`]).
const SAVE_PER_10K_HOSTS: Duration = Duration::from_secs(1);
/// How often a changing state is saved at most.
pub(crate) const SAVE_EVERY: Duration = Duration::from_secs(2);
/// The longest time between two saves of a changing state (a broad crawl's).
const SAVE_AT_MOST_EVERY: Duration = Duration::from_secs(60);

const HEADER: &str = "crawler-politeness 1";

/// A saved politeness state, as `crawler stats` reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct PaceSnapshot {
    /// When it was saved.
    pub saved_at: SystemTime,
    /// Every host it names, in no particular order.
    pub hosts: Vec<(String, Duration, u8)>,
}

impl PaceSnapshot {
    /// The `n` slowest hosts, slowest first, and how many hosts it names.
    pub fn slowest(&self, n: usize) -> (Vec<HostPace>, u64) {
        let mut hosts: Vec<_> = self.hosts.iter().collect();
        hosts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let named = hosts
            .into_iter()
            .take(n)
            .map(|(host, delay, level)| HostPace::new(host, *delay, *level))
            .collect();
        (named, self.hosts.len() as u64)
    }
}

/// The snapshot the store holds, if any.
pub fn read(store: &Store) -> Result<Option<PaceSnapshot>, StoreError> {
    Ok(store.politeness()?.map(|bytes| decode(&bytes)))
}

/// Takes a stored snapshot back into `frontier` (before the frontier's queues load).
pub(crate) fn restore(store: &Store, frontier: &mut Frontier) -> Result<(), StoreError> {
    let Some(snapshot) = read(store)? else {
        return Ok(());
    };
    for (key, delay, level) in &snapshot.hosts {
        frontier.restore_pace(key, *delay, *level);
    }
    if !snapshot.hosts.is_empty() {
        tracing::info!(
            hosts = snapshot.hosts.len(),
            "hosts' politeness state (delay, backoff) read back from the store"
        );
    }
    Ok(())
}

/// Saves the frontier's state when it changed and its time has come (see the module's
/// docs). The scheduler takes the snapshot (a walk over the hosts); a thread of its own
/// writes and syncs it, so a broad crawl's megabytes never hold up dispatching.
pub(crate) struct PaceKeeper {
    saved_at: Instant,
    changed: bool,
    /// The write under way, if any: one at a time (they share a temporary file).
    writing: Option<thread::JoinHandle<bool>>,
}

impl PaceKeeper {
    pub(crate) fn new() -> PaceKeeper {
        PaceKeeper {
            saved_at: Instant::now(),
            changed: false,
            writing: None,
        }
    }

    /// Saves `frontier`'s state if it changed, the last save is long enough ago and
    /// no write is under way.
    pub(crate) fn tick(&mut self, store: &Arc<Store>, frontier: &mut Frontier, now: Instant) {
        self.changed |= frontier.take_pace_changed();
        let walks = u32::try_from(frontier.hosts() / 10_000).unwrap_or(u32::MAX);
        let every = SAVE_PER_10K_HOSTS
            .saturating_mul(walks)
            .clamp(SAVE_EVERY, SAVE_AT_MOST_EVERY);
        if !self.changed || now.duration_since(self.saved_at) < every {
            return;
        }
        if self.writing.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        // A failed write needs no retry: this snapshot holds all it held.
        self.join();
        self.saved_at = now;
        self.changed = false;
        let snapshot = encode(frontier, SystemTime::now());
        let store = Arc::clone(store);
        let spawned = thread::Builder::new()
            .name("pace-saver".into())
            .spawn(move || save(&store, &snapshot));
        match spawned {
            Ok(handle) => self.writing = Some(handle),
            Err(error) => {
                tracing::warn!(%error, "no thread to save the hosts' politeness state: tried again later");
                self.changed = true;
            }
        }
    }

    /// Saves the state as the run ends, whatever changed: `crawler stats` shows it.
    pub(crate) fn finish(mut self, store: &Store, frontier: &mut Frontier) {
        self.join();
        frontier.take_pace_changed();
        save(store, &encode(frontier, SystemTime::now()));
    }

    /// Waits for the write under way; false if it failed.
    fn join(&mut self) -> bool {
        match self.writing.take().map(thread::JoinHandle::join) {
            Some(Ok(saved)) => saved,
            Some(Err(_)) => {
                tracing::error!("the politeness state saver panicked");
                false
            }
            None => true,
        }
    }
}

/// Writes a snapshot; false (and an error logged) if the store refused it.
fn save(store: &Store, snapshot: &[u8]) -> bool {
    match store.save_politeness(snapshot) {
        Ok(()) => true,
        Err(error) => {
            // Not worth stopping a crawl for: a resume starts those hosts from older state.
            tracing::error!(%error, "the hosts' politeness state could not be saved: a resumed crawl may start some hosts from older state");
            false
        }
    }
}

fn encode(frontier: &Frontier, now: SystemTime) -> Vec<u8> {
    let millis = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    let mut out = format!("{HEADER}\n{millis}\n").into_bytes();
    frontier.for_each_pace(|key, delay, level| {
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        // Writing to a Vec cannot fail.
        let _ = writeln!(out, "{key}\t{nanos}\t{level}");
    });
    out
}

fn decode(bytes: &[u8]) -> PaceSnapshot {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let mut snapshot = PaceSnapshot {
        saved_at: UNIX_EPOCH,
        hosts: Vec::new(),
    };
    if lines.next() != Some(HEADER) {
        tracing::warn!(
            "the saved politeness state is of an unknown format: hosts start from the defaults"
        );
        return snapshot;
    }
    if let Some(millis) = lines.next().and_then(|line| line.parse::<u64>().ok()) {
        snapshot.saved_at = UNIX_EPOCH + Duration::from_millis(millis);
    }
    let mut unreadable = 0u64;
    for line in lines {
        match parse_line(line) {
            Some(host) => snapshot.hosts.push(host),
            None => unreadable += 1,
        }
    }
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "lines of the saved politeness state could not be read: those hosts start from the defaults"
        );
    }
    snapshot
}

fn parse_line(line: &str) -> Option<(String, Duration, u8)> {
    let mut fields = line.split('\t');
    let key = fields.next().filter(|key| !key.is_empty())?;
    let nanos = fields.next()?.parse().ok()?;
    let level = fields.next()?.parse().ok()?;
    fields
        .next()
        .is_none()
        .then(|| (key.to_owned(), Duration::from_nanos(nanos), level))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontier::{AutoDelay, Politeness};

    fn auto() -> Politeness {
        Politeness {
            adaptive: Some(AutoDelay {
                factor: 5.0,
                min: Duration::from_millis(500),
                max: Duration::from_secs(30),
            }),
            ..Politeness::default()
        }
    }

    #[test]
    fn a_snapshot_names_only_changed_hosts_and_restores_them() {
        let mut frontier = Frontier::new(auto());
        frontier.restore_pace("http://slow.test:80", Duration::from_secs(4), 2);
        frontier.restore_pace("http://other.test:8080", Duration::from_secs(1), 0);
        frontier.restore_pace("http://fresh.test:80", Duration::from_millis(500), 0);
        frontier.restore_pace("not a key", Duration::from_secs(9), 1);
        let bytes = encode(&frontier, UNIX_EPOCH + Duration::from_secs(7));
        let snapshot = decode(&bytes);
        assert_eq!(snapshot.saved_at, UNIX_EPOCH + Duration::from_secs(7));
        let (slowest, count) = snapshot.slowest(1);
        assert_eq!(count, 2, "{snapshot:?}");
        assert_eq!(
            slowest,
            [HostPace::new(
                "http://slow.test:80",
                Duration::from_secs(4),
                2
            )]
        );
        assert_eq!(frontier.slowest_hosts(1), (slowest, 2));

        let mut resumed = Frontier::new(auto());
        for (key, delay, level) in &snapshot.hosts {
            resumed.restore_pace(key, *delay, *level);
        }
        assert_eq!(decode(&encode(&resumed, UNIX_EPOCH)).hosts, snapshot.hosts);
    }

    #[test]
    fn bad_lines_are_skipped_and_an_unknown_format_is_empty() {
        let snapshot = decode(
            b"crawler-politeness 1\n12\nhttp://a.test:80\t5\t1\nbroken\nhttp://b.test:80\tx\t0\n",
        );
        assert_eq!(
            snapshot.hosts,
            [("http://a.test:80".to_owned(), Duration::from_nanos(5), 1)]
        );
        assert!(decode(b"something else\n").hosts.is_empty());
    }
}
