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
    Protected, ProtectedFiles, RecentEntry, RemoteStore, RestorePolicy, StoreError, TaskInfo,
};
use mono_paths::{AbsPath, RepoPath};
use mono_run::{Before, Hooks, Job};
use mono_task_id::TaskId;

use crate::options::CacheAccess;
use crate::profile::{Profile, Track};
use crate::reporter::WarnOnce;
use crate::why::{Explanation, Sources};

/// What the hooks need to know of one task.
pub(crate) struct CachedTask {
    /// The task hash as a cache key; `None` when the task is not cacheable.
    pub(crate) key: Option<CacheKey>,
    /// The package folder (outputs are relative to it).
    pub(crate) package_dir: RepoPath,
    /// The `outputs` globs.
    pub(crate) outputs: Vec<String>,
    /// What restoring its cache entry may write ([`restore_policy`]).
    pub(crate) restore: RestorePolicy,
    /// Its input files, as hashed.
    pub(crate) inputs: Vec<RepoPath>,
    /// The tasks it depends on (their outputs are its inputs too).
    pub(crate) dependencies: Vec<TaskId>,
}

/// Only the task's declared outputs, nothing under `.git`, no file git tracks in `protected`
/// (docs/security.md). Outputs that do not compile allow nothing: such a task stores
/// nothing either.
pub(crate) fn restore_policy(
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

/// What git tracks in the checkout at `root`, and its hooks folder: listed by the first
/// restore of the run, never by a run of warm hits.
pub(crate) fn protected_files(root: &AbsPath) -> Arc<ProtectedFiles> {
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

/// Cache hooks for one run.
pub(crate) struct CacheHooks {
    pub(crate) store: LocalStore,
    /// The remote cache, if one is configured.
    pub(crate) remote: Option<Arc<RemoteStore>>,
    /// What each task's outputs looked like when last restored or stored: a hit whose
    /// outputs are unchanged needs no archive.
    pub(crate) records: OutputRecords,
    pub(crate) root: AbsPath,
    pub(crate) tasks: HashMap<TaskId, CachedTask>,
    pub(crate) access: CacheAccess,
    pub(crate) force: bool,
    /// Warnings, each said once, and task events.
    pub(crate) warnings: WarnOnce,
    /// Warm hits found ahead of the run ([`CacheHooks::look_ahead`]): log and time saved.
    pub(crate) ahead: Mutex<HashMap<TaskId, (Vec<u8>, Duration)>>,
    /// When each task's job started and ended, for the run summary.
    pub(crate) timings: Mutex<HashMap<TaskId, Timing>>,
    /// The stamps of each running task's inputs and dependency outputs, taken before it
    /// ran: a task whose stamps changed while it ran is not stored.
    pub(crate) stamps: Mutex<HashMap<TaskId, mono_hash::Stamps>>,
    /// Every task's hash and what went into it: the manifests of the tasks that miss.
    pub(crate) hashes: Arc<mono_tasks::TaskHashes>,
    /// Why each task that missed missed (docs/why.md).
    pub(crate) miss_reasons: Mutex<HashMap<TaskId, Explanation>>,
    /// A CI shard's tasks of other shards, waited for in the remote cache (docs/ci.md).
    pub(crate) waits: Option<Arc<crate::shards::Waits>>,
    /// `--profile`'s recorder.
    pub(crate) profile: Option<Arc<Profile>>,
}

/// When a task's job started and ended (wall clock).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Its job started.
    pub start: std::time::SystemTime,
    /// Its job ended.
    pub end: std::time::SystemTime,
}

impl CacheHooks {
    /// Finds the warm hits (entry present, outputs on disk exactly as recorded) of every
    /// task at once, in parallel, before the run: their jobs then finish without a trip
    /// through the blocking pool. A warm hit needs nothing from its dependencies: its key
    /// already covers them, and its outputs are its own.
    pub(crate) fn look_ahead(&self) {
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
        self.warnings.warn(message);
    }

    /// Why `job` missed: its manifest against its earlier entry's. Remembered for the
    /// summary; the line goes under the status line.
    fn explain_miss(&self, job: &Job) -> Before {
        let Some(current) = self.hashes.manifest(&job.id) else {
            return Before::Run;
        };
        let remote = self
            .remote
            .as_deref()
            .filter(|remote| self.access.remote_read && !remote.is_down());
        let sources = Sources {
            local: self.access.read.then_some(&self.store),
            remote,
        };
        let warn = |message: String| self.warn(format!("{}: {message}", job.id));
        let explanation = crate::why::explain(&sources, &current, false, &warn);
        let reason = explanation.text.clone();
        self.miss_reasons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.id.clone(), explanation);
        Before::Miss { reason }
    }

    /// Makes `key` the head of the task's local index: the entry this checkout stored or
    /// restored last (docs/cache.md). Only where the local cache may be written.
    fn record_recent(&self, task_id: &str, key: CacheKey, duration_ms: u64) {
        if !self.access.write {
            return;
        }
        if let Err(err) = self
            .store
            .record_recent(task_id, RecentEntry::now(key, duration_ms))
        {
            self.warn(format!("{task_id}: {err}"));
        }
    }

    /// The input manifest of exactly `key`, as JSON: built from the values the key was
    /// hashed from, so it is the manifest of any entry stored under `key`.
    fn manifest_json(&self, job: &Job, key: &CacheKey) -> Option<Vec<u8>> {
        self.hashes
            .manifest(&job.id)
            .filter(|m| m.hash.as_bytes() == key.as_bytes())
            .map(|m| serde_json::to_vec(&m).expect("a manifest serializes"))
    }

    /// Keeps `manifest` beside the local entry `key`, for later misses to be explained
    /// against it (docs/why.md).
    fn store_manifest(&self, job: &Job, key: &CacheKey, manifest: Option<&[u8]>) {
        if let Some(json) = manifest {
            if let Err(err) = self.store.put_manifest(key, json) {
                self.warn(format!("{}: input manifest not stored: {err}", job.id));
            }
        }
    }

    /// Runs `work` as a span on `job`'s lane when profiling.
    fn span<T>(&self, job: &Job, name: &str, cat: &'static str, work: impl FnOnce() -> T) -> T {
        let Some(profile) = &self.profile else {
            return work();
        };
        let start = std::time::Instant::now();
        let out = work();
        profile.since(name, cat, Track::Task(job.id.clone()), start, Vec::new());
        out
    }
}

impl CacheHooks {
    /// A remote lookup; a hit is copied into the local cache when it may be written, with
    /// its input manifest (the one this run computed for the same key: nothing to download).
    fn fetch_remote(
        &self,
        job: &Job,
        remote: &RemoteStore,
        key: &CacheKey,
    ) -> Result<Lookup, StoreError> {
        match remote.fetch(key) {
            Ok(Lookup::Hit(artifact)) => {
                if self.access.write {
                    match self.store.put(&artifact) {
                        Ok(()) => {
                            self.store_manifest(job, key, self.manifest_json(job, key).as_deref())
                        }
                        Err(err) => self.warn(format!(
                            "{}: remote hit not copied to the local cache: {err}",
                            job.id
                        )),
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
                crate::remote::warn_down(self.warnings.reporter(), remote, &err);
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
    pub(crate) fn lookup(&self, job: &Job) -> Before {
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
        // A task another shard builds is never forced: it is taken, not run.
        let forced = self.force && !self.waits_elsewhere(&job.id);
        if forced || !(self.access.read || remote_read) {
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
            true => self.span(job, "local cache: read entry", "cache", || {
                self.store.fetch(&key)
            }),
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
                self.span(job, "remote cache: fetch", "cache", || {
                    self.fetch_remote(job, remote, &key)
                })
            }
            (local, _) => local,
        };
        match lookup {
            Ok(Lookup::Hit(artifact)) => match self.span(job, "restore outputs", "cache", || {
                artifact.restore(&self.root, &task.restore)
            }) {
                Ok(restored) => {
                    self.record_recent(&task_id, key, restored.meta.task.duration_ms);
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
            Ok(Lookup::Miss) => self.explain_miss(job),
            Ok(Lookup::Corrupt(entry)) => {
                self.warn(format!("{}: {entry}; treating it as a miss", job.id));
                self.explain_miss(job)
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
        if let Some(profile) = &self.profile {
            let now = std::time::Instant::now();
            let track = Track::Task(job.id.clone());
            profile.record(
                "cache hit: outputs in place",
                "cache",
                track,
                now,
                now,
                Vec::new(),
            );
        }
        Some(Before::Cached { log, time_saved })
    }

    fn before(&self, job: &Job) -> Before {
        if self.waits_elsewhere(&job.id) {
            return self.wait_elsewhere(job);
        }
        let start = self.profile.as_ref().map(|_| std::time::Instant::now());
        let before = self.lookup(job);
        if let (Some(profile), Some(start)) = (&self.profile, start) {
            let found = match &before {
                Before::Run | Before::Miss { .. } => "miss",
                Before::Bypass => "bypass",
                Before::Cached { .. } => "hit",
                Before::Failed { .. } => "failed",
            };
            let args = vec![("result", serde_json::Value::from(found))];
            profile.since(
                "cache lookup",
                "cache",
                Track::Task(job.id.clone()),
                start,
                args,
            );
        }
        if !matches!(before, Before::Cached { .. }) {
            self.span(job, "stamp inputs", "cache", || self.stamp_inputs(job));
        }
        before
    }

    fn started(&self, job: &Job) {
        let now = std::time::SystemTime::now();
        self.timings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                job.id.clone(),
                Timing {
                    start: now,
                    end: now,
                },
            );
        if let Some(profile) = &self.profile {
            profile.task_started(&job.id);
        }
        self.warnings.reporter().task_started(&job.id);
    }

    fn finished(&self, job: &Job, result: &mono_run::JobResult) {
        if let Some(profile) = &self.profile {
            self.profile_finished(profile, job, result);
        }
        if let Some(timing) = self
            .timings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&job.id)
        {
            timing.end = std::time::SystemTime::now();
        }
        self.warnings.reporter().task_result(&job.id, result);
        self.warnings.reporter().task_finished(&job.id);
    }

    fn skipped(&self, job: &Job, failed: usize) {
        let reason = mono_run::SkipReason::DependencyFailed { failed };
        let result = mono_run::JobResult::Skipped { reason };
        self.warnings.reporter().task_result(&job.id, &result);
    }

    fn output(&self, job: &Job, bytes: &[u8]) {
        self.warnings.reporter().task_output(&job.id, bytes);
    }

    fn after_success(&self, job: &Job, log: &[u8], duration: Duration) {
        if let Some(profile) = &self.profile {
            record_execution(profile, job, duration);
        }
        self.span(job, "cache store", "cache", || {
            self.store_result(job, log, duration);
        });
    }
}

/// The span of a command that ran for `duration` and ended now, on its task's lane (not
/// before the task took its slot).
fn record_execution(profile: &Profile, job: &Job, duration: Duration) {
    let now = std::time::Instant::now();
    let start = now.checked_sub(duration).unwrap_or(now);
    let start = profile.slot_start(&job.id).map_or(start, |s| start.max(s));
    let args = vec![(
        "command",
        serde_json::Value::from(job.command.clone().unwrap_or_default()),
    )];
    profile.record(
        "execute",
        "run",
        Track::Task(job.id.clone()),
        start,
        now,
        args,
    );
}

impl CacheHooks {
    /// Ends `job`'s span, with how it ended; a failed command's execution too.
    fn profile_finished(&self, profile: &Profile, job: &Job, result: &mono_run::JobResult) {
        use mono_run::JobResult;
        let outcome = match result {
            JobResult::Succeeded { .. } => "succeeded",
            JobResult::Cached { .. } => "cached",
            JobResult::Failed { duration, .. } => {
                record_execution(profile, job, *duration);
                "failed"
            }
            JobResult::Interrupted { duration } => {
                record_execution(profile, job, *duration);
                "interrupted"
            }
            JobResult::Skipped { .. } => "skipped",
            JobResult::NoCommand => "no command",
        };
        let mut args = vec![("result", serde_json::Value::from(outcome))];
        if let Some(hash) = &job.hash {
            args.push(("hash", serde_json::Value::from(hash.clone())));
        }
        profile.task_finished(&job.id, args);
    }

    /// Stores a successful task's outputs and log: locally now, remotely in the background.
    fn store_result(&self, job: &Job, log: &[u8], duration: Duration) {
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
        let manifest = self.manifest_json(job, &key);
        match self.pack(&request) {
            Ok(artifact) => {
                if self.access.write {
                    self.store_manifest(job, &key, manifest.as_deref());
                    self.record_recent(&job.id.to_string(), key, info.duration_ms);
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
                    match &self.profile {
                        Some(profile) => {
                            let (profile, start) = (Arc::clone(profile), std::time::Instant::now());
                            let name = format!("upload {}", job.id);
                            remote.upload_in_background_then(artifact, manifest, move |ok| {
                                let args = vec![("uploaded", serde_json::Value::from(ok))];
                                profile.since(name, "upload", Track::Uploads, start, args);
                            });
                        }
                        None => remote.upload_in_background(artifact, manifest),
                    }
                }
            }
            Err(err) => self.warn(format!("{}: result not cached: {err}", job.id)),
        }
    }
}
