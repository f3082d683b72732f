//! Each host's robots.txt as the frontier sees it: a host's first request is its
//! robots.txt, its other URLs wait until the rules are known, and every URL is checked
//! against them as it leaves its queue (a disallowed one is refused, to be recorded
//! without a fetch).
//!
//! Also here: rules expire after `robots_ttl`, a redirect is fetched next for the same
//! host, an unreachable robots.txt is retried with backoff and then closes the host, and
//! `Crawl-delay` sets the host's interval (capped by `max_crawl_delay`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::host::{robots_url, Closed, RobotsState};
use super::moment::Moment;
use super::queues::{Frontier, NAMED_HOSTS};
use crate::error_kind::ErrorKind;
use crate::messages::{
    Closure, HostId, HostNews, Queued, Refusal, Refused, RobotsJob, RobotsResult,
};
use crate::url::CanonicalUrl;

/// URLs refused in one call to [`Frontier::next`] at most, so one host with a huge
/// disallowed queue cannot keep the scheduler from its other work.
const REFUSALS_PER_CALL: usize = 4096;

impl Frontier {
    /// Pops the host's queue until a URL its robots.txt allows; the others are refused.
    pub(super) fn next_allowed(&mut self, id: HostId) -> Option<Queued> {
        let RobotsState::Ready { rules, .. } = &self.hosts[id].robots else {
            return None;
        };
        let rules = Arc::clone(rules);
        for _ in 0..REFUSALS_PER_CALL {
            let queued = self.pop(id)?;
            let verdict = rules.verdict(&queued.url);
            if verdict.allowed {
                return Some(queued);
            }
            let rule = match (verdict.rule, rules.group()) {
                (Some(rule), Some(group)) => {
                    format!("{rule} (line {}, group {group})", rule.line)
                }
                (Some(rule), None) => format!("{rule} (line {})", rule.line),
                (None, _) => "no rule".to_owned(),
            };
            self.hosts[id].refusing += 1;
            self.refused.push(Refused {
                host: id,
                queued,
                reason: Refusal::RobotsDisallowed(rule),
            });
        }
        None
    }

    pub(super) fn robots_job(&mut self, id: HostId) -> Option<RobotsJob> {
        let host = &mut self.hosts[id];
        let (url, hops) = match &host.robots {
            RobotsState::Redirected { url, hops } => (CanonicalUrl::clone(url), *hops),
            _ => (robots_url(&self.keys[id])?, 0),
        };
        host.robots = RobotsState::Fetching;
        host.in_flight += 1;
        self.in_flight += 1;
        Some(RobotsJob {
            host: id,
            url,
            hops,
            seed_host: host.seed,
        })
    }

    /// Rules older than the cache time are fetched again before the host's next request.
    pub(super) fn expire_robots(&mut self, id: HostId, now: Instant) {
        let host = &mut self.hosts[id];
        if let RobotsState::Ready { expires, .. } = host.robots {
            if expires.instant() <= now && host.in_flight == 0 {
                host.robots = RobotsState::Unknown;
            }
        }
    }

    /// A robots.txt fetch of `host` finished.
    pub fn robots_done(&mut self, host: HostId, answered: Option<Instant>, result: RobotsResult) {
        let (period, auto) = (self.period, self.politeness.adaptive.is_some());
        let Some(state) = self.hosts.get_mut(host) else {
            return;
        };
        state.in_flight = state.in_flight.saturating_sub(1);
        self.in_flight = self.in_flight.saturating_sub(1);
        // An auto delay is the host's own (perhaps restored from an earlier run).
        let spacing = if auto { state.interval() } else { period };
        if let Some(answered) = answered.filter(|_| !spacing.is_zero()) {
            state.hold_until(answered + spacing);
        }
        let now = answered.unwrap_or_else(Instant::now);
        match result {
            RobotsResult::Rules(rules) => {
                state.backoff_level = 0;
                state.failures = 0;
                state.robots_failures = 0;
                if let Some(delay) = rules.crawl_delay() {
                    self.apply_crawl_delay(host, delay, now);
                }
                if self.sharing() {
                    let host = self.keys[host].to_string();
                    let rules = Arc::clone(&rules);
                    self.tell(HostNews::Robots { host, rules });
                }
                self.hosts[host].robots = RobotsState::Ready {
                    rules,
                    expires: Moment::at_or_after(now + self.politeness.robots_ttl),
                };
            }
            RobotsResult::Redirect { url, hops } => {
                state.robots = RobotsState::Redirected {
                    url: Box::new(url),
                    hops,
                };
            }
            RobotsResult::Unreachable {
                reason,
                retry_after,
                connection_failure,
            } => {
                state.robots_failures = state.robots_failures.saturating_add(1);
                let attempts = u32::from(state.robots_failures);
                state.robots = RobotsState::Retrying;
                if connection_failure {
                    state.failures += 1;
                } else {
                    state.failures = 0;
                }
                self.back_off(host, now, retry_after);
                self.park_if_failing(host, &reason);
                if attempts > self.politeness.retries && self.hosts[host].closed.is_none() {
                    let why = format!("{reason}; gave up after {attempts} attempts");
                    let why = self.reasons.intern(&why);
                    self.closures.push(Closure {
                        host: self.keys[host].to_string(),
                        kind: ErrorKind::RobotsUnavailable.as_str(),
                        reason: why.to_string(),
                    });
                    self.hosts[host].closed = Some(Closed::RobotsUnavailable(why));
                }
            }
        }
        self.wake(host);
    }

    /// Sets the host's interval from its `Crawl-delay`, within the cap.
    pub(super) fn apply_crawl_delay(&mut self, host: HostId, delay: f64, now: Instant) {
        let cap = self.politeness.max_crawl_delay;
        let asked = Duration::try_from_secs_f64(delay).unwrap_or(Duration::MAX);
        if asked > cap {
            let key = &self.keys[host];
            // A named host's figure follows its latest robots.txt.
            if self.capped.len() < NAMED_HOSTS || self.capped.contains_key(key) {
                self.capped.insert(key.to_string(), delay);
            }
            // Counted once, however often its robots.txt is fetched again.
            if !std::mem::replace(&mut self.hosts[host].crawl_delay_capped, true) {
                self.capped_count += 1;
            }
        }
        let state = &mut self.hosts[host];
        let delay = asked.min(cap);
        if delay > self.period {
            // An auto delay already longer stays: the Crawl-delay is its floor.
            let current = match self.politeness.adaptive {
                Some(_) => state.interval(),
                None => Duration::ZERO,
            };
            let interval = delay.max(current);
            self.pace_changed |= interval != state.interval();
            state.set_interval(interval);
            state.one_at_a_time = true;
            state.hold_until(now + delay);
        }
    }

    /// The host's `Crawl-delay` within the cap, zero when its rules give none.
    pub(super) fn crawl_delay_floor(&self, host: HostId) -> Duration {
        match &self.hosts[host].robots {
            RobotsState::Ready { rules, .. } => rules
                .crawl_delay()
                .and_then(|delay| Duration::try_from_secs_f64(delay).ok())
                .map_or(Duration::ZERO, |delay| {
                    delay.min(self.politeness.max_crawl_delay)
                }),
            _ => Duration::ZERO,
        }
    }
}
