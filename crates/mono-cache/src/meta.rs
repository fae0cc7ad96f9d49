use serde::{Deserialize, Serialize};

use crate::error::Corruption;
use crate::key::{CacheKey, Checksum};

/// The largest metadata file mono reads: its own are a few hundred bytes.
pub(crate) const MAX_META_LEN: u64 = 64 * 1024;

/// The version of the artifact format: the metadata schema, the archive's entry layout and
/// the local store's directory layout (`<cache dir>/v2/`). Bump it on any incompatible
/// change; entries of another version are reported as corrupt and replaced.
///
/// Version 2 added the archive's `key` entry, which binds an archive to its key.
pub const FORMAT_VERSION: u32 = 2;

/// What the task runner knows about a finished task, stored beside its outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInfo {
    /// The task id as displayed, `package#task` (`web#build`).
    pub task_id: String,
    /// How long the task ran, in milliseconds: the time a cache hit saves.
    pub duration_ms: u64,
    /// The task's exit code (0: mono caches only successful tasks).
    pub exit_code: i32,
}

/// The archive's size and checksum, as recorded in the metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveInfo {
    /// blake3 of the compressed archive's bytes.
    pub blake3: Checksum,
    /// Size of the compressed archive in bytes.
    pub size: u64,
}

/// The metadata of one cache entry: the small JSON file that makes an entry exist.
///
/// Schema (version 2), documented in docs/cache.md:
///
/// ```json
/// {
///   "version": 2,
///   "hash": "<64 hex: the cache key>",
///   "taskId": "web#build",
///   "durationMs": 1234,
///   "exitCode": 0,
///   "archive": { "blake3": "<64 hex>", "size": 5678 }
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactMeta {
    /// The format version, [`FORMAT_VERSION`].
    pub version: u32,
    /// The cache key (task hash) this entry is stored under.
    pub hash: CacheKey,
    /// What the runner recorded about the task.
    #[serde(flatten)]
    pub task: TaskInfo,
    /// Size and checksum of the archive.
    pub archive: ArchiveInfo,
}

#[derive(Deserialize)]
struct VersionProbe {
    version: u64,
}

impl ArtifactMeta {
    /// Serializes to the JSON stored beside the archive (pretty, with a trailing newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("metadata always serializes");
        out.push(b'\n');
        out
    }

    /// Parses stored metadata, checking its version and that it belongs to `key`.
    ///
    /// The version is read first, so metadata of another version is reported as
    /// [`Corruption::UnsupportedVersion`] even if the rest of its schema differs.
    pub fn from_json(bytes: &[u8], key: &CacheKey) -> Result<Self, Corruption> {
        let probe: VersionProbe = serde_json::from_slice(bytes).map_err(Corruption::BadMetadata)?;
        if probe.version != u64::from(FORMAT_VERSION) {
            return Err(Corruption::UnsupportedVersion {
                found: probe.version,
            });
        }
        let meta: ArtifactMeta = serde_json::from_slice(bytes).map_err(Corruption::BadMetadata)?;
        if meta.hash != *key {
            return Err(Corruption::KeyMismatch { found: meta.hash });
        }
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ArtifactMeta {
        ArtifactMeta {
            version: FORMAT_VERSION,
            hash: CacheKey::from(blake3::hash(b"k")),
            task: TaskInfo {
                task_id: "web#build".into(),
                duration_ms: 1234,
                exit_code: 0,
            },
            archive: ArchiveInfo {
                blake3: Checksum::of(b"a"),
                size: 5678,
            },
        }
    }

    #[test]
    fn json_round_trip_uses_turborepo_style_names() {
        let meta = sample();
        let json = meta.to_json();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "version",
                "hash",
                "taskId",
                "durationMs",
                "exitCode",
                "archive"
            ]
        );
        assert_eq!(ArtifactMeta::from_json(&json, &meta.hash).unwrap(), meta);
    }

    #[test]
    fn rejects_other_versions_keys_and_garbage() {
        let meta = sample();
        let mut value: serde_json::Value = serde_json::from_slice(&meta.to_json()).unwrap();
        value["version"] = 1.into();
        let json = serde_json::to_vec(&value).unwrap();
        assert!(matches!(
            ArtifactMeta::from_json(&json, &meta.hash),
            Err(Corruption::UnsupportedVersion { found: 1 })
        ));
        let other = CacheKey::from(blake3::hash(b"other"));
        assert!(matches!(
            ArtifactMeta::from_json(&meta.to_json(), &other),
            Err(Corruption::KeyMismatch { .. })
        ));
        assert!(matches!(
            ArtifactMeta::from_json(b"{\"version\":2}", &meta.hash),
            Err(Corruption::BadMetadata(_))
        ));
        assert!(matches!(
            ArtifactMeta::from_json(b"\x00\x01", &meta.hash),
            Err(Corruption::BadMetadata(_))
        ));
    }
}
