//! Where the server keeps artifacts: a folder or an S3-compatible bucket, both through
//! `object_store` (whose local store writes to a temporary file and renames it, so a
//! reader never sees half an artifact).
//!
//! Each artifact is one object at `<team>/<hash>`:
//!
//! ```text
//! b"MCS1"   u32 big-endian N   N bytes of JSON {"durationMs": .., "tag": ..}   the artifact
//! ```
//!
//! `<team>` and `<hash>` are validated by the routes (letters, digits, `-`, `_`, `.`; hex
//! for hashes), so no request names an object outside the store.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, PutMode, PutOptions, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 4] = b"MCS1";
const MAX_HEADER: usize = 4096;

/// The longest `x-artifact-tag` stored (turbo's HMAC-SHA256 tags are 44 characters): the
/// metadata always fits in [`MAX_HEADER`].
pub const MAX_TAG_LEN: usize = 1024;

/// Bytes buffered per upload before a part is written: S3 parts must be at least 5 MiB; a
/// local part is written at its offset in the staging file.
const S3_PART_SIZE: usize = 8 << 20;
const DISK_PART_SIZE: usize = 1 << 20;
/// Parts of one upload written at once: the memory of one upload is at most
/// `(PARTS_IN_FLIGHT + 1) * part size`.
const PARTS_IN_FLIGHT: usize = 2;

/// What the server keeps beside an artifact's bytes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    /// `x-artifact-duration`: how long the task took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// `x-artifact-tag`: the client's signature.
    pub tag: Option<String>,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object store failed.
    #[error("storage failed: {0}")]
    Store(#[from] object_store::Error),
    /// An object that is not one this server wrote.
    #[error("object {0} is not an artifact of this server")]
    Foreign(String),
    /// The storage folder cannot be created.
    #[error("cannot create {path}: {source}")]
    Create {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The storage folder cannot be cleaned.
    #[error("cannot clean {path}: {source}")]
    Clean {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// An artifact being served.
pub struct Found {
    pub stored: Stored,
    pub len: u64,
    pub body: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

/// The artifact store.
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// The folder of a disk store (its files' modification times record use).
    root: Option<PathBuf>,
    /// When each artifact of an S3 store was last read or written by this process (S3
    /// records only when an object was written).
    used: Mutex<HashMap<ObjectPath, SystemTime>>,
    /// For logs: `disk:/path` or `s3://bucket/prefix`.
    pub description: String,
}

/// An upload in progress: the artifact is written part by part and becomes visible only
/// at [`Storage::finish`]. Dropped unfinished (refused, cut off), it is aborted.
pub struct Upload {
    writer: Option<WriteMultipart>,
    path: ObjectPath,
    len: u64,
}

/// What an eviction pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Evicted {
    /// Artifacts deleted.
    pub artifacts: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Artifacts kept.
    pub kept: u64,
    /// Their bytes.
    pub kept_bytes: u64,
}

impl Storage {
    /// Artifacts in the folder `dir`, created if needed.
    pub fn disk(dir: PathBuf) -> Result<Storage, StorageError> {
        std::fs::create_dir_all(&dir).map_err(|source| StorageError::Create {
            path: dir.clone(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(&dir)?;
        Ok(Storage {
            store: Arc::new(store),
            prefix: String::new(),
            description: format!("disk:{}", dir.display()),
            root: Some(dir),
            used: Mutex::new(HashMap::new()),
        })
    }

    /// Artifacts in `s3://BUCKET/PREFIX`, with the AWS environment.
    pub fn s3(url: &str) -> Result<Storage, StorageError> {
        let builder = AmazonS3Builder::from_env().with_url(url);
        let endpoint = builder
            .get_config_value(&object_store::aws::AmazonS3ConfigKey::Endpoint)
            .unwrap_or_default();
        let store = builder
            .with_client_options(
                ClientOptions::new().with_allow_http(endpoint.starts_with("http://")),
            )
            .build()?;
        let prefix = url
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .map(|(_, prefix)| prefix.trim_matches('/').to_owned())
            .unwrap_or_default();
        Ok(Storage {
            store: Arc::new(store),
            prefix,
            description: url.to_owned(),
            root: None,
            used: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, team: &str, hash: &str) -> ObjectPath {
        match self.prefix.as_str() {
            "" => ObjectPath::from(format!("{team}/{hash}")),
            prefix => ObjectPath::from(format!("{prefix}/{team}/{hash}")),
        }
    }

    /// Starts storing an artifact (replacing any previous one once finished): the metadata
    /// first, then the bytes given to [`Upload::write`].
    pub async fn begin(
        &self,
        team: &str,
        hash: &str,
        stored: &Stored,
    ) -> Result<Upload, StorageError> {
        let path = self.path(team, hash);
        let upload = self.store.put_multipart(&path).await?;
        let part_size = if self.root.is_some() {
            DISK_PART_SIZE
        } else {
            S3_PART_SIZE
        };
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
        writer.write(&encode_header(stored));
        Ok(Upload {
            writer: Some(writer),
            path,
            len: 0,
        })
    }

    /// Stores an artifact held in memory, replacing any previous one.
    #[cfg(test)]
    pub async fn put(
        &self,
        team: &str,
        hash: &str,
        stored: &Stored,
        body: Bytes,
    ) -> Result<(), StorageError> {
        let mut upload = self.begin(team, hash, stored).await?;
        upload.write(&body).await?;
        self.finish(upload).await
    }

    /// Stores an artifact only if there is none under `hash`: `Ok(false)` when one was
    /// there. Atomic where the store is (a hard link on disk, `If-None-Match` on S3).
    pub async fn create(
        &self,
        team: &str,
        hash: &str,
        stored: &Stored,
        body: Bytes,
    ) -> Result<bool, StorageError> {
        let path = self.path(team, hash);
        let mut bytes = encode_header(stored);
        bytes.extend_from_slice(&body);
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => {
                self.used_now(&path).await;
                Ok(true)
            }
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Makes an upload's artifact visible.
    pub async fn finish(&self, mut upload: Upload) -> Result<(), StorageError> {
        let writer = upload.writer.take().expect("an upload finishes once");
        writer.finish().await?;
        self.used_now(&upload.path).await;
        Ok(())
    }

    /// The artifact's metadata and length, without its bytes.
    pub async fn head(
        &self,
        team: &str,
        hash: &str,
    ) -> Result<Option<(Stored, u64)>, StorageError> {
        let path = self.path(team, hash);
        let meta = match self.store.head(&path).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let end = meta.size.min(MAX_HEADER as u64 + 8);
        let bytes = self.store.get_range(&path, 0..end).await?;
        let (stored, header_len) =
            parse_header(&bytes).ok_or_else(|| StorageError::Foreign(path.to_string()))?;
        self.used_now(&path).await;
        Ok(Some((stored, meta.size - header_len as u64)))
    }

    /// The artifact, streamed.
    pub async fn get(&self, team: &str, hash: &str) -> Result<Option<Found>, StorageError> {
        let path = self.path(team, hash);
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let size = result.meta.size;
        let mut stream = result.into_stream();
        let mut head = BytesMut::new();
        let parsed = loop {
            if let Some(parsed) = parse_header(&head) {
                break parsed;
            }
            if head.len() > MAX_HEADER + 8 {
                return Err(StorageError::Foreign(path.to_string()));
            }
            match stream.next().await {
                Some(chunk) => head.extend_from_slice(&chunk?),
                None => return Err(StorageError::Foreign(path.to_string())),
            }
        };
        let (stored, header_len) = parsed;
        self.used_now(&path).await;
        let rest = head.split_off(header_len).freeze();
        let body = futures::stream::once(async move { Ok(rest) })
            .chain(stream)
            .boxed();
        Ok(Some(Found {
            stored,
            len: size - header_len as u64,
            body,
        }))
    }

    /// Records that `path` was used now: the file's modification time on disk (so the
    /// order survives a restart), a map in memory for S3.
    async fn used_now(&self, path: &ObjectPath) {
        let now = SystemTime::now();
        match &self.root {
            Some(root) => {
                let file = root.join(path.as_ref());
                let _ = tokio::task::spawn_blocking(move || {
                    std::fs::File::open(&file).and_then(|f| f.set_modified(now))
                })
                .await;
            }
            None => {
                self.used
                    .lock()
                    .expect("not poisoned")
                    .insert(path.clone(), now);
            }
        }
    }

    /// Removes the staging files of uploads a killed server left behind (`<hash>#<n>`,
    /// object_store's names; artifacts' names never hold `#`). Run at start, before the
    /// server accepts an upload. Returns the files and bytes removed. S3 keeps no staging
    /// objects: abandoned multipart uploads are the bucket's lifecycle rule's job.
    pub fn clean_staging_files(&self) -> Result<(u64, u64), StorageError> {
        let Some(root) = &self.root else {
            return Ok((0, 0));
        };
        let mut removed = (0, 0);
        clean_dir(root, &mut removed)?;
        Ok(removed)
    }

    /// Deletes artifacts unused for longer than `max_age`, then the least recently used
    /// ones until the store holds at most `max_size` bytes.
    pub async fn evict(
        &self,
        max_size: Option<u64>,
        max_age: Option<Duration>,
    ) -> Result<Evicted, StorageError> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let mut listing = self.store.list(prefix.as_ref());
        let mut objects = Vec::new();
        {
            while let Some(object) = listing.next().await {
                let object = object?;
                let written = SystemTime::from(object.last_modified);
                let used = self
                    .used
                    .lock()
                    .expect("not poisoned")
                    .get(&object.location)
                    .copied()
                    .map_or(written, |used| used.max(written));
                objects.push((used, object.size, object.location));
            }
        }
        let now = SystemTime::now();
        let victims = choose_victims(&mut objects, now, max_size, max_age);
        let mut evicted = Evicted::default();
        for (index, (_, size, location)) in objects.iter().enumerate() {
            if victims.contains(&index) {
                match self.store.delete(location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                        evicted.artifacts += 1;
                        evicted.bytes += size;
                        self.used.lock().expect("not poisoned").remove(location);
                    }
                    Err(err) => return Err(err.into()),
                }
            } else {
                evicted.kept += 1;
                evicted.kept_bytes += size;
            }
        }
        Ok(evicted)
    }
}

/// Sorts `objects` (last use, size, name) least recently used first and returns the
/// indexes to delete: every one older than `max_age`, then the oldest until the rest fits in
/// `max_size`.
fn choose_victims<T>(
    objects: &mut [(SystemTime, u64, T)],
    now: SystemTime,
    max_size: Option<u64>,
    max_age: Option<Duration>,
) -> std::collections::HashSet<usize> {
    objects.sort_by_key(|(used, _, _)| *used);
    let mut victims = std::collections::HashSet::new();
    let mut total: u64 = objects.iter().map(|(_, size, _)| size).sum();
    for (index, (used, size, _)) in objects.iter().enumerate() {
        let too_old =
            max_age.is_some_and(|age| now.duration_since(*used).unwrap_or_default() > age);
        let too_big = max_size.is_some_and(|max| total > max);
        if too_old || too_big {
            victims.insert(index);
            total -= size;
        }
    }
    victims
}

fn clean_dir(dir: &Path, removed: &mut (u64, u64)) -> Result<(), StorageError> {
    let clean = |source| StorageError::Clean {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(clean)? {
        let entry = entry.map_err(clean)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(clean)?;
        if kind.is_dir() {
            clean_dir(&path, removed)?;
        } else if entry.file_name().to_string_lossy().contains('#') {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            std::fs::remove_file(&path).map_err(|source| StorageError::Clean {
                path: path.clone(),
                source,
            })?;
            removed.0 += 1;
            removed.1 += len;
        }
    }
    Ok(())
}

impl Upload {
    /// Appends bytes; waits while earlier parts are written, so an upload holds at most a
    /// few parts in memory however fast its client sends.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        let writer = self.writer.as_mut().expect("not finished");
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.write(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// The artifact's bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            // Deletes the staging file (disk) or the uploaded parts (S3).
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = writer.abort().await;
                });
            }
        }
    }
}

fn encode_header(stored: &Stored) -> Vec<u8> {
    let header = serde_json::to_vec(stored).expect("serializes");
    let mut out = Vec::with_capacity(8 + header.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&u32::try_from(header.len()).expect("small").to_be_bytes());
    out.extend_from_slice(&header);
    out
}

/// The header and its length, once `bytes` holds all of it.
fn parse_header(bytes: &[u8]) -> Option<(Stored, usize)> {
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return None;
    }
    let len = u32::from_be_bytes(bytes[4..8].try_into().ok()?) as usize;
    if len > MAX_HEADER || bytes.len() < 8 + len {
        return None;
    }
    let stored = serde_json::from_slice(&bytes[8..8 + len]).ok()?;
    Some((stored, 8 + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disk_round_trip_keeps_metadata_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::disk(dir.path().join("store")).unwrap();
        assert!(storage
            .get("team", "abcdef0123456789")
            .await
            .unwrap()
            .is_none());
        let stored = Stored {
            duration_ms: Some(42),
            tag: Some("t".into()),
        };
        storage
            .put(
                "team",
                "abcdef0123456789",
                &stored,
                Bytes::from_static(b"artifact bytes"),
            )
            .await
            .unwrap();
        let (head, len) = storage
            .head("team", "abcdef0123456789")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((head.duration_ms, len), (Some(42), 14));
        let found = storage
            .get("team", "abcdef0123456789")
            .await
            .unwrap()
            .unwrap();
        let body: Vec<Bytes> = found.body.map(Result::unwrap).collect().await;
        assert_eq!(body.concat(), b"artifact bytes");
        assert_eq!(found.stored.tag.as_deref(), Some("t"));
        assert!(storage
            .get("other", "abcdef0123456789")
            .await
            .unwrap()
            .is_none());
    }
}
