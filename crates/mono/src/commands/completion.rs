//! `mono completion <shell>`: the shell completion script, generated from the clap command
//! line so that it always matches it (commands, flags, value names).

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Error;

pub fn completion(shell: Shell) -> Result<ExitCode, Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mono", &mut script);
    // A closed pipe (`mono completion bash | head`) is not an error, as for every command.
    let _ = std::io::stdout().lock().write_all(&script);
    Ok(ExitCode::SUCCESS)
}
