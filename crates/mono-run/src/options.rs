//! How a run behaves: [`RunOptions`], [`LogOrder`], [`OutputLogs`], and concurrency.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How a run behaves. `RunOptions::default()` is what `mono run` does without flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// How many commands may run at once (`--concurrency`). Must be at least 1.
    pub concurrency: usize,
    /// `--continue`: after a failure, keep running everything that does not depend on it.
    pub continue_on_error: bool,
    /// `--continue=always`: with `continue_on_error`, the jobs that depend on a failed job
    /// run too, as if it had succeeded.
    pub run_dependents_of_failures: bool,
    /// Print each output line with its `package:task: ` prefix (`--log-prefix=none` turns
    /// it off).
    pub log_prefix: bool,
    /// `--log-order`.
    pub log_order: LogOrder,
    /// `--output-logs`.
    pub output_logs: OutputLogs,
    /// Color each task's prefix.
    pub color: bool,
    /// How long a process group has between SIGTERM and SIGKILL, on interruption or when a
    /// command leaves processes behind.
    pub grace_period: Duration,
    /// Listen for SIGINT, SIGTERM, SIGHUP and SIGQUIT during the run and treat them as
    /// [`RunHandle::cancel`](crate::RunHandle::cancel) (a second signal as
    /// [`RunHandle::kill`](crate::RunHandle::kill)). Off by default, so that a library
    /// caller or a test keeps its own signal handling; the binary turns it on.
    pub handle_signals: bool,
    /// Where each job's output goes: the one writer of the run (the default), or each job's
    /// own [`Hooks::output`](crate::Hooks::output) (a terminal UI's panes).
    pub output_target: OutputTarget,
}

/// Where the jobs' output goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputTarget {
    /// Every job's lines to the run's one writer, each line with its prefix, as
    /// [`LogOrder`] and [`OutputLogs`] say.
    #[default]
    Shared,
    /// Each job's output to [`Hooks::output`](crate::Hooks::output) of that job, without
    /// prefix and chunk by chunk as the command prints it: its status line, its output or
    /// replayed log, its error line. [`OutputLogs`] still applies; [`LogOrder`] does not
    /// (nothing interleaves). The run's writer gets nothing.
    PerJob,
}

/// The grace period between SIGTERM and SIGKILL.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(3);

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            concurrency: default_concurrency(),
            continue_on_error: false,
            run_dependents_of_failures: false,
            log_prefix: true,
            log_order: LogOrder::default(),
            output_logs: OutputLogs::default(),
            color: false,
            grace_period: DEFAULT_GRACE_PERIOD,
            handle_signals: false,
            output_target: OutputTarget::Shared,
        }
    }
}

/// The default `--concurrency`: the number of logical cores this process may use, at least 1.
///
/// Turborepo uses a fixed 10, which suits single-threaded Node tools. mono also runs
/// `cargo build` and `go build`, each of which already uses every core, and whose linkers
/// need a lot of memory: one command per core keeps a small CI machine from thrashing.
/// See docs/running.md.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A `--concurrency` value that is not a positive number or percentage.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid concurrency `{value}`: expected a number of at least 1, or a percentage of the cores such as `50%`")]
pub struct ConcurrencyError {
    /// The value as written.
    pub value: String,
}

/// Parses `--concurrency` as Turborepo does: a number (`4`) or a percentage of `cores`
/// (`50%`, rounded down, at least 1).
///
/// ```
/// assert_eq!(mono_run::parse_concurrency("4", 8).unwrap(), 4);
/// assert_eq!(mono_run::parse_concurrency("50%", 8).unwrap(), 4);
/// assert_eq!(mono_run::parse_concurrency("10%", 2).unwrap(), 1);
/// assert!(mono_run::parse_concurrency("0", 8).is_err());
/// ```
pub fn parse_concurrency(value: &str, cores: usize) -> Result<usize, ConcurrencyError> {
    let error = || ConcurrencyError {
        value: value.to_owned(),
    };
    let parsed = match value.strip_suffix('%') {
        Some(percent) => {
            let percent: f64 = percent.trim().parse().map_err(|_| error())?;
            if !percent.is_finite() || percent <= 0.0 {
                return Err(error());
            }
            // A positive, finite share of a core count: the casts cannot wrap.
            let share = ((cores as f64) * percent / 100.0).floor() as usize;
            share.max(1)
        }
        None => value.trim().parse().map_err(|_| error())?,
    };
    if parsed == 0 {
        return Err(error());
    }
    Ok(parsed)
}

/// An unknown value of `--log-order` or `--output-logs`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {option} `{value}`: expected one of {expected}")]
pub struct UnknownValue {
    /// The option, e.g. `--log-order`.
    pub option: &'static str,
    /// The value as written.
    pub value: String,
    /// The values allowed, comma-separated.
    pub expected: &'static str,
}

/// When a task's output lines are printed (`--log-order`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LogOrder {
    /// Each line as soon as the task prints it; the lines of tasks running at once
    /// interleave, each with its prefix.
    #[default]
    Stream,
    /// Each task's whole output at once, when the task ends; never interleaved.
    Grouped,
}

impl LogOrder {
    /// The value as written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::Grouped => "grouped",
        }
    }
}

impl fmt::Display for LogOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogOrder {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stream" => Ok(Self::Stream),
            "grouped" => Ok(Self::Grouped),
            _ => Err(UnknownValue {
                option: "--log-order",
                value: s.to_owned(),
                expected: "stream, grouped",
            }),
        }
    }
}

/// Which tasks' output is printed (`--output-logs`, a task's `outputLogs`), as in Turborepo.
///
/// | mode | ran, succeeded | ran, failed | cache hit |
/// |---|---|---|---|
/// | `full` | status line, log | status line, log, error line | status line, log |
/// | `hash-only` | status line | status line, error line | status line |
/// | `new-only` | status line, log | status line, log, error line | status line (`suppressing logs`) |
/// | `errors-only` | — | status line, log, error line | — |
/// | `none` | — | — | — |
///
/// The scheduler's own type: mono-run knows no config, and the engine maps a task's
/// configured `outputLogs` onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OutputLogs {
    /// Everything, cache replays included.
    #[default]
    Full,
    /// Only each task's status line (cache hit or miss, with the hash).
    HashOnly,
    /// Logs of tasks that ran; a cache hit prints only its status line.
    NewOnly,
    /// Only the logs of failed tasks.
    ErrorsOnly,
    /// Nothing.
    None,
}

impl OutputLogs {
    /// The value as written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::HashOnly => "hash-only",
            Self::NewOnly => "new-only",
            Self::ErrorsOnly => "errors-only",
            Self::None => "none",
        }
    }
}

impl fmt::Display for OutputLogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputLogs {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Full,
            Self::HashOnly,
            Self::NewOnly,
            Self::ErrorsOnly,
            Self::None,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == s)
        .ok_or_else(|| UnknownValue {
            option: "--output-logs",
            value: s.to_owned(),
            expected: "full, hash-only, new-only, errors-only, none",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("1", 8, Some(1) ; "one")]
    #[test_case("12", 2, Some(12) ; "more than cores")]
    #[test_case("50%", 8, Some(4) ; "half")]
    #[test_case("100%", 6, Some(6) ; "all cores")]
    #[test_case("1%", 4, Some(1) ; "at least one")]
    #[test_case("0", 8, None ; "zero")]
    #[test_case("0%", 8, None ; "zero percent")]
    #[test_case("-1", 8, None ; "negative")]
    #[test_case("many", 8, None ; "word")]
    #[test_case("", 8, None ; "empty")]
    fn concurrency(value: &str, cores: usize, expected: Option<usize>) {
        assert_eq!(parse_concurrency(value, cores).ok(), expected);
    }

    #[test]
    fn default_concurrency_is_positive() {
        assert!(default_concurrency() >= 1);
        assert!(RunOptions::default().concurrency >= 1);
    }

    #[test_case(OutputLogs::Full ; "full")]
    #[test_case(OutputLogs::HashOnly ; "hash only")]
    #[test_case(OutputLogs::NewOnly ; "new only")]
    #[test_case(OutputLogs::ErrorsOnly ; "errors only")]
    #[test_case(OutputLogs::None ; "none")]
    fn output_logs_round_trip(mode: OutputLogs) {
        assert_eq!(mode.to_string().parse::<OutputLogs>().unwrap(), mode);
    }

    #[test]
    fn log_order_round_trip() {
        for order in [LogOrder::Stream, LogOrder::Grouped] {
            assert_eq!(order.to_string().parse::<LogOrder>().unwrap(), order);
        }
        let error = "auto".parse::<LogOrder>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid --log-order `auto`: expected one of stream, grouped"
        );
    }
}
