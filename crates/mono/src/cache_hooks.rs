//! Plugs the local cache into the scheduler: a hit restores outputs and replays the log, a
//! successful miss stores outputs and log. A cache problem never fails a build: it is
//! reported once and the task runs (or its result is not stored).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use mono_cache::{CacheKey, CacheStore, LocalStore, Lookup, OutputRecords, PackRequest, TaskInfo};
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
}

/// How the cache may be used in this run.
#[derive(Debug, Clone, Copy)]
pub struct CacheAccess {
    /// Look up hits.
    pub read: bool,
    /// Store results.
    pub write: bool,
}

/// Cache hooks for one run.
pub struct CacheHooks {
    pub store: LocalStore,
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
                    &key,
                    &meta.archive.blake3,
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
        let Some(task) = self.tasks.get(&job.id) else {
            return Before::Run;
        };
        let Some(key) = task.key else {
            return Before::Bypass;
        };
        // As Turborepo: with cache reads off (`--force`, `--cache=local:w`) the task is a
        // bypass, not a miss; its result is still stored when writes are on.
        let task_id = job.id.to_string();
        if self.force || !self.access.read {
            self.records.forget(&task_id);
            return Before::Bypass;
        }
        // The warm hit: the outputs on disk are exactly those this entry restored or stored
        // last time, so only the log is needed (docs/performance.md).
        if let Ok(Some(meta)) = self.store.peek(&key) {
            let archive = &meta.archive.blake3;
            if let Some(log) = self.records.up_to_date(&self.root, &task_id, &key, archive) {
                return Before::Cached {
                    log,
                    time_saved: Duration::from_millis(meta.task.duration_ms),
                };
            }
        }
        // Whatever happens next, the outputs are no longer known to match a record.
        self.records.forget(&task_id);
        match self.store.fetch(&key) {
            Ok(Lookup::Hit(artifact)) => match artifact.restore(&self.root) {
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
        if !self.access.write {
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
        match self.store.put_outputs(&request) {
            Ok(artifact) => {
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
            Err(err) => self.warn(format!("{}: result not cached: {err}", job.id)),
        }
    }
}
