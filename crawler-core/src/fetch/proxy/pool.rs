//! The pool of `--proxy` proxies: which one carries a host's requests, and which
//! are out.
//!
//! A host's proxy is its *home*, picked by a hash of the host name: nothing is kept
//! per host. A proxy that fails (`fault.rs`) is taken out for a backoff that doubles
//! with each outage in a row (1 s up to [`MAX_BACKOFF`]); a host whose home is out
//! moves to the next live proxy and stays there, which is the only per-host state
//! (a map from the host's hash, empty until a proxy fails). A proxy whose backoff
//! ended is live again, on probation: a success clears its record.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fault::Fault;
use super::spec::ProxyUrl;
use crate::millis::millis;

/// The first outage's length; each outage in a row doubles it.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest outage.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(120);
/// Failures a proxy may answer in a row (see [`Fault::is_certain`]) before it is
/// taken out.
const STRIKES: u32 = 3;

/// One proxy's requests and outages, for the crawl summary and the run's record.
pub use crawler_storage::ProxyUse as ProxyReport;

struct Member {
    shown: Arc<str>,
    host: String,
    /// When its outage ends, in milliseconds after the pool's start; 0: live.
    out_until_ms: AtomicU64,
    /// Uncertain failures in a row.
    strikes: AtomicU32,
    /// Outages since its last success: the backoff's exponent.
    outages_in_a_row: AtomicU32,
    requests: AtomicU64,
    outages: AtomicU64,
}

/// The proxies of a crawl and their state, shared by every worker.
pub(crate) struct ProxyPool {
    members: Vec<Member>,
    started: Instant,
    /// Hosts moved off their home (host hash -> proxy).
    moved: Mutex<HashMap<u64, usize>>,
    any_moved: AtomicBool,
    hosts_moved: AtomicU64,
}

/// Every proxy is out (or was tried for this request).
#[derive(Debug)]
pub(crate) struct NoneLive {
    /// When the first one is back, if one is out.
    pub(crate) next_back: Option<Duration>,
}

impl ProxyPool {
    pub(crate) fn new(proxies: &[ProxyUrl]) -> ProxyPool {
        ProxyPool {
            members: proxies
                .iter()
                .map(|proxy| Member {
                    shown: Arc::from(proxy.shown()),
                    host: proxy.host(),
                    out_until_ms: AtomicU64::new(0),
                    strikes: AtomicU32::new(0),
                    outages_in_a_row: AtomicU32::new(0),
                    requests: AtomicU64::new(0),
                    outages: AtomicU64::new(0),
                })
                .collect(),
            started: Instant::now(),
            moved: Mutex::new(HashMap::new()),
            any_moved: AtomicBool::new(false),
            hosts_moved: AtomicU64::new(0),
        }
    }

    /// The key a host is picked by.
    pub(crate) fn host_key(host: &str) -> u64 {
        let mut hasher = DefaultHasher::new();
        host.to_ascii_lowercase().hash(&mut hasher);
        hasher.finish()
    }

    /// The proxy `index`, credentials masked.
    pub(crate) fn shown(&self, index: usize) -> &Arc<str> {
        &self.members[index].shown
    }

    /// The proxy `index`'s host.
    pub(crate) fn host(&self, index: usize) -> &str {
        &self.members[index].host
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Whether proxy `index` is live; a proxy whose outage ended comes back here.
    fn is_live(&self, index: usize) -> bool {
        let member = &self.members[index];
        let until = member.out_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        if self.now_ms() < until {
            return false;
        }
        if member
            .out_until_ms
            .compare_exchange(until, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::info!(
                proxy = &*member.shown,
                "proxy back in the pool after its backoff"
            );
        }
        true
    }

    /// The proxy for a request of the host `key`, passing over those in `tried` (a
    /// bit per proxy): its home if live, else the next live one, where the host
    /// then stays.
    pub(crate) fn pick(&self, key: u64, tried: u64) -> Result<usize, NoneLive> {
        let count = self.members.len();
        let moved = if self.any_moved.load(Ordering::Acquire) {
            lock(&self.moved).get(&key).copied()
        } else {
            None
        };
        // The remainder is below `count`, a `usize`.
        let home = moved.unwrap_or((key % count as u64) as usize);
        let home_live = self.is_live(home);
        if home_live && tried & (1 << home) == 0 {
            self.members[home].requests.fetch_add(1, Ordering::Relaxed);
            return Ok(home);
        }
        for step in 1..count {
            let index = (home + step) % count;
            if tried & (1 << index) != 0 || !self.is_live(index) {
                continue;
            }
            if !home_live {
                lock(&self.moved).insert(key, index);
                self.any_moved.store(true, Ordering::Release);
                self.hosts_moved.fetch_add(1, Ordering::Relaxed);
            }
            self.members[index].requests.fetch_add(1, Ordering::Relaxed);
            return Ok(index);
        }
        let now = self.now_ms();
        let next_back = self
            .members
            .iter()
            .map(|m| m.out_until_ms.load(Ordering::Acquire))
            .filter(|&until| until > now)
            .min()
            .map(|until| Duration::from_millis(until - now));
        Err(NoneLive { next_back })
    }

    /// A request through proxy `index` got an answer the proxy did not fail.
    pub(crate) fn succeeded(&self, index: usize) {
        let member = &self.members[index];
        if member.strikes.load(Ordering::Relaxed) != 0 {
            member.strikes.store(0, Ordering::Relaxed);
        }
        if member.outages_in_a_row.load(Ordering::Relaxed) != 0 {
            member.outages_in_a_row.store(0, Ordering::Relaxed);
        }
    }

    /// Proxy `index` failed a request: a certain fault, or the last of
    /// [`STRIKES`] in a row, takes it out. Whether it is out now.
    pub(crate) fn failed(&self, index: usize, fault: Fault, detail: &str) -> bool {
        let member = &self.members[index];
        let strikes = member.strikes.fetch_add(1, Ordering::AcqRel) + 1;
        if !fault.is_certain() && strikes < STRIKES {
            tracing::debug!(
                proxy = &*member.shown,
                strikes,
                "the proxy failed a request: {detail}"
            );
            return false;
        }
        let now = self.now_ms();
        let in_a_row = member.outages_in_a_row.fetch_add(1, Ordering::AcqRel);
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << in_a_row.min(16))
            .min(MAX_BACKOFF);
        let until = now.saturating_add(millis(backoff));
        // Another worker may have taken it out meanwhile: announced once.
        if member.out_until_ms.swap(until, Ordering::AcqRel) == 0 {
            member.strikes.store(0, Ordering::Relaxed);
            member.outages.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                proxy = &*member.shown,
                backoff_secs = backoff.as_secs_f64(),
                "proxy taken out of the pool ({}: {detail}); its hosts move to another proxy",
                fault.describe()
            );
            if (0..self.members.len()).all(|i| !self.is_live(i)) {
                tracing::warn!("every proxy is out: requests fail as `proxy` until one is back");
            }
        }
        true
    }

    /// How many proxies the pool holds.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// Each proxy's requests and outages, in the order given.
    pub(crate) fn reports(&self) -> Vec<ProxyReport> {
        self.members
            .iter()
            .map(|m| ProxyReport {
                proxy: m.shown.to_string(),
                requests: m.requests.load(Ordering::Relaxed),
                outages: m.outages.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Hosts moved off a proxy that was out.
    pub(crate) fn hosts_moved(&self) -> u64 {
        self.hosts_moved.load(Ordering::Relaxed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A map of small numbers: whole after any panic.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(count: usize) -> ProxyPool {
        let proxies: Vec<ProxyUrl> = (0..count)
            .map(|i| format!("http://p{i}.test:3128").parse().unwrap())
            .collect();
        ProxyPool::new(&proxies)
    }

    #[test]
    fn a_host_sticks_to_its_proxy_and_moves_only_when_it_is_out() {
        let pool = pool(3);
        let key = ProxyPool::host_key("a.test");
        let home = pool.pick(key, 0).unwrap();
        assert_eq!(pool.pick(key, 0).unwrap(), home);
        assert!(pool.failed(home, Fault::Unreachable, "refused"));
        let moved = pool.pick(key, 0).unwrap();
        assert_ne!(moved, home);
        assert_eq!(pool.hosts_moved(), 1);
        // Back from its outage, the old home does not take the host back.
        pool.members[home].out_until_ms.store(1, Ordering::Release);
        assert_eq!(pool.pick(key, 0).unwrap(), moved);
        assert_eq!(pool.reports()[home].outages, 1);
    }

    #[test]
    fn uncertain_failures_take_a_proxy_out_after_strikes_in_a_row() {
        let pool = pool(2);
        assert!(!pool.failed(0, Fault::Failed, "502"));
        pool.succeeded(0);
        assert!(!pool.failed(0, Fault::Failed, "502"));
        assert!(!pool.failed(0, Fault::Failed, "502"));
        assert!(pool.failed(0, Fault::Failed, "502"));
        assert!(pool.failed(1, Fault::Refused, "407"));
        let none = pool.pick(ProxyPool::host_key("a.test"), 0).unwrap_err();
        assert!(none.next_back.is_some_and(|d| d <= FIRST_BACKOFF));
    }

    #[test]
    fn a_request_tries_each_proxy_once() {
        let pool = pool(2);
        let key = ProxyPool::host_key("a.test");
        let first = pool.pick(key, 0).unwrap();
        let second = pool.pick(key, 1 << first).unwrap();
        assert_ne!(first, second);
        assert!(pool.pick(key, 0b11).is_err());
        // Tried, not out: the host stays home.
        assert_eq!(pool.pick(key, 0).unwrap(), first);
    }
}
