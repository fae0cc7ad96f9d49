//! From "which tasks, in which packages" to a validated task graph and the plan of a run.
//!
//! - [`Filter`]: Turborepo's `--filter` syntax, selecting packages of the package graph,
//!   git ranges included; [`ChangeDetector`]: which packages changed between two points of
//!   history, and why (`--affected`).
//! - [`build_task_graph`]: the requested tasks of the selected packages plus everything their
//!   `dependsOn` and `with` reach, checked (unknown tasks and packages, persistent
//!   dependencies, cycles) and frozen into a [`TaskGraph`]; stale references the run does not
//!   reach become [`TaskGraphWarning`]s.
//! - [`Plan`]: what `--dry` prints, text or JSON, with the field names of Turborepo's;
//!   [`graph_page`]: the plan drawn as a web page (`--graph=FILE.html`).
//!
//! It is its own crate because both a dry run and a real run start from the same graph,
//! and the scheduler should only ever see a graph that is already valid.

#![expect(
    clippy::result_large_err,
    reason = "errors carry the config text for their report; they are cold, and boxing them would clutter every `?`"
)]

mod affected;
mod engine;
mod error;
mod filter;
mod graph;
mod graph_page;
mod hashes;
mod lockfiles;
mod plan;
mod split;

pub use affected::{AffectedError, AffectedReason, ChangeDetector, ChangedPackages};
pub use engine::{
    build_task_graph, image_command, resolve_command, TaskRequest, IMAGE_COMMAND, IMAGE_TASK,
};
pub use error::{TaskGraphError, TaskGraphWarning};
pub use filter::{
    filter_warnings, select_packages, ChangedByRange, Filter, FilterError, FilterWarning, GitRange,
};
pub use graph::{TaskGraph, TaskNode};
pub use graph_page::{graph_page, GRAPH_PAGE_FORMAT_VERSION};
pub use hashes::{
    hash_tasks, hash_tasks_with_files, HashWarning, HashingError, TaskHashFacts, TaskHashes,
};
pub use lockfiles::lockfile_member;
pub use plan::{
    CacheState, CacheStatus, EnvironmentVariables, GlobalCacheInputs, Plan, PlanDetails,
    PlannedTask, ScmInfo, SpecifiedEnv, TaskHashDetails, DRY_RUN_FORMAT_VERSION,
    NONEXISTENT_COMMAND, OPT_OUT_COMMAND,
};
pub use split::{split, ShardEstimate, Split, SplitOptions, SplitStrategy, SplitTask, TRANSFER_MS};

/// The version of the `--graph` JSON format.
pub const GRAPH_FORMAT_VERSION: &str = "1";

#[cfg(test)]
mod tests;
