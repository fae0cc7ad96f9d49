//! `mono cache prune`: shrinks the local cache to its limits, least recently used first, and
//! removes what killed runs and replaced entries left behind (docs/cache.md, "Eviction").

use std::path::Path;
use std::process::ExitCode;

use mono_engine::cache_pull;
use mono_engine::Workspace;

use crate::cli::CachePruneArgs;
use crate::error::Error;
use crate::report::Terminal;

/// `mono cache prune [--max-size SIZE] [--max-age AGE] [--dry]`.
pub fn prune(cwd: Option<&Path>, args: &CachePruneArgs) -> Result<ExitCode, Error> {
    let reporter = Terminal::new();
    let workspace = Workspace::load(cwd, &*reporter)?;
    let report = cache_pull::prune(
        &workspace,
        args.cache_dir.as_deref(),
        args.max_size.as_deref(),
        args.max_age.as_deref(),
        args.dry,
    )?;
    let evicted = &report.evicted;
    let human = super::cache::human_bytes;
    let verb = if args.dry { "would remove" } else { "removed" };
    let mut out = format!(
        "{verb} {} entries ({} unused for longer than the age limit, {} over the size limit), {}\n",
        evicted.expired + evicted.evicted,
        evicted.expired,
        evicted.evicted,
        human(evicted.bytes),
    );
    if !args.dry {
        out.push_str(&format!(
            "removed {} temporary files and {} orphaned archives, {}\n",
            report.temp_files,
            report.orphan_archives,
            human(report.leftover_bytes)
        ));
    }
    out.push_str(&format!(
        "kept {} entries, {} (limits: size {}, age {})\n",
        evicted.kept,
        human(evicted.kept_bytes),
        report.limits.max_size.map_or("none".to_owned(), human),
        report
            .limits
            .max_age
            .map_or("none".to_owned(), |age| format!("{}s", age.as_secs())),
    ));
    crate::report::stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}
