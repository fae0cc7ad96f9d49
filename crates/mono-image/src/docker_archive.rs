//! `docker load`'s format: a tar with `manifest.json`, the config and the layers.

use std::path::Path;

use crate::error::ImageError;
use crate::layout::{blob, manifest, BuiltImage};

/// One entry of `manifest.json` (Docker's format, which `oci-spec` does not model).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest<'a> {
    config: &'a str,
    repo_tags: [String; 1],
    layers: &'a [String],
}

/// Writes the image of layout `dir` as a docker-archive tar at `out`, tagged
/// `name:tag`. The archive is deterministic too: sorted, mtime 0, uid/gid 0.
pub fn write_docker_archive(dir: &Path, image: &BuiltImage, out: &Path) -> Result<(), ImageError> {
    let manifest = manifest(dir, Some(&image.tag))?;
    let hex = |d: &str| d.trim_start_matches("sha256:").to_owned();
    let config_name = format!("{}.json", hex(&image.config));
    let layer_names: Vec<String> = manifest
        .layers()
        .iter()
        .map(|l| format!("{}.tar", l.digest().digest()))
        .collect();
    let docker_manifest = [DockerManifest {
        config: &config_name,
        repo_tags: [format!("{}:{}", image.name, image.tag)],
        layers: &layer_names,
    }];

    let parent = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(ImageError::io("create", parent))?;
    let file = tempfile::NamedTempFile::new_in(parent)
        .map_err(ImageError::io("create a file in", parent))?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    let mut add = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        builder
            .append_data(&mut header, name, data)
            .map_err(ImageError::io("write", out))
    };
    let config_path = blob(dir, &image.config)?;
    let config = std::fs::read(&config_path).map_err(ImageError::io("read", &config_path))?;
    add(&config_name, &config)?;
    for (layer, name) in manifest.layers().iter().zip(&layer_names) {
        let path = blob(dir, layer.digest().as_ref())?;
        let data = std::fs::read(&path).map_err(ImageError::io("read", &path))?;
        add(name, &data)?;
    }
    add(
        "manifest.json",
        &serde_json::to_vec(&docker_manifest).expect("serializes"),
    )?;
    let writer = builder.into_inner().map_err(ImageError::io("write", out))?;
    let file = writer
        .into_inner()
        .map_err(|e| ImageError::io("write", out)(e.into_error()))?;
    file.persist(out)
        .map_err(|e| ImageError::io("write", out)(e.error))?;
    Ok(())
}
