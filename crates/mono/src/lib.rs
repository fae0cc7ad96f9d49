//! The `mono` command line: parses arguments, runs one command, reports errors.
//!
//! This crate is thin on purpose: each command in `commands/` wires the library crates
//! together (config → workspace → tasks → …) and prints what they return. Nothing depends
//! on this crate, and no crate below it prints.

#![expect(
    clippy::result_large_err,
    reason = "errors carry the config text for their report; they are cold, and boxing them would clutter every `?`"
)]

mod cache_hooks;
mod cli;
mod commands;
mod error;
mod execute;
mod progress;
mod remote;
mod repo;
mod report;
mod selection;
mod task_env;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use error::Error;

/// Runs mono with the process's arguments and returns its exit code (docs/exit-codes.md).
pub fn run() -> ExitCode {
    run_with(std::env::args_os().collect())
}

/// When this process started mono: the summary's `Time` is the whole run's, hashing and
/// cache lookups included, as in Turborepo.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// How long ago mono started.
pub(crate) fn elapsed() -> std::time::Duration {
    STARTED.get_or_init(std::time::Instant::now).elapsed()
}

fn run_with(args: Vec<OsString>) -> ExitCode {
    STARTED.get_or_init(std::time::Instant::now);
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => return clap_exit(&err),
    };
    let cli = match cli.command {
        // `mono build --dry` is `mono run build --dry`.
        cli::Command::External(rest) => {
            let mut again: Vec<OsString> = vec!["mono".into()];
            if let Some(cwd) = &cli.cwd {
                again.push("--cwd".into());
                again.push(cwd.into());
            }
            again.push("run".into());
            again.extend(rest.into_iter().map(OsString::from));
            match cli::Cli::try_parse_from(again) {
                Ok(cli) => cli,
                Err(err) => return clap_exit(&err),
            }
        }
        _ => cli,
    };
    let code = match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            report::print_error(&err);
            ExitCode::from(err.exit_code())
        }
    };
    // A warning or error lost to a failing stderr is not a success.
    if report::stderr_failed() && code == ExitCode::SUCCESS {
        return ExitCode::from(error::EXIT_TASK_FAILED);
    }
    code
}

fn clap_exit(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    if err.use_stderr() {
        ExitCode::from(error::EXIT_USAGE)
    } else {
        ExitCode::SUCCESS
    }
}
