//! One mono run as a library: from a resolved context (the repository, where mono started,
//! the cache folder, the options) to an outcome.
//!
//! The binary parses the command line into [`RunOptions`], loads the [`Workspace`] once,
//! and calls the engine; the engine selects packages, builds and hashes the task graph,
//! plugs the local and remote caches into the scheduler (the cache policy), runs the jobs
//! and returns a [`RunOutcome`]. It prints nothing: what it has to say goes to a
//! [`Reporter`], task logs to the writer the caller gives, and results are values.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mono_engine::{Reporter, Run, RunOptions, Selector, Workspace};
//!
//! struct Quiet;
//! impl Reporter for Quiet {
//!     fn warn(&self, _: &str) {}
//!     fn note(&self, _: &str) {}
//! }
//!
//! let workspace = Workspace::load_listing_files(None, &Quiet)?;
//! let options = RunOptions {
//!     selector: Selector { tasks: vec!["build".into()], ..Selector::default() },
//!     ..RunOptions::default()
//! };
//! let mut run = Run::new(workspace, options, Arc::new(Quiet))?;
//! let prepared = run.prepare()?;
//! let outcome = run.execute(&prepared, Box::new(std::io::sink()))?;
//! println!("{} of {} tasks cached", outcome.cached, outcome.total);
//! # Ok::<(), mono_engine::EngineError>(())
//! ```
//!
//! It is its own crate so that every command (`run`, `image`, `cache pull`, `prune`,
//! `ls`) calls one implementation of each step instead of calling each other, and so
//! that the binary stays argument parsing and reporting (docs/decisions/004-engine-crate.md).

#![expect(
    clippy::result_large_err,
    reason = "errors carry the config text for their report; they are cold, and boxing them would clutter every `?`"
)]

mod cache_policy;
pub mod cache_pull;
mod error;
mod execute;
mod housekeeping;
#[cfg(feature = "images")]
pub mod images;
mod listing;
mod options;
mod profile;
pub mod prune;
mod remote;
mod reporter;
mod run;
mod selection;
pub mod shards;
mod summary;
pub mod summary_diff;
mod task_env;
mod why;
mod workspace;

pub use error::{EngineError, ErrorKind};
pub use execute::{RunOutcome, RunStatus};
pub use housekeeping::{configured_limits, LOCK_ENV};
pub use listing::{list, ListedPackage, Listing, LS_FORMAT_VERSION};
pub use options::{
    CacheAccess, CacheSpecError, Concurrency, ContinueMode, LogOrderChoice, LogPrefix,
    RemoteAccess, RunOptions, Selector,
};
pub use profile::{Profile, PROFILE_FORMAT_VERSION};
pub use remote::{chain as error_chain, resolve as resolve_remote, Remote};
pub use reporter::{PlannedTask, Reporter};
pub use run::{Planned, Prepared, Run};
pub use selection::{AffectedRange, Selection};
pub use summary::{SUMMARY_DIR, SUMMARY_FORMAT_VERSION};
pub use task_env::MINIMAL_ENV;
pub use why::{
    ComparedEntry, EarlierEntry, EntrySource, Explanation, ExplanationKind, HashComparison,
    WhyCache, WhyReport, MISS_LINE_CAUSES, WHY_FORMAT_VERSION,
};
pub use workspace::{find_root, start_dir, Workspace, DEFAULT_CACHE_DIR, TURBO_JSON_CACHE_DIR};

pub use mono_config::windowed;
/// The values options are made of, re-exported so that the binary needs no other crate.
pub use mono_config::{EnvMode, OutputLogs as ConfiguredOutputLogs, Ui as ConfiguredUi};
/// The input manifest and its causes, as `mono why` shows them (docs/why.md).
pub use mono_hash::{Cause, Change, ExternalManifest, TaskManifest};
pub use mono_paths::AbsPath;
pub use mono_run::{JobResult, LogOrder, OutputLogs, RunHandle};
pub use mono_task_id::{PackageName, TaskId};
pub use mono_tasks::{Plan, TaskGraph};

/// The git pre-push hook (`mono hook`), kept by mono-scm.
pub mod hooks {
    pub use mono_scm::{HookError, Uninstalled};
}

/// turbo.json to turbo.toml (`mono migrate`), kept by mono-config.
pub mod migrate {
    pub use mono_config::{turbo_json_to_toml, MigrateError};
}
