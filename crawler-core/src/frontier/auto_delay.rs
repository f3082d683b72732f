//! The rule of `--per-host-rate auto`, alone: how a host's delay follows its response
//! time (`backoff.rs` applies it to the hosts; the frontier's settings hold it).

use std::time::Duration;

/// The rule of `--per-host-rate auto`: how a host's delay follows its response time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoDelay {
    /// The delay is this times the last fetch's duration (Heritrix's delay factor).
    pub factor: f64,
    /// The shortest delay.
    pub min: Duration,
    /// The longest delay, after any number of slow-downs.
    pub max: Duration,
}

/// What a finished fetch says about its host's pace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pace {
    /// It answered; the fetch took this long.
    Answered(Duration),
    /// 429, 503 or a timeout: the host asks for less.
    SlowDown,
}

/// A slow-down doubles the delay from at least this, so a zero `min` still grows.
const SLOW_DOWN_FROM: Duration = Duration::from_millis(100);

impl AutoDelay {
    /// The delay after a fetch, from the delay before it. An answer sets it to `factor`
    /// times the fetch's duration when that is longer (a host turning slow is spaced
    /// out at once), and relaxes it by at most half when shorter (so a host that just
    /// asked for less is not rushed at again). A slow-down doubles it. Always within
    /// `min` and `max`.
    pub(super) fn next(&self, current: Duration, pace: Pace) -> Duration {
        let next = match pace {
            Pace::Answered(took) => {
                let target = Duration::try_from_secs_f64(took.as_secs_f64() * self.factor)
                    .unwrap_or(self.max);
                let target = self.within(target);
                if target >= current {
                    target
                } else {
                    target.max(current / 2)
                }
            }
            Pace::SlowDown => current.max(SLOW_DOWN_FROM).saturating_mul(2),
        };
        self.within(next)
    }

    /// `delay` held to `min` and `max` (`max` wins should they cross).
    pub(super) fn within(&self, delay: Duration) -> Duration {
        delay.max(self.min).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_rule() {
        let ms = Duration::from_millis;
        let rule = AutoDelay {
            factor: 5.0,
            min: ms(500),
            max: ms(30_000),
        };
        let answered = |took| Pace::Answered(ms(took));
        // Five times the fetch, within the bounds.
        assert_eq!(rule.next(ms(500), answered(200)), ms(1000));
        assert_eq!(rule.next(ms(500), answered(10)), ms(500));
        assert_eq!(rule.next(ms(500), answered(60_000)), ms(30_000));
        // Slower at once, quicker by at most half an answer.
        assert_eq!(rule.next(ms(1000), answered(2000)), ms(10_000));
        assert_eq!(rule.next(ms(10_000), answered(10)), ms(5000));
        assert_eq!(rule.next(ms(10_000), answered(1600)), ms(8000));
        // A slow-down doubles, up to the longest.
        assert_eq!(rule.next(ms(500), Pace::SlowDown), ms(1000));
        assert_eq!(rule.next(ms(20_000), Pace::SlowDown), ms(30_000));
        // A zero minimum still grows; a huge factor is the longest, not an overflow.
        let zero = AutoDelay {
            min: Duration::ZERO,
            ..rule
        };
        assert_eq!(zero.next(Duration::ZERO, Pace::SlowDown), ms(200));
        let huge = AutoDelay {
            factor: 1e300,
            ..rule
        };
        assert_eq!(huge.next(ms(500), answered(1)), ms(30_000));
    }
}
