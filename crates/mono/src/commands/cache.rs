//! `mono cache pull` and `mono cache status`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use mono_cache::{CacheKey, CacheStore, LocalStore, Lookup};

use crate::cli::{CachePullArgs, CacheStatusArgs, RunArgs};
use crate::error::Error;
use crate::repo::Repo;

/// `mono cache pull <tasks>`: fetches, in parallel, the remote artifact of every cacheable
/// task of the planned run that the local cache lacks, and stores it locally.
pub fn pull(cwd: Option<&std::path::Path>, args: CachePullArgs) -> Result<ExitCode, Error> {
    let run_args = RunArgs {
        tasks: args.tasks,
        filter: args.filter,
        affected: args.affected,
        only: args.only,
        dry: None,
        graph: None,
        force: false,
        concurrency: None,
        continue_on_error: false,
        output_logs: None,
        log_order: "auto".to_owned(),
        cache_dir: args.cache_dir,
        cache: None,
        remote_cache: args.remote_cache.clone(),
        env_mode: None,
    };
    let prepared = super::run::prepare(cwd, run_args)?.expect("no --graph: always prepared");
    let local = LocalStore::new(prepared.cache_dir.clone());
    let Some(remote) = crate::remote::resolve(
        args.remote_cache.as_deref(),
        &prepared.repo,
        local.entries_dir().to_path_buf(),
    )?
    else {
        return Err(Error::Usage {
            message: "no remote cache is configured".to_owned(),
            help: Some(
                "pass --remote-cache URL, set MONO_REMOTE_CACHE, or set remoteCache.apiUrl in turbo.toml"
                    .to_owned(),
            ),
        });
    };
    let mut wanted: Vec<(String, CacheKey)> = Vec::new();
    let mut already = 0u64;
    for task in prepared.graph.in_dependency_order() {
        if task.command.is_none() || !task.definition.cache || task.definition.persistent {
            continue;
        }
        let key = CacheKey::from_bytes(*prepared.hashes.tasks[&task.id].hash.as_bytes());
        if local.exists(&key).unwrap_or(false) {
            already += 1;
        } else {
            wanted.push((task.id.to_string(), key));
        }
    }
    let names: std::collections::HashMap<CacheKey, String> = wanted
        .iter()
        .map(|(name, key)| (*key, name.clone()))
        .collect();
    let names = Arc::new(names);
    let fetched = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let missing = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    let keys: Vec<CacheKey> = wanted.iter().map(|(_, key)| *key).collect();
    let total = keys.len();
    {
        let (names, fetched, bytes, missing) = (
            Arc::clone(&names),
            Arc::clone(&fetched),
            Arc::clone(&bytes),
            Arc::clone(&missing),
        );
        let local = local.clone();
        let url = remote.store.url().to_string();
        let result = remote
            .store
            .fetch_many(keys, args.parallel, move |key, lookup| {
                let name = names.get(&key).map_or("?", String::as_str);
                match lookup {
                    Ok(Lookup::Hit(artifact)) => match local.put(&artifact) {
                        Ok(()) => {
                            fetched.fetch_add(1, Ordering::SeqCst);
                            bytes.fetch_add(artifact.meta().archive.size, Ordering::SeqCst);
                            crate::report::note(&format!("{name}: fetched {key}"));
                        }
                        Err(err) => {
                            crate::report::warn(&format!("{name}: not stored locally: {err}"))
                        }
                    },
                    Ok(Lookup::Miss) => {
                        missing.fetch_add(1, Ordering::SeqCst);
                        crate::report::note(&format!("{name}: not in the remote cache"));
                    }
                    Ok(Lookup::Corrupt(entry)) => {
                        missing.fetch_add(1, Ordering::SeqCst);
                        crate::report::warn(&format!("{name}: remote {entry}; skipped"));
                    }
                    Err(err) => {
                        missing.fetch_add(1, Ordering::SeqCst);
                        crate::report::warn(&format!(
                            "remote cache {url} is unavailable, nothing more is fetched: {}",
                            crate::remote::chain(&err)
                        ));
                    }
                }
            });
        if let Err(err) = result {
            crate::remote::warn_down(&remote.store, &err);
        }
    }
    let fetched = fetched.load(Ordering::SeqCst);
    crate::report::note(&format!(
        "pulled {fetched} of {total} artifacts ({}) from {} in {:.1}s; {already} were already local, {} not found",
        human_bytes(bytes.load(Ordering::SeqCst)),
        remote.store.url(),
        started.elapsed().as_secs_f64(),
        missing.load(Ordering::SeqCst),
    ));
    Ok(ExitCode::SUCCESS)
}

/// `mono cache status`: the local cache's folder, entries and size; an S3 remote's too.
pub fn status(cwd: Option<&std::path::Path>, args: &CacheStatusArgs) -> Result<ExitCode, Error> {
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
    let local = LocalStore::new(cache_dir.clone());
    let status = local.status().map_err(|err| Error::Usage {
        message: format!("cannot read the local cache: {err}"),
        help: None,
    })?;
    let mut out = format!(
        "local cache: {cache_dir}\n  entries: {}\n  size:    {}\n",
        status.entries,
        human_bytes(status.total_bytes)
    );
    let remote = crate::remote::resolve(
        args.remote_cache.as_deref(),
        &repo,
        local.entries_dir().to_path_buf(),
    )?;
    match remote {
        None => out.push_str("remote cache: none configured\n"),
        Some(remote) if !remote.store.can_count() => out.push_str(&format!(
            "remote cache: {} (the Turborepo API cannot count entries)\n",
            remote.store.url()
        )),
        Some(remote) => match remote.store.status() {
            Ok(status) => out.push_str(&format!(
                "remote cache: {}\n  entries: {}\n  size:    {}\n",
                remote.store.url(),
                status.entries,
                human_bytes(status.total_bytes)
            )),
            Err(err) => {
                out.push_str(&format!("remote cache: {}\n", remote.store.url()));
                crate::remote::warn_down(&remote.store, &err);
            }
        },
    }
    crate::report::write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn human_bytes(bytes: u64) -> String {
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
