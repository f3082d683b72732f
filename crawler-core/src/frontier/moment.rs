//! Instants and spacings in 8 bytes: nanoseconds since an epoch set an hour (or as
//! long as the clock allows) before the frontier first needed the time, so that every
//! instant a crawl meets is after it and is kept exactly. A `std::time::Instant` takes
//! 16 bytes, and every host of a broad crawl keeps two.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static EPOCH: OnceLock<Instant> = OnceLock::new();

fn epoch() -> Instant {
    *EPOCH.get_or_init(|| {
        let now = Instant::now();
        [3600, 60, 1]
            .into_iter()
            .find_map(|secs| now.checked_sub(Duration::from_secs(secs)))
            .unwrap_or(now)
    })
}

/// A point in time, to the nanosecond (an instant before the epoch counts as the
/// epoch, which is never earlier). The default is the epoch: a moment that has passed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment(u64);

impl Moment {
    pub fn at_or_after(at: Instant) -> Moment {
        Moment(nanos(at.saturating_duration_since(epoch())))
    }

    pub fn instant(self) -> Instant {
        let since = Duration::from_nanos(self.0);
        epoch()
            .checked_add(since)
            .unwrap_or_else(|| epoch() + Duration::from_secs(100 * 365 * 24 * 3600))
    }
}

/// `duration` in nanoseconds (at most 584 years).
pub fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_is_its_instant() {
        let now = Instant::now();
        for nanos in [0, 1, 999, 1000, 1001, 1_234_567] {
            let at = now + Duration::from_nanos(nanos);
            assert_eq!(Moment::at_or_after(at).instant(), at);
        }
        assert!(Moment::default() <= Moment::at_or_after(now));
    }
}
