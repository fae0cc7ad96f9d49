//! The binary's errors: the engine's, and those of the commands that are not runs (hooks,
//! migrate), each mapped once to a documented exit code (docs/exit-codes.md).

use miette::Diagnostic;
use mono_engine::{EngineError, ErrorKind};

/// Exit code of a run whose tasks failed.
pub const EXIT_TASK_FAILED: u8 = 1;
/// Exit code of bad input: arguments, config, workspace, graph.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a failure of the world around mono: a file, git, a registry, a tool.
pub const EXIT_ENVIRONMENT: u8 = 3;
/// Exit code of a run that found another mono run holding the checkout, with `--no-wait`.
pub const EXIT_BUSY: u8 = 4;
/// Exit code of a run stopped by Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    /// The engine failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] EngineError),

    /// The pre-push hook cannot be installed or removed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Hook(#[from] mono_engine::hooks::HookError),

    /// turbo.json cannot be migrated.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Migrate(#[from] mono_engine::migrate::MigrateError),

    /// `mono migrate` would overwrite turbo.toml.
    #[error("{path} already exists")]
    #[diagnostic(code(mono::migrate::exists), help("pass --force to overwrite it"))]
    MigrateTargetExists {
        /// turbo.toml.
        path: mono_engine::AbsPath,
    },

    /// `mono why --hash` takes two hashes.
    #[error("`mono why --hash` compares two entries; {count} given")]
    #[diagnostic(code(mono::why::hashes), help("pass `--hash A --hash B`"))]
    WhyHashCount {
        /// How many were given.
        count: usize,
    },

    /// Writing what the command prints failed (a closed pipe is not an error).
    #[error("cannot write to {stream}")]
    #[diagnostic(code(mono::output))]
    Output {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code for this error (docs/exit-codes.md).
    pub fn exit_code(&self) -> u8 {
        let kind = match self {
            Error::Engine(err) => err.kind(),
            Error::Hook(
                mono_engine::hooks::HookError::Io { .. } | mono_engine::hooks::HookError::Scm(_),
            ) => ErrorKind::Environment,
            Error::Output { .. } => ErrorKind::Environment,
            Error::Migrate(_)
            | Error::MigrateTargetExists { .. }
            | Error::Hook(_)
            | Error::WhyHashCount { .. } => ErrorKind::Input,
        };
        match kind {
            ErrorKind::Input => EXIT_USAGE,
            ErrorKind::Environment => EXIT_ENVIRONMENT,
            ErrorKind::Busy => EXIT_BUSY,
        }
    }
}
