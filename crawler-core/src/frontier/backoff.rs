//! Backoff, parking and the auto delay: what a finished request says about its host's
//! health and pace, and what the frontier does about it.
//!
//! 429 and 503 pause the host for their `Retry-After`, or else an exponential backoff;
//! other 5xx and connection failures back off too. After `park_after` connection
//! failures in a row the host is parked, and a closed host's URLs (parked, or its
//! robots.txt unavailable) are refused instead of fetched.
//!
//! With `--per-host-rate auto` a host's interval is its [`AutoDelay`]: it follows the
//! host's last fetch's duration, grows on 429, 503 and timeouts, and relaxes again
//! when the host answers quickly. It is kept in the host's interval (no field more per
//! host), with the robots.txt `Crawl-delay` as a floor.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::auto_delay::Pace;
use super::host::Closed;
use super::queues::{Frontier, NAMED_HOSTS};
use crate::error_kind::ErrorKind;
use crate::messages::{Closure, Health, HostId, HostNews, Refusal, Refused};
use crate::slowed::HostPace;

impl Frontier {
    /// Takes in what a finished page fetch said about its host: a good answer clears
    /// the backoff and the failure count, a slow-down answer or a failure backs off,
    /// and connection failures in a row park the host.
    pub(super) fn heed(&mut self, host: HostId, now: Instant, health: Health) {
        let state = &mut self.hosts[host];
        match health {
            Health::Fine => {
                self.pace_changed |= state.backoff_level > 0;
                state.backoff_level = 0;
                state.failures = 0;
            }
            Health::Overloaded { retry_after } => {
                state.failures = 0;
                self.back_off(host, now, retry_after);
            }
            Health::ServerError => {
                self.hosts[host].failures = 0;
                self.back_off(host, now, None);
            }
            Health::Unreachable { reason, .. } => {
                self.hosts[host].failures += 1;
                self.back_off(host, now, None);
                self.park_if_failing(host, &reason);
            }
            Health::NotContacted => {}
        }
    }

    /// In auto mode, moves the host's delay after a page fetch ([`AutoDelay::next`]);
    /// its robots.txt `Crawl-delay` stays a floor. Other failures (refused connections,
    /// nothing sent) say nothing of its pace.
    pub(super) fn adapt(&mut self, host: HostId, took: Option<Duration>, health: &Health) {
        let Some(auto) = self.politeness.adaptive else {
            return;
        };
        let pace = match (health, took) {
            (
                Health::Overloaded { .. }
                | Health::Unreachable {
                    timed_out: true, ..
                },
                _,
            ) => Pace::SlowDown,
            (Health::Fine | Health::ServerError, Some(took)) => Pace::Answered(took),
            _ => return,
        };
        let floor = self.crawl_delay_floor(host);
        let state = &mut self.hosts[host];
        let delay = auto.next(state.interval(), pace).max(floor);
        if delay != state.interval() {
            state.set_interval(delay);
            self.pace_changed = true;
        }
    }

    /// Calls `each` with the key, delay and backoff level of every host whose state is
    /// not a new host's (a delay other than the start's, or backing off): what a
    /// resumed crawl takes back. Walks every host: call it now and then.
    pub fn for_each_pace<'a>(&'a self, mut each: impl FnMut(&'a str, Duration, u8)) {
        for (id, host) in self.hosts.iter().enumerate() {
            if host.backoff_level > 0 || host.interval() != self.period {
                each(&self.keys[id], host.interval(), host.backoff_level);
            }
        }
    }

    /// Takes back a host's politeness state from an earlier run: its backoff level,
    /// and in auto mode its delay (held to this run's bounds). Its `Crawl-delay` comes
    /// back with its robots.txt.
    pub fn restore_pace(&mut self, key: &str, delay: Duration, backoff_level: u8) {
        let auto = self.politeness.adaptive;
        if auto.is_none() && backoff_level == 0 {
            return;
        }
        let Some(id) = self.host_id_of_key(key) else {
            return;
        };
        let host = &mut self.hosts[id];
        host.backoff_level = backoff_level;
        if let Some(auto) = auto {
            host.set_interval(auto.within(delay));
        }
    }

    /// The `n` hosts with the longest delay (slowest first, then by key), and how many
    /// hosts [`Frontier::for_each_pace`] would name. Walks every host.
    pub fn slowest_hosts(&self, n: usize) -> (Vec<HostPace>, u64) {
        let mut slowest: BinaryHeap<Reverse<(Duration, Reverse<&str>, u8)>> = BinaryHeap::new();
        let mut count = 0;
        self.for_each_pace(|key, delay, level| {
            count += 1;
            slowest.push(Reverse((delay, Reverse(key), level)));
            if slowest.len() > n {
                slowest.pop();
            }
        });
        let mut named: Vec<_> = slowest.into_iter().map(|Reverse(entry)| entry).collect();
        named.sort_by(|a, b| b.cmp(a));
        let named = named
            .into_iter()
            .map(|(delay, Reverse(key), level)| HostPace::new(key, delay, level))
            .collect();
        (named, count)
    }

    /// Whether a host's delay or backoff level changed since the last call.
    pub fn take_pace_changed(&mut self) -> bool {
        std::mem::take(&mut self.pace_changed)
    }

    /// Moves a closed host's queue to the refused list.
    pub(super) fn refuse_all(&mut self, id: HostId, closed: &Closed) {
        let reason = match closed {
            Closed::RobotsUnavailable(why) => Refusal::RobotsUnavailable(Arc::clone(why)),
            Closed::Unreachable(why) => Refusal::HostUnreachable(Arc::clone(why)),
        };
        while let Some(queued) = self.pop(id) {
            self.hosts[id].refusing += 1;
            self.refused.push(Refused {
                host: id,
                queued,
                reason: reason.clone(),
            });
        }
    }

    /// Pauses a host after a failure or a slow-down answer: `retry_after` when the
    /// server gave one, else an exponential backoff; never longer than `max_backoff`.
    pub(super) fn back_off(&mut self, host: HostId, now: Instant, retry_after: Option<Duration>) {
        let politeness = self.politeness;
        let state = &mut self.hosts[host];
        state.backoff_level = state.backoff_level.saturating_add(1);
        state.errors = state.errors.saturating_add(1);
        self.pace_changed = true;
        let exponent = state.backoff_level.saturating_sub(1).min(30);
        let backoff = politeness.backoff.saturating_mul(1u32 << exponent);
        let pause = retry_after.unwrap_or(backoff).min(politeness.max_backoff);
        state.hold_until(now + pause);
        let backoff_level = state.backoff_level;
        if self.sharing() {
            let host = self.keys[host].to_string();
            self.tell(HostNews::Paused {
                host,
                pause,
                backoff_level,
            });
        }
    }

    pub(super) fn park_if_failing(&mut self, host: HostId, reason: &str) {
        let state = &mut self.hosts[host];
        if state.failures >= self.politeness.park_after.max(1) && state.closed.is_none() {
            let why = format!(
                "{} connection failures in a row; last: {reason}",
                state.failures
            );
            let why = self.reasons.intern(&why);
            state.closed = Some(Closed::Unreachable(Arc::clone(&why)));
            self.parked_count += 1;
            if self.parked.len() < NAMED_HOSTS {
                self.parked
                    .insert(self.keys[host].to_string(), why.to_string());
            }
            self.closures.push(Closure {
                host: self.keys[host].to_string(),
                kind: ErrorKind::HostUnreachable.as_str(),
                reason: why.to_string(),
            });
        }
    }
}
