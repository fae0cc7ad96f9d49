//! The routes of the Turborepo remote cache API, authentication, request logs and shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use mono_cache::Signer;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::metrics::{Metrics, RequestLabels};
use crate::options::Options;
use crate::storage::{Storage, Stored};

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
}

type Shared = Arc<AppState>;

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(options: Options) -> Result<(), ServeError> {
    let storage = match (&options.dir, &options.s3) {
        (Some(dir), None) => Storage::disk(dir.clone())?,
        (None, Some(url)) => Storage::s3(url)?,
        _ => return Err(ServeError::NoStorage),
    };
    if options.tokens.iter().any(|t| t.trim().is_empty()) {
        return Err(ServeError::EmptyToken);
    }
    let state = Arc::new(AppState {
        storage,
        token_digests: options.tokens.iter().map(|t| digest(t.trim())).collect(),
        max_artifact_size: options.max_artifact_size,
        signature_key: options.signature_key.map(String::into_bytes),
        metrics: Metrics::new(),
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
    tracing::info!(
        addr = %addr,
        storage = %state.storage.description,
        max_artifact_size = state.max_artifact_size,
        signatures = state.signature_key.is_some(),
        "listening"
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|source| ServeError::Io { addr, source })?;
    tracing::info!("stopped");
    Ok(())
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
    // Read at most `limit` bytes, whatever Content-Length said.
    let mut bytes = bytes::BytesMut::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "the upload was cut off",
            );
        };
        if (bytes.len() + chunk.len()) as u64 > limit {
            return too_large();
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = bytes.freeze();
    let tag = headers
        .get("x-artifact-tag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &state.signature_key {
        // turbo signs with the team id; mono with the team id, else the slug.
        let candidates = [query.get("teamId"), query.get("slug"), None];
        let signed = tag.as_deref().is_some_and(|tag| {
            candidates.iter().any(|team| {
                let team = team.map_or("", String::as_str);
                Signer::new(key.clone(), team).verify(&hash, &body, tag)
            })
        });
        if !signed {
            state.metrics.rejected_uploads.inc();
            return error(
                StatusCode::BAD_REQUEST,
                "bad_signature",
                "the x-artifact-tag header is missing or does not match the artifact",
            );
        }
    }
    let stored = Stored {
        duration_ms: headers
            .get("x-artifact-duration")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        tag,
    };
    let len = body.len() as u64;
    match state.storage.put(&team, &hash, &stored, body).await {
        Ok(()) => {
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
