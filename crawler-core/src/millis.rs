//! Lengths of time as whole milliseconds, the unit records, summaries and the live
//! status count in.

use std::time::Duration;

/// `duration` in whole milliseconds; a length too long for a `u64` (half a billion
/// years) saturates.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
