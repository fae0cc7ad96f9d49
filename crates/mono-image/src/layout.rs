//! OCI image layouts: writing one from an [`ImageSpec`], reading one back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::error::ImageError;
use crate::layer::{build_layer, sha256, LayerSource};

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The annotation naming the source of a layer (a package name, or `base`).
pub const LAYER_SOURCE_ANNOTATION: &str = "dev.mono.layer.source";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What an image starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Base {
    /// Nothing: the image holds only its own layers.
    #[default]
    Scratch,
    /// The image of an OCI layout folder (its first manifest, or the one tagged `tag`).
    Layout {
        /// The folder.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick, if the layout has several.
        tag: Option<String>,
    },
}

/// Everything an image is made of.
#[derive(Debug, Clone, Default)]
pub struct ImageSpec {
    /// The repository name (`docsearch/indexer`).
    pub name: String,
    /// The tag, recorded in the layout's index as the ref name.
    pub tag: String,
    /// The base.
    pub base: Base,
    /// `Entrypoint`; `None` keeps the base's.
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`; `None` keeps the base's.
    pub cmd: Option<Vec<String>>,
    /// `WorkingDir`.
    pub workdir: Option<String>,
    /// Environment variables, added to (or replacing) the base's.
    pub env: Vec<(String, String)>,
    /// Exposed ports, `8080/tcp`.
    pub expose: Vec<String>,
    /// `User`.
    pub user: Option<String>,
    /// Labels of the config.
    pub labels: Vec<(String, String)>,
    /// Manifest annotations (`org.opencontainers.image.revision`, `.source`).
    pub annotations: BTreeMap<String, String>,
    /// One layer each, in order, above the base's layers.
    pub layers: Vec<LayerSource>,
}

/// One layer of a built image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LayerInfo {
    /// Where it comes from: `base`, or a package name.
    pub source: String,
    /// `sha256:` of the compressed blob.
    pub digest: String,
    /// Compressed size in bytes.
    pub size: u64,
}

/// An image in an OCI layout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuiltImage {
    /// The repository name.
    pub name: String,
    /// The tag.
    pub tag: String,
    /// The manifest digest: the image's identity.
    pub digest: String,
    /// The config blob's digest.
    pub config: String,
    /// The layers, base first.
    pub layers: Vec<LayerInfo>,
    /// Manifest, config and layers, in bytes.
    pub size: u64,
}

fn bad(dir: &Path, problem: impl Into<String>) -> ImageError {
    ImageError::BadLayout {
        dir: dir.to_owned(),
        problem: problem.into(),
    }
}

fn blob_path(dir: &Path, digest: &str) -> Result<PathBuf, ImageError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| bad(dir, format!("`{digest}` is not a sha256 digest")))?;
    Ok(dir.join("blobs/sha256").join(hex))
}

fn read_json(dir: &Path, path: &Path) -> Result<Value, ImageError> {
    let bytes = std::fs::read(path).map_err(ImageError::io("read", path))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(dir, format!("{}: {e}", path.display())))
}

/// The manifest of a layout: the one whose ref name is `tag`, else the only one.
fn find_manifest(dir: &Path, tag: Option<&str>) -> Result<(String, Value), ImageError> {
    let index = read_json(dir, &dir.join("index.json"))?;
    let manifests = index["manifests"]
        .as_array()
        .ok_or_else(|| bad(dir, "index.json has no `manifests`"))?;
    let chosen = match tag {
        Some(tag) => manifests
            .iter()
            .find(|m| m["annotations"][REF_NAME].as_str() == Some(tag))
            .ok_or_else(|| bad(dir, format!("no image is tagged `{tag}`")))?,
        None if manifests.len() == 1 => &manifests[0],
        None => {
            return Err(bad(
                dir,
                format!(
                    "it holds {} images; name one with `oci:PATH:TAG`",
                    manifests.len()
                ),
            ))
        }
    };
    let digest = chosen["digest"]
        .as_str()
        .ok_or_else(|| bad(dir, "a manifest entry has no digest"))?
        .to_owned();
    let manifest = read_json(dir, &blob_path(dir, &digest)?)?;
    Ok((digest, manifest))
}

fn write_blob(dir: &Path, bytes: &[u8]) -> Result<String, ImageError> {
    let digest = sha256(bytes);
    let path = blob_path(dir, &digest)?;
    std::fs::write(&path, bytes).map_err(ImageError::io("write", &path))?;
    Ok(digest)
}

/// The host's architecture in OCI's words (`amd64`, `arm64`).
pub(crate) fn host_arch() -> &'static str {
    arch()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Builds the image of `spec` into the OCI layout folder `out` (replacing what was there)
/// and returns what it holds.
///
/// The folder is built beside `out` and renamed into place, so that a failure leaves
/// nothing half-written.
pub fn build_image(spec: &ImageSpec, out: &Path) -> Result<BuiltImage, ImageError> {
    let parent = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(ImageError::io("create", parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".image-")
        .tempdir_in(parent)
        .map_err(ImageError::io("create a folder in", parent))?;
    let dir = staging.path();
    std::fs::create_dir_all(dir.join("blobs/sha256"))
        .map_err(ImageError::io("create", dir.join("blobs/sha256")))?;

    // The base: its layers are reused as they are, its config is the starting point.
    let mut config_env: Vec<String> = vec![DEFAULT_PATH.to_owned()];
    let mut base_config = Map::new();
    let mut diff_ids: Vec<Value> = Vec::new();
    let mut layer_descriptors: Vec<Value> = Vec::new();
    let mut os = "linux".to_owned();
    let mut architecture = arch().to_owned();
    if let Base::Layout { dir: base_dir, tag } = &spec.base {
        let (_, manifest) = find_manifest(base_dir, tag.as_deref())?;
        let config_digest = manifest["config"]["digest"]
            .as_str()
            .ok_or_else(|| bad(base_dir, "the manifest has no config"))?;
        let config = read_json(base_dir, &blob_path(base_dir, config_digest)?)?;
        if let Some(c) = config["config"].as_object() {
            base_config = c.clone();
        }
        if let Some(env) = base_config.get("Env").and_then(Value::as_array) {
            config_env = env
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
        }
        os = config["os"].as_str().unwrap_or("linux").to_owned();
        architecture = config["architecture"].as_str().unwrap_or(arch()).to_owned();
        diff_ids = config["rootfs"]["diff_ids"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for layer in manifest["layers"].as_array().into_iter().flatten() {
            let digest = layer["digest"]
                .as_str()
                .ok_or_else(|| bad(base_dir, "a layer has no digest"))?;
            let from = blob_path(base_dir, digest)?;
            let to = blob_path(dir, digest)?;
            std::fs::copy(&from, &to).map_err(ImageError::io("copy", &from))?;
            let mut descriptor = json!({
                "mediaType": layer["mediaType"].clone(),
                "digest": digest,
                "size": layer["size"].clone(),
            });
            descriptor["annotations"] = json!({ LAYER_SOURCE_ANNOTATION: "base" });
            layer_descriptors.push(descriptor);
        }
        if diff_ids.len() != layer_descriptors.len() {
            return Err(bad(
                base_dir,
                "the config's diff_ids do not match the layers",
            ));
        }
    }

    for source in &spec.layers {
        let layer = build_layer(source)?;
        write_blob(dir, &layer.blob)?;
        diff_ids.push(Value::String(layer.diff_id.clone()));
        layer_descriptors.push(json!({
            "mediaType": LAYER_TYPE,
            "digest": layer.digest,
            "size": layer.blob.len(),
            "annotations": { LAYER_SOURCE_ANNOTATION: source.source },
        }));
    }

    // The config: the base's, with the spec's settings on top.
    for (name, value) in &spec.env {
        let prefix = format!("{name}=");
        config_env.retain(|e| !e.starts_with(&prefix));
        config_env.push(format!("{name}={value}"));
    }
    let mut config = base_config;
    config.insert("Env".into(), json!(config_env));
    if let Some(entrypoint) = &spec.entrypoint {
        config.insert("Entrypoint".into(), json!(entrypoint));
        if spec.cmd.is_none() {
            // As Docker: a new entrypoint drops the base's arguments.
            config.remove("Cmd");
        }
    }
    if let Some(cmd) = &spec.cmd {
        config.insert("Cmd".into(), json!(cmd));
    }
    if let Some(workdir) = &spec.workdir {
        config.insert("WorkingDir".into(), json!(workdir));
    }
    if let Some(user) = &spec.user {
        config.insert("User".into(), json!(user));
    }
    if !spec.expose.is_empty() {
        let ports = config.entry("ExposedPorts").or_insert_with(|| json!({}));
        for port in &spec.expose {
            ports[port] = json!({});
        }
    }
    if !spec.labels.is_empty() {
        let labels = config.entry("Labels").or_insert_with(|| json!({}));
        for (k, v) in &spec.labels {
            labels[k] = json!(v);
        }
    }
    let config_json = json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": architecture,
        "os": os,
        "config": sorted(Value::Object(config)),
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config_bytes = serde_json::to_vec(&config_json).expect("serializes");
    let config_digest = write_blob(dir, &config_bytes)?;

    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {
            "mediaType": CONFIG_TYPE,
            "digest": config_digest,
            "size": config_bytes.len(),
        },
        "layers": layer_descriptors,
    });
    if !spec.annotations.is_empty() {
        manifest["annotations"] = json!(spec.annotations);
    }
    let manifest_bytes = serde_json::to_vec(&manifest).expect("serializes");
    let manifest_digest = write_blob(dir, &manifest_bytes)?;

    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": MANIFEST_TYPE,
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "annotations": {
                REF_NAME: spec.tag,
                "dev.mono.image.name": spec.name,
            },
        }],
    });
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(ImageError::io("write", &path))
    };
    write(
        "index.json",
        serde_json::to_vec(&index).expect("serializes"),
    )?;
    write("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec())?;

    if out.exists() {
        std::fs::remove_dir_all(out).map_err(ImageError::io("remove", out))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, out).map_err(ImageError::io("create", out))?;
    read_layout(out, None)
}

/// Sorts object keys recursively, so the JSON bytes never depend on insertion order.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Reads the image of an OCI layout folder (the one tagged `tag`, else the only one).
pub fn read_layout(dir: &Path, tag: Option<&str>) -> Result<BuiltImage, ImageError> {
    let index = read_json(dir, &dir.join("index.json"))?;
    let (digest, manifest) = find_manifest(dir, tag)?;
    let entry = index["manifests"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["digest"].as_str() == Some(&digest)))
        .cloned()
        .unwrap_or_default();
    let manifest_size = std::fs::metadata(blob_path(dir, &digest)?)
        .map_err(ImageError::io("read", blob_path(dir, &digest)?))?
        .len();
    let config = manifest["config"]["digest"]
        .as_str()
        .ok_or_else(|| bad(dir, "the manifest has no config"))?
        .to_owned();
    let config_size = manifest["config"]["size"].as_u64().unwrap_or(0);
    let layers: Vec<LayerInfo> = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| LayerInfo {
            source: l["annotations"][LAYER_SOURCE_ANNOTATION]
                .as_str()
                .unwrap_or("base")
                .to_owned(),
            digest: l["digest"].as_str().unwrap_or_default().to_owned(),
            size: l["size"].as_u64().unwrap_or(0),
        })
        .collect();
    let size = manifest_size + config_size + layers.iter().map(|l| l.size).sum::<u64>();
    Ok(BuiltImage {
        name: entry["annotations"]["dev.mono.image.name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        tag: entry["annotations"][REF_NAME]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        digest,
        config,
        layers,
        size,
    })
}

/// The blob of `digest` in layout `dir`.
pub(crate) fn blob(dir: &Path, digest: &str) -> Result<PathBuf, ImageError> {
    blob_path(dir, digest)
}

/// The manifest of the layout's image, parsed.
pub(crate) fn manifest(dir: &Path, tag: Option<&str>) -> Result<Value, ImageError> {
    find_manifest(dir, tag).map(|(_, m)| m)
}

/// The bytes of the manifest `digest` in layout `dir`.
pub(crate) fn manifest_bytes(dir: &Path, digest: &str) -> Result<Vec<u8>, ImageError> {
    let path = blob_path(dir, digest)?;
    std::fs::read(&path).map_err(ImageError::io("read", &path))
}
