//! `mono ls`: the packages, their language, folder and internal dependencies.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use mono_engine::Workspace;

use crate::cli::LsArgs;
use crate::error::Error;
use crate::report::Terminal;

pub fn ls(cwd: Option<&Path>, args: &LsArgs) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    let workspace = Workspace::load_for_listing(cwd, &*reporter)?;
    let listing = mono_engine::list(
        &workspace,
        &args.packages.filter,
        args.packages.affected,
        &*reporter,
    )?;
    if args.json {
        let text = serde_json::to_string_pretty(&listing.to_json()).expect("serializes");
        return crate::report::stdout(&format!("{text}\n")).map(|()| ExitCode::SUCCESS);
    }
    let listed = &listing.packages;
    let width = listed.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let dir_width = listed.iter().map(|p| p.directory.len()).max().unwrap_or(0);
    let mut out = String::new();
    match &listing.affected {
        Some(range) => {
            let _ = writeln!(
                out,
                "{} affected packages (from {} to {})",
                listed.len(),
                range.resolved_base.as_deref().unwrap_or("an unknown base"),
                range.head.as_deref().unwrap_or("the work tree")
            );
        }
        None => {
            let _ = writeln!(out, "{} packages", listed.len());
        }
    }
    for p in listed {
        let tail = match &p.reason {
            Some(reason) => reason.to_string(),
            None if p.dependencies.is_empty() => "-> -".to_owned(),
            None => format!("-> {}", p.dependencies.join(", ")),
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {:<7}  {:<dir_width$}  {tail}",
            p.name, p.language, p.directory
        );
    }
    crate::report::stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}
