//! `mono summary diff A B`: two run summaries (docs/run-summary.md) compared task by task:
//! tasks added and removed, hashes that changed and the inputs behind the change, cache
//! statuses and durations (docs/why.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mono_hash::{Cause, Change};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// The version of `mono summary diff --json`.
pub const SUMMARY_DIFF_FORMAT_VERSION: u32 = 1;

/// The parts of a run summary a diff reads; any other field is ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryDoc {
    id: String,
    #[serde(default)]
    global_hash: Option<String>,
    #[serde(default)]
    global_cache_inputs: serde_json::Value,
    tasks: Vec<SummaryTask>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryTask {
    task_id: String,
    hash: String,
    #[serde(default)]
    directory: String,
    #[serde(default)]
    inputs: BTreeMap<String, String>,
    #[serde(default)]
    hash_of_external_dependencies: String,
    cache: SummaryCache,
    #[serde(default)]
    command: String,
    #[serde(default)]
    cli_arguments: Vec<String>,
    #[serde(default)]
    resolved_task_definition: serde_json::Value,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    environment_variables: Option<SummaryEnv>,
    #[serde(default)]
    execution: Option<SummaryExecution>,
    #[serde(default)]
    miss_reason: Option<MissReasonDoc>,
}

#[derive(Debug, Deserialize)]
struct SummaryCache {
    status: String,
}

#[derive(Debug, Deserialize)]
struct SummaryEnv {
    #[serde(default)]
    configured: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryExecution {
    start_time: u64,
    end_time: u64,
}

/// The part of a `missReason` a diff uses: against which hash, and the causes.
#[derive(Debug, Deserialize)]
struct MissReasonDoc {
    earlier: Option<EarlierDoc>,
    #[serde(default)]
    causes: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct EarlierDoc {
    hash: String,
}

/// A value in A and in B.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pair<T> {
    /// In A.
    pub a: T,
    /// In B.
    pub b: T,
}

/// One side of the diff.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryRef {
    /// The file.
    pub path: String,
    /// The run's id.
    pub id: String,
}

/// How one task differs between the two runs.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDiff {
    /// The task.
    pub task_id: String,
    /// Its hashes, when they differ.
    pub hash: Option<Pair<String>>,
    /// Why its hash changed, most telling first (empty when it did not).
    pub causes: Vec<serde_json::Value>,
    /// The causes in words, as a miss line says them.
    pub reason: Option<String>,
    /// Its cache statuses (`HIT`, `MISS`), when they differ.
    pub cache: Option<Pair<String>>,
    /// How long its command ran in each run, in milliseconds (`null`: it did not run).
    pub duration_ms: Pair<Option<u64>>,
}

/// What `mono summary diff` reports.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryDiff {
    /// [`SUMMARY_DIFF_FORMAT_VERSION`].
    pub version: u32,
    /// The earlier summary.
    pub a: SummaryRef,
    /// The later one.
    pub b: SummaryRef,
    /// Whether the global inputs (global hash, `globalEnv`) differ.
    pub global_changed: bool,
    /// Tasks only in B.
    pub added: Vec<String>,
    /// Tasks only in A.
    pub removed: Vec<String>,
    /// Tasks in both whose hash, cache status or duration differs, by task id.
    pub changed: Vec<TaskDiff>,
}

fn read(path: &Path) -> Result<SummaryDoc, EngineError> {
    let bad = |problem: String| EngineError::BadSummary {
        path: path.display().to_string(),
        problem,
    };
    let text = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))
}

/// Compares the summaries at `a` (earlier) and `b` (later).
pub fn diff_summaries(a: &Path, b: &Path) -> Result<SummaryDiff, EngineError> {
    let (doc_a, doc_b) = (read(a)?, read(b)?);
    Ok(diff_docs(
        SummaryRef {
            path: a.display().to_string(),
            id: doc_a.id.clone(),
        },
        &doc_a,
        SummaryRef {
            path: b.display().to_string(),
            id: doc_b.id.clone(),
        },
        &doc_b,
    ))
}

fn diff_docs(ref_a: SummaryRef, a: &SummaryDoc, ref_b: SummaryRef, b: &SummaryDoc) -> SummaryDiff {
    let tasks_a: BTreeMap<&str, &SummaryTask> =
        a.tasks.iter().map(|t| (t.task_id.as_str(), t)).collect();
    let tasks_b: BTreeMap<&str, &SummaryTask> =
        b.tasks.iter().map(|t| (t.task_id.as_str(), t)).collect();
    let added = tasks_b
        .keys()
        .filter(|id| !tasks_a.contains_key(*id))
        .map(|id| (*id).to_owned())
        .collect();
    let removed = tasks_a
        .keys()
        .filter(|id| !tasks_b.contains_key(*id))
        .map(|id| (*id).to_owned())
        .collect();
    let global_changed =
        a.global_hash != b.global_hash || a.global_cache_inputs != b.global_cache_inputs;
    let mut changed = Vec::new();
    for (id, ta) in &tasks_a {
        let Some(tb) = tasks_b.get(id) else { continue };
        let duration = |t: &SummaryTask| {
            t.execution
                .as_ref()
                .map(|e| e.end_time.saturating_sub(e.start_time))
        };
        let durations = Pair {
            a: duration(ta),
            b: duration(tb),
        };
        let hash_changed = ta.hash != tb.hash;
        let cache_changed = ta.cache.status != tb.cache.status;
        if !hash_changed && !cache_changed && !notable(&durations) {
            continue;
        }
        let causes = match hash_changed {
            true => task_causes(ta, tb, &tasks_a, &tasks_b, global_changed),
            false => Vec::new(),
        };
        let reason = (!causes.is_empty()).then(|| reason_text(&causes));
        changed.push(TaskDiff {
            task_id: (*id).to_owned(),
            hash: hash_changed.then(|| Pair {
                a: ta.hash.clone(),
                b: tb.hash.clone(),
            }),
            causes,
            reason,
            cache: cache_changed.then(|| Pair {
                a: ta.cache.status.clone(),
                b: tb.cache.status.clone(),
            }),
            duration_ms: durations,
        });
    }
    SummaryDiff {
        version: SUMMARY_DIFF_FORMAT_VERSION,
        a: ref_a,
        b: ref_b,
        global_changed,
        added,
        removed,
        changed,
    }
}

/// A duration change worth a line: both ran, and they differ by a tenth and 100 ms.
fn notable(durations: &Pair<Option<u64>>) -> bool {
    match (durations.a, durations.b) {
        (Some(a), Some(b)) => {
            let delta = a.abs_diff(b);
            delta >= 100 && delta * 10 >= a.max(b)
        }
        _ => false,
    }
}

/// Why `a`'s hash became `b`'s: B's own miss reason when it was explained against A's very
/// hash (it knows every input); else what the two summaries show.
fn task_causes(
    a: &SummaryTask,
    b: &SummaryTask,
    tasks_a: &BTreeMap<&str, &SummaryTask>,
    tasks_b: &BTreeMap<&str, &SummaryTask>,
    global_changed: bool,
) -> Vec<serde_json::Value> {
    if let Some(reason) = &b.miss_reason {
        let against = reason.earlier.as_ref().map(|e| e.hash.as_str());
        if against == Some(a.hash.as_str()) && !reason.causes.is_empty() {
            return reason.causes.clone();
        }
    }
    let mut causes = Vec::new();
    let package = b.directory.as_str();
    let keys: BTreeSet<&String> = a.inputs.keys().chain(b.inputs.keys()).collect();
    for path in keys {
        let change = match (a.inputs.get(path), b.inputs.get(path)) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            (Some(x), Some(y)) if x != y => Change::Changed,
            _ => continue,
        };
        causes.push(Cause::File {
            path: relative_to(path, package),
            change,
        });
    }
    let env = |t: &SummaryTask| -> BTreeSet<String> {
        t.environment_variables
            .as_ref()
            .map(|e| e.configured.iter().cloned().collect())
            .unwrap_or_default()
    };
    let (env_a, env_b) = (env(a), env(b));
    for name in env_b.difference(&env_a) {
        causes.push(Cause::Env {
            name: name.clone(),
            change: Change::Added,
        });
    }
    for name in env_a.difference(&env_b) {
        causes.push(Cause::Env {
            name: name.clone(),
            change: Change::Removed,
        });
    }
    let deps: BTreeSet<&String> = a.dependencies.iter().chain(&b.dependencies).collect();
    for dep in deps {
        let hash_a = tasks_a.get(dep.as_str()).map(|t| &t.hash);
        let hash_b = tasks_b.get(dep.as_str()).map(|t| &t.hash);
        let change = match (a.dependencies.contains(dep), b.dependencies.contains(dep)) {
            (false, true) => Change::Added,
            (true, false) => Change::Removed,
            _ if hash_a != hash_b => Change::Changed,
            _ => continue,
        };
        causes.push(Cause::Dependency {
            task_id: dep.clone(),
            change,
        });
    }
    if a.hash_of_external_dependencies != b.hash_of_external_dependencies {
        causes.push(Cause::Lockfile);
    }
    if a.cli_arguments != b.cli_arguments {
        causes.push(Cause::CliArguments);
    } else if a.command != b.command {
        causes.push(Cause::Command);
    }
    if a.resolved_task_definition != b.resolved_task_definition {
        causes.push(Cause::Definition);
    }
    if global_changed && causes.is_empty() {
        causes.push(Cause::RootConfig);
    }
    causes
        .into_iter()
        .map(|c| serde_json::to_value(c).expect("a cause serializes"))
        .collect()
}

/// The causes in words, as the miss line prints them.
fn reason_text(causes: &[serde_json::Value]) -> String {
    let parsed: Vec<String> = causes.iter().map(cause_text).collect();
    parsed.join(", ")
}

/// One serialized [`Cause`] in words.
fn cause_text(value: &serde_json::Value) -> String {
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or("");
    let change = field("change");
    match field("kind") {
        "file" => format!("{} {change}", field("path")),
        "env" => format!("${} {change}", field("name")),
        "dependency" => format!("{} {change}", field("taskId")),
        "external" if change == "changed" => format!(
            "external dependency {} changed ({} → {})",
            field("name"),
            field("from"),
            field("to")
        ),
        "external" => format!("external dependency {} {change}", field("name")),
        "lockfile" => "external dependencies changed".to_owned(),
        "cliArguments" => "CLI arguments changed".to_owned(),
        "command" => "command changed".to_owned(),
        "definition" => "task definition changed".to_owned(),
        "packageDir" => "package folder changed".to_owned(),
        "globalFile" => format!("global file {} {change}", field("path")),
        "globalEnv" => format!("global ${} {change}", field("name")),
        "rootConfig" => "root config changed".to_owned(),
        "hashFormat" => "hash format changed (another mono version)".to_owned(),
        other => other.to_owned(),
    }
}

fn relative_to(path: &str, package: &str) -> String {
    match (package.is_empty(), path.strip_prefix(package)) {
        (false, Some(rest)) if rest.starts_with('/') => rest[1..].to_owned(),
        _ => path.to_owned(),
    }
}

impl SummaryDiff {
    /// The diff for people, one line per change.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} ({}) → {} ({})",
            self.a.path, self.a.id, self.b.path, self.b.id
        );
        if self.global_changed {
            let _ = writeln!(out, "  global inputs changed");
        }
        for id in &self.added {
            let _ = writeln!(out, "  + {id}: only in B");
        }
        for id in &self.removed {
            let _ = writeln!(out, "  - {id}: only in A");
        }
        for task in &self.changed {
            let mut parts = Vec::new();
            if let Some(hash) = &task.hash {
                let short = |h: &str| h.chars().take(16).collect::<String>();
                let mut part = format!("hash {} → {}", short(&hash.a), short(&hash.b));
                if let Some(reason) = &task.reason {
                    part.push_str(&format!(" ({reason})"));
                }
                parts.push(part);
            }
            if let Some(cache) = &task.cache {
                parts.push(format!("cache {} → {}", cache.a, cache.b));
            }
            if let (Some(a), Some(b)) = (task.duration_ms.a, task.duration_ms.b) {
                if notable(&task.duration_ms) || task.hash.is_some() {
                    parts.push(format!(
                        "time {:.2}s → {:.2}s",
                        a as f64 / 1000.0,
                        b as f64 / 1000.0
                    ));
                }
            }
            let _ = writeln!(out, "  ~ {}: {}", task.task_id, parts.join("; "));
        }
        if !self.global_changed
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
        {
            let _ = writeln!(out, "  no differences");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(id: &str, hash: &str, inputs: serde_json::Value, status: &str) -> serde_json::Value {
        json!({
            "taskId": id, "hash": hash, "directory": "apps/web", "inputs": inputs,
            "hashOfExternalDependencies": "x", "cache": {"status": status},
            "command": "build", "cliArguments": [], "resolvedTaskDefinition": {},
            "dependencies": [], "environmentVariables": {"configured": []},
            "execution": {"startTime": 0, "endTime": 1000},
        })
    }

    fn doc(tasks: Vec<serde_json::Value>) -> SummaryDoc {
        serde_json::from_value(json!({"id": "r", "globalHash": "g", "tasks": tasks})).unwrap()
    }

    fn r(id: &str) -> SummaryRef {
        SummaryRef {
            path: id.into(),
            id: id.into(),
        }
    }

    #[test]
    fn tasks_added_removed_and_input_changes() {
        let a = doc(vec![
            task(
                "web#build",
                "1",
                json!({"apps/web/a.ts": "h1", "apps/web/b.ts": "h2"}),
                "HIT",
            ),
            task("old#build", "2", json!({}), "HIT"),
        ]);
        let b = doc(vec![
            task(
                "web#build",
                "3",
                json!({"apps/web/a.ts": "h9", "apps/web/c.ts": "h3"}),
                "MISS",
            ),
            task("new#build", "4", json!({}), "MISS"),
        ]);
        let diff = diff_docs(r("a"), &a, r("b"), &b);
        assert_eq!(diff.added, ["new#build"]);
        assert_eq!(diff.removed, ["old#build"]);
        assert!(!diff.global_changed);
        assert_eq!(diff.changed.len(), 1);
        let web = &diff.changed[0];
        assert_eq!(web.hash.as_ref().unwrap().b, "3");
        assert_eq!(
            web.reason.as_deref(),
            Some("a.ts changed, b.ts removed, c.ts added")
        );
        assert_eq!(web.cache.as_ref().unwrap().b, "MISS");
        let text = diff.to_text();
        assert!(text.contains("~ web#build: hash 1 → 3 (a.ts changed, b.ts removed, c.ts added); cache HIT → MISS"), "{text}");
        assert!(text.contains("+ new#build"), "{text}");
    }

    #[test]
    fn the_later_runs_miss_reason_is_used_when_it_names_the_earlier_hash() {
        let a = doc(vec![task("web#build", "1", json!({}), "HIT")]);
        let mut t = task("web#build", "3", json!({}), "MISS");
        t["missReason"] = json!({
            "earlier": {"hash": "1"},
            "causes": [{"kind": "env", "name": "API_URL", "change": "changed"}]
        });
        let b = doc(vec![t]);
        let diff = diff_docs(r("a"), &a, r("b"), &b);
        assert_eq!(diff.changed[0].reason.as_deref(), Some("$API_URL changed"));
    }

    #[test]
    fn same_runs_have_no_differences() {
        let a = doc(vec![task("web#build", "1", json!({}), "HIT")]);
        let b = doc(vec![task("web#build", "1", json!({}), "HIT")]);
        let diff = diff_docs(r("a"), &a, r("b"), &b);
        assert!(diff.changed.is_empty());
        assert!(diff.to_text().contains("no differences"));
    }
}
