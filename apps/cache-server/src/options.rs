//! The server's command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// A remote cache server for mono and Turborepo (the Turborepo HTTP cache API).
#[derive(Debug, Parser)]
#[command(name = "mono-cache-server", version, about, max_term_width = 100)]
pub struct Options {
    /// The address to listen on. Port 0 picks a free port (the "listening" log line names it).
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_LISTEN",
        default_value = "127.0.0.1:3000"
    )]
    pub listen: SocketAddr,

    /// Store artifacts in this folder.
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_DIR",
        value_name = "DIR",
        conflicts_with = "s3"
    )]
    pub dir: Option<PathBuf>,

    /// Store artifacts in an S3-compatible bucket, `s3://BUCKET/PREFIX`, with the standard
    /// AWS environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`).
    #[arg(long, env = "MONO_CACHE_SERVER_S3", value_name = "URL")]
    pub s3: Option<String>,

    /// The bearer tokens clients must send, comma-separated.
    #[arg(
        long = "token",
        env = "MONO_CACHE_SERVER_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        required = true,
        hide_env_values = true
    )]
    pub tokens: Vec<String>,

    /// The largest artifact accepted, in bytes or with a unit (`512MiB`); larger uploads get
    /// 413.
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_MAX_ARTIFACT_SIZE",
        value_name = "SIZE",
        default_value = "512MiB",
        value_parser = parse_size
    )]
    pub max_artifact_size: u64,

    /// When set, uploads must carry a valid `x-artifact-tag` (HMAC-SHA256 with this key, as
    /// `MONO_REMOTE_CACHE_SIGNATURE_KEY` / `TURBO_REMOTE_CACHE_SIGNATURE_KEY` on clients).
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_SIGNATURE_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub signature_key: Option<String>,

    /// Seconds a client has to send a request's headers (on a new connection, or between
    /// requests on a kept-alive one); then the connection is closed.
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_HEADER_READ_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_read_timeout: u64,

    /// Seconds a connection may go without sending or receiving a byte (a stalled upload or
    /// download); then it is closed.
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_IDLE_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(2..)
    )]
    pub idle_timeout: u64,

    /// The most connections open at once. At the limit, a new connection closes the one
    /// idle the longest (no request in progress); when every connection is busy, the new one
    /// is closed. Never more than the open-file limit minus 64.
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_connections: u64,

    /// The most uploads stored at once; more wait for a free slot (up to half the idle
    /// timeout, then 503). Each upload holds at most a few MiB in memory.
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_MAX_CONCURRENT_UPLOADS",
        value_name = "N",
        default_value_t = 8,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_concurrent_uploads: u64,

    /// Seconds SIGTERM or Ctrl-C waits for the requests in progress; then the server closes
    /// the connections left and exits. Connections without a request in progress are closed
    /// at once.
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_SHUTDOWN_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10
    )]
    pub shutdown_timeout: u64,

    /// Evict the least recently used artifacts while the store holds more than this (bytes,
    /// or with a unit: `500MB`, `10GiB`).
    #[arg(long, env = "MONO_CACHE_SERVER_MAX_SIZE", value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,

    /// Evict artifacts not used (read or written) for this long (`30d`, `12h`, `90m`,
    /// `3600s`).
    #[arg(long, env = "MONO_CACHE_SERVER_MAX_AGE", value_name = "AGE", value_parser = parse_age)]
    pub max_age: Option<Duration>,

    /// Seconds between eviction passes (with `--max-size` or `--max-age`; one pass also
    /// runs at start).
    #[arg(
        long,
        env = "MONO_CACHE_SERVER_EVICT_INTERVAL",
        value_name = "SECONDS",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub evict_interval: u64,
}

/// Why a size or an age does not parse.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    /// No number.
    #[error("`{0}` is not a number with an optional unit")]
    NotANumber(String),
    /// A unit that is not known.
    #[error("unknown unit `{unit}`; use {expected}")]
    UnknownUnit {
        /// The unit given.
        unit: String,
        /// The units accepted.
        expected: &'static str,
    },
    /// Too large.
    #[error("`{0}` is too large")]
    Overflow(String),
}

fn split_number(text: &str) -> Result<(u64, &str), UnitError> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number = text[..digits]
        .parse::<u64>()
        .map_err(|_| UnitError::NotANumber(text.to_owned()))?;
    Ok((number, text[digits..].trim()))
}

/// Bytes: a number with an optional unit (`B`, `KB`, `MB`, `GB`, `TB` in powers of 1000;
/// `KiB`, `MiB`, `GiB`, `TiB` in powers of 1024; case-insensitive).
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let (number, unit) = split_number(text)?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(UnitError::UnknownUnit {
                unit: unit.to_owned(),
                expected: "B, KB, MB, GB, TB, KiB, MiB, GiB or TiB",
            })
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| UnitError::Overflow(text.to_owned()))
}

/// A duration: a number with a unit (`s`, `m`, `h`, `d`, `w`); a bare number is seconds.
pub fn parse_age(text: &str) -> Result<Duration, UnitError> {
    let (number, unit) = split_number(text)?;
    let factor: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(UnitError::UnknownUnit {
                unit: unit.to_owned(),
                expected: "s, m, h, d or w",
            })
        }
    };
    number
        .checked_mul(factor)
        .map(Duration::from_secs)
        .ok_or_else(|| UnitError::Overflow(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_parse_with_units() {
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("10GB").unwrap(), 10_000_000_000);
        assert_eq!(parse_size("512 MiB").unwrap(), 512 << 20);
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("GB").is_err());
        assert!(parse_size("99999999999TB").is_err());
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_age("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_age("12").unwrap(), Duration::from_secs(12));
        assert!(parse_age("1y").is_err());
    }
}
