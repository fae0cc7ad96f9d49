//! `mono cache pull` and `mono cache status`.

use std::path::Path;
use std::process::ExitCode;

use mono_engine::cache_pull::{self, RemoteStatus};
use mono_engine::{Run, RunOptions, Selector, Workspace};

use crate::cli::{CachePullArgs, CacheStatusArgs};
use crate::error::Error;
use crate::report::Terminal;

/// `mono cache pull <tasks>`: fetches, in parallel, the remote artifact of every cacheable
/// task of the planned run that the local cache lacks, and stores it locally.
pub fn pull(cwd: Option<&Path>, args: CachePullArgs) -> Result<ExitCode, Error> {
    let options = RunOptions {
        selector: Selector {
            tasks: args.tasks,
            filters: args.packages.filter,
            affected: args.packages.affected,
            only: args.only,
            pass_through: Vec::new(),
        },
        cache_dir: args.location.cache_dir,
        remote_cache: args.location.remote_cache,
        ..RunOptions::default()
    };
    let reporter = Terminal::new();
    let workspace = Workspace::load_listing_files(cwd, &*reporter)?;
    let mut run = Run::new(workspace, options, reporter.clone())?;
    let planned = run.plan()?;
    run.hold_checkout()?;
    let prepared = run.hash(planned)?;
    let report = cache_pull::pull(&run, &prepared, args.parallel, reporter.clone())?;
    mono_engine::Reporter::note(
        &*reporter,
        &format!(
            "pulled {} of {} artifacts ({}) from {} in {:.1}s; {} were already local, {} not found",
            report.fetched,
            report.wanted,
            human_bytes(report.bytes),
            report.remote,
            report.elapsed.as_secs_f64(),
            report.already,
            report.missing,
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// `mono cache status`: the local cache's folder, entries and size; an S3 remote's too.
pub fn status(cwd: Option<&Path>, args: &CacheStatusArgs) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    let workspace = Workspace::load(cwd, &*reporter)?;
    let report = cache_pull::status(
        &workspace,
        args.location.cache_dir.as_deref(),
        args.location.remote_cache.as_deref(),
        &*reporter,
    )?;
    let mut out = format!(
        "local cache: {}\n  entries: {}\n  size:    {}\n",
        report.local_dir,
        report.local.entries,
        human_bytes(report.local.total_bytes)
    );
    match report.remote {
        RemoteStatus::None => out.push_str("remote cache: none configured\n"),
        RemoteStatus::Uncounted { url } => out.push_str(&format!(
            "remote cache: {url} (the Turborepo API cannot count entries)\n"
        )),
        RemoteStatus::Counted { url, status } => out.push_str(&format!(
            "remote cache: {url}\n  entries: {}\n  size:    {}\n",
            status.entries,
            human_bytes(status.total_bytes)
        )),
        RemoteStatus::Unavailable { url } => out.push_str(&format!("remote cache: {url}\n")),
    }
    crate::report::stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for next in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit} ({bytes} bytes)")
}
