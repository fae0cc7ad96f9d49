//! Checks a [`Node`](crate::node::Node) tree against the schema of a root or package config
//! and builds the typed value, collecting every problem rather than stopping at the first.
//!
//! - `checker`: the [`Checker`] and the checks of single values (types, enumerations, typos);
//! - `root`: the top level of a root config (Turborepo 2.11's keys, `global`,
//!   `futureFlags`, `remoteCache`) and of a package config;
//! - `task`: task definitions (`dependsOn`, `with`, `$TURBO_EXTENDS$`, task `extends`);
//! - `image`: a package's `[image]` table (mono).

mod checker;
mod image;
mod root;
mod task;

pub use checker::did_you_mean;
pub(crate) use checker::Checker;
