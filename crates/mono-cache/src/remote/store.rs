//! [`RemoteStore`]: a remote cache behind the synchronous [`CacheStore`] trait, with its own
//! I/O threads, background uploads, and the rule that a failing remote is reported once and
//! then left alone.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::backend::Backend;
use super::config::{RemoteConfigError, RemoteError, RemoteOptions, RemoteUrl};
use super::envelope;
use crate::artifact::Artifact;
use crate::error::{CorruptEntry, Corruption, StoreError};
use crate::key::CacheKey;
use crate::side::{
    compress_manifest, decompress_manifest, RecentEntry, RecentIndex, SideCorruption, SideError,
    SideName, MAX_INDEX_LEN, MAX_MANIFEST_LEN,
};
use crate::store::{CacheStatus, CacheStore, Lookup};

/// A remote cache: an S3-compatible bucket or a Turborepo API server.
///
/// Each artifact is one object (see `envelope`): metadata and archive, checked on download
/// (size and blake3 of the archive, and the signature when a key is set) before it is
/// handed out, so nothing unverified is ever restored.
///
/// Faults: the first request that fails (connection refused, timeout, refused credentials,
/// an answer that is not a mono artifact at all) is returned as an error for the caller to
/// report, and marks the remote down; from then on every lookup is a miss and every upload
/// is skipped, silently. A bad artifact (wrong size, checksum or signature) is
/// [`Lookup::Corrupt`] and does not mark the remote down, and neither does an HTTP 5xx to
/// one artifact's request: the server answered, so it is up, and that artifact alone is a
/// miss ([`Corruption::ServerError`]) or a failed upload.
pub struct RemoteStore {
    inner: Arc<Inner>,
    runtime: Option<tokio::runtime::Runtime>,
    uploads: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

struct Inner {
    url: RemoteUrl,
    backend: Backend,
    options: RemoteOptions,
    scratch_dir: PathBuf,
    down: AtomicBool,
    uploaded: AtomicU64,
    uploaded_bytes: AtomicU64,
    upload_errors: Mutex<Vec<RemoteError>>,
    /// Bad index files found (and replaced) while recording uploads, to report once.
    index_warnings: Mutex<Vec<SideError>>,
}

/// What the background uploads did, from [`RemoteStore::wait_for_uploads`].
#[derive(Debug, Default)]
pub struct UploadReport {
    /// Artifacts stored.
    pub uploaded: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Uploads still running when the bound was reached (abandoned).
    pub unfinished: usize,
    /// The first upload error, if the remote went down during uploads and no other error
    /// was reported before.
    pub error: Option<RemoteError>,
    /// Bad recent-entries indexes found while recording the uploads (each was replaced by
    /// a new one), for the caller to warn about.
    pub index_warnings: Vec<SideError>,
}

impl RemoteStore {
    /// A store for `url`. Downloads are written to temporary files in `scratch_dir`
    /// (created when needed): the local store's entries directory lets a hit be linked
    /// into the local cache instead of copied.
    pub fn new(
        url: RemoteUrl,
        options: RemoteOptions,
        scratch_dir: impl Into<PathBuf>,
    ) -> Result<RemoteStore, RemoteConfigError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mono-remote-cache")
            .enable_all()
            .build()
            .map_err(RemoteConfigError::Runtime)?;
        // reqwest and object_store need the runtime's context while they are built.
        let backend = {
            let _entered = runtime.enter();
            Backend::new(&url, &options)?
        };
        Ok(RemoteStore {
            inner: Arc::new(Inner {
                url,
                backend,
                options,
                scratch_dir: scratch_dir.into(),
                down: AtomicBool::new(false),
                uploaded: AtomicU64::new(0),
                uploaded_bytes: AtomicU64::new(0),
                upload_errors: Mutex::new(Vec::new()),
                index_warnings: Mutex::new(Vec::new()),
            }),
            runtime: Some(runtime),
            uploads: Mutex::new(Vec::new()),
        })
    }

    /// The remote's URL.
    pub fn url(&self) -> &RemoteUrl {
        &self.inner.url
    }

    /// Whether a failure marked the remote down for the rest of this process.
    pub fn is_down(&self) -> bool {
        self.inner.down.load(Ordering::SeqCst)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("the runtime lives until drop")
    }

    /// Runs `future` on the store's own runtime and waits for it from any thread, inside
    /// another runtime's blocking pool or not.
    fn block<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, RemoteError> {
        let (tx, rx) = mpsc::channel();
        self.runtime().spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().map_err(|_| RemoteError::TaskFailed)
    }

    /// Reports `err` if it is the first failure, and marks the remote down.
    fn fail<T>(&self, err: RemoteError, quiet: T) -> Result<T, StoreError> {
        self.inner.fail(err, quiet)
    }

    /// Starts uploading `artifact` and returns at once; [`RemoteStore::wait_for_uploads`]
    /// waits for it. Nothing happens when the remote is down.
    pub fn put_in_background(&self, artifact: Artifact) {
        self.upload_in_background(artifact, None);
    }

    /// [`RemoteStore::put_in_background`] with the entry's input manifest (its JSON): the
    /// manifest is uploaded first, then the artifact, then the task's index records it, so
    /// an index never names an entry before its manifest is there.
    pub fn upload_in_background(&self, artifact: Artifact, manifest: Option<Vec<u8>>) {
        self.upload_in_background_then(artifact, manifest, |_| {});
    }

    /// [`RemoteStore::upload_in_background`], then `done` with whether the artifact was
    /// uploaded, on the upload's thread (`--profile` measures uploads with it). `done` is
    /// not called when the remote is down before the upload starts, or when the upload is
    /// abandoned.
    pub fn upload_in_background_then(
        &self,
        artifact: Artifact,
        manifest: Option<Vec<u8>>,
        done: impl FnOnce(bool) + Send + 'static,
    ) {
        if self.is_down() {
            return;
        }
        let inner = Arc::clone(&self.inner);
        let handle = self.runtime().spawn(async move {
            let mut succeeded = false;
            let key = artifact.key();
            let duration = artifact.meta().task.duration_ms;
            let task_id = artifact.meta().task.task_id.clone();
            let prepared = tokio::task::spawn_blocking(move || {
                inner.prepare_upload(&artifact).map(|b| (b, inner))
            })
            .await;
            let Ok(Ok(((body, tag), inner))) = prepared else {
                done(false);
                return;
            };
            if let Some(json) = manifest {
                if let Err(err) = inner.put_manifest(&key, &json).await {
                    inner.upload_failed(err);
                    if inner.down.load(Ordering::SeqCst) {
                        done(false);
                        return;
                    }
                }
            }
            let len = body.len() as u64;
            match inner.upload(&key, body, tag, duration).await {
                Ok(()) => {
                    inner.uploaded.fetch_add(1, Ordering::SeqCst);
                    inner.uploaded_bytes.fetch_add(len, Ordering::SeqCst);
                    inner
                        .record_upload(&task_id, RecentEntry::now(key, duration))
                        .await;
                    succeeded = true;
                }
                Err(err) if err.is_server_error() => {
                    // This artifact failed; the remote is up. Reported once.
                    let mut errors = inner.upload_errors.lock().expect("not poisoned");
                    if errors.is_empty() && !inner.down.load(Ordering::SeqCst) {
                        errors.push(err);
                    }
                }
                Err(err) => {
                    if !inner.down.swap(true, Ordering::SeqCst) {
                        inner.upload_errors.lock().expect("not poisoned").push(err);
                    }
                }
            }
            done(succeeded);
        });
        self.uploads.lock().expect("not poisoned").push(handle);
    }

    /// Waits for the background uploads, at most `bound`; uploads still running then are
    /// abandoned.
    pub fn wait_for_uploads(&self, bound: Duration) -> UploadReport {
        let handles: Vec<_> = std::mem::take(&mut *self.uploads.lock().expect("not poisoned"));
        let total = handles.len();
        let finished = self
            .block(async move {
                let mut finished = 0usize;
                let all = async {
                    for handle in handles {
                        let _ = handle.await;
                        finished += 1;
                    }
                };
                let _ = tokio::time::timeout(bound, all).await;
                finished
            })
            .unwrap_or(0);
        UploadReport {
            uploaded: self.inner.uploaded.load(Ordering::SeqCst),
            bytes: self.inner.uploaded_bytes.load(Ordering::SeqCst),
            unfinished: total - finished,
            error: self
                .inner
                .upload_errors
                .lock()
                .expect("not poisoned")
                .drain(..)
                .next(),
            index_warnings: std::mem::take(
                &mut *self.inner.index_warnings.lock().expect("not poisoned"),
            ),
        }
    }

    /// Downloads the artifacts of `keys`, up to `parallel` at a time, calling `found` with
    /// each key's lookup as it completes. Stops asking once the remote is down.
    pub fn fetch_many(
        &self,
        keys: Vec<CacheKey>,
        parallel: usize,
        found: impl Fn(CacheKey, Result<Lookup, StoreError>) + Send + Sync + 'static,
    ) -> Result<(), RemoteError> {
        let inner = Arc::clone(&self.inner);
        let found = Arc::new(found);
        self.block(async move {
            futures::stream::iter(keys)
                .map(|key| {
                    let inner = Arc::clone(&inner);
                    let found = Arc::clone(&found);
                    async move {
                        let lookup = inner.fetch(&key).await;
                        tokio::task::spawn_blocking(move || found(key, lookup))
                            .await
                            .ok();
                    }
                })
                .buffer_unordered(parallel.max(1))
                .collect::<Vec<()>>()
                .await;
        })
    }
}

impl Inner {
    fn fail<T>(&self, err: RemoteError, quiet: T) -> Result<T, StoreError> {
        if self.down.swap(true, Ordering::SeqCst) {
            Ok(quiet)
        } else {
            Err(StoreError::Remote(err))
        }
    }

    /// Reads the side file `name`, checking its signature when signatures are on. `None`:
    /// the remote has none (or is down).
    async fn read_side(&self, name: &SideName, cap: u64) -> Result<Option<Vec<u8>>, SideError> {
        if self.down.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let bound = self.options.timeout;
        let got = match tokio::time::timeout(bound, self.backend.get_side(name, cap)).await {
            Ok(got) => got,
            Err(_) => Err(RemoteError::Timeout {
                url: self.url.to_string(),
                timeout: bound,
            }),
        };
        let corrupt = |reason| SideError::Corrupt {
            name: name.clone(),
            location: self.backend.side_location(name),
            reason,
        };
        let (bytes, tag) = match got {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            // The server failed on this one object: absent, the remote stays up.
            Err(err) if err.is_server_error() => return Ok(None),
            Err(err) => {
                return match self.fail(err, None) {
                    Ok(none) => Ok(none),
                    Err(StoreError::Remote(err)) => Err(SideError::Remote(err)),
                    Err(_) => Ok(None),
                }
            }
        };
        if bytes.len() as u64 > cap {
            return Err(corrupt(SideCorruption::Unsafe(
                crate::open::OpenError::TooLarge {
                    size: bytes.len() as u64,
                    cap,
                },
            )));
        }
        if let Some(signer) = &self.options.signer {
            let Some(tag) = tag else {
                return Err(corrupt(SideCorruption::Unsigned));
            };
            if !signer.verify(&name.derived_key().to_string(), &bytes, &tag) {
                return Err(corrupt(SideCorruption::BadSignature));
            }
        }
        Ok(Some(bytes))
    }

    /// Writes the side file `name`, signed when signatures are on.
    async fn write_side(&self, name: &SideName, body: Vec<u8>) -> Result<(), RemoteError> {
        let tag = self
            .options
            .signer
            .as_ref()
            .map(|signer| signer.tag(&name.derived_key().to_string(), &body));
        let bound = self.options.upload_timeout;
        match tokio::time::timeout(bound, self.backend.put_side(name, Bytes::from(body), tag)).await
        {
            Ok(result) => result,
            Err(_) => Err(RemoteError::Timeout {
                url: self.url.to_string(),
                timeout: bound,
            }),
        }
    }

    /// The recent entries of `task_id` the remote has, newest first.
    async fn recent(&self, task_id: &str) -> Result<Vec<RecentEntry>, SideError> {
        let name = SideName::Index(task_id.to_owned());
        let Some(bytes) = self.read_side(&name, MAX_INDEX_LEN).await? else {
            return Ok(Vec::new());
        };
        RecentIndex::from_json(&bytes, task_id)
            .map(|index| index.entries)
            .map_err(|reason| SideError::Corrupt {
                location: self.backend.side_location(&name),
                name,
                reason,
            })
    }

    /// Read, record, write: S3 and the Turborepo API have no append, so two writers of one
    /// task id at once keep the last one's index (docs/cache.md). A bad index is replaced;
    /// the error is returned after writing the new one.
    async fn record_recent(&self, task_id: &str, entry: RecentEntry) -> Result<(), SideError> {
        let (mut index, bad) = match self.recent(task_id).await {
            Ok(entries) => (
                RecentIndex {
                    entries,
                    ..RecentIndex::new(task_id)
                },
                None,
            ),
            Err(bad @ SideError::Corrupt { .. }) => (RecentIndex::new(task_id), Some(bad)),
            Err(err) => return Err(err),
        };
        if self.down.load(Ordering::SeqCst) {
            return Ok(());
        }
        index.record(entry);
        let name = SideName::Index(task_id.to_owned());
        match self.write_side(&name, index.to_json()).await {
            Ok(()) => bad.map_or(Ok(()), Err),
            Err(err) if err.is_server_error() => Err(SideError::Remote(err)),
            Err(err) => match self.fail(err, ()) {
                Ok(()) => Ok(()),
                Err(StoreError::Remote(err)) => Err(SideError::Remote(err)),
                Err(_) => Ok(()),
            },
        }
    }

    /// Uploads the compressed manifest of `key`.
    async fn put_manifest(&self, key: &CacheKey, json: &[u8]) -> Result<(), SideError> {
        if self.down.load(Ordering::SeqCst) {
            return Ok(());
        }
        let body = compress_manifest(json);
        match self.write_side(&SideName::Manifest(*key), body).await {
            Ok(()) => Ok(()),
            Err(err) if err.is_server_error() => Err(SideError::Remote(err)),
            Err(err) => match self.fail(err, ()) {
                Ok(()) => Ok(()),
                Err(StoreError::Remote(err)) => Err(SideError::Remote(err)),
                Err(_) => Ok(()),
            },
        }
    }

    /// The JSON of `key`'s manifest on the remote, `None` when it has none.
    async fn manifest(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, SideError> {
        let name = SideName::Manifest(*key);
        let Some(bytes) = self.read_side(&name, MAX_MANIFEST_LEN).await? else {
            return Ok(None);
        };
        decompress_manifest(&bytes)
            .map(Some)
            .map_err(|reason| SideError::Corrupt {
                location: self.backend.side_location(&name),
                name,
                reason,
            })
    }

    /// Keeps a failed side upload for [`RemoteStore::wait_for_uploads`] to report.
    fn upload_failed(&self, err: SideError) {
        match err {
            bad @ SideError::Corrupt { .. } => {
                self.index_warnings.lock().expect("not poisoned").push(bad);
            }
            SideError::Remote(err) => {
                let mut errors = self.upload_errors.lock().expect("not poisoned");
                if errors.is_empty() {
                    errors.push(err);
                }
            }
            SideError::Io { .. } => {}
        }
    }

    /// After an upload: records it in the task's index, keeping what went wrong for
    /// [`RemoteStore::wait_for_uploads`] to report.
    async fn record_upload(&self, task_id: &str, entry: RecentEntry) {
        if let Err(err) = self.record_recent(task_id, entry).await {
            self.upload_failed(err);
        }
    }

    /// The envelope and its tag, read from the artifact's file.
    fn prepare_upload(&self, artifact: &Artifact) -> Result<(Bytes, Option<String>), RemoteError> {
        let body = envelope::encode(artifact).map_err(|source| RemoteError::Io {
            path: artifact.archive_path().to_path_buf(),
            source,
        })?;
        let key = artifact.key().to_string();
        let tag = self.options.signer.as_ref().map(|s| s.tag(&key, &body));
        Ok((Bytes::from(body), tag))
    }

    async fn upload(
        &self,
        key: &CacheKey,
        body: Bytes,
        tag: Option<String>,
        duration_ms: u64,
    ) -> Result<(), RemoteError> {
        let bound = self.options.upload_timeout;
        match tokio::time::timeout(bound, self.backend.put(key, body, tag, duration_ms)).await {
            Ok(result) => result,
            Err(_) => Err(RemoteError::Timeout {
                url: self.url.to_string(),
                timeout: bound,
            }),
        }
    }

    async fn fetch(self: &Arc<Self>, key: &CacheKey) -> Result<Lookup, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Ok(Lookup::Miss);
        }
        let bound = self.options.timeout;
        let download = tokio::time::timeout(bound, self.download(key)).await;
        match download {
            Ok(Ok(lookup)) => Ok(lookup),
            Ok(Err(RemoteError::Status { url, status })) if (500..=599).contains(&status) => {
                Ok(Lookup::Corrupt(CorruptEntry {
                    key: *key,
                    location: url,
                    reason: Corruption::ServerError { status },
                }))
            }
            Ok(Err(err)) => self.fail(err, Lookup::Miss),
            Err(_) => self.fail(
                RemoteError::Timeout {
                    url: self.url.to_string(),
                    timeout: bound,
                },
                Lookup::Miss,
            ),
        }
    }

    async fn download(self: &Arc<Self>, key: &CacheKey) -> Result<Lookup, RemoteError> {
        let Some(mut download) = self.backend.get(key).await? else {
            return Ok(Lookup::Miss);
        };
        let location = match &self.url {
            RemoteUrl::Http { base } => format!("{base}/v8/artifacts/{key}"),
            s3 => format!("{s3}/{key}"),
        };
        let corrupt = |reason| {
            Ok(Lookup::Corrupt(CorruptEntry {
                key: *key,
                location: location.clone(),
                reason,
            }))
        };
        if self.options.signer.is_some() && download.tag.is_none() {
            return corrupt(Corruption::Unsigned);
        }
        let dir = &self.scratch_dir;
        std::fs::create_dir_all(dir).map_err(|source| RemoteError::Io {
            path: dir.clone(),
            source,
        })?;
        let temp = tempfile::Builder::new()
            .prefix(&crate::local::temp_prefix())
            .tempfile_in(dir)
            .map_err(|source| RemoteError::Io {
                path: dir.clone(),
                source,
            })?;
        let mut signing = self
            .options
            .signer
            .as_ref()
            .map(|signer| signer.start(&key.to_string()));
        let writer = std::io::BufWriter::with_capacity(256 * 1024, temp);
        let mut decoder = envelope::Decoder::new(*key, writer);
        let mut bad = None;
        while let Some(chunk) = download.body.next().await {
            let chunk = chunk?;
            if let Some(signing) = &mut signing {
                signing.update(&chunk);
            }
            if bad.is_none() {
                if let Err(reason) = decoder.push(&chunk) {
                    bad = Some(reason);
                }
            }
        }
        if let (Some(signing), Some(tag)) = (signing, &download.tag) {
            if !signing.verify(tag) {
                return corrupt(Corruption::BadSignature);
            }
        }
        match bad {
            // Not mono's bytes at all: the remote is broken, not one artifact.
            Some(Corruption::NotAnEnvelope) => return Err(RemoteError::Garbage { url: location }),
            Some(reason) => return corrupt(reason),
            None => {}
        }
        let (meta, writer) = match decoder.finish() {
            Ok(done) => done,
            Err(Corruption::NotAnEnvelope) => return Err(RemoteError::Garbage { url: location }),
            Err(reason) => return corrupt(reason),
        };
        let temp = writer.into_inner().map_err(|err| RemoteError::Io {
            path: dir.clone(),
            source: err.into_error(),
        })?;
        // Checks size, blake3 and the zstd magic against the metadata.
        let checked = tokio::task::spawn_blocking(move || Artifact::from_temp_file(meta, temp))
            .await
            .map_err(|_| RemoteError::TaskFailed)?;
        match checked {
            Ok(artifact) => Ok(Lookup::Hit(artifact)),
            Err(reason) => corrupt(reason),
        }
    }
}

impl CacheStore for RemoteStore {
    fn exists(&self, key: &CacheKey) -> Result<bool, StoreError> {
        if self.is_down() {
            return Ok(false);
        }
        let inner = Arc::clone(&self.inner);
        let key = *key;
        let bound = self.inner.options.timeout;
        let result = self.block(async move {
            match tokio::time::timeout(bound, inner.backend.exists(&key)).await {
                Ok(result) => result,
                Err(_) => Err(RemoteError::Timeout {
                    url: inner.url.to_string(),
                    timeout: bound,
                }),
            }
        });
        match result.and_then(|r| r) {
            Ok(found) => Ok(found),
            // The server failed on this artifact: not there, as far as this run can tell.
            Err(err) if err.is_server_error() => Ok(false),
            Err(err) => self.fail(err, false),
        }
    }

    fn fetch(&self, key: &CacheKey) -> Result<Lookup, StoreError> {
        let inner = Arc::clone(&self.inner);
        let key = *key;
        match self.block(async move { inner.fetch(&key).await }) {
            Ok(lookup) => lookup,
            Err(err) => self.fail(err, Lookup::Miss),
        }
    }

    /// Uploads and waits for it (see [`RemoteStore::put_in_background`] for the runner).
    fn put(&self, artifact: &Artifact) -> Result<(), StoreError> {
        if self.is_down() {
            return Ok(());
        }
        let (body, tag) = match self.inner.prepare_upload(artifact) {
            Ok(prepared) => prepared,
            Err(err) => return Err(StoreError::Remote(err)),
        };
        let inner = Arc::clone(&self.inner);
        let key = artifact.key();
        let duration = artifact.meta().task.duration_ms;
        let task_id = artifact.meta().task.task_id.clone();
        let result = self.block(async move {
            let uploaded = inner.upload(&key, body, tag, duration).await;
            if uploaded.is_ok() {
                inner
                    .record_upload(&task_id, RecentEntry::now(key, duration))
                    .await;
            }
            uploaded
        });
        match result.and_then(|r| r) {
            Ok(()) => Ok(()),
            Err(err) if err.is_server_error() => Err(StoreError::Remote(err)),
            Err(err) => self.fail(err, ()),
        }
    }

    /// Entry count and bytes of an S3 remote. The Turborepo API has no way to tell:
    /// zero entries.
    fn status(&self) -> Result<CacheStatus, StoreError> {
        let inner = Arc::clone(&self.inner);
        match self.block(async move { inner.backend.status().await }) {
            Ok(Ok(status)) => Ok(status.unwrap_or_default()),
            Ok(Err(err)) | Err(err) => Err(StoreError::Remote(err)),
        }
    }
}

impl RemoteStore {
    /// Stores `artifact` only if the remote has nothing under its key yet, and waits:
    /// `Ok(true)` when this write created it, `Ok(false)` when an entry was there (a
    /// conditional write: S3's `If-None-Match: *`, the same header on the Turborepo API,
    /// which `mono-cache-server` answers with `412`). A remote that ignores the condition
    /// (Garage 2.5, servers that do not know the header) replaces the entry and says
    /// `Ok(true)`: callers that need to know probe first (docs/ci.md, "Determinism").
    /// Not recorded in the durations index.
    pub fn put_new(&self, artifact: &Artifact) -> Result<bool, StoreError> {
        if self.is_down() {
            return Err(StoreError::Remote(RemoteError::Down {
                url: self.inner.url.to_string(),
            }));
        }
        let (body, tag) = self
            .inner
            .prepare_upload(artifact)
            .map_err(StoreError::Remote)?;
        let inner = Arc::clone(&self.inner);
        let key = artifact.key();
        let duration = artifact.meta().task.duration_ms;
        let bound = self.inner.options.upload_timeout;
        let result = self.block(async move {
            match tokio::time::timeout(bound, inner.backend.put_new(&key, body, tag, duration))
                .await
            {
                Ok(result) => result,
                Err(_) => Err(RemoteError::Timeout {
                    url: inner.url.to_string(),
                    timeout: bound,
                }),
            }
        });
        result.and_then(|r| r).map_err(StoreError::Remote)
    }

    /// Whether the remote can count its entries ([`CacheStore::status`]).
    pub fn can_count(&self) -> bool {
        matches!(self.inner.url, RemoteUrl::S3 { .. })
    }

    /// The recent entries of `task_id` the remote has, newest first: its first is the newest
    /// entry uploaded for the task. Empty when the remote has none or is down; a bad index is
    /// [`SideError::Corrupt`] (warn, and treat it as empty); the first failure of the remote
    /// is [`SideError::Remote`] and marks it down, as for artifacts.
    pub fn recent(&self, task_id: &str) -> Result<Vec<RecentEntry>, SideError> {
        let inner = Arc::clone(&self.inner);
        let task_id = task_id.to_owned();
        self.block(async move { inner.recent(&task_id).await })
            .map_err(SideError::Remote)?
    }

    /// Records `entry` at the head of `task_id`'s remote index (read, modify, write: the
    /// last writer wins). [`RemoteStore::put_in_background`] does this after each upload.
    pub fn record_recent(&self, task_id: &str, entry: RecentEntry) -> Result<(), SideError> {
        let inner = Arc::clone(&self.inner);
        let task_id = task_id.to_owned();
        self.block(async move { inner.record_recent(&task_id, entry).await })
            .map_err(SideError::Remote)?
    }

    /// The JSON of `key`'s input manifest on the remote (docs/cache.md), `None` when it has
    /// none or is down.
    pub fn manifest(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, SideError> {
        let inner = Arc::clone(&self.inner);
        let key = *key;
        self.block(async move { inner.manifest(&key).await })
            .map_err(SideError::Remote)?
    }

    /// Uploads `key`'s input manifest and waits for it.
    pub fn put_manifest(&self, key: &CacheKey, json: &[u8]) -> Result<(), SideError> {
        let inner = Arc::clone(&self.inner);
        let key = *key;
        let json = json.to_vec();
        self.block(async move { inner.put_manifest(&key, &json).await })
            .map_err(SideError::Remote)?
    }

    /// The directory downloads are written to.
    pub fn scratch_dir(&self) -> &Path {
        &self.inner.scratch_dir
    }
}

impl Drop for RemoteStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore")
            .field("url", &self.inner.url)
            .finish()
    }
}
