//! Plugs the local cache into the scheduler: a hit restores outputs and replays the log, a
//! successful miss stores outputs and log. A cache problem never fails a build: it is
//! reported once and the task runs (or its result is not stored).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use mono_cache::{CacheKey, CacheStore, LocalStore, Lookup, PackRequest, TaskInfo};
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
    pub root: AbsPath,
    pub tasks: HashMap<TaskId, CachedTask>,
    pub access: CacheAccess,
    pub force: bool,
    /// Warnings already printed (each once).
    pub warned: Mutex<Vec<String>>,
    /// The progress line, on a terminal.
    pub progress: Option<std::sync::Arc<crate::progress::Progress>>,
}

impl CacheHooks {
    fn warn(&self, message: String) {
        let mut warned = self.warned.lock().expect("not poisoned");
        if !warned.contains(&message) {
            crate::report::warn(&message);
            warned.push(message);
        }
    }
}

impl Hooks for CacheHooks {
    fn before(&self, job: &Job) -> Before {
        let Some(task) = self.tasks.get(&job.id) else {
            return Before::Run;
        };
        let Some(key) = task.key else {
            return Before::Bypass;
        };
        // As Turborepo: with cache reads off (`--force`, `--cache=local:w`) the task is a
        // bypass, not a miss; its result is still stored when writes are on.
        if self.force || !self.access.read {
            return Before::Bypass;
        }
        match self.store.fetch(&key) {
            Ok(Lookup::Hit(artifact)) => match artifact.restore(&self.root) {
                Ok(restored) => Before::Cached {
                    log: restored.log,
                    time_saved: Duration::from_millis(artifact.meta().task.duration_ms),
                },
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
        if let Err(err) = self.store.put_outputs(&request) {
            self.warn(format!("{}: result not cached: {err}", job.id));
        }
    }
}
