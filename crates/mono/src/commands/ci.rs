//! `mono ci plan <task>... --shards N`: the split of a run across CI machines (docs/ci.md).

use std::path::Path;
use std::process::ExitCode;

use mono_engine::{RemoteAccess, Run, RunOptions, Selector, Workspace};

use crate::cli::{CiPlanArgs, TurboGlobalArgs};
use crate::error::Error;
use crate::report::Terminal;

pub fn plan(
    cwd: Option<&Path>,
    turbo: &TurboGlobalArgs,
    args: CiPlanArgs,
) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    let (remote_cache, remote_access): (Option<String>, RemoteAccess) =
        super::run::remote_settings(&args.location, turbo);
    let options = RunOptions {
        selector: Selector {
            tasks: args.tasks,
            filters: args.packages.filter,
            affected: args.packages.affected,
            only: args.only,
            pass_through: args.pass_through,
        },
        concurrency: args.concurrency,
        global_deps: args.global_deps,
        cache_dir: args.location.cache_dir,
        remote_cache,
        remote_access,
        env_mode: args.env_mode,
        ..RunOptions::default()
    };
    let workspace = Workspace::load_listing_files(cwd, &*reporter)?;
    let mut run = Run::new(workspace, options, reporter.clone())?;
    let prepared = run.prepare()?;
    let plan = run.ci_plan(&prepared, args.shards)?;
    match args.json {
        true => crate::report::stdout(&format!("{}\n", plan.to_json()))?,
        false => crate::report::stdout(&plan.to_text())?,
    }
    Ok(ExitCode::SUCCESS)
}
