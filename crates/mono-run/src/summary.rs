//! What a run did: [`RunSummary`] and one [`JobResult`] per job.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// What happened to one job.
#[derive(Clone, Debug)]
pub enum JobResult {
    /// The command exited 0 (and [`Hooks::after_success`](crate::Hooks::after_success) ran).
    Succeeded {
        /// How long the command ran.
        duration: Duration,
    },
    /// A cache hit: the hooks restored the job, nothing ran.
    Cached {
        /// How long the task took when it last ran.
        time_saved: Duration,
    },
    /// The command failed.
    Failed {
        /// How.
        failure: Failure,
        /// How long the command ran (zero if it never started).
        duration: Duration,
    },
    /// The command was running when the run was interrupted, and was terminated.
    Interrupted {
        /// How long the command ran.
        duration: Duration,
    },
    /// The job never started.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// The job has no command; it completed at once.
    NoCommand,
}

impl JobResult {
    /// Whether the job counts as a success for its dependents: succeeded, cached, or
    /// nothing to run.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Self::Succeeded { .. } | Self::Cached { .. } | Self::NoCommand
        )
    }

    /// Whether the job's command failed.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }
}

/// How a command failed.
#[derive(Clone, Debug)]
pub enum Failure {
    /// It exited with a non-zero code.
    Exit(i32),
    /// It was killed by a signal (not sent by mono).
    Signal(i32),
    /// It could not be started or waited for (e.g. its directory does not exist).
    Io(Arc<io::Error>),
    /// A [`Hooks`](crate::Hooks) method panicked.
    HookPanicked,
    /// The hooks failed it without running it ([`Before::Failed`](crate::Before::Failed)).
    Refused(Arc<str>),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exit(code) => write!(f, "exited ({code})"),
            Self::Signal(signal) => write!(f, "was killed by signal {signal}"),
            Self::Io(error) => write!(f, "could not be run: {error}"),
            Self::HookPanicked => f.write_str("failed in a cache hook (it panicked)"),
            Self::Refused(reason) => f.write_str(reason),
        }
    }
}

/// Why a job never started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// A job it (transitively) depends on failed; `failed` is that job's index.
    DependencyFailed {
        /// The index of the failed job.
        failed: usize,
    },
    /// The run stopped first: after a failure without `--continue`, or on interruption.
    Stopped,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// One result per job, in the order of the jobs given.
    pub results: Vec<JobResult>,
    /// Whether the run was interrupted (SIGINT, SIGTERM or [`RunHandle::cancel`]); the
    /// binary exits 130.
    ///
    /// [`RunHandle::cancel`]: crate::RunHandle::cancel
    pub interrupted: bool,
    /// How long the run took.
    pub wall_time: Duration,
}

impl RunSummary {
    /// Whether every job succeeded, was cached or had nothing to run.
    pub fn is_success(&self) -> bool {
        !self.interrupted && self.results.iter().all(JobResult::is_success)
    }

    /// The indices of the jobs whose command failed, in job order.
    pub fn failed(&self) -> Vec<usize> {
        (0..self.results.len())
            .filter(|&i| self.results[i].is_failure())
            .collect()
    }

    /// How many jobs were cache hits.
    pub fn cached(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r, JobResult::Cached { .. }))
            .count()
    }
}
