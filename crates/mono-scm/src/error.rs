use std::process::ExitStatus;

use mono_paths::{AbsPath, RepoPathError};

/// Why the repository's files could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ScmError {
    /// The `git` binary could not be started.
    #[error("failed to run `git {args}` in {dir}")]
    Spawn {
        /// The arguments given to git.
        args: String,
        /// The directory git was run in.
        dir: AbsPath,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `git` ran and failed.
    #[error("`git {args}` failed in {dir} ({status}): {stderr}")]
    Git {
        /// The arguments given to git.
        args: String,
        /// The directory git was run in.
        dir: AbsPath,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr, trimmed.
        stderr: String,
    },
    /// A file name cannot be a repository path (not UTF-8, or contains `\`).
    #[error("cannot use the file {path}")]
    InvalidPath {
        /// The path as found, lossily converted to UTF-8.
        path: String,
        /// Why it is not a valid repository path.
        #[source]
        source: RepoPathError,
    },
    /// Walking the directory tree (outside git) failed.
    #[error("failed to walk {dir}")]
    Walk {
        /// The directory being walked.
        dir: AbsPath,
        /// The underlying error, which names the entry.
        #[source]
        source: ignore::Error,
    },
}
