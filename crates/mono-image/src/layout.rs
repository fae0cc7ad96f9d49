//! OCI image layouts: writing one from an [`ImageSpec`], reading one back.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use oci_spec::image::{
    Arch, Config, Descriptor, Digest, ImageConfiguration, ImageIndex, ImageManifest,
    ImageManifestBuilder, MediaType, Os, RootFs,
};

use crate::error::ImageError;
use crate::layer::{build_layer, sha256, LayerSource};
use crate::oci;

/// The annotation naming the source of a layer (a package name, or `base`).
pub const LAYER_SOURCE_ANNOTATION: &str = "dev.mono.layer.source";
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation of a layout's index entry naming the image's repository.
const IMAGE_NAME: &str = "dev.mono.image.name";
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

/// Reads and parses one JSON document of a layout as its `oci-spec` type.
fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, path: &Path) -> Result<T, ImageError> {
    let bytes = std::fs::read(path).map_err(ImageError::io("read", path))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(dir, format!("{}: {e}", path.display())))
}

fn annotation<'a>(descriptor: &'a Descriptor, key: &str) -> Option<&'a str> {
    descriptor
        .annotations()
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// The index entry of a layout's image: the one whose ref name is `tag`, else the only one.
fn find_entry(dir: &Path, index: &ImageIndex, tag: Option<&str>) -> Result<Descriptor, ImageError> {
    let manifests = index.manifests();
    let chosen = match tag {
        Some(tag) => manifests
            .iter()
            .find(|m| annotation(m, REF_NAME) == Some(tag))
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
    Ok(chosen.clone())
}

/// The manifest of a layout: the one whose ref name is `tag`, else the only one.
fn find_manifest(dir: &Path, tag: Option<&str>) -> Result<(Descriptor, ImageManifest), ImageError> {
    let index: ImageIndex = read_json(dir, &dir.join("index.json"))?;
    let entry = find_entry(dir, &index, tag)?;
    let manifest = read_json(dir, &blob_path(dir, entry.digest().as_ref())?)?;
    Ok((entry, manifest))
}

fn write_blob(dir: &Path, bytes: &[u8]) -> Result<String, ImageError> {
    let digest = sha256(bytes);
    let path = blob_path(dir, &digest)?;
    std::fs::write(&path, bytes).map_err(ImageError::io("write", &path))?;
    Ok(digest)
}

/// A `sha256:` digest that mono computed, as `oci-spec`'s type.
pub(crate) fn digest(text: &str) -> Digest {
    text.parse()
        .unwrap_or_else(|e| panic!("mono's own digest `{text}` is valid: {e}"))
}

/// A descriptor with annotations.
fn described(
    media_type: MediaType,
    digest_text: &str,
    size: usize,
    annotations: &[(&str, &str)],
) -> Descriptor {
    let mut descriptor = Descriptor::new(media_type, size as u64, digest(digest_text));
    if !annotations.is_empty() {
        descriptor.set_annotations(Some(
            annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ));
    }
    descriptor
}

/// The index of a layout that holds one image.
pub(crate) fn single_index(media_type: Option<MediaType>, manifest: Descriptor) -> ImageIndex {
    let mut index = ImageIndex::default();
    index.set_schema_version(2);
    index.set_media_type(media_type);
    index.set_manifests(vec![manifest]);
    index
}

/// Writes `index.json` and `oci-layout` into the layout folder `dir`.
pub(crate) fn write_index(dir: &Path, index: &ImageIndex) -> Result<(), ImageError> {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(ImageError::io("write", &path))
    };
    write("index.json", &oci::index_bytes(index))?;
    write("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)
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
    let mut config = Config::default();
    let mut config_env: Vec<String> = vec![DEFAULT_PATH.to_owned()];
    let mut diff_ids: Vec<String> = Vec::new();
    let mut layer_descriptors: Vec<Descriptor> = Vec::new();
    let mut os = Os::Linux;
    let mut architecture = Arch::from(arch());
    if let Base::Layout { dir: base_dir, tag } = &spec.base {
        let (_, manifest) = find_manifest(base_dir, tag.as_deref())?;
        let base: ImageConfiguration = read_json(
            base_dir,
            &blob_path(base_dir, manifest.config().digest().as_ref())?,
        )?;
        if let Some(c) = base.config() {
            config = c.clone();
        }
        if let Some(env) = config.env() {
            config_env = env.clone();
        }
        os = base.os().clone();
        architecture = base.architecture().clone();
        diff_ids = base.rootfs().diff_ids().clone();
        for layer in manifest.layers() {
            let digest = layer.digest().as_ref();
            let from = blob_path(base_dir, digest)?;
            let to = blob_path(dir, digest)?;
            std::fs::copy(&from, &to).map_err(ImageError::io("copy", &from))?;
            let mut descriptor = Descriptor::new(
                layer.media_type().clone(),
                layer.size(),
                layer.digest().clone(),
            );
            descriptor.set_annotations(Some(HashMap::from([(
                LAYER_SOURCE_ANNOTATION.to_owned(),
                "base".to_owned(),
            )])));
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
        diff_ids.push(layer.diff_id.clone());
        layer_descriptors.push(described(
            MediaType::ImageLayerGzip,
            &layer.digest,
            layer.blob.len(),
            &[(LAYER_SOURCE_ANNOTATION, &source.source)],
        ));
    }

    // The config: the base's, with the spec's settings on top.
    for (name, value) in &spec.env {
        let prefix = format!("{name}=");
        config_env.retain(|e| !e.starts_with(&prefix));
        config_env.push(format!("{name}={value}"));
    }
    config.set_env(Some(config_env));
    if let Some(entrypoint) = &spec.entrypoint {
        config.set_entrypoint(Some(entrypoint.clone()));
        if spec.cmd.is_none() {
            // As Docker: a new entrypoint drops the base's arguments.
            config.set_cmd(None);
        }
    }
    if let Some(cmd) = &spec.cmd {
        config.set_cmd(Some(cmd.clone()));
    }
    if let Some(workdir) = &spec.workdir {
        config.set_working_dir(Some(workdir.clone()));
    }
    if let Some(user) = &spec.user {
        config.set_user(Some(user.clone()));
    }
    if !spec.expose.is_empty() {
        let mut ports = config.exposed_ports().clone().unwrap_or_default();
        for port in &spec.expose {
            if !ports.contains(port) {
                ports.push(port.clone());
            }
        }
        config.set_exposed_ports(Some(ports));
    }
    if !spec.labels.is_empty() {
        let mut labels = config.labels().clone().unwrap_or_default();
        for (k, v) in &spec.labels {
            labels.insert(k.clone(), v.clone());
        }
        config.set_labels(Some(labels));
    }
    let mut rootfs = RootFs::default();
    rootfs.set_diff_ids(diff_ids);
    let mut image_config = ImageConfiguration::default();
    image_config.set_created(Some("1970-01-01T00:00:00Z".to_owned()));
    image_config.set_architecture(architecture);
    image_config.set_os(os);
    image_config.set_config(Some(config));
    image_config.set_rootfs(rootfs);
    let config_bytes = oci::config_bytes(&image_config);
    let config_digest = write_blob(dir, &config_bytes)?;

    let mut manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(described(
            MediaType::ImageConfig,
            &config_digest,
            config_bytes.len(),
            &[],
        ))
        .layers(layer_descriptors)
        .build()
        .expect("a manifest with a config and layers is complete");
    if !spec.annotations.is_empty() {
        manifest.set_annotations(Some(spec.annotations.clone().into_iter().collect()));
    }
    let manifest_bytes = oci::manifest_bytes(&manifest);
    let manifest_digest = write_blob(dir, &manifest_bytes)?;

    let index = single_index(
        Some(MediaType::ImageIndex),
        described(
            MediaType::ImageManifest,
            &manifest_digest,
            manifest_bytes.len(),
            &[(REF_NAME, &spec.tag), (IMAGE_NAME, &spec.name)],
        ),
    );
    write_index(dir, &index)?;

    if out.exists() {
        std::fs::remove_dir_all(out).map_err(ImageError::io("remove", out))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, out).map_err(ImageError::io("create", out))?;
    read_layout(out, None)
}

/// Reads the image of an OCI layout folder (the one tagged `tag`, else the only one).
pub fn read_layout(dir: &Path, tag: Option<&str>) -> Result<BuiltImage, ImageError> {
    let (entry, manifest) = find_manifest(dir, tag)?;
    let digest = entry.digest().to_string();
    let manifest_path = blob_path(dir, &digest)?;
    let manifest_size = std::fs::metadata(&manifest_path)
        .map_err(ImageError::io("read", &manifest_path))?
        .len();
    let layers: Vec<LayerInfo> = manifest
        .layers()
        .iter()
        .map(|l| LayerInfo {
            source: annotation(l, LAYER_SOURCE_ANNOTATION)
                .unwrap_or("base")
                .to_owned(),
            digest: l.digest().to_string(),
            size: l.size(),
        })
        .collect();
    let size =
        manifest_size + manifest.config().size() + layers.iter().map(|l| l.size).sum::<u64>();
    Ok(BuiltImage {
        name: annotation(&entry, IMAGE_NAME)
            .unwrap_or_default()
            .to_owned(),
        tag: annotation(&entry, REF_NAME).unwrap_or_default().to_owned(),
        digest,
        config: manifest.config().digest().to_string(),
        layers,
        size,
    })
}

/// The blob of `digest` in layout `dir`.
pub(crate) fn blob(dir: &Path, digest: &str) -> Result<PathBuf, ImageError> {
    blob_path(dir, digest)
}

/// The manifest of the layout's image, parsed.
pub(crate) fn manifest(dir: &Path, tag: Option<&str>) -> Result<ImageManifest, ImageError> {
    find_manifest(dir, tag).map(|(_, m)| m)
}

/// The bytes of the manifest `digest` in layout `dir`.
pub(crate) fn manifest_bytes(dir: &Path, digest: &str) -> Result<Vec<u8>, ImageError> {
    let path = blob_path(dir, digest)?;
    std::fs::read(&path).map_err(ImageError::io("read", &path))
}
