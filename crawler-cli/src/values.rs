//! The values of flags and config keys that are numbers: whole numbers, sizes
//! (`10M`, `1.5M`) and lengths of time (`30`, `1.5s`, `2m`, `1h30m`), read with
//! messages that say what was typed and what is accepted, and written back the way
//! they are read (a resumed crawl's overrides are shown so).
//!
//! Ranges are not checked here but by `CrawlConfig::check_each_setting`, the one
//! place that knows what each setting may be; these parsers only turn text into
//! numbers (refusing what is no number of the kind at all: negative, fractional,
//! too large for its type).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::SignedDuration;

/// A whole number of type `T` (`usize`, `u32`, `u64`, `u8`): a clap value parser.
pub fn whole<T: TryFrom<u64>>(text: &str) -> Result<T, String> {
    let trimmed = text.trim();
    if let Some(magnitude) = trimmed.strip_prefix('-') {
        if magnitude.parse::<f64>().is_ok() {
            return Err(format!(
                "{trimmed} is negative: give a whole number, 0 or more"
            ));
        }
    }
    let number = match trimmed.parse::<u64>() {
        Ok(number) => number,
        Err(_) if is_all_digits(trimmed) => return Err(too_large::<T>(trimmed)),
        Err(_) if trimmed.parse::<f64>().is_ok() => {
            return Err(format!("{trimmed} is not a whole number"))
        }
        Err(_) => return Err(format!("{text:?} is not a number")),
    };
    T::try_from(number).map_err(|_| too_large::<T>(trimmed))
}

fn is_all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn too_large<T: TryFrom<u64>>(text: &str) -> String {
    // The largest value of T: the largest u64 it holds.
    let max = (0..=64)
        .rev()
        .map(|bits: u32| 1u64.checked_shl(bits).map_or(u64::MAX, |n| n - 1))
        .find(|&n| T::try_from(n).is_ok())
        .unwrap_or(0);
    format!("{text} is too large (at most {max})")
}

/// A length of time: a number of seconds (`30`, `1.5`) or with units (`500ms`,
/// `30s`, `2m`, `1h30m`, `1d`). Shown as `30s`, `1m 30s`, `1s 500ms`, which reads
/// back the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl FromStr for Seconds {
    type Err = String;
    fn from_str(text: &str) -> Result<Seconds, String> {
        let trimmed = text.trim();
        let accepted = "give seconds (30, 1.5) or a length with units (500ms, 30s, 2m, 1h30m, 1d)";
        // Days, which the parser below leaves to calendars: `7d`, `1d12h`.
        if let Some((days, rest)) = trimmed.split_once(['d', 'D']) {
            if let Ok(days) = days.parse::<u32>() {
                let rest = match rest {
                    "" => Duration::ZERO,
                    rest => rest.parse::<Seconds>()?.0,
                };
                return Duration::from_secs(u64::from(days) * 86_400)
                    .checked_add(rest)
                    .map(Seconds)
                    .ok_or_else(|| format!("{trimmed} is too long (a year at most)"));
            }
        }
        if let Ok(secs) = trimmed.parse::<f64>() {
            if secs.is_nan() || secs < 0.0 {
                return Err(format!("{trimmed} is not 0 or more seconds: {accepted}"));
            }
            return Duration::try_from_secs_f64(secs)
                .map(Seconds)
                .map_err(|_| format!("{trimmed} seconds is too long (a year at most)"));
        }
        let length: SignedDuration = trimmed
            .parse()
            .map_err(|_| format!("{text:?} is not a length of time: {accepted}"))?;
        if length.is_negative() {
            return Err(format!("{trimmed} is negative: {accepted}"));
        }
        Duration::try_from(length)
            .map(Seconds)
            .map_err(|_| format!("{trimmed} is too long (a year at most)"))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs >= 86_400 && secs.is_multiple_of(86_400) && self.0.subsec_nanos() == 0 {
            return write!(f, "{}d", secs / 86_400);
        }
        match SignedDuration::try_from(self.0) {
            Ok(length) if !length.is_zero() => write!(f, "{length:#}"),
            _ => write!(f, "{}s", self.0.as_secs_f64()),
        }
    }
}

/// A number of bytes, read and shown with binary units: `1048576`, `512K`, `1.5M`, `1G`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;
    fn from_str(text: &str) -> Result<Size, String> {
        parse_size(text).map(Size)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(30, "G"), (20, "M"), (10, "K")];
        match units
            .into_iter()
            .find(|(shift, _)| self.0 != 0 && self.0.is_multiple_of(1 << shift))
        {
            Some((shift, unit)) => write!(f, "{}{unit}", self.0 >> shift),
            None => write!(f, "{}", self.0),
        }
    }
}

/// `1048576`, `512K`, `1.5M`, `1G` (binary units; a fraction is rounded to a byte).
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (number, unit) = match trimmed.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let accepted = "give bytes or a size with K, M or G, like 512K or 1.5M";
    if trimmed.starts_with('-') {
        return Err(format!("{trimmed} is negative: {accepted}"));
    }
    let multiplier: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}: {accepted}")),
    };
    let too_large = || format!("{trimmed} is too large");
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(multiplier).ok_or_else(too_large);
    }
    let fraction: f64 = number
        .parse()
        .ok()
        .filter(|_| number.contains('.'))
        .ok_or_else(|| format!("{text:?} is not a size: {accepted}"))?;
    let bytes = (fraction * multiplier as f64).round();
    if bytes >= u64::MAX as f64 {
        return Err(too_large());
    }
    // In range and whole: the conversion is exact.
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_say_what_is_wrong() {
        assert_eq!(whole::<usize>("16"), Ok(16));
        assert_eq!(whole::<u8>(" 7 "), Ok(7));
        let err = |text| whole::<u32>(text).unwrap_err();
        assert!(err("-1").contains("negative"), "{}", err("-1"));
        assert!(err("1.5").contains("not a whole number"));
        assert!(err("ten").contains("not a number"));
        assert!(err("99999999999").contains("at most 4294967295"));
        assert!(whole::<u64>("99999999999999999999")
            .unwrap_err()
            .contains("too large"));
        assert!(whole::<u8>("300").unwrap_err().contains("at most 255"));
    }

    #[test]
    fn lengths_of_time_take_plain_seconds_or_units() {
        let secs = |text: &str| text.parse::<Seconds>().map(|s| s.0);
        assert_eq!(secs("30"), Ok(Duration::from_secs(30)));
        assert_eq!(secs("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(secs("0"), Ok(Duration::ZERO));
        assert_eq!(secs("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(secs("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(secs("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(secs("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(secs("2d12h"), Ok(Duration::from_secs(216_000)));
        for bad in [
            "-1",
            "-2s",
            "nan",
            "soon",
            "",
            "99999999999999999999",
            "1dd",
            "d",
        ] {
            assert!(secs(bad).is_err(), "{bad}");
        }
        assert!(secs("99999999999999999999")
            .unwrap_err()
            .contains("too long"));
    }

    #[test]
    fn lengths_of_time_read_back_as_shown() {
        assert_eq!(Seconds(Duration::from_secs(30 * 86_400)).to_string(), "30d");
        for millis in [0, 500, 1000, 1500, 30_000, 90_000, 86_400_000, 90_000_000] {
            let shown = Seconds(Duration::from_millis(millis)).to_string();
            assert_eq!(
                shown.parse::<Seconds>().map(|s| s.0.as_millis()),
                Ok(u128::from(millis)),
                "{shown}"
            );
        }
        assert_eq!(Seconds(Duration::from_secs(30)).to_string(), "30s");
        assert_eq!(Seconds(Duration::ZERO).to_string(), "0s");
    }

    #[test]
    fn sizes_take_binary_units_and_fractions() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
        assert_eq!(parse_size("0.5K"), Ok(512));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("1.2.3M").is_err());
        assert!(parse_size("-1").unwrap_err().contains("negative"));
        assert!(parse_size("99999999999999G").is_err());
        assert!(parse_size("99999999999999.5G").is_err());
    }

    #[test]
    fn sizes_are_shown_in_the_largest_exact_unit() {
        let shown = |n: u64| Size(n).to_string();
        assert_eq!(shown(10 << 20), "10M");
        assert_eq!(shown(3 << 30), "3G");
        assert_eq!(shown(1536), "1536");
        assert_eq!(shown(2048), "2K");
        assert_eq!(shown(0), "0");
        for n in [0, 1, 1023, 1536, 10 << 20, 5 << 30] {
            assert_eq!(shown(n).parse(), Ok(Size(n)));
        }
    }
}
