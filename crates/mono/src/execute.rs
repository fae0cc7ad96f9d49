//! Running a task graph: jobs for the scheduler, the cache plugged in, the summary, and the
//! exit code.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mono_cache::LocalStore;
use mono_config::EnvMode;
use mono_run::{Job, JobResult, LogOrder, OutputLogs, RunOptions};
use mono_task_id::TaskId;
use mono_tasks::{TaskGraph, TaskHashes};

use crate::cache_hooks::{CacheAccess, CacheHooks, CachedTask};
use crate::error::{Error, EXIT_INTERRUPTED, EXIT_TASK_FAILED};
use crate::repo::Repo;

/// How to run, resolved from the command line and config.
pub struct Execution {
    pub force: bool,
    pub concurrency: usize,
    pub continue_on_error: bool,
    /// `--output-logs`, which overrides every task's `outputLogs`.
    pub output_logs: Option<OutputLogs>,
    pub log_order: LogOrder,
    pub cache: CacheAccess,
    pub env_mode: EnvMode,
    /// Print task logs and the summary to stderr (`mono image --json` keeps stdout for
    /// its JSON).
    pub to_stderr: bool,
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

fn is_image_task(task: &mono_tasks::TaskNode) -> bool {
    task.command
        .as_deref()
        .is_some_and(|c| c.starts_with(mono_tasks::IMAGE_COMMAND))
}

pub fn execute(
    repo: &Repo,
    graph: &TaskGraph,
    hashes: &TaskHashes,
    store: LocalStore,
    remote: Option<crate::remote::Remote>,
    execution: &Execution,
    process_env: &BTreeMap<String, String>,
) -> Result<ExitCode, Error> {
    let (remote, upload_bound) = match remote {
        Some(remote) => (Some(Arc::new(remote.store)), remote.upload_bound),
        None => (None, Duration::ZERO),
    };
    let order: Vec<&mono_tasks::TaskNode> = graph.in_dependency_order().collect();
    let index: HashMap<&TaskId, usize> =
        order.iter().enumerate().map(|(i, t)| (&t.id, i)).collect();
    let mut global_env: Vec<String> = repo
        .config
        .global_env
        .iter()
        .map(|s| s.value.clone())
        .collect();
    global_env.extend(
        repo.config
            .global_pass_through_env
            .iter()
            .flatten()
            .map(|s| s.value.clone()),
    );
    let mut tasks = HashMap::new();
    let mut jobs = Vec::with_capacity(order.len());
    for task in &order {
        let package = repo
            .packages
            .get(task.id.package())
            .expect("tasks belong to packages");
        let dir = repo.root.join_repo(&package.dir);
        let hash = hashes.tasks[&task.id].hash;
        let cacheable = task.definition.cache && !task.definition.persistent;
        tasks.insert(
            task.id.clone(),
            CachedTask {
                key: cacheable.then(|| mono_cache::CacheKey::from_bytes(*hash.as_bytes())),
                package_dir: package.dir.clone(),
                outputs: task.definition.outputs.clone(),
            },
        );
        let mut job = Job::new(
            task.id.clone(),
            dir.clone(),
            task.command.as_deref().map(job_command),
        );
        job.env = crate::task_env::task_env(
            task,
            execution.env_mode,
            process_env,
            &global_env,
            &repo.root,
            &dir,
            package.name.as_str(),
        );
        job.dependencies = graph
            .dependencies(&task.id)
            .iter()
            .map(|d| index[d])
            .collect();
        job.hash = Some(hash.short());
        if is_image_task(task) {
            job.env.push(("MONO_TASK_HASH".to_owned(), hash.short()));
        }
        job.output_logs = match execution.output_logs {
            Some(_) => None,
            None => Some(task.definition.output_logs),
        };
        jobs.push(job);
    }
    let progress = crate::progress::wanted().then(|| {
        let with_commands = order.iter().filter(|t| t.command.is_some()).count();
        Arc::new(crate::progress::Progress::new(with_commands as u64))
    });
    let out: Box<dyn Write + Send> = match &progress {
        Some(progress) => Box::new(progress.writer()),
        None if execution.to_stderr => Box::new(std::io::stderr()),
        None => Box::new(std::io::stdout()),
    };
    let records = mono_cache::OutputRecords::open(store.cache_dir());
    let hooks = Arc::new(CacheHooks {
        records,
        store,
        remote: remote.clone(),
        root: repo.root.clone(),
        tasks,
        access: execution.cache,
        force: execution.force,
        warned: Mutex::new(Vec::new()),
        progress: progress.clone(),
        ahead: Mutex::new(HashMap::new()),
    });
    hooks.look_ahead();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let options = RunOptions {
        concurrency: execution.concurrency.max(1),
        continue_on_error: execution.continue_on_error,
        log_order: execution.log_order,
        output_logs: execution.output_logs.unwrap_or_default(),
        color,
        handle_signals: true,
        ..RunOptions::default()
    };
    let summary = mono_run::run(jobs, hooks.clone(), options, out).map_err(|err| Error::Usage {
        message: format!("cannot run the tasks: {err}"),
        help: None,
    })?;
    // Losing the records only costs the next run time.
    let _ = hooks.records.save();
    if let Some(progress) = &progress {
        progress.clear();
    }
    if let Some(remote) = &remote {
        wait_for_uploads(remote, upload_bound);
    }

    // The summary, as Turborepo prints it.
    let ran: Vec<(&TaskId, &JobResult)> = order
        .iter()
        .zip(&summary.results)
        .map(|(t, r)| (&t.id, r))
        .collect();
    let total = ran
        .iter()
        .filter(|(_, r)| !matches!(r, JobResult::NoCommand))
        .count();
    let succeeded = ran
        .iter()
        .filter(|(_, r)| matches!(r, JobResult::Succeeded { .. } | JobResult::Cached { .. }))
        .count();
    let cached = summary.cached();
    let saved: Duration = ran
        .iter()
        .filter_map(|(_, r)| match r {
            JobResult::Cached { time_saved } => Some(*time_saved),
            _ => None,
        })
        .sum();
    let failed: Vec<String> = summary
        .failed()
        .iter()
        .map(|&i| order[i].id.to_string())
        .collect();
    let mut out: Box<dyn Write> = match execution.to_stderr {
        true => Box::new(std::io::stderr().lock()),
        false => Box::new(std::io::stdout().lock()),
    };
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
        crate::elapsed().as_secs_f64(),
        saved.as_secs_f64()
    );
    if !failed.is_empty() {
        let _ = writeln!(out, " Failed:    {}", failed.join(", "));
    }
    for (task, result) in &ran {
        let built = matches!(
            result,
            JobResult::Succeeded { .. } | JobResult::Cached { .. }
        );
        let node = graph.get(task);
        if !built || !node.is_some_and(is_image_task) {
            continue;
        }
        let package = repo
            .packages
            .get(task.package())
            .expect("tasks belong to packages");
        match crate::commands::image::built_image(repo, package) {
            Some(Ok(image)) => {
                let _ = writeln!(
                    out,
                    "  Image:    {}",
                    crate::commands::image::summary_line(&image)
                );
            }
            Some(Err(err)) => crate::report::warn(&format!("{task}: cannot read the image: {err}")),
            None => {}
        }
    }
    drop(out);
    if summary.interrupted {
        crate::report::warn(
            "interrupted: every task's processes were stopped; nothing was cached for them",
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    if !failed.is_empty() {
        crate::report::note(&format!("error: {} failed", failed.join(", ")));
        return Ok(ExitCode::from(EXIT_TASK_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// Waits, at most `bound`, for the results still being uploaded, and says what went wrong.
fn wait_for_uploads(remote: &mono_cache::RemoteStore, bound: Duration) {
    let report = remote.wait_for_uploads(bound);
    match &report.error {
        // The server failed on one artifact and is up: not "unavailable".
        Some(err) if err.is_server_error() => crate::report::warn(&format!(
            "an upload to the remote cache failed: {}",
            crate::remote::chain(err)
        )),
        Some(err) => crate::remote::warn_down(remote, err),
        None => {}
    }
    if report.unfinished > 0 {
        crate::report::warn(&format!(
            "{} uploads to the remote cache {} did not finish within {}s and were abandoned",
            report.unfinished,
            remote.url(),
            bound.as_secs()
        ));
    }
}
