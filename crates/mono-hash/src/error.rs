use mono_paths::{AbsPath, RepoPath, RepoPathError};

/// Why hashing, input selection or glob expansion failed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// A file to hash does not exist (it was listed, then deleted, or a caller passed a path
    /// that was never there).
    #[error("input file {path} does not exist")]
    MissingFile {
        /// The missing file.
        path: RepoPath,
    },
    /// A path to hash is a directory or a special file.
    #[error("input {path} is not a file or a symbolic link")]
    NotAFile {
        /// The path.
        path: RepoPath,
    },
    /// A file could not be read.
    #[error("failed to read {path}")]
    ReadFile {
        /// The file.
        path: RepoPath,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A directory could not be listed while expanding globs.
    #[error("failed to list directory {path}")]
    ReadDir {
        /// The directory.
        path: RepoPath,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file found while expanding globs has a name that cannot be a repository path.
    #[error("cannot use the file {path}")]
    InvalidPath {
        /// The path, lossily converted to UTF-8.
        path: String,
        /// Why it is not a valid repository path.
        #[source]
        source: RepoPathError,
    },
    /// A glob does not parse.
    #[error("invalid glob `{glob}`")]
    InvalidGlob {
        /// The glob as written.
        glob: String,
        /// What the glob parser said.
        #[source]
        source: globset::Error,
    },
    /// A glob is empty, or has `..` after a wildcard, so it names no file.
    #[error("glob `{glob}` names no file: it is empty or has `..` after a wildcard")]
    UnsupportedGlob {
        /// The glob as written.
        glob: String,
    },
    /// A glob climbs above the repository root with `..`.
    #[error("glob `{glob}` of package {package} leaves the repository")]
    GlobEscapesRepo {
        /// The glob as written.
        glob: String,
        /// The package directory it is relative to.
        package: RepoPath,
    },
    /// An environment variable pattern is empty (`""` or `"!"`).
    #[error("environment variable pattern `{pattern}` is empty")]
    EmptyEnvPattern {
        /// The pattern as written.
        pattern: String,
    },
    /// The stat cache could not be written. Reading it never fails: a bad one is ignored.
    #[error("failed to write the stat cache {path}")]
    WriteStatCache {
        /// The stat cache file.
        path: AbsPath,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
