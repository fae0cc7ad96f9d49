//! The scheduler: starts each job when its dependencies are done, at most `concurrency` at
//! once, stops on failure or interruption, and collects a [`RunSummary`].

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mono_task_id::TaskId;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::job::{Before, Hooks, Job};
use crate::options::{LogOrder, OutputLogs, OutputTarget, RunOptions};
use crate::output::{prefix, Ending, JobOutput, PrintSender, Printer, Sink};
use crate::process::{exit_failure, run_command, Cancel, End};
use crate::summary::{Failure, JobResult, RunSummary, SkipReason};

/// Why a run cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// `concurrency` is 0.
    #[error("concurrency must be at least 1")]
    ZeroConcurrency,
    /// A job names a dependency index past the end of the job list.
    #[error("{job} depends on job {dependency}, but there are only {len} jobs")]
    UnknownDependency {
        /// The job naming the dependency.
        job: TaskId,
        /// The index it names.
        dependency: usize,
        /// How many jobs there are.
        len: usize,
    },
    /// Jobs depend on each other in a cycle; nothing runs.
    #[error("tasks depend on each other in a cycle: {}", format_cycle(.path))]
    Cycle {
        /// The cycle, each job depending on the next, the last on the first.
        path: Vec<TaskId>,
    },
    /// The async runtime could not be built.
    #[error("failed to start the async runtime: {0}")]
    Runtime(#[source] io::Error),
}

fn format_cycle(path: &[TaskId]) -> String {
    let mut names: Vec<String> = path.iter().map(ToString::to_string).collect();
    if let Some(first) = names.first().cloned() {
        names.push(first);
    }
    names.join(" -> ")
}

/// Stops a run from outside: cloneable, usable from any thread, before or during the run.
#[derive(Clone, Debug)]
pub struct RunHandle {
    cancel: Arc<watch::Sender<Cancel>>,
}

impl Default for RunHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl RunHandle {
    /// A handle made before its run, given to it with [`Scheduler::with_handle`]: the
    /// caller can interrupt a run that a library starts for it. Cancelling it before the
    /// run starts makes the run start nothing.
    pub fn new() -> Self {
        let (cancel, _) = watch::channel(Cancel::No);
        RunHandle {
            cancel: Arc::new(cancel),
        }
    }

    /// Interrupts the run as Ctrl-C does: no job starts any more, running commands' process
    /// groups get SIGTERM and, after the grace period, SIGKILL. The summary says
    /// `interrupted`.
    pub fn cancel(&self) {
        self.raise(Cancel::Graceful);
    }

    /// Interrupts the run without a grace period: SIGKILL at once.
    pub fn kill(&self) {
        self.raise(Cancel::Force);
    }

    /// Whether [`cancel`](Self::cancel) or [`kill`](Self::kill) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.cancel.borrow() != Cancel::No
    }

    /// One more Ctrl-C: the first cancels, the second kills.
    fn escalate(&self) {
        self.cancel.send_if_modified(|level| {
            let next = match *level {
                Cancel::No => Cancel::Graceful,
                Cancel::Graceful | Cancel::Force => Cancel::Force,
            };
            let changed = next != *level;
            *level = next;
            changed
        });
    }

    fn raise(&self, to: Cancel) {
        self.cancel.send_if_modified(|level| {
            let changed = to > *level;
            if changed {
                *level = to;
            }
            changed
        });
    }
}

/// A validated run, ready to start.
///
/// ```no_run
/// use std::sync::Arc;
/// use mono_paths::AbsPath;
/// use mono_run::{Job, NoHooks, RunOptions, Scheduler};
///
/// let dir = AbsPath::new("/src/repo/apps/web").unwrap();
/// let build = Job::new("web#build".parse().unwrap(), dir.clone(), Some("npm run build".into()));
/// let mut test = Job::new("web#test".parse().unwrap(), dir, Some("npm test".into()));
/// test.dependencies = vec![0];
/// let scheduler = Scheduler::new(vec![build, test], Arc::new(NoHooks), RunOptions::default()).unwrap();
/// let summary = scheduler.run(Box::new(std::io::stdout())).unwrap();
/// assert!(summary.is_success());
/// ```
pub struct Scheduler {
    jobs: Vec<Job>,
    hooks: Arc<dyn Hooks>,
    options: RunOptions,
    cancel: Arc<watch::Sender<Cancel>>,
}

impl Scheduler {
    /// Checks the options and the job graph: concurrency at least 1, every dependency index
    /// in range, no cycle.
    pub fn new(
        jobs: Vec<Job>,
        hooks: Arc<dyn Hooks>,
        options: RunOptions,
    ) -> Result<Self, RunError> {
        if options.concurrency == 0 {
            return Err(RunError::ZeroConcurrency);
        }
        check_graph(&jobs)?;
        let (cancel, _) = watch::channel(Cancel::No);
        Ok(Self {
            jobs,
            hooks,
            options,
            cancel: Arc::new(cancel),
        })
    }

    /// Makes `handle` (from [`RunHandle::new`]) the one that interrupts this run, instead of
    /// the run's own.
    #[must_use]
    pub fn with_handle(mut self, handle: &RunHandle) -> Self {
        self.cancel = handle.cancel.clone();
        self
    }

    /// A handle that interrupts this run.
    pub fn handle(&self) -> RunHandle {
        RunHandle {
            cancel: self.cancel.clone(),
        }
    }

    /// Runs every job on a runtime of its own and returns when all are done. Must not be
    /// called from inside a tokio runtime; use [`run_async`](Self::run_async) there.
    pub fn run(self, out: Box<dyn Write + Send>) -> Result<RunSummary, RunError> {
        // The scheduler only waits on pipes and processes; the work happens in the children
        // and in the hooks, on the blocking pool. A few workers are plenty.
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(4);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("mono-run")
            .enable_all()
            .build()
            .map_err(RunError::Runtime)?;
        Ok(runtime.block_on(self.run_async(out)))
    }

    /// Runs every job on the current tokio runtime (multi-threaded, with IO and time
    /// enabled) and returns when all are done. Output goes to `out`, written from a thread
    /// of its own.
    pub async fn run_async(self, out: Box<dyn Write + Send>) -> RunSummary {
        let started = Instant::now();
        let Self {
            jobs,
            hooks,
            options,
            cancel,
        } = self;
        let printer = Printer::start(out);
        let signals = options.handle_signals.then(|| {
            listen_for_signals(RunHandle {
                cancel: cancel.clone(),
            })
        });
        let mut cancelled = cancel.subscribe();

        let jobs: Arc<[Job]> = jobs.into();
        let mut graph = Progress::new(&jobs, options.continue_on_error);
        graph.run_dependents_of_failures =
            options.continue_on_error && options.run_dependents_of_failures;
        let context = Arc::new(Context {
            hooks,
            grace: options.grace_period,
            color: options.color,
            log_prefix: options.log_prefix,
            output_logs: options.output_logs,
            log_order: options.log_order,
            output_target: options.output_target,
            printer: printer.sender(),
            cancel: cancel.clone(),
            stopped: AtomicBool::new(false),
        });
        let mut running = JoinSet::new();
        // Running jobs that hold no slot ([`Job::waits_elsewhere`]).
        let mut waiting_elsewhere = 0usize;
        let mut interrupted = false;
        loop {
            if !interrupted && *cancelled.borrow_and_update() != Cancel::No {
                interrupted = true;
                graph.stopped = true;
            }
            // Jobs that wait for another machine hold no slot: they start when ready.
            while !graph.stopped {
                let Some(at) = graph.ready.iter().position(|&i| jobs[i].waits_elsewhere) else {
                    break;
                };
                let index = graph.ready.remove(at).expect("a ready job");
                if jobs[index].command.is_none() {
                    graph.complete(index, JobResult::NoCommand);
                    continue;
                }
                waiting_elsewhere += 1;
                context.hooks.started(&jobs[index]);
                running.spawn(execute(index, jobs.clone(), context.clone()));
            }
            while !graph.stopped && running.len() - waiting_elsewhere < options.concurrency {
                let Some(index) = graph.ready.pop_front() else {
                    break;
                };
                if jobs[index].command.is_none() {
                    graph.complete(index, JobResult::NoCommand);
                    continue;
                }
                if jobs[index].waits_elsewhere {
                    waiting_elsewhere += 1;
                }
                context.hooks.started(&jobs[index]);
                running.spawn(execute(index, jobs.clone(), context.clone()));
                graph.start_alongside(&jobs[index].with);
            }
            if graph.stopped {
                context.stopped.store(true, Ordering::Relaxed);
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                joined = running.join_next() => match joined {
                    Some(Ok((index, result))) => {
                        if jobs[index].waits_elsewhere {
                            waiting_elsewhere -= 1;
                        }
                        context.hooks.finished(&jobs[index], &result);
                        for skipped in graph.complete(index, result) {
                            if jobs[skipped].command.is_some() {
                                context.hooks.skipped(&jobs[skipped], index);
                            }
                        }
                    }
                    Some(Err(error)) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                    Some(Err(_)) | None => {}
                },
                // The loop's top reads the new level; `cancel` lives as long as this loop.
                _ = cancelled.changed() => {}
            }
        }
        if let Some(signals) = signals.flatten() {
            signals.abort();
        }
        drop(context);
        printer.finish();
        RunSummary {
            results: graph.finish(),
            interrupted,
            wall_time: started.elapsed(),
        }
    }
}

/// Checks dependency indices and finds a cycle, in O(V + E).
fn check_graph(jobs: &[Job]) -> Result<(), RunError> {
    let len = jobs.len();
    let mut waiting = vec![0usize; len];
    let mut dependents = vec![Vec::new(); len];
    for (index, job) in jobs.iter().enumerate() {
        if let Some(&sibling) = job.with.iter().find(|&&w| w >= len) {
            return Err(RunError::UnknownDependency {
                job: job.id.clone(),
                dependency: sibling,
                len,
            });
        }
        for &dependency in &job.dependencies {
            if dependency >= len {
                return Err(RunError::UnknownDependency {
                    job: job.id.clone(),
                    dependency,
                    len,
                });
            }
            waiting[index] += 1;
            dependents[dependency].push(index);
        }
    }
    let mut ready: Vec<usize> = (0..len).filter(|&i| waiting[i] == 0).collect();
    let mut done = 0;
    while let Some(index) = ready.pop() {
        done += 1;
        for &dependent in &dependents[index] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(dependent);
            }
        }
    }
    if done == len {
        return Ok(());
    }
    // Every job left waits on another job left: walking dependencies from one of them
    // must come back to a job already seen, and the walk from there is the cycle.
    let mut seen_at = vec![usize::MAX; len];
    let mut walk = Vec::new();
    let mut index = (0..len).find(|&i| waiting[i] > 0).expect("a job is left");
    while seen_at[index] == usize::MAX {
        seen_at[index] = walk.len();
        walk.push(index);
        index = *jobs[index]
            .dependencies
            .iter()
            .find(|&&d| waiting[d] > 0)
            .expect("a job left waits on another job left");
    }
    let path = walk[seen_at[index]..]
        .iter()
        .map(|&i| jobs[i].id.clone())
        .collect();
    Err(RunError::Cycle { path })
}

/// Which jobs wait on what, which are ready, and what happened to each.
struct Progress {
    results: Vec<Option<JobResult>>,
    waiting: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    ready: VecDeque<usize>,
    continue_on_error: bool,
    /// `--continue=always`: a failure readies its dependents as a success does.
    run_dependents_of_failures: bool,
    /// No job starts any more.
    stopped: bool,
}

impl Progress {
    fn new(jobs: &[Job], continue_on_error: bool) -> Self {
        let mut waiting = vec![0; jobs.len()];
        let mut dependents = vec![Vec::new(); jobs.len()];
        for (index, job) in jobs.iter().enumerate() {
            waiting[index] = job.dependencies.len();
            for &dependency in &job.dependencies {
                dependents[dependency].push(index);
            }
        }
        // Ready jobs start in job order: the caller's order is the tie-breaker.
        let ready = (0..jobs.len()).filter(|&i| waiting[i] == 0).collect();
        Self {
            results: vec![None; jobs.len()],
            waiting,
            dependents,
            ready,
            continue_on_error,
            run_dependents_of_failures: false,
            stopped: false,
        }
    }

    /// Records a result: a success readies the dependents it was the last wait of; a
    /// failure skips every job that depends on it, and without `--continue` stops the run.
    /// Returns the jobs the failure skipped.
    fn complete(&mut self, index: usize, result: JobResult) -> Vec<usize> {
        let success = result.is_success();
        let failure = result.is_failure();
        self.results[index] = Some(result);
        let mut skipped = Vec::new();
        if success || (failure && self.run_dependents_of_failures) {
            for &dependent in &self.dependents[index] {
                self.waiting[dependent] -= 1;
                if self.waiting[dependent] == 0 {
                    self.ready.push_back(dependent);
                }
            }
        } else if failure {
            self.stopped |= !self.continue_on_error;
            let mut stack = vec![index];
            while let Some(job) = stack.pop() {
                for &dependent in &self.dependents[job] {
                    if self.results[dependent].is_none() {
                        let reason = SkipReason::DependencyFailed { failed: index };
                        self.results[dependent] = Some(JobResult::Skipped { reason });
                        stack.push(dependent);
                        skipped.push(dependent);
                    }
                }
            }
        } else {
            // Interrupted, or cancelled before it started: the run is stopping anyway.
            self.stopped = true;
        }
        skipped
    }

    /// Moves the ready jobs among `siblings` to the front of the queue, so that they start
    /// right after the job they run alongside (as concurrency allows).
    fn start_alongside(&mut self, siblings: &[usize]) {
        for &sibling in siblings.iter().rev() {
            if let Some(at) = self.ready.iter().position(|&r| r == sibling) {
                self.ready.remove(at);
                self.ready.push_front(sibling);
            }
        }
    }

    /// Every job that never started was stopped.
    fn finish(self) -> Vec<JobResult> {
        self.results
            .into_iter()
            .map(|result| {
                result.unwrap_or(JobResult::Skipped {
                    reason: SkipReason::Stopped,
                })
            })
            .collect()
    }
}

/// What every job's task shares.
struct Context {
    hooks: Arc<dyn Hooks>,
    grace: Duration,
    color: bool,
    log_prefix: bool,
    output_logs: OutputLogs,
    log_order: LogOrder,
    output_target: OutputTarget,
    printer: PrintSender,
    cancel: Arc<watch::Sender<Cancel>>,
    /// The run stopped (a failure without `--continue`, or an interruption) while this job
    /// was in its `before` hook: its command does not start.
    stopped: AtomicBool,
}

async fn execute(index: usize, jobs: Arc<[Job]>, context: Arc<Context>) -> (usize, JobResult) {
    let result = execute_job(index, &jobs, &context).await;
    (index, result)
}

/// One job with a command: `before` hook, then replay or run, then `after_success` hook.
async fn execute_job(index: usize, jobs: &Arc<[Job]>, context: &Context) -> JobResult {
    let job = &jobs[index];
    let mode = job.output_logs.unwrap_or(context.output_logs);
    let mut output = match context.output_target {
        OutputTarget::Shared => JobOutput::new(
            match context.log_prefix {
                true => prefix(&job.id, index, context.color),
                false => Vec::new(),
            },
            job.hash.clone(),
            mode,
            context.log_order,
            Sink::Shared(context.printer.clone()),
        ),
        // A job's own pane: no prefix, and lines as they come.
        OutputTarget::PerJob => JobOutput::new(
            Vec::new(),
            job.hash.clone(),
            mode,
            LogOrder::Stream,
            Sink::PerJob {
                hooks: context.hooks.clone(),
                jobs: jobs.clone(),
                index,
            },
        ),
    };
    let failed = |output: &mut JobOutput, failure: Failure, log: &[u8], duration| {
        output.finished(&Ending::Failed(&failure), log);
        JobResult::Failed { failure, duration }
    };

    let before = match context.hooks.ready(job) {
        Some(before) => Ok(before),
        None => {
            let (hooks, jobs) = (context.hooks.clone(), jobs.clone());
            tokio::task::spawn_blocking(move || hooks.before(&jobs[index])).await
        }
    };
    let Ok(before) = before else {
        return failed(&mut output, Failure::HookPanicked, b"", Duration::ZERO);
    };
    if let Before::Cached { log, time_saved } = before {
        output.cached(&log);
        return JobResult::Cached { time_saved };
    }
    if let Before::Failed { reason } = before {
        // The error line says why; there is no log, since nothing ran.
        let failure = Failure::Refused(reason.into());
        return failed(&mut output, failure, b"", Duration::ZERO);
    }
    if *context.cancel.borrow() != Cancel::No || context.stopped.load(Ordering::Relaxed) {
        return JobResult::Skipped {
            reason: SkipReason::Stopped,
        };
    }

    output.started(&before);
    let command = job
        .command
        .as_deref()
        .expect("the scheduler executes only jobs with a command");
    let outcome = run_command(
        job,
        command,
        context.grace,
        context.cancel.subscribe(),
        |chunk| output.output(chunk),
    )
    .await;
    let duration = outcome.duration;
    let status = match outcome.end {
        End::Interrupted => {
            output.finished(&Ending::Interrupted, &outcome.log);
            return JobResult::Interrupted { duration };
        }
        End::Io(error) => {
            return failed(
                &mut output,
                Failure::Io(Arc::new(error)),
                &outcome.log,
                duration,
            )
        }
        End::Exited(status) => status,
    };
    if let Some(failure) = exit_failure(status) {
        return failed(&mut output, failure, &outcome.log, duration);
    }
    output.finished(&Ending::Succeeded, &outcome.log);
    let stored = {
        let (hooks, jobs, log) = (context.hooks.clone(), jobs.clone(), outcome.log);
        tokio::task::spawn_blocking(move || hooks.after_success(&jobs[index], &log, duration)).await
    };
    match stored {
        Ok(()) => JobResult::Succeeded { duration },
        Err(_) => JobResult::Failed {
            failure: Failure::HookPanicked,
            duration,
        },
    }
}

/// Turns SIGINT, SIGTERM, SIGHUP (the terminal closed) and SIGQUIT into cancellation: the
/// first cancels, the second kills. Without this, SIGHUP and SIGQUIT would end mono at once
/// and leave every task's process group running. `None` when the handlers cannot be
/// installed (the run then cannot be interrupted by signal).
fn listen_for_signals(handle: RunHandle) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).ok()?;
    let mut terminate = signal(SignalKind::terminate()).ok()?;
    let mut hangup = signal(SignalKind::hangup()).ok()?;
    let mut quit = signal(SignalKind::quit()).ok()?;
    Some(tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = interrupt.recv() => {}
                Some(()) = terminate.recv() => {}
                Some(()) = hangup.recv() => {}
                Some(()) = quit.recv() => {}
                else => break,
            }
            handle.escalate();
        }
    }))
}
