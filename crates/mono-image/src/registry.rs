//! Pushing an image through the OCI distribution API: blobs the registry already has are
//! not uploaded again; basic and bearer-token authentication.

use std::path::Path;

use base64::Engine;

use crate::error::ImageError;
use crate::layout::{blob, manifest_bytes, BuiltImage};

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

/// A session with one repository of one registry.
struct Session {
    agent: ureq::Agent,
    base: String,
    scope: String,
    credentials: Option<Credentials>,
    authorization: Option<String>,
}

fn registry_error(target: &ImageRef, problem: String) -> ImageError {
    ImageError::Registry {
        registry: target.registry.clone(),
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
    fn basic(&self) -> Option<String> {
        self.credentials.as_ref().map(|c| {
            let raw = format!("{}:{}", c.username, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
    }

    /// Answers a 401's challenge: basic credentials, or a bearer token from the realm.
    fn authenticate(&mut self, challenge: &str, target: &ImageRef) -> Result<(), ImageError> {
        let (scheme, params) = challenge_params(challenge);
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        match scheme.as_str() {
            "basic" => {
                self.authorization = Some(self.basic().ok_or_else(|| {
                    registry_error(
                        target,
                        "it asks for a user name and password: set MONO_REGISTRY_USERNAME and MONO_REGISTRY_PASSWORD".to_owned(),
                    )
                })?);
                Ok(())
            }
            "bearer" => {
                let realm = get("realm").ok_or_else(|| {
                    registry_error(target, "its bearer challenge has no realm".to_owned())
                })?;
                let mut request = self.agent.get(&realm).query("scope", &self.scope);
                if let Some(service) = get("service") {
                    request = request.query("service", &service);
                }
                if let Some(basic) = self.basic() {
                    request = request.set("Authorization", &basic);
                }
                let response = request.call().map_err(|e| {
                    registry_error(target, format!("the token service {realm} refused: {e}"))
                })?;
                let text = response.into_string().map_err(|e| {
                    registry_error(target, format!("the token service's answer: {e}"))
                })?;
                let body: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    registry_error(target, format!("the token service answered no JSON: {e}"))
                })?;
                let token = body["token"]
                    .as_str()
                    .or_else(|| body["access_token"].as_str())
                    .ok_or_else(|| {
                        registry_error(target, "the token service answered no token".to_owned())
                    })?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            other => Err(registry_error(
                target,
                format!("it asks for `{other}` authentication, which mono does not speak"),
            )),
        }
    }

    /// Sends a request, authenticating once on a 401.
    fn send(
        &mut self,
        target: &ImageRef,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<ureq::Response, ImageError> {
        for attempt in 0..2 {
            let mut request = self.agent.request(method, url);
            if let Some(auth) = &self.authorization {
                request = request.set("Authorization", auth);
            }
            if let Some(ct) = content_type {
                request = request.set("Content-Type", ct);
            }
            let result = match body {
                Some(bytes) => request.send_bytes(bytes),
                None => request.call(),
            };
            match result {
                Ok(response) => return Ok(response),
                Err(ureq::Error::Status(401, response)) if attempt == 0 => {
                    let challenge = response
                        .header("WWW-Authenticate")
                        .unwrap_or("Basic realm=\"registry\"")
                        .to_owned();
                    self.authenticate(&challenge, target)?;
                }
                Err(ureq::Error::Status(code, response)) => {
                    let text = response.into_string().unwrap_or_default();
                    return Err(registry_error(
                        target,
                        format!("{method} {url}: {code} {}", text.trim()),
                    ));
                }
                Err(err) => {
                    return Err(registry_error(target, format!("{method} {url}: {err}")));
                }
            }
        }
        unreachable!("the second attempt returns")
    }

    fn has_blob(&mut self, target: &ImageRef, digest: &str) -> Result<bool, ImageError> {
        let url = format!("{}/blobs/{digest}", self.base);
        match self.send(target, "HEAD", &url, None, None) {
            Ok(_) => Ok(true),
            Err(ImageError::Registry { problem, .. }) if problem.contains(": 404") => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn upload(&mut self, target: &ImageRef, digest: &str, bytes: &[u8]) -> Result<(), ImageError> {
        let start = format!("{}/blobs/uploads/", self.base);
        let response = self.send(target, "POST", &start, None, Some(&[]))?;
        let location = response.header("Location").ok_or_else(|| {
            registry_error(target, "an upload started without a Location".to_owned())
        })?;
        let location = if location.starts_with('/') {
            let origin = self.base.split("/v2/").next().unwrap_or_default();
            format!("{origin}{location}")
        } else {
            location.to_owned()
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={digest}");
        self.send(
            target,
            "PUT",
            &url,
            Some("application/octet-stream"),
            Some(bytes),
        )?;
        Ok(())
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
    let scheme = match (insecure, is_loopback(&target.registry)) {
        (true, true) => "http",
        (true, false) => {
            return Err(ImageError::InsecureNotLoopback {
                registry: target.registry.clone(),
            })
        }
        (false, _) => "https",
    };
    let tag = target.tag.clone().unwrap_or_else(|| image.tag.clone());
    let mut session = Session {
        agent: ureq::AgentBuilder::new()
            .redirects(0)
            .timeout_connect(std::time::Duration::from_secs(30))
            .build(),
        base: format!("{scheme}://{}/v2/{}", target.registry, target.repository),
        scope: format!("repository:{}:pull,push", target.repository),
        credentials,
        authorization: None,
    };
    let manifest = manifest_bytes(dir, &image.digest)?;
    let parsed: serde_json::Value =
        serde_json::from_slice(&manifest).map_err(|e| ImageError::BadLayout {
            dir: dir.to_owned(),
            problem: e.to_string(),
        })?;
    let mut digests: Vec<String> = parsed["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["digest"].as_str().map(str::to_owned))
        .collect();
    digests.push(image.config.clone());
    let mut report = PushReport {
        reference: format!("{}/{}:{tag}", target.registry, target.repository),
        digest: image.digest.clone(),
        ..PushReport::default()
    };
    for digest in digests {
        if session.has_blob(target, &digest)? {
            report.skipped += 1;
            continue;
        }
        let path = blob(dir, &digest)?;
        let bytes = std::fs::read(&path).map_err(ImageError::io("read", &path))?;
        session.upload(target, &digest, &bytes)?;
        report.uploaded += 1;
    }
    let url = format!("{}/manifests/{tag}", session.base);
    let media_type = parsed["mediaType"]
        .as_str()
        .unwrap_or("application/vnd.oci.image.manifest.v1+json")
        .to_owned();
    session.send(target, "PUT", &url, Some(&media_type), Some(&manifest))?;
    Ok(report)
}

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

fn oci_media_type(docker: &str) -> &str {
    match docker {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        }
        "application/vnd.docker.container.image.v1+json" => {
            "application/vnd.oci.image.config.v1+json"
        }
        "application/vnd.docker.distribution.manifest.v2+json" => {
            "application/vnd.oci.image.manifest.v1+json"
        }
        other => other,
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
    let scheme = match (insecure, is_loopback(&source.registry)) {
        (true, true) => "http",
        (true, false) => {
            return Err(ImageError::InsecureNotLoopback {
                registry: source.registry.clone(),
            })
        }
        (false, _) => "https",
    };
    let tag = source.tag.clone().unwrap_or_else(|| "latest".to_owned());
    let mut session = Session {
        agent: ureq::AgentBuilder::new()
            .timeout_connect(std::time::Duration::from_secs(30))
            .build(),
        base: format!("{scheme}://{}/v2/{}", source.registry, source.repository),
        scope: format!("repository:{}:pull", source.repository),
        credentials,
        authorization: None,
    };
    let get = |session: &mut Session, url: &str, accept: bool| -> Result<Vec<u8>, ImageError> {
        let mut last = None;
        for attempt in 0..2 {
            let mut request = session.agent.get(url);
            if accept {
                request = request.set("Accept", ACCEPT);
            }
            if let Some(auth) = &session.authorization {
                request = request.set("Authorization", auth);
            }
            match request.call() {
                Ok(response) => {
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes)
                        .map_err(|e| registry_error(source, format!("GET {url}: {e}")))?;
                    return Ok(bytes);
                }
                Err(ureq::Error::Status(401, response)) if attempt == 0 => {
                    let challenge = response
                        .header("WWW-Authenticate")
                        .unwrap_or("Basic realm=\"registry\"")
                        .to_owned();
                    session.authenticate(&challenge, source)?;
                }
                Err(err) => last = Some(registry_error(source, format!("GET {url}: {err}"))),
            }
            if last.is_some() {
                break;
            }
        }
        Err(last.unwrap_or_else(|| registry_error(source, format!("GET {url}: unauthorized"))))
    };
    let base_url = session.base.clone();
    let mut manifest_bytes = get(&mut session, &format!("{base_url}/manifests/{tag}"), true)?;
    let mut manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| registry_error(source, format!("its manifest is not JSON: {e}")))?;
    if manifest["manifests"].is_array() {
        let arch = crate::layout::host_arch();
        let chosen = manifest["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == arch)
            .and_then(|m| m["digest"].as_str())
            .ok_or_else(|| registry_error(source, format!("it has no linux/{arch} image")))?
            .to_owned();
        manifest_bytes = get(
            &mut session,
            &format!("{base_url}/manifests/{chosen}"),
            true,
        )?;
        manifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| registry_error(source, format!("its manifest is not JSON: {e}")))?;
    }

    let parent = into.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(ImageError::io("create", parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".pull-")
        .tempdir_in(parent)
        .map_err(ImageError::io("create a folder in", parent))?;
    let dir = staging.path();
    std::fs::create_dir_all(dir.join("blobs/sha256"))
        .map_err(ImageError::io("create", dir.join("blobs/sha256")))?;
    let fetch =
        |session: &mut Session, descriptor: &mut serde_json::Value| -> Result<(), ImageError> {
            let digest = descriptor["digest"]
                .as_str()
                .ok_or_else(|| registry_error(source, "a descriptor has no digest".to_owned()))?
                .to_owned();
            let bytes = get(session, &format!("{base_url}/blobs/{digest}"), false)?;
            if crate::layer::sha256(&bytes) != digest {
                return Err(registry_error(
                    source,
                    format!("blob {digest} does not match its digest"),
                ));
            }
            let path = blob(dir, &digest)?;
            std::fs::write(&path, &bytes).map_err(ImageError::io("write", &path))?;
            let media = descriptor["mediaType"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            descriptor["mediaType"] = serde_json::Value::String(oci_media_type(&media).to_owned());
            Ok(())
        };
    fetch(&mut session, &mut manifest["config"])?;
    if let Some(layers) = manifest["layers"].as_array_mut() {
        for layer in layers {
            fetch(&mut session, layer)?;
        }
    }
    // Docker's schema 2 becomes OCI: the same blobs under OCI media types.
    manifest["mediaType"] = serde_json::Value::String(
        oci_media_type(
            manifest["mediaType"]
                .as_str()
                .unwrap_or("application/vnd.oci.image.manifest.v1+json"),
        )
        .to_owned(),
    );
    let bytes = serde_json::to_vec(&manifest).expect("serializes");
    let digest = crate::layer::sha256(&bytes);
    let path = blob(dir, &digest)?;
    std::fs::write(&path, &bytes).map_err(ImageError::io("write", &path))?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": bytes.len(),
            "annotations": { "org.opencontainers.image.ref.name": tag },
        }],
    });
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("serializes"),
    )
    .map_err(ImageError::io("write", dir.join("index.json")))?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
        .map_err(ImageError::io("write", dir.join("oci-layout")))?;
    if into.exists() {
        std::fs::remove_dir_all(into).map_err(ImageError::io("remove", into))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, into).map_err(ImageError::io("create", into))?;
    Ok(())
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

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost:5000"));
        assert!(!is_loopback("registry.example.com:5000"));
    }
}
