//! `--summarize`: the run summary in Turborepo's JSON shape (docs/run-summary.md), written
//! to `.turbo/runs/<id>.json` under the root, as turbo writes it.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mono_paths::AbsPath;
use mono_run::JobResult;
use mono_task_id::TaskId;
use mono_tasks::{CacheState, CacheStatus, PlanDetails, ScmInfo, TaskHashDetails};
use serde_json::{json, Value};

use crate::error::EngineError;
use crate::execute::RunOutcome;
use crate::run::{Prepared, Run};

/// The version of the summary format (docs/run-summary.md).
pub const SUMMARY_FORMAT_VERSION: &str = "1";

/// Where run summaries go, relative to the root.
pub const SUMMARY_DIR: &str = ".turbo/runs";

/// Milliseconds since the Unix epoch, as Turborepo writes times.
fn millis(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// The plan's details with the cache states the run found.
struct Ran<'a> {
    prepared: &'a Prepared,
    outcome: &'a RunOutcome,
    scm: ScmInfo,
}

impl PlanDetails for Ran<'_> {
    fn task_hash(&self, id: &TaskId) -> TaskHashDetails {
        crate::run::hash_details(&self.prepared.hashes, id)
    }

    fn cache_state(&self, id: &TaskId, _hash: &str) -> CacheState {
        let result = self.outcome.results.iter().find(|(task, _)| task == id);
        match result {
            Some((_, JobResult::Cached { time_saved })) => CacheState {
                local: true,
                remote: false,
                status: CacheStatus::Hit,
                source: Some("LOCAL"),
                time_saved: u64::try_from(time_saved.as_millis()).unwrap_or(u64::MAX),
            },
            _ => CacheState::miss(),
        }
    }

    fn scm(&self) -> ScmInfo {
        self.scm.clone()
    }
}

/// A task's `execution`: when it started and ended, and its exit code; `null` for a task
/// that never ran a command.
fn task_execution(outcome: &RunOutcome, id: &TaskId) -> Value {
    let Some((_, result)) = outcome.results.iter().find(|(task, _)| task == id) else {
        return Value::Null;
    };
    let exit_code = match result {
        JobResult::Succeeded { .. } | JobResult::Cached { .. } => Some(0),
        JobResult::Failed {
            failure: mono_run::Failure::Exit(code),
            ..
        } => Some(*code),
        JobResult::Failed { .. } | JobResult::Interrupted { .. } => Some(1),
        JobResult::Skipped { .. } | JobResult::NoCommand => None,
    };
    match (outcome.timings.get(id), exit_code) {
        (Some(timing), Some(code)) => json!({
            "startTime": millis(timing.start),
            "endTime": millis(timing.end),
            "exitCode": code,
        }),
        _ => Value::Null,
    }
}

/// A run id that sorts by time: the start in milliseconds and the process id, in hex.
fn run_id(started: SystemTime) -> String {
    format!(
        "{:012x}{:06x}",
        millis(started),
        std::process::id() & 0xff_ffff
    )
}

/// Writes the summary of `outcome` and returns its path. `command` is the command line as
/// typed; `started` and `exit_code` are the whole run's.
pub(crate) fn write(
    run: &Run,
    prepared: &Prepared,
    outcome: &RunOutcome,
    command: &str,
    started: SystemTime,
    exit_code: i32,
) -> Result<AbsPath, EngineError> {
    let workspace = run.workspace();
    let details = Ran {
        prepared,
        outcome,
        scm: crate::run::scm_info(workspace.scm()),
    };
    let plan = run.plan_document(prepared, &details);
    let mut doc = serde_json::to_value(&plan).expect("the plan serializes");
    let id = run_id(started);
    let attempted = outcome.total;
    let failed = outcome.failed.len();
    let cached = outcome.cached;
    let object = doc.as_object_mut().expect("the plan is an object");
    object.insert("id".to_owned(), json!(id));
    object.insert("version".to_owned(), json!(SUMMARY_FORMAT_VERSION));
    object.insert(
        "execution".to_owned(),
        json!({
            "command": command,
            "repoPath": workspace.cwd.to_string(),
            "success": outcome.succeeded - cached,
            "failed": failed,
            "cached": cached,
            "attempted": attempted,
            "startTime": millis(started),
            "endTime": millis(SystemTime::now()),
            "exitCode": exit_code,
        }),
    );
    let ran: BTreeSet<&TaskId> = outcome.results.iter().map(|(id, _)| id).collect();
    if let Some(tasks) = object.get_mut("tasks").and_then(Value::as_array_mut) {
        for task in tasks {
            let id: Option<TaskId> = task["taskId"].as_str().and_then(|t| t.parse().ok());
            let execution = match &id {
                Some(id) if ran.contains(id) => task_execution(outcome, id),
                _ => Value::Null,
            };
            task["execution"] = execution;
            // Why it missed (docs/why.md): only for a task that looked the cache up and missed.
            let reason = id.as_ref().and_then(|id| outcome.miss_reasons.get(id));
            task["missReason"] = reason.map_or(Value::Null, |r| {
                serde_json::to_value(r).expect("an explanation serializes")
            });
        }
    }
    let dir = workspace.root.join(SUMMARY_DIR);
    std::fs::create_dir_all(dir.as_path()).map_err(|e| EngineError::io("create", &dir, e))?;
    let path = dir.join(format!("{id}.json"));
    let text = serde_json::to_string_pretty(&doc).expect("serializes");
    // Written aside and renamed: a reader never sees half a summary.
    let tmp = dir.join(format!(".{id}.json.tmp"));
    std::fs::write(tmp.as_path(), text)
        .and_then(|()| std::fs::rename(tmp.as_path(), path.as_path()))
        .map_err(|e| EngineError::io("write", &path, e))?;
    Ok(path)
}
