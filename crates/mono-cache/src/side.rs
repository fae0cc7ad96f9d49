//! Side files: small files a store keeps beside its entries, read without any archive.
//!
//! - The **recent-entries index** of a task id ([`RecentIndex`]): its recent cache keys,
//!   newest first, each with the task's duration and when it was recorded. The local store
//!   records an entry whenever this checkout stores or restores one, the remote store on
//!   every upload; the head of an index is thus "the last entry this checkout stored or
//!   restored" (local) or "the newest entry the remote has" (remote). It is what a miss is
//!   explained against, and where a scheduler finds a task's last duration.
//! - The **input manifest** of an entry (`crate::manifest`), in a later module.
//!
//! A side file that cannot be read as what it should be is a [`SideError::Corrupt`]: the
//! caller warns and treats it as absent. It never fails a run, and the next record
//! replaces it.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::key::CacheKey;
use crate::open::OpenError;
use crate::remote::RemoteError;

/// How many entries an index keeps per task id: enough for a few branches' worth of
/// history, small enough to rewrite on every store.
pub const RECENT_CAP: usize = 16;

/// The version of the index's JSON schema.
pub const INDEX_VERSION: u32 = 1;

/// The largest index file mono reads: its own are about 2 KiB.
pub(crate) const MAX_INDEX_LEN: u64 = 256 * 1024;

/// The largest compressed manifest mono reads.
pub(crate) const MAX_MANIFEST_LEN: u64 = 32 << 20;
/// The largest manifest JSON mono decompresses.
const MAX_MANIFEST_JSON: u64 = 512 << 20;
/// zstd level of manifests: they are written once per stored entry.
const MANIFEST_LEVEL: i32 = 3;

/// The stored form of a manifest's JSON: one zstd frame.
pub fn compress_manifest(json: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(json, MANIFEST_LEVEL).expect("compressing to memory does not fail")
}

/// The JSON of a stored manifest, refusing more than mono writes.
pub fn decompress_manifest(bytes: &[u8]) -> Result<Vec<u8>, SideCorruption> {
    use std::io::Read;
    let decoder = zstd::stream::read::Decoder::new(bytes).map_err(SideCorruption::Decompress)?;
    let mut json = Vec::new();
    decoder
        .take(MAX_MANIFEST_JSON + 1)
        .read_to_end(&mut json)
        .map_err(SideCorruption::Decompress)?;
    if json.len() as u64 > MAX_MANIFEST_JSON {
        return Err(SideCorruption::Unsafe(OpenError::TooLarge {
            size: json.len() as u64,
            cap: MAX_MANIFEST_JSON,
        }));
    }
    Ok(json)
}

/// One cache entry of a task, as its index remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentEntry {
    /// The entry's key (the task hash it was stored under).
    pub key: CacheKey,
    /// How long the task ran when the entry was made, in milliseconds.
    pub duration_ms: u64,
    /// When the entry was recorded (stored, restored or uploaded), in milliseconds since the
    /// Unix epoch.
    pub at: u64,
}

impl RecentEntry {
    /// An entry for `key` recorded now.
    pub fn now(key: CacheKey, duration_ms: u64) -> Self {
        Self {
            key,
            duration_ms,
            at: unix_ms(SystemTime::now()),
        }
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The recent entries of one task id, newest first, at most [`RECENT_CAP`].
///
/// Schema (version 1), documented in docs/cache.md:
///
/// ```json
/// {
///   "version": 1,
///   "taskId": "web#build",
///   "entries": [ { "key": "<64 hex>", "durationMs": 1234, "at": 1764772800000 } ]
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentIndex {
    /// [`INDEX_VERSION`].
    pub version: u32,
    /// The task id, `package#task`: checked on reading, so that two ids whose file names
    /// collide never read each other's index.
    pub task_id: String,
    /// Newest first.
    pub entries: Vec<RecentEntry>,
}

impl RecentIndex {
    /// An empty index of `task_id`.
    pub fn new(task_id: &str) -> Self {
        Self {
            version: INDEX_VERSION,
            task_id: task_id.to_owned(),
            entries: Vec::new(),
        }
    }

    /// Puts `entry` first, dropping an older record of the same key and anything past
    /// [`RECENT_CAP`].
    pub fn record(&mut self, entry: RecentEntry) {
        self.entries.retain(|old| old.key != entry.key);
        self.entries.insert(0, entry);
        self.entries.truncate(RECENT_CAP);
    }

    /// The JSON stored (compact, with a trailing newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).expect("an index always serializes");
        out.push(b'\n');
        out
    }

    /// Parses a stored index of `task_id`.
    pub fn from_json(bytes: &[u8], task_id: &str) -> Result<Self, SideCorruption> {
        #[derive(Deserialize)]
        struct Probe {
            version: u64,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(SideCorruption::Json)?;
        if probe.version != u64::from(INDEX_VERSION) {
            return Err(SideCorruption::UnsupportedVersion {
                found: probe.version,
            });
        }
        let mut index: RecentIndex = serde_json::from_slice(bytes).map_err(SideCorruption::Json)?;
        if index.task_id != task_id {
            return Err(SideCorruption::OtherOwner {
                found: index.task_id,
            });
        }
        // Written by a writer that kept the rules, or trimmed here.
        index.entries.truncate(RECENT_CAP);
        Ok(index)
    }
}

/// What a side file belongs to: a task id (its index) or an entry (its manifest). Names the
/// file in each store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SideName {
    /// The recent-entries index of a task id.
    Index(String),
    /// The input manifest of the entry of a key.
    Manifest(CacheKey),
}

impl SideName {
    /// The 64-hex name a Turborepo-protocol remote keeps the file under, as an artifact: no
    /// task hash collides with it, since each is blake3 of a domain string no task hash
    /// encoding starts with.
    pub fn derived_key(&self) -> CacheKey {
        let mut hasher = blake3::Hasher::new();
        match self {
            SideName::Index(task_id) => {
                hasher.update(b"mono recent-entries index v1\0");
                hasher.update(task_id.as_bytes());
            }
            SideName::Manifest(key) => {
                hasher.update(b"mono input manifest v1\0");
                hasher.update(key.as_bytes());
            }
        }
        hasher.finalize().into()
    }

    /// The file name in a local folder or an S3 prefix, relative to the entries.
    pub fn relative_path(&self) -> String {
        match self {
            SideName::Index(task_id) => {
                format!("index/{}.json", blake3::hash(task_id.as_bytes()).to_hex())
            }
            SideName::Manifest(key) => format!("{key}.manifest.zst"),
        }
    }
}

impl fmt::Display for SideName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SideName::Index(task_id) => write!(f, "the recent-entries index of {task_id}"),
            SideName::Manifest(key) => write!(f, "the input manifest of {key}"),
        }
    }
}

/// Why a side file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SideCorruption {
    /// Not JSON of the expected schema.
    #[error("it is not valid JSON of its schema: {0}")]
    Json(#[source] serde_json::Error),
    /// Another schema version.
    #[error("it has format version {found}, which this mono does not read")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// It names another task id or key than the one it is stored for.
    #[error("it belongs to {found}")]
    OtherOwner {
        /// What it names.
        found: String,
    },
    /// Not zstd, or a zstd stream that does not decode.
    #[error("it cannot be decompressed: {0}")]
    Decompress(#[source] io::Error),
    /// Larger than any mono writes, or not a regular file.
    #[error("{0}")]
    Unsafe(#[source] OpenError),
    /// Signatures are required and the remote file has none.
    #[error("it is not signed, and MONO_REMOTE_CACHE_SIGNATURE_KEY requires a signature")]
    Unsigned,
    /// Its signature does not match.
    #[error("its signature does not match (forged, or signed with another key)")]
    BadSignature,
}

/// Why a side file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SideError {
    /// A local file could not be read or written.
    #[error("cache I/O failed at {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The remote failed (it is then marked down, as for artifacts).
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The file exists and is not usable: warn, and treat it as absent.
    #[error("{name} at {location} is not usable ({reason}); treating it as absent")]
    Corrupt {
        /// Which file.
        name: SideName,
        /// Where it is (a path, or a URL).
        location: String,
        /// What is wrong.
        #[source]
        reason: SideCorruption,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> CacheKey {
        CacheKey::from_bytes([n; 32])
    }

    fn entry(n: u8) -> RecentEntry {
        RecentEntry {
            key: key(n),
            duration_ms: u64::from(n) * 10,
            at: u64::from(n),
        }
    }

    #[test]
    fn record_puts_newest_first_without_duplicates_and_caps() {
        let mut index = RecentIndex::new("web#build");
        for n in 0..20 {
            index.record(entry(n));
        }
        assert_eq!(index.entries.len(), RECENT_CAP);
        assert_eq!(index.entries[0], entry(19));
        assert_eq!(index.entries[RECENT_CAP - 1], entry(4));
        index.record(entry(10));
        assert_eq!(index.entries[0], entry(10));
        assert_eq!(index.entries.iter().filter(|e| e.key == key(10)).count(), 1);
        assert_eq!(index.entries.len(), RECENT_CAP);
    }

    #[test]
    fn json_round_trip_and_checks() {
        let mut index = RecentIndex::new("web#build");
        index.record(entry(1));
        let json = index.to_json();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["taskId"], "web#build");
        assert_eq!(value["entries"][0]["durationMs"], 10);
        assert_eq!(value["entries"][0]["key"], key(1).to_string());
        assert_eq!(RecentIndex::from_json(&json, "web#build").unwrap(), index);
        assert!(matches!(
            RecentIndex::from_json(&json, "api#build"),
            Err(SideCorruption::OtherOwner { found }) if found == "web#build"
        ));
        assert!(matches!(
            RecentIndex::from_json(br#"{"version":9}"#, "web#build"),
            Err(SideCorruption::UnsupportedVersion { found: 9 })
        ));
        assert!(matches!(
            RecentIndex::from_json(b"\x00garbage", "web#build"),
            Err(SideCorruption::Json(_))
        ));
    }

    #[test]
    fn names_are_distinct_per_kind_and_owner() {
        let a = SideName::Index("web#build".into());
        let b = SideName::Index("api#build".into());
        let m = SideName::Manifest(key(1));
        assert_ne!(a.derived_key(), b.derived_key());
        assert_ne!(a.derived_key(), m.derived_key());
        assert_ne!(m.derived_key(), key(1));
        assert!(a.relative_path().starts_with("index/"));
        assert!(a.relative_path().ends_with(".json"));
        assert_eq!(m.relative_path(), format!("{}.manifest.zst", key(1)));
    }
}
