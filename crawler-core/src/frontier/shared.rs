//! Politeness a cluster node shares: what it learns of a host (robots.txt rules, a
//! `Retry-After` pause, a backoff) is handed out as [`HostNews`] for the host's
//! partition in Redis, and what a host's former owner shared is taken back with
//! [`Frontier::adopt`], so a host keeps its rules, `Crawl-delay` and pauses when it
//! passes to another node. A frontier that is not a cluster node's keeps no news.

use std::time::Instant;

use super::host::RobotsState;
use super::moment::Moment;
use super::queues::Frontier;
use crate::messages::{AdoptedHost, HostNews, Queued, Refusal, Refused};

impl Frontier {
    /// Keeps [`HostNews`] from now on, for [`Frontier::take_host_news`].
    pub fn share_politeness(&mut self) {
        self.news.get_or_insert_with(Vec::new);
    }

    /// What was learned of hosts since the last call.
    pub fn take_host_news(&mut self) -> Vec<HostNews> {
        self.news.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Whether news are kept: build them only then.
    pub(super) fn sharing(&self) -> bool {
        self.news.is_some()
    }

    /// Keeps a piece of news, when news are kept.
    pub(super) fn tell(&mut self, news: HostNews) {
        if let Some(kept) = &mut self.news {
            kept.push(news);
        }
    }

    /// Records `queued` without a fetch as a dead letter: the cluster handed it out
    /// `deliveries` times and no node recorded it.
    pub fn refuse_dead_letter(&mut self, queued: Queued, deliveries: u32) {
        let id = self.host_id(&queued.url);
        self.hosts[id].refusing += 1;
        self.refused.push(Refused {
            host: id,
            queued,
            reason: Refusal::DeadLetter(deliveries),
        });
    }

    /// Takes up what a host's former owner shared: rules not yet expired (with their
    /// `Crawl-delay`, which also holds the host for one delay from now), and a pause
    /// not yet over. A host whose robots.txt this frontier already knows keeps its own.
    pub fn adopt(&mut self, adopted: AdoptedHost, now: Instant) {
        let Some(id) = self.host_id_of_key(&adopted.host) else {
            return;
        };
        let ttl = self.politeness.robots_ttl;
        if let Some((rules, age)) = adopted.robots.filter(|(_, age)| *age < ttl) {
            if matches!(self.hosts[id].robots, RobotsState::Unknown) {
                if let Some(delay) = rules.crawl_delay() {
                    self.apply_crawl_delay(id, delay, now);
                }
                self.hosts[id].robots = RobotsState::Ready {
                    rules,
                    expires: Moment::at_or_after(now + (ttl - age)),
                };
            }
        }
        if let Some((pause, level)) = adopted.paused.filter(|(pause, _)| !pause.is_zero()) {
            let host = &mut self.hosts[id];
            host.hold_until(now + pause.min(self.politeness.max_backoff));
            host.backoff_level = host.backoff_level.max(level);
        }
        self.wake(id);
    }
}
