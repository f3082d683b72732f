//! Timestamps on the command line: reading `--since`/`--until` values and printing
//! fetch times (UTC, RFC 3339). The calendar is `jiff`'s.

use jiff::tz::Offset;
use jiff::{civil, SignedDuration, Span, SpanRelativeTo, Timestamp};

pub use crawler_storage::now_ms;

/// `2026-11-22T00:50:58Z`.
pub fn rfc3339_secs(ms: u64) -> String {
    format!("{:.0}", timestamp(ms))
}

/// `2026-11-22T00:50:58.123Z` (the millisecond form WARC 1.1 allows).
pub fn rfc3339_millis(ms: u64) -> String {
    format!("{:.3}", timestamp(ms))
}

/// The instant `ms` after the Unix epoch. One past the year 9999 (only a damaged
/// record holds one) is shown as the last instant of 9999.
fn timestamp(ms: u64) -> Timestamp {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Reads a point in time, as milliseconds since the Unix epoch:
///
/// - RFC 3339: `2026-11-22T10:00:00Z`, `2026-11-22T10:00:00.5+01:00` (a space may
///   stand for the `T`; no offset means UTC);
/// - a date: `2026-11-22` (midnight UTC);
/// - a time ago: `90s`, `15m`, `2h`, `3d` (also `15m ago`, `1h30m`, `2 days`).
pub fn parse_time(text: &str, now_ms: u64) -> Result<u64, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a time (use 2026-11-22, 2026-11-22T10:00:00Z, or 15m / 2h / 3d ago)"
        )
    };
    if let Some(ago) = parse_ago(text) {
        let ago = u64::try_from(ago.as_millis()).map_err(|_| bad())?;
        return Ok(now_ms.saturating_sub(ago));
    }
    let instant = text
        .parse::<Timestamp>()
        // No offset: UTC.
        .or_else(|_| Offset::UTC.to_timestamp(text.parse::<civil::DateTime>()?))
        .map_err(|_| bad())?;
    u64::try_from(instant.as_millisecond()).map_err(|_| format!("{text:?} is before 1970"))
}

/// `15m` -> 15 minutes; `None` for what is not a length of time back (a negative
/// one included), or is too long to count in milliseconds.
fn parse_ago(text: &str) -> Option<SignedDuration> {
    let span: Span = text.parse().ok()?;
    // `15m ago` is jiff's spelling of minus 15 minutes; here both mean 15 minutes back.
    let span = if text.ends_with("ago") {
        span.negate()
    } else {
        span
    };
    if span.is_negative() {
        return None;
    }
    span.to_duration(SpanRelativeTo::days_are_24_hours()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_millis(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(rfc3339_secs(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_what_it_formats_and_other_spellings() {
        for ms in [0, 951_782_400_000, 1_700_000_000_123, 4_102_444_799_999] {
            assert_eq!(parse_time(&rfc3339_millis(ms), 0), Ok(ms));
        }
        let noon = 1_700_000_000_000 - 22 * 3_600_000 - 13 * 60_000 - 20_000 + 12 * 3_600_000;
        assert_eq!(parse_time("2023-11-14T12:00:00Z", 0), Ok(noon));
        assert_eq!(parse_time("2023-11-14 12:00", 0), Ok(noon));
        assert_eq!(parse_time("2023-11-14T13:00:00+01:00", 0), Ok(noon));
        assert_eq!(parse_time("2023-11-14T11:30:00-00:30", 0), Ok(noon));
        assert_eq!(parse_time("2023-11-14", 0), Ok(noon - 12 * 3_600_000));
        assert_eq!(parse_time("2023-11-14T12:00:00.5Z", 0), Ok(noon + 500));
        assert_eq!(parse_time("2023-11-14t12:00:00z", 0), Ok(noon));
        assert_eq!(parse_time(" 2023-11-14T12:00 ", 0), Ok(noon));
    }

    #[test]
    fn relative_times_count_back_from_now() {
        assert_eq!(parse_time("90s", 100_000), Ok(10_000));
        assert_eq!(parse_time("2h", 10_000_000), Ok(10_000_000 - 7_200_000));
        assert_eq!(parse_time("3d", 0), Ok(0));
        assert_eq!(parse_time("15m ago", 1_000_000), Ok(100_000));
        assert_eq!(parse_time("1h30m", 6_000_000), Ok(600_000));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "yesterday",
            "15x",
            "2023-13-01",
            "2023-02-30",
            "2023-1-01",
            "2023-11-14T25:00Z",
            "2023-11-14T12:00:00.x",
            "1969-12-31",
            "-5m",
            "99999999999999999999d",
            "5m from now",
        ] {
            assert!(parse_time(bad, 0).is_err(), "{bad}");
        }
    }
}
