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

use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, PutPayload};
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 4] = b"MCS1";
const MAX_HEADER: usize = 4096;

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
    /// For logs: `disk:/path` or `s3://bucket/prefix`.
    pub description: String,
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
        })
    }

    fn path(&self, team: &str, hash: &str) -> ObjectPath {
        match self.prefix.as_str() {
            "" => ObjectPath::from(format!("{team}/{hash}")),
            prefix => ObjectPath::from(format!("{prefix}/{team}/{hash}")),
        }
    }

    /// Stores an artifact, replacing any previous one.
    pub async fn put(
        &self,
        team: &str,
        hash: &str,
        stored: &Stored,
        body: Bytes,
    ) -> Result<(), StorageError> {
        let header = serde_json::to_vec(stored).expect("serializes");
        let mut out = BytesMut::with_capacity(8 + header.len() + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&u32::try_from(header.len()).expect("small").to_be_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&body);
        self.store
            .put(&self.path(team, hash), PutPayload::from(out.freeze()))
            .await?;
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
