//! Backoff and parking: what a finished request says about its host's health, and
//! what the frontier does about it.
//!
//! 429 and 503 pause the host for their `Retry-After`, or else an exponential backoff;
//! other 5xx and connection failures back off too. After `park_after` connection
//! failures in a row the host is parked, and a closed host's URLs (parked, or its
//! robots.txt unavailable) are refused instead of fetched.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::host::Closed;
use super::queues::{Frontier, NAMED_HOSTS};
use crate::error_kind::ErrorKind;
use crate::messages::{Closure, Health, HostId, Refusal, Refused};

impl Frontier {
    /// Takes in what a finished page fetch said about its host: a good answer clears
    /// the backoff and the failure count, a slow-down answer or a failure backs off,
    /// and connection failures in a row park the host.
    pub(super) fn heed(&mut self, host: HostId, now: Instant, health: Health) {
        let state = &mut self.hosts[host];
        match health {
            Health::Fine => {
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
            Health::Unreachable { reason } => {
                self.hosts[host].failures += 1;
                self.back_off(host, now, None);
                self.park_if_failing(host, &reason);
            }
            Health::NotContacted => {}
        }
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
        let exponent = state.backoff_level.saturating_sub(1).min(30);
        let backoff = politeness.backoff.saturating_mul(1 << u32::from(exponent));
        let pause = retry_after.unwrap_or(backoff).min(politeness.max_backoff);
        state.hold_until(now + pause);
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
