//! How the engine tells its caller what happens while it works. The engine prints nothing:
//! the binary implements [`Reporter`] (warnings on stderr, a progress line on a terminal),
//! and tests can collect the events.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use mono_task_id::TaskId;

/// Receives what a command has to say besides its result. Calls may come from several
/// threads at once.
pub trait Reporter: Send + Sync {
    /// Something the user should know and may want to fix; the command goes on.
    fn warn(&self, message: &str);

    /// Information: what was done, where a file was written.
    fn note(&self, message: &str);

    /// The tasks with a command this run will run, once, before the first starts. With
    /// `--shard`, this shard's own tasks and those it takes from other shards (which
    /// another machine runs: it waits for them and restores them), so that a progress line
    /// counts this shard's work.
    fn tasks_planned(&self, _tasks: &[PlannedTask]) {}

    /// A task's command started.
    fn task_started(&self, _task: &TaskId) {}

    /// A task ended, however it ended.
    fn task_finished(&self, _task: &TaskId) {}

    /// How a task that started ended; called just before [`task_finished`](Self::task_finished).
    fn task_result(&self, _task: &TaskId, _result: &mono_run::JobResult) {}

    /// With [`RunOptions::per_task_output`](crate::RunOptions::per_task_output): what a task
    /// prints, chunk by chunk and unprefixed (its status line, its output or replayed log,
    /// its error line). It must return at once.
    fn task_output(&self, _task: &TaskId, _bytes: &[u8]) {}
}

/// One task of a run, as [`Reporter::tasks_planned`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTask {
    /// The task.
    pub id: TaskId,
    /// `Some("2/4")` when another shard runs it and this one takes its result.
    pub from_shard: Option<String>,
}

/// Passes each distinct warning to a [`Reporter`] once: a cache or remote problem that
/// hits every task is said once per run.
pub(crate) struct WarnOnce {
    reporter: Arc<dyn Reporter>,
    said: Mutex<HashSet<String>>,
}

impl WarnOnce {
    pub(crate) fn new(reporter: Arc<dyn Reporter>) -> Self {
        WarnOnce {
            reporter,
            said: Mutex::new(HashSet::new()),
        }
    }

    pub(crate) fn warn(&self, message: String) {
        let first = self
            .said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(message.clone());
        if first {
            self.reporter.warn(&message);
        }
    }

    pub(crate) fn reporter(&self) -> &dyn Reporter {
        &*self.reporter
    }
}
