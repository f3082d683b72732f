//! Timestamps on the command line: reading `--since`/`--until` values and printing
//! fetch times (UTC, RFC 3339), without a date-time dependency.

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `2026-11-22T00:50:58Z`.
pub fn rfc3339_secs(ms: u64) -> String {
    let (date, h, m, s) = split(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}Z")
}

/// `2026-11-22T00:50:58.123Z` (the millisecond form WARC 1.1 allows).
pub fn rfc3339_millis(ms: u64) -> String {
    let (date, h, m, s) = split(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}.{:03}Z", ms % 1000)
}

fn split(ms: u64) -> (String, u64, u64, u64) {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let (y, mo, d) = civil_from_days(days);
    let rest = secs % 86_400;
    (
        format!("{y:04}-{mo:02}-{d:02}"),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
    )
}

/// Reads a point in time, as milliseconds since the Unix epoch:
///
/// - RFC 3339: `2026-11-22T10:00:00Z`, `2026-11-22T10:00:00.5+01:00` (a space may
///   stand for the `T`; no offset means UTC);
/// - a date: `2026-11-22` (midnight UTC);
/// - a time ago: `90s`, `15m`, `2h`, `3d`.
pub fn parse_time(text: &str, now_ms: u64) -> Result<u64, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a time (use 2026-11-22, 2026-11-22T10:00:00Z, or 15m / 2h / 3d ago)"
        )
    };
    if let Some(ago) = parse_ago(text) {
        return Ok(now_ms.saturating_sub(ago.ok_or_else(bad)?));
    }
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let days = parse_date(date).ok_or_else(bad)?;
    let offset_ms = match time {
        Some(time) => parse_clock(time).ok_or_else(bad)?,
        None => 0,
    };
    let ms = days
        .checked_mul(86_400_000)
        .and_then(|ms| ms.checked_add(offset_ms))
        .ok_or_else(bad)?;
    u64::try_from(ms).map_err(|_| format!("{text:?} is before 1970"))
}

/// `15m` -> `Some(Some(900_000))`; `Some(None)` for a number with a bad unit.
fn parse_ago(text: &str) -> Option<Option<u64>> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    if unit_at == 0 || text.contains('-') {
        return None;
    }
    let (digits, unit) = text.split_at(unit_at);
    let scale: u64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Some(None),
    };
    Some(
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale)),
    )
}

/// `YYYY-MM-DD` -> days since 1970-01-01.
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let y: i64 = number(parts.next()?, 4)?;
    let m: i64 = number(parts.next()?, 2)?;
    let d: i64 = number(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `hh:mm[:ss[.fff]][Z|±hh:mm]` -> milliseconds since midnight UTC (may be negative
/// or past a day after the offset).
fn parse_clock(text: &str) -> Option<i64> {
    let (clock, offset_ms) = if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(at) = text.rfind(['+', '-']) {
        let (clock, offset) = text.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':')?;
        let minutes = number(h, 2)? * 60 + number(m, 2)?;
        (clock, sign * minutes * 60_000)
    } else {
        (text, 0)
    };
    let mut parts = clock.split(':');
    let h: i64 = number(parts.next()?, 2)?;
    let m: i64 = number(parts.next()?, 2)?;
    let (s, frac_ms) = match parts.next() {
        Some(seconds) => {
            let (whole, frac) = seconds.split_once('.').unwrap_or((seconds, ""));
            let frac_ms = if frac.is_empty() {
                0
            } else {
                if !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let padded: String = frac.chars().chain("000".chars()).take(3).collect();
                padded.parse::<i64>().ok()?
            };
            (number(whole, 2)?, frac_ms)
        }
        None => (0, 0),
    };
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(((h * 60 + m) * 60 + s) * 1000 + frac_ms - offset_ms)
}

/// Exactly `width` ASCII digits.
fn number(text: &str, width: usize) -> Option<i64> {
    (text.len() == width && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
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
    }

    #[test]
    fn relative_times_count_back_from_now() {
        assert_eq!(parse_time("90s", 100_000), Ok(10_000));
        assert_eq!(parse_time("2h", 10_000_000), Ok(10_000_000 - 7_200_000));
        assert_eq!(parse_time("3d", 0), Ok(0));
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
        ] {
            assert!(parse_time(bad, 0).is_err(), "{bad}");
        }
    }
}
