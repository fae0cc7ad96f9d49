use miette::{Diagnostic, NamedSource, SourceSpan};
use mono_task_id::TaskId;

use crate::filter::FilterError;

/// Why a task graph cannot be built. Errors that come from a line of a config file carry
/// the file and the span.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum TaskGraphError {
    /// A task named on the command line that no config defines.
    #[error("could not find task `{task}` in the project")]
    #[diagnostic(code(mono::tasks::unknown_task))]
    UnknownTask {
        /// The task as given.
        task: String,
        /// A close match, or the defined tasks.
        #[help]
        help: String,
    },

    /// A `dependsOn` entry naming a task that no config defines.
    #[error("`{reference}` depends on task `{task}`, which no config defines")]
    #[diagnostic(code(mono::tasks::unknown_task_reference))]
    UnknownTaskReference {
        /// The config file.
        #[source_code]
        src: NamedSource<String>,
        /// The entry.
        #[label("no task `{task}`")]
        span: SourceSpan,
        /// The task whose definition holds the entry.
        reference: String,
        /// The missing task.
        task: String,
        /// A close match, or how to define it.
        #[help]
        help: String,
    },

    /// A `dependsOn` entry naming a package that does not exist.
    #[error("`{reference}` depends on package `{package}`, which does not exist")]
    #[diagnostic(code(mono::tasks::unknown_package_reference))]
    UnknownPackageReference {
        /// The config file.
        #[source_code]
        src: NamedSource<String>,
        /// The entry.
        #[label("no package `{package}`")]
        span: SourceSpan,
        /// The task whose definition holds the entry.
        reference: String,
        /// The missing package.
        package: String,
        /// A close match, or how to list packages.
        #[help]
        help: String,
    },

    /// A task depends on a persistent (never-ending) task.
    #[error("`{persistent}` is a persistent task; `{dependent}` cannot depend on it")]
    #[diagnostic(
        code(mono::tasks::persistent_dependency),
        help("a persistent task never finishes, so nothing can wait for it: remove it from `dependsOn`, or make it not persistent")
    )]
    PersistentDependency {
        /// The config file, when the dependency is written in one.
        #[source_code]
        src: Option<NamedSource<String>>,
        /// The `dependsOn` entry.
        #[label("depends on a persistent task")]
        span: Option<SourceSpan>,
        /// The task that waits (`web#start`, or a root definition's key such as `start`).
        dependent: String,
        /// The persistent task as referenced.
        persistent: String,
    },

    /// Tasks that depend on each other in a circle.
    #[error("tasks depend on each other in a cycle: {}", path.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> "))]
    #[diagnostic(
        code(mono::tasks::cycle),
        help("remove one of these `dependsOn` entries to break the cycle")
    )]
    Cycle {
        /// The cycle, first task repeated at the end.
        path: Vec<TaskId>,
    },

    /// A filter that cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Filter(#[from] FilterError),
}

/// A configuration problem that a run does not reach: reported, not fatal, because real
/// repositories carry stale entries (a `dependsOn` naming a package that was removed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskGraphWarning {
    /// A `dependsOn` entry naming a task that no config defines.
    #[error("{location}: `{reference}` depends on task `{task}`, which no config defines (ignored while no run reaches it)")]
    UnknownTask {
        /// `file:line:col` of the entry.
        location: String,
        /// The task whose definition holds the entry.
        reference: String,
        /// The missing task.
        task: String,
    },
    /// A `dependsOn` entry naming a package that does not exist.
    #[error("{location}: `{reference}` depends on package `{package}`, which does not exist (ignored while no run reaches it)")]
    UnknownPackage {
        /// `file:line:col` of the entry.
        location: String,
        /// The task whose definition holds the entry.
        reference: String,
        /// The missing package.
        package: String,
    },
}
