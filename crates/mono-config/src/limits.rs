//! The local cache's limits, `cacheMaxSize` and `cacheMaxAge`, written as in Turborepo:
//! a size such as `"500MB"`, `"10GB"`, `"1.5TB"`, and an age such as `"30s"`, `"5m"`,
//! `"24h"`, `"7d"`, `"2w"`; `"0"` turns the limit off. Shared by turbo.toml / turbo.json,
//! the environment variables and `mono cache prune`'s flags.

use std::time::Duration;

/// Why a limit does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// Not a number followed by a known unit.
    #[error("`{text}` is not a {what}: {expected}")]
    Syntax {
        /// What was written.
        text: String,
        /// "size" or "duration".
        what: &'static str,
        /// What is expected instead.
        expected: &'static str,
    },
    /// A number too large to count.
    #[error("`{text}` is too large")]
    TooLarge {
        /// What was written.
        text: String,
    },
}

const SIZE_EXPECTED: &str = "a number and a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. \"10GB\"; \"0\" for no limit";
const AGE_EXPECTED: &str = "a number and a unit: s, m, h, d or w, e.g. \"7d\"; \"0\" for no limit";

fn split(text: &str) -> (&str, &str) {
    let at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    (&text[..at], text[at..].trim())
}

fn number(text: &str, digits: &str) -> Option<f64> {
    if digits.is_empty() || digits.starts_with('.') || digits.ends_with('.') {
        return None;
    }
    let value: f64 = digits.parse().ok()?;
    (value.is_finite() && value >= 0.0 && !text.is_empty()).then_some(value)
}

fn scaled(text: &str, value: f64, unit: f64) -> Result<u64, LimitError> {
    let total = value * unit;
    if !total.is_finite() || total >= u64::MAX as f64 {
        return Err(LimitError::TooLarge {
            text: text.to_owned(),
        });
    }
    Ok(total.round() as u64)
}

/// A size in bytes; `Ok(None)` for `"0"` (no limit).
pub fn parse_size(text: &str) -> Result<Option<u64>, LimitError> {
    let trimmed = text.trim();
    let syntax = || LimitError::Syntax {
        text: text.to_owned(),
        what: "size",
        expected: SIZE_EXPECTED,
    };
    let (digits, unit) = split(trimmed);
    let value = number(trimmed, digits).ok_or_else(syntax)?;
    let unit = match unit.to_ascii_lowercase().as_str() {
        "" if value == 0.0 => 1.0,
        "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(syntax()),
    };
    let bytes = scaled(text, value, unit)?;
    Ok((bytes > 0).then_some(bytes))
}

/// An age; `Ok(None)` for `"0"` (no limit).
pub fn parse_age(text: &str) -> Result<Option<Duration>, LimitError> {
    let trimmed = text.trim();
    let syntax = || LimitError::Syntax {
        text: text.to_owned(),
        what: "duration",
        expected: AGE_EXPECTED,
    };
    let (digits, unit) = split(trimmed);
    let value = number(trimmed, digits).ok_or_else(syntax)?;
    let unit = match unit.to_ascii_lowercase().as_str() {
        "" if value == 0.0 => 1.0,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        _ => return Err(syntax()),
    };
    let seconds = scaled(text, value, unit)?;
    Ok((seconds > 0).then(|| Duration::from_secs(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("10GB", Some(10_000_000_000) ; "gigabytes")]
    #[test_case("500mb", Some(500_000_000) ; "any case")]
    #[test_case("1.5TB", Some(1_500_000_000_000) ; "fraction")]
    #[test_case("2GiB", Some(2 * 1024 * 1024 * 1024) ; "binary")]
    #[test_case("42B", Some(42) ; "bytes")]
    #[test_case("0", None ; "off")]
    #[test_case("0GB", None ; "zero with a unit")]
    fn sizes(text: &str, expected: Option<u64>) {
        assert_eq!(parse_size(text), Ok(expected));
    }

    #[test_case("7d", Some(7 * 86_400) ; "days")]
    #[test_case("2w", Some(14 * 86_400) ; "weeks")]
    #[test_case("30s", Some(30) ; "seconds")]
    #[test_case("5m", Some(300) ; "minutes")]
    #[test_case("24H", Some(86_400) ; "any case")]
    #[test_case("0", None ; "off")]
    fn ages(text: &str, expected: Option<u64>) {
        assert_eq!(parse_age(text), Ok(expected.map(Duration::from_secs)));
    }

    #[test_case("" ; "empty")]
    #[test_case("GB" ; "no number")]
    #[test_case("10" ; "no unit")]
    #[test_case("-1GB" ; "negative")]
    #[test_case("1.GB" ; "dangling dot")]
    #[test_case("10XB" ; "unknown unit")]
    #[test_case("NaNGB" ; "nan")]
    fn bad_sizes(text: &str) {
        assert!(matches!(parse_size(text), Err(LimitError::Syntax { .. })));
    }

    #[test]
    fn huge_values_are_refused() {
        assert!(matches!(
            parse_size("99999999999999999999TB"),
            Err(LimitError::TooLarge { .. })
        ));
        assert!(parse_age("10y").is_err());
    }
}
