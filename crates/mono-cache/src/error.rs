use std::io;
use std::path::PathBuf;

use mono_paths::RepoPath;

use crate::key::{CacheKey, Checksum};

/// Why a stored entry cannot be used. A caller reports it once and treats the entry as a
/// miss; the next `put` of the same key replaces it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The metadata is not JSON of the expected schema.
    #[error("metadata is not valid: {0}")]
    BadMetadata(#[source] serde_json::Error),
    /// The metadata has another format version.
    #[error(
        "metadata has format version {found}; this mono reads version {}",
        crate::FORMAT_VERSION
    )]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// The metadata names another key than the one it is stored under.
    #[error("metadata belongs to key {found}")]
    KeyMismatch {
        /// The key the metadata names.
        found: CacheKey,
    },
    /// The metadata exists but its archive does not.
    #[error("the archive is missing")]
    MissingArchive,
    /// The archive's size differs from the metadata's (for instance, a truncated write).
    #[error("the archive is {found} bytes; its metadata says {expected}")]
    SizeMismatch {
        /// Size recorded in the metadata.
        expected: u64,
        /// Size found.
        found: u64,
    },
    /// The archive's blake3 differs from the metadata's.
    #[error("the archive's checksum is {found}; its metadata says {expected}")]
    ChecksumMismatch {
        /// Checksum recorded in the metadata.
        expected: Checksum,
        /// Checksum computed.
        found: Checksum,
    },
    /// The archive cannot be read.
    #[error("the archive cannot be read: {0}")]
    Unreadable(#[source] io::Error),
    /// The archive does not start with the zstd magic number.
    #[error("the archive is not zstd-compressed")]
    NotZstd,
    /// zstd or tar failed to decode the archive.
    #[error("the archive cannot be decoded: {0}")]
    Decode(#[source] io::Error),
    /// The archive has no `log` entry.
    #[error("the archive has no log entry")]
    MissingLog,
    /// The archive does not start with its `key` entry (not a version-2 archive).
    #[error("the archive does not start with its key")]
    MissingKey,
    /// The archive was packed for another key: metadata naming another entry's archive.
    #[error("the archive belongs to another cache key")]
    ArchiveKeyMismatch,
    /// The log is longer than any archive mono writes.
    #[error("the archive's log is {size} bytes, more than mono stores")]
    LogTooLarge {
        /// Its size as the archive says.
        size: u64,
    },
    /// A cache file is not a regular file, or is too large to be one of mono's.
    #[error("{0}")]
    Unsafe(#[source] crate::open::OpenError),
    /// An entry that is neither `log` nor under `outputs/`.
    #[error("the archive has an unexpected entry `{entry}`")]
    UnexpectedEntry {
        /// The entry's name.
        entry: String,
    },
    /// The archive changed between validating and restoring it.
    #[error("the archive changed while it was being restored")]
    ChangedDuringRestore,
    /// A remote cache server failed on this artifact alone (HTTP 5xx to its lookup, while it
    /// answers others): a miss for this artifact, not the remote down.
    #[error("the remote server failed on this artifact (HTTP {status})")]
    ServerError {
        /// The 5xx status.
        status: u16,
    },
    /// A remote cache answered with bytes that are not a mono artifact (docs/remote-cache.md).
    #[error("the remote answered with bytes that are not a mono artifact")]
    NotAnEnvelope,
    /// Signatures are required and the remote artifact has none.
    #[error(
        "the artifact is not signed, and MONO_REMOTE_CACHE_SIGNATURE_KEY requires a signature"
    )]
    Unsigned,
    /// The remote artifact's signature does not match its bytes and the shared key.
    #[error("the artifact's signature does not match (forged, or signed with another key)")]
    BadSignature,
}

/// A corrupt entry found by a lookup: where it is and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("cache entry {key} at {location} is corrupt: {reason}")]
pub struct CorruptEntry {
    /// The key looked up.
    pub key: CacheKey,
    /// Where the entry lives (a file path for the local store).
    pub location: String,
    /// What is wrong with it.
    #[source]
    pub reason: Corruption,
}

/// Why outputs could not be packed into an archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// An output path does not exist.
    #[error("output {path} does not exist")]
    MissingOutput {
        /// The output.
        path: RepoPath,
    },
    /// The repository root itself was listed as an output.
    #[error("the repository root cannot be an output")]
    RootOutput,
    /// An output is neither a regular file, a directory nor a symlink.
    #[error("output {path} is not a regular file, directory or symlink")]
    UnsupportedFileType {
        /// The output.
        path: RepoPath,
    },
    /// A symlink whose target is absolute or leaves the repository.
    #[error(
        "output {path} is a symlink to `{target}`, which is absolute or leaves the repository"
    )]
    SymlinkEscapes {
        /// The symlink.
        path: RepoPath,
        /// Its target as stored on disk.
        target: String,
    },
    /// A symlink that never resolves: it leads back to itself.
    #[error("symlink loop at {path}")]
    SymlinkLoop {
        /// The symlink.
        path: RepoPath,
    },
    /// An output lies behind a symlink that leads out of the repository.
    #[error("output {path} lies behind a symlink that leads out of the repository")]
    OutsideRepo {
        /// The output.
        path: RepoPath,
    },
    /// A file name or symlink target that is not UTF-8 or not a valid repository path.
    #[error("output {path} is not a valid repository path")]
    InvalidPath {
        /// The path, lossily converted.
        path: PathBuf,
    },
    /// A file changed size while it was being packed.
    #[error("output {path} changed while it was being packed")]
    Changed {
        /// The output.
        path: RepoPath,
    },
    /// An I/O error, with the path it concerns.
    #[error("failed to pack {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// Why an artifact could not be restored. Every variant but [`RestoreError::Io`] is found
/// before anything is written: a rejected archive writes nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The archive is corrupt or foreign.
    #[error("cannot restore: {0}")]
    Corrupt(#[from] Corruption),
    /// An entry with an absolute path.
    #[error("archive entry `{entry}` has an absolute path")]
    AbsolutePath {
        /// The entry's name as stored.
        entry: String,
    },
    /// An entry whose path has a `..` component.
    #[error("archive entry `{entry}` leaves its directory with `..`")]
    ParentDir {
        /// The entry's name as stored.
        entry: String,
    },
    /// An entry name that is not UTF-8, has `\`, or `.` or empty components.
    #[error("archive entry `{entry}` is not a valid repository path")]
    InvalidPath {
        /// The entry's name, lossily converted.
        entry: String,
    },
    /// An entry inside a directory that the archive itself makes a symlink.
    #[error("archive entry `{entry}` would be written through the symlink `{link}`")]
    ThroughSymlink {
        /// The entry.
        entry: String,
        /// The symlink entry it lies under.
        link: String,
    },
    /// An entry whose directory leads out of the repository through a symlink on disk.
    #[error("archive entry `{entry}` would be written outside the repository through `{via}`")]
    OutsideRepo {
        /// The entry.
        entry: String,
        /// The directory on disk that leads out.
        via: String,
    },
    /// A symlink entry whose target is absolute or resolves outside the repository.
    #[error("archive entry `{entry}` is a symlink to `{target}`, outside the repository")]
    SymlinkEscapes {
        /// The symlink entry.
        entry: String,
        /// Its target.
        target: String,
    },
    /// A symlink entry whose target cannot be resolved (too many levels of links).
    #[error("archive entry `{entry}` is a symlink loop")]
    SymlinkLoop {
        /// The symlink entry.
        entry: String,
    },
    /// An entry of a kind mono never writes (hard link, device, fifo, ...).
    #[error("archive entry `{entry}` has unsupported type `{type_flag}`")]
    UnsupportedEntry {
        /// The entry.
        entry: String,
        /// The tar type flag.
        type_flag: char,
    },
    /// The same path twice.
    #[error("archive entry `{entry}` appears twice")]
    Duplicate {
        /// The entry.
        entry: String,
    },
    /// An entry whose parent is a file, in the archive or on disk.
    #[error("archive entry `{entry}` needs `{parent}` to be a directory")]
    NotADirectory {
        /// The entry.
        entry: String,
        /// The parent that is not a directory.
        parent: String,
    },
    /// An entry that would write into a `.git` folder or git's hooks folder.
    #[error("archive entry `{entry}` would write into a `.git` folder")]
    GitDir {
        /// The entry.
        entry: String,
    },
    /// An entry that is not one of the task's declared `outputs`.
    #[error("archive entry `{entry}` is not one of the task's outputs")]
    NotAnOutput {
        /// The entry.
        entry: String,
    },
    /// An entry that would overwrite or remove a file git tracks, or write into a
    /// submodule or git's hooks folder.
    #[error("archive entry `{entry}` would overwrite `{file}`, which git tracks")]
    Protected {
        /// The entry.
        entry: String,
        /// The tracked file, submodule or hooks folder in the way.
        file: String,
    },
    /// The files git tracks could not be listed, so nothing may be restored.
    #[error("cannot tell which files git tracks, so nothing is restored: {source}")]
    ProtectedUnknown {
        /// What listing them reported.
        #[source]
        source: crate::policy::LoadError,
    },
    /// An I/O error while reading the archive or writing outputs.
    #[error("failed to restore {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl RestoreError {
    /// Whether the archive itself is bad (corrupt or foreign): a caller warns and treats it
    /// as a cache miss.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Self::Corrupt(_))
    }

    /// Whether the archive was rejected because restoring it would be unsafe.
    pub fn is_unsafe(&self) -> bool {
        !matches!(
            self,
            Self::Corrupt(_) | Self::Io { .. } | Self::ProtectedUnknown { .. }
        )
    }
}

/// Why a store operation failed (as opposed to a miss or a corrupt entry, which are values
/// of [`crate::Lookup`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O error, with the path it concerns.
    #[error("cache I/O failed at {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Packing outputs failed.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// A remote cache failed.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
}

/// Attaches a path to an I/O result.
pub(crate) trait IoContext<T> {
    fn pack_path(self, path: impl Into<PathBuf>) -> Result<T, PackError>;
    fn restore_path(self, path: impl Into<PathBuf>) -> Result<T, RestoreError>;
    fn store_path(self, path: impl Into<PathBuf>) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn pack_path(self, path: impl Into<PathBuf>) -> Result<T, PackError> {
        self.map_err(|source| PackError::Io {
            path: path.into(),
            source,
        })
    }
    fn restore_path(self, path: impl Into<PathBuf>) -> Result<T, RestoreError> {
        self.map_err(|source| RestoreError::Io {
            path: path.into(),
            source,
        })
    }
    fn store_path(self, path: impl Into<PathBuf>) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Io {
            path: path.into(),
            source,
        })
    }
}
