//! One file per subcommand; this module only dispatches.

mod cache;
mod cache_prune;
mod ci;
mod completion;
mod hook;
#[cfg(feature = "images")]
pub(crate) mod image;
mod ls;
mod migrate;
mod prune;
mod run;
mod summary;
mod why;

use std::process::ExitCode;

use crate::cli::{CacheCommand, CiCommand, Cli, Command, SummaryCommand};
use crate::error::Error;

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
    let cwd = cli.cwd.as_deref();
    match cli.command {
        Command::Run(args) => run::run(cwd, &cli.turbo, args),
        Command::Ls(args) => ls::ls(cwd, &args),
        Command::Migrate(args) => migrate::migrate(cwd, &args),
        #[cfg(feature = "images")]
        Command::Image(args) => image::image(cwd, &cli.turbo, args),
        Command::Prune(args) => prune::prune(cwd, &args),
        #[cfg(feature = "images")]
        Command::ImageTask(args) => image::image_task(cwd, &args),
        Command::Hook(command) => hook::hook(cwd, &command),
        Command::Cache(CacheCommand::Pull(args)) => cache::pull(cwd, args),
        Command::Cache(CacheCommand::Status(args)) => cache::status(cwd, &args),
        Command::Cache(CacheCommand::Prune(args)) => cache_prune::prune(cwd, &args),
        Command::Why(args) => why::why(cwd, args),
        Command::Summary(SummaryCommand::Diff(args)) => summary::diff(&args),
        Command::Ci(CiCommand::Plan(args)) => ci::plan(cwd, &cli.turbo, args),
        Command::Completion { shell } => completion::completion(shell),
        Command::External(_) => unreachable!("external subcommands are re-parsed as `run`"),
    }
}
