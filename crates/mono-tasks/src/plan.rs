//! The plan of a run: what `--dry` prints, as text or as JSON (docs/dry-run.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mono_config::{canonical_task_definition, EnvMode};
use mono_task_id::{PackageName, TaskId};
use serde::Serialize;

use crate::graph::TaskGraph;

/// The version of the `--dry=json` format. Bump it on any change a consumer could notice.
pub const DRY_RUN_FORMAT_VERSION: &str = "1";

/// The command shown for a task that has nothing to run, as Turborepo shows it.
pub const NONEXISTENT_COMMAND: &str = "<NONEXISTENT>";

/// The `command` of a task that a config the package extends removed (`extends: false`):
/// in the graph, running nothing, as Turborepo writes it.
pub const OPT_OUT_COMMAND: &str = "<OPT OUT>";

/// A task's cache state as the plan knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CacheStatus {
    /// The cache has an entry for the task's hash.
    Hit,
    /// It does not (or the task is not cacheable).
    Miss,
}

/// The `cache` object of a task.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheState {
    /// Found in the local cache.
    pub local: bool,
    /// Found in a remote cache.
    pub remote: bool,
    /// `HIT` or `MISS`.
    pub status: CacheStatus,
    /// Where the hit came from: `LOCAL`, `REMOTE`, or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// Milliseconds the hit saves: the duration of the run that stored it.
    pub time_saved: u64,
}

impl CacheState {
    /// A miss.
    pub fn miss() -> Self {
        Self {
            local: false,
            remote: false,
            status: CacheStatus::Miss,
            source: None,
            time_saved: 0,
        }
    }
}

/// One task of the plan. Field names are Turborepo's where it has the field.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedTask {
    /// `package#task`.
    pub task_id: TaskId,
    /// The task's name.
    pub task: String,
    /// The package's name.
    pub package: PackageName,
    /// The task hash (64 hex digits).
    pub hash: String,
    /// Input files (repo-relative path → content hash).
    pub inputs: BTreeMap<String, String>,
    /// Hash of the external dependencies that the package's lockfile resolves.
    pub hash_of_external_dependencies: String,
    /// Cache state.
    pub cache: CacheState,
    /// The command, or `<NONEXISTENT>`.
    pub command: String,
    /// `outputs` globs, relative to the package.
    pub outputs: Vec<String>,
    /// `!` outputs globs.
    pub excluded_outputs: Vec<String>,
    /// The package's folder, repo-relative (`""` for the root, as in Turborepo).
    pub directory: String,
    /// The package's language.
    pub language: String,
    /// Tasks this one waits for.
    pub dependencies: Vec<TaskId>,
    /// Tasks that wait for this one.
    pub dependents: Vec<TaskId>,
    /// The merged definition, with defaults.
    pub resolved_task_definition: serde_json::Value,
    /// Names of the hashed environment variables (values are never shown).
    pub environment_variables: Vec<String>,
}

/// The plan of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// [`DRY_RUN_FORMAT_VERSION`].
    pub version: &'static str,
    /// The mono version that made the plan.
    pub mono_version: String,
    /// The global hash.
    pub global_hash: String,
    /// Packages in scope (selected by the filters), sorted.
    pub packages: Vec<PackageName>,
    /// `strict` or `loose`.
    pub env_mode: &'static str,
    /// Tasks sorted by id.
    pub tasks: Vec<PlannedTask>,
}

/// What the plan needs besides the graph: hashes and cache states, filled in by the caller.
pub trait PlanDetails {
    /// The task's hash, its input files and its hashed variable names.
    fn task_hash(&self, id: &TaskId) -> TaskHashDetails;
    /// Whether the cache holds the task's outputs.
    fn cache_state(&self, id: &TaskId, hash: &str) -> CacheState;
}

/// The hashing facts of one task.
#[derive(Debug, Clone, Default)]
pub struct TaskHashDetails {
    /// 64 hex digits.
    pub hash: String,
    /// repo path → content hash.
    pub inputs: BTreeMap<String, String>,
    /// External dependency hash.
    pub external: String,
    /// Hashed variable names.
    pub env: Vec<String>,
}

impl Plan {
    /// The plan of `graph`.
    pub fn new(
        graph: &TaskGraph,
        packages: Vec<PackageName>,
        env_mode: EnvMode,
        global_hash: String,
        details: &dyn PlanDetails,
    ) -> Plan {
        let tasks = graph
            .tasks()
            .map(|node| {
                let (excluded, outputs): (Vec<String>, Vec<String>) = node
                    .definition
                    .outputs
                    .iter()
                    .cloned()
                    .partition(|o| o.starts_with('!'));
                let facts = details.task_hash(&node.id);
                let cache = if node.definition.cache && node.command.is_some() {
                    details.cache_state(&node.id, &facts.hash)
                } else {
                    CacheState::miss()
                };
                PlannedTask {
                    task_id: node.id.clone(),
                    task: node.id.task().to_owned(),
                    package: node.id.package().clone(),
                    hash: facts.hash,
                    inputs: facts.inputs,
                    hash_of_external_dependencies: facts.external,
                    cache,
                    command: match (&node.command, node.raw.opted_out) {
                        (Some(command), _) => command.clone(),
                        (None, true) => OPT_OUT_COMMAND.to_owned(),
                        (None, false) => NONEXISTENT_COMMAND.to_owned(),
                    },
                    outputs,
                    excluded_outputs: excluded.into_iter().map(|o| o[1..].to_owned()).collect(),
                    // As Turborepo writes it: the root package's folder is "".
                    directory: node.package_dir.as_str().to_owned(),
                    language: node.language.to_string(),
                    dependencies: graph.dependencies(&node.id).into_iter().cloned().collect(),
                    dependents: graph.dependents(&node.id).into_iter().cloned().collect(),
                    resolved_task_definition: canonical_task_definition(&node.raw),
                    environment_variables: facts.env,
                }
            })
            .collect();
        Plan {
            version: DRY_RUN_FORMAT_VERSION,
            mono_version: env!("CARGO_PKG_VERSION").to_owned(),
            global_hash,
            packages,
            env_mode: env_mode.as_str(),
            tasks,
        }
    }

    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the plan serializes")
    }

    /// The plan as a table for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Packages in scope ({}): {}",
            self.packages.len(),
            join(&self.packages)
        );
        let _ = writeln!(out, "Global hash: {}", short(&self.global_hash));
        let _ = writeln!(out, "Tasks to run: {}\n", self.tasks.len());
        let header = [
            "TASK",
            "PACKAGE",
            "DIRECTORY",
            "HASH",
            "CACHE",
            "COMMAND",
            "DEPENDS ON",
        ];
        let rows: Vec<[String; 7]> = self
            .tasks
            .iter()
            .map(|t| {
                [
                    t.task_id.to_string(),
                    t.package.to_string(),
                    if t.directory.is_empty() {
                        ".".to_owned()
                    } else {
                        t.directory.clone()
                    },
                    short(&t.hash).to_owned(),
                    match t.cache.status {
                        CacheStatus::Hit => "HIT".to_owned(),
                        CacheStatus::Miss => "MISS".to_owned(),
                    },
                    t.command.clone(),
                    if t.dependencies.is_empty() {
                        "-".to_owned()
                    } else {
                        join(&t.dependencies)
                    },
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut line = |cells: &[&str]| {
            let mut text = String::new();
            for (n, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if n + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<w$}  ");
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&header);
        for row in &rows {
            line(&row.each_ref().map(String::as_str));
        }
        out
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(16)]
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
