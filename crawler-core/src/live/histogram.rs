//! A latency histogram that any thread records into with two atomic adds, and that a
//! reader copies without stopping the writers (Prometheus' fixed-bucket model).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Fetch durations, in seconds: from a fast loopback answer to `--timeout`'s range.
pub(crate) const FETCH_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Store write durations, in seconds: a page's write is usually well under a millisecond.
pub(crate) const STORE_WRITE_BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Counts by bucket, live.
#[derive(Debug)]
pub(crate) struct LiveHistogram {
    bounds: &'static [f64],
    /// One count per bound, then the overflow (`+Inf`).
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl LiveHistogram {
    pub(crate) fn new(bounds: &'static [f64]) -> LiveHistogram {
        LiveHistogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub(crate) fn record(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = self.bounds.partition_point(|bound| *bound < secs);
        self.counts[bucket].fetch_add(1, Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Histogram {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Relaxed)).collect();
        Histogram {
            bounds: self.bounds.to_vec(),
            count: counts.iter().sum(),
            counts,
            sum: self.sum_nanos.load(Relaxed) as f64 / 1e9,
        }
    }
}

/// A histogram at one instant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Upper bounds of the buckets, in seconds, ascending.
    pub bounds: Vec<f64>,
    /// Observations per bucket (not cumulative): one per bound, then those above the
    /// last bound.
    pub counts: Vec<u64>,
    /// Sum of the observations, in seconds.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

impl Histogram {
    /// `(upper bound, observations at or below it)` per bucket, the last with an
    /// infinite bound: Prometheus' cumulative `le` buckets.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let bounds = self.bounds.iter().copied().chain([f64::INFINITY]);
        let mut total = 0;
        bounds
            .zip(&self.counts)
            .map(|(bound, count)| {
                total += count;
                (bound, total)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let live = LiveHistogram::new(&[0.01, 0.1, 1.0]);
        live.record(Duration::from_millis(5));
        live.record(Duration::from_millis(10)); // a bound is inclusive
        live.record(Duration::from_millis(50));
        live.record(Duration::from_secs(3));
        let histogram = live.snapshot();
        assert_eq!(histogram.counts, vec![2, 1, 0, 1]);
        assert_eq!(histogram.count, 4);
        assert!((histogram.sum - 3.065).abs() < 1e-9);
        assert_eq!(
            histogram.cumulative(),
            vec![(0.01, 2), (0.1, 3), (1.0, 3), (f64::INFINITY, 4)]
        );
    }
}
