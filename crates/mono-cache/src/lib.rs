//! The cache of mono: the artifact format and the stores that keep artifacts.
//!
//! A task's cache entry is keyed by its task hash ([`CacheKey`]) and holds its outputs and
//! its captured log as one zstd-compressed tar archive, plus a small JSON metadata file
//! ([`ArtifactMeta`]: format version, task id, duration, exit code, the archive's size and
//! blake3). docs/cache.md describes the format, the local layout and the guarantees.
//!
//! - [`Artifact::pack`] packs outputs (files, directories recursively, symlinks that stay
//!   inside the repository, permission bits) deterministically: the same outputs and log give
//!   the same bytes.
//! - A [`CacheStore`] keeps artifacts by key: [`LocalStore`] on disk, with atomic writes;
//!   [`RemoteStore`] in an S3-compatible bucket or a Turborepo remote cache server.
//! - [`CacheStore::fetch`] verifies an entry and reports a bad one as [`Lookup::Corrupt`],
//!   for the caller to warn about and treat as a miss.
//! - [`Artifact::restore`] writes outputs back after checking every entry against a
//!   [`RestorePolicy`] (the task's declared outputs, never `.git`, never a file git
//!   tracks), never outside the repository, and leaves outputs that already match alone.
//!
//! ```
//! use mono_cache::{
//!     Artifact, CacheKey, CacheStore, LocalStore, Lookup, PackRequest, ProtectedFiles,
//!     RestorePolicy, TaskInfo,
//! };
//! use std::sync::Arc;
//! use mono_paths::{AbsPath, RepoPath};
//!
//! # let tmp = tempfile::tempdir().unwrap();
//! # let repo_root = AbsPath::new(tmp.path().join("repo")).unwrap();
//! # let cache_dir = AbsPath::new(tmp.path().join("cache")).unwrap();
//! # std::fs::create_dir_all(repo_root.join("dist").as_path()).unwrap();
//! # std::fs::write(repo_root.join("dist/app.js").as_path(), "console.log(1)").unwrap();
//! let store = LocalStore::new(cache_dir);
//! let key: CacheKey = blake3::hash(b"the task hash").into();
//! let task = TaskInfo { task_id: "web#build".into(), duration_ms: 1200, exit_code: 0 };
//!
//! // After the task succeeded:
//! let outputs = [RepoPath::new("dist").unwrap()];
//! let request = PackRequest { key, task: &task, repo_root: &repo_root, outputs: &outputs, log: b"built\n" };
//! store.put_outputs(&request).unwrap();
//!
//! // Next time, before running it:
//! let Lookup::Hit(artifact) = store.fetch(&key).unwrap() else { panic!("expected a hit") };
//! // Only dist/ and what it holds may be written, and nothing git tracks (none here).
//! let policy = RestorePolicy::new(
//!     |path| path.components().next() == Some("dist"),
//!     Arc::new(ProtectedFiles::none()),
//! );
//! let restored = artifact.restore(&repo_root, &policy).unwrap();
//! assert!(restored.was_up_to_date()); // dist/ is still there: nothing written
//! assert_eq!(restored.log, b"built\n");
//! assert_eq!(restored.meta.task.duration_ms, 1200); // the time the hit saved
//! ```
//!
//! - [`CheckoutLock`] makes one run at a time write a checkout; [`LocalStore::evict`],
//!   [`LocalStore::clean_temp`] and [`LocalStore::prune`] keep the local cache bounded.
//!
//! It is its own crate because the runner, the image builder and the cache server all use
//! the format, and none of them should know its details.

mod archive;
mod artifact;
mod error;
#[cfg(test)]
mod fixture;
mod key;
mod local;
mod lock;
mod meta;
mod open;
mod pack;
mod policy;
mod records;
pub mod remote;
mod restore;
mod safety;
mod side;
mod store;

pub use archive::MAX_LOG;
pub use artifact::{Artifact, PackRequest, Restored};
pub use error::{CorruptEntry, Corruption, PackError, RestoreError, StoreError};
pub use key::{CacheKey, Checksum, DigestError};
pub use local::{CacheLimits, EvictReport, LocalStore, PruneReport, DEFAULT_ORPHAN_GRACE};
pub use lock::{CheckoutLock, LockError};
pub use meta::{ArchiveInfo, ArtifactMeta, TaskInfo, FORMAT_VERSION};
pub use open::{FileKind, OpenError};
pub use policy::{LoadError, Protected, ProtectedFiles, RestorePolicy};
pub use records::{OutputRecords, OUTPUT_RECORDS_FILE};
pub use remote::{RemoteConfigError, RemoteError, RemoteOptions, RemoteStore, RemoteUrl, Signer};
pub use side::{
    compress_manifest, decompress_manifest, unix_ms, RecentEntry, RecentIndex, SideCorruption,
    SideError, SideName, INDEX_VERSION, RECENT_CAP,
};
pub use store::{CacheStatus, CacheStore, Lookup};
