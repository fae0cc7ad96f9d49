use std::path::PathBuf;

/// Why an image could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file or folder could not be read or written.
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `write`, ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file that `[image.files]` names does not exist.
    #[error("`{target}` comes from {}, which does not exist", host.display())]
    MissingSource {
        /// The path in the image.
        target: String,
        /// The file or folder on disk.
        host: PathBuf,
    },
    /// A folder given where a file was expected, or the reverse.
    #[error("`{target}`: {} is {found}, but the image path {expected}", host.display())]
    SourceKind {
        /// The path in the image.
        target: String,
        /// The file or folder on disk.
        host: PathBuf,
        /// What the source is.
        found: &'static str,
        /// What the target asks for.
        expected: &'static str,
    },
    /// A registry refused or failed a request.
    #[error("registry {registry}: {problem}")]
    Registry {
        /// The registry host.
        registry: String,
        /// What went wrong.
        problem: String,
    },
    /// `--insecure` (plain http) to a registry that is not on a loopback address.
    #[error("registry {registry}: --insecure (plain http) is only allowed for a registry on a loopback address")]
    InsecureNotLoopback {
        /// The registry host.
        registry: String,
    },
    /// An OCI layout (a base, or an image to read) is not what the OCI spec describes.
    #[error("{} is not a valid OCI image layout: {problem}", dir.display())]
    BadLayout {
        /// The layout folder.
        dir: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

impl ImageError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.into();
        move |source| ImageError::Io {
            action,
            path,
            source,
        }
    }
}
