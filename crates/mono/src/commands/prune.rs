//! `mono prune <pkg>...`: a copy of the repository with only the named packages, their
//! internal dependencies, the root's own files and pruned lockfiles (docs/images.md).

use std::path::Path;
use std::process::ExitCode;

use mono_engine::prune::{self, PruneRequest};
use mono_engine::Workspace;

use crate::cli::PruneArgs;
use crate::error::Error;
use crate::report::Terminal;

pub fn prune(cwd: Option<&Path>, args: &PruneArgs) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    let workspace = Workspace::load(cwd, &*reporter)?;
    let request = PruneRequest {
        packages: args.packages.clone(),
        docker: args.docker,
        out_dir: args.out_dir.clone(),
    };
    let pruned = prune::prune(&workspace, &request, &*reporter)?;
    let count = pruned.packages.len();
    let names: Vec<&str> = pruned.packages.iter().map(|p| p.as_str()).collect();
    let mut text = format!(
        "Pruned to {count} package{} ({}) in {}\n",
        if count == 1 { "" } else { "s" },
        names.join(", "),
        pruned.out
    );
    for (lockfile, command) in &pruned.checks {
        text.push_str(&format!("  {lockfile}: `{command}` accepts it\n"));
    }
    crate::report::stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
