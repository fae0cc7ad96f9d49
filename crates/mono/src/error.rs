use miette::Diagnostic;
use mono_paths::AbsPath;

/// Exit code of a run whose tasks failed.
pub const EXIT_TASK_FAILED: u8 = 1;
/// Exit code of a run stopped by Ctrl-C or SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit code of bad input: arguments, config, workspace, graph.
pub const EXIT_USAGE: u8 = 2;

/// Everything a command can fail with. Library errors pass through with their diagnostics.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    /// A config file is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] mono_config::ConfigErrors),

    /// Packages could not be found or form an invalid graph.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] mono_workspace::WorkspaceError),

    /// The task graph is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Tasks(#[from] mono_tasks::TaskGraphError),

    /// A filter is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Filter(#[from] mono_tasks::FilterError),

    /// Working out the changed packages failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Affected(mono_tasks::AffectedError),

    /// Hashing the tasks' inputs failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Hashing(#[from] mono_tasks::HashingError),

    /// An image could not be built or read.
    #[error(transparent)]
    #[diagnostic(code(mono::image))]
    Image(#[from] mono_image::ImageError),

    /// Reading or writing a file failed.
    #[error("failed to {action} {path}")]
    #[diagnostic(code(mono::io))]
    Io {
        /// `read`, `write`, ….
        action: &'static str,
        /// The file.
        path: AbsPath,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// The current directory cannot be used.
    #[error("cannot use the current directory")]
    #[diagnostic(code(mono::cwd))]
    Cwd(#[source] std::io::Error),

    /// Writing the command's output failed (a full disk, a closed terminal).
    #[error("failed to write to {stream}")]
    #[diagnostic(code(mono::output))]
    Output {
        /// `stdout`.
        stream: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A command-line value that parses but cannot be used.
    #[error("{message}")]
    #[diagnostic(code(mono::usage))]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        #[help]
        help: Option<String>,
    },
}

impl Error {
    /// The process exit code for this error (docs/exit-codes.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Output { .. } => EXIT_TASK_FAILED,
            _ => EXIT_USAGE,
        }
    }
}
