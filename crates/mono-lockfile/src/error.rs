//! The one error type of the crate.

use std::path::PathBuf;

/// Why a lockfile could not be read, understood or pruned.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    /// A file could not be read.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON / YAML / TOML / go.sum, or an entry has the wrong shape.
    #[error("{}:{line}: {message}\n  help: the file is malformed; regenerate it with the package manager (for example `npm install`, `pnpm install`, `yarn install`, `cargo generate-lockfile`, `go mod tidy`)", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (1 when the parser gives none).
        line: usize,
        /// What the parser or the shape check reported.
        message: String,
    },
    /// The lockfile's format version is one mono does not read.
    #[error("{}: unsupported {format} lockfile version {version}\n  help: {help}", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The format (npm, pnpm, ...).
        format: &'static str,
        /// The version the file declares.
        version: String,
        /// How to get a supported file.
        help: &'static str,
    },
    /// An entry names a dependency that the lockfile does not resolve.
    #[error("{}: {from} depends on {dependency}, which the lockfile does not resolve\n  help: the lockfile is out of date with the manifests; run the package manager's install to update it", path.display())]
    Unresolved {
        /// The file.
        path: PathBuf,
        /// The entry (member folder or package key) that has the dependency.
        from: String,
        /// The dependency as written (name and range or version).
        dependency: String,
    },
    /// The format needs the member's manifest (yarn v1: package.json; Go: go.mod) and it was
    /// not given with [`crate::Lockfile::add_manifest`].
    #[error("{}: no manifest was given for member `{member}` ({dir}); a {kind} lockfile does not record a member's own dependencies", path.display())]
    MissingManifest {
        /// The lockfile.
        path: PathBuf,
        /// The member's name.
        member: String,
        /// The member's folder.
        dir: String,
        /// The format.
        kind: &'static str,
    },
    /// A kept member is not in the lockfile, so a pruned lockfile could not install it.
    #[error("{}: the kept package `{member}` ({dir}) is not in the lockfile\n  help: run the package manager's install so that the lockfile lists every workspace member", path.display())]
    UnknownMember {
        /// The lockfile.
        path: PathBuf,
        /// The member's name.
        member: String,
        /// The member's folder.
        dir: String,
    },
    /// The real tool rejected a (pruned) lockfile.
    #[error("`{command}` in {} rejected the {file}:\n{output}\n  help: this is a bug in mono's pruning for this lockfile; please report it with the lockfile", dir.display())]
    ToolRejected {
        /// The command line that ran.
        command: String,
        /// The folder it ran in.
        dir: PathBuf,
        /// The lockfile it checked.
        file: String,
        /// Its combined output.
        output: String,
    },
    /// The real tool could not be started.
    #[error("failed to run `{command}`")]
    ToolFailed {
        /// The command line.
        command: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl LockfileError {
    pub(crate) fn syntax(path: &std::path::Path, line: usize, message: impl Into<String>) -> Self {
        LockfileError::Syntax {
            path: path.to_path_buf(),
            line: line.max(1),
            message: message.into(),
        }
    }
}
