//! The routes of the Turborepo remote cache API, authentication, request logs and shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::BytesMut;
use futures::StreamExt;
use mono_cache::Signer;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::connection::{self, effective_max_connections, Limits};
use crate::metrics::{Metrics, RequestLabels};
use crate::options::Options;
use crate::storage::{Storage, Stored, MAX_TAG_LEN};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No storage, or both.
    #[error("give --dir DIR or --s3 s3://BUCKET/PREFIX")]
    NoStorage,
    /// The storage cannot be set up.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// An empty token.
    #[error("a token is empty; give non-empty tokens with --token or MONO_CACHE_SERVER_TOKENS")]
    EmptyToken,
    /// Listening or serving failed.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

struct AppState {
    storage: Storage,
    /// SHA-256 of each accepted token: compared digest to digest, so the comparison time
    /// says nothing about a token's prefix.
    token_digests: Vec<[u8; 32]>,
    max_artifact_size: u64,
    signature_key: Option<Vec<u8>>,
    metrics: Metrics,
    /// One permit per upload stored at once.
    upload_slots: tokio::sync::Semaphore,
    /// How long an upload waits for a slot before 503.
    upload_queue_wait: Duration,
}

type Shared = Arc<AppState>;

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight, for at most the
/// shutdown timeout (src/connection.rs).
pub async fn serve(options: Options) -> Result<(), ServeError> {
    let storage = match (&options.dir, &options.s3) {
        (Some(dir), None) => Storage::disk(dir.clone())?,
        (None, Some(url)) => Storage::s3(url)?,
        _ => return Err(ServeError::NoStorage),
    };
    if options.tokens.iter().any(|t| t.trim().is_empty()) {
        return Err(ServeError::EmptyToken);
    }
    let (staging_files, staging_bytes) = storage.clean_staging_files()?;
    if staging_files > 0 {
        tracing::info!(
            files = staging_files,
            bytes = staging_bytes,
            "removed the partial uploads of an earlier run"
        );
    }
    let idle_timeout = Duration::from_secs(options.idle_timeout);
    let state = Arc::new(AppState {
        storage,
        token_digests: options.tokens.iter().map(|t| digest(t.trim())).collect(),
        max_artifact_size: options.max_artifact_size,
        signature_key: options.signature_key.map(String::into_bytes),
        metrics: Metrics::new(),
        upload_slots: tokio::sync::Semaphore::new(
            usize::try_from(options.max_concurrent_uploads).unwrap_or(usize::MAX),
        ),
        upload_queue_wait: idle_timeout / 2,
    });
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Io {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Io {
        addr: options.listen,
        source,
    })?;
    let limits = Limits {
        header_read_timeout: Duration::from_secs(options.header_read_timeout),
        idle_timeout,
        max_connections: options.max_connections,
        shutdown_timeout: Duration::from_secs(options.shutdown_timeout),
    };
    let eviction = if options.max_size.is_some() || options.max_age.is_some() {
        // The first pass before listening, so that a restart with a smaller limit is
        // within it by the time clients are served.
        evict_once(&state, options.max_size, options.max_age).await;
        Some(tokio::spawn(evict_periodically(
            Arc::clone(&state),
            options.max_size,
            options.max_age,
            Duration::from_secs(options.evict_interval),
        )))
    } else {
        None
    };
    tracing::info!(
        addr = %addr,
        storage = %state.storage.description,
        max_artifact_size = state.max_artifact_size,
        signatures = state.signature_key.is_some(),
        max_connections = effective_max_connections(limits.max_connections),
        max_concurrent_uploads = options.max_concurrent_uploads,
        max_size = options.max_size,
        max_age_secs = options.max_age.map(|age| age.as_secs()),
        "listening"
    );
    let cut = connection::serve(listener, router(state), limits, shutdown_signal()).await;
    if let Some(eviction) = eviction {
        eviction.abort();
    }
    if cut > 0 {
        tracing::warn!(
            connections = cut,
            "stopped: closed the connections still busy at the shutdown deadline"
        );
    } else {
        tracing::info!("stopped");
    }
    Ok(())
}

/// An eviction pass every `interval`.
async fn evict_periodically(
    state: Shared,
    max_size: Option<u64>,
    max_age: Option<Duration>,
    interval: Duration,
) {
    loop {
        tokio::time::sleep(interval).await;
        evict_once(&state, max_size, max_age).await;
    }
}

async fn evict_once(state: &Shared, max_size: Option<u64>, max_age: Option<Duration>) {
    match state.storage.evict(max_size, max_age).await {
        Ok(evicted) => {
            state.metrics.evicted_artifacts.inc_by(evicted.artifacts);
            state.metrics.evicted_bytes.inc_by(evicted.bytes);
            tracing::info!(
                evicted = evicted.artifacts,
                evicted_bytes = evicted.bytes,
                kept = evicted.kept,
                kept_bytes = evicted.kept_bytes,
                "eviction"
            );
        }
        Err(err) => tracing::error!(error = %err, "eviction failed"),
    }
}

fn router(state: Shared) -> Router {
    let api = Router::new()
        .route("/v8/artifacts/status", get(status))
        .route("/v8/artifacts/events", post(events))
        .route(
            "/v8/artifacts/{hash}",
            get(get_artifact).head(head_artifact).put(put_artifact),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .merge(api)
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

async fn authenticate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match token {
        Some(token) if state.token_digests.contains(&digest(token)) => next.run(request).await,
        Some(_) => error(StatusCode::FORBIDDEN, "forbidden", "the token is not valid"),
        None => error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>`",
        ),
    }
}

async fn log_request(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = route_of(&path).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.to_string(),
            route,
            status,
        })
        .inc();
    tracing::info!(
        method = %method,
        path = %path,
        status,
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// The route a path belongs to, for the metrics' labels (a path would make one series per
/// artifact).
fn route_of(path: &str) -> &'static str {
    match path {
        "/health" => "/health",
        "/metrics" => "/metrics",
        "/v8/artifacts/status" => "/v8/artifacts/status",
        "/v8/artifacts/events" => "/v8/artifacts/events",
        p if p.starts_with("/v8/artifacts/") => "/v8/artifacts/{hash}",
        _ => "other",
    }
}

/// A hash path parameter: hex digits only (turbo's 16, mono's 64), so that it can never
/// name anything but one object of the store.
fn valid_hash(hash: &str) -> bool {
    (1..=128).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The team a request is for: `teamId`, else `slug`, else the shared space `_`. Letters,
/// digits, `-`, `_` and `.` (not only dots).
fn team(query: &HashMap<String, String>) -> Option<String> {
    let team = query
        .get("teamId")
        .or_else(|| query.get("slug"))
        .map_or("_", String::as_str);
    let valid = (1..=100).contains(&team.len())
        && team
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !team.bytes().all(|b| b == b'.');
    valid.then(|| team.to_owned())
}

fn bad_team() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "bad_team",
        "teamId and slug are letters, digits, `-`, `_` and `.`",
    )
}

fn bad_hash() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "bad_hash",
        "the artifact hash must be 1 to 128 hex digits",
    )
}

fn storage_error(err: &crate::storage::StorageError) -> Response {
    tracing::error!(error = %err, "storage failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage",
        "the storage failed; see the server's log",
    )
}

async fn status() -> Json<serde_json::Value> {
    Json(json!({ "status": "enabled" }))
}

/// turbo reports cache hits and misses here; the server has no use for them.
async fn events() -> StatusCode {
    StatusCode::OK
}

async fn metrics(State(state): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

fn artifact_headers(headers: &mut HeaderMap, stored: &Stored, len: u64) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Some(duration) = stored.duration_ms {
        headers.insert("x-artifact-duration", HeaderValue::from(duration));
    }
    if let Some(tag) = stored
        .tag
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok())
    {
        headers.insert("x-artifact-tag", tag);
    }
}

async fn head_artifact(
    State(state): State<Shared>,
    Path(hash): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !valid_hash(&hash) {
        return bad_hash();
    }
    let Some(team) = team(&query) else {
        return bad_team();
    };
    match state.storage.head(&team, &hash).await {
        Ok(Some((stored, len))) => {
            let mut response = StatusCode::OK.into_response();
            artifact_headers(response.headers_mut(), &stored, len);
            response
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => storage_error(&err),
    }
}

async fn get_artifact(
    State(state): State<Shared>,
    Path(hash): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !valid_hash(&hash) {
        return bad_hash();
    }
    let Some(team) = team(&query) else {
        return bad_team();
    };
    match state.storage.get(&team, &hash).await {
        Ok(Some(found)) => {
            state.metrics.hits.inc();
            state.metrics.bytes_downloaded.inc_by(found.len);
            let mut response = Response::new(Body::from_stream(found.body));
            artifact_headers(response.headers_mut(), &found.stored, found.len);
            response
        }
        Ok(None) => {
            state.metrics.misses.inc();
            error(StatusCode::NOT_FOUND, "not_found", "no such artifact")
        }
        Err(err) => storage_error(&err),
    }
}

/// The metadata an upload's headers give, validated: what is stored must come back as a
/// valid header on every GET and HEAD. An error is the code and message of a 400.
fn stored_of(headers: &HeaderMap) -> Result<Stored, (&'static str, String)> {
    let tag = match headers.get("x-artifact-tag") {
        None => None,
        Some(value) => {
            let bytes = value.as_bytes();
            if bytes.is_empty() || bytes.len() > MAX_TAG_LEN {
                return Err((
                    "bad_tag",
                    format!("x-artifact-tag must be 1 to {MAX_TAG_LEN} bytes"),
                ));
            }
            if !bytes.iter().all(u8::is_ascii_graphic) {
                return Err((
                    "bad_tag",
                    "x-artifact-tag must be printable ASCII without spaces (base64)".to_owned(),
                ));
            }
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
    };
    let duration_ms = match headers.get("x-artifact-duration") {
        None => None,
        Some(value) => match value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(duration) => Some(duration),
            None => {
                return Err((
                    "bad_duration",
                    "x-artifact-duration must be a whole number of milliseconds".to_owned(),
                ))
            }
        },
    };
    Ok(Stored { duration_ms, tag })
}

async fn put_artifact(
    State(state): State<Shared>,
    Path(hash): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !valid_hash(&hash) {
        return bad_hash();
    }
    let Some(team) = team(&query) else {
        return bad_team();
    };
    let stored = match stored_of(&headers) {
        Ok(stored) => stored,
        Err((code, message)) => {
            state.metrics.rejected_uploads.inc();
            return error(StatusCode::BAD_REQUEST, code, &message);
        }
    };
    let limit = state.max_artifact_size;
    let too_large = || {
        state.metrics.rejected_uploads.inc();
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!("artifacts are limited to {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return too_large();
    }
    if state.signature_key.is_some() && stored.tag.is_none() {
        state.metrics.rejected_uploads.inc();
        return error(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            "the x-artifact-tag header is missing or does not match the artifact",
        );
    }
    // A slot among the uploads stored at once, waited for no longer than half the idle
    // timeout (the connection sends nothing meanwhile).
    let Ok(Ok(_slot)) =
        tokio::time::timeout(state.upload_queue_wait, state.upload_slots.acquire()).await
    else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            Json(json!({ "error": { "code": "busy", "message": "too many uploads at once; retry later" } })),
        )
            .into_response();
    };
    // turbo signs with the team id; mono with the team id, else the slug: one running
    // HMAC per candidate, over the bytes as they stream by.
    let mut signings: Vec<_> = match &state.signature_key {
        Some(key) => [query.get("teamId"), query.get("slug"), None]
            .iter()
            .map(|team| Signer::new(key.clone(), team.map_or("", String::as_str)).start(&hash))
            .collect(),
        None => Vec::new(),
    };
    // `If-None-Match: *`: store it only if there is no artifact under this hash yet, else
    // 412 (a CI shard storing the run's split, docs/ci.md). The check is the write itself
    // (object_store's create mode), so two such uploads at once cannot both succeed; the
    // body is held in memory for it.
    let create = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == b"*");
    if create {
        match state.storage.head(&team, &hash).await {
            Ok(Some(_)) => return precondition_failed(),
            Ok(None) => {}
            Err(err) => return storage_error(&err),
        }
    }
    let mut upload = match create {
        true => Sink::Whole(BytesMut::new()),
        false => match state.storage.begin(&team, &hash, &stored).await {
            Ok(upload) => Sink::Streamed(upload),
            Err(err) => return storage_error(&err),
        },
    };
    // Read at most `limit` bytes, whatever Content-Length said; dropping `upload` on any
    // early return aborts it.
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "the upload was cut off",
            );
        };
        if upload.len() + chunk.len() as u64 > limit {
            return too_large();
        }
        for signing in &mut signings {
            signing.update(&chunk);
        }
        if let Err(err) = upload.write(&chunk).await {
            return storage_error(&err);
        }
    }
    if state.signature_key.is_some() {
        let tag = stored.tag.as_deref().unwrap_or_default();
        if !signings.into_iter().any(|signing| signing.verify(tag)) {
            state.metrics.rejected_uploads.inc();
            return error(
                StatusCode::BAD_REQUEST,
                "bad_signature",
                "the x-artifact-tag header is missing or does not match the artifact",
            );
        }
    }
    let len = upload.len();
    let finished = match upload {
        Sink::Streamed(upload) => state.storage.finish(upload).await.map(|()| true),
        Sink::Whole(bytes) => {
            state
                .storage
                .create(&team, &hash, &stored, bytes.freeze())
                .await
        }
    };
    match finished {
        Ok(false) => precondition_failed(),
        Ok(true) => {
            state.metrics.bytes_uploaded.inc_by(len);
            (
                StatusCode::ACCEPTED,
                Json(json!({ "urls": [format!("{hash}")] })),
            )
                .into_response()
        }
        Err(err) => storage_error(&err),
    }
}

/// Where an upload's bytes go: streamed into the store, or held for a conditional write.
enum Sink {
    Streamed(crate::storage::Upload),
    Whole(BytesMut),
}

impl Sink {
    fn len(&self) -> u64 {
        match self {
            Sink::Streamed(upload) => upload.len(),
            Sink::Whole(bytes) => bytes.len() as u64,
        }
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), crate::storage::StorageError> {
        match self {
            Sink::Streamed(upload) => upload.write(chunk).await,
            Sink::Whole(bytes) => {
                bytes.extend_from_slice(chunk);
                Ok(())
            }
        }
    }
}

/// The answer to an `If-None-Match: *` upload of a hash the server has.
fn precondition_failed() -> Response {
    error(
        StatusCode::PRECONDITION_FAILED,
        "exists",
        "an artifact with this hash exists (If-None-Match: *)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hex_only() {
        assert!(valid_hash("0123456789abcdef"));
        assert!(valid_hash(&"a".repeat(64)));
        for bad in [
            "",
            "..",
            "../etc",
            "a/b",
            "abc.json",
            "%2e%2e",
            "xyz",
            &"a".repeat(129),
        ] {
            assert!(!valid_hash(bad), "{bad}");
        }
    }

    #[test]
    fn teams_are_plain_names() {
        let query = |k: &str, v: &str| HashMap::from([(k.to_owned(), v.to_owned())]);
        assert_eq!(team(&HashMap::new()).unwrap(), "_");
        assert_eq!(team(&query("slug", "my-team")).unwrap(), "my-team");
        assert_eq!(team(&query("teamId", "team_1.x")).unwrap(), "team_1.x");
        for bad in ["..", ".", "a/b", "", "a b", "..\\x"] {
            assert!(team(&query("teamId", bad)).is_none(), "{bad}");
        }
    }
}
