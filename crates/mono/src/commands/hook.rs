//! `mono hook install|uninstall`: a git pre-push hook that runs `mono test --affected` for
//! the commits being pushed (written by mono-scm).

use std::path::Path;
use std::process::ExitCode;

use mono_engine::hooks::Uninstalled;
use mono_engine::{EngineError, Workspace};

use crate::cli::HookCommand;
use crate::error::Error;
use crate::report::Terminal;

pub fn hook(cwd: Option<&Path>, command: &HookCommand) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    let workspace = Workspace::load(cwd, &*reporter)?;
    let scm = workspace.scm();
    let text = match command {
        HookCommand::Install(args) => {
            let exe = std::env::current_exe()
                .and_then(std::fs::canonicalize)
                .map_err(EngineError::Cwd)?;
            let path = scm.install_pre_push_hook(&exe, args.force)?;
            format!(
                "installed the pre-push hook at {path}: `git push` runs `mono test --affected` ({})\n",
                exe.display()
            )
        }
        HookCommand::Uninstall => match scm.uninstall_pre_push_hook()? {
            Uninstalled::Absent(path) => format!("no pre-push hook at {path}\n"),
            Uninstalled::Removed(path) => format!("removed the pre-push hook at {path}\n"),
        },
    };
    crate::report::stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
