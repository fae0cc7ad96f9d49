//! The two kinds of remote, behind one async interface: an S3-compatible bucket (through
//! `object_store`) and a server of the Turborepo remote cache API (through `reqwest`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, PutMode, PutOptions, PutPayload, RetryConfig,
};

use super::config::{RemoteConfigError, RemoteError, RemoteOptions, RemoteUrl};
use crate::key::CacheKey;
use crate::side::SideName;
use crate::store::CacheStatus;

/// The S3 user metadata key (`x-amz-meta-artifact-tag`) that holds an artifact's signature.
const S3_TAG_METADATA: &str = "artifact-tag";

/// An artifact's bytes as they arrive, with its signature if it has one.
pub(crate) struct Download {
    pub tag: Option<String>,
    pub body: BoxStream<'static, Result<Bytes, RemoteError>>,
}

/// How a write treats an object already under its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// Replace it (last writer wins).
    Replace,
    /// Leave it, and say so.
    Create,
}

pub(crate) enum Backend {
    S3(S3Backend),
    Http(HttpBackend),
}

pub(crate) struct S3Backend {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
}

pub(crate) struct HttpBackend {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    query: Vec<(&'static str, String)>,
    timeout: Duration,
    upload_timeout: Duration,
}

impl Backend {
    pub(crate) fn new(
        url: &RemoteUrl,
        options: &RemoteOptions,
    ) -> Result<Backend, RemoteConfigError> {
        match url {
            RemoteUrl::S3 { bucket, prefix } => Ok(Backend::S3(S3Backend::new(
                bucket,
                prefix,
                &url.to_string(),
                options,
            )?)),
            RemoteUrl::Http { base } => {
                let client = reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(5).min(options.timeout))
                    .user_agent(concat!("mono/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(RemoteConfigError::Http)?;
                let mut query = Vec::new();
                if let Some(id) = &options.team_id {
                    query.push(("teamId", id.clone()));
                }
                if let Some(slug) = &options.team_slug {
                    query.push(("slug", slug.clone()));
                }
                Ok(Backend::Http(HttpBackend {
                    client,
                    base: base.clone(),
                    token: options.token.clone(),
                    query,
                    timeout: options.timeout,
                    upload_timeout: options.upload_timeout,
                }))
            }
        }
    }

    pub(crate) async fn exists(&self, key: &CacheKey) -> Result<bool, RemoteError> {
        match self {
            Backend::S3(s3) => match s3.store.head(&s3.path(key)).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(source) => Err(s3.error(source)),
            },
            Backend::Http(http) => {
                let url = http.artifact_url(key);
                let response = send(
                    http.request(reqwest::Method::HEAD, &url, http.timeout),
                    &url,
                )
                .await?;
                match response.status().as_u16() {
                    200..=299 => Ok(true),
                    404 => Ok(false),
                    status => Err(status_error(url, status)),
                }
            }
        }
    }

    pub(crate) async fn get(&self, key: &CacheKey) -> Result<Option<Download>, RemoteError> {
        match self {
            Backend::S3(s3) => get_s3_object(s3, &s3.path(key)).await,
            Backend::Http(http) => {
                let url = http.artifact_url(key);
                let response =
                    send(http.request(reqwest::Method::GET, &url, http.timeout), &url).await?;
                match response.status().as_u16() {
                    200..=299 => {}
                    404 => return Ok(None),
                    status => return Err(status_error(url, status)),
                }
                let tag = response
                    .headers()
                    .get("x-artifact-tag")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                let body = response
                    .bytes_stream()
                    .map_err(move |source| RemoteError::Http {
                        url: url.clone(),
                        source,
                    })
                    .boxed();
                Ok(Some(Download { tag, body }))
            }
        }
    }

    pub(crate) async fn put(
        &self,
        key: &CacheKey,
        body: Bytes,
        tag: Option<String>,
        duration_ms: u64,
    ) -> Result<(), RemoteError> {
        self.write(key, body, tag, duration_ms, Write::Replace)
            .await
            .map(|_| ())
    }

    /// Stores `key` only if the remote has no object under it: `Ok(true)` when this
    /// write created it, `Ok(false)` when one was there (S3's `If-None-Match: *`, the same
    /// header on the Turborepo API, answered by `412`). A store that ignores the header
    /// replaces the object and answers `Ok(true)`: [`Backend::put_new`]'s callers probe for
    /// that (docs/ci.md, "Determinism").
    pub(crate) async fn put_new(
        &self,
        key: &CacheKey,
        body: Bytes,
        tag: Option<String>,
        duration_ms: u64,
    ) -> Result<bool, RemoteError> {
        self.write(key, body, tag, duration_ms, Write::Create).await
    }

    async fn write(
        &self,
        key: &CacheKey,
        body: Bytes,
        tag: Option<String>,
        duration_ms: u64,
        mode: Write,
    ) -> Result<bool, RemoteError> {
        match self {
            Backend::S3(s3) => put_s3_object(s3, &s3.path(key), body, tag, mode).await,
            Backend::Http(http) => {
                let url = http.artifact_url(key);
                let mut request = http
                    .request(reqwest::Method::PUT, &url, http.upload_timeout)
                    .header("content-type", "application/octet-stream")
                    .header("x-artifact-duration", duration_ms.to_string())
                    .body(body);
                if let Some(tag) = tag {
                    request = request.header("x-artifact-tag", tag);
                }
                if mode == Write::Create {
                    request = request.header("if-none-match", "*");
                }
                let response = send(request, &url).await?;
                match response.status().as_u16() {
                    200..=299 => Ok(true),
                    412 if mode == Write::Create => Ok(false),
                    status => Err(status_error(url, status)),
                }
            }
        }
    }

    /// The bytes of the side file `name` (docs/cache.md: an index or a manifest) and its
    /// signature, `None` when the remote has none. A body longer than `cap` is `Some` with
    /// `cap + 1` bytes, for the caller to refuse.
    pub(crate) async fn get_side(
        &self,
        name: &SideName,
        cap: u64,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, RemoteError> {
        let key = name.derived_key();
        let Some(mut download) = (match self {
            Backend::S3(s3) => get_s3_object(s3, &s3.side_path(name)).await?,
            Backend::Http(_) => self.get(&key).await?,
        }) else {
            return Ok(None);
        };
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        let mut bytes = Vec::new();
        while let Some(chunk) = download.body.next().await {
            let chunk = chunk?;
            let room = (cap + 1).saturating_sub(bytes.len());
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if bytes.len() > cap {
                break;
            }
        }
        Ok(Some((bytes, download.tag)))
    }

    /// Stores the side file `name`, replacing any previous one (last writer wins).
    pub(crate) async fn put_side(
        &self,
        name: &SideName,
        body: Bytes,
        tag: Option<String>,
    ) -> Result<(), RemoteError> {
        match self {
            Backend::S3(s3) => put_s3_object(s3, &s3.side_path(name), body, tag, Write::Replace)
                .await
                .map(|_| ()),
            Backend::Http(_) => self.put(&name.derived_key(), body, tag, 0).await,
        }
    }

    /// Where the remote keeps `name`, for messages.
    pub(crate) fn side_location(&self, name: &SideName) -> String {
        match self {
            Backend::S3(s3) => format!("{}/{}", s3.url, name.relative_path()),
            Backend::Http(http) => http.artifact_url(&name.derived_key()),
        }
    }

    /// How much the remote holds, where the protocol can tell (S3 lists; the Turborepo API
    /// cannot).
    pub(crate) async fn status(&self) -> Result<Option<CacheStatus>, RemoteError> {
        match self {
            Backend::S3(s3) => {
                let prefix = (!s3.prefix.is_empty()).then(|| ObjectPath::from(s3.prefix.as_str()));
                let mut listing = s3.store.list(prefix.as_ref());
                let mut status = CacheStatus::default();
                while let Some(object) = listing.next().await {
                    let object = object.map_err(|source| s3.error(source))?;
                    let is_entry = object
                        .location
                        .filename()
                        .is_some_and(|name| name.parse::<CacheKey>().is_ok());
                    if is_entry {
                        status.entries += 1;
                        status.total_bytes += object.size;
                    }
                }
                Ok(Some(status))
            }
            Backend::Http(_) => Ok(None),
        }
    }
}

fn status_error(url: String, status: u16) -> RemoteError {
    match status {
        401 | 403 => RemoteError::Unauthorized { url, status },
        _ => RemoteError::Status { url, status },
    }
}

/// Sends an HTTP request; a transport failure names the URL.
async fn send(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<reqwest::Response, RemoteError> {
    request.send().await.map_err(|source| RemoteError::Http {
        url: url.to_owned(),
        source,
    })
}

impl HttpBackend {
    fn artifact_url(&self, key: &CacheKey) -> String {
        format!("{}/v8/artifacts/{key}", self.base)
    }

    fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        timeout: Duration,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, url)
            .query(&self.query)
            .timeout(timeout);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }
}

impl S3Backend {
    fn new(
        bucket: &str,
        prefix: &str,
        url: &str,
        options: &RemoteOptions,
    ) -> Result<S3Backend, RemoteConfigError> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in aws_profile_settings() {
            builder = builder.with_config(key, value);
        }
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .unwrap_or_default();
        let client = ClientOptions::new()
            .with_timeout(options.timeout.max(options.upload_timeout))
            .with_connect_timeout(Duration::from_secs(5).min(options.timeout))
            .with_allow_http(endpoint.starts_with("http://"));
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: options.timeout,
            ..RetryConfig::default()
        };
        let store = builder
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|source| RemoteConfigError::S3 {
                url: url.to_owned(),
                source,
            })?;
        Ok(S3Backend {
            store: Arc::new(store),
            prefix: prefix.to_owned(),
            url: url.to_owned(),
        })
    }

    fn path(&self, key: &CacheKey) -> ObjectPath {
        match self.prefix.as_str() {
            "" => ObjectPath::from(key.to_string()),
            prefix => ObjectPath::from(format!("{prefix}/{key}")),
        }
    }

    fn side_path(&self, name: &SideName) -> ObjectPath {
        match self.prefix.as_str() {
            "" => ObjectPath::from(name.relative_path()),
            prefix => ObjectPath::from(format!("{prefix}/{}", name.relative_path())),
        }
    }

    fn error(&self, source: object_store::Error) -> RemoteError {
        RemoteError::S3 {
            url: self.url.clone(),
            source,
        }
    }
}

/// Settings from the shared AWS files for what the environment does not set: credentials
/// from `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`) and `region` and
/// `endpoint_url` from `~/.aws/config` (or `AWS_CONFIG_FILE`), for the profile `AWS_PROFILE`
/// (default `default`).
fn aws_profile_settings() -> Vec<(AmazonS3ConfigKey, String)> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let read = |var: &str, default: &str| -> String {
        let path = env(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|home| home.join(default)));
        path.and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    };
    let mut settings = Vec::new();
    if env("AWS_ACCESS_KEY_ID").is_none() {
        let credentials = read("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
        let section = ini_section(&credentials, &profile);
        for (name, key) in [
            ("aws_access_key_id", AmazonS3ConfigKey::AccessKeyId),
            ("aws_secret_access_key", AmazonS3ConfigKey::SecretAccessKey),
            ("aws_session_token", AmazonS3ConfigKey::Token),
        ] {
            if let Some(value) = section.iter().find(|(k, _)| k == name) {
                settings.push((key, value.1.clone()));
            }
        }
    }
    let config = read("AWS_CONFIG_FILE", ".aws/config");
    let section_name = match profile.as_str() {
        "default" => "default".to_owned(),
        other => format!("profile {other}"),
    };
    let section = ini_section(&config, &section_name);
    for (name, key, vars) in [
        (
            "region",
            AmazonS3ConfigKey::Region,
            &["AWS_REGION", "AWS_DEFAULT_REGION"][..],
        ),
        (
            "endpoint_url",
            AmazonS3ConfigKey::Endpoint,
            &["AWS_ENDPOINT_URL", "AWS_ENDPOINT"][..],
        ),
    ] {
        if vars.iter().all(|var| env(var).is_none()) {
            if let Some(value) = section.iter().find(|(k, _)| k == name) {
                settings.push((key, value.1.clone()));
            }
        }
    }
    settings
}

/// The `key = value` pairs of `[name]` in an INI text.
fn ini_section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
        } else if inside {
            if let Some((key, value)) = line.split_once('=') {
                pairs.push((key.trim().to_owned(), value.trim().to_owned()));
            }
        }
    }
    pairs
}

/// Reads one object of the S3 store, streamed, with its signature tag; `None` when absent.
async fn get_s3_object(s3: &S3Backend, path: &ObjectPath) -> Result<Option<Download>, RemoteError> {
    let result = match s3.store.get(path).await {
        Ok(result) => result,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(source) => return Err(s3.error(source)),
    };
    let tag = result
        .attributes
        .get(&Attribute::Metadata(S3_TAG_METADATA.into()))
        .map(|value| value.to_string());
    let url = s3.url.clone();
    let body = result
        .into_stream()
        .map_err(move |source| RemoteError::S3 {
            url: url.clone(),
            source,
        })
        .boxed();
    Ok(Some(Download { tag, body }))
}

/// Writes one object of the S3 store: an artifact or a side object, with its signature tag
/// (if any) as object metadata. With [`Write::Create`], `Ok(false)` when the object exists.
async fn put_s3_object(
    s3: &S3Backend,
    path: &ObjectPath,
    body: Bytes,
    tag: Option<String>,
    mode: Write,
) -> Result<bool, RemoteError> {
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, "application/octet-stream".into());
    if let Some(tag) = tag {
        attributes.insert(Attribute::Metadata(S3_TAG_METADATA.into()), tag.into());
    }
    let options = PutOptions {
        attributes,
        mode: match mode {
            Write::Replace => PutMode::Overwrite,
            Write::Create => PutMode::Create,
        },
        ..PutOptions::default()
    };
    match s3
        .store
        .put_opts(path, PutPayload::from(body), options)
        .await
    {
        Ok(_) => Ok(true),
        Err(object_store::Error::AlreadyExists { .. }) if mode == Write::Create => Ok(false),
        Err(source) => Err(s3.error(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ini_sections() {
        let text = "[default]\naws_access_key_id = A\n# c\n[profile ci]\nregion=garage\nendpoint_url = http://127.0.0.1:3900\n";
        assert_eq!(
            ini_section(text, "default"),
            [("aws_access_key_id".to_owned(), "A".to_owned())]
        );
        assert_eq!(ini_section(text, "profile ci").len(), 2);
        assert!(ini_section(text, "other").is_empty());
    }
}
