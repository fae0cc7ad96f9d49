//! Plugs the caches into the scheduler: a hit restores outputs and replays the log, a
//! successful miss stores outputs and log. The local cache is asked first; on a miss, the
//! remote one, whose hits are copied into the local cache. Results go to the local cache at
//! once and to the remote in the background. A cache problem never fails a build: it is
//! reported once and the task runs (or its result is not stored).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mono_cache::{
    Artifact, CacheKey, CacheStore, LoadError, LocalStore, Lookup, OutputRecords, PackRequest,
    Protected, ProtectedFiles, RemoteStore, RestorePolicy, StoreError, TaskInfo,
};
use mono_paths::{AbsPath, RepoPath};
use mono_run::{Before, Hooks, Job};
use mono_task_id::TaskId;

/// What the hooks need to know of one task.
pub struct CachedTask {
    /// The task hash as a cache key; `None` when the task is not cacheable.
    pub key: Option<CacheKey>,
    /// The package folder (outputs are relative to it).
    pub package_dir: RepoPath,
    /// The `outputs` globs.
    pub outputs: Vec<String>,
    /// What restoring its cache entry may write ([`restore_policy`]).
    pub restore: RestorePolicy,
    /// Its input files, as hashed.
    pub inputs: Vec<RepoPath>,
    /// The tasks it depends on (their outputs are its inputs too).
    pub dependencies: Vec<TaskId>,
}

/// Only the task's declared outputs, nothing under `.git`, no file git tracks in `protected`
/// (docs/security.md). Outputs that do not compile allow nothing: such a task stores
/// nothing either.
pub fn restore_policy(
    package_dir: &RepoPath,
    outputs: &[String],
    protected: &Arc<ProtectedFiles>,
) -> RestorePolicy {
    let matcher = mono_hash::OutputGlobs::new(outputs).and_then(|g| g.matcher(package_dir));
    match matcher {
        Ok(matcher) => RestorePolicy::new(move |path| matcher.matches(path), protected.clone()),
        Err(_) => RestorePolicy::new(|_| false, protected.clone()),
    }
}

/// Set in the environment of tasks to the lock file their run holds: a mono run started
/// by a task of that run (a script that runs mono) is nested in it and must not wait for it.
pub const LOCK_ENV: &str = "MONO_CHECKOUT_LOCK";

/// Takes the checkout's lock (one checkout, one writer), saying so while it waits; with
/// `no_wait`, another run holding it is an error (exit 2). `None`: this run is nested in a
/// task of the run that holds the lock ([`LOCK_ENV`]), which it must not wait for.
pub fn lock_checkout(
    cache_dir: &AbsPath,
    root: &AbsPath,
    no_wait: bool,
) -> Result<Option<mono_cache::CheckoutLock>, crate::error::Error> {
    let path = mono_cache::CheckoutLock::path_for(cache_dir, root);
    let nested = std::env::var(LOCK_ENV).is_ok_and(|held| held == path.display().to_string());
    if nested {
        // Still held (by the run this one is nested in): go ahead without it.
        match mono_cache::CheckoutLock::acquire(cache_dir, root, false, |_| {}) {
            Ok(lock) => return Ok(Some(lock)),
            Err(mono_cache::LockError::Busy { .. }) => return Ok(None),
            Err(_) => {}
        }
    }
    let waiting = |pid: Option<u32>| {
        let pid = pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default();
        crate::report::note(&format!(
            "waiting for another mono run in this checkout{pid}…"
        ));
    };
    mono_cache::CheckoutLock::acquire(cache_dir, root, !no_wait, waiting)
        .map(Some)
        .map_err(|err| crate::error::Error::Usage {
            message: err.to_string(),
            help: Some("wait for it to finish, or run without --no-wait to wait".to_owned()),
        })
}

/// The local cache's limits: `TURBO_CACHE_MAX_SIZE` / `TURBO_CACHE_MAX_AGE` if set (as in
/// Turborepo), else `cacheMaxSize` / `cacheMaxAge` from turbo.toml; none by default.
pub fn configured_limits(
    config: &mono_config::RootConfig,
) -> Result<mono_cache::CacheLimits, crate::error::Error> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let bad = |name: &str, err: mono_config::LimitError| crate::error::Error::Usage {
        message: format!("{name}: {err}"),
        help: Some(format!(
            "set {name} to a value such as `10GB` or `30d`, or `0`"
        )),
    };
    let max_size = match env("TURBO_CACHE_MAX_SIZE") {
        Some(text) => mono_config::parse_size(&text).map_err(|e| bad("TURBO_CACHE_MAX_SIZE", e))?,
        None => config.cache_max_size.as_ref().and_then(|s| s.value),
    };
    let max_age = match env("TURBO_CACHE_MAX_AGE") {
        Some(text) => mono_config::parse_age(&text).map_err(|e| bad("TURBO_CACHE_MAX_AGE", e))?,
        None => config.cache_max_age.as_ref().and_then(|s| s.value),
    };
    Ok(mono_cache::CacheLimits { max_size, max_age })
}

/// At the start of a run that writes, with the checkout's lock held: removes the temporary
/// files of killed runs.
pub fn clean_at_start(cache_dir: &AbsPath) {
    // Best effort: leftovers only take room, and the next run tries again.
    let _ = LocalStore::new(cache_dir.clone()).clean_temp();
}

/// After a run that wrote the local cache: removes orphaned archives, then applies the
/// configured limits, least recently used first.
pub fn evict_after_run(cache_dir: &AbsPath, config: &mono_config::RootConfig) {
    let store = LocalStore::new(cache_dir.clone());
    let _ = store.prune();
    match configured_limits(config) {
        Ok(limits) if limits == mono_cache::CacheLimits::default() => {}
        Ok(limits) => {
            if let Err(err) = store.evict(limits, false) {
                crate::report::warn(&format!("cache limits not applied: {err}"));
            }
        }
        Err(err) => crate::report::warn(&format!("cache limits not applied: {err}")),
    }
}

/// What git tracks in the checkout at `root`, and its hooks folder: listed by the first
/// restore of the run, never by a run of warm hits.
pub fn protected_files(root: &AbsPath) -> Arc<ProtectedFiles> {
    let root = root.clone();
    Arc::new(ProtectedFiles::lazy(move || {
        let scm = mono_scm::Scm::discover(&root);
        let tracked = scm.tracked_files().map_err(|e| Arc::new(e) as LoadError)?;
        let hooks = scm.hooks_dir().map_err(|e| Arc::new(e) as LoadError)?;
        let mut folders = tracked.submodules;
        folders.extend(hooks.and_then(|dir| dir.strip_root(&root)));
        Ok(Protected::new(tracked.files, folders))
    }))
}

/// How the caches may be used in this run.
#[derive(Debug, Clone, Copy)]
pub struct CacheAccess {
    /// Look up hits in the local cache.
    pub read: bool,
    /// Store results in the local cache.
    pub write: bool,
    /// Look up hits in the remote cache.
    pub remote_read: bool,
    /// Store results in the remote cache.
    pub remote_write: bool,
}

impl CacheAccess {
    /// Both caches read and written: the default.
    pub const ALL: CacheAccess = CacheAccess {
        read: true,
        write: true,
        remote_read: true,
        remote_write: true,
    };
}

/// Cache hooks for one run.
pub struct CacheHooks {
    pub store: LocalStore,
    /// The remote cache, if one is configured.
    pub remote: Option<std::sync::Arc<RemoteStore>>,
    /// What each task's outputs looked like when last restored or stored: a hit whose
    /// outputs are unchanged needs no archive.
    pub records: OutputRecords,
    pub root: AbsPath,
    pub tasks: HashMap<TaskId, CachedTask>,
    pub access: CacheAccess,
    pub force: bool,
    /// Warnings already printed (each once).
    pub warned: Mutex<Vec<String>>,
    /// The progress line, on a terminal.
    pub progress: Option<std::sync::Arc<crate::progress::Progress>>,
    /// Warm hits found ahead of the run ([`CacheHooks::look_ahead`]): log and time saved.
    pub ahead: Mutex<HashMap<TaskId, (Vec<u8>, Duration)>>,
    /// The stamps of each running task's inputs and dependency outputs, taken before it
    /// ran: a task whose stamps changed while it ran is not stored.
    pub stamps: Mutex<HashMap<TaskId, mono_hash::Stamps>>,
}

impl CacheHooks {
    /// Finds the warm hits (entry present, outputs on disk exactly as recorded) of every
    /// task at once, in parallel, before the run: their jobs then finish without a trip
    /// through the blocking pool. A warm hit needs nothing from its dependencies: its key
    /// already covers them, and its outputs are its own.
    pub fn look_ahead(&self) {
        if self.force || !self.access.read {
            return;
        }
        use rayon::prelude::*;
        let found: Vec<(TaskId, (Vec<u8>, Duration))> = self
            .tasks
            .par_iter()
            .filter_map(|(id, task)| {
                let key = task.key?;
                let meta = self.store.peek(&key).ok()??;
                let log = self.records.up_to_date(
                    &self.root,
                    &id.to_string(),
                    (&key, &meta.archive.blake3),
                    &task.restore,
                )?;
                Some((
                    id.clone(),
                    (log, Duration::from_millis(meta.task.duration_ms)),
                ))
            })
            .collect();
        self.ahead
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(found);
    }

    fn warn(&self, message: String) {
        let mut warned = self.warned.lock().expect("not poisoned");
        if !warned.contains(&message) {
            crate::report::warn(&message);
            warned.push(message);
        }
    }
}

impl CacheHooks {
    /// A remote lookup; a hit is copied into the local cache when it may be written.
    fn fetch_remote(
        &self,
        job: &Job,
        remote: &RemoteStore,
        key: &CacheKey,
    ) -> Result<Lookup, StoreError> {
        match remote.fetch(key) {
            Ok(Lookup::Hit(artifact)) => {
                if self.access.write {
                    if let Err(err) = self.store.put(&artifact) {
                        self.warn(format!(
                            "{}: remote hit not copied to the local cache: {err}",
                            job.id
                        ));
                    }
                }
                Ok(Lookup::Hit(artifact))
            }
            Ok(Lookup::Corrupt(entry)) => {
                self.warn(format!("{}: remote {entry}; running the task", job.id));
                Ok(Lookup::Miss)
            }
            Ok(Lookup::Miss) => Ok(Lookup::Miss),
            Err(err) => {
                crate::remote::warn_down(remote, &err);
                Ok(Lookup::Miss)
            }
        }
    }

    /// Packs outputs and log: into the local cache when it may be written, else into a
    /// temporary file for the remote alone.
    fn pack(&self, request: &PackRequest<'_>) -> Result<Artifact, StoreError> {
        if self.access.write {
            return self.store.put_outputs(request);
        }
        let scratch = std::env::temp_dir();
        Ok(Artifact::pack(request, &scratch)?)
    }
}

impl CacheHooks {
    /// Whether `job` is a hit (restored now), a miss or a bypass.
    fn lookup(&self, job: &Job) -> Before {
        let Some(task) = self.tasks.get(&job.id) else {
            return Before::Run;
        };
        let Some(key) = task.key else {
            return Before::Bypass;
        };
        // As Turborepo: with cache reads off (`--force`, `--cache=local:w`) the task is a
        // bypass, not a miss; its result is still stored when writes are on.
        let task_id = job.id.to_string();
        let remote_read = self.access.remote_read && self.remote.is_some();
        if self.force || !(self.access.read || remote_read) {
            self.records.forget(&task_id);
            return Before::Bypass;
        }
        // The warm hit: the outputs on disk are exactly those this entry restored or stored
        // last time, so only the log is needed (docs/performance.md).
        let peeked = match self.access.read {
            true => self.store.peek(&key),
            false => Ok(None),
        };
        if let Ok(Some(meta)) = peeked {
            let archive = &meta.archive.blake3;
            let found = (&key, archive);
            if let Some(log) = self
                .records
                .up_to_date(&self.root, &task_id, found, &task.restore)
            {
                return Before::Cached {
                    log,
                    time_saved: Duration::from_millis(meta.task.duration_ms),
                };
            }
        }
        // Whatever happens next, the outputs are no longer known to match a record.
        self.records.forget(&task_id);
        let lookup = match self.access.read {
            true => self.store.fetch(&key),
            false => Ok(Lookup::Miss),
        };
        let lookup = match (lookup, &self.remote) {
            (Ok(Lookup::Hit(artifact)), _) => Ok(Lookup::Hit(artifact)),
            (local, Some(remote)) if remote_read => {
                match &local {
                    Ok(Lookup::Corrupt(entry)) => {
                        self.warn(format!("{}: {entry}; treating it as a miss", job.id));
                    }
                    Err(err) => self.warn(format!("{}: cache lookup failed: {err}", job.id)),
                    Ok(_) => {}
                }
                self.fetch_remote(job, remote, &key)
            }
            (local, _) => local,
        };
        match lookup {
            Ok(Lookup::Hit(artifact)) => match artifact.restore(&self.root, &task.restore) {
                Ok(restored) => {
                    self.records.record(
                        &self.root,
                        &task_id,
                        (&key, &restored.meta.archive.blake3),
                        &restored.paths,
                        &restored.log,
                    );
                    Before::Cached {
                        log: restored.log,
                        time_saved: Duration::from_millis(artifact.meta().task.duration_ms),
                    }
                }
                Err(err) => {
                    self.warn(format!(
                        "{}: cache entry cannot be restored, running the task: {err}",
                        job.id
                    ));
                    Before::Run
                }
            },
            Ok(Lookup::Miss) => Before::Run,
            Ok(Lookup::Corrupt(entry)) => {
                self.warn(format!("{}: {entry}; treating it as a miss", job.id));
                Before::Run
            }
            Err(err) => {
                self.warn(format!(
                    "{}: cache lookup failed, running the task: {err}",
                    job.id
                ));
                Before::Run
            }
        }
    }

    /// Stamps what `job` reads: its input files (less its own outputs, which it rewrites)
    /// and its dependencies' outputs.
    fn stamp_inputs(&self, job: &Job) {
        let Some(task) = self.tasks.get(&job.id).filter(|task| task.key.is_some()) else {
            return;
        };
        let own = mono_hash::OutputGlobs::new(&task.outputs)
            .and_then(|globs| globs.matcher(&task.package_dir))
            .ok();
        let mut paths: Vec<RepoPath> = task
            .inputs
            .iter()
            .filter(|path| !own.as_ref().is_some_and(|own| own.matches(path)))
            .cloned()
            .collect();
        for dependency in &task.dependencies {
            if let Some(dep) = self.tasks.get(dependency) {
                let outputs = mono_hash::expand_outputs(&self.root, &dep.package_dir, &dep.outputs);
                paths.extend(outputs.unwrap_or_default());
            }
        }
        let stamps = mono_hash::Stamps::take(&self.root, paths);
        self.stamps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.id.clone(), stamps);
    }
}

impl Hooks for CacheHooks {
    fn ready(&self, job: &Job) -> Option<Before> {
        let (log, time_saved) = self
            .ahead
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&job.id)?;
        Some(Before::Cached { log, time_saved })
    }

    fn before(&self, job: &Job) -> Before {
        let before = self.lookup(job);
        if matches!(before, Before::Run | Before::Bypass) {
            self.stamp_inputs(job);
        }
        before
    }

    fn started(&self, job: &Job) {
        if let Some(progress) = &self.progress {
            progress.start(&job.id);
        }
    }

    fn finished(&self, job: &Job, _result: &mono_run::JobResult) {
        if let Some(progress) = &self.progress {
            progress.finish(&job.id);
        }
    }

    fn after_success(&self, job: &Job, log: &[u8], duration: Duration) {
        let Some(task) = self.tasks.get(&job.id) else {
            return;
        };
        let Some(key) = task.key else { return };
        let stamps = self
            .stamps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&job.id);
        if let Some(path) = stamps.as_ref().and_then(|s| s.first_change(&self.root)) {
            self.records.forget(&job.id.to_string());
            self.warn(format!(
                "{}: result not cached: {path} (an input, or a dependency's output) changed while the task ran",
                job.id
            ));
            return;
        }
        let remote = self
            .remote
            .as_ref()
            .filter(|remote| self.access.remote_write && !remote.is_down());
        if !self.access.write && remote.is_none() {
            return;
        }
        let outputs = match mono_hash::expand_outputs(&self.root, &task.package_dir, &task.outputs)
        {
            Ok(outputs) => outputs,
            Err(err) => {
                self.warn(format!("{}: outputs not cached: {err}", job.id));
                return;
            }
        };
        let info = TaskInfo {
            task_id: job.id.to_string(),
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            exit_code: 0,
        };
        let request = PackRequest {
            key,
            task: &info,
            repo_root: &self.root,
            outputs: &outputs,
            log,
        };
        match self.pack(&request) {
            Ok(artifact) => {
                if self.access.write {
                    if let Ok(paths) = artifact.output_paths() {
                        self.records.record(
                            &self.root,
                            &job.id.to_string(),
                            (&key, &artifact.meta().archive.blake3),
                            &paths,
                            log,
                        );
                    }
                }
                if let Some(remote) = remote {
                    // Dependent tasks do not wait for it; the run waits before it exits.
                    remote.put_in_background(artifact);
                }
            }
            Err(err) => self.warn(format!("{}: result not cached: {err}", job.id)),
        }
    }
}
