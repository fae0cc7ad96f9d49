//! `mono cache pull` (fill the local cache from the remote for a planned run),
//! `mono cache status` (what the caches hold) and `mono cache prune` (shrink the local
//! cache to its limits).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mono_cache::{CacheKey, CacheStatus, CacheStore, Lookup};
use mono_paths::AbsPath;

use crate::error::EngineError;
use crate::reporter::Reporter;
use crate::run::{Prepared, Run};
use crate::workspace::Workspace;

/// What a pull did.
#[derive(Debug, Clone)]
pub struct PullReport {
    /// Artifacts fetched and stored locally.
    pub fetched: u64,
    /// Artifacts the run would need that the local cache lacked.
    pub wanted: usize,
    /// Bytes fetched.
    pub bytes: u64,
    /// Artifacts the local cache already had.
    pub already: u64,
    /// Artifacts the remote did not have (or had corrupt, or could not give).
    pub missing: u64,
    /// The remote's URL.
    pub remote: String,
    /// How long the downloads took.
    pub elapsed: Duration,
}

/// Fetches, `parallel` at once, the remote artifact of every cacheable task of `prepared`
/// that the local cache lacks, and stores it locally.
pub fn pull(
    run: &Run,
    prepared: &Prepared,
    parallel: usize,
    reporter: Arc<dyn Reporter>,
) -> Result<PullReport, EngineError> {
    let local = run.local_store();
    let remote = run.remote(&local)?.ok_or(EngineError::NoRemoteCache)?;
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
    let names: Arc<HashMap<CacheKey, String>> = Arc::new(
        wanted
            .iter()
            .map(|(name, key)| (*key, name.clone()))
            .collect(),
    );
    let fetched = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let missing = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    let keys: Vec<CacheKey> = wanted.iter().map(|(_, key)| *key).collect();
    let url = remote.store.url().to_string();
    let on_result = {
        let (fetched, bytes, missing) = (
            Arc::clone(&fetched),
            Arc::clone(&bytes),
            Arc::clone(&missing),
        );
        let local = local.clone();
        let url = url.clone();
        let reporter = Arc::clone(&reporter);
        move |key: CacheKey, lookup: Result<Lookup, mono_cache::StoreError>| {
            let name = names.get(&key).map_or("?", String::as_str);
            match lookup {
                Ok(Lookup::Hit(artifact)) => match local.put(&artifact) {
                    Ok(()) => {
                        fetched.fetch_add(1, Ordering::SeqCst);
                        bytes.fetch_add(artifact.meta().archive.size, Ordering::SeqCst);
                        reporter.note(&format!("{name}: fetched {key}"));
                    }
                    Err(err) => reporter.warn(&format!("{name}: not stored locally: {err}")),
                },
                Ok(Lookup::Miss) => {
                    missing.fetch_add(1, Ordering::SeqCst);
                    reporter.note(&format!("{name}: not in the remote cache"));
                }
                Ok(Lookup::Corrupt(entry)) => {
                    missing.fetch_add(1, Ordering::SeqCst);
                    reporter.warn(&format!("{name}: remote {entry}; skipped"));
                }
                Err(err) => {
                    missing.fetch_add(1, Ordering::SeqCst);
                    reporter.warn(&format!(
                        "remote cache {url} is unavailable, nothing more is fetched: {}",
                        crate::remote::chain(&err)
                    ));
                }
            }
        }
    };
    if let Err(err) = remote.store.fetch_many(keys, parallel, on_result) {
        crate::remote::warn_down(&*reporter, &remote.store, &err);
    }
    Ok(PullReport {
        fetched: fetched.load(Ordering::SeqCst),
        wanted: wanted.len(),
        bytes: bytes.load(Ordering::SeqCst),
        already,
        missing: missing.load(Ordering::SeqCst),
        remote: url,
        elapsed: started.elapsed(),
    })
}

/// What the remote cache says of itself.
#[derive(Debug)]
pub enum RemoteStatus {
    /// None is configured.
    None,
    /// The Turborepo API cannot count entries.
    Uncounted {
        /// Its URL.
        url: String,
    },
    /// Counted.
    Counted {
        /// Its URL.
        url: String,
        /// Its entries and size.
        status: CacheStatus,
    },
    /// It did not answer.
    Unavailable {
        /// Its URL.
        url: String,
    },
}

/// What the caches hold.
#[derive(Debug)]
pub struct StatusReport {
    /// The local cache folder.
    pub local_dir: AbsPath,
    /// Its entries and size.
    pub local: CacheStatus,
    /// The remote's.
    pub remote: RemoteStatus,
}

/// The local cache's folder, entries and size; an S3 remote's too.
pub fn status(
    workspace: &Workspace,
    cache_dir: Option<&Path>,
    remote_flag: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<StatusReport, EngineError> {
    let local_dir = workspace.cache_dir(cache_dir);
    let local = mono_cache::LocalStore::new(local_dir.clone());
    let local_status = local.status().map_err(|source| EngineError::LocalCache {
        dir: local_dir.clone(),
        source,
    })?;
    let remote = crate::remote::resolve(
        remote_flag,
        &crate::options::RemoteAccess::default(),
        workspace,
        local.entries_dir().to_path_buf(),
    )?;
    let remote = match remote {
        None => RemoteStatus::None,
        Some(remote) if !remote.store.can_count() => RemoteStatus::Uncounted {
            url: remote.store.url().to_string(),
        },
        Some(remote) => match remote.store.status() {
            Ok(status) => RemoteStatus::Counted {
                url: remote.store.url().to_string(),
                status,
            },
            Err(err) => {
                crate::remote::warn_down(reporter, &remote.store, &err);
                RemoteStatus::Unavailable {
                    url: remote.store.url().to_string(),
                }
            }
        },
    };
    Ok(StatusReport {
        local_dir,
        local: local_status,
        remote,
    })
}

/// What `mono cache prune` did, or would do with `dry`.
#[derive(Debug)]
pub struct CachePruneReport {
    /// The local cache folder.
    pub dir: AbsPath,
    /// The limits applied.
    pub limits: mono_cache::CacheLimits,
    /// What eviction removed (or would remove) and kept.
    pub evicted: mono_cache::EvictReport,
    /// Temporary files of killed runs removed (none with `dry`).
    pub temp_files: u64,
    /// Archives of replaced entries removed (none with `dry`).
    pub orphan_archives: u64,
    /// The bytes those two took.
    pub leftover_bytes: u64,
}

/// Shrinks the local cache to its limits, least recently used first, and removes what
/// killed runs and replaced entries left behind. `max_size` and `max_age` override the
/// configured limits (`10GB`, `30d`; `0`: none).
pub fn prune(
    workspace: &Workspace,
    cache_dir: Option<&Path>,
    max_size: Option<&str>,
    max_age: Option<&str>,
    dry: bool,
) -> Result<CachePruneReport, EngineError> {
    let dir = workspace.cache_dir(cache_dir);
    let mut limits = crate::housekeeping::configured_limits(&workspace.config)?;
    let flag = |flag: &'static str, text: &str| {
        let text = text.to_owned();
        move |source| EngineError::CacheLimitFlag { flag, text, source }
    };
    if let Some(text) = max_size {
        limits.max_size = mono_config::parse_size(text).map_err(flag("--max-size", text))?;
    }
    if let Some(text) = max_age {
        limits.max_age = mono_config::parse_age(text).map_err(flag("--max-age", text))?;
    }
    let store = mono_cache::LocalStore::new(dir.clone());
    let failed = |source| EngineError::LocalCache {
        dir: dir.clone(),
        source,
    };
    let evicted = store.evict(limits, dry).map_err(failed)?;
    let mut report = CachePruneReport {
        dir: dir.clone(),
        limits,
        evicted,
        temp_files: 0,
        orphan_archives: 0,
        leftover_bytes: 0,
    };
    if !dry {
        let temp = store.clean_temp().map_err(failed)?;
        let orphans = store.prune().map_err(failed)?;
        report.temp_files = temp.temp_files + orphans.temp_files;
        report.orphan_archives = orphans.orphan_archives;
        report.leftover_bytes = temp.bytes + orphans.bytes;
    }
    Ok(report)
}
