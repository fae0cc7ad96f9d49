//! The scheduler and process runner of mono.
//!
//! mono-run takes a list of [`Job`]s (a task id, a directory, a shell command, the child's
//! complete environment, and the indices of the jobs it waits for) and runs them:
//!
//! 1. A job starts as soon as every job it depends on has succeeded, was a cache hit, or had
//!    no command, with at most [`RunOptions::concurrency`] commands at once; among ready
//!    jobs, the one given first starts first.
//!    A job's [`Job::with`] jobs (Turborepo's `with`) that are ready start right after it.
//! 2. Before a command starts, [`Hooks::before`] may answer with a cache hit: the job is
//!    done, its log replayed. After a command exits 0, [`Hooks::after_success`] gets its log
//!    to store. Both run on tokio's blocking pool.
//! 3. Each command runs as `/bin/sh -c` in its own process group, with stdout and stderr
//!    captured through one pipe and printed with a `package:task: ` prefix, as
//!    [`LogOrder`] and [`OutputLogs`] say; or, with [`OutputTarget::PerJob`], handed to
//!    [`Hooks::output`] job by job (a terminal UI).
//! 4. A failure stops new jobs from starting (unless `continue_on_error`: then only its
//!    dependents are skipped); running commands finish.
//! 5. Interruption ([`RunHandle::cancel`], or SIGINT/SIGTERM/SIGHUP/SIGQUIT with
//!    [`RunOptions::handle_signals`]) sends SIGTERM to every running process group, then
//!    SIGKILL after [`RunOptions::grace_period`].
//!
//! ```
//! use std::sync::Arc;
//! use mono_paths::AbsPath;
//! use mono_run::{Job, JobResult, LogOrder, NoHooks, RunOptions, Scheduler};
//!
//! let dir = AbsPath::from_cwd(".").unwrap();
//! let mut hello = Job::new("app#hello".parse().unwrap(), dir.clone(), Some("echo hello".into()));
//! let mut world = Job::new("app#world".parse().unwrap(), dir, Some("echo world".into()));
//! world.dependencies = vec![0];
//! let options = RunOptions { log_order: LogOrder::Grouped, ..RunOptions::default() };
//! let scheduler = Scheduler::new(vec![hello, world], Arc::new(NoHooks), options).unwrap();
//! let out = tempfile::NamedTempFile::new().unwrap();
//! let summary = scheduler.run(Box::new(out.reopen().unwrap())).unwrap();
//! assert!(summary.is_success());
//! let printed = std::fs::read_to_string(out.path()).unwrap();
//! assert_eq!(printed, "app:hello: cache miss, executing\napp:hello: hello\n\
//!                      app:world: cache miss, executing\napp:world: world\n");
//! ```
//!
//! It is its own crate so that the scheduler knows nothing of configs, hashes or caches:
//! the binary translates the task graph into jobs and plugs the cache in through [`Hooks`].
//! docs/running.md describes the behaviour for users.

mod job;
mod options;
mod output;
mod process;
mod scheduler;
mod summary;

use std::io::Write;
use std::sync::Arc;

pub use job::{Before, Hooks, Job, NoHooks};
pub use options::{
    default_concurrency, parse_concurrency, ConcurrencyError, LogOrder, OutputLogs, OutputTarget,
    RunOptions, UnknownValue, DEFAULT_GRACE_PERIOD,
};
pub use scheduler::{RunError, RunHandle, Scheduler};
pub use summary::{Failure, JobResult, RunSummary, SkipReason};

/// Validates and runs `jobs` on a runtime of its own: [`Scheduler::new`] then
/// [`Scheduler::run`]. Use a [`Scheduler`] to get a [`RunHandle`] first.
pub fn run(
    jobs: Vec<Job>,
    hooks: Arc<dyn Hooks>,
    options: RunOptions,
    out: Box<dyn Write + Send>,
) -> Result<RunSummary, RunError> {
    Scheduler::new(jobs, hooks, options)?.run(out)
}
