use crate::artifact::Artifact;
use crate::error::{CorruptEntry, StoreError};
use crate::key::CacheKey;

/// The outcome of looking a key up.
#[derive(Debug)]
pub enum Lookup {
    /// A verified entry.
    Hit(Artifact),
    /// No entry.
    Miss,
    /// An entry exists but cannot be used. Report it once and treat it as a miss; the next
    /// [`CacheStore::put`] of the key replaces it.
    Corrupt(CorruptEntry),
}

impl Lookup {
    /// The artifact, on a hit.
    pub fn into_hit(self) -> Option<Artifact> {
        match self {
            Lookup::Hit(artifact) => Some(artifact),
            Lookup::Miss | Lookup::Corrupt(_) => None,
        }
    }

    /// Whether this is a hit.
    pub fn is_hit(&self) -> bool {
        matches!(self, Lookup::Hit(_))
    }
}

/// How much a store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStatus {
    /// Number of entries (metadata files; an archive without one is not an entry).
    pub entries: u64,
    /// Bytes used by entries: archives, metadata and input manifests.
    pub total_bytes: u64,
}

/// A place that stores artifacts by key: the local directory first; S3-compatible object
/// stores and the Turborepo HTTP cache API later, behind the same trait.
///
/// The trait speaks of keys and [`Artifact`]s (metadata plus a verified archive file), never
/// of a store's layout, so the runner treats every store alike and can chain them (local,
/// then remote).
///
/// It is synchronous on purpose. Packing, verifying and restoring archives are CPU work and
/// blocking file I/O on streaming zstd and tar readers, and the local store is nothing but
/// that. The async runner calls a store from `spawn_blocking`; a remote store blocks on its
/// own client there (a blocking HTTP client, or a runtime handle it was given), which costs
/// nothing more since the archive has to be streamed from or to a file anyway.
///
/// Implementations are `Send + Sync` so that one store can serve all of a run's tasks.
pub trait CacheStore: Send + Sync {
    /// Whether a usable entry exists for `key`, cheaply: it checks the metadata and the
    /// archive's size, not its checksum. A corrupt entry does not exist.
    fn exists(&self, key: &CacheKey) -> Result<bool, StoreError>;

    /// Looks `key` up and verifies the entry (metadata, archive size and checksum). Errors
    /// are for the store itself failing; a bad entry is [`Lookup::Corrupt`].
    fn fetch(&self, key: &CacheKey) -> Result<Lookup, StoreError>;

    /// Stores `artifact` under its key, atomically: a concurrent or later lookup sees the
    /// whole previous entry, or the whole new one, never a mix. Replaces any entry already
    /// stored under the key, corrupt or not.
    fn put(&self, artifact: &Artifact) -> Result<(), StoreError>;

    /// How many entries the store holds and how many bytes they use.
    fn status(&self) -> Result<CacheStatus, StoreError>;
}
