//! The command line as clap parses it: raw values, checked and resolved later.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A monorepo build orchestrator for Node, Rust, Go and plain folders.
#[derive(Debug, Parser)]
#[command(
    name = "mono",
    version,
    about,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Run as if started in this directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// mono's commands. Any other word is a task: `mono build` is `mono run build`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run tasks across the repository's packages.
    Run(RunArgs),
    /// List the repository's packages.
    Ls(LsArgs),
    /// Write turbo.toml from turbo.json.
    Migrate(MigrateArgs),
    /// `mono <task>...`: the same as `mono run <task>...`.
    #[command(external_subcommand)]
    External(Vec<String>),
}

/// How `--dry` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryFormat {
    /// A table for people.
    Text,
    /// The documented JSON (docs/dry-run.md).
    Json,
}

/// `mono run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The tasks to run (`build`, `web#build`).
    #[arg(required = true, value_name = "TASK")]
    pub tasks: Vec<String>,

    /// Select packages (Turborepo syntax: `web`, `@scope/*`, `./apps/*`, `web...`,
    /// `...web`, `!web`). Repeat to combine.
    #[arg(long, short = 'F', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// Run only the named tasks, not the tasks they depend on.
    #[arg(long)]
    pub only: bool,

    /// Print the plan instead of running it.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "FORMAT")]
    pub dry: Option<DryFormat>,

    /// Write the task graph instead of running it: to stdout as `dot`, `mermaid` or `json`,
    /// or to a file whose extension (.dot, .gv, .mermaid, .mmd, .json) picks the format.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "dot", value_name = "FORMAT|FILE")]
    pub graph: Option<String>,
}

/// `mono ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print JSON (docs/ls.md).
    #[arg(long)]
    pub json: bool,

    /// Select packages, as for `mono run`.
    #[arg(long, short = 'F', value_name = "FILTER")]
    pub filter: Vec<String>,
}

/// `mono migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Overwrite an existing turbo.toml.
    #[arg(long)]
    pub force: bool,
}
