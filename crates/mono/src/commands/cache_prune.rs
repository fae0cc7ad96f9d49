//! `mono cache prune`: shrinks the local cache to its limits, least recently used first, and
//! removes what killed runs and replaced entries left behind (docs/cache.md, "Eviction").

use std::process::ExitCode;

use mono_cache::LocalStore;

use crate::cli::CachePruneArgs;
use crate::error::Error;
use crate::repo::Repo;

/// `mono cache prune [--max-size SIZE] [--max-age AGE] [--dry]`.
pub fn prune(cwd: Option<&std::path::Path>, args: &CachePruneArgs) -> Result<ExitCode, Error> {
    let repo = Repo::load(cwd)?;
    let base = match &repo.cwd {
        cwd if cwd.is_root() => repo.root.clone(),
        cwd => repo.root.join_repo(cwd),
    };
    let cache_dir = match (&args.cache_dir, &repo.config.cache_dir) {
        (Some(dir), _) => base.join(dir),
        (None, Some(dir)) => repo.root.join(&dir.value),
        (None, None) => repo.root.join("cache"),
    };
    let mut limits = crate::cache_hooks::configured_limits(&repo.config)?;
    let flag = |name: &str, text: &str, err: mono_config::LimitError| Error::Usage {
        message: format!("`{name} {text}`: {err}"),
        help: Some(format!(
            "for example `{name} {}`, or `{name} 0` for no limit",
            if name == "--max-size" { "10GB" } else { "30d" }
        )),
    };
    if let Some(text) = &args.max_size {
        limits.max_size = mono_config::parse_size(text).map_err(|e| flag("--max-size", text, e))?;
    }
    if let Some(text) = &args.max_age {
        limits.max_age = mono_config::parse_age(text).map_err(|e| flag("--max-age", text, e))?;
    }
    let store = LocalStore::new(cache_dir.clone());
    let failed = |err: mono_cache::StoreError| Error::Usage {
        message: format!("cannot prune the local cache {cache_dir}: {err}"),
        help: None,
    };
    let report = store.evict(limits, args.dry).map_err(failed)?;
    let (temp, orphans, leftover_bytes) = match args.dry {
        true => (0, 0, 0),
        false => {
            let temp = store.clean_temp().map_err(failed)?;
            let orphans = store.prune().map_err(failed)?;
            (
                temp.temp_files + orphans.temp_files,
                orphans.orphan_archives,
                temp.bytes + orphans.bytes,
            )
        }
    };
    let verb = if args.dry { "would remove" } else { "removed" };
    let mut out = format!(
        "{verb} {} entries ({} unused for longer than the age limit, {} over the size limit), {}\n",
        report.expired + report.evicted,
        report.expired,
        report.evicted,
        super::cache::human_bytes(report.bytes),
    );
    if !args.dry {
        out.push_str(&format!(
            "removed {temp} temporary files and {orphans} orphaned archives, {}\n",
            super::cache::human_bytes(leftover_bytes)
        ));
    }
    out.push_str(&format!(
        "kept {} entries, {} (limits: size {}, age {})\n",
        report.kept,
        super::cache::human_bytes(report.kept_bytes),
        limits
            .max_size
            .map_or("none".to_owned(), super::cache::human_bytes),
        limits
            .max_age
            .map_or("none".to_owned(), |age| format!("{}s", age.as_secs())),
    ));
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|err| Error::Usage {
            message: format!("cannot write to stdout: {err}"),
            help: None,
        })?;
    Ok(ExitCode::SUCCESS)
}
