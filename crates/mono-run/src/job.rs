//! What the scheduler runs ([`Job`]) and how the caller takes part in it ([`Hooks`]).

use std::time::Duration;

use mono_paths::AbsPath;
use mono_task_id::TaskId;

/// One task to run: its command, where and with which environment, and what it waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The task. Its output lines are prefixed `package:task: `.
    pub id: TaskId,
    /// The working directory of the command.
    pub dir: AbsPath,
    /// The shell command, run as `/bin/sh -c <command>`. `None`: nothing to run; the job
    /// completes at once ([`JobResult::NoCommand`](crate::JobResult::NoCommand)) and counts
    /// as a success for its dependents. Hooks are not called for it.
    pub command: Option<String>,
    /// The complete environment of the child: nothing of mono's own environment is passed
    /// on unless it is listed here (not even `PATH`).
    pub env: Vec<(String, String)>,
    /// Indices (into the job list) of the jobs this one waits for.
    pub dependencies: Vec<usize>,
    /// Indices of the jobs that run alongside this one (Turborepo's `with`): when this job
    /// starts, those of them that are ready start next, before other ready jobs. Nothing
    /// waits for anything because of them.
    pub with: Vec<usize>,
    /// The task's hash as the user sees it, shown in status lines
    /// (`web:build: cache miss, executing 1f2e3d…`). `None` shows no hash.
    pub hash: Option<String>,
    /// This task's own `outputLogs`, used instead of
    /// [`RunOptions::output_logs`](crate::RunOptions::output_logs) when set; the binary leaves it unset when
    /// `--output-logs` was given, which overrides every task as in Turborepo.
    pub output_logs: Option<crate::OutputLogs>,
    /// The job runs no command here: its hooks wait for another machine to produce its
    /// result (a CI shard's dependency on another shard), so it holds none of the
    /// `concurrency` slots, and a wait never keeps this machine's own tasks from starting.
    pub waits_elsewhere: bool,
}

impl Job {
    /// A job with no environment, no dependencies and no hash.
    pub fn new(id: TaskId, dir: AbsPath, command: Option<String>) -> Self {
        Self {
            id,
            dir,
            command,
            env: Vec::new(),
            dependencies: Vec::new(),
            with: Vec::new(),
            hash: None,
            output_logs: None,
            waits_elsewhere: false,
        }
    }
}

/// What [`Hooks::before`] decided for a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Before {
    /// A cache miss: run the command (status line `cache miss, executing`).
    Run,
    /// A cache miss with its explanation: run the command; the status line is followed by
    /// `miss: <reason>` (`web:build: miss: src/app.ts changed`), shown wherever the status
    /// line is.
    Miss {
        /// Why the task missed, one line.
        reason: String,
    },
    /// Caching is off for this task: run the command (status line
    /// `cache bypass, force executing`).
    Bypass,
    /// A cache hit: the hooks restored the outputs; the job is done without running.
    /// `log` is replayed as if the command had printed it.
    Cached {
        /// The log captured when the task last ran.
        log: Vec<u8>,
        /// How long that run took.
        time_saved: Duration,
    },
    /// The job fails without running: the hooks know it cannot succeed (a CI shard's
    /// dependency that another shard failed to build, or waited for too long).
    Failed {
        /// Why, for the job's log and the summary.
        reason: String,
    },
}

/// The caller's part in a run: the binary plugs the cache in here.
///
/// Both methods run on tokio's blocking pool, so they may block (read and write files,
/// talk to a remote cache) without stalling the scheduler. They are called while the job
/// holds one of the `concurrency` slots, so at most `concurrency` hook calls run at once.
/// A panic in a hook fails that job ([`Failure::HookPanicked`](crate::Failure::HookPanicked)).
pub trait Hooks: Send + Sync + 'static {
    /// Called when a job with a command is about to start: look it up in the cache. Runs on
    /// a blocking thread: it may read files.
    fn before(&self, job: &Job) -> Before;

    /// Called on the scheduler's thread just before `before`: an answer known without
    /// blocking (a cache lookup done ahead of the run, in parallel), which saves the hop to
    /// a blocking thread. `None`: ask `before`. It must return at once.
    fn ready(&self, _job: &Job) -> Option<Before> {
        None
    }

    /// Called after the command exited 0, with its captured log (stdout and stderr
    /// interleaved as produced) and how long it ran: store the outputs and the log. Never
    /// called for a failed or interrupted command, so nothing half-done is cached. Dependents
    /// of the job start only after this returns.
    fn after_success(&self, job: &Job, log: &[u8], duration: Duration);

    /// Called on the scheduler when a job with a command is handed to a worker (before
    /// `before`). For progress displays: it must return at once.
    fn started(&self, _job: &Job) {}

    /// Called on the scheduler when a job with a command has a result, whatever it is. For
    /// progress displays: it must return at once.
    fn finished(&self, _job: &Job, _result: &crate::JobResult) {}

    /// Called on the scheduler when a job with a command will not run because the job at
    /// `failed` (an index into the run's jobs) failed: at the failure, not at the run's end.
    /// For progress displays: it must return at once.
    fn skipped(&self, _job: &Job, _failed: usize) {}

    /// With [`OutputTarget::PerJob`](crate::OutputTarget::PerJob): what the job prints, in
    /// order (its status line, its command's output as read or its replayed log, its error
    /// line), unprefixed. Called on the scheduler's threads: it must return at once.
    fn output(&self, _job: &Job, _bytes: &[u8]) {}
}

/// Hooks that run every command and store nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {
    fn before(&self, _job: &Job) -> Before {
        Before::Run
    }

    fn after_success(&self, _job: &Job, _log: &[u8], _duration: Duration) {}
}
