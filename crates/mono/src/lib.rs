//! The `mono` command line: parses arguments, runs one command, reports errors.
//!
//! This crate is thin on purpose: it parses the arguments, loads the workspace once, calls
//! `mono-engine` (or, for `hook` and `migrate`, the crate that owns the job) and reports.
//! No command calls another command, nothing depends on this crate, and no crate below it
//! prints.

#![expect(
    clippy::result_large_err,
    reason = "errors carry the config text for their report; they are cold, and boxing them would clutter every `?`"
)]

mod argv;
mod cli;
mod commands;
mod error;
mod progress;
mod report;
mod tui;

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
    let args = argv::join_spaced_values(args);
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // `mono -F web build`, `mono --dry=json build`: run flags before the task.
        Err(err) => match args.get(1).and_then(|a| a.to_str()) {
            Some(first) if first.starts_with('-') => {
                match cli::Cli::try_parse_from(argv::with_run_at(&args, 1)) {
                    Ok(cli) => cli,
                    Err(_) => return clap_exit(&err),
                }
            }
            _ => return clap_exit(&err),
        },
    };
    let cli = match cli.command {
        // `mono build --dry` is `mono run build --dry`, global flags kept where they were.
        cli::Command::External(rest) => {
            if let Some((message, error)) = argv::turbo_subcommand(&rest[0]) {
                return turbo_only(&message, error);
            }
            let at = argv::external_start(&args, &rest).unwrap_or(1);
            match cli::Cli::try_parse_from(argv::with_run_at(&args, at)) {
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
        return ExitCode::from(error::EXIT_ENVIRONMENT);
    }
    code
}

/// A Turborepo subcommand mono does not have: said plainly, an error unless harmless.
fn turbo_only(message: &str, error: bool) -> ExitCode {
    use std::io::Write;
    let prefix = if error { "error: " } else { "" };
    let _ = writeln!(std::io::stderr(), "{prefix}{message}");
    match error {
        true => ExitCode::from(error::EXIT_USAGE),
        false => ExitCode::SUCCESS,
    }
}

fn clap_exit(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    if err.use_stderr() {
        ExitCode::from(error::EXIT_USAGE)
    } else {
        ExitCode::SUCCESS
    }
}
