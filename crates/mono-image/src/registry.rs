//! Pushing an image through the OCI distribution API: blobs the registry already has are
//! not uploaded again; basic and bearer-token authentication.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use oci_spec::image::{Arch, Descriptor, ImageIndex, ImageManifest, MediaType, Os};

use crate::error::ImageError;
use crate::layout::{blob, manifest_bytes, single_index, write_index, BuiltImage, REF_NAME};

/// Where to push: `HOST[:PORT]/REPOSITORY[:TAG]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `ghcr.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// `org/app`.
    pub repository: String,
    /// The tag; `None`: the image's own.
    pub tag: Option<String>,
}

impl ImageRef {
    /// Parses `HOST[:PORT]/REPOSITORY[:TAG]`; the first component must be a host (it has a
    /// `.` or a `:`, or is `localhost`), since mono has no default registry.
    pub fn parse(text: &str) -> Option<ImageRef> {
        let (registry, rest) = text.split_once('/')?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return None;
        }
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_owned())),
            _ => (rest, None),
        };
        if repository.is_empty() || tag.as_deref() == Some("") || repository.contains('@') {
            return None;
        }
        Some(ImageRef {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag,
        })
    }
}

/// Credentials for a registry.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PushReport {
    /// `REGISTRY/REPOSITORY:TAG`.
    pub reference: String,
    /// The manifest digest.
    pub digest: String,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs the registry already had.
    pub skipped: usize,
}

fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    matches!(host, "localhost" | "[::1]") || host.starts_with("127.")
}

/// A session with one repository of one registry: one HTTP client (reqwest, the workspace's
/// one) driven by one small current-thread runtime that the session owns, so that a push or
/// a pull starts one runtime, not one per request (docs/decisions/006-one-http-client.md).
struct Session {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    registry: String,
    base: String,
    scope: String,
    credentials: Option<Credentials>,
    authorization: Option<String>,
}

/// A registry's answer, read whole.
struct Response {
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request: method, URL, headers and body; [`Session::send`] may send it twice.
struct Request<'a> {
    method: reqwest::Method,
    url: &'a str,
    headers: Vec<(&'static str, &'a str)>,
    body: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    fn new(method: reqwest::Method, url: &'a str) -> Request<'a> {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    fn header(mut self, name: &'static str, value: &'a str) -> Request<'a> {
        self.headers.push((name, value));
        self
    }

    fn body(mut self, body: &'a [u8]) -> Request<'a> {
        self.body = Some(body);
        self
    }
}

fn registry_error(registry: &str, problem: String) -> ImageError {
    ImageError::Registry {
        registry: registry.to_owned(),
        problem,
    }
}

/// `Bearer realm="...",service="...",scope="..."` → its parameters.
fn challenge_params(header: &str) -> (String, Vec<(String, String)>) {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((value, after)) => (value, after),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        params.push((key.trim().to_owned(), value.to_owned()));
        rest = after.trim_start_matches(',').trim();
    }
    (scheme.to_ascii_lowercase(), params)
}

impl Session {
    /// A session for `repository` of `target`'s registry over `scheme`, asking tokens for
    /// `actions` (`pull`, `pull,push`). `follow_redirects`: blob downloads may be sent
    /// elsewhere (a CDN); uploads are not.
    fn open(
        target: &ImageRef,
        scheme: &str,
        actions: &str,
        credentials: Option<Credentials>,
        follow_redirects: bool,
    ) -> Result<Session, ImageError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                registry_error(
                    &target.registry,
                    format!("cannot start the HTTP runtime: {e}"),
                )
            })?;
        let redirects = if follow_redirects {
            reqwest::redirect::Policy::limited(5)
        } else {
            reqwest::redirect::Policy::none()
        };
        let client = {
            let _entered = runtime.enter();
            reqwest::Client::builder()
                .redirect(redirects)
                .connect_timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| {
                    registry_error(
                        &target.registry,
                        format!("cannot build the HTTP client: {e}"),
                    )
                })?
        };
        Ok(Session {
            runtime,
            client,
            registry: target.registry.clone(),
            base: format!("{scheme}://{}/v2/{}", target.registry, target.repository),
            scope: format!("repository:{}:{actions}", target.repository),
            credentials,
            authorization: None,
        })
    }

    fn error(&self, problem: String) -> ImageError {
        registry_error(&self.registry, problem)
    }

    fn basic(&self) -> Option<String> {
        self.credentials.as_ref().map(|c| {
            let raw = format!("{}:{}", c.username, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
    }

    /// Sends one request and reads its answer whole, whatever its status.
    fn execute(&self, request: reqwest::RequestBuilder) -> Result<Response, reqwest::Error> {
        self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?.to_vec();
            Ok(Response {
                status,
                headers,
                body,
            })
        })
    }

    /// Answers a 401's challenge: basic credentials, or a bearer token from the realm.
    fn authenticate(&mut self, challenge: &str) -> Result<(), ImageError> {
        let (scheme, params) = challenge_params(challenge);
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        match scheme.as_str() {
            "basic" => {
                let basic = self.basic().ok_or_else(|| {
                    self.error("it asks for a user name and password: set MONO_REGISTRY_USERNAME and MONO_REGISTRY_PASSWORD".to_owned())
                })?;
                self.authorization = Some(basic);
                Ok(())
            }
            "bearer" => {
                let realm = get("realm")
                    .ok_or_else(|| self.error("its bearer challenge has no realm".to_owned()))?;
                let mut query = vec![("scope", self.scope.clone())];
                if let Some(service) = get("service") {
                    query.push(("service", service));
                }
                let mut request = self.client.get(&realm).query(&query);
                if let Some(basic) = self.basic() {
                    request = request.header("Authorization", basic);
                }
                let response = self
                    .execute(request)
                    .map_err(|e| self.error(format!("the token service {realm} failed: {e}")))?;
                if !response.status.is_success() {
                    return Err(self.error(format!(
                        "the token service {realm} refused: {} {}",
                        response.status,
                        String::from_utf8_lossy(&response.body).trim()
                    )));
                }
                #[derive(serde::Deserialize)]
                struct Token {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let body: Token = serde_json::from_slice(&response.body)
                    .map_err(|e| self.error(format!("the token service answered no JSON: {e}")))?;
                let token = body
                    .token
                    .or(body.access_token)
                    .ok_or_else(|| self.error("the token service answered no token".to_owned()))?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            other => Err(self.error(format!(
                "it asks for `{other}` authentication, which mono does not speak"
            ))),
        }
    }

    /// Sends `request`; on a 401, answers the challenge (basic credentials or a bearer
    /// token) and sends it once more. Returns the answer whatever its status, except a
    /// second 401, which is an error.
    fn send(&mut self, request: &Request<'_>) -> Result<Response, ImageError> {
        let describe =
            |e: &dyn std::fmt::Display| format!("{} {}: {e}", request.method, request.url);
        for attempt in 0..2 {
            let mut builder = self.client.request(request.method.clone(), request.url);
            if let Some(auth) = &self.authorization {
                builder = builder.header("Authorization", auth);
            }
            for (name, value) in &request.headers {
                builder = builder.header(*name, *value);
            }
            if let Some(body) = request.body {
                builder = builder.body(body.to_vec());
            }
            let response = self
                .execute(builder)
                .map_err(|e| self.error(describe(&e)))?;
            if response.status != reqwest::StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            if attempt == 0 {
                let challenge = response
                    .header("WWW-Authenticate")
                    .unwrap_or("Basic realm=\"registry\"")
                    .to_owned();
                self.authenticate(&challenge)?;
            }
        }
        Err(self.error(describe(&"401 Unauthorized: the credentials were refused")))
    }

    /// [`Session::send`], with any status but a success an error.
    fn send_ok(&mut self, request: &Request<'_>) -> Result<Response, ImageError> {
        let response = self.send(request)?;
        if response.status.is_success() {
            return Ok(response);
        }
        Err(self.error(format!(
            "{} {}: {} {}",
            request.method,
            request.url,
            response.status,
            String::from_utf8_lossy(&response.body).trim()
        )))
    }

    fn has_blob(&mut self, digest: &str) -> Result<bool, ImageError> {
        let url = format!("{}/blobs/{digest}", self.base);
        let request = Request::new(reqwest::Method::HEAD, &url);
        let response = self.send(&request)?;
        match response.status {
            status if status.is_success() || status.is_redirection() => Ok(true),
            reqwest::StatusCode::NOT_FOUND => Ok(false),
            status => Err(self.error(format!("HEAD {url}: {status}"))),
        }
    }

    fn upload(&mut self, digest: &str, bytes: &[u8]) -> Result<(), ImageError> {
        let start = format!("{}/blobs/uploads/", self.base);
        let response = self.send_ok(&Request::new(reqwest::Method::POST, &start).body(&[]))?;
        let location = response
            .header("Location")
            .ok_or_else(|| self.error("an upload started without a Location".to_owned()))?;
        let location = if location.starts_with('/') {
            let origin = self.base.split("/v2/").next().unwrap_or_default();
            format!("{origin}{location}")
        } else {
            location.to_owned()
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={digest}");
        self.send_ok(
            &Request::new(reqwest::Method::PUT, &url)
                .header("Content-Type", "application/octet-stream")
                .body(bytes),
        )?;
        Ok(())
    }

    /// A manifest or an index, as bytes.
    fn get_manifest(&mut self, reference: &str) -> Result<Vec<u8>, ImageError> {
        let url = format!("{}/manifests/{reference}", self.base);
        Ok(self
            .send_ok(&Request::new(reqwest::Method::GET, &url).header("Accept", ACCEPT))?
            .body)
    }

    /// A blob, checked against its digest.
    fn get_blob(&mut self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let url = format!("{}/blobs/{digest}", self.base);
        let bytes = self
            .send_ok(&Request::new(reqwest::Method::GET, &url))?
            .body;
        if crate::layer::sha256(&bytes) != digest {
            return Err(self.error(format!("blob {digest} does not match its digest")));
        }
        Ok(bytes)
    }
}

/// `https`, or `http` with `insecure` on a loopback registry.
fn scheme(target: &ImageRef, insecure: bool) -> Result<&'static str, ImageError> {
    match (insecure, is_loopback(&target.registry)) {
        (true, true) => Ok("http"),
        (true, false) => Err(ImageError::InsecureNotLoopback {
            registry: target.registry.clone(),
        }),
        (false, _) => Ok("https"),
    }
}

/// Pushes the image of layout `dir` to `target` (tag: the target's, else the image's).
/// `insecure` allows plain http, only to a loopback address.
pub fn push(
    dir: &Path,
    image: &BuiltImage,
    target: &ImageRef,
    credentials: Option<Credentials>,
    insecure: bool,
) -> Result<PushReport, ImageError> {
    let scheme = scheme(target, insecure)?;
    let tag = target.tag.clone().unwrap_or_else(|| image.tag.clone());
    let mut session = Session::open(target, scheme, "pull,push", credentials, false)?;
    let manifest_bytes = manifest_bytes(dir, &image.digest)?;
    let manifest: ImageManifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| ImageError::BadLayout {
            dir: dir.to_owned(),
            problem: e.to_string(),
        })?;
    let mut digests: Vec<String> = manifest
        .layers()
        .iter()
        .map(|l| l.digest().to_string())
        .collect();
    digests.push(image.config.clone());
    let mut report = PushReport {
        reference: format!("{}/{}:{tag}", target.registry, target.repository),
        digest: image.digest.clone(),
        ..PushReport::default()
    };
    for digest in digests {
        if session.has_blob(&digest)? {
            report.skipped += 1;
            continue;
        }
        let path = blob(dir, &digest)?;
        let bytes = std::fs::read(&path).map_err(ImageError::io("read", &path))?;
        session.upload(&digest, &bytes)?;
        report.uploaded += 1;
    }
    let url = format!("{}/manifests/{tag}", session.base);
    let media_type = manifest
        .media_type()
        .clone()
        .unwrap_or(MediaType::ImageManifest)
        .to_string();
    session.send_ok(
        &Request::new(reqwest::Method::PUT, &url)
            .header("Content-Type", &media_type)
            .body(&manifest_bytes),
    )?;
    Ok(report)
}

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// Docker's schema 2 media types in OCI's words; OCI's stay as they are.
fn oci_media_type(media_type: &MediaType) -> MediaType {
    match media_type.to_string().as_str() {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => MediaType::ImageLayerGzip,
        "application/vnd.docker.container.image.v1+json" => MediaType::ImageConfig,
        "application/vnd.docker.distribution.manifest.v2+json" => MediaType::ImageManifest,
        _ => media_type.clone(),
    }
}

/// Pulls `source` (for the host's platform when it is a multi-platform index) into a new
/// OCI layout folder `into`, tagged with the source's tag. Blobs are checked against their
/// digests. `insecure` allows plain http, only to a loopback address.
pub fn pull(
    source: &ImageRef,
    credentials: Option<Credentials>,
    insecure: bool,
    into: &Path,
) -> Result<(), ImageError> {
    let scheme = scheme(source, insecure)?;
    let tag = source.tag.clone().unwrap_or_else(|| "latest".to_owned());
    let mut session = Session::open(source, scheme, "pull", credentials, true)?;
    let mut manifest_bytes = session.get_manifest(&tag)?;
    let not_json = |e: serde_json::Error| {
        registry_error(
            &source.registry,
            format!("its manifest is not an OCI manifest or index: {e}"),
        )
    };
    let probe: ManifestKind = serde_json::from_slice(&manifest_bytes).map_err(not_json)?;
    if probe.manifests.is_some() {
        let index: ImageIndex = serde_json::from_slice(&manifest_bytes).map_err(not_json)?;
        let arch = Arch::from(crate::layout::host_arch());
        let chosen = index
            .manifests()
            .iter()
            .find(|m| {
                m.platform()
                    .as_ref()
                    .is_some_and(|p| *p.os() == Os::Linux && *p.architecture() == arch)
            })
            .ok_or_else(|| session.error(format!("it has no linux/{arch} image")))?
            .digest()
            .to_string();
        manifest_bytes = session.get_manifest(&chosen)?;
    }
    let mut manifest: ImageManifest = serde_json::from_slice(&manifest_bytes).map_err(not_json)?;

    let parent = into.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(ImageError::io("create", parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".pull-")
        .tempdir_in(parent)
        .map_err(ImageError::io("create a folder in", parent))?;
    let dir = staging.path();
    std::fs::create_dir_all(dir.join("blobs/sha256"))
        .map_err(ImageError::io("create", dir.join("blobs/sha256")))?;
    // Docker's schema 2 becomes OCI: the same blobs under OCI media types.
    let fetch = |session: &mut Session, descriptor: &mut Descriptor| -> Result<(), ImageError> {
        let digest = descriptor.digest().to_string();
        let bytes = session.get_blob(&digest)?;
        let path = blob(dir, &digest)?;
        std::fs::write(&path, &bytes).map_err(ImageError::io("write", &path))?;
        descriptor.set_media_type(oci_media_type(descriptor.media_type()));
        Ok(())
    };
    let mut config = manifest.config().clone();
    fetch(&mut session, &mut config)?;
    manifest.set_config(config);
    let mut layers = manifest.layers().clone();
    for layer in &mut layers {
        fetch(&mut session, layer)?;
    }
    manifest.set_layers(layers);
    manifest.set_media_type(Some(oci_media_type(
        &manifest
            .media_type()
            .clone()
            .unwrap_or(MediaType::ImageManifest),
    )));
    let bytes = crate::oci::manifest_bytes(&manifest);
    let digest = crate::layer::sha256(&bytes);
    let path = blob(dir, &digest)?;
    std::fs::write(&path, &bytes).map_err(ImageError::io("write", &path))?;
    let mut entry = Descriptor::new(
        MediaType::ImageManifest,
        bytes.len() as u64,
        crate::layout::digest(&digest),
    );
    entry.set_annotations(Some(HashMap::from([(REF_NAME.to_owned(), tag)])));
    write_index(dir, &single_index(None, entry))?;
    if into.exists() {
        std::fs::remove_dir_all(into).map_err(ImageError::io("remove", into))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, into).map_err(ImageError::io("create", into))?;
    Ok(())
}

/// Tells an index (it has `manifests`) from a manifest before parsing either.
#[derive(serde::Deserialize)]
struct ManifestKind {
    manifests: Option<serde::de::IgnoredAny>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        assert_eq!(
            ImageRef::parse("127.0.0.1:5000/polyglot/api:v1"),
            Some(ImageRef {
                registry: "127.0.0.1:5000".into(),
                repository: "polyglot/api".into(),
                tag: Some("v1".into()),
            })
        );
        assert_eq!(ImageRef::parse("ghcr.io/org/app").unwrap().tag, None);
        assert_eq!(ImageRef::parse("org/app:v1"), None);
        assert_eq!(ImageRef::parse("ghcr.io/"), None);
    }

    #[test]
    fn reads_bearer_challenges() {
        let (scheme, params) = challenge_params(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/app:pull""#,
        );
        assert_eq!(scheme, "bearer");
        assert_eq!(
            params,
            [
                ("realm".to_owned(), "https://ghcr.io/token".to_owned()),
                ("service".to_owned(), "ghcr.io".to_owned()),
                ("scope".to_owned(), "repository:org/app:pull".to_owned()),
            ]
        );
        assert_eq!(challenge_params("Basic realm=\"x\"").0, "basic");
    }

    /// A registry on 127.0.0.1 that answers `connections` requests (one per connection):
    /// the token service at `/token` hands out `good`; `/v2/...` wants `Bearer good` and
    /// challenges anything else. Returns its address and the log of requests
    /// (`METHOD PATH AUTHORIZATION`).
    fn registry(
        connections: usize,
        good: &'static str,
        token: &'static str,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (realm, seen) = (format!("http://{address}/token"), log.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or("").to_owned(),
                    parts.next().unwrap_or("").to_owned(),
                );
                let mut authorization = String::from("-");
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("authorization") {
                            authorization = value.trim().to_owned();
                        }
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(format!("{method} {path} {authorization}"));
                let (status, extra, body) = if path.starts_with("/token") {
                    ("200 OK", String::new(), format!(r#"{{"token":"{token}"}}"#))
                } else if authorization == format!("Bearer {good}") {
                    ("200 OK", String::new(), "the manifest".to_owned())
                } else {
                    (
                        "401 Unauthorized",
                        format!("WWW-Authenticate: Bearer realm=\"{realm}\",service=\"test\"\r\n"),
                        String::new(),
                    )
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(answer.as_bytes()).unwrap();
            }
        });
        (address, log)
    }

    fn session(address: &str) -> Session {
        let target = ImageRef::parse(&format!("{address}/team/app:v1")).unwrap();
        Session::open(&target, "http", "pull", None, true).unwrap()
    }

    #[test]
    fn a_bearer_challenge_is_answered_once_and_the_request_sent_again() {
        let (address, log) = registry(4, "t0k", "t0k");
        let mut session = session(&address);
        assert_eq!(session.get_manifest("v1").unwrap(), b"the manifest");
        // The token is kept: the next request needs no challenge.
        assert_eq!(session.get_manifest("v2").unwrap(), b"the manifest");
        assert_eq!(
            *log.lock().unwrap(),
            [
                "GET /v2/team/app/manifests/v1 -".to_owned(),
                "GET /token?scope=repository%3Ateam%2Fapp%3Apull&service=test -".to_owned(),
                "GET /v2/team/app/manifests/v1 Bearer t0k".to_owned(),
                "GET /v2/team/app/manifests/v2 Bearer t0k".to_owned(),
            ]
        );
    }

    #[test]
    fn a_refused_token_is_an_error_after_one_retry() {
        let (address, log) = registry(3, "good", "bad");
        let err = session(&address).get_manifest("v1").err().unwrap();
        assert!(err.to_string().contains("401"), "{err}");
        assert_eq!(log.lock().unwrap().len(), 3, "request, token, retry");
    }

    #[test]
    fn a_basic_challenge_without_credentials_names_the_variables() {
        let mut session = session("127.0.0.1:9");
        let err = session.authenticate("Basic realm=\"r\"").err().unwrap();
        assert!(err.to_string().contains("MONO_REGISTRY_USERNAME"), "{err}");
        session.credentials = Some(Credentials {
            username: "u".into(),
            password: "p".into(),
        });
        session.authenticate("Basic realm=\"r\"").unwrap();
        assert_eq!(session.authorization.as_deref(), Some("Basic dTpw"));
    }

    #[test]
    fn a_docker_manifest_reads_as_an_oci_manifest_with_oci_media_types() {
        let docker = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":3208942,"digest":"sha256:2b0d4c4a4b1a8d1e4e1c3f3b6f1b2a7c9e5d3e7f1a2b3c4d5e6f708192a3b4c5"}]}"#;
        let manifest: ImageManifest = serde_json::from_str(docker).unwrap();
        assert_eq!(
            oci_media_type(manifest.media_type().as_ref().unwrap()),
            MediaType::ImageManifest
        );
        assert_eq!(
            oci_media_type(manifest.config().media_type()),
            MediaType::ImageConfig
        );
        assert_eq!(
            oci_media_type(manifest.layers()[0].media_type()),
            MediaType::ImageLayerGzip
        );
        assert_eq!(manifest.layers()[0].size(), 3208942);
        let other = MediaType::Other("application/vnd.example+json".into());
        assert_eq!(oci_media_type(&other), other);
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost:5000"));
        assert!(!is_loopback("registry.example.com:5000"));
    }
}
