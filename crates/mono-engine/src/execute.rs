//! Running a task graph: jobs for the scheduler, the cache plugged in, and the outcome the
//! summary is made from.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mono_cache::{CacheKey, LocalStore, OutputRecords};
use mono_config::EnvMode;
use mono_run::{Job, JobResult, LogOrder, OutputLogs};
use mono_task_id::TaskId;
use mono_tasks::{TaskGraph, TaskNode};

use crate::cache_policy::{CacheHooks, CachedTask};
use crate::error::EngineError;
use crate::options::CacheAccess;
use crate::profile::Profile;
use crate::remote::Remote;
use crate::reporter::{Reporter, WarnOnce};
use crate::run::Prepared;
use crate::workspace::Workspace;

/// How to run, resolved from the command line and config.
pub(crate) struct ExecOptions {
    pub(crate) force: bool,
    pub(crate) concurrency: usize,
    pub(crate) continue_mode: crate::options::ContinueMode,
    pub(crate) parallel: bool,
    pub(crate) log_prefix: crate::options::LogPrefix,
    pub(crate) color: Option<bool>,
    /// The checkout lock this run holds: tasks get it as `MONO_CHECKOUT_LOCK`.
    pub(crate) lock_path: Option<std::path::PathBuf>,
    /// `--output-logs`, which overrides every task's `outputLogs`.
    pub(crate) output_logs: Option<OutputLogs>,
    pub(crate) log_order: LogOrder,
    pub(crate) cache: CacheAccess,
    pub(crate) env_mode: EnvMode,
    /// `--shard i/N`: this shard's tasks and those it takes from other shards.
    pub(crate) shard: Option<crate::shards::ShardJobs>,
    /// Task output to the reporter, task by task (the terminal UI).
    pub(crate) per_task_output: bool,
    pub(crate) interrupt: Option<mono_run::RunHandle>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every task succeeded or was a cache hit.
    Succeeded,
    /// A task failed.
    Failed,
    /// Ctrl-C, SIGTERM, SIGHUP or SIGQUIT stopped it.
    Interrupted,
}

/// What a run did, task by task, and the figures of its summary.
#[derive(Debug)]
pub struct RunOutcome {
    /// Each task, in dependency order, with its result.
    pub results: Vec<(TaskId, JobResult)>,
    /// Tasks with a command.
    pub total: usize,
    /// Tasks that succeeded or were cache hits.
    pub succeeded: usize,
    /// Cache hits.
    pub cached: usize,
    /// What the cache hits saved: the durations of the runs that stored them.
    pub time_saved: Duration,
    /// The tasks that failed.
    pub failed: Vec<TaskId>,
    /// Whether a signal stopped the run.
    pub interrupted: bool,
    /// The images the run's image tasks built, or why one cannot be read.
    #[cfg(feature = "images")]
    pub images: Vec<(
        TaskId,
        Result<mono_image::BuiltImage, mono_image::ImageError>,
    )>,
    /// When each task with a command started and ended.
    pub timings: HashMap<TaskId, crate::cache_policy::Timing>,
    /// Why each task that missed the cache missed (docs/why.md).
    pub miss_reasons: HashMap<TaskId, crate::why::Explanation>,
    /// `--shard`: what this shard ran and what it took from the others.
    pub shard: Option<crate::shards::ShardReport>,
}

impl RunOutcome {
    /// How the run ended.
    pub fn status(&self) -> RunStatus {
        match (self.interrupted, self.failed.is_empty()) {
            (true, _) => RunStatus::Interrupted,
            (false, false) => RunStatus::Failed,
            (false, true) => RunStatus::Succeeded,
        }
    }

    /// The summary as Turborepo prints it, with `elapsed` as the run's time.
    pub fn summary_text(&self, elapsed: Duration) -> String {
        let (succeeded, cached, total) = (self.succeeded, self.cached, self.total);
        let mut out = String::new();
        let _ = writeln!(out);
        let _ = writeln!(out, "  Tasks:    {succeeded} successful, {total} total");
        let _ = writeln!(out, " Cached:    {cached} cached, {total} total");
        let full = if total > 0 && cached == total {
            " >>> FULL MONO"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "   Time:    {:.3}s{full} (saved {:.3}s)",
            elapsed.as_secs_f64(),
            self.time_saved.as_secs_f64()
        );
        if !self.failed.is_empty() {
            let _ = writeln!(out, " Failed:    {}", self.failed_list());
        }
        #[cfg(feature = "images")]
        for (_, image) in &self.images {
            if let Ok(image) = image {
                let _ = writeln!(out, "  Image:    {}", crate::images::summary_line(image));
            }
        }
        out
    }

    /// The failed tasks, comma-separated.
    pub fn failed_list(&self) -> String {
        self.failed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The shell command that runs `command`: an image task runs this very binary, whatever
/// `mono` is on PATH (the hashed command says `mono image-task`, the same on every machine).
fn job_command(command: &str) -> String {
    match command.strip_prefix(mono_tasks::IMAGE_COMMAND) {
        Some(rest) => {
            let exe = std::env::current_exe()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "mono".to_owned());
            format!("'{}' image-task{rest}", exe.replace('\'', "'\\''"))
        }
        None => command.to_owned(),
    }
}

/// The cache folder an image task pulls base images into.
pub(crate) const IMAGE_CACHE_DIR_VAR: &str = "MONO_CACHE_DIR";

pub(crate) fn is_image_task(task: &TaskNode) -> bool {
    task.command
        .as_deref()
        .is_some_and(|c| c.starts_with(mono_tasks::IMAGE_COMMAND))
}

/// A task's configured `outputLogs` as the scheduler's mode.
fn output_logs(mode: mono_config::OutputLogs) -> OutputLogs {
    match mode {
        mono_config::OutputLogs::Full => OutputLogs::Full,
        mono_config::OutputLogs::HashOnly => OutputLogs::HashOnly,
        mono_config::OutputLogs::NewOnly => OutputLogs::NewOnly,
        mono_config::OutputLogs::ErrorsOnly => OutputLogs::ErrorsOnly,
        mono_config::OutputLogs::None => OutputLogs::None,
    }
}

/// The scheduler's jobs for `graph` (in dependency order), and what the cache hooks need
/// to know of each task.
fn jobs(
    workspace: &Workspace,
    order: &[&TaskNode],
    graph: &TaskGraph,
    hashes: &mono_tasks::TaskHashes,
    options: &ExecOptions,
    cache_dir: &mono_paths::AbsPath,
) -> (Vec<Job>, HashMap<TaskId, CachedTask>) {
    let mut process_env: BTreeMap<String, String> = std::env::vars().collect();
    // A mono run inside a task of this one (a script that runs mono) must not wait for us.
    if let Some(lock) = &options.lock_path {
        process_env.insert(
            crate::housekeeping::LOCK_ENV.to_owned(),
            lock.display().to_string(),
        );
    }
    let index: HashMap<&TaskId, usize> =
        order.iter().enumerate().map(|(i, t)| (&t.id, i)).collect();
    let config = &workspace.config;
    let mut global_env: Vec<String> = config.global_env.iter().map(|s| s.value.clone()).collect();
    global_env.extend(
        config
            .global_pass_through_env
            .iter()
            .flatten()
            .map(|s| s.value.clone()),
    );
    let protected = crate::cache_policy::protected_files(&workspace.root);
    let mut tasks = HashMap::new();
    let mut jobs = Vec::with_capacity(order.len());
    for task in order {
        let package = workspace
            .packages
            .get(task.id.package())
            .expect("tasks belong to packages");
        let dir = workspace.root.join_repo(&package.dir);
        let hash = hashes.tasks[&task.id].hash;
        let cacheable = task.definition.cache && !task.definition.persistent;
        tasks.insert(
            task.id.clone(),
            CachedTask {
                key: cacheable.then(|| CacheKey::from_bytes(*hash.as_bytes())),
                package_dir: package.dir.clone(),
                outputs: task.definition.outputs.clone(),
                restore: crate::cache_policy::restore_policy(
                    &package.dir,
                    &task.definition.outputs,
                    &protected,
                ),
                inputs: hashes.tasks[&task.id]
                    .inputs
                    .iter()
                    .map(|(p, _)| p.clone())
                    .collect(),
                dependencies: graph.dependencies(&task.id).into_iter().cloned().collect(),
            },
        );
        let mut job = Job::new(
            task.id.clone(),
            dir.clone(),
            task.run_command().as_deref().map(job_command),
        );
        job.env = crate::task_env::task_env(
            task,
            options.env_mode,
            &process_env,
            &global_env,
            &workspace.root,
            &dir,
            package.name.as_str(),
        );
        // `--parallel`: nothing waits; the hashes still cover the dependencies.
        job.dependencies = match options.parallel {
            true => Vec::new(),
            false => graph
                .dependencies(&task.id)
                .iter()
                .map(|d| index[d])
                .collect(),
        };
        job.with = task
            .with
            .iter()
            .filter_map(|w| index.get(w).copied())
            .collect();
        job.hash = Some(hash.short());
        job.waits_elsewhere = options
            .shard
            .as_ref()
            .is_some_and(|shard| shard.elsewhere.contains_key(&task.id));
        if is_image_task(task) {
            // The tag defaults to the hash, and base images are pulled into this run's
            // cache folder.
            job.env.push(("MONO_TASK_HASH".to_owned(), hash.short()));
            job.env
                .push((IMAGE_CACHE_DIR_VAR.to_owned(), cache_dir.to_string()));
        }
        job.output_logs = match options.output_logs {
            Some(_) => None,
            None => Some(output_logs(task.definition.output_logs)),
        };
        jobs.push(job);
    }
    (jobs, tasks)
}

pub(crate) fn execute(
    workspace: &Workspace,
    prepared: &Prepared,
    store: LocalStore,
    remote: Option<Remote>,
    options: &ExecOptions,
    out: Box<dyn Write + Send>,
    reporter: Arc<dyn Reporter>,
) -> Result<RunOutcome, EngineError> {
    let graph = &prepared.graph;
    let (remote, upload_bound) = match remote {
        Some(remote) => (Some(Arc::new(remote.store)), remote.upload_bound),
        None => (None, Duration::ZERO),
    };
    let mut order: Vec<&TaskNode> = graph.in_dependency_order().collect();
    if let Some(shard) = &options.shard {
        order = crate::shards::shard_order(order, shard);
    }
    let (jobs, tasks) = jobs(
        workspace,
        &order,
        graph,
        &prepared.hashes,
        options,
        store.cache_dir(),
    );
    let records = OutputRecords::open(store.cache_dir());
    let hooks = Arc::new(CacheHooks {
        records,
        store,
        remote: remote.clone(),
        root: workspace.root.clone(),
        tasks,
        access: options.cache,
        force: options.force,
        warnings: WarnOnce::new(Arc::clone(&reporter)),
        ahead: Mutex::new(HashMap::new()),
        timings: Mutex::new(HashMap::new()),
        stamps: Mutex::new(HashMap::new()),
        hashes: Arc::clone(&prepared.hashes),
        miss_reasons: Mutex::new(HashMap::new()),
        waits: options
            .shard
            .as_ref()
            .map(|shard| Arc::new(crate::shards::Waits::new(shard))),
        profile: workspace.profile().cloned(),
    });
    let mut attempt = 0;
    if let (Some(shard), Some(remote)) = (&options.shard, &remote) {
        attempt = crate::shards::started(&*reporter, remote, &workspace.root, shard);
        if let Some(waits) = &hooks.waits {
            waits.look(remote);
        }
    }
    let planned: Vec<crate::PlannedTask> = order
        .iter()
        .filter(|t| t.command.is_some())
        .map(|t| crate::PlannedTask {
            id: t.id.clone(),
            from_shard: options
                .shard
                .as_ref()
                .and_then(|shard| shard.elsewhere.get(&t.id))
                .map(|elsewhere| elsewhere.shard.to_string()),
        })
        .collect();
    reporter.tasks_planned(&planned);
    let profile = workspace.profile().map(|p| &**p);
    let step = Profile::step(profile, "cache: find warm hits", "cache");
    hooks.look_ahead();
    drop(step);
    let color = options.color.unwrap_or_else(|| {
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
    });
    let run_options = mono_run::RunOptions {
        concurrency: options.concurrency.max(1),
        continue_on_error: options.continue_mode != crate::options::ContinueMode::Never,
        run_dependents_of_failures: options.continue_mode == crate::options::ContinueMode::Always,
        log_prefix: options.log_prefix != crate::options::LogPrefix::None,
        log_order: options.log_order,
        output_logs: options.output_logs.unwrap_or_default(),
        color,
        handle_signals: true,
        output_target: match options.per_task_output {
            true => mono_run::OutputTarget::PerJob,
            false => mono_run::OutputTarget::Shared,
        },
        ..mono_run::RunOptions::default()
    };
    // What the profile needs to tell each job's wait: what it waits for.
    let waits_for: Option<Vec<(TaskId, Vec<usize>)>> = profile.map(|_| {
        jobs.iter()
            .map(|job| (job.id.clone(), job.dependencies.clone()))
            .collect()
    });
    let (scheduled, step) = (
        std::time::Instant::now(),
        Profile::step(profile, "run tasks", "run"),
    );
    let mut scheduler = mono_run::Scheduler::new(jobs, hooks.clone(), run_options)?;
    if let Some(handle) = &options.interrupt {
        scheduler = scheduler.with_handle(handle);
    }
    let summary = scheduler.run(out)?;
    drop(step);
    if let (Some(profile), Some(waits_for)) = (profile, &waits_for) {
        profile.record_waits(scheduled, waits_for);
    }
    // Losing the records only costs the next run time.
    let step = Profile::step(profile, "save output records", "cache");
    let _ = hooks.records.save();
    drop(step);
    if let Some(remote) = &remote {
        let _step = Profile::step(profile, "wait for remote uploads", "upload");
        wait_for_uploads(&*reporter, remote, upload_bound);
    }
    let shard = match (&options.shard, &remote) {
        (Some(shard), Some(remote)) => Some(crate::shards::finished(
            &*reporter,
            remote,
            &workspace.root,
            shard,
            attempt,
            &order,
            &summary,
        )),
        _ => None,
    };

    let results: Vec<(TaskId, JobResult)> = order
        .iter()
        .zip(summary.results.iter().cloned())
        .map(|(t, r)| (t.id.clone(), r))
        .collect();
    let total = results
        .iter()
        .filter(|(_, r)| !matches!(r, JobResult::NoCommand))
        .count();
    let built = |r: &JobResult| matches!(r, JobResult::Succeeded { .. } | JobResult::Cached { .. });
    let succeeded = results.iter().filter(|(_, r)| built(r)).count();
    let time_saved: Duration = results
        .iter()
        .filter_map(|(_, r)| match r {
            JobResult::Cached { time_saved } => Some(*time_saved),
            _ => None,
        })
        .sum();
    let timings = std::mem::take(
        &mut *hooks
            .timings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let miss_reasons = std::mem::take(
        &mut *hooks
            .miss_reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let failed: Vec<TaskId> = summary
        .failed()
        .iter()
        .map(|&i| order[i].id.clone())
        .collect();
    #[cfg(feature = "images")]
    let images = results
        .iter()
        .filter(|(task, result)| built(result) && graph.get(task).is_some_and(is_image_task))
        .filter_map(|(task, _)| {
            let package = workspace.packages.get(task.package())?;
            let image = crate::images::built_image(workspace, package)?;
            Some((task.clone(), image))
        })
        .collect();
    Ok(RunOutcome {
        total,
        succeeded,
        cached: summary.cached(),
        time_saved,
        failed,
        interrupted: summary.interrupted,
        #[cfg(feature = "images")]
        images,
        results,
        timings,
        miss_reasons,
        shard,
    })
}

/// Waits, at most `bound`, for the results still being uploaded, and says what went wrong.
fn wait_for_uploads(reporter: &dyn Reporter, remote: &mono_cache::RemoteStore, bound: Duration) {
    let report = remote.wait_for_uploads(bound);
    match &report.error {
        // The server failed on one artifact and is up: not "unavailable".
        Some(err) if err.is_server_error() => reporter.warn(&format!(
            "an upload to the remote cache failed: {}",
            crate::remote::chain(err)
        )),
        Some(err) => crate::remote::warn_down(reporter, remote, err),
        None => {}
    }
    for bad in &report.index_warnings {
        reporter.warn(&format!("remote cache: {bad}; it was replaced"));
    }
    if report.unfinished > 0 {
        reporter.warn(&format!(
            "{} uploads to the remote cache {} did not finish within {}s and were abandoned",
            report.unfinished,
            remote.url(),
            bound.as_secs()
        ));
    }
}
