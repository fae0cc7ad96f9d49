//! The plan of a run: what `--dry` prints, as text or as JSON (docs/dry-run.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mono_config::{canonical_task_definition, EnvMode, RootConfig};

/// `values`, sorted: Turborepo sorts the arrays of its plan.
fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}
use mono_task_id::{PackageName, TaskId};
use serde::Serialize;

use crate::graph::TaskGraph;

/// The version of the `--dry=json` format. Bump it on any change a consumer could notice.
pub const DRY_RUN_FORMAT_VERSION: &str = "2";

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
    /// The arguments given after `--`, appended to the command when it runs.
    pub cli_arguments: Vec<String>,
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
    /// Tasks that run alongside this one: `with` as its definition writes it (`build`,
    /// `api#dev`), as Turborepo lists it.
    pub with: Vec<String>,
    /// The merged definition, with defaults.
    pub resolved_task_definition: serde_json::Value,
    /// The variables, in Turborepo's shape: what `env` and `passThroughEnv` specify, and
    /// the names of the variables hashed (`configured`; values are never shown).
    pub environment_variables: EnvironmentVariables,
    /// `strict` or `loose`, as for the run.
    pub env_mode: &'static str,
    /// The output files on disk (a plan lists none: they exist only after the run).
    pub expanded_outputs: Vec<String>,
    /// Turborepo's per-task log file: mono writes none (logs live in the cache entry).
    pub log_file: Option<String>,
    /// The framework Turborepo would infer: mono infers none.
    pub framework: &'static str,
}

/// `environmentVariables`, as Turborepo writes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentVariables {
    /// What the configuration says.
    pub specified: SpecifiedEnv,
    /// The names of the variables that were set and hashed, sorted.
    pub configured: Vec<String>,
    /// Variables a framework adds: none in mono.
    pub inferred: Vec<String>,
    /// `passThroughEnv` variables that were set: `null` when none is configured.
    pub passthrough: Option<Vec<String>>,
}

/// `environmentVariables.specified`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SpecifiedEnv {
    /// `env` (or `globalEnv`) patterns.
    pub env: Vec<String>,
    /// `passThroughEnv` (or `globalPassThroughEnv`); `null` when absent.
    pub pass_through_env: Option<Vec<String>>,
}

/// The repository the plan was made in, as Turborepo's `scm` field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ScmInfo {
    /// `git`, or `manual` outside git.
    #[serde(rename = "type")]
    pub kind: String,
    /// The commit checked out.
    pub sha: Option<String>,
    /// The branch checked out.
    pub branch: Option<String>,
}

/// What the whole run hashes besides the tasks, as Turborepo's `globalCacheInputs`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GlobalCacheInputs {
    /// `globalEnv` and `globalPassThroughEnv`.
    pub environment_variables: EnvironmentVariables,
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
    /// Always true: mono plans workspaces.
    pub monorepo: bool,
    /// Always false: mono infers no framework.
    pub framework_inference: bool,
    /// The global inputs besides files (`globalEnv`).
    pub global_cache_inputs: GlobalCacheInputs,
    /// The repository.
    pub scm: ScmInfo,
    /// Turborepo writes the user's name; mono never does (it stays out of every output).
    pub user: &'static str,
    /// Tasks sorted by id.
    pub tasks: Vec<PlannedTask>,
}

/// What the plan needs besides the graph: hashes and cache states, filled in by the caller.
pub trait PlanDetails {
    /// The task's hash, its input files and its hashed variable names.
    fn task_hash(&self, id: &TaskId) -> TaskHashDetails;
    /// Whether the cache holds the task's outputs.
    fn cache_state(&self, id: &TaskId, hash: &str) -> CacheState;
    /// The repository's commit and branch.
    fn scm(&self) -> ScmInfo {
        ScmInfo::default()
    }
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
        config: &RootConfig,
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
                    cli_arguments: node.cli_arguments.clone(),
                    outputs,
                    excluded_outputs: excluded.into_iter().map(|o| o[1..].to_owned()).collect(),
                    // As Turborepo writes it: the root package's folder is "".
                    directory: node.package_dir.as_str().to_owned(),
                    language: node.language.to_string(),
                    dependencies: graph.dependencies(&node.id).into_iter().cloned().collect(),
                    dependents: graph.dependents(&node.id).into_iter().cloned().collect(),
                    with: node
                        .definition
                        .with
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    resolved_task_definition: canonical_task_definition(&node.raw),
                    environment_variables: EnvironmentVariables {
                        specified: SpecifiedEnv {
                            env: sorted(node.definition.env.clone()),
                            pass_through_env: node.definition.pass_through_env.clone().map(sorted),
                        },
                        configured: sorted(facts.env),
                        inferred: Vec::new(),
                        passthrough: node
                            .definition
                            .pass_through_env
                            .as_ref()
                            .map(|_| Vec::new()),
                    },
                    env_mode: env_mode.as_str(),
                    expanded_outputs: Vec::new(),
                    log_file: None,
                    framework: "",
                }
            })
            .collect();
        Plan {
            version: DRY_RUN_FORMAT_VERSION,
            mono_version: env!("CARGO_PKG_VERSION").to_owned(),
            global_hash,
            packages,
            env_mode: env_mode.as_str(),
            monorepo: true,
            framework_inference: false,
            global_cache_inputs: GlobalCacheInputs {
                environment_variables: EnvironmentVariables {
                    specified: SpecifiedEnv {
                        env: sorted(config.global_env.iter().map(|s| s.value.clone()).collect()),
                        pass_through_env: config
                            .global_pass_through_env
                            .as_ref()
                            .map(|e| sorted(e.iter().map(|s| s.value.clone()).collect())),
                    },
                    configured: Vec::new(),
                    inferred: Vec::new(),
                    passthrough: None,
                },
            },
            scm: details.scm(),
            user: "",
            tasks,
        }
    }

    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the plan serializes")
    }

    /// The plan as a table for people, one line per task, with each task's input count.
    /// With a `width` (the terminal's columns), lines fit in it (`fit` says how): the command
    /// and the dependencies are cut with `…`, and the package and folder columns go if need
    /// be (`--dry=json` keeps everything whole). `None`: no limit, as when the output goes
    /// to a file.
    pub fn to_text(&self, width: Option<usize>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Packages in scope ({}): {}",
            self.packages.len(),
            join(&self.packages)
        );
        let _ = writeln!(out, "Global hash: {}", short(&self.global_hash));
        let _ = writeln!(out, "Tasks to run: {}\n", self.tasks.len());
        let mut header = TEXT_COLUMNS.map(str::to_owned);
        let mut rows: Vec<[String; 8]> = self
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
                    t.inputs.len().to_string(),
                    t.command.clone(),
                    if t.dependencies.is_empty() {
                        "-".to_owned()
                    } else {
                        join(&t.dependencies)
                    },
                ]
            })
            .collect();
        let mut widths = header.each_ref().map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut shown = [true; 8];
        if let Some(limit) = width {
            fit(&mut widths, &mut shown, limit);
            for row in rows.iter_mut().chain(std::iter::once(&mut header)) {
                for column in [COMMAND, DEPENDS_ON] {
                    row[column] = ellipsize(&row[column], widths[column]);
                }
            }
        }
        let mut line = |cells: &[String; 8]| {
            let mut text = String::new();
            for (n, cell) in cells.iter().enumerate().filter(|(n, _)| shown[*n]) {
                if n + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    let pad = widths[n].saturating_sub(cell.chars().count());
                    let _ = write!(text, "{cell}{:pad$}{GAP}", "");
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&header);
        for row in &rows {
            line(row);
        }
        out
    }
}

/// The text table's columns.
const TEXT_COLUMNS: [&str; 8] = [
    "TASK",
    "PACKAGE",
    "DIRECTORY",
    "HASH",
    "CACHE",
    "INPUTS",
    "COMMAND",
    "DEPENDS ON",
];
const PACKAGE: usize = 1;
const DIRECTORY: usize = 2;
const COMMAND: usize = 6;
const DEPENDS_ON: usize = 7;
/// Between two columns.
const GAP: &str = "  ";
/// How narrow a cut column gets before other columns go: a few words of the command.
const MIN_CUT: usize = 16;
/// The narrowest a cut column ever gets.
const MIN_LAST: usize = 4;

/// Makes a line fit in `limit` characters, step by step until it does: the command column,
/// then the dependencies, narrow down to [`MIN_CUT`]; the `PACKAGE` column goes (the task id
/// names the package), then `DIRECTORY`; then the dependencies, then the command, narrow
/// down to [`MIN_LAST`]. Task ids and hashes are never cut: a terminal narrower than them
/// gets longer lines.
fn fit(widths: &mut [usize; 8], shown: &mut [bool; 8], limit: usize) {
    fn total(widths: &[usize; 8], shown: &[bool; 8]) -> usize {
        let columns = shown.iter().filter(|s| **s).count();
        let cells: usize = widths
            .iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|(w, _)| w)
            .sum();
        cells + GAP.len() * columns.saturating_sub(1)
    }
    fn shrink(
        widths: &mut [usize; 8],
        shown: &[bool; 8],
        limit: usize,
        floors: [(usize, usize); 2],
    ) {
        for (column, floor) in floors {
            let over = total(widths, shown).saturating_sub(limit);
            let floor = widths[column].min(floor);
            widths[column] = widths[column].saturating_sub(over).max(floor);
        }
    }
    let natural = *widths;
    let cut = [(COMMAND, MIN_CUT), (DEPENDS_ON, MIN_CUT)];
    for column in [PACKAGE, DIRECTORY] {
        let mut narrowed = natural;
        shrink(&mut narrowed, shown, limit, cut);
        if total(&narrowed, shown) > limit {
            shown[column] = false;
        }
    }
    shrink(widths, shown, limit, cut);
    shrink(
        widths,
        shown,
        limit,
        [(DEPENDS_ON, MIN_LAST), (COMMAND, MIN_LAST)],
    );
}

/// `text` cut to `width` characters, its last one `…` when cut.
fn ellipsize(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
