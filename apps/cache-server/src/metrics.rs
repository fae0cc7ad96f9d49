//! Prometheus metrics, served at `/metrics` in the text exposition format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// GET, PUT, HEAD, ...
    pub method: String,
    /// The route, not the path (`/v8/artifacts/{hash}`), to keep the label set small.
    pub route: String,
    /// The HTTP status code.
    pub status: u16,
}

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    /// Requests by method, route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Artifact lookups that found the artifact.
    pub hits: Counter,
    /// Artifact lookups that did not.
    pub misses: Counter,
    /// Bytes of artifacts stored.
    pub bytes_uploaded: Counter,
    /// Bytes of artifacts served.
    pub bytes_downloaded: Counter,
    /// Uploads refused: too large, bad signature.
    pub rejected_uploads: Counter,
    /// Artifacts deleted by eviction.
    pub evicted_artifacts: Counter,
    /// Their bytes.
    pub evicted_bytes: Counter,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mono_cache");
        let requests = Family::<RequestLabels, Counter>::default();
        let hits = Counter::default();
        let misses = Counter::default();
        let bytes_uploaded = Counter::default();
        let bytes_downloaded = Counter::default();
        let rejected_uploads = Counter::default();
        registry.register("requests", "HTTP requests", requests.clone());
        registry.register(
            "hits",
            "Artifact lookups that found the artifact",
            hits.clone(),
        );
        registry.register("misses", "Artifact lookups that did not", misses.clone());
        registry.register(
            "uploaded_bytes",
            "Bytes of artifacts stored",
            bytes_uploaded.clone(),
        );
        registry.register(
            "downloaded_bytes",
            "Bytes of artifacts served",
            bytes_downloaded.clone(),
        );
        registry.register(
            "rejected_uploads",
            "Uploads refused (too large, bad signature)",
            rejected_uploads.clone(),
        );
        let evicted_artifacts = Counter::default();
        let evicted_bytes = Counter::default();
        registry.register(
            "evicted_artifacts",
            "Artifacts deleted by eviction (--max-size, --max-age)",
            evicted_artifacts.clone(),
        );
        registry.register(
            "evicted_bytes",
            "Bytes of artifacts deleted by eviction",
            evicted_bytes.clone(),
        );
        Self {
            registry,
            evicted_artifacts,
            evicted_bytes,
            requests,
            hits,
            misses,
            bytes_uploaded,
            bytes_downloaded,
            rejected_uploads,
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
